"""Evidence per FACS action unit: which facial actions carry a model's decision, per emotion.

Each face crop (FER-2013's aligned 48x48 faces, or any square crops) is meshed
(:class:`emonb.faces.mesh.FaceMesh`); a face the mesh rejects is left out and counted,
never analysed with its points. The action-unit regions of each remaining face
(``au_map``, :mod:`emonb.anatomy.au_maps`: the appearance map of
:mod:`emonb.anatomy.appearance` by default, where each action unit shows, or py-feat's muscle
map of :mod:`emonb.anatomy.regions`, 22 or 19 regions) are rasterised as soft masks at each map's own
resolution, from the crop's landmarks scaled to the map; each region is measured on its
own, so overlapping appearance regions each get the evidence they hold. Two kinds of
evidence per face and action unit, both for the class the model predicts:

* **enrichment** (one per explanation method): the share of the map's mass inside the
  action unit's region divided by the region's share of the map's area
  (:func:`emonb.metrics.facs.enrichment`): 1 is what a flat map gives, above 1 the map
  concentrates its evidence there;
* **occlusion** (the model itself, no map): the drop of the predicted class's probability
  when that action unit's region alone is replaced by a blurred copy of the face
  (boundary pixels blended by the fraction of them inside the region;
  :func:`emonb.metrics.occlusion.occlusion`).

Per emotion, faces are grouped by the model's prediction (``"predicted"``) and, when labels
are given, by their true label (``"true"``); each action unit's mean comes with a
bootstrap interval (:func:`emonb.metrics.facs.au_table`), and the ranking of the action
units is compared with the emotion's EMFACS prototype on the map's regions
(:func:`emonb.metrics.facs.agreement`, :func:`emonb.metrics.facs.emfacs`).

A third kind, the **Shapley value** of each action unit (:class:`emonb.methods.shapley.AUShapley`:
the regions as players of a game whose value is the class probability, the others
blurred), is tabulated per emotion by :func:`au_shapley_table` and :func:`au_shapley_wide`.

References: Ekman & Friesen (1978), *Facial Action Coding System*; Friesen & Ekman (1983),
EMFACS-7 (the prototypes); Zeiler & Fergus (2014) (occlusion); Efron & Tibshirani (1993)
(the bootstrap).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from emonb.anatomy.au_maps import DEFAULT_AU_MAP, au_masks_for, au_names, check_au_map
from emonb.anatomy.regions import ANATOMY_NAMES, region_masks_for
from emonb.errors import EmonbError
from emonb.models.runner import Runner
from emonb.models.zoo import EmotionModel

if TYPE_CHECKING:
    import pandas as pd

    from emonb.faces.mesh import FaceMesh, Landmarks
    from emonb.methods.shapley import ShapleyValues

__all__ = [
    "GROUPINGS",
    "OCCLUSION",
    "AUEvidence",
    "AUFaceValues",
    "anatomy_masks",
    "au_evidence",
    "au_face_values",
    "au_shapley_table",
    "au_shapley_wide",
]

#: How faces are grouped into emotions: by the model's prediction, by the true label.
GROUPINGS = ("predicted", "true")
#: The ``evidence`` name of the occlusion drops (the others are method names).
OCCLUSION = "occlusion"


@dataclass
class AUEvidence:
    """What :func:`au_evidence` measured.

    ``table``: long DataFrame ``evidence, grouping, group, column, n, mean, lo, hi`` (one
    row per kind of evidence, grouping, emotion and action unit); ``agreement``: the FACS
    agreement per ``evidence, grouping, emotion`` (:func:`emonb.metrics.facs.agreement`'s
    columns); ``values``: per evidence, the per-face values (accepted faces x the map's
    action units); ``accepted``: bool (N,) the faces the mesh accepted; ``predicted``: (N,)
    the model's class per face; ``landmarks``: the mesh of every face; ``au_map`` and
    ``names``: the map of action-unit regions and its action units (the columns);
    ``areas``: each region's mean share of the crop over the accepted faces."""

    table: pd.DataFrame
    agreement: pd.DataFrame
    values: dict[str, pd.DataFrame]
    accepted: np.ndarray
    predicted: np.ndarray
    landmarks: Landmarks
    class_names: tuple[str, ...]
    settings: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)
    au_map: str = DEFAULT_AU_MAP
    names: tuple[str, ...] = field(default_factory=lambda: au_names(DEFAULT_AU_MAP))
    areas: dict[str, float] = field(default_factory=dict)

    @property
    def rejected(self) -> int:
        """Faces the mesh rejected (left out of everything)."""
        return int((~np.asarray(self.accepted)).sum())

    def summary(self) -> str:
        """One line: faces analysed, and how many the mesh rejected and why."""
        n, k = len(self.accepted), self.rejected
        why = f" (face presence < {self.landmarks.min_presence:g})" if k else ""
        return (f"action units ({self.au_map} map): {n - k} of {n} faces analysed, {k} "
                f"rejected by the mesh{why}; evidence: {', '.join(self.values)}")  # fmt: skip

    def wide(self, evidence: str, grouping: str = "predicted") -> pd.DataFrame:
        """Emotion x action unit means of one kind of evidence and grouping (NaN where an
        emotion has no face)."""
        df = self.table[(self.table["evidence"] == evidence) & (self.table["grouping"] == grouping)]
        if df.empty:
            raise EmonbError(f"no {evidence!r} evidence grouped by {grouping!r}; have "
                             f"{sorted(set(self.table['evidence']))}")  # fmt: skip
        out = df.pivot(index="group", columns="column", values="mean")
        return out.reindex(index=list(self.class_names), columns=list(self.names))

    def by_prediction(self, evidence: str = OCCLUSION) -> dict[str, dict[str, dict[str, float]]]:
        """One kind of evidence grouped by prediction as plain JSON: emotion -> action unit
        -> ``{"mean", "lo", "hi"}`` (the 95% bootstrap interval; NaN, an emotion without
        faces, becomes null)."""
        from emonb.records import json_safe

        df = self.table[(self.table["evidence"] == evidence) & (self.table["grouping"] == "predicted")]
        if df.empty:
            raise EmonbError(f"no {evidence!r} evidence; have {sorted(set(self.table['evidence']))}")
        out: dict[str, dict] = {}
        for row in df.itertuples(index=False):
            out.setdefault(row.group, {})[row.column] = {
                k: round(float(getattr(row, k)), 5) for k in ("mean", "lo", "hi")}
        return json_safe(out)

    def map_json(self) -> dict:
        """This map's part of ``emonb evaluate-maps``'s JSON: the map, its action units and
        their areas (mean share of the crop), faces per predicted emotion, ``"occlusion"``
        (:meth:`by_prediction`; absent without occlusion) and the occlusion's FACS
        agreement records by prediction."""
        from emonb.records import json_safe

        pred = self.table[self.table["grouping"] == "predicted"]
        doc = {"au_map": self.au_map, "action_units": list(self.names), "areas": self.areas,
               "faces": {e: int(n) for e, n in pred.groupby("group", sort=False)["n"].first().items()}}
        if OCCLUSION in self.values:
            doc["occlusion"] = self.by_prediction(OCCLUSION)
            a = self.agreement
            keep = (a["evidence"] == OCCLUSION) & (a["grouping"] == "predicted")
            doc["agreement"] = a[keep].drop(columns=["evidence", "grouping"]).to_dict(orient="records")
        return json_safe(doc)

    def to_json(self) -> dict:
        """Plain JSON: ``"enrichment"`` (method -> grouping -> emotion -> {action unit:
        mean}), ``"occlusion"`` (the same, under the evidence name "occlusion"), ``"faces"``
        (grouping -> emotion -> faces), the ``"agreement"`` records, the map
        (``"au_map"``, ``"action_units"``, ``"areas"``), the counts, settings and timings;
        NaN (an emotion without faces) becomes null."""
        from emonb.records import json_safe

        means: dict[str, dict] = {}
        for (evidence, grouping), df in self.table.groupby(["evidence", "grouping"], sort=False):
            per = means.setdefault(evidence, {}).setdefault(grouping, {})
            for emotion, rows in df.groupby("group", sort=False):
                per[emotion] = dict(zip(rows["column"], rows["mean"].round(5), strict=True))
        faces = {g: {e: int(v) for e, v in df.groupby("group", sort=False)["n"].first().items()}
                 for g, df in self.table.groupby("grouping", sort=False)}  # fmt: skip
        return json_safe({
            "faces_total": len(self.accepted), "faces_analysed": len(self.accepted) - self.rejected,
            "rejected": self.rejected, "summary": self.summary(),
            "au_map": self.au_map, "action_units": list(self.names), "areas": self.areas,
            "enrichment": {k: v for k, v in means.items() if k != OCCLUSION},
            "occlusion": {k: v for k, v in means.items() if k == OCCLUSION},
            "faces": faces,
            "agreement": self.agreement.to_dict(orient="records"),
            "settings": self.settings, "seconds": self.seconds,
        })  # fmt: skip


