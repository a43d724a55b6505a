"""Overlays and the colour look-up they share with the video and the widgets; grids, saving."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from emonb.config import DPI
from emonb.plotting.colours import colour_lut, lut_index
from emonb.plotting.images import (
    _heat_colours,
    overlay,
    plot_image_grid,
    save_figure,
)


def test_lut_index_matches_matplotlib_binning():
    heat = np.array([0.0, 0.0039, 1 / 256, 0.5, 255 / 256, 1.0, -0.2, 1.3], np.float32)
    np.testing.assert_array_equal(lut_index(heat), [0, 0, 1, 128, 255, 255, 0, 255])


def test_colour_lut_is_256_entries_in_0_255():
    grey = colour_lut("gray")
    assert grey.shape == (256, 3) and grey.dtype == np.float32
    np.testing.assert_allclose(grey[:, 0], np.arange(256), atol=1e-3)  # gray: k / 255 * 255
    np.testing.assert_allclose(colour_lut("jet")[0], [0.0, 0.0, 127.5])  # jet starts dark blue


def test_heat_colours_resize_nan_and_bgr():
    out = _heat_colours(np.full((3, 3), 0.6, np.float32), (5, 7), "gray")
    assert out.shape == (5, 7, 3)  # size is (H, W)
    np.testing.assert_allclose(out, 153.0, atol=1e-3)  # bin int(0.6 * 256) = 153
    np.testing.assert_array_equal(_heat_colours(np.full((2, 2), np.nan), (2, 2), "gray"), 0.0)
    zero = np.zeros((2, 2), np.float32)
    np.testing.assert_allclose(_heat_colours(zero, (2, 2), "jet")[0, 0], [0.0, 0.0, 127.5])
    np.testing.assert_allclose(_heat_colours(zero, (2, 2), "jet", bgr=True)[0, 0], [127.5, 0, 0])
    with pytest.raises(ValueError, match="2-D"):
        _heat_colours(np.zeros((1, 2, 2)), (2, 2))


def test_overlay_blends_by_alpha():
    grey = np.full((4, 5), 100, np.uint8)
    out = overlay(grey, np.ones((2, 2)), alpha=0.25, cmap="gray")
    np.testing.assert_array_equal(out, 139)  # round(0.75 * 100 + 0.25 * 255) = round(138.75)
    assert out.dtype == np.uint8 and out.shape == (4, 5, 3)
    rgba = np.zeros((4, 5, 4), np.uint8)
    rgba[..., 3] = 7  # alpha is dropped
    np.testing.assert_array_equal(overlay(rgba, np.ones((4, 5)), 0.5, "gray"), 128)  # 127.5
    np.testing.assert_array_equal(overlay(grey[..., None], np.ones((4, 5)), 0.25, "gray"), out)


@pytest.mark.parametrize(
    ("image", "alpha", "match"),
    [
        (np.zeros((4, 4), np.uint8), 1.5, "alpha"),
        (np.full((4, 4), 300), 0.5, "0..255"),
        (np.full((4, 4), -0.5), 0.5, r"\[0, 1\]"),
        (np.zeros((4, 4, 2), np.uint8), 0.5, "grey or RGB"),
    ],
)
def test_overlay_rejects_bad_input(image, alpha, match):
    with pytest.raises(ValueError, match=match):
        overlay(image, np.zeros((4, 4)), alpha=alpha)


def test_save_figure_writes_at_300_dpi(tmp_path):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1, 1))
    fig.add_subplot().plot([0, 1])
    path = save_figure(fig, tmp_path / "new" / "fig.png")
    assert DPI == 300 and path == tmp_path / "new" / "fig.png"
    with Image.open(path) as im:
        assert round(im.info["dpi"][0]) == 300


def test_plot_image_grid_layout():
    images = [np.full((6, 6), k * 40, np.uint8) for k in range(5)]
    fig = plot_image_grid(images, titles=list("abcde"), ncols=3, row_labels=["r1", "r2"])
    axes = fig.axes
    assert len(axes) == 6  # 2 rows of 3; the sixth is switched off
    assert [ax.get_title() for ax in axes[:5]] == list("abcde")
    assert not axes[5].axison and axes[4].axison
    assert [axes[0].get_ylabel(), axes[3].get_ylabel()] == ["r1", "r2"]
    assert axes[1].images[0].get_clim() == (0, 255)  # uint8 grey is drawn on 0..255
    np.testing.assert_allclose(fig.get_size_inches(), [3 * 1.1, 2 * (1.1 + 0.11)])


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_save_figure_writes_the_same_bytes_twice(tmp_path, fmt, monkeypatch):
    """No date, no version and no random SVG id: two saves of one figure, a second apart,
    are the same file; saving leaves the caller's rcParams as they were."""
    import time

    import matplotlib as mpl
    from matplotlib.figure import Figure

    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    fig = Figure(figsize=(1, 1))
    fig.add_subplot().imshow(np.arange(16.0).reshape(4, 4))  # an image: SVG hashes its id
    salt = mpl.rcParams["svg.hashsalt"]
    first = save_figure(fig, tmp_path / f"a.{fmt}").read_bytes()
    time.sleep(1.1)  # a date to the second would differ
    second = save_figure(fig, tmp_path / f"b.{fmt}").read_bytes()
    assert first == second
    assert b"Matplotlib" not in first and b"matplotlib.org" not in first
    assert mpl.rcParams["svg.hashsalt"] == salt
    if fmt == "svg":
        assert b"<dc:date>" not in first and b'id="image' in first
    if fmt == "pdf":
        assert b"/CreationDate" not in first
