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
