"""The video pipeline: a file or camera in; annotated frames, tracked faces and timings out.

:func:`analyse_video` runs it end to end, as the seed paper does on a live stream::

    result = analyse_video("clip.mp4", net, out="annotated.mp4", export_faces="faces/")
    result.fps, result.timings_ms()          # pipeline speed and where the time goes

Per frame (:class:`VideoPipeline`): Haar detection on a copy ``detect_width`` pixels wide;
the faces of the frame in one batch through the model runner's compiled forward pass
(probabilities) and the explainer's backward pass (the map of the predicted class); boxes
matched to the previous frame's faces (:class:`~emonb.video.tracking.FaceTracker`); a
smoothed emotion per face (:class:`~emonb.video.tracking.EmotionSmoother`, the smoothing
rule); and the box, label, score and heatmap drawn on the frame
(:func:`~emonb.video.draw.annotate_frame`).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from emonb.errors import EmonbError
from emonb.faces import detect_faces
from emonb.models.runner import Runner
from emonb.models.zoo import EmotionModel
from emonb.video.draw import annotate_frame
from emonb.video.io import FaceExporter, iter_frames, open_video
from emonb.video.tracking import EmotionSmoother, FaceTracker, TrackedFace

__all__ = ["STAGES", "VideoPipeline", "VideoResult", "analyse_video"]

#: Where a frame's time goes (:meth:`VideoResult.timings_ms`).
STAGES = ("read", "detect", "model", "draw", "write", "export")


class VideoPipeline:
    """Per-frame work: detect, classify and explain (one batch per frame), follow, draw.

    Parameters
    ----------
    net : EmotionModel
        The emotion model (never modified).
    method : str or None
        Registered explanation method overlaid on each face (default Grad-CAM); None or
        "none" draws boxes and labels only.
    detect_width : int or None
        Width at which frames are searched for faces (see :func:`emonb.faces.detect_faces`).
    min_face : int
        Smallest face side, in pixels of the frame.
    alpha : float
        Heatmap opacity on the face.
    window, patience : int
        The smoothing rule (:mod:`emonb.video.tracking`).
    keep_faces : bool
        Keep every face's model input and map (for analysis: activations, animations).
    """

    def __init__(self, net: EmotionModel, method: str | None = "gradcam", *,
                 detect_width: int | None = 320, min_face: int = 60, alpha: float = 0.4,
                 window: int = 5, patience: int = 6, keep_faces: bool = False):  # fmt: skip
        from emonb.methods import get_method

        self.net = net
        self.method = None if method in (None, "none") else method
        #: The map method (None without a map).
        self.explainer = get_method(self.method)(net) if self.method else None
        #: The compiled forward pass (probabilities): the explainer's own runner, else one
        #: with the same settings (logits, BatchNorm folded), so both paths give the same
        #: probabilities.
        self.runner = self.explainer.runner if self.explainer is not None else Runner(net)
        self.detect_width, self.min_face, self.alpha = detect_width, int(min_face), float(alpha)
        self.tracker = FaceTracker()
        self._smoothers: dict[int, EmotionSmoother] = {}
        self.window, self.patience = window, patience
        self.keep_faces = keep_faces
        self.inputs: list[np.ndarray] = []
        self.maps: list[np.ndarray] = []
        self.seconds = dict.fromkeys(STAGES, 0.0)

    @property
    def class_names(self) -> tuple[str, ...]:
        """The model's class names."""
        return self.net.class_names

    def warm_up(self) -> float:
        """Trace the compiled passes on one blank face; returns the seconds it took (the
        first frame would otherwise pay it)."""
        t0 = time.perf_counter()
        self._classify(self.net.preprocess([np.full((64, 64), 128, np.uint8)]))
        return time.perf_counter() - t0

    def _classify(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Probabilities (n, n_classes) of a preprocessed batch, and the maps (n, H, W) of
        each face's top class (None without a method)."""
        proba = self.runner.probabilities(x)
        if self.explainer is None:
            return proba, None
        return proba, self.explainer.explain_inputs(x, proba.argmax(axis=1).astype(np.int32))

    def process(self, frame: np.ndarray, index: int, t: float
                ) -> tuple[np.ndarray, list[TrackedFace], list[np.ndarray]]:  # fmt: skip
        """Annotated copy of a BGR frame, its faces (``index``: the frame's number, ``t``:
        its time in seconds), and their smoothed probabilities."""
        t0 = time.perf_counter()
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
        boxes = detect_faces(grey, min_size=self.min_face, detect_width=self.detect_width)
        t1 = time.perf_counter()
        faces, smoothed, maps = [], [], None
        if boxes:
            x = self.net.preprocess([grey[b.y : b.y + b.h, b.x : b.x + b.w] for b in boxes])
            proba, maps = self._classify(x)
            if self.keep_faces:
                self.inputs.extend(x)
                self.maps.extend([] if maps is None else maps)
            for b, tr, p in zip(boxes, self.tracker.update(boxes), proba, strict=True):
                label, mean = self._smoothers.setdefault(
                    tr, EmotionSmoother(self.window, self.patience)).update(p)  # fmt: skip
                faces.append(TrackedFace(index, t, tr, b, p, label, self.class_names))
                smoothed.append(mean)
        else:
            self.tracker.update([])
        t2 = time.perf_counter()
        out = annotate_frame(frame, faces, maps, alpha=self.alpha)
        t3 = time.perf_counter()
        for stage, dt in (("detect", t1 - t0), ("model", t2 - t1), ("draw", t3 - t2)):
            self.seconds[stage] += dt
        return out, faces, smoothed


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

    @property
    def fps(self) -> float:
        """Frames per second of the whole pipeline (read to write), wall clock, after the
        one-off warm-up (:meth:`VideoPipeline.warm_up`, reported as ``warmup_seconds``)."""
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

    def table(self):
        """One row per face per frame: frame, time, track, box, probabilities, labels."""
        import pandas as pd

        rows = [{"frame": f.frame, "time_s": round(f.time, 3), "track": f.track,
                 "x": f.box.x, "y": f.box.y, "w": f.box.w, "h": f.box.h,
                 **dict(zip(self.class_names, f.proba.round(4), strict=True)),
                 "predicted": f.predicted, "emotion": f.emotion} for f in self.faces]  # fmt: skip
        return pd.DataFrame(rows)

    def to_json(self) -> dict:
        """The summary :func:`~emonb.video.io.write_json` writes: source, speed, and the
        faces of every frame (:meth:`~emonb.video.tracking.TrackedFace.to_json`)."""
        per_frame: dict[int, list] = {}
        for f in self.faces:
            per_frame.setdefault(f.frame, []).append(f.to_json())
        fps_src = self.source_fps or 0.0
        return {
            "source": self.source, "model": self.model, "method": self.method,
            "width": self.width, "height": self.height, "source_fps": round(fps_src, 3),
            "frames": self.frames, "wall_seconds": round(self.seconds, 3),
            "fps": round(self.fps, 2), "ms_per_frame": self.timings_ms(),
            "warmup_seconds": round(self.warmup_seconds, 3),
            "frames_with_faces": len(per_frame), "faces": len(self.faces),
            "exported_patches": self.exported, "class_names": list(self.class_names),
            "detections": [{"frame": i, "time_s": round(i / fps_src, 3) if fps_src else None,
                            "faces": per_frame.get(i, [])} for i in range(self.frames)],
        }  # fmt: skip



def analyse_video(
    source: str | int | os.PathLike[str],
    net: EmotionModel,
    *,
    out: str | os.PathLike[str] | None = None,
    method: str | None = "gradcam",
    max_frames: int | None = None,
    export_faces: str | os.PathLike[str] | None = None,
    export_every: int = 1,
    keep_faces: bool = False,
    progress: bool = False,
    **pipeline_options,
) -> VideoResult:
    """Run :class:`VideoPipeline` over a video file or camera.

    ``out`` writes the annotated video (MP4, MPEG-4 part 2, the source's size and frame
    rate); ``export_faces`` saves the auto-annotated patches
    (:class:`~emonb.video.io.FaceExporter`, one frame in ``export_every``); ``max_frames``
    stops early (a camera runs until it or Ctrl-C); ``keep_faces`` keeps every face's model
    input and map (``result.inputs``, ``result.maps``); ``progress`` shows a progress bar on
    stderr. Other keywords go to :class:`VideoPipeline`.
    """
    if max_frames is not None and max_frames < 1:
        raise EmonbError(f"max_frames must be at least 1, got {max_frames}")
    cap, name = open_video(source)
    pipe = VideoPipeline(net, method, keep_faces=keep_faces, **pipeline_options)
    width, height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    fps_src = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    result = VideoResult(name, net.name, pipe.method, net.class_names, width, height, fps_src)
    writer = exporter = bar = None
    try:
        if out is not None:
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"),
                                     fps_src if fps_src > 0 else 24.0, (width, height))  # fmt: skip
            if not writer.isOpened():
                raise EmonbError(f"{out}: OpenCV cannot write an MP4 video there")
        if export_faces is not None:
            exporter = FaceExporter(export_faces, net.class_names, every=export_every)
        total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0) or None
        if max_frames is not None:
            total = min(total, max_frames) if total else max_frames
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=total, unit="frame", desc=Path(name).name, file=sys.stderr)
        result.warmup_seconds = pipe.warm_up()
        seconds = pipe.seconds
        start = time.perf_counter()
        try:
            for i, frame in iter_frames(cap, max_frames, seconds):
                t = i / fps_src if fps_src > 0 else time.perf_counter() - start
                annotated, faces, smoothed = pipe.process(frame, i, t)
                result.faces.extend(faces)
                t0 = time.perf_counter()
                if writer is not None:
                    writer.write(annotated)
                t1 = time.perf_counter()
                if exporter is not None:
                    for f, mean in zip(faces, smoothed, strict=True):
                        exporter.save(frame, f, mean)
                seconds["write"] += t1 - t0
                seconds["export"] += time.perf_counter() - t1
                result.frames = i + 1
                if bar is not None:
                    bar.update(1)
        except KeyboardInterrupt:
            if not name.startswith("camera "):
                raise  # a camera runs until Ctrl-C: that ends it normally
        result.seconds = time.perf_counter() - start
    finally:
        cap.release()
        if writer is not None:
            writer.release()
        if exporter is not None:
            exporter.close()
            result.exported = exporter.count
        if bar is not None:
            bar.close()
    result.stage_seconds = dict(pipe.seconds)
    if keep_faces and pipe.inputs:
        result.inputs = np.stack(pipe.inputs)
        result.maps = np.stack(pipe.maps) if pipe.maps else None
    return result
