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

from emonb.anatomy.layout import LAYOUT_SIZE
from emonb.arrays import minmax
from emonb.errors import EmonbError
from emonb.methods import get_method
from emonb.metrics.action_units import OCCLUSION, AUEvidence, anatomy_masks, au_evidence
from emonb.metrics.complexity import complexity, sparseness
from emonb.metrics.layouts import region_analysis, verdict_changes
from emonb.metrics.localisation import energy_share, pointing_game
from emonb.metrics.perturbation import Curves, faithfulness_correlation, perturbation_curves
from emonb.metrics.randomization import Randomization, cascading_randomization, random_logit
from emonb.metrics.ranking import metric_agreement, summary_table
from emonb.metrics.regions import focus_table
from emonb.metrics.road import road_curves, road_gap
from emonb.metrics.robustness import max_sensitivity
from emonb.metrics.stats import bootstrap_ci
from emonb.models.preprocessing import as_image_list
from emonb.models.runner import Runner, class_probability
from emonb.models.zoo import EmotionModel
from emonb.records import json_safe

if TYPE_CHECKING:
    import pandas as pd

    from emonb.faces.mesh import Landmarks

__all__ = [
    "ANATOMY_METHODS",
    "DEFAULT_METHODS",
    "POINTING_FACES",
    "QUICK_METHODS",
    "REFERENCES",
    "REGION_KINDS",
    "MapEvaluation",
    "evaluate_maps",
    "method_factory",
]

#: The methods evaluated by default: the registry's attributions but CAM (it needs a
#: global-pooling head), the two Grad-CAM ablations of chapter 05 and the raw activation
#: map. Eigen-CAM stays although it ignores the target class: random-logit should show it.
DEFAULT_METHODS = ("saliency", "deconvnet", "guided_backprop", "gradient_input", "smoothgrad",
                   "squaregrad", "vargrad", "integrated_gradients", "gradcam",
                   "gradcam_plus_plus", "xgradcam", "hirescam", "layercam", "eigencam",
                   "eigengradcam", "scorecam", "ablationcam", "guided_gradcam", "occlusion",
                   "rise", "au_shap")  # fmt: skip
#: The methods a quick run scores when none are named (a pipeline check, as CI runs it):
#: one of each family, so that every metric and the agreement table still run.
QUICK_METHODS = ("saliency", "smoothgrad", "integrated_gradients", "gradcam", "scorecam",
                 "occlusion", "rise")
#: Methods that need each face's anatomy (the face mesh): left out on the synthetic
#: stand-in, whose drawn faces have none (and so out of the pointing game).
ANATOMY_METHODS = ("au_shap",)
#: Synthetic stand-in faces behind the pointing game (the chapters' stand-in size, so the
#: seed CNN chapter 01 trains on it is reused).
POINTING_FACES = 2100
#: Model-free reference maps scored beside the methods: seeded uniform noise, and a
#: centred Gaussian (sigma = a quarter of the side), the same for every face.
REFERENCES = ("random", "centre")
#: Where the face regions come from: each face's own mesh (``"mesh"``), or the canonical
#: 48x48 boxes of :data:`emonb.anatomy.layout.FACE_REGIONS` (``"canonical"``).
REGION_KINDS = ("mesh", "canonical")


