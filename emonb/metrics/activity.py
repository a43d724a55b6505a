"""Do the AUs the mesh measures on each face go with the emotion humans gave the face?

:func:`activity_auc`: for each emotion and each AU activity (per-face measures such as
:class:`emonb.anatomy.activity.AUActivity` gives), the ROC AUC of the activity separating
that emotion's faces from all other faces (:func:`emonb.metrics.facs.auc`: the probability
that a face of the emotion shows more of the AU than a face of another emotion, ties 1/2),
with a percentile bootstrap 95% interval. 0.5: the AU does not tell the emotion's faces from
the rest; 1: every face of the emotion shows more of it; below 0.5: less.

The bootstrap resamples the emotion's faces and the other faces separately (stratified, so
each resample keeps both counts), seeded. A resample is a count per face, so its AUC is the
Mann-Whitney statistic with those counts as weights (:func:`weighted_auc`), computed from
one sort of the values instead of comparing every pair again.

References: Hanley & McNeil (1982), "The meaning and use of the area under a receiver
operating characteristic (ROC) curve"; Efron & Tibshirani (1993), *An Introduction to the
Bootstrap*.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from emonb.errors import EmonbError
from emonb.metrics.facs import auc

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["activity_auc", "auc_nested", "auc_wide", "weighted_auc"]


def weighted_auc(values: np.ndarray, positive: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The AUC of ``values`` (R,) (finite), ``positive`` (R,) bool, with each item counted
    ``weights`` times: weights (B, R) -> (B,) AUCs, ties 1/2. With all weights 1 it is
    :func:`emonb.metrics.facs.auc`; with a bootstrap's counts, the resample's AUC. NaN where
    a side has no weight."""
    v = np.asarray(values, dtype=np.float64)
    pos = np.asarray(positive, dtype=bool)
    w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    if v.ndim != 1 or pos.shape != v.shape or w.shape[1:] != v.shape:
        raise EmonbError(f"expected values (R,), positive (R,) and weights (B, R); got "
                         f"{v.shape}, {pos.shape} and {w.shape}")  # fmt: skip
    if not np.isfinite(v).all():
        raise EmonbError("weighted_auc needs finite values (leave NaN items out first)")
    order = np.argsort(v, kind="stable")
    vs, ps = v[order], pos[order]
    ws = np.ascontiguousarray(w.T)[order]  # (R, B): items sorted by value, rows contiguous
    wp, wn = ws[ps], ws[~ps]
    # negative weight strictly below each positive's value, and tied with it
    cum = np.concatenate([np.zeros((1, len(w))), np.cumsum(wn, axis=0)])
    vn = vs[~ps]
    lo = np.searchsorted(vn, vs[ps], side="left")
    hi = np.searchsorted(vn, vs[ps], side="right")
    below = cum[lo]
    wins = (wp * (below + 0.5 * (cum[hi] - below))).sum(axis=0)
    total = wp.sum(axis=0) * wn.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, wins / np.where(total > 0, total, 1.0), np.nan)


def _stratified_counts(pos: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, R) counts: each resample draws len(pos side) items with replacement from
    each side."""
    r = len(pos)
    counts = np.zeros(n_boot * r)
    for side in (np.flatnonzero(pos), np.flatnonzero(~pos)):
        if not len(side):
            continue
        draws = side[rng.integers(0, len(side), size=(n_boot, len(side)))]
        flat = (np.arange(n_boot)[:, None] * r + draws).ravel()
        counts += np.bincount(flat, minlength=n_boot * r)
    return counts.reshape(n_boot, r)


def activity_auc(activity, labels: np.ndarray, class_names: Sequence[str], *,
                 names: Sequence[str] | None = None, n_boot: int = 1000,
                 level: float = 0.95, seed: int = 0) -> pd.DataFrame:  # fmt: skip
    """Per AU and emotion, the AUC of the AU's activity separating the emotion's faces from
    all others, with its stratified percentile bootstrap interval.

    ``activity``: (N, K) array (columns ``names``) or DataFrame (its columns); faces with a
    NaN activity are left out of that AU. ``labels``: (N,) class index per face into
    ``class_names``. Returns a DataFrame indexed by (``au``, ``emotion``) with columns
    ``auc, lo, hi, positives, negatives`` (the faces on each side); NaN where a side is
    empty. Seeded: each emotion's resamples (drawn from ``seed`` and the emotion's index)
    are shared by all AUs, so AUs are compared on the same resampled faces; a face with a
    NaN activity drops out of that AU's resamples.
    """
    import pandas as pd

    if isinstance(activity, pd.DataFrame):
        names = list(activity.columns) if names is None else list(names)
        a = activity.loc[:, names].to_numpy(dtype=np.float64)
    else:
        a = np.asarray(activity, dtype=np.float64)
        if a.ndim != 2:
            raise EmonbError(f"expected activity (N, K), got shape {a.shape}")
        names = [f"m{j}" for j in range(a.shape[1])] if names is None else list(names)
    labels = np.asarray(labels)
    if a.shape != (len(labels), len(names)):
        raise EmonbError(f"activity {a.shape} does not match {len(labels)} labels and "
                         f"{len(names)} names")  # fmt: skip
    if n_boot < 1:
        raise EmonbError(f"n_boot must be at least 1, got {n_boot}")
    q = [(1 - level) / 2, (1 + level) / 2]
    finite = np.isfinite(a)
    faces = finite.any(axis=1)  # faces with any activity (a rejected face has none)
    cells = {}
    for g, emotion in enumerate(class_names):
        pos_all = labels == g
        counts = np.zeros((n_boot, len(labels)))
        if (pos_all & faces).any() and (~pos_all & faces).any():
            rng = np.random.default_rng([seed, g])
            counts[:, faces] = _stratified_counts(pos_all[faces], n_boot, rng)
        for j, au in enumerate(names):
            keep = finite[:, j]
            v, pos = a[keep, j], pos_all[keep]
            score = float(auc(v, pos))
            lo = hi = float("nan")
            if pos.any() and (~pos).any():
                boot = weighted_auc(v, pos, counts[:, keep])
                boot = boot[np.isfinite(boot)]
                if boot.size:
                    lo, hi = (float(x) for x in np.quantile(boot, q))
            cells[au, emotion] = {"au": au, "emotion": emotion, "auc": score, "lo": lo,
                                  "hi": hi, "positives": int(pos.sum()),
                                  "negatives": int((~pos).sum())}  # fmt: skip
    rows = [cells[au, emotion] for au in names for emotion in class_names]
    return pd.DataFrame(rows).set_index(["au", "emotion"])


def auc_nested(table: pd.DataFrame, decimals: int = 4) -> dict:
    """:func:`activity_auc`'s table as plain JSON: AU -> emotion -> {auc, lo, hi}."""
    out: dict = {}
    for (au, emotion), row in table.iterrows():
        out.setdefault(au, {})[emotion] = {k: round(float(row[k]), decimals)
                                           for k in ("auc", "lo", "hi")}  # fmt: skip
    return out


def auc_wide(nested: dict, decimals: int = 2) -> pd.DataFrame:
    """:func:`auc_nested`'s AU -> emotion -> {auc, lo, hi} as a table to read: one row per
    AU, one column per emotion, each cell ``"auc [lo, hi]"``."""
    import pandas as pd

    def cell(v: dict) -> str:
        return f"{v['auc']:.{decimals}f} [{v['lo']:.{decimals}f}, {v['hi']:.{decimals}f}]"

    return pd.DataFrame({au: {e: cell(v) for e, v in row.items()} for au, row in nested.items()}).T
