"""Where the tasks of a map evaluation run, and in what order (:func:`~emonb.metrics.evaluate.evaluate_maps`).

The tasks themselves are in :mod:`~emonb.metrics.chunks`; this module hands them to an
:class:`~emonb.engine.Executor` and pools what comes back:

* :func:`start_side_tasks` submits the pointing game and one task per randomization stage
  first; :meth:`SideTasks.start_regions` adds the face-region analysis as soon as the faces
  are meshed. They run beside the rest: tasks on a cluster, one background thread in this
  process (with its own runner and explainers, as a worker has);
* :func:`mesh_faces` meshes the faces both samples use, once;
* :func:`score_chunks` runs the per-face work (every method's maps and metrics, and each
  face's action-unit evidence) in chunks of faces and pools them in face order.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from emonb.engine import Executor, InProcess, Pending
from emonb.errors import EmonbError
from emonb.metrics.chunks import (
    Job,
    RegionChunk,
    SideTask,
    chunk_bounds,
    chunks_of,
    mesh_chunk,
    pool_chunks,
    score_chunk,
    side_task,
    task_faces,
)
from emonb.metrics.layouts import join_region_values
from emonb.metrics.randomization import StageMaps, randomization_stops
from emonb.metrics.suite import pointing_sample
from emonb.models.cam_layer import default_cam_layer
from emonb.models.zoo import EmotionModel

if TYPE_CHECKING:
    from emonb.faces.mesh import Landmarks
    from emonb.metrics.suite import Context

__all__ = ["SideTasks", "mesh_faces", "score_chunks", "start_side_tasks"]


@dataclass
class SideTasks:
    """The pointing game, the randomization stages and the face-region analysis, submitted
    to run beside the per-face work (:func:`start_side_tasks`)."""

    executor: Executor
    #: The job the side tasks get: in this process, without the driver's own runner and
    #: explainers (the background thread makes its own, as a worker does).
    job: Job
    stops: list[str]
    stages: list[Pending]
    #: One task per method of the pointing game (empty without it).
    pointing: list[Pending] = field(default_factory=list)
    regions: list[Pending] = field(default_factory=list)

    def start_regions(self, parts: list[RegionChunk]) -> None:
        """Submit the face-region analysis, one task per chunk of faces."""
        self.regions = [self.executor.submit(side_task, SideTask(region=part), shared=self.job,
                                             label="regions") for part in parts]  # fmt: skip

    def results(self) -> tuple[list, float, object | None, float]:
        """Waited for: each stage's maps, the stages' seconds (summed), the pointing
        table (its methods' rows in order; None without) and its seconds (summed)."""
        import pandas as pd

        done = [f.result() for f in self.stages]
        point = [f.result() for f in self.pointing]
        table = None
        if point:
            table = pd.concat([t for t, _ in point])
            table.attrs = dict(point[0][0].attrs)
        return ([m for m, _ in done], float(sum(t for _, t in done)), table,
                float(sum(t for _, t in point)))  # fmt: skip

    def region_values(self) -> tuple[dict[str, object], float]:
        """Waited for: the region values of every chunk joined in face order
        (:func:`~emonb.metrics.layouts.join_region_values`), and the tasks' seconds (summed)."""
        done = [f.result() for f in self.regions]
        return join_region_values([v for v, _ in done]), float(sum(t for _, t in done))

    def cancel(self) -> None:
        """Drop the tasks that have not started."""
        for f in [*self.stages, *self.pointing, *self.regions]:
            f.cancel()

    def stage_maps(self, staged: list) -> StageMaps:
        """The :data:`~emonb.metrics.randomization.StageMaps` that answers with ``staged``."""

        def maps(stops, images, targets):
            if list(stops) != self.stops:  # the stages asked for are the stages computed
                raise EmonbError(f"randomization stages {list(stops)} != {self.stops}")
            return staged

        return maps


def start_side_tasks(executor: Executor, job: Job, net: EmotionModel, images: np.ndarray,
                     targets: np.ndarray, point: tuple | None) -> SideTasks:  # fmt: skip
    """Submit the pointing game (``point``: the pointing model, the stand-in faces, method
    -> settings, faces, seed), one :class:`~emonb.metrics.chunks.SideTask` per method (its
    job the pointing model's, sent once), and one per randomization stage of ``job``'s
    model (each with a :class:`~emonb.metrics.randomization.Cascade` of its process or
    background thread)."""
    stops = randomization_stops(net, job.settings.stages)
    # on a cluster the job is sent without the driver's own objects anyway (Job.__getstate__)
    side = job.detached() if isinstance(executor, InProcess) else job
    pointing = []
    if point is not None:
        ref, faces, methods, n, seed = point
        default_cam_layer(ref.load())  # its notice (once per model) is said here, not in a task
        game = Job(ref, methods, replace(job.settings, seed=seed), job.make)
        data = pointing_sample(faces, n, seed)
        pointing = [executor.submit(side_task, SideTask(pointing=(data, m, k)), shared=game,
                                    label="pointing") for k, m in enumerate(methods)]  # fmt: skip
    stages = [executor.submit(side_task, SideTask(stop, images, targets), shared=side,
                              label="randomization") for stop in stops]  # fmt: skip
    return SideTasks(executor, side, stops, stages, pointing)


def score_chunks(executor: Executor, job: Job, context: Context, images: np.ndarray,
                 chunk: int | None, seconds: dict, say: Callable[[str], None],
                 marks: Landmarks | None = None) -> dict:  # fmt: skip
    """The per-face work on ``executor``, in chunks (:func:`~emonb.metrics.chunks.score_chunk`;
    with ``marks``, the faces' mesh, each face's action-unit evidence too), pooled; each
    method's and shared metric's seconds (summed over the chunks) go into ``seconds``.
    Returns the engine's record with the pooled
    :class:`~emonb.metrics.chunks.ChunkScores` under ``scores``."""
    s = job.settings
    local = isinstance(executor, InProcess)
    parts = chunks_of(context, images, (s.n_road, s.n_robust),
                      task_faces(executor, chunk, len(images)), marks)  # fmt: skip
    t0 = time.perf_counter()
    pooled = pool_chunks(executor.map(score_chunk, parts, shared=job, label="faces"))
    record = executor.record()
    seconds.update(pooled.seconds)
    for m in job.methods:
        say(f"  {m}: " + ", ".join(f"{c} {t:.1f} s" for c, t in pooled.seconds[m].items()))
    for name in (k for k, v in pooled.seconds.items() if not isinstance(v, dict)):
        say(f"  {name}: {pooled.seconds[name]:.1f} s")
    where = "in this process" if local else f"on {record['workers']} workers of {record['scheduler']}"
    say(f"  {len(parts)} chunk(s) of up to {parts[0].stop - parts[0].start} faces {where}: "
        f"{time.perf_counter() - t0:.1f} s")  # fmt: skip
    return {**record, "chunks": len(parts), "chunk_faces": parts[0].stop - parts[0].start,
            "faces_seconds": time.perf_counter() - t0, "scores": pooled}  # fmt: skip


def mesh_faces(executor: Executor, pool, rows: np.ndarray, region_rows: np.ndarray,
               chunk: int | None) -> tuple[Landmarks, Landmarks, Landmarks]:  # fmt: skip
    """The face mesh of the rows of ``pool`` both samples use, meshed once (in chunks on a
    cluster, :func:`~emonb.metrics.chunks.mesh_chunk`): the landmarks of ``rows``, of
    ``region_rows``, and of all the faces meshed."""
    from emonb.faces.mesh import FaceMesh, Landmarks

    union = np.union1d(rows, region_rows)
    images = pool.images[union]
    size = task_faces(executor, chunk, len(union))
    if size is None:
        meshed = FaceMesh().landmarks(images)
    else:
        meshed = Landmarks.join(executor.map(mesh_chunk, [images[a:b] for a, b in
                                                          chunk_bounds(len(union), size)],
                                             label="mesh"))  # fmt: skip
    return (meshed.subset(np.searchsorted(union, rows)),
            meshed.subset(np.searchsorted(union, region_rows)), meshed)  # fmt: skip
