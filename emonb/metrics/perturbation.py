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
callable (:func:`emonb.models.runner.class_probability` of a runner); the baseline is
:func:`emonb.methods.baselines.baseline_images`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from emonb.arrays import face_draws, face_ids
from emonb.errors import EmonbError
from emonb.methods.baselines import baseline_images
from emonb.metrics.stats import pearson
from emonb.models.runner import ClassScore

__all__ = [
    "Curves",
    "faithfulness_correlation",
    "perturbation_curves",
]


def _ranks(maps: np.ndarray, seed: int, ids=None) -> np.ndarray:
    """Per image, each pixel's position in the removal order (0 = most important);
    ties broken by a random permutation seeded per face (:func:`~emonb.arrays.face_draws`
    of ``ids``, default 0..N-1)."""
    n = len(maps)
    flat = maps.reshape(n, -1)
    jitter = face_draws(seed, "ranks", face_ids(ids, n), lambda g: g.random(flat.shape[1]),
                        (flat.shape[1],))  # fmt: skip
    order = np.lexsort((jitter, -flat), axis=1) if flat.size else flat.astype(int)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(flat.shape[1])[None, :].repeat(n, 0), axis=1)
    return ranks


def images_and_maps(x, maps) -> tuple[np.ndarray, np.ndarray]:
    """Preprocessed images (N, H, W, C) and their maps (N, H, W) as float32, checked to
    match (the input check of every curve metric)."""
    x = np.asarray(x, dtype=np.float32)
    maps = np.asarray(maps, dtype=np.float32)
    if maps.shape != x.shape[:3]:
        raise EmonbError(f"maps {maps.shape} do not match the images {x.shape[:3]}")
    return x, maps


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
    score: ClassScore,
    x: np.ndarray,
    maps: np.ndarray,
    targets: np.ndarray,
    *,
    mode: str = "deletion",
    steps: int = 16,
    baseline: str = "blur",
    seed: int = 0,
    ids=None,
) -> Curves:
    """Deletion (``mode="deletion"``) or insertion curves for preprocessed images ``x``
    (N, H, W, C), maps (N, H, W) at the same size and class indices ``targets``.

    ``score(x, targets)`` returns the target probabilities (see :func:`class_probability`);
    it is called ``steps + 1`` times on N images, after removing (deletion) or restoring
    (insertion) ``k / steps`` of each image's pixels, k = 0..steps. Ties in a map are
    broken at random, seeded by ``seed`` and each face's id (``ids``, default 0..N-1: a
    face's curve does not depend on the faces beside it).

    References: Petsiuk, Das & Saenko (2018), "RISE: randomized input sampling for
    explanation of black-box models" (the deletion and insertion metrics).
    """
    if mode not in ("deletion", "insertion"):
        raise EmonbError(f"mode must be 'deletion' or 'insertion', not {mode!r}")
    x, maps = images_and_maps(x, maps)
    targets = np.asarray(targets)
    base = baseline_images(x, baseline)
    ranks = _ranks(maps, seed, ids).reshape(maps.shape)[..., None]
    pixels = maps.shape[1] * maps.shape[2]
    fractions = np.linspace(0.0, 1.0, int(steps) + 1)
    scores = np.empty((len(x), len(fractions)), dtype=np.float32)
    for k, f in enumerate(fractions):
        removed = int(round(f * pixels))
        if removed in (0, pixels):  # the image itself or its baseline, whatever the map
            whole = (removed == 0) == (mode == "deletion")
            scores[:, k] = _end_scores(score, x, base, targets, baseline)[0 if whole else 1]
            continue
        changed = ranks < removed
        img = np.where(changed, base, x) if mode == "deletion" else np.where(changed, x, base)
        scores[:, k] = score(img, targets)
    return Curves(mode=mode, fractions=fractions, scores=scores)


#: The last scores of :func:`_end_scores`: ``(key, (intact, baseline))``.
_ENDS: list = []


