"""Shapley values of facial action units: how much each FACS action-unit region of a face
adds to the model's probability of a class, with the regions as the players of a game.

* :func:`kernel_shap`: Lundberg & Lee's KernelSHAP, model-free: ``value(z)`` gives the
  values of N games (one per face) for a batch of coalitions ``z``; the Shapley values come
  from a weighted least-squares fit under the Shapley kernel, with efficiency (the values
  sum to ``v(full) - v(empty)``) imposed exactly.
* :func:`masked_game`: the game of a face whose players are soft masks: a coalition keeps
  its players' pixels and replaces the others with a baseline image. Masks that sum to 1 at
  every pixel: ``x_z = base + (x - base) * sum_{j in z} mask_j``; overlapping masks
  (``overlap=True``): the union of the absent players' masks is replaced,
  ``x_z = x + (base - x) * min(1, sum_{j not in z} mask_j)``.
* :class:`AUShapley` (registry name ``"au_shap"``): the action-unit regions of each face's
  own mesh (``au_map``: the appearance map of :mod:`emonb.anatomy.appearance` by default, or
  py-feat's muscle map of :mod:`emonb.anatomy.regions`) plus "rest of face" as players, the
  blurred face as baseline, the target-class probability as value; ``values()`` returns
  the Shapley values, ``explain()`` paints them into the regions.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from math import comb
from typing import TYPE_CHECKING

import numpy as np

from emonb.errors import EmonbError, check_count
from emonb.methods.base import Explainer, Targets

if TYPE_CHECKING:
    import pandas as pd

    from emonb.faces.mesh import FaceMesh, Landmarks

__all__ = [
    "REST",
    "AUShapley",
    "ShapleyValues",
    "kernel_shap",
    "masked_game",
    "shapley_coalitions",
]

#: The name of the player that holds every pixel outside the action-unit regions.
REST = "rest of face"

#: ``value(z) -> (N, m)``: the values of N games for the coalitions ``z`` (m, P) bool.
Value = Callable[[np.ndarray], np.ndarray]
#: ``score(x, targets) -> (n,)``: each preprocessed image's score for its target class.
Score = Callable[[np.ndarray, np.ndarray], np.ndarray]


# ---- KernelSHAP, model-free ------------------------------------------------------------------
def shapley_coalitions(n_players: int, coalitions: int, seed: int = 0
                       ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The coalitions KernelSHAP evaluates and their regression weights: ``z`` (m, P) bool
    (neither empty nor full) and ``w`` (m,) float64, m <= ``coalitions``.

    If ``2**P - 2 <= coalitions`` every coalition is enumerated with its Shapley-kernel
    weight ``(P - 1) / (C(P, s) s (P - s))`` (s its size): the fit is then exact. Otherwise
    as the shap package's KernelExplainer: coalition sizes s and P - s are enumerated
    completely, smallest first, while the budget covers them at their share of the kernel's
    size distribution; the rest of the budget is drawn from the remaining sizes in
    proportion to that distribution, each coalition with its complement (paired
    sampling; a pair that no longer fits the budget is not drawn), duplicates adding to the
    weight of the first, and the drawn coalitions share the kernel weight the enumerated
    sizes leave. Paired coalitions give the fit one equation per pair, so a sampled budget
    under about 2P coalitions leaves it underdetermined. Deterministic for a ``seed``.

    References: Lundberg & Lee, "A Unified Approach to Interpreting Model Predictions",
    NeurIPS 2017; Covert & Lee, "Improving KernelSHAP", AISTATS 2021 (paired sampling).
    """
    p = check_count("n_players", n_players)
    budget = check_count("coalitions", coalitions)
    if p == 1:
        return np.zeros((0, 1), bool), np.zeros(0)
    if 2**p - 2 <= budget:
        codes = np.arange(1, 2**p - 1, dtype=np.int64)
        z = ((codes[:, None] >> np.arange(p)) & 1).astype(bool)
        s = z.sum(axis=1)
        sizes = np.array([0.0] + [comb(p, k) for k in range(1, p)])
        return z, (p - 1) / (sizes[s] * s * (p - s))

    rng = np.random.default_rng(seed)
    n_sizes, n_paired = (p - 1 + 1) // 2, (p - 1) // 2  # sizes 1..n_sizes; paired ones
    size_weight = np.array([(p - 1) / (s * (p - s)) for s in range(1, n_sizes + 1)])
    size_weight[:n_paired] *= 2
    size_weight /= size_weight.sum()
    rows: list[np.ndarray] = []
    weights: list[float] = []
    left = budget
    remaining = size_weight.copy()
    full_sizes = 0
    for s in range(1, n_sizes + 1):
        paired = s <= n_paired
        n_subsets = comb(p, s) * (2 if paired else 1)
        if left * remaining[s - 1] / n_subsets < 1.0 - 1e-8:
            break
        full_sizes += 1
        left -= n_subsets
        if remaining[s - 1] < 1:
            remaining /= 1 - remaining[s - 1]
        w = size_weight[s - 1] / comb(p, s) / (2 if paired else 1)
        for members in itertools.combinations(range(p), s):
            mask = np.zeros(p, bool)
            mask[list(members)] = True
            rows.append(mask)
            weights.append(w)
            if paired:
                rows.append(~mask)
                weights.append(w)
    n_fixed = len(rows)
    if full_sizes < n_sizes and left > 0:
        probs = size_weight.copy()
        probs[:n_paired] /= 2
        probs = probs[full_sizes:] / probs[full_sizes:].sum()
        draws = rng.choice(len(probs), size=4 * left, p=probs)
        seen: dict[bytes, int] = {}

        def add(mask: np.ndarray) -> bool:
            key = mask.tobytes()
            if key in seen:
                weights[seen[key]] += 1.0
                return False
            seen[key] = len(rows)
            rows.append(mask)
            weights.append(1.0)
            return True

        for d in draws:
            if left <= 0:
                break
            size = int(d) + full_sizes + 1
            mask = np.zeros(p, bool)
            mask[rng.permutation(p)[:size]] = True
            if size <= n_paired:  # a coalition and its complement, always together
                if left >= 2 or mask.tobytes() in seen:
                    left -= add(mask) + add(~mask)
            else:
                left -= add(mask)
        drawn = np.asarray(weights[n_fixed:])
        if drawn.size:
            weights[n_fixed:] = list(drawn * size_weight[full_sizes:].sum() / drawn.sum())
    return np.asarray(rows, bool).reshape(-1, p), np.asarray(weights, np.float64)


