"""Pure array functions on maps shared by every part of emonb: one normaliser, one resize.

Both take batches of 2-D maps (N, H, W) (:func:`minmax` any array and its axes) and
return new float32 arrays; neither touches a model.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

__all__ = ["minmax", "resize_fractions", "resize_maps"]


def minmax(values: np.ndarray, axes: int | Sequence[int] = (1, 2)) -> np.ndarray:
    """Min-max normalise ``values`` to [0, 1] over ``axes`` (per map by default).

    NaN and infinities become finite first (``np.nan_to_num``). A slice whose span is
    negligible becomes all zeros: at most 1e-6 of its largest magnitude (a constant map
    resized bicubically wobbles in the last bits) or at most 1e-12 (a dead filter).
    """
    axes = (axes,) if isinstance(axes, int) else tuple(axes)
    v = np.nan_to_num(np.asarray(values, dtype=np.float32))
    lo = v.min(axis=axes, keepdims=True)
    hi = v.max(axis=axes, keepdims=True)
    span = hi - lo
    flat = span <= np.maximum(1e-12, 1e-6 * np.maximum(np.abs(lo), np.abs(hi)))
    out = np.where(flat, 0.0, (v - lo) / np.where(flat, 1.0, span))
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def resize_maps(maps: np.ndarray, size: tuple[int, int],
                interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:  # fmt: skip
    """Maps (N, h, w) resized to ``size`` = (H, W) (bilinear by default; an OpenCV flag)."""
    maps = np.asarray(maps, dtype=np.float32)
    h, w = (int(s) for s in size)
    if maps.shape[1:] == (h, w):
        return maps
    out = np.empty((len(maps), h, w), np.float32)
    for i, m in enumerate(maps):
        out[i] = cv2.resize(np.ascontiguousarray(m), (w, h), interpolation=interpolation)
    return out


def resize_fractions(masks: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Soft masks (N, h, w) of fractions in [0, 1] resized to ``size`` = (H, W): area-
    averaged when shrinking (a region keeps its area), bilinear when enlarging, clipped
    to [0, 1]."""
    masks = np.asarray(masks, dtype=np.float32)
    h, w = (int(s) for s in size)
    shrink = masks.shape[1] >= h and masks.shape[2] >= w
    out = resize_maps(masks, (h, w), cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return np.clip(out, 0.0, 1.0)
