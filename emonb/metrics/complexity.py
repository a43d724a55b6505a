"""Complexity: how concentrated is a map?

Two scores of each map's absolute values ``|a|`` (n pixels), from Quantus's complexity
group:

* :func:`sparseness`: the Gini index of ``|a|`` (Chalasani et al. 2020): 0 for a flat map,
  ``(n - 1) / n`` when one pixel holds everything; higher = sparser.
* :func:`complexity`: the Shannon entropy of the fractional contributions
  ``|a_i| / sum |a|`` (Bhatt et al. 2020): 0 for one pixel, ``log n`` for a flat map;
  lower = simpler.

An all-zero map is treated as the limit of a flat one (sparseness 0, complexity
``log n``): it singles nothing out, and a NaN would spoil a mean over faces. Maps are
``(N, H, W)`` (any trailing shape); both return ``(N,)`` float32.
"""

from __future__ import annotations

import numpy as np

__all__ = ["complexity", "sparseness"]


def _abs_flat(maps: np.ndarray) -> np.ndarray:
    a = np.abs(np.asarray(maps, dtype=np.float64))
    return a.reshape(len(a), -1)


def sparseness(maps: np.ndarray) -> np.ndarray:
    """Gini index of each map's ``|a|`` (N,): with ``a`` sorted ascending, ``n`` values
    and i from 1, ``sum((2 i - n - 1) a_i) / (n sum a_i)``; a zero map gives 0.

    Quantus's ``Sparseness`` adds 1e-7 to every value first (so a zero map also comes out
    0); emonb computes the index itself, without the offset.

    References: Chalasani, Chen, Chowdhury, Wu & Jha, "Concise Explanations of Neural
    Networks using Adversarial Training", ICML 2020.
    """
    a = np.sort(_abs_flat(maps), axis=1)
    n = a.shape[1]
    total = a.sum(axis=1)
    i = np.arange(1, n + 1, dtype=np.float64)
    num = ((2 * i - n - 1) * a).sum(axis=1)
    gini = np.where(total > 0, num / (n * np.where(total > 0, total, 1.0)), 0.0)
    return gini.astype(np.float32)


def complexity(maps: np.ndarray) -> np.ndarray:
    """Shannon entropy (natural log) of each map's fractional contributions
    ``p_i = |a_i| / sum |a|`` (N,), with ``0 log 0 = 0``; a zero map gives ``log n``.

    Quantus's ``Complexity`` adds 1e-12 inside the log; emonb drops the zero terms.

    References: Bhatt, Weller & Moura, "Evaluating and Aggregating Feature-based Model
    Explanations", IJCAI 2020.
    """
    a = _abs_flat(maps)
    n = a.shape[1]
    total = a.sum(axis=1, keepdims=True)
    p = a / np.where(total > 0, total, 1.0)
    terms = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    return np.where(total[:, 0] > 0, -terms.sum(axis=1), np.log(n)).astype(np.float32)
