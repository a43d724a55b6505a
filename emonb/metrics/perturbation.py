"""Faithfulness by perturbation: deletion and insertion curves (Petsiuk et al. 2018, RISE).

Pixels are removed from (or put back into) the model's input in the order of the map,
most important first, and the target-class probability is recorded after each step. A
faithful map makes the deletion curve fall fast (low AUC) and the insertion curve rise
fast (high AUC). The *baseline* that stands in for a removed pixel is a Gaussian blur of
the image (sigma = a tenth of the input side; ``"blur"``, the default, as in RISE's
insertion) or the image's own mean grey (``"mean"``). Ties in a map are broken by a seeded
random order, so flat maps do not delete the top rows first.

Maps are what the methods return, ``(N, H, W)`` at the model's input size; images are
preprocessed batches ``(N, H, W, C)``; the model is reached only through a ``score``
callable (:func:`class_probability` of a :class:`~emonb.models.runner.Runner`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from emonb.errors import EmonbError
from emonb.models.runner import Runner

__all__ = ["BASELINES", "Curves", "baseline_images", "class_probability", "perturbation_curves"]

#: What replaces a removed pixel: a Gaussian blur of the image or its mean grey.
BASELINES = ("blur", "mean")

#: ``score(x, targets) -> (N,)``: each preprocessed image's score for its target class.
Score = Callable[[np.ndarray, np.ndarray], np.ndarray]


def class_probability(runner: Runner) -> Score:
    """``score(x, targets)``: each preprocessed image's probability of its target class,
    (N,) float32, by ``runner`` (:meth:`Runner.probabilities`, one compiled pass per batch)."""

    def score(x: np.ndarray, targets: np.ndarray) -> np.ndarray:
        p = runner.probabilities(np.asarray(x, dtype=np.float32))
        return p[np.arange(len(p)), np.asarray(targets)].astype(np.float32)

    return score


def baseline_images(x: np.ndarray, kind: str = "blur") -> np.ndarray:
    """The stand-in for removed pixels, same shape as the preprocessed batch ``x``
    (N, H, W, C): a Gaussian blur with sigma = H/10 px (``"blur"``) or each image's mean
    value (``"mean"``).

    References: Petsiuk, Das & Saenko (2018), "RISE: randomized input sampling for
    explanation of black-box models" (the blurred canvas of insertion).
    """
    x = np.asarray(x, dtype=np.float32)
    if kind == "mean":
        return np.broadcast_to(x.mean(axis=(1, 2, 3), keepdims=True), x.shape).copy()
    if kind != "blur":
        raise EmonbError(f"unknown baseline {kind!r}; choose one of {', '.join(BASELINES)}")
    sigma = x.shape[1] / 10
    out = np.stack([cv2.GaussianBlur(im, (0, 0), sigma, borderType=cv2.BORDER_REFLECT) for im in x])
    return out.reshape(x.shape)


def _ranks(maps: np.ndarray, seed: int) -> np.ndarray:
    """Per image, each pixel's position in the removal order (0 = most important);
    ties broken by a seeded random permutation."""
    n = len(maps)
    flat = maps.reshape(n, -1)
    jitter = np.random.default_rng(seed).random(flat.shape)
    order = np.lexsort((jitter, -flat), axis=1) if flat.size else flat.astype(int)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(flat.shape[1])[None, :].repeat(n, 0), axis=1)
    return ranks


@dataclass(frozen=True)
class Curves:
    """Deletion or insertion curves: ``scores[i, k]`` is image i's target probability
    with ``fractions[k]`` of its pixels removed (deletion) or restored (insertion)."""

    mode: str
    fractions: np.ndarray
    scores: np.ndarray

    @property
    def auc(self) -> np.ndarray:
        """Area under each image's curve (trapezoid over the fraction in [0, 1])."""
        return np.trapezoid(self.scores, self.fractions, axis=1).astype(np.float32)


def perturbation_curves(
    score: Score,
    x: np.ndarray,
    maps: np.ndarray,
    targets: np.ndarray,
    *,
    mode: str = "deletion",
    steps: int = 16,
    baseline: str = "blur",
    seed: int = 0,
) -> Curves:
    """Deletion (``mode="deletion"``) or insertion curves for preprocessed images ``x``
    (N, H, W, C), maps (N, H, W) at the same size and class indices ``targets``.

    ``score(x, targets)`` returns the target probabilities (see :func:`class_probability`);
    it is called ``steps + 1`` times on N images, after removing (deletion) or restoring
    (insertion) ``k / steps`` of each image's pixels, k = 0..steps.

    References: Petsiuk, Das & Saenko (2018), "RISE: randomized input sampling for
    explanation of black-box models" (the deletion and insertion metrics).
    """
    if mode not in ("deletion", "insertion"):
        raise EmonbError(f"mode must be 'deletion' or 'insertion', not {mode!r}")
    x = np.asarray(x, dtype=np.float32)
    maps = np.asarray(maps, dtype=np.float32)
    if maps.shape != x.shape[:3]:
        raise EmonbError(f"maps {maps.shape} do not match the images {x.shape[:3]}")
    targets = np.asarray(targets)
    base = baseline_images(x, baseline)
    ranks = _ranks(maps, seed).reshape(maps.shape)[..., None]
    pixels = maps.shape[1] * maps.shape[2]
    fractions = np.linspace(0.0, 1.0, int(steps) + 1)
    scores = np.empty((len(x), len(fractions)), dtype=np.float32)
    for k, f in enumerate(fractions):
        changed = ranks < int(round(f * pixels))
        img = np.where(changed, base, x) if mode == "deletion" else np.where(changed, x, base)
        scores[:, k] = score(img, targets)
    return Curves(mode=mode, fractions=fractions, scores=scores)