def _hw(size) -> tuple[int, int]:
    return (int(size), int(size)) if np.ndim(size) == 0 else (int(size[0]), int(size[1]))


def anatomy_masks(xy: np.ndarray, from_size, to_size, *, supersample: int = 4
                  ) -> dict[str, np.ndarray]:  # fmt: skip
    """Each face's own anatomical regions (:data:`emonb.anatomy.regions.ANATOMY_NAMES`:
    forehead, brows, eyes, nose, cheeks, mouth, chin) as soft masks at ``to_size``: name ->
    float32 (N, H, W) fractions, for mesh points ``xy`` (N, 468, 2) given in the pixels of
    ``from_size`` crops (the masks of :func:`emonb.metrics.regions.region_shares` and
    :func:`~emonb.metrics.regions.occlusion_drops`)."""
    masks = region_masks_for(np.asarray(xy)[..., :2], _hw(from_size), _hw(to_size), "anatomy",
                             supersample=supersample)  # fmt: skip
    return {name: masks[:, r] for r, name in enumerate(ANATOMY_NAMES)}


def _crops(images) -> np.ndarray:
    """Face crops as one uint8 array (N, S, S[, 3]); anything else is an error."""
    arr = np.asarray(images)
    if arr.dtype != np.uint8 or arr.ndim not in (3, 4) or arr.shape[1] != arr.shape[2]:
        raise EmonbError(f"expected square uint8 face crops (N, S, S[, 3]), got {arr.dtype} "
                         f"{arr.shape}")  # fmt: skip
    return arr


