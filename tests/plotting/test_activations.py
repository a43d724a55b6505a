"""Feature maps and filters drawn from plain arrays (no model)."""

from __future__ import annotations

import numpy as np
import pytest

from emonb.plotting.activations import (
    plot_activation_histograms,
    plot_feature_maps,
    plot_filters,
    plot_layer_heatmap_rows,
    plot_layer_heatmaps,
)


def test_feature_maps_each_on_its_own_range():
    act = np.zeros((4, 4, 3), np.float32)
    act[..., 0] = np.arange(16).reshape(4, 4)
    act[..., 2] = 5.0  # a flat map: drawn at the bottom of the colour scale
    fig = plot_feature_maps(act, channels=[2, 0], title="t", scale="each")
    assert [ax.get_title() for ax in fig.axes[:2]] == ["#2", "#0"]
    assert fig.axes[0].images[0].get_clim() == (5.0, 6.0)
    assert fig.axes[1].images[0].get_clim() == (0.0, 15.0)
    assert len(fig.axes) == 2  # no colour bar when each map has its own scale
    with pytest.raises(ValueError, match="one image"):
        plot_feature_maps(act[None])


def test_feature_maps_share_one_scale_with_a_colour_bar():
    act = np.zeros((4, 4, 3), np.float32)
    act[..., 0] = np.arange(16).reshape(4, 4)
    act[..., 2] = 5.0
    fig = plot_feature_maps(act, channels=[2, 0])
    assert {ax.images[0].get_clim() for ax in fig.axes[:2]} == {(0.0, 15.0)}
    assert len(fig.axes) == 2 + 1 and fig.axes[-1].get_ylabel() == "activation"
    with pytest.raises(ValueError, match="scale"):
        plot_feature_maps(act, scale="auto")


def test_filters_share_a_zero_centred_scale():
    filters = np.zeros((3, 2, 2), np.float32)
    filters[1, 0, 0] = -2.0
    filters[2, 1, 1] = 0.5
    fig = plot_filters(filters)
    assert {ax.images[0].get_clim() for ax in fig.axes[:3]} == {(-2.0, 2.0)}
    assert len(fig.axes) == 3 + 1  # panels and one colour bar


def test_layer_heatmaps_and_histograms():
    fig = plot_layer_heatmaps(np.zeros((6, 6), np.uint8), {"c1": np.ones((3, 3))})
    assert fig.axes[0].get_title() == "c1"
    assert len(fig.axes) == 2 and fig.axes[-1].get_ylim() == (0.0, 1.0)  # the colour bar
    with pytest.raises(ValueError, match="no heatmaps"):
        plot_layer_heatmaps(np.zeros((6, 6), np.uint8), {})
    hists = {"c1": (np.array([[2, 2], [1, 0]]), np.array([0.0, 0.5, 1.0]))}
    fig = plot_activation_histograms(hists, ["a", "b"], density=True)
    np.testing.assert_allclose(fig.axes[0].patches[0].get_data()[0], [0.5, 0.5])
    with pytest.raises(ValueError, match="no histogram"):
        plot_activation_histograms(hists, ["a", "b"], layers=["c2"])


def test_layer_heatmap_rows_one_row_per_model():
    rows = {"a": (np.zeros((6, 6), np.uint8), {"c1": np.ones((3, 3)), "c2": np.zeros((3, 3))}),
            "b": (np.zeros((4, 4), np.uint8), {"d1": np.ones((2, 2))})}
    fig = plot_layer_heatmap_rows(rows)
    assert [ax.get_title() for ax in fig.axes[:4]] == ["c1", "c2", "d1", ""]
    assert fig.axes[0].get_ylabel() == "a" and fig.axes[2].get_ylabel() == "b"
    assert not fig.axes[3].axison and len(fig.axes) == 5  # empty panel, one colour bar
    with pytest.raises(ValueError, match="at least one"):
        plot_layer_heatmap_rows({"a": (np.zeros((4, 4)), {})})
