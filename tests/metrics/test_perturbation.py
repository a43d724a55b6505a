"""Deletion and insertion curves on a score whose curve is known."""

import numpy as np
import pytest

from emonb._tf import keras
from emonb.methods.baselines import baseline_images
from emonb.metrics.perturbation import faithfulness_correlation, perturbation_curves
from emonb.models.preprocessing import ModelSpec
from emonb.models.runner import Runner, class_probability
from emonb.models.zoo import EmotionModel


def _quarter_case():
    """4x4 images: 1 on four important pixels, 0 elsewhere (mean baseline 0.25); the score
    is the mean over the important pixels, so it is 1 intact and 0.25 once they are gone."""
    important = np.zeros((4, 4), bool)
    important[[0, 1, 2, 3], [1, 3, 0, 2]] = True
    x = np.where(important, 1.0, 0.0).astype(np.float32)[None, :, :, None].repeat(3, 0)
    calls = []

    def score(img, targets):
        calls.append(len(img))
        return img[..., 0][:, important].mean(axis=1).astype(np.float32)

    return x, important, score, calls


def test_deletion_and_insertion_auc_of_hand_computed_curves():
    x, important, score, calls = _quarter_case()
    perfect = important.astype(np.float32)[None].repeat(3, 0)
    t = np.zeros(3, int)
    d = perturbation_curves(score, x, perfect, t, mode="deletion", steps=4, baseline="mean")
    np.testing.assert_allclose(d.fractions, [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_allclose(d.scores, [[1, 0.25, 0.25, 0.25, 0.25]] * 3)
    # trapezoid with step 0.25: (1 + 0.25) / 2 * 0.25 + 3 * 0.25 * 0.25
    np.testing.assert_allclose(d.auc, 0.34375)
    assert calls == [3] * 5  # steps + 1 calls on the whole batch
    ins = perturbation_curves(score, x, perfect, t, mode="insertion", steps=4, baseline="mean")
    np.testing.assert_allclose(ins.scores, [[0.25, 1, 1, 1, 1]] * 3)
    np.testing.assert_allclose(ins.auc, 0.90625)
    worst = perturbation_curves(score, x, 1 - perfect, t, mode="deletion", steps=4, baseline="mean")
    np.testing.assert_allclose(worst.scores, [[1, 1, 1, 1, 0.25]] * 3)  # important ones last
    np.testing.assert_allclose(worst.auc, 0.90625)


def test_curve_ends_are_scored_once_for_every_map_of_the_same_faces():
    """The intact image and the baseline (fraction 0 and 1 of both curves) are the same
    images whatever the map: scored once for all maps, with the same curves as scoring
    them every time (a new ``score`` callable, or other faces, scores them again)."""
    x, important, score, calls = _quarter_case()
    t = np.array([0, 1, 2])
    maps = [important.astype(np.float32)[None].repeat(3, 0),
            np.random.default_rng(1).random((3, 4, 4)).astype(np.float32)]  # fmt: skip
    shared = [perturbation_curves(score, x, m, t, mode=mode, steps=4, baseline="mean").scores
              for m in maps for mode in ("deletion", "insertion")]  # fmt: skip
    assert len(calls) == 2 + 4 * 3  # the two ends once, then 3 inner steps per curve
    for m, mode, got in zip([maps[0]] * 2 + [maps[1]] * 2, ["deletion", "insertion"] * 2,
                            shared, strict=True):  # fmt: skip
        _, _, fresh, fresh_calls = _quarter_case()  # a new callable: nothing shared
        ref = perturbation_curves(fresh, x, m, t, mode=mode, steps=4, baseline="mean").scores
        np.testing.assert_array_equal(got, ref)
        assert len(fresh_calls) == 5
    other = x.copy()
    other[1] = 0.0  # other faces: the ends are scored again
    d = perturbation_curves(score, other, maps[0], t, steps=4, baseline="mean")
    assert len(calls) == 14 + 5 and d.scores[1, 0] == 0.0 and d.scores[0, 0] == 1.0


def test_flat_maps_remove_pixels_in_random_order_not_top_rows_first():
    x = np.zeros((8, 16, 16, 1), np.float32)
    x[:, :4] = 1.0  # only the top rows carry the score

    def score(img, targets):
        return img[:, :4, :, 0].mean(axis=(1, 2))

    t = np.zeros(8, int)
    flat = perturbation_curves(score, x, np.zeros((8, 16, 16), np.float32), t, steps=4,
                               baseline="mean")  # fmt: skip
    rows = -np.arange(256.0).reshape(1, 16, 16).repeat(8, 0)  # top rows ranked first
    top_first = perturbation_curves(score, x, rows, t, steps=4, baseline="mean")
    # top rows first: the top quarter is gone after the first step (curve 1, .25, .25, ...)
    np.testing.assert_allclose(top_first.scores[0], [1, 0.25, 0.25, 0.25, 0.25])
    # random order: about a quarter of the top rows goes per step (1, .81, .62, .44, .25)
    np.testing.assert_allclose(flat.scores.mean(0), [1, 0.8125, 0.625, 0.4375, 0.25], atol=0.05)
    # the same seed gives the same order
    again = perturbation_curves(score, x, np.zeros((8, 16, 16), np.float32), t, steps=4,
                                baseline="mean")  # fmt: skip
    np.testing.assert_array_equal(again.scores, flat.scores)


def test_baselines():
    x = np.random.default_rng(0).random((2, 20, 20, 1)).astype(np.float32)
    mean = baseline_images(x, "mean")
    np.testing.assert_allclose(mean[1], x[1].mean(), rtol=1e-6)
    const = np.full((1, 20, 20, 1), 0.3, np.float32)
    np.testing.assert_allclose(baseline_images(const, "blur"), 0.3, rtol=1e-6)  # reflect border
    step = np.zeros((1, 20, 20, 1), np.float32)
    step[:, :, 10:] = 1.0
    blur = baseline_images(step, "blur")[0, 10, :, 0]
    assert blur[0] < 0.05 and blur[-1] > 0.95 and 0.3 < blur[9] < 0.5 < blur[10] < 0.7
    with pytest.raises(Exception, match="unknown baseline"):
        baseline_images(x, "zeros")


def test_curve_errors():
    x = np.zeros((2, 8, 8, 1), np.float32)
    with pytest.raises(Exception, match="do not match"):
        perturbation_curves(lambda a, b: a.sum((1, 2, 3)), x, np.zeros((2, 4, 4)), [0, 0])
    with pytest.raises(Exception, match="'deletion' or 'insertion'"):
        perturbation_curves(lambda a, b: a.sum((1, 2, 3)), x, np.zeros((2, 8, 8)), [0, 0],
                            mode="both")  # fmt: skip


def test_class_probability_is_the_softmax_of_known_logits():
    inp = keras.Input((8, 8, 1))
    out = keras.layers.Dense(7, name="d")(keras.layers.Flatten()(inp))
    model = keras.Model(inp, out)
    bias = np.zeros(7, np.float32)
    bias[1] = np.log(2.0)  # logits (0, ln 2, 0, ...): p = (1, 2, 1, ...) / 8
    model.get_layer("d").set_weights([np.zeros((64, 7), np.float32), bias])
    net = EmotionModel(model, ModelSpec(input_size=(8, 8)), "constant")
    score = class_probability(Runner(net))
    x = np.random.default_rng(0).random((3, 8, 8, 1)).astype(np.float32)
    np.testing.assert_allclose(score(x, np.array([1, 0, 6])), [0.25, 0.125, 0.125], rtol=1e-6)


def _linear_case(n=6, size=16, channels=1, seed=0):
    """score = sum(w * image): replacing a subset S by the baseline drops the score by
    exactly the sum over S of the contributions w * (x - baseline)."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, size, size, channels)).astype(np.float32)
    w = rng.normal(size=(n, size, size, channels)).astype(np.float32)
    seen = []

    def score(img, targets):
        seen.append(len(img))
        reps = len(img) // n
        return (img.astype(np.float64) * np.tile(w, (reps, 1, 1, 1))).sum(axis=(1, 2, 3))

    contrib = (w * (x - baseline_images(x, "mean"))).sum(axis=3)
    return x, contrib, score, seen


def test_faithfulness_correlation_of_exact_negated_and_partly_right_maps():
    x, contrib, score, seen = _linear_case()
    rng = np.random.default_rng(1)
    z = rng.normal(size=contrib.shape)
    sd = lambda a: a.std(axis=(1, 2), keepdims=True)  # noqa: E731
    half = contrib / sd(contrib) + z / sd(z)  # pixel correlation with contrib near 1/sqrt(2)
    maps = {"exact": contrib, "negated": -contrib, "half": half,
            "flat": np.ones_like(contrib)}  # fmt: skip
    t = np.zeros(len(x), int)
    out = faithfulness_correlation(score, x, maps, t, subset=0.1, runs=300, baseline="mean")
    np.testing.assert_allclose(out["exact"], 1.0, atol=1e-5)
    np.testing.assert_allclose(out["negated"], -1.0, atol=1e-5)
    np.testing.assert_array_equal(out["flat"], 0.0)  # a constant sum: 0, not NaN
    # the correlation of subset sums is the maps' pixel correlation, up to sampling (sd ~0.03)
    pixel = [np.corrcoef(h.ravel(), c.ravel())[0, 1] for h, c in zip(half, contrib, strict=True)]
    np.testing.assert_allclose(out["half"], pixel, atol=0.12)
    # one scoring for all methods: the intact images, then runs x N perturbed images
    assert sum(seen) == len(x) * (1 + 300) and max(seen) <= 1024
    again = faithfulness_correlation(score, x, {"half": half}, t, subset=0.1, runs=300,
                                     baseline="mean")  # fmt: skip
    np.testing.assert_array_equal(again["half"], out["half"])  # seeded subsets


def test_faithfulness_correlation_with_two_channels_and_errors():
    x, contrib, score, _ = _linear_case(n=3, size=8, channels=2)
    t = np.zeros(3, int)
    out = faithfulness_correlation(score, x, {"exact": contrib}, t, runs=40, baseline="mean")
    np.testing.assert_allclose(out["exact"], 1.0, atol=1e-5)
    with pytest.raises(Exception, match="do not match"):
        faithfulness_correlation(score, x, {"m": contrib[:, :4]}, t)
    with pytest.raises(Exception, match="subset"):
        faithfulness_correlation(score, x, {"m": contrib}, t, subset=0.0)
    with pytest.raises(Exception, match="runs"):
        faithfulness_correlation(score, x, {"m": contrib}, t, runs=0)