def _check(maps: Mapping[str, np.ndarray], labels, n: int) -> dict[str, np.ndarray]:
    out = {}
    for name, mp in maps.items():
        mp = np.asarray(mp, dtype=np.float32)
        if mp.ndim != 3 or len(mp) != n:
            raise EmonbError(f"maps of {name!r}: expected (N={n}, h, w), got {mp.shape}")
        if name == OCCLUSION:
            raise EmonbError(f"{OCCLUSION!r} names the occlusion evidence; rename the maps")
        out[name] = mp
    if labels is not None and len(labels) != n:
        raise EmonbError(f"{len(labels)} labels for {n} faces")
    return out


@dataclass
class AUFaceValues:
    """The per-face part of :func:`au_evidence`, what a chunk of faces measures
    (:func:`au_face_values`; chunks joined in face order by :meth:`join`).

    ``accepted``: bool (N,) the faces the mesh accepted; ``predicted``: (N,) the model's
    class per face (-1 where rejected); ``values``: evidence -> (accepted faces, action
    units) per-face values; ``areas``: (accepted faces, action units) each region's share
    of its crop; ``seconds``: clock -> seconds."""

    accepted: np.ndarray
    predicted: np.ndarray
    values: dict[str, np.ndarray]
    areas: np.ndarray
    seconds: dict[str, float] = field(default_factory=dict)

    def frames(self, names: Sequence[str]) -> dict[str, pd.DataFrame]:
        """The values as DataFrames, one column per action unit of ``names``."""
        import pandas as pd

        return {k: pd.DataFrame(v, columns=list(names)) for k, v in self.values.items()}

    @classmethod
    def join(cls, parts: Sequence[AUFaceValues]) -> AUFaceValues:
        """Chunks of faces joined in face order (seconds summed)."""
        if len(parts) == 1:
            return parts[0]
        seconds: dict[str, float] = {}
        for p in parts:
            for k, t in p.seconds.items():
                seconds[k] = seconds.get(k, 0.0) + t
        return cls(np.concatenate([p.accepted for p in parts]),
                   np.concatenate([p.predicted for p in parts]),
                   {k: np.concatenate([p.values[k] for p in parts]) for k in parts[0].values},
                   np.concatenate([p.areas for p in parts]), seconds)  # fmt: skip


