"""Occlusion and RISE against naive loops through the Keras model and, on a linear model,
against RISE's expected map in closed form."""

import numpy as np
import pytest

from emonb._tf import keras
from emonb.arrays import minmax
from emonb.errors import EmonbError
from emonb.methods.perturbation import RISE, Occlusion, window_starts
from emonb.models.preprocessing import ModelSpec
from emonb.models.zoo import EmotionModel


def smooth_model():
    """A tiny non-linear model whose output is the logits (no softmax): model(x) is the oracle."""
    keras.utils.set_random_seed(2)
    inp = keras.Input((6, 6, 1))
    x = keras.layers.Conv2D(3, 3, activation="tanh")(inp)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inp, keras.layers.Dense(7)(x))


def linear_model(h: int, w: int, seed: int = 0):
    """Flatten + Dense, no activation: score_c(x) = b_c + sum_p w_pc x_p."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input((h, w, 1))
    return keras.Model(inp, keras.layers.Dense(7)(keras.layers.Flatten()(inp)))


def wrap(model, preprocessing="unit"):
    h, w = model.input_shape[1:3]
    return EmotionModel(model, ModelSpec(input_size=(h, w), preprocessing=preprocessing), "toy")


def naive_occlusion(model, x, cls, starts_y, starts_x, window, fill):
    """Zeiler & Fergus for one image (H, W, C): occlude each window in turn, score with the
    Keras model itself; each pixel's value is the mean drop over the windows covering it,
    then ReLU."""
    f = lambda z: float(np.asarray(model(z[None].astype(np.float32)))[0, cls])  # noqa: E731
    base = f(x)
    total, count = np.zeros(x.shape[:2]), np.zeros(x.shape[:2])
    for y in starts_y:
        for xx in starts_x:
            occluded = x.copy()
            occluded[y : y + window, xx : xx + window, :] = fill
            total[y : y + window, xx : xx + window] += base - f(occluded)
            count[y : y + window, xx : xx + window] += 1
    return np.maximum(total / count, 0.0)


@pytest.mark.parametrize("fill, level", [("grey", 0.5), ("black", 0.0), (0.3, 0.3)])
def test_occlusion_one_pixel_equals_the_naive_drops(fill, level, unchanged):
    model = smooth_model()
    check = unchanged(model)
    x = np.random.default_rng(0).random((2, 6, 6, 1)).astype(np.float32)
    idx = np.array([2, 5])
    ours = Occlusion(wrap(model), window=1, stride=1, fill=fill)._attribute(x, idx)
    for i in range(2):
        ref = naive_occlusion(model, x[i], idx[i], range(6), range(6), 1, level)
        assert (ref > 0).any() and (ref == 0).any()  # both signs of drop occur
        np.testing.assert_allclose(ours[i], ref, rtol=1e-4, atol=1e-6)
    check()


def test_occlusion_of_probabilities_on_a_softmax_model(toy_models, unchanged):
    """score="probability": drops of the softmax output of a model without an Input layer."""
    model = toy_models["sequential_no_input"]()
    check = unchanged(model)
    x = np.random.default_rng(1).random((1, 20, 20, 1)).astype(np.float32)
    with pytest.warns(UserWarning, match="probabilities"):
        occ = Occlusion(model, window=4, stride=3, fill="black", score="probability")
    ours = occ._attribute(x, np.array([4]))[0]
    starts = [0, 3, 6, 9, 12, 15, 16]  # by hand: 16 = 20 - 4, flush with the border
    ref = naive_occlusion(model, x[0], 4, starts, starts, 4, 0.0)
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-7)
    check()


def test_occlusion_windows_cover_the_border():
    assert window_starts(7, 3, 3) == [0, 3, 4]
    assert window_starts(8, 2, 2) == [0, 2, 4, 6]  # lands on the border: nothing added
    assert window_starts(5, 5, 4) == [0]
    with pytest.raises(EmonbError, match="larger than the input"):
        window_starts(5, 6, 1)
    # a linear model that looks only at the bottom-right pixel, which the plain stride misses
    model = linear_model(7, 7)
    kernel, bias = model.layers[-1].get_weights()
    kernel[:] = 0.0
    kernel[7 * 7 - 1, 0] = 2.0
    model.layers[-1].set_weights([kernel, bias])
    x = np.full((1, 7, 7, 1), 0.75, np.float32)
    occ = Occlusion(wrap(model), window=3, stride=3, fill="black")
    assert occ.windows.any(axis=0).all()
    got = occ._attribute(x, np.array([0]))[0]
    # only the flush window at (4, 4) drops the score (by 2 * 0.75); rows/columns 4 and 5 are
    # also covered by the windows at 3, so they get the mean of that drop and zeros
    share = np.array([0, 0, 0, 0, 1 / 2, 1 / 2, 1])
    want = 1.5 * np.outer(share, share)
    np.testing.assert_allclose(got, want, atol=1e-6)


def _record_scores(explainer) -> list[tuple[int, int | None]]:
    """Record (rows, batch_size) of every runner.scores call of ``explainer``."""
    calls = []
    scores = explainer.runner.scores

    def counted(x, batch_size=None):
        calls.append((len(x), batch_size))
        return scores(x, batch_size)

    explainer.runner.scores = counted
    return calls


def test_perturbed_inputs_go_through_the_runner_in_chunks():
    """All images' copies are scored together, ``chunk`` at a time (not image by image)."""
    net = wrap(smooth_model())
    x = np.random.default_rng(2).random((3, 6, 6, 1)).astype(np.float32)
    idx = np.array([0, 1, 2])
    occ = Occlusion(net, window=2, stride=2, chunk=10)  # 9 windows: 27 copies
    calls = _record_scores(occ)
    occ._attribute(x, idx)
    assert calls == [(3, 10), (10, 10), (10, 10), (7, 10)]  # the originals, then the copies
    assert occ.forward_passes == 10 == sum(n for n, _ in calls) / 3
    rise = RISE(net, masks=50, chunk=32)
    calls = _record_scores(rise)
    rise._attribute(x[:2], idx[:2])
    assert calls == [(32, 32)] * 3 + [(4, 32)]
    assert rise.forward_passes == 50


