"""Face regions two ways: each face's own anatomy (its mesh) and the canonical boxes.

:func:`region_analysis` measures, for faces grouped by predicted class, the occlusion drop
and a method's map-mass share per region and tests the seed paper's claims
(:data:`~emonb.metrics.regions.CLAIMS`) on them; with each face's mesh it also tests the
claims with the canonical 48x48 boxes (:data:`emonb.anatomy.layout.FACE_REGIONS`) on the same
faces. :func:`compare_layouts` (chapter 09) and :func:`verdict_changes` (chapter 08) put the
two side by side.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from emonb.anatomy.layout import LAYOUT_SIZE, region_masks
from emonb.arrays import resize_maps
from emonb.errors import EmonbError
from emonb.methods import get_method
from emonb.metrics.action_units import anatomy_masks
from emonb.metrics.regions import claims_table, occlusion_drops, region_shares
from emonb.metrics.stats import by_group
from emonb.models.runner import Runner
from emonb.models.zoo import EmotionModel

if TYPE_CHECKING:
    import pandas as pd

    from emonb.faces.mesh import Landmarks

__all__ = ["compare_layouts", "join_region_values", "layouts_side_by_side", "region_analysis",
           "region_tables", "region_values", "verdict_changes"]

#: The regions the claims compare (:data:`emonb.metrics.regions.CLAIMS`).
CLAIM_REGIONS = ("eyes", "mouth")


def region_analysis(net: EmotionModel, images: np.ndarray, explainer, runner: Runner,
                     marks: Landmarks | None, method: str, seed: int):  # fmt: skip
    """The face regions of ``images`` (grouped by predicted class): the long table of
    occlusion drops and ``method``'s mass shares, the claims, and (with ``marks``, each
    face's mesh) the claims with the canonical boxes on the same faces (else None):
    :func:`region_tables` of :func:`region_values`."""
    return region_tables(region_values(net, images, explainer, runner, marks), net.class_names,
                         method, seed)  # fmt: skip


def region_values(net: EmotionModel, images: np.ndarray, explainer, runner: Runner,
                  marks: Landmarks | None) -> dict[str, object]:  # fmt: skip
    """What :func:`region_analysis` measures on each face (a chunk's worth can be measured
    anywhere and joined, :func:`join_region_values`): ``predicted`` (N,), the occlusion
    ``drops`` and map ``shares`` (DataFrames, N x region; each face's own regions with
    ``marks``, else the canonical boxes) and, with ``marks``, the canonical ``claim`` boxes'
    (``canonical_drops``, ``canonical_shares``; else None)."""
    predicted = runner.probabilities(net.preprocess(images)).argmax(axis=1)
    maps = explainer.explain(images, predicted)
    drops, shares = _region_values(net, images, predicted, maps, runner, marks)
    out = {"predicted": predicted, "drops": drops, "shares": shares, "canonical_drops": None,
           "canonical_shares": None}  # fmt: skip
    if marks is not None:
        out["canonical_drops"], out["canonical_shares"] = _region_values(
            net, images, predicted, maps, runner, None, CLAIM_REGIONS)
    return out


def join_region_values(parts: Sequence[Mapping[str, object]]) -> dict[str, object]:
    """:func:`region_values` of consecutive chunks of faces, joined in face order (a
    frame's ``area``: the faces' mean, ``p``: concatenated)."""
    import pandas as pd

    if len(parts) == 1:
        return dict(parts[0])
    out: dict[str, object] = {"predicted": np.concatenate([p["predicted"] for p in parts])}
    sizes = np.array([len(p["predicted"]) for p in parts], np.float64)
    for key in ("drops", "shares", "canonical_drops", "canonical_shares"):
        frames = [p[key] for p in parts]
        if frames[0] is None:
            out[key] = None
            continue
        plain = [f.copy() for f in frames]
        for f in plain:  # pandas compares the attrs of what it joins: they are joined below
            f.attrs = {}
        joined = pd.concat(plain, ignore_index=True)
        if "area" in frames[0].attrs:
            joined.attrs["area"] = {r: float(np.dot(sizes, [f.attrs["area"][r] for f in frames])
                                             / sizes.sum()) for r in frames[0].attrs["area"]}  # fmt: skip
        if "p" in frames[0].attrs:
            joined.attrs["p"] = np.concatenate([f.attrs["p"] for f in frames])
        out[key] = joined
    return out


def region_tables(values: Mapping[str, object], class_names: Sequence[str], method: str,
                  seed: int):  # fmt: skip
    """:func:`region_analysis`'s tables of the faces' :func:`region_values`: the long table,
    the claims, and the canonical boxes' claims (None without a mesh)."""
    import pandas as pd

    mass = f"{method} mass share"
    predicted, drops, shares = values["predicted"], values["drops"], values["shares"]
    table = pd.concat([
        by_group(drops, predicted, class_names, seed=seed).assign(measure="occlusion drop"),
        by_group(shares, predicted, class_names, seed=seed).assign(measure=mass),
    ], ignore_index=True)  # fmt: skip
    table.attrs["area"] = shares.attrs["area"]
    claims = _claims(drops, shares, predicted, class_names, mass, seed)
    if values["canonical_drops"] is None:
        return table, claims, None
    return table, claims, _claims(values["canonical_drops"], values["canonical_shares"],
                                  predicted, class_names, mass, seed)  # fmt: skip


