"""Faithfulness without the distribution shift of blurring: ROAD (Rong et al. 2022).

Deleting pixels by replacing them with a blur or a grey (:mod:`emonb.metrics.perturbation`)
leaves the shape of the deleted set in the image, and a model can read the class off
that shape instead of off the pixels that are gone ("class information leakage"). ROAD
(RemOve And Debias) fills each removed pixel with the *noisy linear imputation* of its
neighbours instead, so the fill follows the surrounding face and the mask's outline
carries almost nothing. :func:`road_curves` records the target score after removing the
most relevant fraction of pixels first (MoRF, the curve of a faithful map falls fast)
or the least relevant first (LeRF, it stays high); :func:`road_gap` summarises each
image by ``mean(LeRF) - mean(MoRF)`` (higher = more faithful).

Maps are what the methods return, ``(N, H, W)`` at the model's input size; images are
preprocessed batches ``(N, H, W, C)``; the model is reached only through a ``score``
callable (:func:`emonb.models.runner.class_probability`).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from emonb.arrays import face_draws, face_ids
from emonb.errors import EmonbError
from emonb.metrics.perturbation import Curves, _ranks, images_and_maps
from emonb.models.runner import ClassScore

__all__ = ["noisy_linear_imputation", "road_curves", "road_gap"]

#: Neighbour weights of Rong et al.'s NoisyLinearImputer: 1/6 for the four direct and
#: 1/12 for the four diagonal neighbours (zero in the centre).
WEIGHTS = np.array([[1, 2, 1], [2, 0, 2], [1, 2, 1]], np.float32) / 12

#: Images solved together (a chunk's arrays stay in the CPU cache).
_CHUNK = 64
#: Conjugate-gradient stop: an iteration cap per level (the residual is each image's own).
_MAXITER = 2000


def _tile(a: np.ndarray) -> np.ndarray:
    """(B, H, W) -> (B * (H + 1), W): images stacked with one zero row after each, so one
    OpenCV filter over the stack (zero borders) never mixes two images."""
    b, h, w = a.shape
    out = np.zeros((b, h + 1, w), np.float32)
    out[:, :h] = a
    return out.reshape(b * (h + 1), w)


def _untile(t: np.ndarray, h: int) -> np.ndarray:
    w = t.shape[1]
    return t.reshape(-1, h + 1, w)[:, :h]


def _neighbours(t: np.ndarray) -> np.ndarray:
    """The weighted sum of each pixel's neighbours (pixels outside an image count 0)."""
    return cv2.filter2D(t, -1, WEIGHTS, borderType=cv2.BORDER_CONSTANT)


