"""Statistics the metrics share: bootstrap intervals, and the similarity of two maps.

* :func:`bootstrap_ci` and :func:`by_group`: a mean with its percentile bootstrap interval
  (Efron & Tibshirani 1993), over all values or per group;
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

__all__ = ["bootstrap_ci", "by_group", "pearson", "spearman", "ssim"]


def bootstrap_ci(
    values: np.ndarray, *, n_boot: int = 1000, level: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """Mean of ``values`` (NaNs dropped) and its percentile bootstrap interval ``(mean, lo, hi)``.

    ``n_boot`` resamples with replacement, seeded; an empty input gives three NaNs.
    References: Efron & Tibshirani, *An Introduction to the Bootstrap* (1993).
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return (float("nan"),) * 3
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, v.size, size=(n_boot, v.size))].mean(axis=1)
    a = (1.0 - level) / 2
    lo, hi = np.quantile(means, [a, 1 - a])
    return float(v.mean()), float(lo), float(hi)


def by_group(values: pd.DataFrame, groups: np.ndarray, names: Sequence[str], *,
             n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:  # fmt: skip
    """Per group and column of ``values`` (DataFrame N x columns): mean with bootstrap
    interval (:func:`bootstrap_ci`). ``groups`` holds each row's group index into ``names``.
    Long DataFrame with ``group, column, n, mean, lo, hi``."""
    import pandas as pd

    groups = np.asarray(groups)
    rows = []
    for g, gname in enumerate(names):
        sel = groups == g
        for j, col in enumerate(values.columns):
            mean, lo, hi = bootstrap_ci(values[col].to_numpy()[sel], n_boot=n_boot,
                                        seed=seed + 1000 * g + j)  # fmt: skip
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