def _end_scores(score: ClassScore, x: np.ndarray, base: np.ndarray, targets: np.ndarray,
                baseline: str) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """``(score(x, targets), score(base, targets))``, the ends of every deletion and
    insertion curve of ``x`` (no pixel or every pixel replaced by the baseline): the same
    images for every map, so they are scored once for all the maps of the same faces and
    kept for the next call (one entry, keyed by the ``score`` callable itself and a digest
    of the images, targets and baseline; ``score`` is assumed to be a function of its
    input, as the runner's is)."""
    import hashlib

    digest = hashlib.blake2b(digest_size=16)
    for part in (x, np.asarray(targets), np.frombuffer(baseline.encode(), np.uint8)):
        digest.update(np.ascontiguousarray(part).view(np.uint8).reshape(-1).data)
        digest.update(str((part.dtype, part.shape)).encode())
    key = (score, digest.hexdigest())
    if not _ENDS or _ENDS[0][0] != key:
        _ENDS[:] = [(key, (np.asarray(score(x, targets), np.float32),
                           np.asarray(score(base, targets), np.float32)))]  # fmt: skip
    return _ENDS[0][1]


#: Perturbed images per ``score`` call in :func:`faithfulness_correlation`.
_CHUNK = 1024


def faithfulness_correlation(
    score: ClassScore,
    x: np.ndarray,
    maps: Mapping[str, np.ndarray],
    targets: np.ndarray,
    *,
    subset: float = 0.1,
    runs: int = 50,
    baseline: str = "blur",
    seed: int = 0,
    ids=None,
) -> dict[str, np.ndarray]:
    """Per method (the keys of ``maps``, each (N, H, W)), each image's Pearson correlation
    between the map's sum over a random pixel subset S and the score drop
    ``score(x) - score(x with S replaced by the baseline)``, over ``runs`` subsets of
    ``round(subset * H * W)`` pixels (N,). 1: the map adds up like the model's evidence.

    The subsets are seeded per face (``seed`` and the face's id in ``ids``, default
    0..N-1) and shared by all methods, so the ``runs * N`` perturbed
    images are scored once for every method (``score`` sees ``N + runs * N`` images in
    all, in calls of about 1024): this is why the metric takes all maps at once. A map
    or a drop that is constant over the runs has no correlation: 0, not NaN.

    Settings differ from Quantus's (``nr_runs=100``, ``subset_size=224`` pixels of a
    224 x 224 image, a black baseline): a tenth of a 64 x 64 face (410 pixels) moves the
    probability measurably, and the blurred baseline of :func:`baseline_images` stays
    closer to a face than black.

    References: Bhatt, Weller & Moura, "Evaluating and Aggregating Feature-based Model
    Explanations", IJCAI 2020.
    """
    from emonb.errors import check_count

    runs = check_count("runs", runs)
    x = np.asarray(x, dtype=np.float32)
    n, h, w = x.shape[:3]
    pixels = h * w
    k = int(round(float(subset) * pixels))
    if not 0 < k <= pixels:
        raise EmonbError(f"subset must select between 1 and {pixels} pixels, not {subset!r}")
    flat = {}
    for name, m in maps.items():
        m = np.asarray(m, dtype=np.float32)
        if m.shape != (n, h, w):
            raise EmonbError(f"maps {name!r} {m.shape} do not match the images {(n, h, w)}")
        flat[name] = m.reshape(n, pixels)
    targets = np.asarray(targets)
    base = baseline_images(x, baseline)
    # each run: k of each image's pixels, without replacement, shared by all methods
    picks = face_draws(seed, "faithfulness", face_ids(ids, n),
                       lambda g: np.argpartition(g.random((runs, pixels)), k - 1, axis=1)[:, :k],
                       (runs, k))  # fmt: skip
    chosen = np.ascontiguousarray(picks.transpose(1, 0, 2)).astype(np.intp)  # (runs, n, k)
    intact = np.asarray(score(x, targets), dtype=np.float32)
    drops = np.empty((runs, n), dtype=np.float32)
    xf, bf = x.reshape(n, pixels, -1), base.reshape(n, pixels, -1)
    step = max(1, _CHUNK // max(n, 1))
    for r0 in range(0, runs, step):
        idx = chosen[r0 : r0 + step]
        img = np.repeat(xf[None], len(idx), axis=0)
        for j, cols in enumerate(idx):
            np.put_along_axis(img[j], cols[..., None],
                              np.take_along_axis(bf, cols[..., None], axis=1), axis=1)  # fmt: skip
        out = score(img.reshape(-1, *x.shape[1:]), np.tile(targets, len(idx)))
        drops[r0 : r0 + len(idx)] = intact[None, :] - np.asarray(out, np.float32).reshape(-1, n)
    rows = np.arange(n)[None, :, None]
    result = {}
    for name, m in flat.items():
        sums = m[rows, chosen].sum(axis=2, dtype=np.float64)  # (runs, N)
        result[name] = pearson(sums.T, drops.T)
    return result
