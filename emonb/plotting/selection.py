"""The settings study of chapter 01: each setting's per-epoch validation curve, every seed."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

__all__ = ["plot_seed_curves"]


def plot_seed_curves(study: Mapping, key: str = "val_macro_f1", ax: Axes | None = None) -> Axes:
    """One colour per setting: a thin line per seed and a thick line for the mean over seeds
    of a per-epoch quantity of ``study["runs"]`` (``benchmarks/train_study.py``)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 3.4))
    colours = plt.get_cmap("tab10")
    for i, (name, runs) in enumerate(study["runs"].items()):
        curves = [[r[key] for r in run["epochs"]] for run in runs.values()]
        for curve in curves:
            ax.plot(np.arange(1, len(curve) + 1), curve, color=colours(i), lw=0.7, alpha=0.45)
        n = min(map(len, curves))
        mean = np.mean([c[:n] for c in curves], axis=0)
        ax.plot(np.arange(1, n + 1), mean, color=colours(i), lw=2.2,
                label=f"{name} ({len(curves)} seeds)")  # fmt: skip
    ax.set_xlabel("epoch")
    ax.set_ylabel(key.replace("val_", "validation ").replace("_", " "))
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize=7)
    return ax
