"""Faces as anatomy (:mod:`emonb.anatomy`, chapter 09): the face mesh, the FACS action-unit
and anatomical regions drawn on faces (either map of action units, overlapping regions
outlined: :func:`plot_au_map`), emotion x action-unit evidence heatmaps with the EMFACS
prototypes outlined, and the FACS agreement scores."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import TwoSlopeNorm
from matplotlib.patches import Patch, Rectangle

from emonb.plotting.images import _show

__all__ = ["heatmap_span", "plot_agreement", "plot_au_heatmap", "plot_au_map", "plot_mesh", "plot_regions"]


def plot_mesh(image: np.ndarray, xy: np.ndarray, ax: Axes | None = None, *,
              title: str | None = None, accepted: bool = True, size: float = 1.5) -> Axes:  # fmt: skip
    """A face with its 468 mesh points ``xy`` (468, 2) in the image's pixels; a rejected
    face's points are drawn in red, for inspection only."""
    if ax is None:
        _, ax = plt.subplots(figsize=(3, 3))
    _show(ax, image, title, cmap="gray")
    ax.scatter(xy[:, 0] - 0.5, xy[:, 1] - 0.5, s=size, lw=0,
               c="lime" if accepted else "red")  # fmt: skip
    ax.set_xlim(-0.5, image.shape[1] - 0.5)
    ax.set_ylim(image.shape[0] - 0.5, -0.5)
    return ax


def plot_regions(image: np.ndarray, labels: np.ndarray, names: Sequence[str], ax: Axes | None = None,
                 *, title: str | None = None, alpha: float = 0.5, text: bool = True,
                 cmap: str = "tab20") -> Axes:  # fmt: skip
    """Disjoint regions over a face: ``labels`` (H, W) at the image's size, each pixel's
    region index into ``names`` or -1 (:func:`emonb.anatomy.regions.label_image`), each
    region in its own colour; ``text`` writes each region's name at its centre."""
    if ax is None:
        _, ax = plt.subplots(figsize=(3.5, 3.5))
    _show(ax, image, title, cmap="gray")
    labels = np.asarray(labels)
    covered = labels >= 0
    colours = plt.get_cmap(cmap)(np.arange(len(names)) % 20)
    rgba = np.zeros((*labels.shape, 4), np.float32)
    rgba[covered] = colours[labels[covered]]
    rgba[covered, 3] = alpha
    ax.imshow(rgba, interpolation="nearest")
    if text:
        for r, name in enumerate(names):
            ys, xs = np.nonzero(labels == r)
            if len(xs):
                ax.text(np.median(xs), np.median(ys), name.replace("AU", ""), ha="center",
                        va="center", fontsize=6, color="black")  # fmt: skip
    return ax


def plot_au_map(image: np.ndarray, xy: np.ndarray, au_map: str = "appearance",
                ax: Axes | None = None, *, aus: Sequence[str] | None = None,
                title: str | None = None, alpha: float = 0.2, legend: bool = True,
                supersample: int = 4) -> Axes:  # fmt: skip
    """A map of action-unit regions on a face: ``xy`` (468, 2) the face's mesh points in the
    image's pixels; ``au_map`` ``"appearance"`` (regions that overlap) or ``"muscle"``
    (:mod:`emonb.anatomy.au_maps`); ``aus``: the action units to draw (default: all). Each
    region is filled with its colour at ``alpha`` (overlaps blend) and outlined where half a
    pixel is inside it; ``legend`` names each action unit (FACS name from
    :data:`emonb.anatomy.appearance.APPEARANCE`)."""
    from emonb.anatomy.appearance import APPEARANCE
    from emonb.anatomy.au_maps import au_masks_for, au_names

    image = np.asarray(image)
    h, w = image.shape[:2]
    names = au_names(au_map)
    chosen = list(names) if aus is None else list(aus)
    unknown = [a for a in chosen if a not in names]
    if unknown:
        raise ValueError(f"{', '.join(unknown)} not in the {au_map} map ({', '.join(names)})")
    masks = au_masks_for(np.asarray(xy, np.float64)[None, :, :2], (h, w), (h, w), au_map,
                         supersample=supersample)[0]  # fmt: skip
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4.5))
    _show(ax, image, title, cmap="gray")
    colours = np.vstack([plt.get_cmap("tab20")(np.arange(20)),
                         plt.get_cmap("tab20b")(np.arange(20))])  # fmt: skip
    handles = []
    for name in chosen:
        r = names.index(name)
        colour = colours[r % len(colours)]
        layer = np.zeros((h, w, 4), np.float32)
        layer[..., :3] = colour[:3]
        layer[..., 3] = alpha * masks[r]
        ax.imshow(layer, interpolation="nearest")
        if masks[r].max() > 0.5:
            ax.contour(masks[r], levels=[0.5], colors=[colour], linewidths=0.8)
        handles.append(Patch(facecolor=colour, edgecolor=colour,
                             label=f"{name} {APPEARANCE[name].action}"))  # fmt: skip
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    if legend and handles:
        ax.legend(handles=handles, fontsize=5, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  frameon=False)  # fmt: skip
    return ax


