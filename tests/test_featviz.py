"""Activation maximisation: objectives rise, runs are seeded and capped, the model is untouched."""

from __future__ import annotations

import numpy as np
import pytest

from emonb import featviz as fv
from emonb._tf import keras, tf
from emonb.errors import EmonbError
from emonb.faces import crop, largest_face
from emonb.models import graph
from emonb.models.zoo import EmotionModel, spec_from_model
from tests.models.test_graph import nested, seq_without_input


def _snapshot(model: keras.Model):
    return [w.copy() for w in model.get_weights()], model.to_json()


def _assert_unchanged(model: keras.Model, before) -> None:
    weights, config = _snapshot(model)
    assert config == before[1]
    for a, b in zip(weights, before[0], strict=True):
        np.testing.assert_array_equal(a, b)


def _tiny(model: keras.Model) -> EmotionModel:
    return EmotionModel(model=model, spec=spec_from_model(model), name=model.name)


@pytest.fixture(autouse=True)
def _no_step_cap(monkeypatch):
    """Tests choose their own step counts; a CI-wide cap would hide a failure to rise."""
    monkeypatch.delenv("EMONB_QUICK", raising=False)
    monkeypatch.delenv("EMONB_MAX_STEPS", raising=False)


@pytest.fixture(scope="module")
def masked_face(astronaut) -> np.ndarray:
    return fv.mask_regions(crop(astronaut, largest_face(astronaut)))


# ---------------------------------------------------------------------------- objectives


def test_every_class_logit_rises_and_becomes_the_prediction(mini_xception):
    net = mini_xception
    before = _snapshot(net.model)
    for name in net.class_names:
        result = fv.ActivationMaximization(net, name, steps=30).run()
        # measured at seed 0: rises of 26..49 logits, and every target is predicted
        assert result.final[0] > result.initial[0] + 15, name
        assert net.predict(result.images) == [name]
        assert result.trace[-1, 0] > result.trace[0, 0] + 10, name
        assert result.label == f"{name} (logit)"
    _assert_unchanged(net.model, before)


