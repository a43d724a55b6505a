import json

import numpy as np
import pytest

from emonb._tf import keras
from emonb.errors import EmonbError
from emonb.models.zoo import load_model
from tests.models.test_graph import nested, seq_without_input


def test_mini_xception(mini_xception, astronaut):
    net = mini_xception
    assert net.spec.input_size == (64, 64) and net.spec.channels == 1
    assert net.spec.preprocessing == "symmetric"
    assert net.class_names == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    assert len(net.conv_layers()) == 15 and net.conv_layers()[-1] == "conv2d_7"
    assert isinstance(net.model, keras.Model)
    proba = net.predict_proba(astronaut)
    assert proba.shape == (1, 7)
    np.testing.assert_allclose(proba.sum(), 1.0, rtol=1e-5)


def test_sequential_saved_without_input_loads(tmp_path):
    model = seq_without_input()
    path = tmp_path / "seq.keras"
    model.save(path)
    net = load_model(path)
    assert net.spec.input_size == (20, 20) and net.spec.preprocessing == "unit"
    assert net.conv_layers() == ["c1", "c2"]
    face = np.random.default_rng(0).integers(0, 256, (48, 48, 3), dtype=np.uint8)
    expected = model(net.preprocess(face)).numpy()
    np.testing.assert_allclose(net.predict_proba(face), expected, rtol=1e-5, atol=1e-6)


def test_nested_saved_model_and_sidecar(tmp_path):
    model, _, _ = nested()
    path = tmp_path / "nested.keras"
    model.save(path)
    (tmp_path / "nested.keras.emonb.json").write_text(json.dumps({"preprocessing": "symmetric"}))
    net = load_model(path)
    assert net.spec.preprocessing == "symmetric"
    assert net.conv_layers() == ["inner/ic1", "block/bc1"]
    assert load_model(path, preprocessing="none").spec.preprocessing == "none"


def test_logits_get_softmax(tmp_path):
    inp = keras.Input((8, 8, 1))
    out = keras.layers.Dense(7)(keras.layers.Flatten()(inp))
    path = tmp_path / "logits.keras"
    keras.Model(inp, out).save(path)
    p = load_model(path).predict_proba(np.full((8, 8), 100, np.uint8))
    np.testing.assert_allclose(p.sum(), 1.0, rtol=1e-5)
    assert (p > 0).all()


def test_bad_model_inputs(tmp_path):
    with pytest.raises(EmonbError, match="no such model file.*mini-xception"):
        load_model(tmp_path / "missing.keras")
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a model")
    with pytest.raises(EmonbError, match="could not load a Keras model"):
        load_model(bad)
    inp = keras.Input((8, 8, 1))
    out = keras.layers.Dense(3)(keras.layers.Flatten()(inp))
    three = tmp_path / "three.keras"
    keras.Model(inp, out).save(three)
    with pytest.raises(EmonbError, match="3 outputs; pass class_names"):
        load_model(three)
    assert load_model(three, class_names=("a", "b", "c")).class_names == ("a", "b", "c")