def au_face_values(net: EmotionModel, images, landmarks: Landmarks, *,
                   maps: Mapping[str, np.ndarray] | None = None, occlusion: bool = True,
                   baseline: str = "blur", runner: Runner | None = None, supersample: int = 4,
                   au_map: str = DEFAULT_AU_MAP) -> AUFaceValues:  # fmt: skip
    """The per-face evidence of :func:`au_evidence` on face crops ``images`` with their mesh
    ``landmarks`` (the arguments as there; ``maps`` of every face, rejected ones included):
    the model's class per face, each map's enrichment and the occlusion drops per action
    unit, for the faces the mesh accepted. Each face's values depend on that face alone
    (a chunk of faces gives the rows of a whole run). No face accepted: empty values."""
    from emonb.metrics import facs
    from emonb.metrics.occlusion import occlusion as region_occlusion

    images = _crops(images)
    names = au_names(check_au_map(au_map))
    acc = np.asarray(landmarks.accepted, dtype=bool)
    predicted = np.full(len(images), -1, np.int64)
    if not acc.any():
        empty = np.zeros((0, len(names)))
        kinds = [*(maps or {}), *([OCCLUSION] if occlusion else [])]
        return AUFaceValues(acc, predicted, {k: empty for k in kinds}, empty)
    seconds: dict[str, float] = {}
    runner = runner or Runner(net, batch_size=256)
    x = net.preprocess(images[acc])
    predicted[acc] = runner.probabilities(x).argmax(axis=1)
    t1 = time.perf_counter()
    xy, crop = landmarks.xy[acc], images.shape[1:3]
    cache: dict[tuple[int, int], np.ndarray] = {}
    member = None
    if au_map == "appearance":  # the same triangles at every size
        from emonb.anatomy.appearance import membership

        member = membership(xy)

    def masks_at(size) -> np.ndarray:
        size = _hw(size)
        if size not in cache:
            cache[size] = au_masks_for(xy, crop, size, au_map, supersample=supersample,
                                       membership=member)  # fmt: skip
        return cache[size]

    areas = masks_at(crop).mean(axis=(2, 3), dtype=np.float64)
    values = {name: np.asarray(facs.enrichment(mp[acc], masks_at(mp.shape[1:])))
              for name, mp in (maps or {}).items()}  # fmt: skip
    seconds["enrichment"] = time.perf_counter() - t1
    if occlusion:
        t2 = time.perf_counter()
        drops = region_occlusion(runner, x, predicted[acc], masks_at(x.shape[1:3]), baseline=baseline)
        values[OCCLUSION] = np.asarray(drops)
        seconds["occlusion"] = time.perf_counter() - t2
    return AUFaceValues(acc, predicted, values, areas, seconds)


