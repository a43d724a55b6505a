"""The per-face work of the robustness table (:mod:`~emonb.metrics.claims`), in chunks of
faces that any executor can run.

:func:`~emonb.metrics.claims.claim_table` cuts its faces into chunks
(:func:`face_chunks`); :func:`claim_values` computes, for one model and one chunk, every
per-face array the claims' rows need: the occlusion drops of each region layout and AU
map under each baseline, Grad-CAM's mass shares and enrichments at each CAM layer, and
the insertion-minus-deletion gaps of Grad-CAM and of the reference maps under each curve
baseline (a plain dict keyed by analysis, :func:`value_key`); :func:`join_values` joins
the chunks' arrays in face order. The rows and their bootstrap intervals are the
driver's (:func:`~emonb.metrics.claims.claim_table`).

A chunk's numbers do not depend on the chunk: masks, maps and drops are per face, and
the two random draws are seeded by the face's id (the noisy-linear-imputation baseline
of :func:`~emonb.metrics.occlusion.occlusion` and the tie-breaks of
:func:`~emonb.metrics.perturbation.perturbation_curves`). So the joined values equal one
chunk's in-process run to float tolerance (batches of other sizes round differently in
the last bits).

On a worker the model arrives as a :class:`~emonb.models.shipping.ModelRef` and its
runner and explainers (:class:`ClaimTools`) are made once per worker process
(:func:`emonb.engine.cached`); in the driver's process, :class:`ClaimJob` carries the
driver's own tools (the in-process default compiles nothing twice).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emonb.anatomy.au_maps import au_masks_for, au_names
from emonb.anatomy.layout import FACE_REGIONS, region_masks
from emonb.anatomy.regions import ANATOMY_NAMES
from emonb.engine import cached
from emonb.methods import get_method
from emonb.metrics.action_units import anatomy_masks
from emonb.metrics.chunks import chunk_bounds
from emonb.metrics.evaluate import method_factory
from emonb.metrics.facs import enrichment, mass_share
from emonb.metrics.occlusion import occlusion
from emonb.metrics.perturbation import perturbation_curves
from emonb.models.runner import class_probability, runner_for
from emonb.models.shipping import ModelRef, worker_model
from emonb.models.zoo import EmotionModel

__all__ = ["LAYOUTS", "REFERENCE_MAPS", "ClaimJob", "ClaimTools", "FaceChunk", "claim_values",
           "face_chunks", "join_values", "region_names", "value_key"]  # fmt: skip

#: The region layouts of the region claims, in the table's order.
LAYOUTS = ("mesh", "boxes")
#: The maps Grad-CAM is ranked against (the claim's name -> the method).
REFERENCE_MAPS = {"a centred Gaussian": "centre", "saliency": "saliency"}


def value_key(evidence: str, axis: str | None, where: str | None) -> tuple:
    """The key of one analysis's per-face array in :func:`claim_values`' dict:
    ``("occlusion", baseline, layout or AU map)`` (N, R) drops; ``("Grad-CAM share",
    layer, layout)`` (N, R); ``("Grad-CAM enrichment", layer, AU map)`` (N, R);
    ``("gap", layer, curve baseline)`` (N,) Grad-CAM's insertion - deletion and
    ``("reference gap", reference map, curve baseline)`` the reference map's (a key of
    :data:`REFERENCE_MAPS`); ``layer`` as in :attr:`~emonb.metrics.claims.ClaimSettings.cam_layers` (None: the
    model's default)."""
    return (evidence, axis, where)


def region_names(layout: str) -> list[str]:
    """The regions of a layout (``mesh``: each face's anatomy, ``boxes``: the canonical
    boxes) or of an AU map (its action units), in the columns' order."""
    if layout == "mesh":
        return list(ANATOMY_NAMES)
    if layout == "boxes":
        return list(FACE_REGIONS)
    return list(au_names(layout))


class ClaimTools:
    """What the per-face work runs the model with, made once: the target-class score
    (through :func:`~emonb.models.runner.runner_for`), the reference explainers and one
    Grad-CAM per layer (each made on first use)."""

    def __init__(self, net: EmotionModel, seed: int) -> None:
        self.net, self.seed = net, seed
        self.score = class_probability(runner_for(net))
        self._made: dict[Hashable, Any] = {}

    def _get(self, key: Hashable, make):
        if key not in self._made:
            self._made[key] = make()
        return self._made[key]

    def reference(self, other: str):
        """The explainer of the reference map ``other`` (a key of :data:`REFERENCE_MAPS`)."""
        return self._get(("reference", other),
                         lambda: method_factory(REFERENCE_MAPS[other], self.seed)(self.net))

    def cam(self, layer: str | None):
        """Grad-CAM of the model at ``layer`` (None: its default CAM layer)."""
        return self._get(("gradcam", layer), lambda: get_method("gradcam")(self.net, layer=layer))


@dataclass(frozen=True)
class ClaimJob:
    """What every chunk of one model's claims shares: the model and the settings (its CAM
    layers those the model has: :meth:`~emonb.metrics.claims.ClaimSettings.for_model`). ``local`` holds the
    driver's own :class:`ClaimTools`; it stays behind when the job is sent to a worker."""

    model: ModelRef
    #: A :class:`~emonb.metrics.claims.ClaimSettings` (not imported: claims imports this module).
    settings: Any
    local: ClaimTools | None = field(default=None, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "local": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def tools(self) -> ClaimTools:
        """The driver's tools, or (on a worker) one :class:`ClaimTools` per process, model
        and seed."""
        if self.local is not None:
            return self.local
        net = worker_model(self.model)
        seed = self.settings.seed
        return cached(("claim-tools", id(net), seed), lambda: ClaimTools(net, seed))


@dataclass(frozen=True)
class FaceChunk:
    """Consecutive faces of a claim table: uint8 crops (n, S, S[, C]), mesh points ``xy``
    (n, 468, 2) in the crops' pixels, predicted classes and ids (which seed their draws)."""

    images: np.ndarray
    xy: np.ndarray
    predicted: np.ndarray
    ids: np.ndarray


def face_chunks(images: np.ndarray, xy: np.ndarray, predicted: np.ndarray, ids: np.ndarray,
                chunk: int | None) -> list[FaceChunk]:  # fmt: skip
    """The faces cut into consecutive chunks of ``chunk`` faces (None: one chunk)."""
    return [FaceChunk(images[a:b], xy[a:b], predicted[a:b], ids[a:b])
            for a, b in chunk_bounds(len(images), chunk)]  # fmt: skip


def claim_values(job: ClaimJob, chunk: FaceChunk) -> dict[tuple, np.ndarray]:
    """Every per-face array the claims of ``job`` need for the faces of ``chunk``, keyed by
    :func:`value_key`, in the chunk's face order (a task: runs in the driver or on a
    worker)."""
    tools, s = job.tools(), job.settings
    net, score, pred, ids = tools.net, tools.score, chunk.predicted, chunk.ids
    x = net.preprocess(chunk.images)
    n, size, crop = len(x), x.shape[1:3], chunk.images.shape[1:3]
    reference = score(x, pred)
    masks = {}
    if "mesh" in s.layouts:
        anat = anatomy_masks(chunk.xy, crop, size)
        masks["mesh"] = np.stack([anat[r] for r in region_names("mesh")], axis=1)
    if "boxes" in s.layouts:
        boxes = region_masks(size[0])
        masks["boxes"] = np.stack([boxes[r] for r in region_names("boxes")])
    masks.update({m: au_masks_for(chunk.xy, crop, size, m) for m in s.au_maps})
    layouts = [lay for lay in LAYOUTS if lay in s.layouts]
    out: dict[tuple, np.ndarray] = {}
    for b in s.occlusion_baselines:
        for where in (*layouts, *s.au_maps):
            out[value_key("occlusion", b, where)] = occlusion(
                score, x, pred, masks[where], baseline=b, reference=reference, seed=s.seed,
                ids=ids)  # fmt: skip
    if not s.cam_layers:
        return out
    for layer in s.cam_layers:
        maps = tools.cam(layer).explain_inputs(x, pred)
        for lay in layouts:
            m = masks[lay]
            out[value_key("Grad-CAM share", layer, lay)] = mass_share(
                maps, np.broadcast_to(m, (n, *m.shape[-3:])).astype(np.float32))
        for au_map in s.au_maps:
            out[value_key("Grad-CAM enrichment", layer, au_map)] = enrichment(maps, masks[au_map])
        for b in s.curve_baselines:
            out[value_key("gap", layer, b)] = _gap(score, x, maps, pred, s.steps, b, s.seed, ids)
    for other in REFERENCE_MAPS:  # the same at every layer
        omap = tools.reference(other).explain_inputs(x, pred)
        for b in s.curve_baselines:
            out[value_key("reference gap", other, b)] = _gap(score, x, omap, pred, s.steps, b,
                                                              s.seed, ids)  # fmt: skip
    return out


def join_values(parts: Sequence[dict[tuple, np.ndarray]]) -> dict[tuple, np.ndarray]:
    """The chunks' values joined in face order (each array concatenated along the faces)."""
    if len(parts) == 1:
        return dict(parts[0])
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


def _gap(score, x, maps, targets, steps: int, baseline: str, seed: int, ids) -> np.ndarray:
    curves = {mode: perturbation_curves(score, x, maps, targets, mode=mode, steps=steps,
                                        baseline=baseline, seed=seed, ids=ids).auc
              for mode in ("insertion", "deletion")}  # fmt: skip
    return curves["insertion"] - curves["deletion"]
