"""What the layers compute (chapter 03): feature maps, first-layer filters, per-layer
heatmaps over the face and per-class activation histograms (from :mod:`emonb.activations`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from emonb.plotting.images import _grid_axes, _show, overlay

__all__ = [
    "plot_activation_histograms",
    "plot_feature_maps",
    "plot_filters",
    "plot_layer_heatmap_rows",
    "plot_layer_heatmaps",
]


def plot_feature_maps(
    act_one_image: np.ndarray,
    channels: Sequence[int] | None = None,
    ncols: int = 8,
    title: str | None = None,
    *,
    cmap: str = "viridis",
    size: float = 1.1,
    scale: str = "shared",
) -> Figure:
    """The feature maps of one image, one panel per channel titled with its index.

    ``scale="shared"`` (default) draws every panel on one colour scale, from the smallest to
    the largest value of the maps shown, with one colour bar (the activation); ``"each"``
    min-max normalises each map on its own (see :func:`emonb.activations.feature_grid`) and
    draws no colour bar. ``act_one_image`` is (h, w, c); ``channels`` picks and orders them
    (default: all).
    """
    from emonb.activations import _check_channels

    if scale not in ("shared", "each"):
        raise ValueError(f"scale must be 'shared' or 'each', got {scale!r}")
    act = np.asarray(act_one_image, dtype=np.float32)
    if act.ndim != 3:
        raise ValueError(f"expected one image's (h, w, c) activation, got shape {act.shape}")
    chans = _check_channels(channels, act.shape[2])
    fig, axes = _grid_axes(len(chans), ncols, size, extra_h=0.3 if title else 0.0)
    shown = act[:, :, list(chans)]
    glo, ghi = float(shown.min()), float(shown.max())
    im = None
    for ax, c in zip(axes.flat, chans, strict=False):
        fmap = act[:, :, c]
        lo, hi = (glo, ghi) if scale == "shared" else (float(fmap.min()), float(fmap.max()))
        _show(ax, fmap, f"#{c}", cmap=cmap, vmin=lo, vmax=hi if hi > lo else lo + 1.0)
        im = ax.images[-1]
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    if scale == "shared" and im is not None:
        bar = fig.colorbar(im, ax=list(axes.flat), fraction=0.03, pad=0.02)
        bar.set_label("activation", fontsize=8)
    return fig


def plot_filters(filters: np.ndarray, ncols: int = 8, *, size: float = 1.0) -> Figure:
    """Convolution kernels (k, kh, kw) on one shared, zero-centred diverging colour scale.

    Red is positive, blue negative weight; panels are titled with the filter index.
    """
    filters = np.asarray(filters, dtype=np.float32)
    if filters.ndim != 3:
        raise ValueError(f"expected filters of shape (k, kh, kw), got {filters.shape}")
    lim = float(np.abs(filters).max()) if filters.size else 1.0
    lim = lim if lim > 0 else 1.0
    fig, axes = _grid_axes(len(filters), ncols, size)
    im = None
    for ax, (i, f) in zip(axes.flat, enumerate(filters), strict=False):
        _show(ax, f, f"#{i}", cmap="RdBu_r", vmin=-lim, vmax=lim)
        im = ax.images[-1]
    fig.tight_layout()
    if im is not None:
        bar = fig.colorbar(im, ax=list(axes.flat), fraction=0.03, pad=0.02)
        bar.set_label("kernel weight", fontsize=8)
    return fig


def plot_layer_heatmaps(
    image: np.ndarray,
    heatmaps: Mapping[str, np.ndarray],
    ncols: int = 4,
    *,
    alpha: float = 0.5,
    cmap: str = "jet",
    size: float = 1.8,
    label: str = "mean activation (each layer min-max scaled)",
) -> Figure:
    """Each layer's heatmap over the grey face (:func:`~emonb.plotting.images.overlay`),
    titled with the layer name, and one colour bar from 0 to 1 labelled ``label``.

    ``heatmaps`` maps layer name -> (H, W) in [0, 1] (e.g. one row of
    :func:`emonb.activations.layer_heatmap`, min-max normalised per layer); they are resized
    to the image if needed.
    """
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    from emonb.data.images import to_grey

    if not heatmaps:
        raise ValueError("no heatmaps to plot")
    grey = to_grey(np.asarray(image))
    fig, axes = _grid_axes(len(heatmaps), ncols, size)
    for ax, (name, heat) in zip(axes.flat, heatmaps.items(), strict=False):
        _show(ax, overlay(grey, heat, alpha=alpha, cmap=cmap), name)
    fig.tight_layout()
    bar = fig.colorbar(ScalarMappable(Normalize(0, 1), cmap=cmap), ax=list(axes.flat), fraction=0.03, pad=0.02)
    bar.set_label(label, fontsize=8)
    return fig


def plot_layer_heatmap_rows(
    rows: Mapping[str, tuple[np.ndarray, Mapping[str, np.ndarray]]],
    *,
    alpha: float = 0.5,
    cmap: str = "jet",
    size: float = 1.5,
    label: str = "mean activation (each layer min-max scaled)",
) -> Figure:
    """One row per model of :func:`plot_layer_heatmaps`: ``rows`` maps a row label (the
    model) to (the face as that model sees it, its layer name -> heatmap in [0, 1]); rows
    of fewer layers leave their last panels empty. One colour bar, 0 to 1."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    from emonb.data.images import to_grey

    if not rows or not all(heats for _, heats in rows.values()):
        raise ValueError("every row needs at least one heatmap")
    ncols = max(len(heats) for _, heats in rows.values())
    fig, axes = plt.subplots(len(rows), ncols, figsize=(ncols * size + 1.2, len(rows) * (size + 0.25)),
                             squeeze=False)  # fmt: skip
    for r, (name, (image, heats)) in enumerate(rows.items()):
        grey = to_grey(np.asarray(image))
        for c, ax in enumerate(axes[r]):
            if c >= len(heats):
                ax.axis("off")
                continue
            layer, heat = list(heats.items())[c]
            _show(ax, overlay(grey, heat, alpha=alpha, cmap=cmap), layer)
        axes[r, 0].set_ylabel(name, fontsize=9)
    fig.tight_layout()
    bar = fig.colorbar(ScalarMappable(Normalize(0, 1), cmap=cmap), ax=list(axes.flat), fraction=0.03, pad=0.02)
    bar.set_label(label, fontsize=8)
    return fig


