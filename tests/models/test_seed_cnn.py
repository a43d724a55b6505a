import numpy as np
import pytest

from emonb.models.seed_cnn import build_seed_cnn


def test_architecture_matches_the_seed():
    model = build_seed_cnn()
    names = [layer.name for layer in model.layers]
    assert model.input_shape == (None, 48, 48, 1) and model.output_shape == (None, 7)
    assert [n for n in names if "conv" in n] == [
        f"block{b}_conv{c}" for b in (1, 2, 3) for c in (1, 2)
    ]
    assert [model.get_layer(f"block{b}_conv1").filters for b in (1, 2, 3)] == [32, 64, 128]
    assert [model.get_layer(n).units for n in ("dense1", "dense2", "emotion")] == [512, 256, 7]
    assert sum("pool" in n for n in names) == 3 and sum("dropout" in n for n in names) == 5
    assert model.count_params() == 2_783_463


def test_softmax_output_and_seeded_initialisation():
    x = np.random.default_rng(0).random((4, 48, 48, 1), dtype=np.float32)
    a, b, c = build_seed_cnn(seed=1), build_seed_cnn(seed=1), build_seed_cnn(seed=2)
    p = np.asarray(a(x, training=False))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])


def test_variants_and_bad_order():
    plain = build_seed_cnn(order="conv-bn-relu", dense_bn=False)
    assert plain.get_layer("block1_conv1").use_bias is False
    assert "dense1_bn" not in [layer.name for layer in plain.layers]
    with pytest.raises(ValueError, match="order must be"):
        build_seed_cnn(order="bn-first")
