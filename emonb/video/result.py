"""What a run of the video pipeline measured: :class:`VideoResult` and its JSON.

:class:`VideoResult` holds every face of every frame (:class:`~emonb.video.tracking.TrackedFace`)
and the time spent in each stage (:data:`STAGES`), and reads them as a timeline, an
action-unit timeline, a table and a JSON summary (:meth:`VideoResult.to_json`), which
:func:`write_json` writes (atomically: :func:`emonb.records.write_json`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emonb.anatomy.regions import AU_NAMES
from emonb.faces import DEFAULT_DETECTOR
from emonb.records import write_json as write_record
from emonb.video.tracking import TrackedFace

__all__ = ["STAGES", "VideoResult", "write_json"]

#: Where a frame's time goes (:meth:`VideoResult.timings_ms`). ``read`` runs on the reader's
#: thread and ``write`` and ``export`` on the writer's (:mod:`emonb.video.stages`), beside
#: the model's thread, whose stages are ``detect`` to ``draw``; ``wait`` is the time the
#: model's thread waited for a decoded frame or for room in the writer's queue. So the
#: stages overlap: their sum exceeds the wall-clock ``total``.
STAGES = ("read", "detect", "model", "mesh", "regions", "draw", "write", "export", "wait")


@dataclass
class VideoResult:
    """What :func:`analyse_video` measured: every face of every frame, and the timings."""

    source: str
    model: str
    method: str | None
    class_names: tuple[str, ...]
    width: int
    height: int
    source_fps: float
    frames: int = 0
    seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)
    faces: list[TrackedFace] = field(default_factory=list)
    inputs: np.ndarray | None = None
    maps: np.ndarray | None = None
    exported: int = 0
    warmup_seconds: float = 0.0
    detector: str = DEFAULT_DETECTOR
    landmarks: bool = False
    #: Why the run ended early, in one line (a lost camera, a truncated file, a frame of
    #: another size, Ctrl-C on a file), or None when the source or ``max_frames`` ended it.
    stopped: str | None = None
    #: Whether Ctrl-C ended it (on a camera, its normal end: ``stopped`` stays None).
    interrupted: bool = False

    @property
    def rejected(self) -> int:
        """Faces the mesh rejected (presence under its minimum): left out of the AU analysis."""
        return sum(f.rejected for f in self.faces)

    def mesh_summary(self) -> str:
        """One line: how many faces the mesh rejected, and why."""
        if not self.landmarks:
            return "mesh: not run (landmarks=False)"
        if not self.rejected:
            return f"mesh: all {len(self.faces)} faces accepted"
        return (f"mesh: {self.rejected} of {len(self.faces)} faces rejected (face presence "
                f"< 0.5); they have no action-unit analysis")  # fmt: skip

    @property
    def fps(self) -> float:
        """Frames per second of the whole pipeline (read to write), wall clock, after the
        one-off warm-up (:meth:`emonb.video.pipeline.VideoPipeline.warm_up`, reported as ``warmup_seconds``)."""
        return self.frames / self.seconds if self.seconds else 0.0

    def timings_ms(self) -> dict[str, float]:
        """Milliseconds per frame in each stage (:data:`STAGES`), and in total."""
        n = max(self.frames, 1)
        out = {s: round(1000 * self.stage_seconds.get(s, 0.0) / n, 2) for s in STAGES}
        out["total"] = round(1000 * self.seconds / n, 2)
        return out

    def main_track(self) -> int | None:
        """The track seen in most frames (ties: the lowest id), or None without faces."""
        counts = np.bincount([f.track for f in self.faces]) if self.faces else []
        return int(np.argmax(counts)) if len(counts) else None

    def timeline(self, track: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Times (T,), probabilities (T, n_classes) and smoothed labels (T,) of one track
        (default :meth:`main_track`); frames where the track is missing are left out."""
        track = self.main_track() if track is None else track
        rows = [f for f in self.faces if f.track == track]
        k = len(self.class_names)
        return (np.array([f.time for f in rows]), np.array([f.proba for f in rows]).reshape(-1, k),
                np.array([f.label for f in rows], dtype=np.int64))  # fmt: skip

    def au_timeline(self, track: int | None = None
                    ) -> tuple[np.ndarray, tuple[str, ...], np.ndarray]:  # fmt: skip
        """Times (T,), :data:`AU_NAMES` and the AU enrichment (T, 19) of one track's faces
        (default :meth:`main_track`; the rows of :meth:`timeline`): NaN where a face was
        not analysed (rejected by the mesh, or no map)."""
        track = self.main_track() if track is None else track
        rows = [f for f in self.faces if f.track == track]
        nan = np.full(len(AU_NAMES), np.nan)
        values = np.array([nan if f.au is None else f.au for f in rows], dtype=np.float64)
        return (np.array([f.time for f in rows]), AU_NAMES,
                values.reshape(len(rows), len(AU_NAMES)))  # fmt: skip

    def top_aus(self, track: int | None = None) -> list[str | None]:
        """Per frame of the video, the AU region holding most of the map of the track's face
        (:attr:`~emonb.video.tracking.TrackedFace.top_au`; default :meth:`main_track`), or
        None where the face is missing or not analysed."""
        track = self.main_track() if track is None else track
        out: list[str | None] = [None] * self.frames
        for f in self.faces:
            if f.track == track and f.frame < self.frames:
                out[f.frame] = f.top_au
        return out

    def au_segments(self, track: int | None = None, top: int = 3):
        """One row per run of the smoothed label of one track (default :meth:`main_track`):
        emotion, start and end (s), faces, faces analysed, and the ``top`` action units by
        mean enrichment over the analysed faces of the run (``"AU12 2.31"``)."""
        import pandas as pd

        times, _, values = self.au_timeline(track)
        labels = self.timeline(track)[2]
        starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]]) if len(labels) else []
        rows = []
        for a, b in zip(starts, [*starts[1:], len(labels)], strict=True):
            block = values[a:b]
            done = np.isfinite(block).all(axis=1)
            mean = block[done].mean(axis=0) if done.any() else np.full(len(AU_NAMES), np.nan)
            order = np.argsort(-np.nan_to_num(mean, nan=-np.inf), kind="stable")[:top]
            rows.append({"emotion": self.class_names[labels[a]], "start_s": round(times[a], 2),
                         "end_s": round(times[b - 1], 2), "faces": b - a,
                         "analysed": int(done.sum()),
                         **{f"AU {k + 1}": (f"{AU_NAMES[j]} {mean[j]:.2f}" if done.any() else "")
                            for k, j in enumerate(order)}})  # fmt: skip
        return pd.DataFrame(rows)

    def table(self):
        """One row per face per frame: frame, time, track, box, probabilities, labels, the
        mesh's presence and the AU region holding most of the map (None where not run or not analysed)."""
        import pandas as pd

        rows = [{"frame": f.frame, "time_s": round(f.time, 3), "track": f.track,
                 "x": f.box.x, "y": f.box.y, "w": f.box.w, "h": f.box.h,
                 **dict(zip(self.class_names, f.proba.round(4), strict=True)),
                 "predicted": f.predicted, "emotion": f.emotion,
                 "presence": None if f.presence is None else round(f.presence, 4),
                 "top_au": f.top_au} for f in self.faces]  # fmt: skip
        return pd.DataFrame(rows)

    def to_json(self) -> dict:
        """The summary :func:`write_json` writes: source, speed, and the
        faces of every frame (:meth:`~emonb.video.tracking.TrackedFace.to_json`)."""
        per_frame: dict[int, list] = {}
        for f in self.faces:
            per_frame.setdefault(f.frame, []).append(f.to_json())
        fps_src = self.source_fps or 0.0
        return {
            "source": self.source, "model": self.model, "method": self.method,
            "detector": self.detector, "landmarks": self.landmarks,
            "width": self.width, "height": self.height, "source_fps": round(fps_src, 3),
            "frames": self.frames, "wall_seconds": round(self.seconds, 3),
            "fps": round(self.fps, 2), "ms_per_frame": self.timings_ms(),
            "warmup_seconds": round(self.warmup_seconds, 3),
            "stopped": self.stopped, "interrupted": self.interrupted, "threaded": True,
            "frames_with_faces": len(per_frame), "faces": len(self.faces),
            "exported_patches": self.exported, "class_names": list(self.class_names),
            "faces_rejected_by_mesh": self.rejected, "au_names": list(AU_NAMES),
            "detections": [{"frame": i, "time_s": round(i / fps_src, 3) if fps_src else None,
                            "faces": per_frame.get(i, [])} for i in range(self.frames)],
        }  # fmt: skip


def write_json(result: VideoResult, path: str | os.PathLike[str]) -> Path:
    """The JSON summary (:meth:`VideoResult.to_json`) to ``path``."""
    return write_record(result.to_json(), path)
