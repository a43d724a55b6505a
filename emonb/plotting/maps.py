"""Explanation maps over the face (chapters 04 and 05): rows of maps, each figure with a
colour bar, and the seed paper's Figure 1.

Two scales. ``scale="shared"``: every map of the figure on ONE scale (0 to the largest
value of any map), for maps of one quantity that are compared (one method across the
emotions, across layers or across models); pass unscaled maps (:meth:`emonb.methods.base.Explainer.explain_unscaled`).
``scale="own"``: each map min-max scaled to its own range, legitimate where the maps are
different quantities (different methods side by side); the colour bar says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from emonb.arrays import minmax
from emonb.plotting.images import _show

__all__ = [
    "OWN_SCALE_LABEL",
    "map_limits",
    "plot_figure1",
    "plot_map_rows",
    "plot_maps",
]

#: The colour bar's label where each map is scaled to its own range.
OWN_SCALE_LABEL = "each map scaled to\nits own maximum"
SHARED_SCALE_LABEL = "map value\n(one scale for every map)"
CMAP = "jet"


def map_limits(maps: Sequence[np.ndarray] | Mapping[str, np.ndarray]) -> tuple[float, float]:
    """One scale for all ``maps``: (min(0, smallest value), largest value); (0, 1) if flat."""
    values = list(maps.values()) if isinstance(maps, Mapping) else list(maps)
    if not values:
        return 0.0, 1.0
    lo = min(0.0, min(float(np.nanmin(v)) for v in values))
    hi = max(float(np.nanmax(v)) for v in values)
    return (lo, hi) if hi > lo else (lo, lo + 1.0)


def _colorbar(fig: Figure, image, axes, label: str, *, fontsize: int, shrink: float,
              aspect: float) -> None:  # fmt: skip
    """One colour bar for ``image`` beside ``axes``, opaque even where the maps are not."""
    bar = fig.colorbar(image, ax=axes, shrink=shrink, aspect=aspect, pad=0.02)
    bar.set_label(label, fontsize=fontsize)
    bar.solids.set_alpha(1)
    bar.ax.tick_params(labelsize=7)


def _title(name: str, p: float | None) -> str:
    return name if p is None else f"{name}\np = {p:.2f}"


def plot_map_rows(rows: Mapping[str, tuple[np.ndarray, Mapping[str, np.ndarray]]], *,
                  scale: str = "own", probabilities: Mapping[str, Mapping[str, float]] | None = None,
                  label: str | None = None, title: str | None = None, alpha: float = 0.5,
                  size: float = 1.7, show_face: bool = True, ncols: int | None = None) -> Figure:  # fmt: skip
    """One row per entry of ``rows`` (row label -> (face, {title: (H, W) map})): the face, then
    each map over it in ``jet`` with opacity ``alpha``, and one colour bar for the figure.

    ``scale="shared"`` draws every map of every row between the same limits
    (:func:`map_limits`); ``"own"`` min-max scales each map to [0, 1]. ``probabilities``
    (row label -> {title: p}) adds ``p = ...`` under a map's title; ``label`` is the colour
    bar's (by default it names the scale). A row longer than ``ncols`` wraps."""
    if scale not in ("own", "shared"):
        raise ValueError(f"scale must be 'own' or 'shared', not {scale!r}")
    probabilities = probabilities or {}
    panels: list[list[tuple[str, np.ndarray, np.ndarray | None]]] = []
    every = []
    for row, (face, maps) in rows.items():
        face = np.asarray(face)
        face = face[..., 0] if face.ndim == 3 and face.shape[-1] == 1 else face
        probs = probabilities.get(row, {})
        cells = [("input" if len(rows) == 1 else f"{row}\ninput", face, None)] if show_face else []
        for name, heat in maps.items():
            heat = np.asarray(heat, dtype=np.float32)
            heat = minmax(heat[None])[0] if scale == "own" else np.nan_to_num(heat)
            cells.append((_title(name, probs.get(name)), face, heat))
            every.append(heat)
        width = ncols or len(cells) or 1
        panels += [cells[i : i + width] for i in range(0, max(len(cells), 1), width)]
    vmin, vmax = (0.0, 1.0) if scale == "own" else map_limits(every)
    nrows, width = len(panels), max(len(r) for r in panels)
    fig, axes = plt.subplots(nrows, width, figsize=(width * size + 1.0, nrows * (size + 0.25)),
                             squeeze=False, layout="constrained")  # fmt: skip
    image = None
    for r, cells in enumerate(panels):
        for c in range(width):
            ax = axes[r, c]
            if c >= len(cells):
                ax.axis("off")
                continue
            name, face, heat = cells[c]
            _show(ax, face, name)
            if heat is not None:
                image = ax.imshow(heat, cmap=CMAP, alpha=alpha, vmin=vmin, vmax=vmax,
                                  extent=(-0.5, face.shape[1] - 0.5, face.shape[0] - 0.5, -0.5))  # fmt: skip
    if image is not None:
        _colorbar(fig, image, axes, label or (OWN_SCALE_LABEL if scale == "own" else SHARED_SCALE_LABEL),
                  fontsize=8, shrink=1.0 if nrows == 1 else 0.9, aspect=12 * nrows)  # fmt: skip
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def plot_maps(face: np.ndarray, maps: Mapping[str, np.ndarray], *, title: str | None = None,
              alpha: float = 0.5, ncols: int | None = None, size: float = 1.7,
              show_face: bool = True, scale: str = "own",
              probabilities: Mapping[str, float] | None = None, label: str | None = None) -> Figure:  # fmt: skip
    """The face, then each map of ``maps`` (title -> (H, W)) overlaid on it, with a colour
    bar: one row of :func:`plot_map_rows` (``probabilities``: title -> p)."""
    return plot_map_rows({"": (face, maps)}, scale=scale, title=title, alpha=alpha, ncols=ncols,
                         size=size, show_face=show_face, label=label,
                         probabilities={"": probabilities or {}})  # fmt: skip