def _region_values(net: EmotionModel, images: np.ndarray, predicted: np.ndarray,
                   maps: np.ndarray, runner: Runner, marks: Landmarks | None,
                   names: Sequence[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """Occlusion drops and map shares per face and region: each face's own anatomy
    (``marks``: its mesh, in the pixels of ``images``), or the canonical boxes (``marks``
    None; ``names`` picks them, default all, at the sizes used before the mesh existed)."""
    if marks is not None:
        crop, size = images.shape[1:3], tuple(net.spec.input_size)
        own = anatomy_masks(marks.xy, crop, size)
        at_maps = own if maps.shape[1:] == size else anatomy_masks(marks.xy, crop, maps.shape[1:])
        shares = region_shares(maps, at_maps)
        return occlusion_drops(net, images, predicted, own, runner=runner), shares
    shares = region_shares(resize_maps(maps, (LAYOUT_SIZE, LAYOUT_SIZE)),
                           None if names is None else region_masks(LAYOUT_SIZE, names))  # fmt: skip
    boxes = None if names is None else region_masks(tuple(net.spec.input_size), names)
    return occlusion_drops(net, images, predicted, boxes, runner=runner), shares


def _claims(drops: pd.DataFrame, shares: pd.DataFrame, groups: np.ndarray, class_names,
            mass: str, seed: int) -> pd.DataFrame:  # fmt: skip
    """:func:`~emonb.metrics.regions.claims_table` on occlusion drops and on map shares."""
    import pandas as pd

    return pd.concat([
        claims_table(drops, groups, class_names, evidence="occlusion drop", seed=seed),
        claims_table(shares, groups, class_names, evidence=mass, seed=seed),
    ], ignore_index=True)  # fmt: skip


def compare_layouts(net: EmotionModel, images, landmarks: Landmarks, *, method: str = "gradcam",
                    method_settings: Mapping[str, object] | None = None, seed: int = 0,
                    runner: Runner | None = None) -> pd.DataFrame:  # fmt: skip
    """The region claims (:data:`~emonb.metrics.regions.CLAIMS`) tested twice on the same
    faces, the ones ``landmarks`` (their mesh) accepts: with each face's own anatomical
    regions and with the canonical boxes. Returns both claims tables side by side (claim,
    evidence, faces, canonical and mesh verdicts and differences) with a ``changed``
    column; occlusion drops and ``method``'s mass shares, for the predicted class.
    """
    images = np.asarray(images)
    if len(landmarks) != len(images):
        raise EmonbError(f"landmarks of {len(landmarks)} faces for {len(images)} images")
    ok = np.asarray(landmarks.accepted, dtype=bool)
    if not ok.any():
        raise EmonbError("the mesh accepted none of these faces")
    explainer = get_method(method)(net, **dict(method_settings or {}))
    _, mesh, canonical = region_analysis(net, images[ok], explainer,
                                          runner or Runner(net, batch_size=256),
                                          landmarks.subset(ok), method, seed)  # fmt: skip
    return layouts_side_by_side(canonical, mesh)


def verdict_changes(canonical: pd.DataFrame, mesh: pd.DataFrame) -> pd.DataFrame:
    """The claims (:func:`~emonb.metrics.regions.claims_table` rows, the same claims and
    evidence on the same faces) whose verdict differs between the canonical boxes and each
    face's own regions: claim, evidence, faces, both verdicts and both differences."""
    both = layouts_side_by_side(canonical, mesh)
    return both[both["changed"]].drop(columns="changed").reset_index(drop=True)


def layouts_side_by_side(canonical: pd.DataFrame, mesh: pd.DataFrame) -> pd.DataFrame:
    """Both claims tables (the same claims and evidence on the same faces) merged: claim,
    evidence, faces, the canonical and mesh verdicts and differences, and ``changed``."""
    keys = ["claim", "evidence"]
    both = canonical.merge(mesh, on=keys, suffixes=(" canonical", " mesh"))
    both["changed"] = both["verdict canonical"] != both["verdict mesh"]
    both = both.rename(columns={"faces canonical": "faces", "verdict canonical": "canonical verdict",
                                "verdict mesh": "mesh verdict",
                                "difference canonical": "canonical difference",
                                "difference mesh": "mesh difference"})  # fmt: skip
    return both[[*keys, "faces", "canonical verdict", "mesh verdict", "canonical difference",
                 "mesh difference", "changed"]].reset_index(drop=True)  # fmt: skip
