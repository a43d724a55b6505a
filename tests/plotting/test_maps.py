"""Explanation maps over the face and the seed paper's Figure 1."""

from __future__ import annotations

import numpy as np

from emonb.plotting.images import overlay
from emonb.plotting.maps import plot_figure1, plot_maps


def test_plot_maps_panels():
    face = np.full((8, 8), 90, np.uint8)
    heat = np.linspace(0, 1, 64).reshape(8, 8)
    fig = plot_maps(face, {"m1": heat, "m2": heat.T}, ncols=2)
    assert [ax.get_title() for ax in fig.axes] == ["input", "m1", "m2", ""]
    np.testing.assert_array_equal(fig.axes[1].images[0].get_array(), overlay(face, heat, 0.5))
    assert len(plot_maps(face, {"m1": heat}, show_face=False).axes) == 1


def test_figure1_rows():
    face = np.zeros((8, 8), np.uint8)
    heat = np.eye(8)
    maps = {"face": face, "predicted": "happy", "row1": {"gradcam": heat},
            "cams": {"a": heat, "b": heat, "c": heat}, "saliency": {"a": heat}}  # fmt: skip
    axes = plot_figure1(maps).axes
    assert len(axes) == 3 * 3
    assert axes[1].get_title() == "gradcam\n(happy)" and axes[3].get_title() == "CAM a"
    assert axes[6].get_title() == "saliency a" and axes[6].images[0].get_clim() == (0, 1)
    np.testing.assert_array_equal(axes[6].images[0].get_array(), heat)  # saliency: the map itself
    assert not axes[2].axison and not axes[7].axison
