"""ROAD: noisy linear imputation against a dense solve of the reference's equations, and
ROAD curves on scores whose curves are known."""

import numpy as np
import pytest

from emonb.metrics.road import noisy_linear_imputation, road_curves, road_gap

_OFFSETS = [((1, 1), 1 / 12), ((0, 1), 1 / 6), ((-1, 1), 1 / 12), ((1, -1), 1 / 12),
            ((0, -1), 1 / 6), ((-1, -1), 1 / 12), ((1, 0), 1 / 6), ((-1, 0), 1 / 6)]  # fmt: skip


def _dense_reference(img: np.ndarray, removed: np.ndarray) -> np.ndarray:
    """Rong et al.'s system, pixel by pixel (one 2-D channel), solved densely: each removed
    pixel times the sum of its in-image neighbours' weights, minus the weighted removed
    neighbours, equals the weighted known neighbours."""
    h, w = img.shape
    unknown = [tuple(p) for p in np.argwhere(removed)]
    index = {p: k for k, p in enumerate(unknown)}
    a = np.zeros((len(unknown), len(unknown)))
    b = np.zeros(len(unknown))
    for k, (i, j) in enumerate(unknown):
        for (di, dj), wt in _OFFSETS:
            q = (i + di, j + dj)
            if not (0 <= q[0] < h and 0 <= q[1] < w):
                continue
            a[k, k] += wt
            if removed[q]:
                a[k, index[q]] -= wt
            else:
                b[k] += wt * img[q]
    out = img.astype(np.float64).copy()
    out[removed] = np.linalg.solve(a, b)[[index[tuple(p)] for p in np.argwhere(removed)]]
    return out


def test_a_single_hole_in_a_constant_or_linear_image_is_filled_exactly():
    ii, jj = np.mgrid[0:9, 0:9].astype(np.float32)
    x = np.stack([np.full((9, 9), 0.3, np.float32), 0.1 * ii - 0.05 * jj + 0.2])[..., None]
    removed = np.zeros((2, 9, 9), bool)
    removed[:, 4, 4] = True
    out = noisy_linear_imputation(x, removed, noise=0.0)
    np.testing.assert_allclose(out, x, atol=1e-6)  # constant, and the ramp's own value
    # a whole interior block of a linear image: the plane is the solution (away from borders)
    removed[:, 2:7, 3:6] = True
    np.testing.assert_allclose(noisy_linear_imputation(x, removed, noise=0.0), x, atol=1e-4)


def test_agrees_with_a_dense_solve_of_the_reference_equations():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (3, 12, 10, 2)).astype(np.float32)
    removed = rng.random((3, 12, 10)) < np.array([0.2, 0.6, 0.95])[:, None, None]
    removed[1, :6, :] = True  # a big hole reaching the border
    out = noisy_linear_imputation(x, removed, noise=0.0, tol=1e-6)
    for i in range(3):
        for c in range(2):
            ref = _dense_reference(x[i, ..., c], removed[i])
            np.testing.assert_allclose(out[i, ..., c], ref, atol=2e-4)
    np.testing.assert_array_equal(out[~removed], x[~removed])  # known pixels untouched


def test_default_tolerance_on_large_holes_of_a_face_sized_image():
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, (1, 32, 32, 1)).astype(np.float32)
    removed = np.zeros((1, 32, 32), bool)
    removed[0, 3:29, 2:30] = True  # 71 % of the image in one hole
    ref = _dense_reference(x[0, ..., 0], removed[0])
    out = noisy_linear_imputation(x, removed, noise=0.0)
    assert np.abs(out[0, ..., 0] - ref).max() < 3e-3  # well below the noise sd 0.01


def test_noise_goes_only_on_removed_pixels_with_the_stated_sd_and_is_seeded():
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (4, 32, 32, 1)).astype(np.float32)
    removed = rng.random((4, 32, 32)) < 0.5
    clean = noisy_linear_imputation(x, removed, noise=0.0)
    np.testing.assert_array_equal(clean, noisy_linear_imputation(x, removed, noise=0.0))
    noisy = noisy_linear_imputation(x, removed, noise=0.05, seed=7)
    np.testing.assert_array_equal(noisy[~removed], x[~removed])
    jitter = (noisy - clean)[removed]
    assert jitter.std() == pytest.approx(0.05, rel=0.05) and abs(jitter.mean()) < 0.005
    np.testing.assert_array_equal(noisy, noisy_linear_imputation(x, removed, noise=0.05, seed=7))
    assert not np.array_equal(noisy, noisy_linear_imputation(x, removed, noise=0.05, seed=8))


