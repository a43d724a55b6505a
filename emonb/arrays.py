"""Pure array functions on maps shared by every part of emonb: one normaliser, one resize,
and the per-face random draws of the metrics.

The map functions take batches of 2-D maps (N, H, W) (:func:`minmax` any array and its
axes) and return new float32 arrays; none touches a model.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence

import cv2
import numpy as np

__all__ = ["face_draws", "face_ids", "minmax", "resize_fractions", "resize_maps"]


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


def face_ids(ids: Sequence[int] | np.ndarray | None, n: int) -> np.ndarray:
    """The ids of ``n`` faces: ``ids`` checked (``n`` non-negative integers), or
    ``0..n-1`` when None."""
    if ids is None:
        return np.arange(n)
    out = np.asarray(ids).reshape(-1)
    if out.size != n or (out.size and (out.dtype.kind not in "iu" or out.min() < 0)):
        raise ValueError(f"ids must be {n} non-negative integers, got {out.size} of {out.dtype}")
    return out


def face_draws(seed: int | Sequence[int], stream: str, ids: Sequence[int] | np.ndarray,
               draw: Callable[[np.random.Generator], np.ndarray],
               shape: tuple[int, ...] = ()) -> np.ndarray:  # fmt: skip
    """``draw(rng)`` (an array of ``shape``) once per face, stacked (len(ids), *shape):
    face ``i``'s generator is seeded by ``[*seed, crc32(stream), ids[i]]``, so a face's
    random numbers depend on the seed, on what they are for (``stream``: e.g. ``"ranks"``,
    ``"road"``) and on the face's id, never on which other faces share its batch, chunk or
    worker (an evaluation split over workers draws the same numbers as one process)."""
    head = [int(v) for v in np.atleast_1d(seed)] + [zlib.crc32(stream.encode())]
    out = [np.asarray(draw(np.random.default_rng([*head, int(i)]))) for i in ids]
    return np.stack(out) if out else np.empty((0, *shape))
