"""Figures: helpers take ``ax=None`` (or build their own Figure) and return it.

The library never calls ``plt.show()`` and writes files only through :func:`save_figure`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from emonb import _figures
from emonb.faces import Box

__all__ = [
    "overlay",
    "plot_face_regions",
    "plot_perturbation_curves",
    "plot_randomization",
    "plot_randomization_similarity",
    "plot_ranking",
    "plot_region_importance",
    "plot_timeline",
    "plot_activation_histograms",
    "plot_benchmark",
    "plot_boxes",
    "plot_face_predictions",
    "plot_class_samples",
    "plot_confusion",
    "plot_epoch_curves",
    "plot_feature_maps",
    "plot_figure1",
    "plot_maps",
    "plot_orientation_histograms",
    "plot_filters",
    "plot_image_grid",
    "plot_layer_heatmaps",
    "plot_preprocessing_steps",
    "plot_probabilities",
    "plot_training_history",
    "save_figure",
]

DPI = _figures.DPI  # one resolution for every saved figure


def save_figure(fig: Figure, path: str | os.PathLike[str], dpi: int = DPI) -> Path:
    """Save ``fig`` at ``dpi`` (300 by default), creating the folder; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
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


def plot_class_samples(images: np.ndarray, labels: np.ndarray, class_names: Sequence[str],
                       per_class: int = 8, seed: int = 0) -> Figure:  # fmt: skip
    """A grid with one row per class and ``per_class`` seeded random faces of it."""
    rng = np.random.default_rng(seed)
    rows, names = [], []
    for code, name in enumerate(class_names):
        idx = np.flatnonzero(labels == code)
        pick = (
            np.sort(rng.choice(idx, size=min(per_class, idx.size), replace=False))
            if idx.size
            else []
        )
        row = [images[i] for i in pick] + [np.full_like(images[0], 255)] * (per_class - len(pick))
        rows.extend(row)
        names.append(f"{name} ({idx.size})")
    return plot_image_grid(rows, ncols=per_class, row_labels=names)


def plot_preprocessing_steps(steps: Sequence[tuple[str, np.ndarray]],
                             value_range: tuple[float, float] | None = None) -> Figure:  # fmt: skip
    """One panel per preprocessing stage (see ``preprocessing_steps``); the last, the model
    input, is drawn over ``value_range`` (e.g. ``spec.value_range``) with a colour bar."""
    fig, axes = plt.subplots(1, len(steps), figsize=(2.3 * len(steps), 2.6), squeeze=False)
    for i, (ax, (title, image)) in enumerate(zip(axes[0], steps, strict=True)):
        last = i == len(steps) - 1 and value_range is not None
        _show(
            ax, image, title, **({"vmin": value_range[0], "vmax": value_range[1]} if last else {})
        )
    last = axes[0, -1].images[-1]
    fig.colorbar(last, ax=axes[0, -1], fraction=0.046, pad=0.04)
    fig.tight_layout()
    return fig


