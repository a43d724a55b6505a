"""Region occlusion: how much a face's class probability drops when one region is replaced
by a baseline (the one implementation behind the face-region drops of
:func:`emonb.metrics.regions.occlusion_drops` and the action-unit drops of
:mod:`emonb.metrics.action_units`).

References: Zeiler & Fergus (2014), "Visualizing and understanding convolutional networks"
(occlusion sensitivity).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from emonb.arrays import face_ids, resize_fractions, resize_maps
from emonb.errors import EmonbError
from emonb.methods.baselines import BASELINES, baseline_images
from emonb.metrics.road import noisy_linear_imputation

__all__ = ["OCCLUSION_BASELINES", "occlusion"]

_BATCH_VALUES = 1 << 24  # floats per batch of occluded images (64 MB)


def _at_size(masks: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Masks (N, R, h, w) as fractions at (H, W): boolean masks resized nearest (a pixel is
    occluded or kept), soft fractions area-averaged when shrinking, bilinear when enlarging,
    clipped to [0, 1]."""
    n, r, h, w = masks.shape
    flat = masks.reshape(n * r, h, w)
    if masks.dtype == bool:
        hard = resize_maps(flat.astype(np.float32), size, cv2.INTER_NEAREST) > 0.5
        return hard.astype(np.float32).reshape(n, r, *size)
    flat = flat.astype(np.float32)
    return (flat if (h, w) == size else resize_fractions(flat, size)).reshape(n, r, *size)


def _score_fn(runner_or_score) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    from emonb._tf import keras
    from emonb.models.runner import Runner, class_probability, runner_for
    from emonb.models.zoo import EmotionModel, as_emotion_model

    if isinstance(runner_or_score, Runner):
        return class_probability(runner_or_score)
    if isinstance(runner_or_score, (EmotionModel, keras.Model)):
        return class_probability(runner_for(as_emotion_model(runner_or_score)))
    if callable(runner_or_score):
        return runner_or_score
    raise TypeError("expected a Runner, an EmotionModel, a keras.Model or a score(x, targets)")


#: Baselines :func:`occlusion` accepts: those of :mod:`emonb.methods.baselines` and noisy
#: linear imputation of the region from its surroundings (ROAD's imputer).
OCCLUSION_BASELINES = (*BASELINES, "nli")


def occlusion(runner_or_score, x: np.ndarray, targets: np.ndarray, masks: np.ndarray, *,
              baseline: str = "blur", reference: np.ndarray | None = None,
              seed: int = 0, ids=None) -> np.ndarray:  # fmt: skip
    """Drop of the target probability when one region alone is replaced by the baseline:
    (N, R) float32, ``p(original) - p(occluded)``.

    ``runner_or_score``: a :class:`~emonb.models.runner.Runner`, an emotion model (its
    own runner is used), or ``score(x, targets) -> (N,)``; ``x``: preprocessed images
    (N, H, W, C); ``targets``: class index per image; ``masks``: soft region masks
    (N, R, h, w), or (R, h, w) shared by every face, at any size (:func:`_at_size`): a
    boolean mask replaces pixels, a soft mask blends them, ``x * (1 - m) + base * m``, with ``base`` from
    :func:`~emonb.methods.baselines.baseline_images` (``"blur"`` or ``"mean"``), or, for
    ``"nli"``, the region's noisy linear imputation from the pixels around it
    (:func:`~emonb.metrics.road.noisy_linear_imputation`, every pixel the region touches
    imputed; Rong et al. 2022), its noise seeded by ``seed``, the region and the face's id
    (``ids``, default 0..N-1: :func:`_imputed`), so that a face's drops do not depend on
    the faces beside it. The N x R occluded images are scored in batches of bounded
    memory. ``reference``: the unoccluded scores, when the caller has them (they are
    computed otherwise).

    References: Zeiler & Fergus (2014), "Visualizing and understanding convolutional
    networks" (occlusion sensitivity).
    """
    x = np.asarray(x, dtype=np.float32)
    targets = np.asarray(targets).astype(np.int64).reshape(-1)
    masks = np.asarray(masks)
    if masks.ndim == 3 and len(x):  # one set of regions for every face
        masks = np.broadcast_to(masks[None], (len(x), *masks.shape))
    if x.ndim != 4 or masks.ndim != 4 or len(masks) != len(x) or len(targets) != len(x):
        raise ValueError(f"expected x (N, H, W, C), N targets and masks (N, R, h, w); got "
                         f"{x.shape}, {targets.shape} and {masks.shape}")  # fmt: skip
    score = _score_fn(runner_or_score)
    n, r = masks.shape[:2]
    ids = face_ids(ids, n)
    if baseline not in OCCLUSION_BASELINES:
        raise EmonbError(f"unknown baseline {baseline!r}; choose one of {', '.join(OCCLUSION_BASELINES)}")
    base = None if baseline == "nli" else baseline_images(x, baseline)
    p0 = (score(x, targets) if reference is None else np.asarray(reference)).astype(np.float32)
    drops = np.empty((n, r), np.float32)
    step = max(1, _BATCH_VALUES // int(np.prod(x.shape[1:3]) * max(x.shape[3], r)))
    for s in range(0, n, step):
        xs, ts = x[s : s + step], targets[s : s + step]
        ms = _at_size(masks[s : s + step], x.shape[1:3])
        for k in range(r):
            m = ms[:, k, :, :, None]
            bs = (base[s : s + step] if base is not None
                  else _imputed(xs, ms[:, k] > 0, seed, k, ids[s : s + step], step))  # fmt: skip
            drops[s : s + step, k] = p0[s : s + step] - score(xs * (1 - m) + bs * m, ts)
    return drops


def _imputed(x: np.ndarray, removed: np.ndarray, seed: int, region: int, ids: np.ndarray,
             step: int) -> np.ndarray:  # fmt: skip
    """:func:`~emonb.metrics.road.noisy_linear_imputation` of ``x`` for one region, each
    face's noise seeded by ``[seed, block, region]`` and its place in the block, where the
    block is its id's run of ``step`` ids (``step``: faces per scoring batch, fixed by the
    image and region counts, not by the faces given). With the default ids 0..N-1 a block is
    a scoring batch, so these are the draws of earlier releases, which seeded "by the batch
    and the region"; with explicit ids a face draws the same noise in any chunk."""
    out = np.empty_like(x)
    block = ids // step * step
    for b in np.unique(block):
        sel = block == b
        out[sel] = noisy_linear_imputation(x[sel], removed[sel], seed=[seed, int(b), region],
                                           ids=ids[sel] - b)  # fmt: skip
    return out
