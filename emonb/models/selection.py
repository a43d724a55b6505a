"""Choosing training settings on validation data, across seeds.

A setting is trained once per seed; each run reports a validation score for the epoch it
chose by validation accuracy. :func:`seed_interval` is the t-interval of a setting's mean
over seeds; :func:`paired_difference` compares two settings run with the same seeds (the
same validation rows, the same initial weights), which removes most of the seed noise; and
:func:`select` picks the setting with the best mean and says whether its lead over each
other setting is larger than the seed noise. Pure functions of the numbers: the runs come
from ``benchmarks/train_study.py``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["learned", "paired_difference", "seed_interval", "select", "study_scores", "study_table",
           "t_quantile"]


def _t_cdf(x: float, df: int) -> float:
    """Student's t CDF for ``x >= 0`` by Simpson's rule on the density (2,000 panels)."""
    c = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)
    t = np.linspace(0.0, x, 2001)
    f = c * (1 + t * t / df) ** (-(df + 1) / 2)
    h = x / 2000
    return 0.5 + h / 3 * (f[0] + f[-1] + 4 * f[1:-1:2].sum() + 2 * f[2:-1:2].sum())


def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile (``p > 0.5``) of Student's t with ``df`` degrees of freedom."""
    if not 0.5 < p < 1 or df < 1:
        raise ValueError(f"need 0.5 < p < 1 and df >= 1, got p={p}, df={df}")
    lo, hi = 0.0, 1.0
    while _t_cdf(hi, df) < p:
        hi *= 2
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _t_cdf(mid, df) < p else (lo, mid)
    return (lo + hi) / 2


def seed_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """``(mean, lo, hi)``: the mean over seeds and its t-interval (NaN bounds for one seed)."""
    v = np.asarray(values, dtype=np.float64)
    mean = float(v.mean())
    if v.size < 2:
        return mean, math.nan, math.nan
    half = t_quantile(0.5 + level / 2, v.size - 1) * float(v.std(ddof=1)) / math.sqrt(v.size)
    return mean, mean - half, mean + half


def paired_difference(a: Mapping[int, float], b: Mapping[int, float],
                      level: float = 0.95) -> tuple[float, float, float]:
    """``a - b`` over the seeds both ran: ``(mean, lo, hi)`` of the per-seed differences."""
    seeds = sorted(set(a) & set(b))
    if not seeds:
        raise ValueError("the two settings share no seed")
    return seed_interval([a[s] - b[s] for s in seeds], level)


def select(scores: Mapping[str, Mapping[int, float]], level: float = 0.95) -> dict:
    """The setting with the best mean score and how sure that choice is.

    ``scores[setting][seed]`` is a run's validation score. Returns ``chosen``, and for each
    other setting the paired difference ``chosen - other`` with its interval and whether
    the interval excludes zero (``clear``): a lead inside the seed noise is not a finding.
    """
    if not scores:
        raise ValueError("no settings to choose from")
    means = {name: float(np.mean(list(runs.values()))) for name, runs in scores.items()}
    chosen = max(means, key=means.__getitem__)
    versus = {}
    for name, runs in scores.items():
        if name == chosen:
            continue
        mean, lo, hi = paired_difference(scores[chosen], runs, level)
        versus[name] = {"difference": mean, "lo": lo, "hi": hi, "clear": bool(lo > 0)}
    return {"chosen": chosen, "mean": means[chosen], "versus": versus}


def study_scores(study: Mapping, metric: str = "macro_f1") -> dict[str, dict[int, float]]:
    """``setting -> seed -> validation metric`` from a study file
    (``benchmarks/train_study.py``): the input of :func:`select`."""
    return {name: {int(seed): float(run["validation"][metric]) for seed, run in runs.items()}
            for name, runs in study["runs"].items()}  # fmt: skip


def learned(run: Mapping) -> bool:
    """Whether a run learned anything: its chosen epoch predicts more than one class on
    the validation rows (a network whose dense layer died answers one class for all)."""
    return int(run["validation"]["predicted_classes"]) > 1


def study_table(study: Mapping, level: float = 0.95):
    """One row per setting (a pandas DataFrame): mean validation accuracy, macro-F1 and
    disgust recall over seeds with the t-interval of each mean, and how many runs learned."""
    import pandas as pd

    rows = {}
    for name, runs in study["runs"].items():
        row = {}
        for metric, label in (("accuracy", "accuracy"), ("macro_f1", "macro-F1")):
            mean, lo, hi = seed_interval([r["validation"][metric] for r in runs.values()], level)
            row[f"validation {label}"] = mean
            row[f"{label} 95% interval"] = f"[{lo:.3f}, {hi:.3f}]"
        row["disgust recall"] = float(np.mean([r["validation"]["recall"]["disgust"]
                                               for r in runs.values()]))  # fmt: skip
        row["runs that learned"] = f"{sum(learned(r) for r in runs.values())} of {len(runs)}"
        rows[name] = row
    return pd.DataFrame(rows).T.rename_axis("setting")