def _bilinear(out: int, n: int) -> np.ndarray:
    """The (out, n) matrix of bilinear resizing n -> out samples, half-pixel centres, edges
    clamped (OpenCV's INTER_LINEAR), written from the formula."""
    m = np.zeros((out, n))
    for j in range(out):
        f = (j + 0.5) * n / out - 0.5
        s = int(np.floor(f))
        f -= s
        if s < 0:
            s, f = 0, 0.0
        if s >= n - 1:
            s, f = n - 1, 0.0
        m[j, s] += 1 - f
        if f:
            m[j, s + 1] += f
    return m


@pytest.mark.parametrize("cells, size", [(2, (6, 5)), (8, (8, 6))])
def test_rise_masks_follow_the_paper(cells, size):
    """Petsiuk et al.: a binary cells x cells grid (cells kept with probability p), upsampled
    bilinearly to (cells + 1) * ceil(H / cells) and cropped at a random shift; grids drawn
    first from default_rng(seed), then the shifts along H, then along W."""
    h, w = size
    rise = RISE(wrap(linear_model(h, w)), masks=40, cells=cells, p=0.3, seed=9)
    ch, cw = -(-h // cells), -(-w // cells)
    rng = np.random.default_rng(9)
    grids = (rng.random((40, cells, cells)) < 0.3).astype(np.float64)
    dys, dxs = rng.integers(0, ch, 40), rng.integers(0, cw, 40)
    ly, lx = _bilinear((cells + 1) * ch, cells), _bilinear((cells + 1) * cw, cells)
    for i in range(40):
        ref = ly[dys[i] : dys[i] + h] @ grids[i] @ lx[dxs[i] : dxs[i] + w].T
        np.testing.assert_allclose(rise.masks[i], ref, atol=1e-6)


@pytest.mark.parametrize("center", [False, True])
def test_rise_converges_to_its_expectation_on_a_linear_model(center):
    """On score = b + sum_q w_q x_q, with masked x = black + (x - black) M and M = L g (L the
    bilinear upsampling, g iid Bernoulli(p), 1-px cells so no shift), the expected RISE map is

        E[score M_p] / p = const + (1 - p) (L L^T a)_p,   a_q = w_q (x_q - black),

    and a is the 1-px black-fill occlusion drop: the map is an affine function of the
    occlusion map smoothed by L L^T (the upsampling correlates neighbouring pixels, so not
    of the occlusion map itself). Centring the scores changes only the constant."""
    h, w = 8, 6
    net = wrap(linear_model(h, w), "symmetric")  # black = -1, so x . M would be wrong
    x = np.random.default_rng(0).uniform(-1, 1, (1, h, w, 1)).astype(np.float32)
    idx = np.array([3])
    a = Occlusion(net, window=1, stride=1, fill="black").drops(x, idx).reshape(h, w)
    kernel, _ = net.model.layers[-1].get_weights()
    np.testing.assert_allclose(a, (kernel[:, 3].reshape(h, w) * (x[0, ..., 0] + 1)), atol=1e-5)
    ly, lx = _bilinear(h + 1, h)[:h], _bilinear(h + 1, h)[:w]
    expected = (ly @ ly.T) @ a @ (lx @ lx.T)
    corr = lambda u, v: np.corrcoef(u.ravel(), v.ravel())[0, 1]  # noqa: E731
    counts = (100, 300, 1000, 3000)
    gaps, errors = [], []
    for seed in range(3):
        maps = [RISE(net, masks=n, cells=h, seed=seed, center=center)._attribute(x, idx)[0]
                for n in counts]  # fmt: skip
        gaps.append([1.0 - corr(m, expected) for m in maps])
        errors.append([np.abs(minmax(m[None]) - minmax(expected[None])).mean() for m in maps])
        assert corr(maps[-1], expected) > 0.98, seed
    gaps, errors = np.array(gaps), np.array(errors)
    assert (np.diff(gaps, axis=1) < 0).all(), gaps  # 1 - correlation falls with every step
    assert (np.diff(errors.mean(axis=0)) < 0).all(), errors
    assert errors[:, -1].mean() < 0.4 * errors[:, 0].mean(), errors


def test_rise_is_seeded_and_ignores_batch_neighbours(unchanged):
    model = smooth_model()
    check = unchanged(model)
    net = wrap(model)
    x = np.random.default_rng(3).random((3, 6, 6, 1)).astype(np.float32)
    idx = np.array([1, 4, 6])
    a = RISE(net, masks=64, cells=3, seed=5)
    b = RISE(net, masks=64, cells=3, seed=5, chunk=7)
    np.testing.assert_array_equal(a.masks, b.masks)
    batch = a._attribute(x, idx)
    np.testing.assert_array_equal(a._attribute(x, idx), batch)  # deterministic
    np.testing.assert_allclose(b._attribute(x, idx), batch, rtol=1e-5, atol=1e-7)
    alone = a._attribute(x[1:2], idx[1:2])[0]
    np.testing.assert_allclose(alone, batch[1], rtol=1e-5, atol=1e-7)
    other = RISE(net, masks=64, cells=3, seed=6)._attribute(x, idx)
    assert np.abs(minmax(other) - minmax(batch)).max() > 0.05
    check()


def test_rise_weights_scores_by_masks_by_hand():
    """saliency = sum_i score(black + (x - black) M_i) M_i / (N p), scores from the model."""
    model = smooth_model()
    net = wrap(model, "symmetric")
    x = np.random.default_rng(4).uniform(-1, 1, (1, 6, 6, 1)).astype(np.float32)
    rise = RISE(net, masks=20, cells=2, p=0.4, seed=1, center=False)
    scores = [float(model(-1.0 + (x + 1.0) * m[None, ..., None])[0, 2]) for m in rise.masks]
    ref = sum(s * m for s, m in zip(scores, rise.masks, strict=True)) / (20 * 0.4)
    np.testing.assert_allclose(rise.saliency(x, np.array([2]))[0], ref, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(rise._attribute(x, np.array([2]))[0], ref - ref.min(), atol=1e-5)
    # The default centres the scores: the same masks, each score minus their mean.
    centred = RISE(net, masks=20, cells=2, p=0.4, seed=1)
    np.testing.assert_array_equal(centred.masks, rise.masks)
    mean = np.mean(scores)
    ref = sum((s - mean) * m for s, m in zip(scores, rise.masks, strict=True)) / (20 * 0.4)
    np.testing.assert_allclose(centred.saliency(x, np.array([2]))[0], ref, rtol=1e-4, atol=1e-5)


def test_settings_are_validated():
    net = wrap(smooth_model())
    for bad in ({"masks": 0}, {"cells": 1.5}, {"p": 0.0}, {"chunk": -1}):
        with pytest.raises(EmonbError):
            RISE(net, **bad)
    with pytest.raises(EmonbError, match="fill must be"):
        Occlusion(net, fill="white")
    with pytest.raises(EmonbError, match="larger than the input"):
        Occlusion(net, window=7)