def kernel_shap(value: Value, n_players: int, *, coalitions: int, seed: int = 0
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """KernelSHAP estimates of the Shapley values of N games at once.

    ``value(z)`` takes a boolean coalition matrix ``z`` (m, P), True where a player plays,
    and returns the values (N, m) of the N games; it is called once, on the empty and the
    full coalition followed by the coalitions of :func:`shapley_coalitions` (``coalitions``
    of them at most, ``seed``). Returns ``phi`` (N, P), ``v_empty`` (N,) and ``v_full`` (N,)
    as float64.

    The values solve the weighted least-squares problem of Lundberg & Lee,
    ``min sum_z w(z) (v(z) - v(empty) - sum_{j in z} phi_j)^2`` under
    ``sum_j phi_j = v(full) - v(empty)``; the constraint is imposed exactly by eliminating
    the last player's value (as the shap package's KernelExplainer does), so the values sum
    to ``v(full) - v(empty)`` to float precision whatever the budget. With every coalition
    enumerated (``2**P - 2 <= coalitions``) they are the exact Shapley values; for an
    additive game ``v(z) = b + sum_{j in z} w_j`` they are the ``w_j`` with any budget that
    leaves the fit determined (rank-deficient fits take the least-norm solution).

    References: Lundberg & Lee, "A Unified Approach to Interpreting Model Predictions",
    NeurIPS 2017 (KernelSHAP); Shapley (1953), "A value for n-person games".
    """
    p = check_count("n_players", n_players)
    z, w = shapley_coalitions(p, coalitions, seed)
    ends = np.zeros((2, p), bool)
    ends[1] = True
    v = np.asarray(value(np.concatenate([ends, z])), dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != len(z) + 2:
        raise EmonbError(f"value(z) must return (N, {len(z) + 2}) values for {len(z) + 2} "
                         f"coalitions, got shape {v.shape}")  # fmt: skip
    v_empty, v_full = v[:, 0], v[:, 1]
    delta = v_full - v_empty
    phi = np.empty((len(v), p))
    if p == 1:
        phi[:, 0] = delta
        return phi, v_empty, v_full
    zf = z.astype(np.float64)
    a = zf[:, :-1] - zf[:, -1:]  # (m, P-1): phi_P = delta - sum_{j<P} phi_j eliminated
    b = (v[:, 2:] - v_empty[:, None]) - zf[:, -1][None, :] * delta[:, None]  # (N, m)
    root = np.sqrt(w)[:, None]
    sol = np.linalg.lstsq(a * root, (b.T * root), rcond=None)[0]  # (P-1, N)
    phi[:, :-1] = sol.T
    phi[:, -1] = delta - sol.sum(axis=0)
    return phi, v_empty, v_full


# ---- the game of a face ------------------------------------------------------------------------
def masked_game(score: Score, x: np.ndarray, targets: np.ndarray, masks: np.ndarray,
                base: np.ndarray, *, chunk: int = 512, overlap: bool = False) -> Value:  # fmt: skip
    """``value(z) -> (N, m)``: each face's score of its target class on the images of the
    coalitions ``z`` (m, P) bool, ``x_z = base + (x - base) * sum_{j in z} masks_j``; with
    ``overlap`` (players whose masks overlap), the union of the absent players' masks is
    replaced, ``x_z = x + (base - x) * min(1, sum_{j not in z} masks_j)``: a region is
    blurred when any player covering it is absent, so the grand coalition less player j
    is the face with j's region blurred (the region's occlusion), and a pixel is kept only
    when every player covering it plays. For masks that sum to 1 at every pixel both rules
    give the same images.

    ``score(images, targets) -> (n,)`` scores preprocessed images (e.g. a runner's
    target-class probability); ``x``, ``base`` (N, H, W, C) the faces and their baselines;
    ``targets`` (N,) class indices; ``masks`` (N, P, H, W) the players' soft masks (if they
    sum to 1 at every pixel, the full coalition is the face and the empty one its
    baseline). All N x m images are built ``chunk`` at a time and scored ``chunk`` per
    call, so memory stays bounded by ``chunk`` images.
    """
    x = np.asarray(x, dtype=np.float32)
    base = np.asarray(base, dtype=np.float32)
    masks = np.asarray(masks, dtype=np.float32)
    targets = np.asarray(targets).astype(np.int64).reshape(-1)
    chunk = check_count("chunk", chunk)
    n, h, wd, c = x.shape
    if base.shape != x.shape or masks.ndim != 4 or masks.shape[0] != n or masks.shape[2:] != (
            h, wd) or len(targets) != n:  # fmt: skip
        raise EmonbError(f"expected faces and baselines (N, H, W, C), N targets and masks "
                         f"(N, P, H, W); got {x.shape}, {base.shape}, {targets.shape} and "
                         f"{masks.shape}")  # fmt: skip
    flat = masks.reshape(n, masks.shape[1], h * wd)
    diff = x - base

    def value(z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=bool)
        if z.ndim != 2 or z.shape[1] != masks.shape[1]:
            raise EmonbError(f"coalitions must be (m, {masks.shape[1]}) booleans, got {z.shape}")
        zf = (~z if overlap else z).astype(np.float32)
        m = len(z)
        out = np.empty((n, m), np.float64)
        for start in range(0, n * m, chunk):
            rows = np.arange(start, min(start + chunk, n * m))
            face, coal = rows // m, rows % m
            images = np.empty((len(rows), h, wd, c), np.float32)
            for i in np.unique(face):
                sel = face == i
                weight = zf[coal[sel]] @ flat[i]
                keep = 1.0 - np.minimum(weight, 1.0) if overlap else weight
                images[sel] = base[i] + diff[i] * keep.reshape(-1, h, wd, 1)
            out[face, coal] = score(images, targets[face])
        return out

    return value


# ---- the explainer -------------------------------------------------------------------------------
@dataclass
class ShapleyValues:
    """What :meth:`AUShapley.values` measured, per face: ``phi`` (N, P) the Shapley values
    of the players ``players`` (the map's action units, then :data:`REST`) for the target
    class's probability; ``v_full`` (N,) that probability on the face, ``v_empty`` (N,) on its
    baseline (so ``phi.sum(1) == v_full - v_empty``); ``accepted`` (N,) whether the mesh
    accepted the face (in :meth:`AUShapley.values`, a rejected face's regions come from the
    mean mesh of the accepted faces of the call); ``targets`` (N,) the class index explained; ``au_map`` the map of
    the action-unit regions (:mod:`emonb.anatomy.au_maps`)."""

    phi: np.ndarray
    players: tuple[str, ...]
    v_full: np.ndarray
    v_empty: np.ndarray
    accepted: np.ndarray
    targets: np.ndarray
    au_map: str = "muscle"

    @property
    def rejected(self) -> int:
        """Faces the mesh rejected (their regions are the mean mesh's)."""
        return int((~np.asarray(self.accepted, bool)).sum())

    @property
    def efficiency_gap(self) -> float:
        """The largest |sum of a face's values - (v_full - v_empty)| (float rounding only)."""
        if not len(self.phi):
            return 0.0
        return float(np.abs(self.phi.sum(axis=1) - (self.v_full - self.v_empty)).max())

    def frame(self, accepted_only: bool = False) -> pd.DataFrame:
        """The values as a DataFrame, one column per player (``accepted_only``: only the
        faces the mesh accepted)."""
        import pandas as pd

        rows = np.asarray(self.accepted, bool) if accepted_only else slice(None)
        return pd.DataFrame(np.asarray(self.phi)[rows], columns=list(self.players))


class AUShapley(Explainer):
    """Shapley values of a face's facial action units for the probability of a class.

    The players are the action-unit regions of the face's own mesh (``au_map``,
    :func:`emonb.anatomy.au_maps.au_masks_for`, soft masks at the model's input size): the
    22 of the appearance map (default; where each action shows, regions that overlap) or
    the 19 of py-feat's muscle map (disjoint), and :data:`REST`, everything else (one minus
    the union of the regions). A coalition keeps its players' pixels and replaces the
    others with the baseline (``baseline_images(x, "blur")``, the blurred face of the
    faithfulness chapter). On the muscle map the masks sum to 1 at every pixel and
    ``x_z = base + (x - base) * sum_{j in z} mask_j``; on the appearance map the union of
    the absent players' masks is blurred (:func:`masked_game` with ``overlap``): a pixel
    stays only when every player covering it plays, so the face less one player is that
    region's occlusion. The value of a
    coalition is the target class's **softmax probability** (``runner.probabilities``),
    whatever ``score`` says. :func:`kernel_shap` estimates the values from ``coalitions``
    coalitions (plus the face and its baseline: ``coalitions + 2`` forward passes per face,
    pushed through the runner ``chunk`` images at a time); they sum to
    ``p(face) - p(baseline)`` exactly.

    :meth:`values` returns the values (:class:`ShapleyValues`); :meth:`explain` paints each
    action unit's region with its positive value, ``sum_j max(phi_j, 0) mask_j`` over the
    action units (the rest of the face is not painted), min-max normalised.

    The faces are meshed here: the preprocessed input is turned back into 8-bit grey with
    the model's ``spec.value_range`` and meshed by one :class:`~emonb.faces.mesh.FaceMesh`
    per explainer (``mesh``, or made on first use). ``explain`` leaves a face the mesh
    rejects unexplained: its map is all zeros (no anatomy to place the regions on; so a
    face's map never depends on the faces beside it in a batch, a chunk or a worker).
    :meth:`values` gives such a face the mean mesh of the faces it accepted in the same
    call, and if it accepts none, that is an :class:`~emonb.errors.EmonbError`;
    ``last_rejected`` counts the rejected faces over the last call. :meth:`values` also
    takes the faces' ``landmarks`` when they are already known.

    Budget, measured on 8 FER-2013 PublicTest faces the mesh accepts (a seeded sample; the
    mini-Xception, predicted class, blur baseline, the muscle map's 20 players): against a
    4,096-coalition run, the mean absolute error of the 20 values, relative to the face's
    ``|p(face) - p(baseline)|``, was 0.078 with 64 coalitions, 0.050 with 128, 0.030 with
    256, 0.021 with 512 and 0.012 with 1,024 (two 4,096-coalition runs with different seeds
    differ by 0.008); the top action unit was the reference's on 3, 5, 7, 8 and 8 of the 8
    faces, and the Spearman correlation of the 19 action units' ranks with the reference's
    was 0.61, 0.68, 0.84, 0.91 and 0.93. The default, 256 coalitions (258 forward passes per
    face: about 32 s for 500 faces at 4,000 images/s, plus the mesh's 8 ms per face), is the
    largest budget that keeps 500 faces near a minute; per-emotion means over many faces
    average the remaining noise out. Raise it for single faces.

    Caveat: values are those of the blurred-face baseline (a region "absent" is that
    region blurred, an image the model never saw in training). Overlapping players share
    the value of the pixels they share (the lips belong to AU23, AU24, AU25 and AU27 alike),
    so an appearance region's value is not the value of its pixels alone; on the muscle
    map an open mouth belongs to no action unit but to the rest of the face.

    References: Lundberg & Lee, "A Unified Approach to Interpreting Model Predictions",
    NeurIPS 2017 (KernelSHAP); Ekman & Friesen (1978), *Facial Action Coding System*, and
    Cheong et al., "Py-Feat: Python facial expression analysis toolbox", Affective
    Science 2023 (the muscle map); Ekman, Friesen & Hager (2002), *Facial Action Coding
    System* (the appearance map).
    """

    name = "au_shap"
    #: The coalition budget when none is given (see the class docstring's budget study).
    DEFAULT_COALITIONS = 256

    def __init__(self, model, *, coalitions: int = DEFAULT_COALITIONS, seed: int = 0,
                 baseline: str = "blur", mesh: FaceMesh | None = None, chunk: int = 512,
                 supersample: int = 4, au_map: str = "appearance", **kwargs):  # fmt: skip
        from emonb.anatomy.au_maps import check_au_map
        from emonb.methods.baselines import BASELINES

        super().__init__(model, **kwargs)
        self.coalitions = check_count("coalitions", coalitions)
        self.seed = check_count("seed", seed, minimum=0)
        if baseline not in BASELINES:
            raise EmonbError(f"unknown baseline {baseline!r}; choose one of {', '.join(BASELINES)}")
        self.baseline = baseline
        self.chunk = check_count("chunk", chunk)
        self.supersample = check_count("supersample", supersample)
        self.au_map = check_au_map(au_map)
        self._mesh = mesh
        #: Faces the mesh rejected in the last ``explain`` or ``values`` call.
        self.last_rejected = 0

    # ---- public API -----------------------------------------------------------------------
    @property
    def players(self) -> tuple[str, ...]:
        """The map's action units and :data:`REST`, in the order of the values."""
        from emonb.anatomy.au_maps import au_names

        return (*au_names(self.au_map), REST)

    @property
    def forward_passes(self) -> int:
        """The face, its baseline and each coalition's image (the mesh's two passes of its
        own model per face are not counted)."""
        return self.coalitions + 2

    @property
    def mesh(self) -> FaceMesh:
        """The explainer's face mesh (made on first use)."""
        if self._mesh is None:
            from emonb.faces.mesh import FaceMesh

            self._mesh = FaceMesh()
        return self._mesh

    def values(self, images, targets: Targets = "predicted", *,
               landmarks: Landmarks | None = None) -> ShapleyValues:  # fmt: skip
        """The Shapley values of every face's players for its target class.

        ``images`` and ``targets`` as :meth:`explain`; ``landmarks``: the faces' meshes when
        known (:meth:`FaceMesh.landmarks` of the same ``images``, points in their pixels;
        then ``images`` must be one array of equal-size crops), else the faces are meshed
        at the model's input size.
        """
        x = self.net.preprocess(images)
        idx = self.runner.targets(targets, x)
        if landmarks is None:
            xy, accepted = self._landmarks(x)
            size = x.shape[1:3]
        else:
            if len(landmarks) != len(x):
                raise EmonbError(f"landmarks of {len(landmarks)} faces for {len(x)} images")
            arr = np.asarray(images)
            if arr.dtype == object or arr.ndim not in (3, 4):
                raise EmonbError("with landmarks, images must be one (N, H, W[, C]) array")
            xy = np.asarray(landmarks.xy, np.float64)
            accepted = np.asarray(landmarks.accepted, bool)
            size = arr.shape[1:3]
        xy = self._fill_rejected(xy, accepted)
        self.last_rejected = int((~accepted).sum())
        parts = [self._shapley(x[s : s + self.batch_size], idx[s : s + self.batch_size],
                               xy[s : s + self.batch_size], size)[:3]
                 for s in range(0, len(x), self.batch_size)]  # fmt: skip
        phi, v_empty, v_full = (np.concatenate(p) for p in zip(*parts, strict=True))
        return ShapleyValues(phi=phi, players=self.players, v_full=v_full, v_empty=v_empty,
                             accepted=accepted, targets=idx, au_map=self.au_map)  # fmt: skip

    def explain_inputs(self, x: np.ndarray, targets: Targets = "predicted") -> np.ndarray:
        self.last_rejected = 0  # counted over the call's batches by _attribute
        return super().explain_inputs(x, targets)

    # ---- the hook ----------------------------------------------------------------------------
    def _attribute(self, x, idx):
        xy, accepted = self._landmarks(x)
        self.last_rejected += int((~accepted).sum())
        out = np.zeros(x.shape[:3], np.float32)  # a rejected face: no regions, no map
        if accepted.any():
            phi, _, _, masks = self._shapley(x[accepted], np.asarray(idx)[accepted],
                                             xy[accepted], x.shape[1:3])  # fmt: skip
            au = np.maximum(phi[:, :-1], 0.0).astype(np.float32)
            out[accepted] = np.einsum("nr,nrhw->nhw", au, masks[:, :-1])
        return out

    # ---- machinery -------------------------------------------------------------------------
    def _grey(self, x: np.ndarray) -> np.ndarray:
        """Preprocessed inputs back to 8-bit grey images (n, H, W)."""
        lo, hi = self.net.spec.value_range
        grey = np.asarray(x, np.float64).mean(axis=-1)
        return np.clip(np.rint((grey - lo) / (hi - lo) * 255.0), 0, 255).astype(np.uint8)

    def _landmarks(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mesh points (n, 468, 2) in the input's pixels and which faces were accepted."""
        marks = self.mesh.landmarks(self._grey(x))
        return np.asarray(marks.xy, np.float64), np.asarray(marks.accepted, bool)

    @staticmethod
    def _fill_rejected(xy: np.ndarray, accepted: np.ndarray) -> np.ndarray:
        """``xy`` with each rejected face's points replaced by the accepted faces' mean."""
        if not accepted.any():
            raise EmonbError(f"the face mesh rejected all {len(accepted)} faces; au_shap needs "
                             "at least one accepted face to place the action-unit regions")  # fmt: skip
        out = np.array(xy, np.float64)
        out[~accepted] = out[accepted].mean(axis=0)
        return out

    def _players(self, xy: np.ndarray, from_size) -> np.ndarray:
        """The players' soft masks (n, P, H, W): the AU regions, then the rest of the face
        (one minus their union; on the muscle map, their sum)."""
        from emonb.anatomy.au_maps import au_masks_for

        size = self.net.spec.input_size
        au, union = au_masks_for(xy, from_size, size, self.au_map, supersample=self.supersample,
                                 union=True)  # fmt: skip
        rest = np.clip(1.0 - union[:, None], 0.0, 1.0)
        return np.concatenate([au, rest], axis=1)

    def _shapley(self, x: np.ndarray, idx: np.ndarray, xy: np.ndarray, from_size):
        """``phi`` (n, P), ``v_empty``, ``v_full`` (n,) and the players' masks."""
        from emonb.anatomy.au_maps import overlapping
        from emonb.methods.baselines import baseline_images

        x = np.asarray(x, np.float32)
        masks = self._players(xy, from_size)
        runner, chunk = self.runner, self.chunk

        def score(images: np.ndarray, targets: np.ndarray) -> np.ndarray:
            p = runner.probabilities(images, batch_size=chunk)
            return p[np.arange(len(p)), targets]

        game = masked_game(score, x, idx, masks, baseline_images(x, self.baseline), chunk=chunk,
                           overlap=overlapping(self.au_map))  # fmt: skip
        phi, v_empty, v_full = kernel_shap(game, masks.shape[1], coalitions=self.coalitions,
                                           seed=self.seed)  # fmt: skip
        return phi, v_empty, v_full, masks
