"""Video and HOG (chapter 07): class probabilities and action-unit evidence over time, and
gradient-orientation histograms per emotion."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

__all__ = [
    "plot_au_timeline",
    "plot_orientation_histograms",
    "plot_timeline",
]

#: The AU timeline's colour scale: log2 enrichment clipped to +-this (1/8 to 8 times).
AU_LOG2_LIMIT = 3.0


def plot_timeline(times: np.ndarray, proba: np.ndarray, labels: np.ndarray,
                  class_names: Sequence[str], ax: Axes | None = None, *,
                  title: str = "class probabilities of the tracked face (top band: smoothed label)",
                  ) -> Axes:  # fmt: skip
    """One line per class probability over time; the band on top shows ``labels`` (the
    smoothed label, or any label per time), in the colour of its class."""
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
    ax.set_title(title, fontsize=9)
    return ax


def _label_runs(labels: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of equal labels."""
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]]) if len(labels) else []
    return list(zip(starts, [*starts[1:], len(labels)], strict=True))


def plot_au_timeline(result, ax: Axes | None = None, track: int | None = None) -> Axes:
    """Action-unit evidence over time for one track of a
    :class:`~emonb.video.result.VideoResult` (default its main track): a heatmap of each
    AU region's enrichment (rows, :data:`~emonb.anatomy.regions.AU_NAMES`) per frame, on a
    log2 scale centred at 1 (red: more evidence than the region's area share, blue: less;
    clipped to 1/8-8), grey where the face was not analysed or missing; the strip above is
    the smoothed emotion label, coloured as in :func:`plot_timeline`."""
    times, names, values = result.au_timeline(track)
    labels = result.timeline(track)[2]
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 4.2))
    if result.source_fps > 0:  # one column per frame, missing frames left grey
        step = 1.0 / result.source_fps
    else:  # a camera: frames are timed by the clock
        step = float(np.median(np.diff(times))) if len(times) > 1 else 1.0
    t0 = float(times[0]) if len(times) else 0.0
    cols = np.rint((times - t0) / step).astype(int) if len(times) else np.zeros(0, int)
    grid = np.full((len(names), (cols.max() + 1) if len(cols) else 1), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        grid[:, cols] = np.log2(np.clip(values, 2.0**-AU_LOG2_LIMIT, None)).T
    cmap = plt.get_cmap("RdBu_r").with_extremes(bad="0.85")
    lo, hi = t0 - step / 2, t0 + (grid.shape[1] - 0.5) * step
    im = ax.imshow(np.ma.masked_invalid(grid), aspect="auto", cmap=cmap, interpolation="nearest",
                   vmin=-AU_LOG2_LIMIT, vmax=AU_LOG2_LIMIT,
                   extent=(lo, hi, len(names) - 0.5, -0.5))  # fmt: skip
    ax.set_yticks(np.arange(len(names)), list(names), fontsize=7)
    ax.set_xlabel("time (s)")
    ticks = np.arange(-AU_LOG2_LIMIT, AU_LOG2_LIMIT + 1)
    bar = ax.figure.colorbar(im, ax=ax, ticks=ticks, fraction=0.04, pad=0.02, extend="both")
    bar.ax.set_yticklabels([f"1/{2 ** -int(k)}" if k < 0 else f"{2 ** int(k)}" for k in ticks])
    bar.set_label("enrichment (map share / area share)", fontsize=8)
    strip = ax.inset_axes((0, 1.02, 1, 0.07), sharex=ax)
    colours = plt.get_cmap("tab10").colors
    for a, b in _label_runs(labels):
        x0, x1 = times[a] - step / 2, times[b - 1] + step / 2
        strip.axvspan(x0, x1, lw=0, color=colours[int(labels[a]) % 10])
        if x1 - x0 > 0.08 * (hi - lo):
            strip.text((x0 + x1) / 2, 0.5, result.class_names[int(labels[a])], ha="center",
                       va="center", fontsize=7, color="white")  # fmt: skip
    strip.set_ylim(0, 1)
    strip.set_xlim(lo, hi)
    strip.set_yticks([])
    strip.tick_params(labelbottom=False, bottom=False)
    strip.set_title("the map of the shown label per AU region, for its size (strip: smoothed "
                    "label)", fontsize=9)  # fmt: skip
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
