"""Explanation maps over the face (chapters 04 and 05): a row of maps and the seed paper's
Figure 1."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from emonb.plotting.images import _grid_axes, _show, overlay

__all__ = [
    "plot_figure1",
    "plot_maps",
]


def plot_maps(face: np.ndarray, maps: Mapping[str, np.ndarray], *, title: str | None = None,
              alpha: float = 0.5, ncols: int | None = None, size: float = 1.7,
              show_face: bool = True) -> Figure:  # fmt: skip
    """The face, then each map of ``maps`` (title -> (H, W) in [0, 1]) overlaid on it."""
    panels = ([("input", face, None)] if show_face else []) + [
        (k, face, v) for k, v in maps.items()
    ]
    ncols = ncols or len(panels)
    fig, axes = _grid_axes(len(panels), ncols, size)
    for ax, (name, img, heat) in zip(axes.flat, panels, strict=False):
        _show(ax, img if heat is None else overlay(img, heat, alpha=alpha), name)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_figure1(maps: Mapping) -> Figure:
    """The seed paper's Figure 1 from :func:`emonb.explain.figure1_maps`: row 1, the face and
    maps for the predicted emotion; row 2, one CAM per emotion; row 3, one saliency map per
    emotion."""
    face = maps["face"]
    rows = [
        [("input", face, None)]
        + [(f"{k}\n({maps['predicted']})", face, v) for k, v in maps["row1"].items()],
        [(f"CAM {k}", face, v) for k, v in maps["cams"].items()],
        [(f"saliency {k}", np.zeros_like(face), v) for k, v in maps["saliency"].items()],
    ]
    ncols = max(len(r) for r in rows)
    fig, axes = plt.subplots(3, ncols, figsize=(1.6 * ncols, 1.75 * 3), squeeze=False)
    for r, row in enumerate(rows):
        for c in range(ncols):
            ax = axes[r, c]
            if c >= len(row):
                ax.axis("off")
                continue
            name, img, heat = row[c]
            if heat is None:
                _show(ax, img, name)
            elif r == 2:
                _show(ax, heat, name, cmap="gray", vmin=0, vmax=1)
            else:
                _show(ax, overlay(img, heat, alpha=0.5), name)
    fig.tight_layout()
    return fig
