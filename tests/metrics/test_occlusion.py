"""Region occlusion with each baseline, against values computed by hand."""

import numpy as np
import pytest

from emonb.errors import EmonbError
from emonb.metrics.occlusion import OCCLUSION_BASELINES, occlusion


def _ramp(n=3, size=24):
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    ramps = [(a * xx + b * yy) / size for a, b in [(1, 0), (0.5, 0.5), (-1, 2)][:n]]
    return np.stack(ramps)[..., None]


def _region(size=24):
    m = np.zeros((1, size, size), bool)
    m[0, 8:14, 6:12] = True
    return m


def test_nli_restores_a_linear_image_and_mean_does_not():
    x, masks = _ramp(), _region()
    inside = masks[0]

    def score(z, t):  # the mean value inside the region
        return z[:, inside, 0].mean(axis=1)

    targets = np.zeros(len(x), int)
    nli = occlusion(score, x, targets, masks, baseline="nli", seed=3)
    assert np.abs(nli).max() < 0.01  # a linear image is its own interpolation, plus noise of sd 0.01/6
    mean = occlusion(score, x, targets, masks, baseline="mean")
    expected = x[:, inside, 0].mean(axis=1) - x.mean(axis=(1, 2, 3))
    np.testing.assert_allclose(mean[:, 0], expected, atol=1e-6)
    assert np.abs(mean).max() > 0.05


def test_nli_is_seeded():
    x, masks = _ramp(), _region()

    def score(z, t):
        return z[:, 9, 9, 0]

    t = np.zeros(len(x), int)
    a = occlusion(score, x, t, masks, baseline="nli", seed=1)
    np.testing.assert_array_equal(a, occlusion(score, x, t, masks, baseline="nli", seed=1))
    assert not np.array_equal(a, occlusion(score, x, t, masks, baseline="nli", seed=2))


def test_unknown_baseline_is_one_line():
    assert "nli" in OCCLUSION_BASELINES
    with pytest.raises(EmonbError, match="choose one of blur, mean, nli"):
        occlusion(lambda z, t: z[:, 0, 0, 0], _ramp(), np.zeros(3, int), _region(), baseline="zero")


def test_nli_noise_is_the_faces_own_whichever_faces_share_its_chunk(monkeypatch):
    from emonb.metrics import occlusion as module
    from emonb.metrics.road import noisy_linear_imputation

    rng = np.random.default_rng(0)
    x = rng.random((7, 24, 24, 1)).astype(np.float32)
    masks = np.concatenate([_region(), np.roll(_region(), 9, axis=2)])  # two regions

    def score(z, t):  # pixels inside each region: the imputation's noise shows
        return z[:, 10, 8, 0] + z[:, 10, 17, 0]

    t = np.zeros(len(x), int)
    monkeypatch.setattr(module, "_BATCH_VALUES", 2 * 24 * 24 * 2)  # batches of 2 faces
    whole = occlusion(score, x, t, masks, baseline="nli", seed=1)
    # the draws of earlier releases, seeded by the seed, the batch and the region
    by_hand = np.empty_like(whole)
    for s in range(0, len(x), 2):
        for k in range(2):
            m = np.broadcast_to(masks[k], x[s : s + 2].shape[:3])
            base = noisy_linear_imputation(x[s : s + 2], m, seed=[1, s, k])
            occluded = np.where(m[..., None], base, x[s : s + 2])
            by_hand[s : s + 2, k] = score(x[s : s + 2], t) - score(occluded, t)
    np.testing.assert_array_equal(whole, by_hand)
    # a chunk of the faces, given their ids, draws each face's own noise
    ids = np.arange(len(x))
    parts = np.concatenate([occlusion(score, x[a:b], t[a:b], masks, baseline="nli", seed=1,
                                      ids=ids[a:b]) for a, b in [(0, 3), (3, 4), (4, 7)]])  # fmt: skip
    np.testing.assert_array_equal(whole, parts)
    other = occlusion(score, x, t, masks, baseline="nli", seed=1, ids=ids + 100)
    assert not np.array_equal(whole, other)  # other ids, other noise
