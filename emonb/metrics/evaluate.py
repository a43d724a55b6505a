"""The whole evaluation of explanation maps (``emonb evaluate-maps`` and chapter 08).

:func:`evaluate_maps` only composes the metrics of :mod:`emonb.metrics`: deletion and
insertion (:mod:`~emonb.metrics.perturbation`), cascading randomization
(:mod:`~emonb.metrics.randomization`), the pointing game (:mod:`~emonb.metrics.localisation`)
face regions (:mod:`~emonb.metrics.regions`: each face's own anatomy from the face mesh,
beside the canonical boxes) and the evidence per FACS action unit
(:mod:`~emonb.metrics.action_units`), over the methods of the registry and two model-free
reference maps (:data:`REFERENCES`). Every size (faces, steps, stages, the methods' own
iterations) is an argument: quick mode is applied by the caller.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from emonb.arrays import minmax, resize_maps
from emonb.errors import EmonbError
from emonb.faces import LAYOUT_SIZE, region_masks
from emonb.methods import get_method
from emonb.metrics.action_units import AUEvidence, anatomy_masks, au_evidence
from emonb.metrics.localisation import energy_share, pointing_game
from emonb.metrics.perturbation import Curves, class_probability, perturbation_curves
from emonb.metrics.randomization import Randomization, cascading_randomization
from emonb.metrics.regions import claims_table, focus_table, occlusion_drops, region_shares
from emonb.metrics.stats import bootstrap_ci, by_group
from emonb.models.preprocessing import as_image_list
from emonb.models.runner import Runner
from emonb.models.zoo import EmotionModel

if TYPE_CHECKING:
    import pandas as pd

    from emonb.anatomy.mesh import Landmarks

__all__ = [
    "DEFAULT_METHODS",
    "POINTING_FACES",
    "REFERENCES",
    "REGION_KINDS",
    "MapEvaluation",
    "evaluate_maps",
    "json_safe",
    "method_factory",
    "verdict_changes",
    "compare_layouts",
    "layouts_side_by_side",
]

#: The methods evaluated by default (every class-specific method of the registry but CAM,
#: which needs a global-pooling head).
DEFAULT_METHODS = ("saliency", "deconvnet", "guided_backprop", "smoothgrad",
                   "integrated_gradients", "gradcam", "gradcam_plus_plus", "layercam",
                   "scorecam", "guided_gradcam")  # fmt: skip
#: Synthetic stand-in faces behind the pointing game (the chapters' stand-in size, so the
#: seed CNN chapter 01 trains on it is reused).
POINTING_FACES = 2100
#: Model-free reference maps scored beside the methods: seeded uniform noise, and a
#: centred Gaussian (sigma = a quarter of the side), the same for every face.
REFERENCES = ("random", "centre")
#: Where the face regions come from: each face's own mesh (``"mesh"``), or the canonical
#: 48x48 boxes of :data:`emonb.faces.FACE_REGIONS` (``"canonical"``).
REGION_KINDS = ("mesh", "canonical")
#: The regions the claims compare (:data:`emonb.metrics.regions.CLAIMS`).
_CLAIM_REGIONS = ("eyes", "mouth")


class _Reference:
    """A model-free "method" (see :data:`REFERENCES`) with the explainer call."""

    def __init__(self, kind: str, net: EmotionModel, seed: int = 0):
        if kind not in REFERENCES:
            raise EmonbError(f"unknown reference map {kind!r}; choose one of {REFERENCES}")
        self.kind, self.net, self.seed = kind, net, seed

    def explain(self, images, targets=None) -> np.ndarray:
        n = len(as_image_list(images))
        h, w = self.net.spec.input_size
        if self.kind == "random":
            return np.random.default_rng(self.seed).random((n, h, w), dtype=np.float32)
        yy, xx = np.mgrid[0:h, 0:w]
        g = np.exp(-(((yy - (h - 1) / 2) / (h / 4)) ** 2 + ((xx - (w - 1) / 2) / (w / 4)) ** 2) / 2)
        return np.broadcast_to(minmax(g, axes=(0, 1)), (n, h, w)).copy()


def method_factory(
    name: str, seed: int = 0, settings: Mapping[str, object] | None = None
) -> Callable[[EmotionModel], object]:
    """``net -> explainer`` for a registry method (:func:`emonb.methods.get_method`; an
    unknown name is an error listing the valid ones) built with the keyword arguments
    ``settings`` (e.g. ``{"samples": 3}`` for SmoothGrad; default: the method's defaults),
    or for a :data:`REFERENCES` map (seeded by ``seed``; ``settings`` must be empty)."""
    kwargs = dict(settings or {})
    if name in REFERENCES:
        if kwargs:
            raise EmonbError(f"the reference map {name!r} takes no settings, got {kwargs}")
        return lambda net: _Reference(name, net, seed)
    cls = get_method(name)
    return lambda net: cls(net, **kwargs)


@dataclass
class MapEvaluation:
    """Everything :func:`evaluate_maps` measured; ``table`` is the ranked summary.

    With mesh regions, ``regions``, ``claims`` and ``focus`` use each face's own anatomy;
    ``claims_canonical`` tests the same claims with the canonical boxes on the same faces,
    ``changes`` lists the claims whose verdict differs between the two, and ``au`` is the
    evidence per FACS action unit of the explained faces. With canonical regions those
    three are None."""

    table: pd.DataFrame
    curves: dict[str, dict[str, Curves]]
    randomization: Randomization
    regions: pd.DataFrame
    claims: pd.DataFrame
    focus: pd.DataFrame
    pointing: pd.DataFrame | None
    settings: dict
    seconds: dict
    claims_canonical: pd.DataFrame | None = None
    changes: pd.DataFrame | None = None
    au: AUEvidence | None = None

    def to_json(self) -> dict:
        """Plain-JSON form (tables as records, mean curves, settings and timings)."""

        def records(df):
            return None if df is None else json_safe(df.reset_index().to_dict(orient="records"))

        return {
            "settings": self.settings,
            "seconds": self.seconds,
            "table": records(self.table),
            "curves": {m: {k: {"fractions": c.fractions.tolist(),
                               "mean": c.scores.mean(axis=0).round(5).tolist()}
                           for k, c in cs.items()} for m, cs in self.curves.items()},  # fmt: skip
            "randomization": {"stages": self.randomization.stages,
                              "spearman": records(self.randomization.spearman),
                              "ssim": records(self.randomization.ssim)},  # fmt: skip
            "pointing": records(self.pointing),
            "regions": records(self.regions),
            "claims": records(self.claims),
            "focus": records(self.focus),
            "claims_canonical": records(self.claims_canonical),
            "changes": records(self.changes),
            "action_units": None if self.au is None else self.au.to_json(),
        }


def json_safe(obj):
    """NaN -> None and NumPy scalars -> Python, recursively (strict JSON)."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return None if not np.isfinite(obj) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def evaluate_maps(
    net: EmotionModel,
    faces,
    *,
    methods: Sequence[str] = DEFAULT_METHODS,
    method_settings: Mapping[str, Mapping[str, object]] | None = None,
    n: int = 500,
    split: str | None = "PublicTest",
    pointing_net: EmotionModel | None = None,
    pointing_faces=None,
    steps: int = 16,
    baseline: str = "blur",
    stages: int = 6,
    n_random: int = 16,
    region_method: str = "gradcam",
    n_regions: int | None = None,
    regions: str = "mesh",
    seed: int = 0,
    log: Callable[[str], None] | None = print,
) -> MapEvaluation:
    """Score explanation methods on ``net`` and ``faces`` (a FaceDataset).

    * ``n`` faces of ``split`` (a stratified, seeded sample) are explained for their
      predicted class; deletion and insertion AUCs use ``steps`` steps and ``baseline``;
    * cascading randomization runs on the first ``n_random`` of them over ``stages`` stages;
    * the pointing game and mask-energy share run on ``pointing_faces`` (a synthetic
      FaceDataset with ``cue_masks``; up to ``n`` faces of its PublicTest rows) with
      ``pointing_net`` (a model trained on them), explaining each face's label;
    * face regions (shares of ``region_method``'s maps, occlusion drops) are measured on
      ``n_regions`` faces of ``split`` (default: all of them; they are cheap, and rare
      classes such as disgust need many faces), grouped by predicted class, and
      :data:`~emonb.metrics.regions.CLAIMS` are tested on them;
    * ``regions="mesh"`` (default): the faces are meshed (:class:`~emonb.anatomy.mesh.FaceMesh`)
      and the region shares, occlusion drops, claims and focus use each face's own
      anatomical regions (:func:`~emonb.metrics.action_units.anatomy_masks`); faces the
      mesh rejects are left out of them (and counted: ``settings["mesh_rejected"]`` of
      ``settings["mesh_faces"]``, and a log line); the claims are also tested with the
      canonical boxes on the same faces (``claims_canonical``, and ``changes``: the
      verdicts that differ), and the explained faces' maps of every method and their
      occlusion are scored per FACS action unit (``au``,
      :func:`~emonb.metrics.action_units.au_evidence`, grouped by prediction and by true
      label). The synthetic stand-in has no anatomy: on it the canonical boxes are used, and
      said. ``regions="canonical"``: the canonical 48x48 boxes only
      (:data:`emonb.faces.FACE_REGIONS`), no action units.

    ``method_settings`` maps a method name to its constructor's keyword arguments, e.g.
    ``{"smoothgrad": {"samples": 20}, "integrated_gradients": {"steps": 32},
    "scorecam": {"max_channels": None}}`` (the methods' defaults, used for a method not
    listed); :func:`emonb.methods.method_settings` gives them capped for quick mode.

    The methods' and references' rows of ``table`` are ranked by insertion AUC minus
    deletion AUC (higher is better), each with a 95% bootstrap interval over faces; the
    randomization columns are the maps' similarity to the trained model's after re-drawing
    the top layer only, and averaged over the cascade (lower: the maps depend on the
    weights, as they should).

    References: Petsiuk et al. (2018) (deletion, insertion); Adebayo et al. (2018)
    (randomization); Zhang et al. (2016) (pointing game); Wang et al. (2020) (energy share).
    """
    if regions not in REGION_KINDS:
        raise EmonbError(f"unknown face regions {regions!r}; choose one of "
                         f"{', '.join(REGION_KINDS)}")  # fmt: skip
    sizes = (("n", n, 1), ("steps", steps, 2), ("stages", stages, 1), ("n_random", n_random, 1),
             ("n_regions", n_regions or 1, 1))  # fmt: skip
    for name, value, least in sizes:
        if int(value) < least:
            raise EmonbError(f"{name} must be at least {least}, got {value}")
    say = log or (lambda _msg: None)
    settings_of = dict(method_settings or {})
    names = list(methods) + [r for r in REFERENCES if r not in methods]
    factories = {m: _reusing(net, method_factory(m, seed, settings_of.get(m))) for m in names}
    pool = faces.split(split) if split else faces
    if len(pool) == 0:
        raise EmonbError(f"no faces in split {split!r}")
    rows = _sample(pool.labels, n, seed)
    region_rows = _sample(pool.labels, n_regions or len(pool), seed)
    data = pool.subset(rows)
    images = data.images
    x = net.preprocess(images)
    runner = Runner(net, batch_size=256)
    score = class_probability(runner)
    predicted = runner.probabilities(x).argmax(axis=1)
    seconds: dict[str, float] = {}
    marks = region_marks = None
    if regions == "mesh" and faces.synthetic:
        say("  regions: the synthetic stand-in has no anatomy to mesh; canonical boxes, "
            "no action units")  # fmt: skip
    elif regions == "mesh":
        t0 = time.perf_counter()
        marks, region_marks, meshed = _mesh(pool, rows, region_rows)
        seconds["mesh"] = time.perf_counter() - t0
        say(f"  {meshed.summary()} ({seconds['mesh']:.1f} s)")
    curves: dict[str, dict[str, Curves]] = {}
    maps: dict[str, np.ndarray] = {}
    say(f"explaining {len(images)} {faces.name} faces ({split or 'all rows'}) with "
        f"{len(names)} methods; {steps} deletion/insertion steps, baseline {baseline}")  # fmt: skip
    for m in names:
        t0 = time.perf_counter()
        maps[m] = np.asarray(factories[m](net).explain(images, predicted), dtype=np.float32)
        t1 = time.perf_counter()
        curves[m] = {mode: perturbation_curves(score, x, maps[m], predicted, mode=mode,
                                               steps=steps, baseline=baseline, seed=seed)
                     for mode in ("deletion", "insertion")}  # fmt: skip
        seconds[m] = {"maps": t1 - t0, "curves": time.perf_counter() - t1}
        say(f"  {m}: maps {t1 - t0:.1f} s, curves {seconds[m]['curves']:.1f} s")

    t0 = time.perf_counter()
    rand = cascading_randomization(net, images[:n_random], factories, targets=predicted[:n_random],
                                   stages=stages, seed=seed)  # fmt: skip
    seconds["randomization"] = time.perf_counter() - t0
    say(f"  randomization: {len(rand.stages) - 1} stages on {min(n_random, len(images))} faces, "
        f"{seconds['randomization']:.1f} s")  # fmt: skip

    pointing = None
    if pointing_net is not None and pointing_faces is not None:
        t0 = time.perf_counter()
        pointing = _pointing(pointing_net, pointing_faces, names, n, seed, settings_of)
        seconds["pointing"] = time.perf_counter() - t0
        say(f"  pointing game: {seconds['pointing']:.1f} s")

    t0 = time.perf_counter()
    region_faces = pool.subset(region_rows)
    if region_marks is not None:
        region_faces = region_faces.subset(region_marks.accepted)
        region_marks = region_marks.subset(region_marks.accepted)
    make = factories.get(region_method)
    make = make or method_factory(region_method, seed, settings_of.get(region_method))
    region_table, claims, claims_canonical = _region_analysis(
        net, region_faces.images, make(net), runner, region_marks, region_method, seed)
    changes = au = None
    if region_marks is None:
        focus = focus_table(maps, seed=seed)
    else:
        changes = verdict_changes(claims_canonical, claims)
        ok = marks.accepted
        own = anatomy_masks(marks.xy[ok], images.shape[1:3], LAYOUT_SIZE)
        focus = focus_table({m: mp[ok] for m, mp in maps.items()}, masks=own, seed=seed)
    seconds["regions"] = time.perf_counter() - t0
    say(f"  regions: {len(region_faces)} faces, {seconds['regions']:.1f} s")
    if marks is not None:
        t0 = time.perf_counter()
        au = au_evidence(net, images, labels=data.labels, maps=maps, landmarks=marks,
                         runner=runner, seed=seed)  # fmt: skip
        seconds["action_units"] = time.perf_counter() - t0
        say(f"  {au.summary()}, {seconds['action_units']:.1f} s")

    table = _summary(curves, rand, pointing, names, seed)
    used = {m: dict(settings_of[m]) for m in [*names, region_method] if settings_of.get(m)}
    settings = {"model": net.name, "data": faces.name, "split": split, "n": len(images),
                "accuracy": float(np.mean(predicted == data.labels)),
                "methods": names, "method_settings": used, "steps": steps, "baseline": baseline,
                "randomization_faces": min(n_random, len(images)),
                "randomization_stages": rand.stages[1:], "region_method": region_method,
                "region_faces": len(region_faces),
                "regions": "canonical" if marks is None else "mesh",
                "targets": "predicted class", "seed": seed}  # fmt: skip
    if marks is not None:
        settings["mesh_faces"] = len(meshed)
        settings["mesh_rejected"] = meshed.rejected
        settings["au_faces"] = int(marks.accepted.sum())
    if pointing is not None:
        settings["pointing_model"] = pointing_net.name
        settings["pointing_accuracy"] = pointing.attrs["accuracy"]
    return MapEvaluation(table=table, curves=curves, randomization=rand, regions=region_table,
                         claims=claims, focus=focus, pointing=pointing, settings=settings,
                         seconds=json_safe(seconds), claims_canonical=claims_canonical,
                         changes=changes, au=au)  # fmt: skip