@pytest.mark.parametrize("make", [None, seq_without_input], ids=["mini-xception", "dense-softmax"])
def test_logit_mode_bypasses_the_final_softmax(mini_xception, make):
    net = mini_xception if make is None else _tiny(make())
    h, w = net.spec.input_size
    x = tf.constant(np.random.default_rng(0).uniform(0, 1, (2, h, w, 1)).astype(np.float32))
    obj = fv.ClassObjective(1)
    obj.bind(net)
    logits, record = graph.run(net.model, x, replace=obj.replace(net))
    np.testing.assert_allclose(tf.nn.softmax(logits), net.model(x), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(obj(logits, record), logits[:, 1], rtol=1e-6)
    assert float(tf.reduce_max(tf.abs(logits - net.model(x)))) > 0.1  # really not probabilities
    prob = fv.ClassObjective("disgust", score="probability")
    prob.bind(net)
    out, rec = graph.run(net.model, x)
    np.testing.assert_allclose(prob(out, rec), net.model(x)[:, 1], rtol=1e-6)


def _head_model(activation):
    keras.utils.set_random_seed(2)
    inp = keras.Input((4, 4, 1))
    x = keras.layers.Flatten()(inp)
    out = keras.layers.EinsumDense("ab,bc->ac", output_shape=7, bias_axes="c",
                                   activation=activation)(x)  # fmt: skip
    return _tiny(keras.Model(inp, out))


def test_scores_on_heads_that_cannot_be_bypassed_or_give_logits():
    x = tf.constant(np.random.default_rng(0).uniform(0, 1, (3, 4, 4, 1)).astype(np.float32))
    net = _head_model("softmax")
    obj = fv.ClassObjective(2)
    with pytest.warns(RuntimeWarning, match="log-probability"):
        obj.bind(net)
    assert obj.replace(net) is None
    out, rec = graph.run(net.model, x)
    np.testing.assert_allclose(obj(out, rec), np.log(net.model(x)[:, 2]), rtol=1e-5)
    net = _head_model(None)  # a model that outputs logits
    logit, prob = fv.ClassObjective(2), fv.ClassObjective(2, score="probability")
    logit.bind(net)
    prob.bind(net)
    out, rec = graph.run(net.model, x)
    np.testing.assert_allclose(logit(out, rec), out[:, 2])
    np.testing.assert_allclose(prob(out, rec), tf.nn.softmax(out)[:, 2], rtol=1e-6)
    result = fv.ActivationMaximization(net, 2, steps=10, regularizers=()).run()
    assert result.final[0] > result.initial[0] + 0.1


def test_class_target_errors_list_the_classes(mini_xception):
    with pytest.raises(EmonbError, match="valid classes: angry, disgust, fear"):
        fv.ActivationMaximization(mini_xception, "contempt")
    with pytest.raises(EmonbError, match=r"out of range \(0..6"):
        fv.ActivationMaximization(mini_xception, 7)
    with pytest.raises(EmonbError, match="unknown score"):
        fv.ClassObjective(0, score="softmax")


def test_filter_objective_rises_and_checks_its_range(mini_xception):
    net = mini_xception
    # the first conv block: conv2d_1 is linear (its mean barely depends on more than the mean
    # grey level), activation_1 is its ReLU'd output; measured rises 0.05 and 2.1 at 20 steps
    for layer, f, margin in [("conv2d_1", 1, 0.025), ("activation_1", 3, 1.0)]:
        result = fv.ActivationMaximization(net, fv.FilterObjective(layer, f), steps=20).run()
        assert result.final[0] > result.initial[0] + margin, layer
        assert result.trace[-1, 0] > result.trace[0, 0], layer
    assert fv.ActivationMaximization(net, fv.FilterObjective(0, 1)).regularizers == (
        fv.FILTER_REGULARIZERS
    )
    deep = fv.ActivationMaximization(net, fv.FilterObjective(-3, 5), steps=20).run()
    assert deep.label == "conv2d_7 filter 5"
    assert deep.final[0] > deep.initial[0] + 20  # measured 0.4 -> 48
    with pytest.raises(EmonbError, match=r"conv2d_1'.* 8 channels: valid filters are 0\.\.7"):
        fv.ActivationMaximization(net, fv.FilterObjective("conv2d_1", 8))
    with pytest.raises(EmonbError, match=r"valid filters are 0\.\.7"):
        fv.ActivationMaximization(net, fv.FilterObjective("conv2d_1", -1))
    with pytest.raises(EmonbError, match="valid names: conv2d_1, batch_normalization_1"):
        fv.ActivationMaximization(net, fv.FilterObjective("conv9", 0))


@pytest.mark.parametrize(
    ("make", "layer", "f"),
    [
        (seq_without_input, "c2", 4),
        (lambda: nested()[0], "bc1", 1),
        (lambda: nested()[0], "inner/ic1", 1),
    ],
    ids=["sequential-without-input", "nested-block", "nested-inner"],
)
def test_filter_objective_on_tiny_models(make, layer, f):
    model = make()
    before = _snapshot(model)
    net = _tiny(model)
    # random tiny models have channel means of ~0.1, so no priors (measured rises 0.07..0.55)
    objective = fv.FilterObjective(layer, f)
    result = fv.ActivationMaximization(net, objective, steps=15, regularizers=()).run(n=2)
    assert result.images.shape == (2, 20, 20)
    assert np.all(result.final > result.initial + 0.05)
    cls = fv.ActivationMaximization(net, "fear", steps=15, regularizers=()).run()
    assert cls.final[0] > cls.initial[0] + 0.05  # the Dense-softmax logit
    _assert_unchanged(model, before)


# ------------------------------------------------------------------ runs: seeds, shapes, caps


@pytest.mark.parametrize("fourier", [False, True], ids=["pixels", "fourier"])
def test_seeded_runs_shapes_and_range(mini_xception, fourier):
    def run(seed):
        am = fv.ActivationMaximization(mini_xception, "fear", steps=6, fourier=fourier, seed=seed)
        return am.run(n=3)

    a, b, c = run(0), run(0), run(1)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.trace, b.trace)
    assert np.abs(a.images - c.images).max() > 0.05
    assert a.images.shape == (3, 64, 64) and a.images.dtype == np.float32
    assert a.images.min() >= 0.0 and a.images.max() <= 1.0
    assert a.trace.shape == (6, 3) and a.initial.shape == a.final.shape == (3,)
    assert len({float(s) for s in a.final}) == 3  # three different images, optimised together
    assert a.steps == 6


