"""The robustness table drawn: one row per claim, one cell per analysis, coloured by verdict
(:mod:`emonb.metrics.verdicts`), with each claim's summary at the right."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch, Rectangle

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["VERDICT_COLOURS", "plot_verdicts"]

#: One colour per verdict (colour-blind safe: blue, orange, light grey, white).
VERDICT_COLOURS = {"holds": "#1f77b4", "contradicted": "#ff7f0e", "inconclusive": "#d9d9d9",
                   "too few faces": "#ffffff"}  # fmt: skip


def plot_verdicts(table: pd.DataFrame, summary: pd.DataFrame, ax: Axes | None = None, *,
                  order: Sequence[str] | None = None, title: str | None = None) -> Axes:  # fmt: skip
    """Claims (rows, in ``summary``'s order) x analyses (columns, each claim's analyses in
    ``table``'s order; claims with fewer analyses leave blanks), cells coloured by verdict,
    the summary written at the right of each row; each claim's analysed cells are outlined,
    so that "too few faces" (white) differs from no analysis (blank, outside). ``table``: a verdict table
    (:func:`emonb.metrics.verdicts.verdict_table`); ``summary``: :func:`~emonb.metrics.verdicts.summarize`."""
    claims = list(order) if order is not None else list(summary["claim"])
    width = max(int((table["claim"] == c).sum()) for c in claims)
    names = list(VERDICT_COLOURS)
    grid = np.full((len(claims), width), np.nan)
    for i, c in enumerate(claims):
        v = table.loc[table["claim"] == c, "verdict"].map(names.index).to_numpy(dtype=float)
        grid[i, : len(v)] = v
    if ax is None:
        _, ax = plt.subplots(figsize=(2.5 + 0.12 * width + 2.2, 0.3 * len(claims) + 1.2))
    cmap = ListedColormap(list(VERDICT_COLOURS.values()))
    cmap.set_bad("none")
    ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=-0.5, vmax=len(names) - 0.5,
              aspect="auto", interpolation="nearest")  # fmt: skip
    for i in range(len(claims)):
        k = int(np.isfinite(grid[i]).sum())
        ax.add_patch(Rectangle((-0.5, i - 0.5), k, 1, fill=False, ec="0.45", lw=0.6))
    ax.set_yticks(range(len(claims)), claims, fontsize=7)
    ax.set_xticks([])
    ax.set_xlabel("analyses (one cell each: AU map, layout, evidence, CAM layer, baseline, grouping, model)",
                  fontsize=7)  # fmt: skip
    s = summary.set_index("claim")
    for i, c in enumerate(claims):
        text = s.loc[c, "summary"] + (f" ({s.loc[c, 'depends on']})" if s.loc[c, "depends on"] else "")
        ax.text(width - 0.3, i, "  " + text, va="center", ha="left", fontsize=6.5, clip_on=False)
    ax.legend(handles=[Patch(facecolor=col, edgecolor="0.6", label=v) for v, col in VERDICT_COLOURS.items()],
              loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=4, fontsize=7, frameon=False)  # fmt: skip
    if title:
        ax.set_title(title, fontsize=9)
    return ax