def heatmap_span(tables, centre: float = 1.0) -> float:
    """The largest distance from ``centre`` of any finite value in ``tables`` (DataFrames or
    arrays): pass it as ``vmax`` to :func:`plot_au_heatmap` so that heatmaps compared in one
    figure share one colour scale (1.0 when there is no finite value)."""
    spans = [np.abs(v[np.isfinite(v)] - centre).max() for t in tables
             if (v := np.asarray(t, dtype=float)).size and np.isfinite(v).any()]  # fmt: skip
    return max(float(max(spans)), 1e-6) if spans else 1.0


def plot_au_heatmap(table, ax: Axes | None = None, *, prototypes: Mapping[str, Sequence[str]] | None = None,
                    title: str | None = None, centre: float = 1.0, vmax: float | None = None,
                    colorbar: bool = True, label: str = "enrichment") -> Axes:  # fmt: skip
    """Emotion (rows) x action unit (columns) evidence, ``table`` a DataFrame of means
    (:func:`emonb.metrics.facs.au_wide`), coloured on a diverging scale centred on
    ``centre`` (1 for enrichment: no more evidence than the region's area; 0 for occlusion
    drops), from ``centre - vmax`` to ``centre + vmax`` (``vmax`` None: this table's largest
    distance from ``centre``; :func:`heatmap_span` gives one for several tables); the cells
    of each emotion's EMFACS prototype (``prototypes``) are outlined."""
    values = table.to_numpy(dtype=float)
    if ax is None:
        _, ax = plt.subplots(figsize=(0.36 * values.shape[1] + 1.6, 0.32 * values.shape[0] + 1.0))
    finite = values[np.isfinite(values)]
    span = vmax if vmax is not None else (np.abs(finite - centre).max() if finite.size else 1.0)
    span = max(float(span), 1e-6)
    norm = TwoSlopeNorm(vcenter=centre, vmin=centre - span, vmax=centre + span)
    im = ax.imshow(np.ma.masked_invalid(values), cmap="RdBu_r", norm=norm, aspect="auto")
    cols, rows = list(table.columns), list(table.index)
    ax.set_xticks(range(len(cols)), labels=[c.replace("AU", "") for c in cols], fontsize=7)
    ax.set_yticks(range(len(rows)), labels=rows, fontsize=8)
    ax.set_xlabel("action unit (FACS)", fontsize=8)
    for i, emotion in enumerate(rows):
        for au in (prototypes or {}).get(emotion, ()):
            if au in cols:
                ax.add_patch(Rectangle((cols.index(au) - 0.5, i - 0.5), 1, 1, fill=False,
                                       ec="black", lw=1.3))  # fmt: skip
    if title:
        ax.set_title(title, fontsize=9)
    if colorbar:
        bar = ax.figure.colorbar(im, ax=ax, fraction=0.03, pad=0.02)
        bar.set_label(label, fontsize=7)
        bar.ax.tick_params(labelsize=6)
    return ax


def plot_agreement(agreement, ax: Axes | None = None, *, by: str = "evidence",
                   title: str | None = None) -> Axes:  # fmt: skip
    """FACS agreement per emotion (:func:`emonb.metrics.facs.agreement` rows, one series
    per value of column ``by``): the score with its 95% interval; 0.5 (dashed) is what a
    region ranking unrelated to the EMFACS prototype gives."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.0))
    emotions = list(dict.fromkeys(agreement["emotion"]))
    series = list(dict.fromkeys(agreement[by])) if by in agreement else [None]
    width = 0.8 / max(len(series), 1)
    for k, s in enumerate(series):
        rows = agreement if s is None else agreement[agreement[by] == s]
        pos = {e: i for i, e in enumerate(emotions)}
        y = np.array([pos[e] for e in rows["emotion"]]) + (k - (len(series) - 1) / 2) * width
        mean = rows["score"].to_numpy(float)
        err = np.vstack([mean - rows["lo"].to_numpy(float), rows["hi"].to_numpy(float) - mean])
        ax.errorbar(mean, y, xerr=np.nan_to_num(err), fmt="o", ms=4, capsize=2, label=s)
    ax.axvline(0.5, color="0.5", ls="--", lw=0.8)
    ax.set_xlim(0, 1)
    ax.set_yticks(range(len(emotions)), labels=emotions, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("FACS agreement: P(prototype AU ranks above another AU)", fontsize=8)
    if series != [None]:
        ax.legend(fontsize=7, loc="lower right", frameon=False)
    if title:
        ax.set_title(title, fontsize=9)
    return ax
