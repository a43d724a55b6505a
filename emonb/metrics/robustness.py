"""Robustness: does a map stay put when the face barely changes?

**Max-sensitivity** (Yeh et al. 2019): the largest relative change of a map under small
random perturbations of its input, ``max ||e(x + delta) - e(x)|| / ||e(x)||``. A map that
jumps under noise the model cannot see explains the noise, not the face.

The explanation is reached only through an ``explain`` callable, ``explain(x, targets)
-> (N, H, W)`` for preprocessed images (an explainer's
:meth:`~emonb.methods.base.Explainer.explain_inputs`); targets are fixed class indices,
so the perturbed images are explained for the same class.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from emonb.arrays import face_draws, face_ids
from emonb.errors import EmonbError

__all__ = ["Explain", "max_sensitivity"]

#: ``explain(x, targets) -> (N, H, W)``: maps for preprocessed images and class indices.
Explain = Callable[[np.ndarray, np.ndarray], np.ndarray]


def max_sensitivity(
    explain: Explain,
    x: np.ndarray,
    targets: np.ndarray,
    *,
    radius: float = 0.05,
    value_range: tuple[float, float] = (-1.0, 1.0),
    samples: int = 5,
    seed: int = 0,
    maps: np.ndarray | None = None,
    ids=None,
) -> np.ndarray:
    """Per image (N,), the largest ``||e(x + delta) - e(x)||_F / ||e(x)||_F`` over
    ``samples`` perturbations, for preprocessed images ``x`` (N, H, W, C).

    Each ``delta`` is uniform noise, every pixel and channel drawn independently from
    ``[-r, r]`` with ``r = radius * (value_range[1] - value_range[0])``, seeded by ``seed``
    and each image's id (``ids``, default 0..N-1); ``x +
    delta`` is clipped to ``value_range``. ``explain`` is called once per sample on all N
    images (and once on ``x`` unless ``maps`` = e(x) is given). A zero map has no
    relative change: its sensitivity is 0 when the perturbed maps are zero too and
    infinite otherwise.

    Quantus's ``MaxSensitivity`` uses the same Frobenius ratio (``norm_numerator`` and
    ``norm_denominator`` = ``fro_norm`` of ``e(x + delta) - e(x)`` and of ``e(x)``, maps
    normalised by their maximum, which the methods' [0, 1] maps already are) with 200
    samples of uniform noise of half-width 0.2 on ImageNet-normalised inputs (about 4 %
    of their range) and no clipping. emonb states the radius relative to the model's
    value range (0.05 x 2 = 0.1 on the mini-Xception's [-1, 1]), clips so the input stays
    an image, and takes 5 samples: each one costs a full explanation of every image.

    References: Yeh, Hsieh, Suggala, Inouye & Ravikumar, "On the (In)fidelity and
    Sensitivity of Explanations", NeurIPS 2019.
    """
    from emonb.errors import check_count

    samples = check_count("samples", samples)
    lo, hi = (float(v) for v in value_range)
    if not hi > lo:
        raise EmonbError(f"value_range must be (low, high) with low < high, not {value_range!r}")
    if radius < 0:
        raise EmonbError(f"radius must be >= 0, not {radius!r}")
    x = np.asarray(x, dtype=np.float32)
    targets = np.asarray(targets)
    ref = np.asarray(explain(x, targets) if maps is None else maps, dtype=np.float64)
    if ref.shape != x.shape[:3]:
        raise EmonbError(f"maps {ref.shape} do not match the images {x.shape[:3]}")
    n = len(x)
    ref = ref.reshape(n, -1)
    norm = np.linalg.norm(ref, axis=1)
    r = float(radius) * (hi - lo)
    # every sample's noise of each image, from the image's own generator
    deltas = face_draws(seed, "sensitivity", face_ids(ids, n),
                        lambda g: g.uniform(-r, r, size=(samples, *x.shape[1:])),
                        (samples, *x.shape[1:])).astype(np.float32)  # fmt: skip
    worst = np.zeros(n, dtype=np.float64)
    for j in range(samples):
        delta = deltas[:, j]
        moved = np.asarray(explain(np.clip(x + delta, lo, hi), targets), dtype=np.float64)
        diff = np.linalg.norm(moved.reshape(n, -1) - ref, axis=1)
        ratio = np.where(norm > 0, diff / np.where(norm > 0, norm, 1.0),
                         np.where(diff > 0, np.inf, 0.0))  # fmt: skip
        worst = np.maximum(worst, ratio)
    return worst.astype(np.float32)
