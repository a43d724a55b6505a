"""Data and predictions (chapter 00): class samples, preprocessing stages, face boxes and
class probabilities."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from emonb.faces import Box
from emonb.plotting.images import _show, plot_image_grid

__all__ = [
    "plot_boxes",
    "plot_class_samples",
    "plot_face_predictions",
    "plot_preprocessing_steps",
    "plot_probabilities",
]


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
    input, is drawn over ``value_range`` (e.g. ``spec.value_range``) with a colour bar
    labelled "model input value"."""
    fig, axes = plt.subplots(1, len(steps), figsize=(2.3 * len(steps), 2.6), squeeze=False)
    for i, (ax, (title, image)) in enumerate(zip(axes[0], steps, strict=True)):
        last = i == len(steps) - 1 and value_range is not None
        _show(
            ax, image, title, **({"vmin": value_range[0], "vmax": value_range[1]} if last else {})
        )
    last = axes[0, -1].images[-1]
    bar = fig.colorbar(last, ax=axes[0, -1], fraction=0.046, pad=0.04)
    bar.set_label("model input value", fontsize=8)
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
            title = "largest face" if first.box is not None else "whole image"
            plot_probabilities(first.proba, first.class_names, ax=axes[1, col], title=title)
        else:
            axes[1, col].axis("off")
            axes[1, col].set_title("no face found", fontsize=9)
    fig.tight_layout()
    return fig