def plot_figure1(maps: Mapping, probabilities: Mapping[str, float] | None = None, *,
                 scale: str = "own", labels: Sequence[str] = ("CAM", "|d logit / d input|")) -> Figure:  # fmt: skip
    """The seed paper's Figure 1 from :func:`emonb.explain.figure1_maps`: row 1, the face and
    maps for the predicted emotion; row 2, one CAM per emotion; row 3, one saliency map per
    emotion; one colour bar per row. Row 1's maps (different methods) are min-max scaled one
    by one. ``scale="own"`` scales rows 2-3 so too (as the paper did, and as ``figure1_maps``
    returns them); ``"shared"`` draws row 2 on one scale and row 3 on one scale (pass
    unscaled maps, :meth:`~emonb.methods.base.Explainer.explain_unscaled`; ``labels`` name their units).
    ``probabilities`` (emotion -> p) adds each emotion's probability to rows 2-3."""
    if scale not in ("own", "shared"):
        raise ValueError(f"scale must be 'own' or 'shared', not {scale!r}")
    face = maps["face"]
    probs = probabilities or {}

    def scaled(values: Mapping[str, np.ndarray], shared: bool):
        values = {k: np.nan_to_num(np.asarray(v, dtype=np.float32)) for k, v in values.items()}
        if shared:
            return values, map_limits(values)
        return {k: minmax(v[None])[0] for k, v in values.items()}, (0.0, 1.0)

    row1, lim1 = scaled(maps["row1"], False)
    cams, lim2 = scaled(maps["cams"], scale == "shared")
    sal, lim3 = scaled(maps["saliency"], scale == "shared")
    rows = [
        [("input", face, None)]
        + [(f"{k}\n({maps['predicted']})", face, v) for k, v in row1.items()],
        [(_title(f"CAM {k}", probs.get(k)), face, v) for k, v in cams.items()],
        [(_title(f"saliency {k}", probs.get(k)), face, v) for k, v in sal.items()],
    ]
    own = OWN_SCALE_LABEL
    bar_labels = [own] + ([f"{lab}\n(one scale for the row)" for lab in labels]
                          if scale == "shared" else [own, own])  # fmt: skip
    limits = [lim1, lim2, lim3]
    ncols = max(len(r) for r in rows)
    fig, axes = plt.subplots(3, ncols, figsize=(1.6 * ncols + 1.2, 1.95 * 3), squeeze=False,
                             layout="constrained")  # fmt: skip
    for r, row in enumerate(rows):
        image = None
        vmin, vmax = limits[r]
        for c in range(ncols):
            ax = axes[r, c]
            if c >= len(row):
                ax.axis("off")
                continue
            name, img, heat = row[c]
            if heat is None:
                _show(ax, img, name)
            elif r == 2:  # saliency: the map itself, white high (the paper's)
                _show(ax, heat, name, cmap="gray", vmin=vmin, vmax=vmax)
                image = ax.images[-1]
            else:
                _show(ax, img, name)
                image = ax.imshow(heat, cmap=CMAP, alpha=0.5, vmin=vmin, vmax=vmax)
        if image is not None:
            _colorbar(fig, image, axes[r, :], bar_labels[r], fontsize=7, shrink=0.95, aspect=10)
    return fig