def _cg(x: np.ndarray, known: np.ndarray, guess: np.ndarray, tol: float) -> np.ndarray:
    """Solve the interpolation equations for the unknown pixels of a chunk (B, H, W).

    Every unknown pixel p satisfies ``d_p v_p - sum_q w_pq v_q = 0`` over its in-image
    neighbours q (``d_p`` = the sum of their weights), known pixels fixed: with ``v``
    zero on known pixels, ``A v = b``, ``A = M (D - W) M`` (a principal submatrix of a
    graph Laplacian, symmetric positive definite when each hole touches a known pixel)
    and ``b = M W x_known``. Conjugate gradients from ``guess``, each image's system on its
    own (its own step sizes, stopped when its ``||r|| <= tol ||b||``: an image's
    imputation does not depend on the images sharing its chunk), the chunk's images
    filtered together as one tiled array.
    """
    n, h = x.shape[0], x.shape[1]

    def dots(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # per image, in double
        return np.einsum("ij,ij->i", a.reshape(n, -1), b.reshape(n, -1), dtype=np.float64)

    def per_image(values: np.ndarray) -> np.ndarray:  # (B,) -> broadcast over the tiles
        return np.repeat(values.astype(np.float32), h + 1)[:, None]

    m = _tile(1.0 - known)
    dm = _neighbours(_tile(np.ones_like(x))) * m  # d_p on the unknown pixels
    b = m * _neighbours(_tile(x * known))
    v = _tile(guess) * m
    r = b - (dm * v - m * _neighbours(v))
    p = r.copy()
    rr = dots(r, r)
    stop = np.maximum(tol * tol * dots(b, b), 1e-30)
    ap = np.empty_like(p)
    for _ in range(_MAXITER):
        active = rr > stop
        if not active.any():
            break
        np.multiply(dm, p, out=ap)
        ap -= m * _neighbours(p)
        pap = dots(p, ap)
        alpha = np.where(active & (pap > 0), rr / np.where(pap > 0, pap, 1.0), 0.0)
        v += per_image(alpha) * p
        r -= per_image(alpha) * ap
        rr_new = dots(r, r)
        beta = np.where(active, rr_new / np.where(rr > 0, rr, 1.0), 0.0)
        p *= per_image(beta)
        p += r
        rr = np.where(active, rr_new, rr)
    return _untile(v, h) + x * known


def _solve(x: np.ndarray, known: np.ndarray, tol: float) -> np.ndarray:
    """Coarse to fine: the same equations on 2x2-pooled images (a coarse pixel is known
    when any of its four is, with their mean) give the start of the next finer solve."""
    xs, ks = [x], [known]
    while xs[-1].shape[1] % 2 == 0 and xs[-1].shape[2] % 2 == 0 and min(xs[-1].shape[1:]) >= 16:
        b, h, w = xs[-1].shape
        k4 = ks[-1].reshape(b, h // 2, 2, w // 2, 2).sum(axis=(2, 4))
        v4 = (xs[-1] * ks[-1]).reshape(b, h // 2, 2, w // 2, 2).sum(axis=(2, 4))
        xs.append(v4 / np.maximum(k4, 1e-12))
        ks.append((k4 > 0).astype(np.float32))
    mean = (x * known).sum(axis=(1, 2), keepdims=True) / known.sum(axis=(1, 2), keepdims=True)
    guess = np.broadcast_to(mean, xs[-1].shape).astype(np.float32)
    for level in range(len(xs) - 1, -1, -1):
        sol = _cg(xs[level], ks[level], guess, tol)
        if level:
            guess = sol.repeat(2, axis=1).repeat(2, axis=2)
    return sol


def noisy_linear_imputation(
    x: np.ndarray,
    removed: np.ndarray,
    *,
    noise: float = 0.01,
    seed: int | Sequence[int] = 0,
    tol: float = 3e-4,
    ids=None,
) -> np.ndarray:
    """Preprocessed images ``x`` (N, H, W, C) with the ``removed`` pixels (N, H, W) bool
    replaced by their noisy linear imputation; the other pixels are returned unchanged.

    Each removed pixel equals the weighted mean of its in-image neighbours (weight 1/6
    for the four direct, 1/12 for the four diagonal ones), removed neighbours included,
    known neighbours fixed: the linear system of Rong et al.'s ``NoisyLinearImputer``,
    one per channel. Then Gaussian noise of standard deviation ``noise``, in the units of
    ``x`` (absolute, as in the reference and in Quantus's ``noisy_linear_imputation``;
    0.01 is 0.5 % of the mini-Xception's [-1, 1] range), is added to the removed pixels
    only, seeded by ``seed`` and each image's id (``ids``, default 0..N-1;
    :func:`~emonb.arrays.face_draws`: an image's noise does not depend on its neighbours).

    emonb solves the systems of all images at once by conjugate gradients (coarse to
    fine, chunks of 64 images), each image to its own relative residual ``tol``, instead of one sparse
    direct solve per image: the default 3e-4 leaves errors of a few thousandths on the
    largest holes, below the noise. An image with every pixel removed has nothing to
    interpolate from: it gets its own mean (per channel).

    References: Rong, Leemann, Borisov, Kasneci & Kasneci, "A Consistent and Efficient
    Evaluation Strategy for Attribution Methods", ICML 2022 (ROAD; NoisyLinearImputer).
    """
    x = np.asarray(x, dtype=np.float32)
    removed = np.asarray(removed, dtype=bool)
    if x.ndim != 4 or removed.shape != x.shape[:3]:
        raise EmonbError(f"removed {removed.shape} does not match the images {x.shape[:3]}")
    n, h, w, c = x.shape
    planes = np.ascontiguousarray(np.moveaxis(x, 3, 1)).reshape(n * c, h, w)
    known = np.repeat((~removed).astype(np.float32), c, axis=0)
    out = planes.copy()
    count = known.sum(axis=(1, 2))
    blank = count == 0  # nothing to interpolate from: the plane's own mean
    out[blank] = planes[blank].mean(axis=(1, 2), keepdims=True)
    todo = np.flatnonzero((count > 0) & (count < h * w))
    for start in range(0, len(todo), _CHUNK):
        idx = todo[start : start + _CHUNK]
        out[idx] = _solve(planes[idx], known[idx], tol)
    out = np.moveaxis(out.reshape(n, c, h, w), 1, 3)
    if noise:
        jitter = face_draws(seed, "imputation", face_ids(ids, n),
                            lambda g: g.standard_normal(x.shape[1:], dtype=np.float32),
                            x.shape[1:]).astype(np.float32)  # fmt: skip
        out = out + np.float32(noise) * jitter * removed[..., None]
    return np.where(removed[..., None], out, x).astype(np.float32)


def road_curves(
    score: ClassScore,
    x: np.ndarray,
    maps: np.ndarray,
    targets: np.ndarray,
    *,
    order: str = "morf",
    fractions: Sequence[float] = (0.1, 0.3, 0.5, 0.7, 0.9),
    noise: float = 0.01,
    seed: int = 0,
    ids=None,
) -> Curves:
    """ROAD curves for preprocessed images ``x`` (N, H, W, C), maps (N, H, W) at the same
    size and class indices ``targets``: ``scores[i, k]`` is ``score`` (see
    :func:`~emonb.models.runner.class_probability`) after ``fractions[k]`` of image
    i's pixels were removed by :func:`noisy_linear_imputation`, the most relevant first
    (``order="morf"``, mode ``"road-morf"``) or the least relevant first (``"lerf"``).

    Ties in a map are broken by the seeded random order of
    :func:`~emonb.metrics.perturbation.perturbation_curves`; the noise of fraction k is
    seeded by ``[seed, k]`` and each face's id (``ids``, default 0..N-1). ``score`` is called once per fraction on the N images.
    :attr:`Curves.auc` integrates over the fractions given (not over [0, 1]).

    emonb deviates from the reference in two settings: it records the target
    probability, not whether the prediction is still right (accuracy), so that one image
    gives a curve; and five fractions instead of Quantus's 50 (1 %, 3 %, ... 99 %), which
    keeps the imputations affordable on CPU.

    References: Rong, Leemann, Borisov, Kasneci & Kasneci, "A Consistent and Efficient
    Evaluation Strategy for Attribution Methods", ICML 2022.
    """
    if order not in ("morf", "lerf"):
        raise EmonbError(f"order must be 'morf' or 'lerf', not {order!r}")
    x, maps = images_and_maps(x, maps)
    fr = np.asarray(fractions, dtype=np.float64)
    if fr.ndim != 1 or fr.size == 0 or (fr < 0).any() or (fr > 1).any():
        raise EmonbError(f"fractions must be a non-empty list in [0, 1], not {fractions!r}")
    targets = np.asarray(targets)
    ranks = _ranks(maps, seed, ids).reshape(maps.shape)
    pixels = maps.shape[1] * maps.shape[2]
    scores = np.empty((len(x), len(fr)), dtype=np.float32)
    for k, f in enumerate(fr):
        count = int(round(f * pixels))
        removed = ranks < count if order == "morf" else ranks >= pixels - count
        img = noisy_linear_imputation(x, removed, noise=noise, seed=[seed, k], ids=ids)
        scores[:, k] = score(img, targets)
    return Curves(mode=f"road-{order}", fractions=fr, scores=scores)


def road_gap(morf: Curves, lerf: Curves) -> np.ndarray:
    """Per image, ``mean(LeRF scores) - mean(MoRF scores)`` over the fractions (N,):
    higher = removing what the map calls relevant hurts more than removing the rest.

    References: Rong et al., ICML 2022 (MoRF and LeRF orders).
    """
    if morf.mode != "road-morf" or lerf.mode != "road-lerf":
        raise EmonbError(f"expected road-morf and road-lerf curves, not {morf.mode}, {lerf.mode}")
    if not np.array_equal(morf.fractions, lerf.fractions):
        raise EmonbError("the MoRF and LeRF curves were taken at different fractions")
    return (lerf.scores.mean(axis=1) - morf.scores.mean(axis=1)).astype(np.float32)