def au_evidence(
    net: EmotionModel,
    images,
    *,
    labels: np.ndarray | None = None,
    maps: Mapping[str, np.ndarray] | None = None,
    landmarks: Landmarks | None = None,
    mesh: FaceMesh | None = None,
    occlusion: bool = True,
    baseline: str = "blur",
    n_boot: int = 1000,
    seed: int = 0,
    runner: Runner | None = None,
    supersample: int = 4,
    au_map: str = DEFAULT_AU_MAP,
    clusters: np.ndarray | None = None,
    face_values: AUFaceValues | None = None,
) -> AUEvidence:
    """Evidence per FACS action unit (see the module's docstring) of ``net`` on face crops.

    ``images``: square uint8 face crops (N, S, S) or (N, S, S, 3), e.g. FER-2013's 48x48
    faces (never the synthetic stand-in: it has no anatomy). ``labels``: true class per
    face, to group by it as well as by prediction. ``maps``: method name -> maps (N, h, w)
    of the predicted class (any resolution; each face's regions are rasterised at it).
    ``landmarks``: the mesh of the crops (default: ``mesh``, or a new
    :class:`~emonb.faces.mesh.FaceMesh`, runs on them). ``occlusion``: measure the
    occlusion drops too (one forward pass per face and region), with ``baseline``.
    ``n_boot``, ``seed``: the bootstrap. ``runner``: a Runner of ``net`` to reuse.
    ``au_map``: the action-unit regions, ``"appearance"`` (22, where each action shows) or
    ``"muscle"`` (py-feat's 19) (:mod:`emonb.anatomy.au_maps`); the FACS agreement uses
    that map's EMFACS prototypes (:func:`emonb.metrics.facs.emfacs`). ``clusters``: one
    id per face (the clip or photo it comes from, :attr:`emonb.video.real_faces.RealFaces.clusters`):
    the intervals resample whole clusters, not frames (None: faces). ``face_values``: the
    per-face part, measured already with these settings (:func:`au_face_values`, e.g. in
    chunks of faces on workers); only the tables are made here.

    Rejected faces are left out of every value and counted (``.rejected``, ``.summary()``);
    if the mesh rejects every face, that is an :class:`~emonb.errors.EmonbError`.
    """
    from emonb.metrics import facs

    images = _crops(images)
    n = len(images)
    names = au_names(check_au_map(au_map))
    maps = _check(dict(maps or {}), labels, n)
    if not maps and not occlusion:
        raise EmonbError("nothing to measure: give maps, or occlusion=True")
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    if landmarks is None:
        from emonb.faces.mesh import FaceMesh

        landmarks = (mesh or FaceMesh()).landmarks(images)
        seconds["mesh"] = time.perf_counter() - t0
    if len(landmarks) != n:
        raise EmonbError(f"landmarks of {len(landmarks)} faces for {n} images")
    acc = np.asarray(landmarks.accepted, dtype=bool)
    if not acc.any():
        raise EmonbError(f"the mesh rejected all {n} faces ({landmarks.summary()}); "
                         "no action-unit evidence")  # fmt: skip
    face = face_values
    if face is None:
        face = au_face_values(net, images, landmarks, maps=maps, occlusion=occlusion,
                              baseline=baseline, runner=runner, supersample=supersample,
                              au_map=au_map)  # fmt: skip
    if len(face.accepted) != n or not np.array_equal(face.accepted, acc):
        raise EmonbError(f"face values of {len(face.accepted)} faces do not match the mesh of {n}")
    seconds.update(face.seconds)
    crop = images.shape[1:3]
    predicted, values = face.predicted, face.frames(names)
    groupings = {"predicted": predicted[acc]}
    if labels is not None:
        groupings["true"] = np.asarray(labels)[acc]
    areas = dict(zip(names, face.areas.mean(axis=0).round(5).tolist(), strict=True))

    t3 = time.perf_counter()
    if clusters is not None and len(clusters) != n:
        raise EmonbError(f"clusters must hold one id per face: {len(clusters)} ids for {n} faces")
    table, agreement = _tables(values, groupings, net.class_names, n_boot, seed, names,
                               facs.emfacs(au_map),
                               None if clusters is None else np.asarray(clusters)[acc])  # fmt: skip
    seconds["tables"] = time.perf_counter() - t3
    settings = {"faces": n, "accepted": int(acc.sum()), "rejected": int((~acc).sum()),
                "crop_size": list(crop), "evidence": list(values), "groupings": list(groupings),
                "targets": "predicted class", "baseline": baseline if occlusion else None,
                "supersample": supersample, "n_boot": n_boot, "seed": seed,
                "min_presence": landmarks.min_presence, "au_map": au_map,
                "bootstrap": "faces" if clusters is None else "clusters"}  # fmt: skip
    return AUEvidence(table=table, agreement=agreement, values=values, accepted=acc,
                      predicted=predicted, landmarks=landmarks,
                      class_names=tuple(net.class_names), settings=settings,
                      seconds={k: round(v, 3) for k, v in seconds.items()}, au_map=au_map,
                      names=names, areas=areas)  # fmt: skip