def plot_probabilities(proba: np.ndarray, class_names: Sequence[str], ax: Axes | None = None,
                       title: str | None = None) -> Axes:  # fmt: skip
    """Horizontal bar chart of one image's class probabilities; the top class highlighted."""
    if ax is None:
        _, ax = plt.subplots(figsize=(3.2, 2.4))
    proba = np.asarray(proba, dtype=float)
    colors = ["tab:orange" if i == proba.argmax() else "tab:blue" for i in range(proba.size)]
    ax.barh(range(proba.size), proba, color=colors)
    ax.set_yticks(range(proba.size), labels=list(class_names), fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("probability", fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def plot_boxes(image: np.ndarray, boxes: Sequence[Box], labels: Sequence[str] | None = None,
               ax: Axes | None = None) -> Axes:  # fmt: skip
    """The image with face boxes (and optional labels) drawn on it."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    _show(ax, image)
    for i, b in enumerate(boxes):
        ax.add_patch(plt.Rectangle((b.x, b.y), b.w, b.h, fill=False, color="lime", lw=1.5))
        if labels:
            ax.text(b.x, b.y - 4, labels[i], color="lime", fontsize=8, va="bottom",
                    bbox={"facecolor": "black", "alpha": 0.5, "pad": 1, "lw": 0})  # fmt: skip
    return ax


def plot_face_predictions(
    photos: Mapping[str, np.ndarray], results: Mapping[str, Sequence]
) -> Figure:
    """Per photo: the image with labelled face boxes, and the largest face's probabilities.

    ``results[name]`` is the list of :class:`emonb.predict.FacePrediction` for ``photos[name]``.
    """
    names = list(photos)
    fig, axes = plt.subplots(2, len(names), figsize=(3.4 * len(names), 6.2), squeeze=False)
    for col, name in enumerate(names):
        preds = [p for p in results[name] if p.box is not None]
        labels = [f"{p.emotion} {p.score:.2f}" for p in preds]
        plot_boxes(photos[name], [p.box for p in preds], labels, ax=axes[0, col])
        axes[0, col].set_title(name, fontsize=9)
        if results[name]:
            first = results[name][0]
            plot_probabilities(first.proba, first.class_names, ax=axes[1, col],
                               title="largest face" if first.box is not None else "whole image")  # fmt: skip
        else:
            axes[1, col].axis("off")
            axes[1, col].set_title("no face found", fontsize=9)
    fig.tight_layout()
    return fig


# --- activations: overlays, feature maps, filters, per-class histograms -----------------


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


@lru_cache(maxsize=16)
def _colour_lut(cmap: str) -> np.ndarray:
    """A colormap's 256 RGB entries scaled to 0..255, float32 (256, 3)."""
    from matplotlib import colormaps

    return colormaps[cmap](np.arange(256))[:, :3].astype(np.float32) * 255.0


def _heat_colours(heatmap: np.ndarray, size: tuple[int, int], cmap: str = "jet",
                  bgr: bool = False) -> np.ndarray:  # fmt: skip
    """A heatmap in [0, 1] (NaN counts as 0) resized bicubically to ``size`` = (H, W) and
    coloured: float32 (H, W, 3) in 0..255, RGB or (``bgr``, for OpenCV frames) BGR
    (``overlay``'s colours; the video overlay's too)."""
    import cv2

    heat = np.nan_to_num(np.asarray(heatmap, dtype=np.float32))
    if heat.ndim != 2:
        raise ValueError(f"expected a 2-D heatmap, got shape {heat.shape}")
    h, w = size
    if heat.shape != (h, w):
        heat = cv2.resize(heat, (w, h), interpolation=cv2.INTER_CUBIC)
    lut = _colour_lut(cmap)
    return (lut[:, ::-1] if bgr else lut)[_lut_index(heat)]  # flip the LUT, not the image


def _lut_index(heat: np.ndarray) -> np.ndarray:
    """The LUT entry matplotlib's ``Colormap.__call__`` picks for values in [0, 1]: the same
    colours as ``colormaps[cmap](heat)``, about ten times faster (video overlays)."""
    return np.minimum((np.clip(heat, 0.0, 1.0) * np.float32(256)).astype(np.intp), 255)


def _grid_axes(n: int, ncols: int, size: float, extra_h: float = 0.0):
    ncols = max(1, min(ncols, n))
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(ncols * size, nrows * size + extra_h), squeeze=False
    )
    for ax in axes.flat[n:]:
        ax.axis("off")
    return fig, axes


def plot_feature_maps(
    act_one_image: np.ndarray,
    channels: Sequence[int] | None = None,
    ncols: int = 8,
    title: str | None = None,
    *,
    cmap: str = "viridis",
    size: float = 1.1,
) -> Figure:
    """The feature maps of one image, one panel per channel titled with its index.

    Each map is min-max normalised on its own (see :func:`emonb.activations.feature_grid`);
    ``act_one_image`` is (h, w, c); ``channels`` picks and orders them (default: all).
    """
    from emonb.activations import _check_channels

    act = np.asarray(act_one_image, dtype=np.float32)
    if act.ndim != 3:
        raise ValueError(f"expected one image's (h, w, c) activation, got shape {act.shape}")
    chans = _check_channels(channels, act.shape[2])
    fig, axes = _grid_axes(len(chans), ncols, size, extra_h=0.3 if title else 0.0)
    for ax, c in zip(axes.flat, chans, strict=False):
        fmap = act[:, :, c]
        lo, hi = float(fmap.min()), float(fmap.max())
        _show(ax, fmap, f"#{c}", cmap=cmap, vmin=lo, vmax=hi if hi > lo else lo + 1.0)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
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
        fig.colorbar(im, ax=list(axes.flat), fraction=0.03, pad=0.02)
    return fig


def plot_layer_heatmaps(
    image: np.ndarray,
    heatmaps: Mapping[str, np.ndarray],
    ncols: int = 4,
    *,
    alpha: float = 0.5,
    cmap: str = "jet",
    size: float = 1.8,
) -> Figure:
    """Each layer's heatmap over the grey face (:func:`overlay`), titled with the layer name.

    ``heatmaps`` maps layer name -> (H, W) in [0, 1] (e.g. one row of
    :func:`emonb.activations.layer_heatmap`); they are resized to the image if needed.
    """
    from emonb.data.images import to_grey

    if not heatmaps:
        raise ValueError("no heatmaps to plot")
    grey = to_grey(np.asarray(image))
    fig, axes = _grid_axes(len(heatmaps), ncols, size)
    for ax, (name, heat) in zip(axes.flat, heatmaps.items(), strict=False):
        _show(ax, overlay(grey, heat, alpha=alpha, cmap=cmap), name)
    fig.tight_layout()
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


def plot_benchmark(result: Mapping, ax: Axes | None = None) -> Axes:
    """Images per second per method (log scale), emonb and tf-keras-vis side by side."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.32 * len(result["rows"]) + 1.2))
    rows = result["rows"]
    labels = [r["method"] + (f" @ {r['layer']}" if r.get("layer") else "") for r in rows]
    y = np.arange(len(rows))
    ax.barh(
        y - 0.2, [r["emonb_img_s"] for r in rows], height=0.4, label="emonb", color="tab:orange"
    )
    ax.barh(
        y + 0.2,
        [r.get("tkv_img_s", 0) or 0 for r in rows],
        height=0.4,
        label="tf-keras-vis",
        color="tab:blue",
    )
    ax.set_yticks(y, labels=labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel(f"images per second (batch {result['batch']}, log scale)", fontsize=8)
    ax.legend(fontsize=8, loc="lower right")
    return ax


def plot_training_history(history: Mapping, *, title: str | None = None) -> Figure:
    """Loss, accuracy and learning rate per epoch of a training history (``train`` JSON).

    Training curves are measured on augmented, class-weighted batches with dropout on;
    validation curves on the held-out Training faces. The best epoch is marked.
    """
    recs = history["epochs"]
    ep = [r["epoch"] for r in recs]
    fig, axes = plt.subplots(1, 3, figsize=(9, 2.8))
    for ax, key, label in ((axes[0], "loss", "loss"), (axes[1], "accuracy", "accuracy")):
        ax.plot(ep, [r[key] for r in recs], label="training (augmented, weighted)")
        ax.plot(ep, [r[f"val_{key}"] for r in recs], label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
    if "val_macro_f1" in recs[0]:
        axes[1].plot(ep, [r["val_macro_f1"] for r in recs], ls="--", label="validation macro-F1")
    best = history.get("best_epoch")
    if best:
        for ax in axes[:2]:
            ax.axvline(best, color="0.5", lw=0.8, ls=":")
    axes[1].legend(fontsize=7, loc="lower right")
    axes[2].semilogy(ep, [r["lr"] for r in recs], drawstyle="steps-post", color="C2")
    axes[2].set_xlabel("epoch")
    axes[2].set_ylabel("learning rate")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_epoch_curves(runs: Mapping[str, Mapping], key: str = "test_accuracy",
                      ax: Axes | None = None, *, target: float | None = None) -> Axes:  # fmt: skip
    """One curve per run of a per-epoch quantity (e.g. PublicTest accuracy of the GPU study)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.2))
    for name, run in runs.items():
        recs = run["epochs"]
        ax.plot([r["epoch"] for r in recs], [r[key] for r in recs], label=name, lw=1.2)
    if target is not None:
        ax.axhline(target, color="0.4", ls="--", lw=0.8)
    ax.set_xlabel("epoch")
    ax.set_ylabel(key.replace("_", " "))
    ax.legend(fontsize=7)
    return ax


