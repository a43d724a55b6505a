"""Max-sensitivity of explanations whose change under noise is known."""

import numpy as np
import pytest

from emonb.metrics.robustness import max_sensitivity


def test_a_map_that_ignores_the_input_has_zero_sensitivity():
    fixed = np.random.default_rng(0).random((3, 16, 16)).astype(np.float32)
    calls = []

    def explain(x, targets):
        calls.append((len(x), np.asarray(targets).tolist()))
        return fixed

    x = np.zeros((3, 16, 16, 1), np.float32)
    np.testing.assert_array_equal(max_sensitivity(explain, x, [2, 0, 1], samples=4), 0.0)
    assert calls == [(3, [2, 0, 1])] * 5  # e(x), then one call per sample, same targets
    calls.clear()
    max_sensitivity(explain, x, [2, 0, 1], samples=4, maps=fixed)
    assert len(calls) == 4


def test_a_map_equal_to_the_image_moves_by_the_noise_norm():
    """e(x) = x with x = 0.5 everywhere (no clipping): ||delta|| / ||x||, with delta uniform
    on [-r, r] (r = 0.05 x 2), is r / sqrt(3) / 0.5 over 4096 pixels (sd ~2 %). At the top
    of the range (x = 1) clipping keeps only the negative half: r / sqrt(6)."""

    def explain(x, targets):
        return x[..., 0]

    r = 0.05 * 2.0
    mid = np.full((2, 64, 64, 1), 0.5, np.float32)
    s = max_sensitivity(explain, mid, [0, 0], radius=0.05, samples=5)
    np.testing.assert_allclose(s, r / np.sqrt(3) / 0.5, rtol=0.05)
    top = np.ones((2, 64, 64, 1), np.float32)
    s = max_sensitivity(explain, top, [0, 0], radius=0.05, samples=5)
    np.testing.assert_allclose(s, r / np.sqrt(6), rtol=0.05)
    # twice the radius, twice the sensitivity; the same seed, the same answer
    s2 = max_sensitivity(explain, mid, [0, 0], radius=0.1, samples=5)
    s1 = max_sensitivity(explain, mid, [0, 0], radius=0.05, samples=5)
    np.testing.assert_allclose(s2, 2 * s1, rtol=1e-5)
    np.testing.assert_array_equal(s1, max_sensitivity(explain, mid, [0, 0], samples=5))


def test_zero_maps_and_errors():
    x = np.zeros((2, 8, 8, 1), np.float32)
    zero = lambda x, t: np.zeros(x.shape[:3])  # noqa: E731
    np.testing.assert_array_equal(max_sensitivity(zero, x, [0, 0]), 0.0)
    np.testing.assert_array_equal(max_sensitivity(lambda x, t: x[..., 0], x, [0, 0]), np.inf)
    with pytest.raises(Exception, match="samples"):
        max_sensitivity(zero, x, [0, 0], samples=0)
    with pytest.raises(Exception, match="value_range"):
        max_sensitivity(zero, x, [0, 0], value_range=(1.0, -1.0))
