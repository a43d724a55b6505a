"""Images and overlays: the pure array functions and the helpers every figure shares.

:func:`overlay` blends a colour-mapped heatmap over a face and returns a uint8 RGB array
(nothing is drawn); :func:`plot_image_grid` lays images out in a grid; :func:`save_figure`
writes a Figure at :data:`DPI` (300), the same bytes each time the same figure is saved
(:mod:`emonb.plotting.stable`). The colour look-up helpers give the video overlay and
the widgets the same colours as matplotlib.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from emonb.arrays import resize_maps
from emonb.config import DPI  # one resolution for every saved figure
from emonb.plotting.colours import colour_lut, lut_index
from emonb.plotting.stable import STABLE_RC, stable_metadata

__all__ = [
    "DPI",
    "overlay",
    "plot_image_grid",
    "save_figure",
]


def save_figure(fig: Figure, path: str | os.PathLike[str], dpi: int = DPI) -> Path:
    """Save ``fig`` at ``dpi`` (300 by default), creating the folder; returns the path.

    The file holds no date and no version and its SVG ids have a fixed salt
    (:mod:`emonb.plotting.stable`): saving the same figure twice writes the same bytes.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with plt.rc_context(STABLE_RC):
        fig.savefig(path, dpi=dpi, bbox_inches="tight", metadata=stable_metadata(path.suffix))
    return path


def _show(ax: Axes, image: np.ndarray, title: str | None = None, **kwargs) -> None:
    image = np.asarray(image)
    if image.ndim == 2:
        kwargs.setdefault("cmap", "gray")
        if image.dtype == np.uint8:
            kwargs.setdefault("vmin", 0)
            kwargs.setdefault("vmax", 255)
    ax.imshow(image, **kwargs)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)


def _grid_axes(n: int, ncols: int, size: float, extra_h: float = 0.0):
    ncols = max(1, min(ncols, n))
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(ncols * size, nrows * size + extra_h), squeeze=False
    )
    for ax in axes.flat[n:]:
        ax.axis("off")
    return fig, axes


def plot_image_grid(
    images: Sequence[np.ndarray] | np.ndarray,
    titles: Sequence[str] | None = None,
    ncols: int = 8,
    *,
    row_labels: Sequence[str] | None = None,
    size: float = 1.1,
    aspect: float = 1.0,
) -> Figure:
    """Images in a grid, ``ncols`` per row, each cell ``size`` inches wide and ``aspect``
    times as high (9/16 for video frames); optional titles and row labels."""
    n = len(images)
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(ncols * size, nrows * (size * aspect + 0.1 * size)), squeeze=False
    )
    for i, ax in enumerate(axes.flat):
        if i < n:
            _show(ax, images[i], titles[i] if titles else None)
        else:
            ax.axis("off")
    if row_labels:
        for r, label in enumerate(row_labels[:nrows]):
            axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    fig.tight_layout()
    return fig


def overlay(
    image: np.ndarray, heatmap: np.ndarray, alpha: float = 0.5, cmap: str = "jet"
) -> np.ndarray:
    """Blend a colour-mapped heatmap over an image; a pure function (like pytorch-grad-cam's
    ``show_cam_on_image``).

    Parameters
    ----------
    image : ndarray (H, W), (H, W, 1), (H, W, 3) or (H, W, 4)
        Grey or RGB(A) image, uint8 (0..255) or float in [0, 1]. Alpha is dropped.
    heatmap : ndarray (h, w)
        Values in [0, 1] (clipped; NaN counts as 0); resized bicubically to (H, W) if needed.
    alpha : float in [0, 1]
        Weight of the heatmap: 0 returns the image (grey replicated to RGB), 1 the heatmap.
    cmap : str
        A matplotlib colormap name.

    Returns
    -------
    ndarray (H, W, 3) uint8
        ``round((1 - alpha) * image + alpha * cmap(heatmap))`` in 0..255.
    """
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[..., :3]
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected a grey or RGB image, got shape {np.shape(image)}")
    if img.dtype == np.uint8 or np.issubdtype(img.dtype, np.integer):
        if img.size and (img.min() < 0 or img.max() > 255):
            raise ValueError(f"integer images must lie in 0..255, got {img.min()}..{img.max()}")
        rgb = img.astype(np.float32)
    elif np.issubdtype(img.dtype, np.floating):
        if img.size and (np.nanmin(img) < -1e-6 or np.nanmax(img) > 1 + 1e-6):
            raise ValueError(
                f"float images must lie in [0, 1], got {np.nanmin(img):.3g}..{np.nanmax(img):.3g}"
            )
        rgb = np.clip(img.astype(np.float32), 0.0, 1.0) * 255.0
    else:
        raise ValueError(f"unsupported image dtype {img.dtype}")
    colour = _heat_colours(heatmap, rgb.shape[:2], cmap)
    out = (1.0 - float(alpha)) * rgb + float(alpha) * colour
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _heat_colours(heatmap: np.ndarray, size: tuple[int, int], cmap: str = "jet",
                  bgr: bool = False) -> np.ndarray:  # fmt: skip
    """A heatmap in [0, 1] (NaN counts as 0) resized bicubically to ``size`` = (H, W) and
    coloured: float32 (H, W, 3) in 0..255, RGB or (``bgr``, for OpenCV frames) BGR
    (``overlay``'s colours; the video overlay's too)."""
    heat = np.nan_to_num(np.asarray(heatmap, dtype=np.float32))
    if heat.ndim != 2:
        raise ValueError(f"expected a 2-D heatmap, got shape {heat.shape}")
    heat = resize_maps(heat[None], size, interpolation=cv2.INTER_CUBIC)[0]
    lut = colour_lut(cmap)
    return (lut[:, ::-1] if bgr else lut)[lut_index(heat)]  # flip the LUT, not the image