def plot_confusion(matrix, class_names: Sequence[str] | None = None, ax: Axes | None = None, *,
                   title: str | None = None) -> Axes:  # fmt: skip
    """A row-normalised confusion matrix (rows: true class) with the share in each cell."""
    cm = np.asarray(matrix, dtype=np.float64)
    names = (
        list(class_names)
        if class_names is not None
        else list(getattr(matrix, "index", range(len(cm))))
    )
    share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1e-12)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 3.8))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(names)):
        for j in range(len(names)):
            ax.text(j, i, f"{share[i, j]:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if share[i, j] > 0.5 else "black")  # fmt: skip
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title, fontsize=9)
    return ax


# ---- faithfulness (emonb.faithfulness, chapter 08) -----------------------------------------
#: The model-free reference maps (emonb.faithfulness.REFERENCES), drawn in grey.
_REFERENCE_MAPS = ("random", "centre")


def _curve_style(method: str) -> dict:
    return {"ls": "--", "color": "0.5"} if method in _REFERENCE_MAPS else {}


def plot_ranking(table, ax: Axes | None = None, *, column: str = "insertion - deletion") -> Axes:
    """A forest plot of the ranked methods: ``column`` with its ``lo``-``hi`` interval."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.3 * len(table) + 1.0))
    y = np.arange(len(table))
    mean = table[column].to_numpy(dtype=float)
    err = np.vstack([mean - table["lo"].to_numpy(float), table["hi"].to_numpy(float) - mean])
    for k, m in enumerate(table.index):
        color = "0.55" if m in _REFERENCE_MAPS else "tab:blue"
        ax.errorbar(mean[k], y[k], xerr=err[:, k : k + 1], fmt="o", ms=4, color=color,
                    elinewidth=1.5, capsize=2)  # fmt: skip
    ax.set_yticks(y, labels=list(table.index), fontsize=8)
    ax.invert_yaxis()
    ax.axvline(0, color="0.7", lw=0.8)
    ax.set_xlabel(f"{column} AUC (95% bootstrap interval; grey: model-free references)", fontsize=8)
    return ax


def plot_perturbation_curves(curves: Mapping, mode: str = "deletion", ax: Axes | None = None,
                             *, methods: Sequence[str] | None = None) -> Axes:  # fmt: skip
    """Mean deletion or insertion curve per method (``{method: {mode: Curves}}``)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 3.2))
    for m in methods or list(curves):
        c = curves[m][mode]
        ax.plot(c.fractions, c.scores.mean(axis=0), label=m, lw=1.2, **_curve_style(m))
    ax.set_xlabel(f"fraction of pixels {'removed' if mode == 'deletion' else 'restored'}")
    ax.set_ylabel("target-class probability")
    ax.set_title(mode, fontsize=9)
    ax.legend(fontsize=6, ncols=2)
    return ax


