"""Explanation maps over the face and the seed paper's Figure 1."""

from __future__ import annotations

import numpy as np
import pytest

from emonb.plotting.maps import (
    OWN_SCALE_LABEL,
    map_limits,
    plot_figure1,
    plot_map_rows,
    plot_maps,
)


def _heat_images(fig):
    return [im for ax in fig.axes for im in ax.images if im.get_cmap().name == "jet"]


def test_plot_maps_panels():
    face = np.full((8, 8), 90, np.uint8)
    heat = np.linspace(0, 1, 64).reshape(8, 8)
    fig = plot_maps(face, {"m1": heat, "m2": heat.T}, ncols=2)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[:4] == ["input", "m1", "m2", ""]  # then the colour bar
    np.testing.assert_array_equal(fig.axes[1].images[0].get_array(), face)  # the face under the map
    np.testing.assert_allclose(fig.axes[1].images[1].get_array(), heat)
    assert len(_heat_images(plot_maps(face, {"m1": heat}, show_face=False))) == 1


def test_own_scale_normalises_each_map_and_says_so():
    face = np.zeros((4, 4), np.uint8)
    fig = plot_maps(face, {"a": np.full((4, 4), 2.0) * np.eye(4), "b": 0.01 * np.eye(4)})
    images = _heat_images(fig)
    assert all(im.get_clim() == (0, 1) for im in images)
    assert all(np.asarray(im.get_array()).max() == 1 for im in images)
    assert fig.axes[-1].get_ylabel() == OWN_SCALE_LABEL  # the colour bar


def test_shared_scale_one_vmin_vmax_for_every_map():
    face = np.zeros((4, 4), np.uint8)
    maps = {"happy": 2.0 * np.eye(4), "disgust": 0.5 * np.eye(4)}
    fig = plot_maps(face, maps, scale="shared", probabilities={"happy": 0.94, "disgust": 0.0},
                    label="|gradient|")  # fmt: skip
    images = _heat_images(fig)
    assert len(images) == 2 and {im.get_clim() for im in images} == {(0.0, 2.0)}
    np.testing.assert_allclose(images[1].get_array(), maps["disgust"])  # not rescaled
    assert fig.axes[2].get_title() == "disgust\np = 0.00"
    assert fig.axes[-1].get_ylabel() == "|gradient|"


def test_rows_share_one_scale_and_wrap():
    rows = {"model a": (np.zeros((4, 4), np.uint8), {"x": np.ones((4, 4)), "y": 3 * np.ones((4, 4))}),
            "model b": (np.zeros((6, 6), np.uint8), {"x": 0.5 * np.ones((6, 6))})}  # fmt: skip
    fig = plot_map_rows(rows, scale="shared")
    assert {im.get_clim() for im in _heat_images(fig)} == {(0.0, 3.0)}
    assert fig.axes[0].get_title() == "model a\ninput"
    assert len(_heat_images(plot_map_rows(rows, ncols=2))) == 3
    with pytest.raises(ValueError):
        plot_map_rows(rows, scale="per-row")


def test_map_limits():
    assert map_limits({"a": np.array([0.2, 1.5]), "b": np.array([0.1])}) == (0.0, 1.5)
    assert map_limits([np.zeros(3)]) == (0.0, 1.0)


def test_figure1_rows():
    face = np.zeros((8, 8), np.uint8)
    heat = np.eye(8)
    maps = {"face": face, "predicted": "happy", "row1": {"gradcam": heat},
            "cams": {"a": heat, "b": heat, "c": heat}, "saliency": {"a": heat}}  # fmt: skip
    axes = plot_figure1(maps, probabilities={"a": 0.01}).axes
    assert len(axes) == 3 * 3 + 3  # and one colour bar per row
    assert axes[1].get_title() == "gradcam\n(happy)" and axes[3].get_title() == "CAM a\np = 0.01"
    assert axes[6].get_title() == "saliency a\np = 0.01" and axes[6].images[0].get_clim() == (0, 1)
    np.testing.assert_array_equal(axes[6].images[0].get_array(), heat)  # saliency: the map itself
    assert not axes[2].axison and not axes[7].axison
    assert all("own maximum" in ax.get_ylabel() for ax in axes[-3:])


def test_figure1_shared_rows():
    face = np.zeros((8, 8), np.uint8)
    maps = {"face": face, "predicted": "a", "row1": {"gradcam": 5 * np.eye(8)},
            "cams": {"a": 2 * np.eye(8), "b": 0.5 * np.eye(8)},
            "saliency": {"a": 3 * np.eye(8), "b": np.eye(8)}}  # fmt: skip
    axes = plot_figure1(maps, scale="shared").axes
    assert axes[1].images[1].get_clim() == (0, 1)  # row 1: different methods, own scale
    assert {axes[c].images[1].get_clim() for c in (2, 3)} == {(0.0, 2.0)}
    assert {axes[c].images[0].get_clim() for c in (4, 5)} == {(0.0, 3.0)}
    np.testing.assert_allclose(axes[3].images[1].get_array(), maps["cams"]["b"])  # 2 x 3 panels
    assert "one scale" in axes[-1].get_ylabel() and "own" in axes[-3].get_ylabel()
