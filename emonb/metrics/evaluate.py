"""The whole evaluation of explanation maps (``emonb evaluate-maps`` and chapter 08).

:func:`evaluate_maps` only composes the metrics of :mod:`emonb.metrics`: deletion and
insertion (:mod:`~emonb.metrics.perturbation`), cascading randomization
(:mod:`~emonb.metrics.randomization`), the pointing game (:mod:`~emonb.metrics.localisation`)
face regions (:mod:`~emonb.metrics.regions`: each face's own anatomy from the face mesh,
beside the canonical boxes) and the evidence per FACS action unit
(:mod:`~emonb.metrics.action_units`), over the methods of the registry and two model-free
reference maps (:data:`REFERENCES`), running the per-face metrics of
:mod:`~emonb.metrics.suite` on every method's maps. Every size (faces, steps, stages, the
methods' own iterations) is a field of :class:`~emonb.metrics.settings.EvaluationSettings`:
quick mode is applied by the caller (:meth:`~emonb.metrics.settings.EvaluationSettings.capped`).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from emonb.anatomy.layout import LAYOUT_SIZE
from emonb.arrays import minmax
from emonb.engine import Executor, open_executor
from emonb.errors import EmonbError
from emonb.methods import get_method
from emonb.metrics.action_units import OCCLUSION, anatomy_masks, au_evidence
from emonb.metrics.chunks import Job, RegionChunk, chunk_bounds, task_faces
from emonb.metrics.dispatch import mesh_faces, score_chunks, start_side_tasks
from emonb.metrics.layouts import region_tables, verdict_changes
from emonb.metrics.randomization import cascading_randomization, check_faces
from emonb.metrics.ranking import metric_agreement
from emonb.metrics.regions import focus_table
from emonb.metrics.result import MapEvaluation, ranked_table
from emonb.metrics.settings import REGION_KINDS, EvaluationSettings
from emonb.metrics.suite import (
    Context,
    stratified_rows,
)
from emonb.models.cam_layer import default_cam_layer
from emonb.models.preprocessing import as_image_list
from emonb.models.runner import Runner, class_probability
from emonb.models.shipping import ModelRef
from emonb.models.zoo import EmotionModel
from emonb.records import json_safe

if TYPE_CHECKING:
    import pandas as pd

    from emonb.faces.mesh import Landmarks
    from emonb.metrics.action_units import AUEvidence

__all__ = [
    "ANATOMY_METHODS",
    "DEFAULT_METHODS",
    "EvaluationSettings",
    "POINTING_FACES",
    "QUICK_METHODS",
    "REFERENCES",
    "REGION_KINDS",
    "MapEvaluation",
    "evaluate_maps",
    "explained_faces",
    "explained_sample",
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


class _Reference:
    """A model-free "method" (see :data:`REFERENCES`) with the explainer call. The random
    map of a face is seeded by ``seed``, the face's pixels and the class asked for: the
    same face and class give the same map in any batch, chunk or worker, and a perturbed
    face or another class a new one."""

    def __init__(self, kind: str, net: EmotionModel, seed: int = 0):
        if kind not in REFERENCES:
            raise EmonbError(f"unknown reference map {kind!r}; choose one of {REFERENCES}")
        self.kind, self.net, self.seed = kind, net, seed

    def explain(self, images, targets=None) -> np.ndarray:
        return self.explain_inputs(self.net.preprocess(as_image_list(images)), targets)

    def explain_inputs(self, x: np.ndarray, targets=None) -> np.ndarray:
        h, w = self.net.spec.input_size
        n = len(x)
        if self.kind == "random":
            x = np.ascontiguousarray(x, dtype=np.float32)
            cls = np.zeros(n, int) if targets is None else np.asarray(targets).astype(int).reshape(-1)
            return np.stack([np.random.default_rng([self.seed, zlib.crc32(x[i].tobytes()), int(cls[i])])
                             .random((h, w), dtype=np.float32) for i in range(n)]) \
                if n else np.empty((0, h, w), np.float32)  # fmt: skip
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


def evaluate_maps(
    net: EmotionModel,
    faces,
    *,
    methods: Sequence[str] = DEFAULT_METHODS,
    settings: EvaluationSettings | None = None,
    pointing_net: EmotionModel | None = None,
    pointing_faces=None,
    random_faces=None,
    log: Callable[[str], None] | None = print,
    scheduler: str | None = None,
    client=None,
    chunk: int | None = None,
    executor: Executor | None = None,
) -> MapEvaluation:
    """Score explanation methods on ``net`` and ``faces`` (a FaceDataset).

    Every size and knob named below is a field of ``settings`` (an
    :class:`~emonb.metrics.settings.EvaluationSettings`, checked when made; default: its
    defaults; quick mode: :meth:`~emonb.metrics.settings.EvaluationSettings.capped`). The
    per-face metrics are the objects of :mod:`~emonb.metrics.suite`, run in turn on each
    method's maps.

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
      them over ``stages`` stages, or, given ``random_faces`` (real faces when ``faces``
      is the stand-in: a FaceDataset, :class:`~emonb.video.real_faces.RealFaces` or an
      image array), on ``n_random`` of those, evenly spread
      (:func:`~emonb.metrics.randomization.check_faces`), each explained for its predicted
      class; ``settings["randomization_data"]`` says which;
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
      label) on each map of ``au_maps`` (``au_by_map``; ``au`` is the first's); the AU
      activity the mesh measures on those faces is scored against their true labels
      (``au_activity``, :func:`~emonb.metrics.activity.activity_auc`) and, per map, the
      occlusion drops on faces showing each AU against faces not showing it (``au_use``,
      :func:`~emonb.metrics.au_use.au_use`, by predicted emotion). The
      ``au_shap`` method's players are the regions of the first map unless its settings
      name one. The synthetic stand-in has no anatomy: on it the canonical boxes are used, and
      said. ``regions="canonical"``: the canonical 48x48 boxes only
      (:data:`emonb.anatomy.layout.FACE_REGIONS`), no action units.

    ``settings.method_settings`` maps a method name to its constructor's keyword
    arguments, e.g. ``{"smoothgrad": {"samples": 20}, "scorecam": {"max_channels": None}}``
    (the methods' defaults, used for a method not listed); ``settings.capped(quick)`` fills
    them in for every registry method, capped in quick mode. The CAM-family methods read
    the model's CAM layer unless their ``method_settings`` name a ``layer``; the result's
    ``settings`` record it (``cam_layer``) and whether it was recorded with the model or
    picked by the rule (``cam_layer_source``: ``"record"`` or ``"rule"``,
    :func:`~emonb.models.cam_layer.default_cam_layer`), and the pointing model's
    (``pointing_cam_layer``).

    The methods' and references' rows of ``table`` (:func:`~emonb.metrics.ranking.summary_table`)
    are ranked by insertion AUC minus deletion AUC (higher is better); every per-face
    metric of :data:`~emonb.metrics.ranking.METRICS` has its mean and 95% bootstrap interval
    over faces; the randomization columns are the maps' similarity to the trained model's
    after re-drawing the top layer only, and averaged over the cascade (lower: the maps
    depend on the weights, as they should). ``agreement`` holds the rank correlations
    between the rankings of every pair of metrics (:func:`~emonb.metrics.ranking.metric_agreement`;
    None with fewer than three methods).

    Where it runs (:mod:`emonb.engine`): in this process (the default), or, given a
    ``scheduler`` (``"local"``, ``"local:N"`` or a Dask scheduler's address) or an open
    ``distributed.Client``, the per-face work (every method's maps and every per-face and
    shared metric, and each face's action-unit evidence) goes to the cluster's workers in
    chunks of ``chunk`` faces (default: one chunk in-process; on a cluster about four
    chunks per worker) (:mod:`~emonb.metrics.chunks`), pooled here in face order: every
    random draw is seeded by the face's id, so the numbers equal the in-process run's to
    float tolerance. The pointing game (one task per method) and each randomization stage
    are submitted first, and the face regions as soon as their faces are meshed
    (:mod:`~emonb.metrics.dispatch`); they run beside the rest: tasks on a cluster, a
    background thread in this process. The bootstrap intervals, rankings, claims and
    tables are made here from the pooled values. The result's ``engine`` records what ran
    it (``engine``, ``scheduler``, ``workers``, ``tasks``, ``chunk_faces``).

    References: Petsiuk et al. (2018) (deletion, insertion); Rong et al. (2022) (ROAD);
    Bhatt et al. (2020) (faithfulness correlation, complexity); Yeh et al. (2019)
    (max-sensitivity); Chalasani et al. (2020) (sparseness); Sixt et al. (2020)
    (random-logit); Adebayo et al. (2018) (randomization); Zhang et al. (2016) (pointing
    game); Wang et al. (2020) (energy share).
    """
    if executor is None:  # connect first: an unreachable scheduler fails before any work
        with open_executor(scheduler, client) as opened:
            return evaluate_maps(net, faces, methods=methods, settings=settings,
                                 pointing_net=pointing_net, pointing_faces=pointing_faces,
                                 random_faces=random_faces, log=log, chunk=chunk,
                                 executor=opened)  # fmt: skip
    s = settings if settings is not None else EvaluationSettings()
    say = log or (lambda _msg: None)
    settings_of = dict(s.method_settings or {})
    names = list(methods) + [r for r in REFERENCES if r not in methods]
    if "au_shap" in names and "au_map" not in settings_of.get("au_shap", {}):
        settings_of["au_shap"] = {**settings_of.get("au_shap", {}), "au_map": s.au_maps[0]}
    skipped = [m for m in names if m in ANATOMY_METHODS] if faces.synthetic else []
    if skipped:
        say(f"  {', '.join(skipped)}: left out, the synthetic stand-in has no anatomy to mesh")
        names = [m for m in names if m not in skipped]
    # the layered methods read the model's CAM layer, named, so that its randomized copies
    # (which record none) are explained at the same layer
    cam_layer = default_cam_layer(net)
    factories = {m: _reusing(net, method_factory(m, s.seed, _at_layer(m, settings_of.get(m), cam_layer.name)))
                 for m in names}  # fmt: skip
    pool, rows, runner, context = explained_sample(net, faces, s)
    region_rows = stratified_rows(pool.labels, s.n_regions or len(pool), s.seed)
    data = pool.subset(rows)
    images = data.images
    predicted = context.targets
    seconds: dict[str, float] = {}
    kwargs = {m: _at_layer(m, settings_of.get(m), cam_layer.name) for m in names}
    region_kwargs = {s.region_method: _at_layer(s.region_method, settings_of.get(s.region_method),
                                                cam_layer.name)}  # fmt: skip
    local = dict(factories)
    if s.region_method not in local:
        local[s.region_method] = method_factory(s.region_method, s.seed, region_kwargs[s.region_method])
    job = Job(ModelRef(net), kwargs, s, method_factory, local, region_kwargs, runner)
    if random_faces is None:
        n_random = min(s.n_random, len(images))
        shown, targets = images[:n_random], predicted[:n_random]
        random_name = f"{faces.name} {s.split or 'all rows'} (the first of the sample)"
    else:
        chosen = check_faces(random_faces, s.n_random)
        n_random, shown, random_name = len(chosen), chosen.images, chosen.name
        targets = runner.probabilities(net.preprocess(shown)).argmax(axis=1)
    point = None  # the pointing game's (model, faces, method -> settings, faces, seed)
    if pointing_net is not None and pointing_faces is not None:
        point = (ModelRef(pointing_net), pointing_faces,
                 {m: dict(settings_of.get(m) or {}) for m in names if m not in ANATOMY_METHODS},
                 min(s.n, s.n_pointing or s.n), s.seed)  # fmt: skip
    # the pointing game and every randomization stage start first and run beside the rest
    # (in this process, in a background thread; on a cluster, as tasks)
    side = start_side_tasks(executor, job, net, shown, targets, point)
    try:
        marks = region_marks = meshed = None
        if s.regions == "mesh" and faces.synthetic:
            say("  regions: the synthetic stand-in has no anatomy to mesh; canonical boxes, "
                "no action units")  # fmt: skip
        elif s.regions == "mesh":
            t0 = time.perf_counter()
            marks, region_marks, meshed = mesh_faces(executor, pool, rows, region_rows, chunk)
            seconds["mesh"] = time.perf_counter() - t0
            say(f"  {meshed.summary()} ({seconds['mesh']:.1f} s)")
        # the face regions start as soon as their faces are meshed, beside the rest
        region_faces = pool.subset(region_rows)
        if region_marks is not None:
            region_faces = region_faces.subset(region_marks.accepted)
            region_marks = region_marks.subset(region_marks.accepted)
        bounds = chunk_bounds(len(region_faces), task_faces(executor, chunk, len(region_faces)))
        side.start_regions([RegionChunk(region_faces.images[a:b], None if region_marks is None
                                        else region_marks.subset(np.arange(a, b)))
                            for a, b in bounds])  # fmt: skip
        say(f"explaining {len(images)} {faces.name} faces ({s.split or 'all rows'}) with "
            f"{len(names)} methods; {s.steps} deletion/insertion steps, baseline {s.baseline}")  # fmt: skip
        engine = score_chunks(executor, job, context, images, chunk, seconds, say, marks)
    except BaseException:  # e.g. Ctrl-C: the side tasks not yet started are dropped
        side.cancel()
        raise
    scores = engine.pop("scores")
    maps, values, curves = scores.maps, scores.values, scores.curves

    t0 = time.perf_counter()
    staged, stage_seconds, pointing, pointing_seconds = side.results()
    region_values, seconds["regions"] = side.region_values()
    engine["side_wait_seconds"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    rand = cascading_randomization(net, shown, factories, targets=targets, stages=s.stages,
                                   seed=s.seed, stage_maps=side.stage_maps(staged))  # fmt: skip
    rand.faces = f"{n_random} faces of {random_name}"
    seconds["randomization"] = stage_seconds + time.perf_counter() - t0
    say(f"  randomization: {len(rand.stages) - 1} stages on {rand.faces}, "
        f"{seconds['randomization']:.1f} s (beside the per-face work; waited "
        f"{engine['side_wait_seconds']:.1f} s for the side tasks)")  # fmt: skip
    if pointing is not None:
        seconds["pointing"] = pointing_seconds
        say(f"  pointing game: {seconds['pointing']:.1f} s (beside the per-face work)")

    t0 = time.perf_counter()
    region_table, claims, claims_canonical = region_tables(region_values, net.class_names,
                                                           s.region_method, s.seed)  # fmt: skip
    engine.update(executor.record(), region_chunks=len(bounds))
    changes = au = activity = None
    au_by_map: dict = {}
    au_use_by_map: dict | None = None
    if region_marks is None:
        focus = focus_table(maps, seed=s.seed)
    else:
        changes = verdict_changes(claims_canonical, claims)
        ok = marks.accepted
        own = anatomy_masks(marks.xy[ok], images.shape[1:3], LAYOUT_SIZE)
        focus = focus_table({m: mp[ok] for m, mp in maps.items()}, masks=own, seed=s.seed)
    seconds["region tables"] = time.perf_counter() - t0
    say(f"  regions: {len(region_faces)} faces, {seconds['regions']:.1f} s (beside the per-face "
        f"work), tables {seconds['region tables']:.1f} s")  # fmt: skip
    if marks is not None:
        t0 = time.perf_counter()
        for au_map in s.au_maps:  # each face's evidence was measured with its chunk
            au_by_map[au_map] = au_evidence(net, images, labels=data.labels, landmarks=marks,
                                            seed=s.seed, au_map=au_map,
                                            face_values=scores.au[au_map])  # fmt: skip
            say(f"  {au_by_map[au_map].summary()}")
        au = au_by_map[s.au_maps[0]]
        activity, au_use_by_map = _activity(marks, data.labels, au_by_map, net.class_names, s.seed)
        seconds["action_units"] = time.perf_counter() - t0
        say(f"  action units: {seconds['action_units']:.1f} s")

    table = ranked_table(values, rand, pointing, names, s.seed)
    # rankings of fewer than three methods cannot disagree in any informative way
    ranked = [m for m in table.index if m not in REFERENCES]
    agreement = metric_agreement(table, exclude=REFERENCES) if len(ranked) >= 3 else None
    used = {m: dict(settings_of[m]) for m in [*names, s.region_method] if settings_of.get(m)}
    record = {"model": net.name, "data": faces.name, "split": s.split, "n": len(images),
              "accuracy": float(np.mean(predicted == data.labels)),
              "methods": names, "method_settings": used, "cam_layer": cam_layer.name,
              "cam_layer_source": cam_layer.source, "steps": s.steps,
              "baseline": s.baseline, "left_out": skipped,
              "road_fractions": list(s.road_fractions), "road_noise": s.road_noise,
              "correlation_runs": s.correlation_runs,
              "correlation_subset": s.correlation_subset,
              "road_faces": len(context.sample(s.n_road)),
              "robustness_faces": len(context.sample(s.n_robust)),
              "sensitivity_samples": s.sensitivity_samples,
              "sensitivity_radius": s.sensitivity_radius, "randomization_faces": n_random,
              "randomization_data": random_name,
              "randomization_stages": rand.stages[1:], "region_method": s.region_method,
              "region_faces": len(region_faces),
              "regions": "canonical" if marks is None else "mesh",
              "targets": "predicted class", "seed": s.seed, "engine": engine}  # fmt: skip
    if marks is not None:
        record["au_maps"] = list(s.au_maps)
    if marks is not None:
        record["mesh_faces"] = len(meshed)
        record["mesh_rejected"] = meshed.rejected
        record["au_faces"] = int(marks.accepted.sum())
    if pointing is not None:
        record["pointing_model"] = pointing_net.name
        record["pointing_faces"] = pointing.attrs["faces"]
        record["pointing_accuracy"] = pointing.attrs["accuracy"]
        record["pointing_cam_layer"] = default_cam_layer(pointing_net).name
    return MapEvaluation(table=table, curves=curves, randomization=rand, regions=region_table,
                         claims=claims, focus=focus, pointing=pointing, settings=record,
                         seconds=json_safe(seconds), claims_canonical=claims_canonical,
                         changes=changes, au=au, agreement=agreement,
                         au_by_map=au_by_map or None, au_activity=activity,
                         au_use=au_use_by_map)  # fmt: skip


def _activity(marks: Landmarks, labels: np.ndarray, au_by_map: Mapping[str, AUEvidence],
              class_names: Sequence[str], seed: int) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:  # fmt: skip
    """The accepted faces' AU activity against their true labels
    (:func:`~emonb.metrics.activity.activity_auc`), and per map the use of the AUs they show
    (:func:`~emonb.metrics.au_use.au_use` of its occlusion drops, by predicted emotion)."""
    from emonb.anatomy.activity import face_activity
    from emonb.metrics.activity import activity_auc
    from emonb.metrics.au_use import au_use

    ok = np.asarray(marks.accepted, bool)
    frame = face_activity(marks.xy[ok])
    auc = activity_auc(frame, np.asarray(labels)[ok], class_names, seed=seed)
    use = {m: au_use(ev.values[OCCLUSION], frame, ev.predicted[ev.accepted], class_names,
                     au_map=m, seed=seed)
           for m, ev in au_by_map.items()}  # fmt: skip
    return auc, use


def explained_faces(faces, settings: EvaluationSettings):
    """The faces :func:`evaluate_maps` explains (a FaceDataset): the seeded sample of
    ``settings.n`` faces of ``settings.split`` stratified by label
    (:func:`~emonb.metrics.suite.stratified_rows`), in its rows' order. An empty split is
    an error."""
    pool, rows = _pool_rows(faces, settings)
    return pool.subset(rows)


def _pool_rows(faces, s: EvaluationSettings):
    pool = faces.split(s.split) if s.split else faces
    if len(pool) == 0:
        raise EmonbError(f"no faces in split {s.split!r}")
    return pool, stratified_rows(pool.labels, s.n, s.seed)


def explained_sample(net: EmotionModel, faces, settings: EvaluationSettings):
    """The faces :func:`evaluate_maps` explains, and what every metric sees of them:
    ``(pool, rows, runner, context)``: the faces of ``settings.split`` (``pool``), the
    sorted rows of its seeded sample of ``settings.n`` faces stratified by label
    (:func:`~emonb.metrics.suite.stratified_rows`), the runner, and the
    :class:`~emonb.metrics.suite.Context` of those faces explained for their predicted class.
    An empty split is an error."""
    s = settings
    pool, rows = _pool_rows(faces, s)
    data = pool.subset(rows)
    runner = Runner(net, batch_size=256)
    x = net.preprocess(data.images)
    predicted = runner.probabilities(x).argmax(axis=1)
    context = Context(net, x, data.labels, predicted, class_probability(runner), s.seed, rows)
    return pool, rows, runner, context


def _at_layer(name: str, kwargs: Mapping[str, object] | None, layer: str) -> dict:
    """``kwargs`` of method ``name``, with ``layer=layer`` added when the method reads a
    layer and ``kwargs`` names none."""
    kwargs = dict(kwargs or {})
    if name not in REFERENCES and get_method(name).uses_layer:
        kwargs.setdefault("layer", layer)
    return kwargs


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