class _Reference:
    """A model-free "method" (see :data:`REFERENCES`) with the explainer call."""

    def __init__(self, kind: str, net: EmotionModel, seed: int = 0):
        if kind not in REFERENCES:
            raise EmonbError(f"unknown reference map {kind!r}; choose one of {REFERENCES}")
        self.kind, self.net, self.seed = kind, net, seed

    def explain(self, images, targets=None) -> np.ndarray:
        return self._maps(len(as_image_list(images)))

    def explain_inputs(self, x: np.ndarray, targets=None) -> np.ndarray:
        return self._maps(len(x))

    def _maps(self, n: int) -> np.ndarray:
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
    agreement: pd.DataFrame | None = None

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
            "metric_agreement": records(self.agreement),
        }


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
    road_fractions: Sequence[float] = (0.1, 0.3, 0.5, 0.7, 0.9),
    road_noise: float = 0.01,
    correlation_runs: int = 50,
    correlation_subset: float = 0.1,
    n_road: int = 100,
    n_robust: int = 16,
    sensitivity_samples: int = 5,
    sensitivity_radius: float = 0.05,
    n_pointing: int | None = 100,
    seed: int = 0,
    log: Callable[[str], None] | None = print,
) -> MapEvaluation:
    """Score explanation methods on ``net`` and ``faces`` (a FaceDataset).

    * ``n`` faces of ``split`` (a stratified, seeded sample) are explained for their
      predicted class; deletion and insertion AUCs use ``steps`` steps and ``baseline``;
      ROAD (:mod:`~emonb.metrics.road`) removes ``road_fractions`` of the pixels, most and
      least relevant first, imputed by noisy linear imputation (``road_noise``), on
      ``n_road`` faces of the sample (stratified: the imputation is the costliest step);
      faithfulness correlation uses ``correlation_runs`` random subsets of
      ``correlation_subset`` of the pixels, shared by all methods; sparseness and
      complexity (:mod:`~emonb.metrics.complexity`) are read off the maps;
    * max-sensitivity (``sensitivity_samples`` noisy copies, radius ``sensitivity_radius``
      of the value range) and random-logit (:mod:`~emonb.metrics.robustness`,
      :func:`~emonb.metrics.randomization.random_logit`) explain again ``n_robust`` faces of
      the sample (stratified); cascading randomization runs on the first ``n_random`` of
      them over ``stages`` stages;
    * the pointing game and mask-energy share run on ``pointing_faces`` (a synthetic
      FaceDataset with ``cue_masks``; ``n_pointing`` faces of its PublicTest rows, at most
      ``n``; None: ``n``) with ``pointing_net`` (a model trained on them), explaining each
      face's label; :data:`ANATOMY_METHODS` are left out of it (the drawn faces have no
      anatomy), as they are out of everything when ``faces`` is the stand-in;
    * face regions (shares of ``region_method``'s maps, occlusion drops) are measured on
      ``n_regions`` faces of ``split`` (default: all of them; they are cheap, and rare
      classes such as disgust need many faces), grouped by predicted class, and
      :data:`~emonb.metrics.regions.CLAIMS` are tested on them;
    * ``regions="mesh"`` (default): the faces are meshed (:class:`~emonb.faces.mesh.FaceMesh`)
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
      (:data:`emonb.anatomy.layout.FACE_REGIONS`), no action units.

    ``method_settings`` maps a method name to its constructor's keyword arguments, e.g.
    ``{"smoothgrad": {"samples": 20}, "integrated_gradients": {"steps": 32},
    "scorecam": {"max_channels": None}}`` (the methods' defaults, used for a method not
    listed); :func:`emonb.methods.method_settings` gives them capped for quick mode.

    The methods' and references' rows of ``table`` (:func:`~emonb.metrics.ranking.summary_table`)
    are ranked by insertion AUC minus deletion AUC (higher is better); every per-face
    metric of :data:`~emonb.metrics.ranking.METRICS` has its mean and 95% bootstrap interval
    over faces; the randomization columns are the maps' similarity to the trained model's
    after re-drawing the top layer only, and averaged over the cascade (lower: the maps
    depend on the weights, as they should). ``agreement`` holds the rank correlations
    between the rankings of every pair of metrics (:func:`~emonb.metrics.ranking.metric_agreement`;
    None with fewer than three methods).

    References: Petsiuk et al. (2018) (deletion, insertion); Rong et al. (2022) (ROAD);
    Bhatt et al. (2020) (faithfulness correlation, complexity); Yeh et al. (2019)
    (max-sensitivity); Chalasani et al. (2020) (sparseness); Sixt et al. (2020)
    (random-logit); Adebayo et al. (2018) (randomization); Zhang et al. (2016) (pointing
    game); Wang et al. (2020) (energy share).
    """
    if regions not in REGION_KINDS:
        raise EmonbError(f"unknown face regions {regions!r}; choose one of "
                         f"{', '.join(REGION_KINDS)}")  # fmt: skip
    sizes = (("n", n, 1), ("steps", steps, 2), ("stages", stages, 1), ("n_random", n_random, 1),
             ("n_regions", n_regions or 1, 1), ("correlation_runs", correlation_runs, 2),
             ("n_robust", n_robust, 1), ("n_road", n_road, 1),
             ("sensitivity_samples", sensitivity_samples, 1), ("n_pointing", n_pointing or 1, 1))  # fmt: skip
    for name, value, least in sizes:
        if int(value) < least:
            raise EmonbError(f"{name} must be at least {least}, got {value}")
    if not 0 < correlation_subset < 1 or not all(0 < f < 1 for f in road_fractions):
        raise EmonbError("correlation_subset and road_fractions must lie strictly between 0 and 1")
    say = log or (lambda _msg: None)
    settings_of = dict(method_settings or {})
    names = list(methods) + [r for r in REFERENCES if r not in methods]
    skipped = [m for m in names if m in ANATOMY_METHODS] if faces.synthetic else []
    if skipped:
        say(f"  {', '.join(skipped)}: left out, the synthetic stand-in has no anatomy to mesh")
        names = [m for m in names if m not in skipped]
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
    values: dict[str, dict[str, np.ndarray]] = {}
    robust = _sample(data.labels, n_robust, seed)
    road = _sample(data.labels, n_road, seed)
    for m in names:
        t0 = time.perf_counter()
        explainer = factories[m](net)
        maps[m] = np.asarray(explainer.explain(images, predicted), dtype=np.float32)
        t1 = time.perf_counter()
        curves[m] = {mode: perturbation_curves(score, x, maps[m], predicted, mode=mode,
                                               steps=steps, baseline=baseline, seed=seed)
                     for mode in ("deletion", "insertion")}  # fmt: skip
        t2 = time.perf_counter()
        for order in ("morf", "lerf"):
            curves[m][f"road-{order}"] = road_curves(score, x[road], maps[m][road],
                                                     predicted[road], order=order,
                                                     fractions=road_fractions, noise=road_noise,
                                                     seed=seed)  # fmt: skip
        t3 = time.perf_counter()
        explain = explainer.explain_inputs
        xr, tr = x[robust], predicted[robust]
        values[m] = {
            "deletion AUC": curves[m]["deletion"].auc,
            "insertion AUC": curves[m]["insertion"].auc,
            "insertion - deletion": curves[m]["insertion"].auc - curves[m]["deletion"].auc,
            "ROAD (LeRF - MoRF)": road_gap(curves[m]["road-morf"], curves[m]["road-lerf"]),
            "sparseness": sparseness(maps[m]),
            "complexity": complexity(maps[m]),
            "max-sensitivity": max_sensitivity(explain, xr, tr, radius=sensitivity_radius,
                                               value_range=net.spec.value_range,
                                               samples=sensitivity_samples, seed=seed,
                                               maps=maps[m][robust]),
            "random-logit SSIM": random_logit(explain, xr, tr, len(net.class_names), seed=seed,
                                              maps=maps[m][robust]),
        }  # fmt: skip
        t4 = time.perf_counter()
        seconds[m] = {"maps": t1 - t0, "curves": t2 - t1, "road": t3 - t2, "robustness": t4 - t3}
        say(f"  {m}: maps {t1 - t0:.1f} s, deletion/insertion {t2 - t1:.1f} s, ROAD {t3 - t2:.1f} s, "
            f"max-sensitivity and random-logit {t4 - t3:.1f} s")  # fmt: skip
    t0 = time.perf_counter()
    correlation = faithfulness_correlation(score, x, maps, predicted, subset=correlation_subset,
                                           runs=correlation_runs, baseline=baseline, seed=seed)  # fmt: skip
    for m in names:
        values[m]["faithfulness correlation"] = correlation[m]
    seconds["faithfulness correlation"] = time.perf_counter() - t0
    say(f"  faithfulness correlation: {correlation_runs} shared subsets, "
        f"{seconds['faithfulness correlation']:.1f} s")  # fmt: skip

    t0 = time.perf_counter()
    rand = cascading_randomization(net, images[:n_random], factories, targets=predicted[:n_random],
                                   stages=stages, seed=seed)  # fmt: skip
    seconds["randomization"] = time.perf_counter() - t0
    say(f"  randomization: {len(rand.stages) - 1} stages on {min(n_random, len(images))} faces, "
        f"{seconds['randomization']:.1f} s")  # fmt: skip

    pointing = None
    if pointing_net is not None and pointing_faces is not None:
        t0 = time.perf_counter()
        shown = [m for m in names if m not in ANATOMY_METHODS]
        pointing = _pointing(pointing_net, pointing_faces, shown, min(n, n_pointing or n), seed,
                             settings_of)  # fmt: skip
        seconds["pointing"] = time.perf_counter() - t0
        say(f"  pointing game: {seconds['pointing']:.1f} s")

    t0 = time.perf_counter()
    region_faces = pool.subset(region_rows)
    if region_marks is not None:
        region_faces = region_faces.subset(region_marks.accepted)
        region_marks = region_marks.subset(region_marks.accepted)
    make = factories.get(region_method)
    make = make or method_factory(region_method, seed, settings_of.get(region_method))
    region_table, claims, claims_canonical = region_analysis(
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
        # the occlusion *method*'s maps are not the per-region occlusion evidence of the
        # action units: they enter its tables as "occlusion map"
        au_maps = {("occlusion map" if m == OCCLUSION else m): mp for m, mp in maps.items()}
        au = au_evidence(net, images, labels=data.labels, maps=au_maps, landmarks=marks,
                         runner=runner, seed=seed)  # fmt: skip
        seconds["action_units"] = time.perf_counter() - t0
        say(f"  {au.summary()}, {seconds['action_units']:.1f} s")

    table = _summary(values, rand, pointing, names, seed)
    # rankings of fewer than three methods cannot disagree in any informative way
    ranked = [m for m in table.index if m not in REFERENCES]
    agreement = metric_agreement(table, exclude=REFERENCES) if len(ranked) >= 3 else None
    used = {m: dict(settings_of[m]) for m in [*names, region_method] if settings_of.get(m)}
    settings = {"model": net.name, "data": faces.name, "split": split, "n": len(images),
                "accuracy": float(np.mean(predicted == data.labels)),
                "methods": names, "method_settings": used, "steps": steps, "baseline": baseline,
                "left_out": skipped, "road_fractions": list(road_fractions),
                "road_noise": road_noise, "correlation_runs": correlation_runs,
                "correlation_subset": correlation_subset, "road_faces": len(road),
                "robustness_faces": len(robust),
                "sensitivity_samples": sensitivity_samples,
                "sensitivity_radius": sensitivity_radius,
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
        settings["pointing_faces"] = pointing.attrs["faces"]
        settings["pointing_accuracy"] = pointing.attrs["accuracy"]
    return MapEvaluation(table=table, curves=curves, randomization=rand, regions=region_table,
                         claims=claims, focus=focus, pointing=pointing, settings=settings,
                         seconds=json_safe(seconds), claims_canonical=claims_canonical,
                         changes=changes, au=au, agreement=agreement)  # fmt: skip


def _mesh(pool, rows: np.ndarray, region_rows: np.ndarray) -> tuple[Landmarks, Landmarks, Landmarks]:
    """The face mesh of the rows of ``pool`` both samples use, meshed once: the landmarks
    of ``rows``, of ``region_rows``, and of all the faces meshed."""
    from emonb.faces.mesh import FaceMesh

    union = np.union1d(rows, region_rows)
    meshed = FaceMesh().landmarks(pool.images[union])
    return (meshed.subset(np.searchsorted(union, rows)),
            meshed.subset(np.searchsorted(union, region_rows)), meshed)  # fmt: skip


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
    df.attrs["faces"] = len(data)
    df.attrs["cue area"] = float(np.asarray(data.cue_masks).mean())
    return df


def _summary(values: Mapping[str, Mapping[str, np.ndarray]], rand: Randomization, pointing,
             names: Sequence[str], seed: int) -> pd.DataFrame:  # fmt: skip
    """The ranked table (:func:`~emonb.metrics.ranking.summary_table`): every per-face
    metric with its interval, then the randomization and pointing columns."""
    summary = rand.summary()
    extra = {}
    for m in names:
        extra[m] = {"randomization spearman (top)": float(summary.loc[m, "spearman top"]),
                    "randomization spearman (mean)": float(summary.loc[m, "spearman mean"]),
                    "randomization ssim (mean)": float(summary.loc[m, "ssim mean"])}  # fmt: skip
        if pointing is not None:
            extra[m]["pointing game (synthetic)"] = (float(pointing.loc[m, "pointing game"])
                                                     if m in pointing.index else float("nan"))  # fmt: skip
    return summary_table({m: values[m] for m in names}, extra=extra, seed=seed)
