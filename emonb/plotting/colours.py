"""Colour look-up: a matplotlib colormap as 256 RGB entries and the entry a value in [0, 1]
picks, as matplotlib does. The one colour scale of the figures' overlays, the video's
heatmaps and the explorers' pages."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["colour_lut", "lut_index"]


@lru_cache(maxsize=16)
def colour_lut(cmap: str) -> np.ndarray:
    """A colormap's 256 RGB entries scaled to 0..255, float32 (256, 3)."""
    from matplotlib import colormaps

    return colormaps[cmap](np.arange(256))[:, :3].astype(np.float32) * 255.0


def lut_index(heat: np.ndarray) -> np.ndarray:
    """The LUT entry matplotlib's ``Colormap.__call__`` picks for values in [0, 1]: the same
    colours as ``colormaps[cmap](heat)``, about ten times faster (video overlays): uint8,
    computed in one new array (the floor of ``256 * clip(heat, 0, 1)``, at most 255)."""
    index = np.clip(heat, 0.0, 1.0) * np.float32(256)
    return np.minimum(index, 255, out=index).astype(np.uint8)
