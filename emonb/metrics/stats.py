"""Statistics the metrics share: bootstrap intervals, and the similarity of two maps.

* :func:`bootstrap_ci` and :func:`by_group`: a mean with its percentile bootstrap interval
  (Efron & Tibshirani 1993), over all values or per group, resampling values or, given
  ``clusters`` (the clip or photo of each face), whole clusters;
* :func:`spearman`: Spearman's rank correlation between paired maps, ties averaged, as
  Adebayo et al. (2018, "Sanity checks for saliency maps") compare maps;
* :func:`ssim`: structural similarity (Wang et al. 2004), their second measure.

All work on plain arrays; maps are batches ``(N, H, W)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MIN_CLUSTERS", "bootstrap_ci", "by_group", "cluster_sums", "enough_clusters", "pearson",
           "spearman", "ssim"]


def cluster_sums(values: np.ndarray, clusters) -> tuple[np.ndarray, np.ndarray]:
    """Per cluster (in sorted order of the ids), the sum and the count of ``values``' finite
    entries: ``(sums, counts)``, (K,) each for values (N,), (K, R) for values (N, R).
    ``clusters`` (N,) holds any hashable ids (e.g. the clip or photo each face comes from).
    A pooled resample of clusters ``idx`` then has the mean
    ``sums[idx].sum(0) / counts[idx].sum(0)``."""
    v = np.asarray(values, dtype=np.float64)
    ids = np.asarray(clusters)
    if ids.shape != v.shape[:1]:
        raise ValueError(f"clusters must hold one id per value: {ids.shape} ids for {len(v)} values")
    _, inverse = np.unique(ids, return_inverse=True)
    inverse = inverse.reshape(-1)
    k = int(inverse.max()) + 1 if inverse.size else 0
    finite = np.isfinite(v)
    sums = np.zeros((k, *v.shape[1:]))
    counts = np.zeros((k, *v.shape[1:]))
    np.add.at(sums, inverse, np.where(finite, v, 0.0))
    np.add.at(counts, inverse, finite.astype(np.float64))
    return sums, counts


#: A cluster bootstrap needs at least this many clusters for an interval: resampling two or
#: three clips gives intervals far too narrow (one clip: none at all), so fewer give NaN.
MIN_CLUSTERS = 5


def enough_clusters(clusters) -> bool:
    """Whether ``clusters`` (ids, NaN-free rows) hold :data:`MIN_CLUSTERS` distinct ids."""
    return len(np.unique(np.asarray(clusters))) >= MIN_CLUSTERS


def bootstrap_ci(
    values: np.ndarray, *, n_boot: int = 1000, level: float = 0.95, seed: int = 0,
    clusters: np.ndarray | None = None,
) -> tuple[float, float, float]:  # fmt: skip
    """Mean of ``values`` (NaNs dropped) and its percentile bootstrap interval ``(mean, lo, hi)``.

    ``n_boot`` resamples with replacement, seeded; an empty input gives three NaNs.
    ``clusters`` (one id per value, e.g. the clip or photo a face comes from; None: every
    value its own): a **cluster bootstrap**: each resample draws as many clusters as there
    are (those with a finite value), with replacement, and pools their values, so frames of
    one clip move together and count as one draw, not as many independent faces. With
    fewer than :data:`MIN_CLUSTERS` clusters the interval is NaN (the mean is kept).

    References: Efron & Tibshirani, *An Introduction to the Bootstrap* (1993); Field &
    Welsh (2007), "Bootstrapping clustered data", JRSS B 69(3).
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    keep = np.isfinite(v)
    if clusters is not None:
        ids = np.asarray(clusters).ravel()
        if ids.shape != v.shape:
            raise ValueError(f"clusters must hold one id per value: {ids.size} ids for {v.size} values")
        ids = ids[keep]
    v = v[keep]
    if v.size == 0:
        return (float("nan"),) * 3
    rng = np.random.default_rng(seed)
    if clusters is None:
        means = v[rng.integers(0, v.size, size=(n_boot, v.size))].mean(axis=1)
    else:
        if not enough_clusters(ids):
            return float(v.mean()), float("nan"), float("nan")
        sums, counts = cluster_sums(v, ids)
        idx = rng.integers(0, len(sums), size=(n_boot, len(sums)))
        means = sums[idx].sum(axis=1) / counts[idx].sum(axis=1)
    a = (1.0 - level) / 2
    lo, hi = np.quantile(means, [a, 1 - a])
    return float(v.mean()), float(lo), float(hi)