def plot_activation_histograms(
    hists: Mapping[str, tuple[np.ndarray, np.ndarray]],
    class_names: Sequence[str],
    layers: Sequence[str] | None = None,
    *,
    ncols: int = 3,
    density: bool = False,
) -> Figure:
    """One panel per layer, one step line per class, of per-image mean activation.

    ``hists`` comes from :func:`emonb.activations.activation_histograms`. With
    ``density=True`` each class's counts are divided by its size, so classes of very
    different sizes (FER-2013's "disgust") compare.
    """
    names = list(hists) if layers is None else list(layers)
    missing = [n for n in names if n not in hists]
    if missing:
        raise ValueError(f"no histogram for layer(s) {', '.join(missing)}; have {', '.join(hists)}")
    if not names:
        raise ValueError("no layers to plot")
    ncols = max(1, min(ncols, len(names)))
    nrows = -(-len(names) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.3 * ncols, 2.4 * nrows), squeeze=False)
    for ax in axes.flat[len(names) :]:
        ax.axis("off")
    for ax, name in zip(axes.flat, names, strict=False):
        counts, edges = hists[name]
        counts = np.asarray(counts, dtype=float)
        if counts.shape[0] != len(class_names):
            raise ValueError(
                f"layer {name!r}: {counts.shape[0]} count rows but {len(class_names)} class names"
            )
        for code, cls in enumerate(class_names):
            row = counts[code]
            if density:
                total = row.sum()
                row = row / total if total > 0 else row
            ax.stairs(row, edges, label=cls, lw=1.2)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("mean activation per image", fontsize=8)
        ax.set_ylabel("fraction of class" if density else "images", fontsize=8)
        ax.tick_params(labelsize=7)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.tight_layout()
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8,
               frameon=False, title="class", title_fontsize=8)  # fmt: skip
    return fig