def test_a_batch_run_matches_single_runs_started_from_the_same_images(mini_xception, masked_face):
    am = fv.ActivationMaximization(mini_xception, "sad", steps=5, lr=0.01)
    flipped = masked_face[:, ::-1]
    both = am.run(np.stack([fv.mask_regions(flipped, "mouth"), flipped]))
    one = am.run(flipped)
    diff = np.abs(both.images[1] - one.images[0])  # Adam's sign-like steps can amplify
    assert diff.mean() < 1e-3 and diff.max() < 0.02  # round-off where a gradient is ~0
    assert both.images.shape == (2, 64, 64)


def test_quick_mode_runs_three_steps(mini_xception, monkeypatch):
    monkeypatch.setenv("EMONB_QUICK", "1")
    result = fv.ActivationMaximization(mini_xception, "happy", steps=256).run(n=2)
    assert result.trace.shape == (3, 2)
    monkeypatch.setenv("EMONB_MAX_STEPS", "2")
    assert fv.ActivationMaximization(mini_xception, "happy").run().steps == 2


def test_bad_arguments(mini_xception):
    am = fv.ActivationMaximization(mini_xception, 0, steps=2)
    with pytest.raises(EmonbError, match="'noise' or an image"):
        am.run("zeros")
    with pytest.raises(EmonbError, match="n=3"):
        am.run(np.zeros((2, 64, 64), np.uint8), n=3)
    with pytest.raises(EmonbError, match="Regularizer"):
        fv.ActivationMaximization(mini_xception, 0, regularizers=[0.1])


# ---------------------------------------------------------------------- masked-face starts


def test_mask_regions_fills_the_canonical_bands(astronaut):
    face = crop(astronaut, largest_face(astronaut))
    h, w = face.shape[:2]
    masked = fv.mask_regions(face)
    assert masked.shape == face.shape and masked.dtype == np.uint8
    assert not np.shares_memory(masked, face)
    for x0, y0, x1, y1 in fv.FACE_REGIONS.values():
        band = masked[round(y0 * h) : round(y1 * h), round(x0 * w) : round(x1 * w)]
        assert band.size and np.all(band == 128)
    keep = np.ones((h, w), bool)
    keep[round(0.25 * h) : round(0.48 * h)] = False
    keep[round(0.66 * h) : round(0.92 * h)] = False
    np.testing.assert_array_equal(masked[keep], face[keep])
    grey = fv.mask_regions(np.ones((48, 48), np.float32), "eyes", fill=0.25)
    assert grey[20, 24] == 0.25 and grey[40, 24] == 1.0  # eyes band filled, mouth band not
    boxes = fv.mask_regions(np.zeros((10, 10), np.uint8), [(2, 3, 4, 2)], fill=1.0)
    assert boxes.sum() == 8 * 255 and np.all(boxes[3:5, 2:6] == 255)
    with pytest.raises(EmonbError, match="valid: eyes, mouth, eyes_mouth"):
        fv.mask_regions(face, "nose")


def test_fear_from_a_masked_face_rises_and_keeps_the_face(mini_xception, masked_face):
    start = mini_xception.preprocess(masked_face)[0, ..., 0] / 2 + 0.5  # the start in [0, 1]
    result = fv.ActivationMaximization(mini_xception, "fear", steps=20, lr=0.01).run(masked_face)
    assert result.final[0] > result.initial[0] + 5
    assert mini_xception.predict(result.images) == ["fear"]
    assert np.corrcoef(result.images[0].ravel(), start.ravel())[0, 1] > 0.8


# --------------------------------------------------------------------- regularisers, Fourier


def test_regularizer_hooks():
    u = tf.constant(np.random.default_rng(0).uniform(0, 1, (2, 12, 10, 1)).astype(np.float32))
    jit = fv.Jitter(3)
    seed = tf.constant([0, 5])
    shifted = jit.transform(u, seed).numpy()
    np.testing.assert_array_equal(shifted, jit.transform(u, seed).numpy())
    assert shifted.shape == u.shape
    blur = fv.Blur(sigma=1.0, every=3)
    assert np.array_equal(blur.after_step(u, tf.constant(0)), u)
    smooth = blur.after_step(u, tf.constant(2)).numpy()
    assert np.abs(np.diff(smooth, axis=2)).mean() < 0.5 * np.abs(np.diff(u, axis=2)).mean()
    np.testing.assert_allclose(fv.Blur(0.7).after_step(tf.fill((1, 8, 8, 1), 0.3), 3), 0.3)
    flat = tf.fill((1, 8, 8, 1), 0.5)
    assert fv.TotalVariation(2.0).penalty(flat).numpy().tolist() == [0.0]
    assert fv.TotalVariation(2.0).penalty(u).numpy().min() > 0.1
    np.testing.assert_allclose(fv.L2(4.0).penalty(tf.fill((1, 4, 4, 1), 1.0)), [1.0])


