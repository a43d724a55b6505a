"""Activation maximisation: objectives rise, runs are seeded and exact, the model is untouched."""

from __future__ import annotations

import numpy as np
import pytest

from emonb.errors import EmonbError
from emonb.faces import crop, largest_face
from emonb.featviz.masks import mask_regions
from emonb.featviz.objectives import FilterObjective
from emonb.featviz.optimize import ActivationMaximization, Result
from emonb.featviz.regularizers import FILTER_REGULARIZERS, Jitter, TotalVariation
from emonb.models.runner import predict
from emonb.models.zoo import as_emotion_model


def _assert_unchanged(model, before, snapshot) -> None:
    weights, config = snapshot(model)
    assert config == before[1]
    for a, b in zip(weights, before[0], strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.fixture(scope="module")
def masked_face(astronaut) -> np.ndarray:
    return mask_regions(crop(astronaut, largest_face(astronaut)))


def test_every_class_logit_rises_and_becomes_the_prediction(mini_xception, snapshot):
    net = mini_xception
    before = snapshot(net.model)
    for name in net.class_names:
        result = ActivationMaximization(net, name, steps=30).run()
        # measured at seed 0: rises of 26..49 logits, and every target is predicted
        assert result.final[0] > result.initial[0] + 15, name
        assert predict(net, result.images) == [name]
        assert result.trace[-1, 0] > result.trace[0, 0] + 10, name
        assert result.label == f"{name} (logit)"
    _assert_unchanged(net.model, before, snapshot)


def test_filter_objectives_rise(mini_xception):
    net = mini_xception
    # the first conv block: conv2d_1 is linear (its mean barely depends on more than the mean
    # grey level), activation_1 is its ReLU'd output; measured rises 0.05 and 2.1 at 20 steps
    for layer, f, margin in [("conv2d_1", 1, 0.025), ("activation_1", 3, 1.0)]:
        result = ActivationMaximization(net, FilterObjective(layer, f), steps=20).run()
        assert result.final[0] > result.initial[0] + margin, layer
        assert result.trace[-1, 0] > result.trace[0, 0], layer
    am = ActivationMaximization(net, FilterObjective(0, 1), steps=1)
    assert am.regularizers == FILTER_REGULARIZERS
    deep = ActivationMaximization(net, FilterObjective(-3, 5), steps=20).run()
    assert deep.label == "conv2d_7 filter 5"
    assert deep.final[0] > deep.initial[0] + 20  # measured 0.4 -> 48


@pytest.mark.parametrize(
    ("kind", "layer", "f"),
    [("sequential_no_input", "c2", 4), ("nested", "bc1", 1), ("nested", "inner/ic1", 1)],
    ids=["sequential-without-input", "nested-block", "nested-inner"],
)
def test_toy_models(toy_models, snapshot, kind, layer, f):
    model = toy_models[kind]()
    before = snapshot(model)
    net = as_emotion_model(model)
    # random toy models have channel means of ~0.1, so no priors (measured rises 0.07..0.55)
    result = ActivationMaximization(net, FilterObjective(layer, f), steps=15, regularizers=())
    out = result.run(n=2)
    assert out.images.shape == (2, 20, 20)
    assert np.all(out.final > out.initial + 0.05)
    cls = ActivationMaximization(net, "fear", steps=15, regularizers=()).run()
    assert cls.final[0] > cls.initial[0] + 0.05  # the Dense-softmax logit
    _assert_unchanged(model, before, snapshot)


@pytest.mark.parametrize("fourier", [False, True], ids=["pixels", "fourier"])
def test_seeded_runs_shapes_and_range(mini_xception, fourier):
    def run(seed):
        am = ActivationMaximization(mini_xception, "fear", steps=6, fourier=fourier, seed=seed)
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


def test_runs_exactly_the_steps_given(mini_xception, monkeypatch):
    monkeypatch.setenv("EMONB_QUICK", "1")  # quick mode is the caller's business
    monkeypatch.setenv("EMONB_MAX_STEPS", "2")
    result = ActivationMaximization(mini_xception, "happy", steps=4, regularizers=()).run(n=2)
    assert isinstance(result, Result) and result.trace.shape == (4, 2) and result.steps == 4


def test_no_priors_plain_adam_on_the_start(mini_xception):
    """One step without priors is one Adam step: lr * sign(gradient) where it is not ~0."""
    start = np.full((64, 64), 0.5, np.float32)
    result = ActivationMaximization(mini_xception, "happy", steps=1, lr=0.01,
                                    regularizers=()).run(start)  # fmt: skip
    moved = np.abs(result.images[0] - 0.5)
    assert np.mean(np.abs(moved[moved > 1e-4] - 0.01) < 1e-5) > 0.95
    np.testing.assert_allclose(result.trace[0], result.initial, rtol=1e-6)


def test_a_batch_run_matches_single_runs_started_from_the_same_images(mini_xception, masked_face):
    am = ActivationMaximization(mini_xception, "sad", steps=5, lr=0.01)
    flipped = masked_face[:, ::-1]
    both = am.run(np.stack([mask_regions(flipped, "mouth"), flipped]))
    one = am.run(flipped)
    diff = np.abs(both.images[1] - one.images[0])  # Adam's sign-like steps can amplify
    assert diff.mean() < 1e-3 and diff.max() < 0.02  # round-off where a gradient is ~0
    assert both.images.shape == (2, 64, 64)


def test_fear_from_a_masked_face_rises_and_keeps_the_face(mini_xception, masked_face):
    start = mini_xception.preprocess(masked_face)[0, ..., 0] / 2 + 0.5  # the start in [0, 1]
    result = ActivationMaximization(mini_xception, "fear", steps=20, lr=0.01).run(masked_face)
    assert result.final[0] > result.initial[0] + 5
    assert predict(mini_xception, result.images) == ["fear"]
    assert np.corrcoef(result.images[0].ravel(), start.ravel())[0, 1] > 0.8


def test_penalties_count_in_the_ascent_not_in_the_trace(mini_xception):
    """A huge TV weight keeps the image flat; the trace still reports the bare objective."""
    start = np.full((64, 64), 0.5, np.float32)
    regs = (TotalVariation(weight=1e4),)
    flat = ActivationMaximization(mini_xception, "happy", steps=5, regularizers=regs).run(start)
    free = ActivationMaximization(mini_xception, "happy", steps=5, regularizers=()).run(start)

    def tv(im):
        return np.abs(np.diff(im, axis=0)).mean() + np.abs(np.diff(im, axis=1)).mean()

    assert tv(flat.images[0]) < 0.5 * tv(free.images[0])  # measured 0.061 against 0.22
    np.testing.assert_allclose(flat.trace[0], free.trace[0], rtol=1e-6)  # same first image


def test_bad_arguments(mini_xception):
    am = ActivationMaximization(mini_xception, 0, steps=2, regularizers=(Jitter(1),))
    with pytest.raises(EmonbError, match="'noise' or an image"):
        am.run("zeros")
    with pytest.raises(EmonbError, match="n=3"):
        am.run(np.zeros((2, 64, 64), np.uint8), n=3)
    with pytest.raises(EmonbError, match="n must be >= 1"):
        am.run(n=0)
    with pytest.raises(EmonbError, match="steps must be >= 1"):
        ActivationMaximization(mini_xception, 0, steps=0)
    with pytest.raises(EmonbError, match="Regularizer"):
        ActivationMaximization(mini_xception, 0, regularizers=[0.1])
