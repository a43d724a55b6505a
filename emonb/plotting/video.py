"""Video and HOG (chapter 07): class probabilities over time and gradient-orientation
histograms per emotion."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

__all__ = [
    "plot_orientation_histograms",
    "plot_timeline",
]


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