def test_an_image_with_every_pixel_removed_gets_its_mean():
    x = np.random.default_rng(4).random((2, 8, 8, 1)).astype(np.float32)
    removed = np.zeros((2, 8, 8), bool)
    removed[0] = True
    removed[1, 0, 0] = True
    out = noisy_linear_imputation(x, removed, noise=0.0)
    np.testing.assert_allclose(out[0], x[0].mean(), rtol=1e-6)
    w = np.array([[0, 1 / 6], [1 / 6, 1 / 12]])  # a corner pixel: three neighbours
    np.testing.assert_allclose(out[1, 0, 0, 0], (w * x[1, :2, :2, 0]).sum() / w.sum(), rtol=1e-5)
    with pytest.raises(Exception, match="does not match"):
        noisy_linear_imputation(x, removed[:, :4])


def test_road_curves_of_a_spot_computed_by_hand():
    """A 5x5 image, 0 but for one spot of 1 that is all the score sees (noise 0). MoRF
    with the spot's one-hot map removes it first: the fill of its zero neighbours is 0.
    LeRF keeps it until every pixel is gone, when both orders leave the image's mean 1/25."""
    x = np.zeros((2, 5, 5, 1), np.float32)
    x[:, 2, 3] = 1.0
    spot = np.zeros((2, 5, 5), np.float32)
    spot[:, 2, 3] = 1.0
    calls = []

    def score(img, targets):
        calls.append(len(img))
        return img[:, 2, 3, 0]

    t = np.zeros(2, int)
    fr = (0.2, 0.6, 1.0)
    morf = road_curves(score, x, spot, t, order="morf", fractions=fr, noise=0.0)
    lerf = road_curves(score, x, spot, t, order="lerf", fractions=fr, noise=0.0)
    assert (morf.mode, lerf.mode) == ("road-morf", "road-lerf") and calls == [2] * 6
    np.testing.assert_allclose(morf.scores, [[0, 0, 0.04]] * 2, atol=1e-6)
    np.testing.assert_allclose(lerf.scores, [[1, 1, 0.04]] * 2, atol=1e-6)
    np.testing.assert_allclose(lerf.auc, 0.4 * (1 + 1) / 2 + 0.4 * (1 + 0.04) / 2, atol=1e-6)
    np.testing.assert_allclose(road_gap(morf, lerf), (1 + 1 + 0.04) / 3 - 0.04 / 3, atol=1e-6)
    # the reversed map's MoRF is the true map's LeRF
    rev = road_curves(score, x, -spot, t, order="morf", fractions=fr, noise=0.0)
    np.testing.assert_allclose(rev.scores, lerf.scores, atol=1e-6)
    with pytest.raises(Exception, match="road-morf and road-lerf"):
        road_gap(lerf, morf)
    with pytest.raises(Exception, match="'morf' or 'lerf'"):
        road_curves(score, x, spot, t, order="both")


def test_the_true_weights_of_a_linear_score_fall_faster_than_their_reverse():
    """score = sum(w * image) on images equal to w: removing high-w pixels replaces high
    values by their neighbours' lower mean (the score falls), removing low-w ones raises it."""
    rng = np.random.default_rng(5)
    w = rng.random((3, 32, 32)).astype(np.float32)
    x = w[..., None].copy()

    def score(img, targets):
        return (img[..., 0] * w).sum(axis=(1, 2))

    t = np.zeros(3, int)
    true_m = road_curves(score, x, w, t, order="morf")
    true_l = road_curves(score, x, w, t, order="lerf")
    rev_m = road_curves(score, x, -w, t, order="morf")
    rev_l = road_curves(score, x, -w, t, order="lerf")
    assert (true_m.scores < rev_m.scores).all()
    assert (np.diff(true_m.scores, axis=1) < 0).all()  # falls at every step
    assert (road_gap(true_m, true_l) > 0).all() and (road_gap(rev_m, rev_l) < 0).all()
    np.testing.assert_allclose(road_gap(true_m, true_l), -road_gap(rev_m, rev_l), rtol=1e-6)
