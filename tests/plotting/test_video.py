"""Probabilities over time and HOG orientation histograms."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from emonb.plotting.video import plot_orientation_histograms, plot_timeline


def test_timeline_band_follows_the_label_runs():
    times = np.array([0.0, 0.5, 1.0, 1.5])
    proba = np.tile([0.1, 0.9], (4, 1))
    ax = plot_timeline(times, proba, np.array([1, 1, 0, 0]), ["a", "b"])
    spans = [p for p in ax.patches]
    assert len(spans) == 2
    np.testing.assert_allclose(spans[0].get_x(), -0.25)  # half a step before the first frame
    np.testing.assert_allclose(spans[0].get_width(), 1.0)  # frames 0..1 plus half steps
    tab10 = plt.get_cmap("tab10").colors
    np.testing.assert_allclose(spans[0].get_facecolor()[:3], tab10[1])
    np.testing.assert_allclose(ax.lines[1].get_ydata(), 0.9)
    assert "smoothed label" in ax.get_title()
    assert plot_timeline(times, proba, np.array([1, 1, 0, 0]), ["a", "b"], title="own").get_title() == "own"


def test_orientation_histograms_bin_centres():
    h = {"happy": {"mean": [0.5, 0.25, 0.25, 0.0], "std": [0.0] * 4, "n": 3}}
    ax = plot_orientation_histograms(h)
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [22.5, 67.5, 112.5, 157.5])
    assert ax.lines[0].get_label() == "happy (3)"
    with pytest.raises(ValueError, match="no emotions"):
        plot_orientation_histograms({})
