"""Rank methods by every metric at once, and ask whether the metrics agree.

:func:`summary_table` turns per-face values (one array per method and metric) into the
ranked table of chapter 08 and ``emonb evaluate-maps``: each metric's mean with a 95%
bootstrap interval over faces. :func:`metric_agreement` compares the rankings the metrics
give (Spearman's rank correlation over methods, each metric oriented so that higher is
better), the question Hedström et al. (2023, Quantus) and Rong et al. (2022, ROAD) raise:
different faithfulness metrics can rank the same methods differently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from emonb.errors import EmonbError
from emonb.metrics.stats import bootstrap_ci

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["METRICS", "Metric", "agreement_pairs", "metric_agreement", "metric_columns",
           "summary_table"]


@dataclass(frozen=True)
class Metric:
    """A column of the ranked table: what it tests, and which direction is better."""

    name: str
    family: str
    higher_is_better: bool
    reference: str


#: The per-face metrics of the ranked table, in column order. ``insertion - deletion``
#: ranks the table (it was the first metric of chapter 08).
METRICS: tuple[Metric, ...] = (
    Metric("insertion - deletion", "faithfulness", True, "Petsiuk et al. 2018"),
    Metric("ROAD (LeRF - MoRF)", "faithfulness", True, "Rong et al. 2022"),
    Metric("faithfulness correlation", "faithfulness", True, "Bhatt et al. 2020"),
    Metric("max-sensitivity", "robustness", False, "Yeh et al. 2019"),
    Metric("random-logit SSIM", "randomisation", False, "Sixt et al. 2020"),
    Metric("sparseness", "complexity", True, "Chalasani et al. 2020"),
    Metric("complexity", "complexity", False, "Bhatt et al. 2020"),
)
_BY_NAME = {m.name: m for m in METRICS}


def summary_table(values: Mapping[str, Mapping[str, np.ndarray]], *, extra: Mapping[
        str, Mapping[str, float]] | None = None, seed: int = 0) -> pd.DataFrame:  # fmt: skip
    """The ranked table: one row per method of ``values`` (method -> metric name -> per-face
    values, NaNs ignored), for each metric of :data:`METRICS` present its mean and 95%
    bootstrap interval (columns ``name``, ``name lo``, ``name hi``; for the first metric
    also ``lo`` and ``hi``, the names chapter 08 has always used), then the columns of
    ``extra`` (method -> column -> value, e.g. the randomization and pointing scores).
    Rows are sorted by ``insertion - deletion``, higher first."""
    import pandas as pd

    rows = {}
    for k, (method, metrics) in enumerate(values.items()):
        row: dict[str, float] = {}
        for j, metric in enumerate(METRICS):
            if metric.name not in metrics:
                continue
            mean, lo, hi = bootstrap_ci(np.asarray(metrics[metric.name]),
                                        seed=seed + 100 * k + j)  # fmt: skip
            row[metric.name], row[f"{metric.name} lo"], row[f"{metric.name} hi"] = mean, lo, hi
        unknown = set(metrics) - set(_BY_NAME) - {"deletion AUC", "insertion AUC"}
        if unknown:
            raise EmonbError(f"unknown metrics {sorted(unknown)}; the table knows "
                             f"{', '.join(_BY_NAME)}")  # fmt: skip
        for auc in ("deletion AUC", "insertion AUC"):
            if auc in metrics:
                row[auc] = float(np.nanmean(metrics[auc]))
        row.update((extra or {}).get(method, {}))
        rows[method] = row
    table = pd.DataFrame(rows).T
    first = METRICS[0].name
    if first in table:
        table.insert(table.columns.get_loc(first) + 1, "lo", table[f"{first} lo"])
        table.insert(table.columns.get_loc("lo") + 1, "hi", table[f"{first} hi"])
        table = table.drop(columns=[f"{first} lo", f"{first} hi"])
        table = table.sort_values(first, ascending=False, kind="stable")
    table.index.name = "method"
    return table


def metric_agreement(table: pd.DataFrame, metrics: Sequence[str] | None = None, *,
                     exclude: Sequence[str] = ()) -> pd.DataFrame:  # fmt: skip
    """Spearman's rank correlation, over the methods of ``table`` (rows; those in
    ``exclude`` left out), between the rankings of each pair of metric columns, each
    oriented so that higher is better (:attr:`Metric.higher_is_better`; other columns such
    as the randomization similarity count lower as better). 1: the two metrics rank the
    methods the same way; 0: unrelated; -1: opposite. Square DataFrame over ``metrics``
    (default: every :data:`METRICS` column present)."""
    import pandas as pd

    from emonb.metrics.stats import spearman

    names = [m.name for m in METRICS if m.name in table] if metrics is None else list(metrics)
    rows = table.drop(index=[e for e in exclude if e in table.index])
    if len(rows) < 3:
        raise EmonbError(f"ranking agreement needs at least 3 methods, got {len(rows)}")
    oriented = {}
    for name in names:
        better_high = _BY_NAME[name].higher_is_better if name in _BY_NAME else False
        v = rows[name].astype(float).to_numpy()
        oriented[name] = v if better_high else -v
    out = pd.DataFrame(index=names, columns=names, dtype=float)
    for a in names:
        for b in names:
            va, vb = oriented[a], oriented[b]
            ok = np.isfinite(va) & np.isfinite(vb)
            out.loc[a, b] = (float(spearman(va[ok][None], vb[ok][None])[0]) if ok.sum() >= 3
                             else float("nan"))  # fmt: skip
    return out


def agreement_pairs(agreement: pd.DataFrame, *, agree: float = 0.5,
                    disagree: float = 0.0) -> tuple[list, list]:  # fmt: skip
    """The pairs of metrics whose rankings agree (rank correlation >= ``agree``) and those
    that do not (<= ``disagree``): two lists of ``(metric a, metric b, rho)``, strongest
    first."""
    names = list(agreement.index)
    pairs = [(a, b, float(agreement.loc[a, b])) for i, a in enumerate(names)
             for b in names[i + 1:] if np.isfinite(agreement.loc[a, b])]  # fmt: skip
    yes = sorted([p for p in pairs if p[2] >= agree], key=lambda p: -p[2])
    no = sorted([p for p in pairs if p[2] <= disagree], key=lambda p: p[2])
    return yes, no


def metric_columns(table: pd.DataFrame, digits: int = 2) -> pd.DataFrame:
    """Each :data:`METRICS` column of ``table`` as text, ``mean [lo, hi]``, for display."""
    import pandas as pd

    out = {}
    for metric in METRICS:
        if metric.name not in table:
            continue
        lo = table["lo" if metric is METRICS[0] else f"{metric.name} lo"].astype(float)
        hi = table["hi" if metric is METRICS[0] else f"{metric.name} hi"].astype(float)
        mean = table[metric.name].astype(float)
        out[metric.name] = [f"{m:.{digits}f} [{a:.{digits}f}, {b:.{digits}f}]"
                            for m, a, b in zip(mean, lo, hi, strict=True)]  # fmt: skip
    return pd.DataFrame(out, index=table.index)