@pytest.mark.parametrize("size", [(64, 64), (20, 15)])
def test_fourier_parametrization_round_trips(size):
    param = fv.FourierParametrization(decay=1.0)
    scale = tf.constant(param.scale(*size))
    u = tf.constant(np.random.default_rng(1).uniform(0, 1, (2, *size, 1)).astype(np.float32))
    p = param.encode(u, scale, size)
    assert p.shape == (2, 2, 1, size[0], size[1] // 2 + 1)
    np.testing.assert_allclose(param.decode(p, scale, size), u, atol=1e-5)
    s = param.scale(*size)
    assert s[0, 0] == s.max() and s[size[0] // 2, -1] == s.min()  # 1/f: DC largest


# ---------------------------------------------------------------------------- post-filters


def test_postfilters_exact_on_constructed_inputs():
    ramp = np.array([[0.25, 0.75], [0.5, 0.0]], np.float32)
    np.testing.assert_allclose(fv.offset(ramp, 0.2), [[0.45, 0.95], [0.7, 0.2]], atol=1e-7)
    np.testing.assert_array_equal(fv.offset(ramp, 0.5), [[0.75, 1.0], [1.0, 0.5]])
    np.testing.assert_array_equal(fv.contrast(ramp, 2.0), [[0.0, 1.0], [0.5, 0.0]])
    np.testing.assert_allclose(
        fv.contrast(ramp, 0.5, pivot=None), [[0.3125, 0.5625], [0.4375, 0.1875]]
    )
    for c in (0.0, 0.3, 1.0):
        const = np.full((9, 7), c, np.float32)
        np.testing.assert_allclose(fv.emboss(const), 0.5, atol=1e-6)
        np.testing.assert_allclose(fv.emboss(const, keep_image=True), c, atol=1e-6)
        np.testing.assert_allclose(fv.unsharp_mask(const, radius=2.0, amount=3.0), c, atol=1e-6)
    assert fv.offset(np.full((2, 2), 255, np.uint8), -0.5).max() == 0.5  # uint8 read as /255


def test_postfilters_shapes_ranges_and_effects():
    rng = np.random.default_rng(0)
    edge = np.zeros((16, 16), np.float32)
    edge[:, 8:] = 0.6
    edge += 0.2
    sharp = fv.unsharp_mask(edge, radius=1.0, amount=1.0)
    assert sharp[5, 7] < 0.2 and sharp[5, 8] > 0.8  # overshoot on both sides of the edge
    relief = fv.emboss(edge)
    assert relief[5, 8] > 0.5 and relief[5, 2] == pytest.approx(0.5)
    for shape in [(16, 16), (16, 16, 1), (16, 16, 3), (5, 16, 16), (5, 16, 16, 3)]:
        img = rng.uniform(0, 1, shape).astype(np.float32)
        for out in (
            fv.unsharp_mask(img, 1.5, 2.0),
            fv.contrast(img, 3.0),
            fv.emboss(img),
            fv.offset(img, -0.3),
            fv.apply_postfilters(img, ["unsharp", ("contrast", 1.5), "emboss", ("offset", 0.1)]),
        ):
            assert out.shape == shape and out.dtype == np.float32
            assert out.min() >= 0.0 and out.max() <= 1.0
    batch = rng.uniform(0, 1, (3, 16, 16)).astype(np.float32)
    np.testing.assert_array_equal(fv.emboss(batch)[1], fv.emboss(batch[1]))
    chain = fv.apply_postfilters(batch, [("unsharp", {"radius": 2.0}), ("offset", -0.1), np.sqrt])
    np.testing.assert_allclose(chain, np.sqrt(fv.offset(fv.unsharp_mask(batch, 2.0), -0.1)))
    with pytest.raises(EmonbError, match="valid: unsharp, contrast, emboss, offset"):
        fv.apply_postfilters(batch, ["sharpen"])
    with pytest.raises(EmonbError, match="'offset'"):
        fv.apply_postfilters(batch, ["offset"])