def by_group(values: pd.DataFrame, groups: np.ndarray, names: Sequence[str], *,
             n_boot: int = 1000, seed: int = 0,
             clusters: np.ndarray | None = None) -> pd.DataFrame:  # fmt: skip
    """Per group and column of ``values`` (DataFrame N x columns): mean with bootstrap
    interval (:func:`bootstrap_ci`; ``clusters``: one id per row for a cluster bootstrap).
    ``groups`` holds each row's group index into ``names``.
    Long DataFrame with ``group, column, n, mean, lo, hi``."""
    import pandas as pd

    groups = np.asarray(groups)
    ids = None if clusters is None else np.asarray(clusters)
    if ids is not None and len(ids) != len(values):
        raise ValueError(f"clusters must hold one id per row: {len(ids)} ids for {len(values)} rows")
    rows = []
    for g, gname in enumerate(names):
        sel = groups == g
        for j, col in enumerate(values.columns):
            mean, lo, hi = bootstrap_ci(values[col].to_numpy()[sel], n_boot=n_boot,
                                        seed=seed + 1000 * g + j,
                                        clusters=None if ids is None else ids[sel])  # fmt: skip
            rows.append({"group": gname, "column": col, "n": int(sel.sum()),
                         "mean": mean, "lo": lo, "hi": hi})  # fmt: skip
    return pd.DataFrame(rows)


def _average_ranks(v: np.ndarray) -> np.ndarray:
    """1-based ranks of a 1-D array, tied values sharing their average rank."""
    _, inverse, counts = np.unique(v, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return (ends - (counts - 1) / 2.0)[inverse]


def pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of ``a`` with the same row of ``b`` (..., K) ->
    (...,) float32, in float64 arithmetic. A constant row carries no correlation: 0."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    den = np.sqrt((a * a).sum(axis=-1) * (b * b).sum(axis=-1))
    num = (a * b).sum(axis=-1)
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0).astype(np.float32)


def spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman rank correlation (ties averaged) between paired maps (N, H, W) -> (N,):
    :func:`pearson` of their ranks.

    A constant map carries no ranking: its correlation is 0.
    References: Spearman (1904); used on maps by Adebayo et al. (2018), "Sanity checks
    for saliency maps".
    """
    a = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
    b = np.asarray(b, dtype=np.float64).reshape(len(b), -1)
    if not len(a):
        return np.zeros(0, dtype=np.float32)
    ra = np.stack([_average_ranks(row) for row in a])
    rb = np.stack([_average_ranks(row) for row in b])
    return pearson(ra, rb)


def ssim(a: np.ndarray, b: np.ndarray, *, data_range: float = 1.0) -> np.ndarray:
    """Structural similarity between paired maps (N, H, W) -> (N,): the mean of the local
    SSIM over a Gaussian window (sigma 1.5, 11x11, reflected borders; K1 0.01, K2 0.03).

    References: Wang, Bovik, Sheikh & Simoncelli (2004), "Image quality assessment: from
    error visibility to structural similarity".
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2

    def blur(im):
        return cv2.GaussianBlur(im, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

    out = np.empty(len(a), dtype=np.float32)
    for i in range(len(a)):
        mx, my = blur(a[i]), blur(b[i])
        vx = blur(a[i] * a[i]) - mx * mx
        vy = blur(b[i] * b[i]) - my * my
        cxy = blur(a[i] * b[i]) - mx * my
        s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
        out[i] = s.mean()
    return out