def _mesh(pool, rows: np.ndarray, region_rows: np.ndarray) -> tuple[Landmarks, Landmarks, Landmarks]:
    """The face mesh of the rows of ``pool`` both samples use, meshed once: the landmarks
    of ``rows``, of ``region_rows``, and of all the faces meshed."""
    from emonb.anatomy.mesh import FaceMesh

    union = np.union1d(rows, region_rows)
    meshed = FaceMesh().landmarks(pool.images[union])
    return (meshed.subset(np.searchsorted(union, rows)),
            meshed.subset(np.searchsorted(union, region_rows)), meshed)  # fmt: skip


def _region_analysis(net: EmotionModel, images: np.ndarray, explainer, runner: Runner,
                     marks: Landmarks | None, method: str, seed: int):  # fmt: skip
    """The face regions of ``images`` (grouped by predicted class): the long table of
    occlusion drops and ``method``'s mass shares, the claims, and (with ``marks``, each
    face's mesh) the claims with the canonical boxes on the same faces (else None)."""
    import pandas as pd

    predicted = runner.probabilities(net.preprocess(images)).argmax(axis=1)
    maps = explainer.explain(images, predicted)
    mass = f"{method} mass share"
    drops, shares = _region_values(net, images, predicted, maps, runner, marks)
    table = pd.concat([
        by_group(drops, predicted, net.class_names, seed=seed).assign(measure="occlusion drop"),
        by_group(shares, predicted, net.class_names, seed=seed).assign(measure=mass),
    ], ignore_index=True)  # fmt: skip
    table.attrs["area"] = shares.attrs["area"]
    claims = _claims(drops, shares, predicted, net.class_names, mass, seed)
    if marks is None:
        return table, claims, None
    drops, shares = _region_values(net, images, predicted, maps, runner, None, _CLAIM_REGIONS)
    return table, claims, _claims(drops, shares, predicted, net.class_names, mass, seed)


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
    explainer = method_factory(method, seed, method_settings)(net)
    _, mesh, canonical = _region_analysis(net, images[ok], explainer,
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


def _reusing(net: EmotionModel, factory: Callable[[EmotionModel], object]):
    """``factory`` that builds the explainer of ``net`` itself once and reuses it (for the
    maps, the randomization's reference and the regions; explainers keep no state between
    calls, so the maps are the same, without compiling the same model again)."""
    made = []

    def make(other: EmotionModel):
        if other is not net:
            return factory(other)
        if not made:
            made.append(factory(net))
        return made[0]

    return make


def _sample(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Sorted indices of exactly ``min(n, len(labels))`` rows, stratified by class."""
    from emonb.models.train import stratified_sample

    rng = np.random.default_rng(seed)
    rows = stratified_sample(labels, min(int(n), labels.size), rng)
    return rows if rows.size <= n else np.sort(rng.choice(rows, size=int(n), replace=False))


def _pointing(net: EmotionModel, faces, names: Sequence[str], n: int, seed: int,
              settings_of: Mapping[str, Mapping[str, object]]) -> pd.DataFrame:  # fmt: skip
    """Pointing game and energy share on synthetic faces, explaining each face's label."""
    import pandas as pd

    if getattr(faces, "cue_masks", None) is None:
        raise EmonbError("the pointing game needs faces with cue_masks (the synthetic stand-in)")
    data = faces.split("PublicTest") if "PublicTest" in set(faces.usage.tolist()) else faces
    data = data.subset(_sample(data.labels, n, seed))
    runner = Runner(net, batch_size=256)
    predicted = runner.probabilities(net.preprocess(data.images)).argmax(axis=1)
    out = {}
    for k, m in enumerate(names):
        mp = method_factory(m, seed, settings_of.get(m))(net).explain(data.images, data.labels)
        hits = pointing_game(mp, data.cue_masks).astype(np.float64)
        share = energy_share(mp, data.cue_masks)
        mean, lo, hi = bootstrap_ci(hits, seed=seed + k)
        out[m] = {"pointing game": mean, "pointing lo": lo, "pointing hi": hi,
                  "energy share": float(share.mean())}  # fmt: skip
    df = pd.DataFrame(out).T
    df.attrs["accuracy"] = float(np.mean(predicted == data.labels))
    df.attrs["cue area"] = float(np.asarray(data.cue_masks).mean())
    return df


def _summary(curves, rand: Randomization, pointing, names: Sequence[str],
             seed: int) -> pd.DataFrame:  # fmt: skip
    """The ranked table: insertion - deletion with its interval, AUCs, randomization and
    pointing columns, one row per method."""
    import pandas as pd

    rows = {}
    summary = rand.summary()
    for k, m in enumerate(names):
        d, i = curves[m]["deletion"].auc, curves[m]["insertion"].auc
        score, lo, hi = bootstrap_ci(i - d, seed=seed + k)
        row = {"insertion - deletion": score, "lo": lo, "hi": hi,
               "deletion AUC": float(d.mean()), "insertion AUC": float(i.mean()),
               "randomization spearman (top)": float(summary.loc[m, "spearman top"]),
               "randomization spearman (mean)": float(summary.loc[m, "spearman mean"]),
               "randomization ssim (mean)": float(summary.loc[m, "ssim mean"])}  # fmt: skip
        if pointing is not None:
            row["pointing game (synthetic)"] = float(pointing.loc[m, "pointing game"])
        rows[m] = row
    table = pd.DataFrame(rows).T.sort_values("insertion - deletion", ascending=False, kind="stable")
    table.index.name = "method"
    return table
