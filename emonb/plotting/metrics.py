"""Faithfulness of the maps (:mod:`emonb.metrics`, chapter 08): method ranking,
deletion/insertion curves, the randomization checks (the model's weights, and the labels it
learned from) and face-region importance.

The model-free reference maps are drawn in grey, dashed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from emonb.plotting.images import _show, overlay

#: The colour map :func:`~emonb.plotting.images.overlay` draws maps in (its default).
_MAP_CMAP = "jet"

__all__ = [
    "map_colorbar",
    "plot_data_randomization",
    "plot_face_regions",
    "plot_map_similarity",
    "plot_metric_agreement",
    "plot_perturbation_curves",
    "plot_randomization",
    "plot_randomization_similarity",
    "plot_ranking",
    "plot_region_importance",
]


#: The model-free reference maps (emonb.metrics.evaluate.REFERENCES), drawn in grey.
_REFERENCE_MAPS = ("random", "centre")


def _curve_style(method: str) -> dict:
    return {"ls": "--", "color": "0.5"} if method in _REFERENCE_MAPS else {}


def map_colorbar(fig: Figure, axes, label: str = "map value (each map min-max scaled to [0, 1])"):
    """One colour bar for every map overlay in ``axes`` (all drawn on the [0, 1] scale of
    :func:`~emonb.plotting.images.overlay`'s colour map), labelled ``label``; call it after
    the figure's layout is set. Returns the colour bar."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    axes = list(np.ravel(axes))
    bar = fig.colorbar(ScalarMappable(Normalize(0.0, 1.0), cmap=_MAP_CMAP), ax=axes,
                       fraction=0.025, pad=0.01, shrink=0.6, aspect=25)  # fmt: skip
    bar.set_label(label, fontsize=6)
    bar.ax.tick_params(labelsize=6)
    return bar


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


def plot_metric_agreement(agreement, ax: Axes | None = None) -> Axes:
    """The rank correlations between metrics' rankings of the methods
    (:func:`emonb.metrics.ranking.metric_agreement`) as a heatmap from -1 (opposite
    rankings, red) through 0 to 1 (the same ranking, blue), each cell labelled."""
    names = list(agreement.index)
    if ax is None:
        _, ax = plt.subplots(figsize=(0.75 * len(names) + 2.2, 0.6 * len(names) + 1.2))
    v = agreement.to_numpy(dtype=float)
    im = ax.imshow(v, cmap="RdBu", vmin=-1, vmax=1)
    for i in range(len(names)):
        for j in range(len(names)):
            if np.isfinite(v[i, j]):
                ax.text(j, i, f"{v[i, j]:+.2f}", ha="center", va="center", fontsize=7,
                        color="white" if abs(v[i, j]) > 0.6 else "black")  # fmt: skip
    ax.set_xticks(range(len(names)), labels=names, rotation=35, ha="right", fontsize=8)
    ax.set_yticks(range(len(names)), labels=names, fontsize=8)
    ax.figure.colorbar(im, ax=ax, shrink=0.8, label="Spearman ρ between rankings")
    ax.set_title("Do the metrics rank the methods alike? (higher-is-better oriented)", fontsize=9)
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
    trained model first, then the layers re-drawn from the top down), maps of one face,
    every map on the [0, 1] scale of its colour bar."""
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
    map_colorbar(fig, axes)
    return fig


def plot_data_randomization(result, methods: Sequence[str] | None = None, *,
                            faces: Sequence[np.ndarray] | None = None, n_faces: int = 2,
                            blocks: int = 3, size: float = 0.95,
                            title: str | None = None) -> Figure:  # fmt: skip
    """The data-randomization figure (:class:`~emonb.metrics.randomization.DataRandomization`):
    for each method (rows, split into ``blocks`` side-by-side groups) and each of the first
    ``n_faces`` faces, its map for the model trained on the true labels ("true") beside its
    map for the model trained on permuted labels ("permuted"), over ``faces`` (default: the
    result's images; pass the models' view of them to show what the model sees). All maps
    on one scale, [0, 1], with one colour bar; ``title`` above all panels."""
    methods = list(methods or result.maps)
    shown = list(result.images if faces is None else faces)[:n_faces]
    n_faces = len(shown)
    blocks = max(1, min(blocks, len(methods)))
    rows = -(-len(methods) // blocks)
    cols = 2 * n_faces
    fig, axes = plt.subplots(rows, blocks * cols, squeeze=False,
                             figsize=(size * blocks * cols + 0.3 * blocks, size * rows + 0.5))  # fmt: skip
    for ax in axes.ravel():
        ax.set_axis_off()
    for k, m in enumerate(methods):
        r, b = k % rows, k // rows
        for i, face in enumerate(shown):
            for j, (kind, maps) in enumerate((("true", result.maps), ("permuted", result.permuted_maps))):
                ax = axes[r, b * cols + 2 * i + j]
                _show(ax, overlay(face, np.clip(maps[m][i], 0, 1), alpha=0.6))
                if r == 0:
                    ax.set_title(f"face {i + 1}\n{kind}", fontsize=6)
        ax = axes[r, b * cols]
        ax.text(-0.08, 0.5, m, transform=ax.transAxes, rotation=90, ha="right", va="center",
                fontsize=6)  # fmt: skip
    if title:
        fig.suptitle(title, fontsize=8)
    fig.tight_layout(w_pad=0.2, h_pad=0.2)
    map_colorbar(fig, axes, "map value ([0, 1], one scale for all)")
    return fig


def plot_map_similarity(table, ax: Axes | None = None) -> Axes:
    """Per method (rows of :func:`~emonb.metrics.randomization.map_similarity`'s table):
    the mean Spearman rank correlation and SSIM between the maps of two models, with their
    95% bootstrap intervals; 1 means the maps did not change at all."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.22 * len(table) + 1.2))
    y = np.arange(len(table))
    for offset, metric, colour in ((-0.17, "spearman", "tab:blue"), (0.17, "ssim", "tab:orange")):
        mean = table[metric].to_numpy(float)
        err = np.vstack([mean - table[f"{metric} lo"].to_numpy(float),
                         table[f"{metric} hi"].to_numpy(float) - mean])  # fmt: skip
        ax.errorbar(mean, y + offset, xerr=np.nan_to_num(err), fmt="o", ms=3, color=colour,
                    elinewidth=1.2, capsize=1.5, label="Spearman ρ" if metric == "spearman" else "SSIM")  # fmt: skip
    ax.set_yticks(y, labels=[f"{m} (ref.)" if m in _REFERENCE_MAPS else m for m in table.index],
                  fontsize=7)  # fmt: skip
    ax.invert_yaxis()
    ax.axvline(0, color="0.7", lw=0.8)
    ax.axvline(1, color="0.85", lw=0.8, ls="--")
    ax.set_xlabel("similarity of the two models' maps (mean, 95% bootstrap interval)", fontsize=8)
    ax.legend(fontsize=7, loc="lower right")
    return ax


def plot_randomization_similarity(randomization, metric: str = "spearman",
                                  ax: Axes | None = None, *,
                                  methods: Sequence[str] | None = None) -> Axes:  # fmt: skip
    """Mean similarity to the trained model's maps per method (``methods``; default all)
    as layers are randomized."""
    df = getattr(randomization, metric)
    if methods is not None:
        df = df[list(methods)]
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
    from the long table of :func:`emonb.metrics.stats.by_group` (``measure`` column value)."""
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
    ticks = [f"{c}\n(n={int(k)})" for c, k in zip(class_names, n, strict=True)]
    ax.set_xticks(np.arange(len(class_names)), ticks, fontsize=7)
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
