"""Tests for the seeded per-face draws (:mod:`emonb.data.synthetic.variation`)."""

from __future__ import annotations

import numpy as np

from emonb.data.synthetic.variation import draw_variation


def test_size_changes_only_the_last_draw_the_noise() -> None:
    """Identity, tones, pose and lighting do not depend on the image size, so faces of
    different sizes from one seed are the same faces."""
    a = draw_variation(np.random.default_rng(5), 6, 32)
    b = draw_variation(np.random.default_rng(5), 6, 48)
    for field in ("identity", "rest", "tones"):
        x, y = getattr(a, field), getattr(b, field)
        assert x.keys() == y.keys()
        for key in x:
            assert np.array_equal(x[key], y[key]), (field, key)
    for x, y in ((a.amp, b.amp), (a.happy_open, b.happy_open), (a.fringe, b.fringe)):
        assert np.array_equal(x, y)
    assert np.array_equal(a.pose.shift, b.pose.shift)
    assert np.array_equal(a.lighting.blur, b.lighting.blur)
    assert a.lighting.noise.shape == (6, 32, 32) and b.lighting.noise.shape == (6, 48, 48)
    assert np.array_equal(a.lighting.noise_sd, b.lighting.noise_sd)
