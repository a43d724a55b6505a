"""Training and evaluation (chapters 01, 02 and 90): training histories, per-epoch curves,
the confusion matrix and the speed benchmark."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = [
    "plot_benchmark",
    "plot_confusion",
    "plot_epoch_curves",
    "plot_training_history",
]


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
                   title: str | None = None, colorbar: bool = True) -> Axes:  # fmt: skip
    """A row-normalised confusion matrix (rows: true class) with the share in each cell,
    on a fixed 0-1 colour scale, with a colour bar unless ``colorbar=False``."""
    cm = np.asarray(matrix, dtype=np.float64)
    names = (
        list(class_names)
        if class_names is not None
        else list(getattr(matrix, "index", range(len(cm))))
    )
    share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1e-12)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 3.8))
    im = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    if colorbar:
        bar = ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        bar.set_label("share of the true class", fontsize=8)
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