def plot_randomization(face: np.ndarray, randomization, methods: Sequence[str] | None = None, *,
                       index: int = 0, size: float = 1.2) -> Figure:  # fmt: skip
    """The Adebayo et al. figure: one row per method, one column per cascading stage (the
    trained model first, then the layers re-drawn from the top down), maps of one face."""
    methods = list(methods or randomization.maps)
    stages = randomization.stages
    fig, axes = plt.subplots(len(methods), len(stages), squeeze=False,
                             figsize=(size * len(stages), size * len(methods) + 0.4))  # fmt: skip
    for r, m in enumerate(methods):
        for c, stage in enumerate(stages):
            ax = axes[r, c]
            _show(ax, overlay(face, randomization.maps[m][c][index], alpha=0.6))
            if r == 0:
                label = "trained" if stage == "none" else "+ " + stage.replace("separable_", "sep")
                ax.set_title(label, fontsize=6)
            if c == 0:
                ax.text(-0.08, 0.5, m, transform=ax.transAxes, rotation=90, ha="right",
                        va="center", fontsize=7)  # fmt: skip
    fig.tight_layout()
    return fig


def plot_randomization_similarity(randomization, metric: str = "spearman",
                                  ax: Axes | None = None) -> Axes:  # fmt: skip
    """Mean similarity to the trained model's maps per method as layers are randomized."""
    df = getattr(randomization, metric)
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.2))
    x = np.arange(len(df))
    for m in df.columns:
        ax.plot(x, df[m].to_numpy(), marker="o", ms=3, lw=1.2, label=m, **_curve_style(m))
    ax.set_xticks(x, ["trained"] + ["+" + s.replace("separable_", "sep") for s in df.index[1:]],
                  rotation=45, ha="right", fontsize=7)  # fmt: skip
    ax.set_ylabel(f"{metric} similarity to trained")
    ax.set_xlabel("cumulative randomization, top layer first", fontsize=8)
    ax.axhline(0, color="0.8", lw=0.8)
    ax.legend(fontsize=6, ncols=2)
    return ax


