"""The per-face work of a map evaluation, in chunks of faces that any executor can run.

:func:`~emonb.metrics.evaluate.evaluate_maps` cuts its explained faces into chunks
(:func:`chunk_bounds`); :func:`score_chunk` explains one chunk with every method and
scores the maps with every per-face and shared metric of :mod:`~emonb.metrics.suite`;
:func:`pool_chunks` joins the chunks' results in face order. A chunk's numbers do not
depend on the chunk: every random draw is seeded by the face's id
(:func:`~emonb.arrays.face_draws`), the samples ROAD and the robustness metrics use are
drawn once over all the faces (:func:`~emonb.metrics.suite.chunk_samples`), and the
methods' own draws (SmoothGrad's noise, RISE's masks, AU-SHAP's coalitions) are shared by
all faces. So the pooled result equals one chunk's in-process run to float tolerance
(batches of other sizes round differently in the last bits), whatever the number of
chunks or workers (:mod:`emonb.engine`).

On a worker the model arrives as a :class:`~emonb.models.shipping.ModelRef` and the model,
its runner and each method's explainer are made once per worker process
(:func:`emonb.engine.cached`); in the driver's process, :class:`Job` carries the driver's
own explainers (the in-process default compiles nothing twice).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from emonb.engine import Executor, InProcess, cached
from emonb.metrics.action_units import OCCLUSION, AUFaceValues, au_face_values
from emonb.metrics.layouts import region_values
from emonb.metrics.perturbation import Curves
from emonb.metrics.settings import EvaluationSettings
from emonb.metrics.suite import (
    Context,
    Explained,
    PerFaceMetric,
    chunk_samples,
    per_face_metrics,
    shared_metrics,
)
from emonb.models.runner import Runner, class_probability
from emonb.models.shipping import ModelRef, worker_model
from emonb.models.zoo import EmotionModel

if TYPE_CHECKING:
    from emonb.faces.mesh import Landmarks

__all__ = ["AU_CLOCK", "Chunk", "ChunkScores", "Job", "RegionChunk", "chunk_bounds", "chunks_of",
           "SideTask", "mesh_chunk", "pool_chunks", "region_chunk", "score_chunk",
           "score_methods", "side_task", "task_faces"]  # fmt: skip

Factory = Callable[[EmotionModel], object]
#: The clock of each face's action-unit evidence in a chunk's ``seconds``.
AU_CLOCK = "action units per face"


@dataclass(frozen=True)
class Job:
    """What every chunk of an evaluation shares: the model, the methods (name -> the
    keyword arguments of its explainer, the CAM layer included), the settings, and how an
    explainer is made (``make(name, kwargs) -> net -> explainer``, a module-level function:
    :func:`emonb.metrics.evaluate.method_factory`). ``local`` holds the driver's own
    explainer factories; it stays behind when the job is sent to a worker."""

    model: ModelRef
    methods: dict[str, dict[str, Any]]
    settings: EvaluationSettings
    make: Callable[[str, int, Mapping[str, object] | None], Factory]
    local: dict[str, Factory] | None = field(default=None, compare=False)
    #: Methods made but not scored by :func:`score_chunk` (the face regions' method).
    extra: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The driver's runner of the model (stays behind, like ``local``).
    local_runner: Runner | None = field(default=None, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "local": None, "local_runner": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def detached(self) -> Job:
        """This job without the driver's own explainers and runner: what a worker gets
        (in this process, what the background thread's tasks get: they make their own)."""
        return Job(self.model, self.methods, self.settings, self.make, None, self.extra, None)

    def factory(self, name: str) -> Factory:
        """``net -> explainer`` of method ``name``: the driver's own, or (on a worker) one
        explainer per process, model and settings."""
        if self.local is not None:
            return self.local[name]
        kwargs = {**self.extra, **self.methods}[name]
        key = ("explainer", self.model.name, id(worker_model(self.model)), name,
               repr(sorted(kwargs.items())), self.settings.seed)  # fmt: skip
        made = self.make(name, self.settings.seed, kwargs)
        return lambda net: cached(key, lambda: made(net))


@dataclass(frozen=True)
class Chunk:
    """Faces ``start:stop`` of an evaluation: their images, preprocessed inputs ``x``,
    labels, targets (the classes explained), ids (which seed their draws), their rows
    of the evaluation's samples (size -> rows counted from ``start``) and their mesh
    (``marks``; None: no action-unit evidence)."""

    start: int
    stop: int
    images: np.ndarray
    x: np.ndarray
    labels: np.ndarray
    targets: np.ndarray
    ids: np.ndarray
    samples: dict[int, np.ndarray]
    marks: Landmarks | None = None


@dataclass
class ChunkScores:
    """One chunk's maps (method -> (n, H, W)), per-face values (method -> column ->
    values), curves (method -> kind -> :class:`~emonb.metrics.perturbation.Curves`),
    seconds (method -> clock -> seconds; shared metrics by name) and, with the faces' mesh,
    each face's action-unit evidence per map of action units (``au``,
    :class:`~emonb.metrics.action_units.AUFaceValues`)."""

    maps: dict[str, np.ndarray]
    values: dict[str, dict[str, np.ndarray]]
    curves: dict[str, dict[str, Curves]]
    seconds: dict[str, Any]
    au: dict[str, AUFaceValues] = field(default_factory=dict)


def chunk_bounds(n: int, size: int | None) -> list[tuple[int, int]]:
    """``(start, stop)`` of consecutive chunks of at most ``size`` of ``n`` faces (None:
    one chunk)."""
    size = n if not size else max(1, int(size))
    return [(a, min(a + size, n)) for a in range(0, n, size)] or [(0, 0)]


def task_faces(executor: Executor, chunk: int | None, n: int) -> int | None:
    """Faces per task for ``n`` faces: ``chunk`` when given; in this process, None (one
    task); on a cluster, about four tasks per worker."""
    if chunk is not None or isinstance(executor, InProcess):
        return chunk
    return max(1, -(-n // (4 * max(1, executor.record()["workers"]))))


def chunks_of(context: Context, images: np.ndarray, sizes: Sequence[int],
              chunk: int | None, marks: Landmarks | None = None) -> list[Chunk]:  # fmt: skip
    """``context``'s faces cut into chunks of ``chunk`` faces (None: one), each with its
    rows of the context's samples of ``sizes`` (drawn here, once, over all the faces) and
    its faces' part of ``marks`` (the mesh of every face, or None)."""
    samples = {n: context.sample(n) for n in sizes}
    ids = context.face_ids
    return [Chunk(a, b, images[a:b], context.x[a:b], context.labels[a:b], context.targets[a:b],
                  ids[a:b], chunk_samples(samples, a, b),
                  None if marks is None else marks.subset(np.arange(a, b)))
            for a, b in chunk_bounds(len(context.x), chunk)]  # fmt: skip


def score_chunk(job: Job, chunk: Chunk) -> ChunkScores:
    """Every method's maps of the chunk's faces, scored by every per-face metric and the
    shared ones, and, with the chunk's mesh, each face's action-unit evidence on each map
    of ``settings.au_maps`` (:func:`~emonb.metrics.action_units.au_face_values`: the maps'
    enrichment and the occlusion drops) (a task: runs in the driver or on a worker)."""
    net, runner = _model(job)
    s = job.settings
    context = Context(net, chunk.x, chunk.labels, chunk.targets, class_probability(runner),
                      s.seed, chunk.ids, dict(chunk.samples))  # fmt: skip
    factories = {m: job.factory(m) for m in job.methods}
    seconds: dict[str, Any] = {}
    maps, values, curves = score_methods(context, chunk.images, list(job.methods), factories,
                                         per_face_metrics(s), seconds)  # fmt: skip
    for shared in shared_metrics(s):
        t0 = time.perf_counter()
        for m, v in shared(context, maps).items():
            values[m][shared.name] = v
        seconds[shared.name] = time.perf_counter() - t0
    au: dict[str, AUFaceValues] = {}
    if chunk.marks is not None:
        t0 = time.perf_counter()
        # the occlusion *method*'s maps are not the per-region occlusion evidence of the
        # action units: they enter its tables as "occlusion map"
        au_maps = {("occlusion map" if m == OCCLUSION else m): mp for m, mp in maps.items()}
        au = {m: au_face_values(net, chunk.images, chunk.marks, maps=au_maps, runner=runner,
                                au_map=m) for m in s.au_maps}  # fmt: skip
        seconds[AU_CLOCK] = time.perf_counter() - t0
    return ChunkScores(maps, values, curves, seconds, au)


@dataclass(frozen=True)
class RegionChunk:
    """Faces of the face-region analysis: their images and mesh (None: canonical boxes)."""

    images: np.ndarray
    marks: Landmarks | None


def region_chunk(job: Job, chunk: RegionChunk) -> dict[str, object]:
    """:func:`~emonb.metrics.layouts.region_values` of a chunk's faces with the job's
    region method (``settings.region_method``; a task)."""
    net, runner = _model(job)
    explainer = job.factory(job.settings.region_method)(net)
    return region_values(net, chunk.images, explainer, runner, chunk.marks)


def mesh_chunk(images: np.ndarray) -> Landmarks:
    """The face mesh of a chunk of face crops (a task; one
    :class:`~emonb.faces.mesh.FaceMesh` per worker process)."""
    from emonb.faces.mesh import FaceMesh

    return cached(("face-mesh",), FaceMesh).landmarks(images)


@dataclass(frozen=True)
class SideTask:
    """A task beside the chunks of faces: one stage of cascading randomization (``stop``:
    the last layer re-drawn; the maps of ``images`` for ``targets``), with ``pointing``
    (the stand-in faces, a method's name and its place among the game's methods) one
    method's pointing game, its job the pointing model's, or with ``region`` a chunk of
    the face-region analysis."""

    stop: str | None = None
    images: np.ndarray | None = None
    targets: np.ndarray | None = None
    pointing: tuple | None = None
    region: RegionChunk | None = None


def side_task(job: Job, task: SideTask) -> tuple[object, float]:
    """Run a :class:`SideTask` (on a worker: one :class:`~emonb.metrics.randomization.Cascade`
    of the model and one explainer per method of its copy per worker process; in the
    driver's background thread, per executor): its result (the stage's maps, method ->
    maps, the pointing table, or the region values) and its seconds."""
    t0 = time.perf_counter()
    return _side_result(job, task), time.perf_counter() - t0


def _side_result(job: Job, task: SideTask):
    from emonb.metrics.randomization import Cascade, randomization_stages
    from emonb.metrics.suite import pointing_table

    s = job.settings
    if task.region is not None:
        return region_chunk(job, task.region)
    if task.pointing is not None:
        faces, m, first = task.pointing
        made = {m: job.make(m, s.seed, job.methods[m])}
        return pointing_table(worker_model(job.model), faces, made, s.seed, first=first)
    net = worker_model(job.model)
    key = ("cascade", id(net), s.seed)
    cascade = cached(key, lambda: Cascade(net, randomization_stages(net.model), s.seed))
    explainers = {m: cached((*key, m, repr(sorted(kw.items()))),
                            lambda m=m, kw=kw: job.make(m, s.seed, kw)(cascade.net))
                  for m, kw in job.methods.items()}  # fmt: skip
    cascade.stage(task.stop)
    return {m: np.asarray(e.explain(task.images, task.targets)) for m, e in explainers.items()}


def _model(job: Job) -> tuple[EmotionModel, Runner]:
    """The job's model and a runner of it: the driver's own, or one per worker process."""
    net = worker_model(job.model)
    if job.local_runner is not None:
        return net, job.local_runner
    return net, cached(("runner", id(net)), lambda: Runner(net, batch_size=256))


def score_methods(context: Context, images: np.ndarray, names: Sequence[str],
                  factories: Mapping[str, Factory], metrics: Sequence[PerFaceMetric],
                  seconds: dict, say: Callable[[str], None] | None = None,
                  ) -> tuple[dict, dict, dict]:  # fmt: skip
    """Each method's maps of ``images`` for the context's targets, scored by every metric in
    turn: the maps, the per-face values (method -> column -> values) and the curves
    (method -> kind -> :class:`~emonb.metrics.perturbation.Curves`). Each method's timings
    (the maps, then each metric's ``clock``) go into ``seconds[method]``."""
    maps: dict[str, np.ndarray] = {}
    values: dict[str, dict[str, np.ndarray]] = {}
    curves: dict[str, dict[str, Curves]] = {}
    for m in names:
        t0 = time.perf_counter()
        explainer = factories[m](context.net)
        maps[m] = np.asarray(explainer.explain(images, context.targets), dtype=np.float32)
        clocks = {"maps": time.perf_counter() - t0}
        explained = Explained(m, maps[m], explainer)
        values[m], curves[m] = {}, {}
        for metric in metrics:
            t0 = time.perf_counter()
            scores = metric(context, explained)
            values[m].update(scores.values)
            curves[m].update(scores.curves)
            if metric.clock is not None:
                clocks[metric.clock] = clocks.get(metric.clock, 0.0) + time.perf_counter() - t0
        seconds[m] = clocks
        if say is not None:
            say(f"  {m}: " + ", ".join(f"{clock} {t:.1f} s" for clock, t in clocks.items()))
    return maps, values, curves


def pool_chunks(parts: Sequence[ChunkScores]) -> ChunkScores:
    """The chunks' results joined in face order (arrays concatenated, seconds summed)."""
    first = parts[0]
    if len(parts) == 1:
        return first
    maps = {m: np.concatenate([p.maps[m] for p in parts]) for m in first.maps}
    values = {m: {col: np.concatenate([p.values[m][col] for p in parts]) for col in cols}
              for m, cols in first.values.items()}  # fmt: skip
    curves = {m: {kind: Curves(mode=c.mode, fractions=c.fractions,
                               scores=np.concatenate([p.curves[m][kind].scores for p in parts]))
                  for kind, c in kinds.items()}
              for m, kinds in first.curves.items()}  # fmt: skip
    seconds: dict[str, Any] = {}
    for p in parts:
        for key, t in p.seconds.items():
            if isinstance(t, dict):
                into = seconds.setdefault(key, {})
                for clock, v in t.items():
                    into[clock] = into.get(clock, 0.0) + v
            else:
                seconds[key] = seconds.get(key, 0.0) + t
    au = {m: AUFaceValues.join([p.au[m] for p in parts]) for m in first.au}
    return ChunkScores(maps, values, curves, seconds, au)