def _tables(values: Mapping[str, pd.DataFrame], groupings: Mapping[str, np.ndarray],
            class_names, n_boot: int, seed: int, names: Sequence[str],
            prototypes: Mapping[str, Sequence[str]],
            clusters: np.ndarray | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """The long table and the agreement table over every evidence and grouping."""
    import pandas as pd

    from emonb.metrics import facs

    tables, agreements = [], []
    for evidence, v in values.items():
        for grouping, g in groupings.items():
            key = {"evidence": evidence, "grouping": grouping}
            t = facs.au_table(v, g, class_names, names=names, n_boot=n_boot, seed=seed,
                              clusters=clusters)  # fmt: skip
            tables.append(t.assign(**key)[["evidence", "grouping", *t.columns]])
            a = facs.agreement(v, g, class_names, names=names, prototypes=prototypes,
                               n_boot=n_boot, seed=seed, clusters=clusters)  # fmt: skip
            agreements.append(a.assign(**key)[["evidence", "grouping", *a.columns]])
    return pd.concat(tables, ignore_index=True), pd.concat(agreements, ignore_index=True)


def au_shapley_table(values: ShapleyValues | pd.DataFrame | np.ndarray, groups,
                     class_names, *, n_boot: int = 1000, seed: int = 0,
                     accepted_only: bool = True,
                     prototypes: Mapping[str, tuple[str, ...]] | None = None
                     ) -> pd.DataFrame:  # fmt: skip
    """Per emotion and player, the mean Shapley value over the emotion's faces with its 95%
    bootstrap interval (:func:`emonb.metrics.stats.by_group`): long DataFrame ``group, AU,
    n, mean, lo, hi, prototype`` (``n`` the group's faces; ``prototype`` whether the action
    unit is in the emotion's EMFACS prototype, :data:`emonb.metrics.facs.EMFACS_APPEARANCE`
    unless ``prototypes`` is given: on the muscle map's players, which lack its AU23, AU25
    and AU27, that flags what :data:`~emonb.metrics.facs.EMFACS` flags; always False for the
    rest of the face).

    ``values``: :class:`~emonb.methods.shapley.ShapleyValues` (its players are the
    columns; with ``accepted_only`` the faces the mesh rejected are left out, of ``groups``
    too), or a DataFrame (N, players) or an array in the order of a map's action units
    (+ "rest of face"): (N, 19 or 20) the muscle map's, (N, 22 or 23) the appearance
    map's (:func:`emonb.anatomy.au_maps.au_names`); ``groups``: (N,) class index per face into
    ``class_names`` (e.g. the explained targets, or the true labels).

    References: Efron & Tibshirani (1993), *An Introduction to the Bootstrap*.
    """
    import pandas as pd

    from emonb.metrics.facs import EMFACS_APPEARANCE
    from emonb.metrics.stats import by_group

    groups = np.asarray(groups).reshape(-1)
    if isinstance(values, pd.DataFrame):
        frame = values.astype(float).reset_index(drop=True)
    elif hasattr(values, "phi") and hasattr(values, "players"):
        frame = pd.DataFrame(np.asarray(values.phi, np.float64), columns=list(values.players))
        if accepted_only:
            keep = np.asarray(values.accepted, bool)
            if len(groups) != len(keep):
                raise EmonbError(f"{len(groups)} groups for {len(keep)} faces")
            frame, groups = frame[keep].reset_index(drop=True), groups[keep]
    else:
        from emonb.methods.shapley import REST

        v = np.asarray(values, np.float64)
        widths = {}
        for m in ("muscle", "appearance"):
            aus = list(au_names(m))
            widths.update({len(aus): aus, len(aus) + 1: [*aus, REST]})
        if v.ndim != 2 or v.shape[1] not in widths:
            raise EmonbError(f"expected Shapley values (N, 19 or 20) on the muscle map or (N, 22 "
                             f"or 23) on the appearance map, got shape {v.shape}")  # fmt: skip
        frame = pd.DataFrame(v, columns=widths[v.shape[1]])
    if len(groups) != len(frame):
        raise EmonbError(f"{len(groups)} groups for {len(frame)} faces")
    protos = EMFACS_APPEARANCE if prototypes is None else prototypes
    table = by_group(frame, groups, list(class_names), n_boot=n_boot, seed=seed)
    table = table.rename(columns={"column": "AU"})
    table["prototype"] = [au in protos.get(g, ()) for g, au in zip(table["group"], table["AU"],
                                                                   strict=True)]  # fmt: skip
    return table[["group", "AU", "n", "mean", "lo", "hi", "prototype"]]


def au_shapley_wide(table: pd.DataFrame, *, rest: bool = True) -> pd.DataFrame:
    """:func:`au_shapley_table` as an emotion x player matrix of mean Shapley values (rows
    and columns in the table's order; NaN for an emotion without faces), for
    :func:`emonb.plotting.anatomy.plot_au_heatmap` (``centre=0``); ``rest=False`` drops the
    rest-of-face column."""
    wide = table.pivot(index="group", columns="AU", values="mean")
    from emonb.methods.shapley import REST

    cols = [c for c in dict.fromkeys(table["AU"]) if rest or c != REST]
    wide = wide.loc[list(dict.fromkeys(table["group"])), cols].astype(float)
    wide.index.name, wide.columns.name = "emotion", None
    return wide