def plot_region_importance(regions, measure: str, class_names: Sequence[str],
                           ax: Axes | None = None) -> Axes:  # fmt: skip
    """Grouped bars, one group per emotion, one bar per face region, with 95% intervals,
    from the long table of :func:`emonb.faithfulness.by_group` (``measure`` column value)."""
    df = regions[regions["measure"] == measure]
    cols = list(dict.fromkeys(df["column"]))
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 3.0))
    width = 0.8 / len(cols)
    for k, col in enumerate(cols):
        sub = df[df["column"] == col].set_index("group").reindex(class_names)
        x = np.arange(len(class_names)) + (k - (len(cols) - 1) / 2) * width
        mean = sub["mean"].to_numpy(float)
        err = np.vstack([mean - sub["lo"].to_numpy(float), sub["hi"].to_numpy(float) - mean])
        ax.bar(x, mean, width, yerr=np.nan_to_num(err), label=col, capsize=1.5,
               error_kw={"elinewidth": 0.8})  # fmt: skip
    n = df.drop_duplicates("group").set_index("group")["n"].reindex(class_names).fillna(0)
    ax.set_xticks(np.arange(len(class_names)),
                  [f"{c}\n(n={int(k)})" for c, k in zip(class_names, n, strict=True)], fontsize=7)  # fmt: skip
    ax.set_ylabel(measure, fontsize=8)
    ax.axhline(0, color="0.6", lw=0.8)
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi + 0.15 * (hi - lo))  # room for the legend above the tallest bar
    ax.legend(fontsize=7, ncols=len(cols), loc="upper right")
    return ax


def plot_face_regions(face: np.ndarray, masks: Mapping[str, np.ndarray],
                      ax: Axes | None = None, *, title: str | None = None) -> Axes:  # fmt: skip
    """Region masks (name -> (H, W) bool) outlined in colour on a grey face."""
    if ax is None:
        _, ax = plt.subplots(figsize=(2.6, 2.6))
    _show(ax, face, title, cmap="gray")
    for k, (name, m) in enumerate(masks.items()):
        color = plt.cm.tab10(k)
        ax.contour(np.asarray(m, float), levels=[0.5], colors=[color], linewidths=1.2)
        ys, xs = np.nonzero(m)
        ax.text(xs.max() + 0.5, ys.min() - 0.5, name, color=color, fontsize=6)
    return ax


# --- video: probabilities over time, HOG per emotion --------------------------------------


def plot_timeline(times: np.ndarray, proba: np.ndarray, labels: np.ndarray,
                  class_names: Sequence[str], ax: Axes | None = None) -> Axes:  # fmt: skip
    """One line per class probability over time; the band on top shows the smoothed label."""
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.2))
    colours = plt.get_cmap("tab10").colors
    times, proba = np.asarray(times, dtype=float), np.asarray(proba, dtype=float)
    for code, name in enumerate(class_names):
        ax.plot(times, proba[:, code], lw=1.3, color=colours[code % 10], label=name)
    labels = np.asarray(labels)
    step = float(np.median(np.diff(times))) if len(times) > 1 else 1.0
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]]) if len(labels) else []
    for a, b in zip(starts, [*starts[1:], len(labels)], strict=True):
        ax.axvspan(times[a] - step / 2, times[b - 1] + step / 2, ymin=0.94, ymax=1.0, lw=0,
                   color=colours[int(labels[a]) % 10])  # fmt: skip
    ax.set_ylim(0, 1.06)
    ax.set_xlim(times.min() if len(times) else 0, times.max() if len(times) else 1)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("probability")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)
    ax.set_title("class probabilities of the tracked face (top band: smoothed label)", fontsize=9)
    return ax


def plot_orientation_histograms(hists: Mapping[str, Mapping], ax: Axes | None = None) -> Axes:
    """Mean share of gradient energy per orientation bin, one line per emotion (with +-1
    standard deviation), from :func:`emonb.hog.emotion_histograms`."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.2))
    if not hists:
        raise ValueError("no emotions to plot")
    colours = plt.get_cmap("tab10").colors
    from emonb.config import CLASS_NAMES

    for name, h in hists.items():
        mean, std = np.asarray(h["mean"]), np.asarray(h["std"])
        centres = (np.arange(len(mean)) + 0.5) * 180.0 / len(mean)
        colour = colours[CLASS_NAMES.index(name) % 10] if name in CLASS_NAMES else None
        ax.plot(centres, mean, marker="o", ms=3, lw=1.3, color=colour, label=f"{name} ({h['n']})")
        ax.fill_between(centres, mean - std, mean + std, color=colour, alpha=0.15, lw=0)
    ax.set_xticks([0, 45, 90, 135, 180])
    ax.set_xlabel("gradient orientation (degrees; 0 = vertical edge, 90 = horizontal edge)")
    ax.set_ylabel("share of gradient energy")
    ax.legend(fontsize=8, frameon=False)
    return ax
