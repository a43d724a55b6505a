"""Faces in video: detect, classify, explain, follow and auto-annotate, frame by frame.

The seed paper runs a face detector and the emotion CNN on a live stream, overlays an
activation map on each face and saves the face patches under the emotion on screen, an
automatically annotated set. :func:`analyse_video` does that for a file or a camera::

    result = analyse_video("clip.mp4", net, out="annotated.mp4", export_faces="faces/")
    result.fps, result.timings_ms()          # pipeline speed and where the time goes

Per frame (:class:`VideoPipeline`): Haar detection on a copy ``detect_width`` pixels wide;
the faces of the frame in one batch through the explainer's compiled forward pass
(probabilities) and one backward pass (the map of the predicted class); boxes matched to
the previous frame's faces (:class:`FaceTracker`); a smoothed emotion per face
(:class:`EmotionSmoother`); and the box, label, score and heatmap drawn on the frame.

**The smoothing rule** (the exported label): a face's probabilities are averaged over its
last ``window`` frames (default 5, about 0.2 s at 24 fps); the label switches to the
class of highest average only after that class has led for ``patience`` consecutive
frames (default 6, a quarter of a second at 24 fps). Until then patches keep being saved
under the current emotion, so a few noisy frames never flip the label, and a real change
shows about ``patience`` frames late. (On the book's clip, patience 3 let the sad/fear
boundary flicker: 8 changes instead of 4.)
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from emonb.errors import EmonbError
from emonb.faces import Box, detect_faces
from emonb.models.zoo import EmotionModel

__all__ = [
    "STAGES",
    "EmotionSmoother",
    "FaceExporter",
    "FaceTracker",
    "TrackedFace",
    "VideoPipeline",
    "VideoResult",
    "analyse_video",
    "animation_frames",
    "exported_patches",
    "iou",
    "label_changes",
    "open_video",
    "read_frames",
    "write_animation",
    "write_json",
]

#: Where a frame's time goes (:meth:`VideoResult.timings_ms`).
STAGES = ("read", "detect", "model", "draw", "write", "export")

#: BGR colours of the seven FER-2013 classes' boxes (others cycle through them).
_COLOURS = ((0, 0, 230), (0, 140, 0), (160, 0, 160), (0, 200, 255), (200, 80, 0),
            (255, 200, 0), (180, 180, 180))  # fmt: skip


def open_video(source: str | int | os.PathLike[str]) -> tuple[cv2.VideoCapture, str]:
    """An opened capture and a description: ``source`` is a video file, a manifest video
    name, or a camera index (an int or a string of digits). A camera that is missing or
    busy, or a file that is missing or unreadable, is an :class:`EmonbError`."""
    if isinstance(source, int) or (isinstance(source, str) and source.isdigit()):
        index = int(source)
        level = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # our message says it
        try:
            cap = cv2.VideoCapture(index)
        finally:
            cv2.utils.logging.setLogLevel(level)
        if not cap.isOpened():
            raise EmonbError(f"camera {index} could not be opened: no such camera on this "
                             "machine, or it is in use (give a video file instead)")  # fmt: skip
        return cap, f"camera {index}"
    from emonb.data.manifest import media_path

    path = media_path(source, "video")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise EmonbError(f"{path}: OpenCV cannot read this video")
    return cap, str(path)


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    ix = max(0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    inter = ix * iy
    union = a.area + b.area - inter
    return inter / union if union else 0.0


class FaceTracker:
    """Gives each face a track id by matching boxes to the previous ones (greedy, by IoU).

    A box overlapping a live track by at least ``min_iou`` continues it (largest overlaps
    first); other boxes start new tracks. A track not seen for more than ``max_missed``
    frames ends, so its id is never reused.
    """

    def __init__(self, min_iou: float = 0.3, max_missed: int = 12):
        self.min_iou, self.max_missed = float(min_iou), int(max_missed)
        self._live: dict[int, tuple[Box, int]] = {}  # id -> (last box, frames since seen)
        self._next = 0

    def update(self, boxes: Sequence[Box]) -> list[int]:
        """Track ids of ``boxes``, in their order."""
        pairs = sorted(
            ((iou(b, last), i, t) for i, b in enumerate(boxes)
             for t, (last, _) in self._live.items()),
            key=lambda p: (-p[0], p[1], p[2]),
        )  # fmt: skip
        ids: list[int | None] = [None] * len(boxes)
        used: set[int] = set()
        for overlap, i, t in pairs:
            if overlap < self.min_iou:
                break
            if ids[i] is None and t not in used:
                ids[i] = t
                used.add(t)
        for i in range(len(boxes)):
            if ids[i] is None:
                ids[i] = self._next
                self._next += 1
        for t in list(self._live):
            if t not in ids:
                box, missed = self._live[t]
                if missed + 1 > self.max_missed:
                    del self._live[t]
                else:
                    self._live[t] = (box, missed + 1)
        for t, b in zip(ids, boxes, strict=True):
            self._live[t] = (b, 0)
        return [int(t) for t in ids]


class EmotionSmoother:
    """The exported label of one face: see the module's smoothing rule."""

    def __init__(self, window: int = 5, patience: int = 6):
        if window < 1 or patience < 1:
            raise ValueError(f"window and patience must be >= 1, got {window}, {patience}")
        self.window, self.patience = int(window), int(patience)
        self._recent: deque[np.ndarray] = deque(maxlen=self.window)
        self.label: int | None = None
        self._candidate: int | None = None
        self._streak = 0

    def update(self, proba: np.ndarray) -> tuple[int, np.ndarray]:
        """Feed one frame's probabilities; returns the label and the averaged probabilities."""
        self._recent.append(np.asarray(proba, dtype=np.float64))
        mean = np.mean(self._recent, axis=0)
        lead = int(mean.argmax())
        if self.label is None:
            self.label = lead
        elif lead == self.label:
            self._candidate, self._streak = None, 0
        else:
            self._streak = self._streak + 1 if lead == self._candidate else 1
            self._candidate = lead
            if self._streak >= self.patience:
                self.label, self._candidate, self._streak = lead, None, 0
        return self.label, mean


@dataclass(frozen=True)
class TrackedFace:
    """One face in one frame: where, which track, the model's probabilities, and the
    smoothed label (:class:`EmotionSmoother`)."""

    frame: int
    time: float
    track: int
    box: Box
    proba: np.ndarray
    label: int
    class_names: tuple[str, ...]

    @property
    def predicted(self) -> str:
        """This frame's top class (unsmoothed)."""
        return self.class_names[int(self.proba.argmax())]

    @property
    def emotion(self) -> str:
        """The smoothed label: what the exporter files the patch under."""
        return self.class_names[self.label]

    def to_json(self) -> dict:
        return {
            "track": self.track,
            "box": list(self.box.as_tuple()),
            "predicted": self.predicted,
            "score": round(float(self.proba.max()), 4),
            "emotion": self.emotion,
            "proba": {c: round(float(p), 4) for c, p in zip(self.class_names, self.proba,
                                                            strict=True)},
        }  # fmt: skip


class FaceExporter:
    """Saves face patches as ``root/<emotion>/f<frame>_t<track>.png`` (colour, as cropped)
    under the smoothed label, and an index, ``root/index.csv``: file, frame, time, track,
    box, emotion, its smoothed score, and the frame's own top class and score."""

    COLUMNS = ("file", "frame", "time_s", "track", "x", "y", "w", "h", "emotion", "score",
               "predicted", "predicted_score")  # fmt: skip

    def __init__(self, root: str | os.PathLike[str], class_names: Sequence[str], every: int = 1):
        self.root = Path(root)
        self.every = int(every)
        if self.every < 1:
            raise EmonbError(f"export every must be >= 1 frame, got {every}")
        for name in class_names:
            (self.root / name).mkdir(parents=True, exist_ok=True)
        self._file = (self.root / "index.csv").open("w", newline="", encoding="utf-8")
        self._csv = csv.writer(self._file)
        self._csv.writerow(self.COLUMNS)
        self.count = 0

    def save(self, frame_bgr: np.ndarray, face: TrackedFace, smoothed: np.ndarray) -> None:
        if face.frame % self.every:
            return
        b = face.box
        rel = f"{face.emotion}/f{face.frame:06d}_t{face.track}.png"
        if not cv2.imwrite(str(self.root / rel), frame_bgr[b.y : b.y + b.h, b.x : b.x + b.w]):
            raise EmonbError(f"could not write {self.root / rel}")
        self._csv.writerow([rel, face.frame, f"{face.time:.3f}", face.track, *b.as_tuple(),
                            face.emotion, f"{smoothed[face.label]:.4f}", face.predicted,
                            f"{face.proba.max():.4f}"])  # fmt: skip
        self.count += 1

    def close(self) -> None:
        self._file.close()


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
        The smoothing rule (module docstring).
    keep_faces : bool
        Keep every face's model input and map (for analysis: activations, animations).
    """

    def __init__(self, net: EmotionModel, method: str | None = "gradcam", *,
                 detect_width: int | None = 320, min_face: int = 60, alpha: float = 0.4,
                 window: int = 5, patience: int = 6, keep_faces: bool = False):  # fmt: skip
        from emonb.methods import GradCAM, get_method

        self.net = net
        self.method = None if method in (None, "none") else method
        # without a map, the explainer still gives the compiled forward pass (probabilities)
        self.explainer = (get_method(self.method) if self.method else GradCAM)(net)
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
        return self.net.class_names

    def warm_up(self) -> float:
        """Trace the compiled passes on one blank face; returns the seconds it took (the
        first frame would otherwise pay it)."""
        t0 = time.perf_counter()
        x = self.net.preprocess([np.full((64, 64), 128, np.uint8)])
        proba = self.explainer.probabilities(x)
        if self.method:
            self.explainer.explain_inputs(x, proba.argmax(axis=1).astype(np.int32))
        return time.perf_counter() - t0

    def process(self, frame: np.ndarray, index: int, t: float
                ) -> tuple[np.ndarray, list[TrackedFace], list[np.ndarray]]:  # fmt: skip
        """Annotated copy of a BGR frame, its faces, and their smoothed probabilities."""
        t0 = time.perf_counter()
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
        boxes = detect_faces(grey, min_size=self.min_face, detect_width=self.detect_width)
        t1 = time.perf_counter()
        faces, smoothed, maps = [], [], np.zeros((0, 1, 1), np.float32)
        if boxes:
            x = self.net.preprocess([grey[b.y : b.y + b.h, b.x : b.x + b.w] for b in boxes])
            proba = self.explainer.probabilities(x)
            if self.method:
                maps = self.explainer.explain_inputs(x, proba.argmax(axis=1).astype(np.int32))
            if self.keep_faces:
                self.inputs.extend(x)
                self.maps.extend(maps)
            for b, tr, p in zip(boxes, self.tracker.update(boxes), proba, strict=True):
                label, mean = self._smoothers.setdefault(
                    tr, EmotionSmoother(self.window, self.patience)).update(p)  # fmt: skip
                faces.append(TrackedFace(index, t, tr, b, p, label, self.class_names))
                smoothed.append(mean)
        else:
            self.tracker.update([])
        t2 = time.perf_counter()
        out = self.draw(frame, faces, maps if self.method else None)
        t3 = time.perf_counter()
        for stage, dt in (("detect", t1 - t0), ("model", t2 - t1), ("draw", t3 - t2)):
            self.seconds[stage] += dt
        return out, faces, smoothed

    def draw(self, frame: np.ndarray, faces: Sequence[TrackedFace],
             maps: np.ndarray | None) -> np.ndarray:  # fmt: skip
        """A copy of the BGR frame with each face's heatmap, box, smoothed label and score."""
        from emonb.plotting import _heat_colours

        out = frame.copy() if frame.ndim == 3 else cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        for i, f in enumerate(faces):
            b = f.box
            if maps is not None:
                colour = _heat_colours(maps[i], (b.h, b.w), bgr=True)
                patch = out[b.y : b.y + b.h, b.x : b.x + b.w].astype(np.float32)
                blend = (1 - self.alpha) * patch + self.alpha * colour
                out[b.y : b.y + b.h, b.x : b.x + b.w] = np.clip(np.rint(blend), 0, 255)
            colour = _COLOURS[f.label % len(_COLOURS)]
            cv2.rectangle(out, (b.x, b.y), (b.x + b.w, b.y + b.h), colour, 2)
            text = f"{f.emotion} {f.proba[f.label]:.2f}"
            (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.6, 1)
            y = max(b.y, th + base + 2)
            cv2.rectangle(out, (b.x, y - th - base - 2), (b.x + tw + 4, y), colour, cv2.FILLED)
            cv2.putText(out, text, (b.x + 2, y - base), cv2.FONT_HERSHEY_SIMPLEX, 0.6,
                        (255, 255, 255), 1, cv2.LINE_AA)  # fmt: skip
        return out


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


def _frames(cap: cv2.VideoCapture, limit: int | None, seconds: dict[str, float] | None = None
            ) -> Iterator[tuple[int, np.ndarray]]:  # fmt: skip
    """``(index, BGR frame)`` up to ``limit`` frames; reading time is added to
    ``seconds["read"]`` when given."""
    i = 0
    while limit is None or i < limit:
        t0 = time.perf_counter()
        ok, frame = cap.read()
        if seconds is not None:
            seconds["read"] += time.perf_counter() - t0
        if not ok:
            return
        yield i, frame
        i += 1


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
    rate); ``export_faces`` saves the auto-annotated patches (:class:`FaceExporter`);
    ``max_frames`` stops early (a camera runs until it or Ctrl-C); ``progress`` shows a
    progress bar on stderr. Other keywords go to :class:`VideoPipeline`.
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
            for i, frame in _frames(cap, max_frames, seconds):
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


def label_changes(labels: Sequence[int]) -> list[tuple[int, int, int]]:
    """Where a label sequence changes: ``(position, old, new)`` for each switch."""
    labels = [int(v) for v in labels]
    return [(i, labels[i - 1], labels[i]) for i in range(1, len(labels)) if labels[i] != labels[i - 1]]


def read_frames(source: str | int | os.PathLike[str], indices: Sequence[int]) -> list[np.ndarray]:
    """Frames at ``indices`` of a video (RGB), read in one sequential pass (seeking in MPEG-4
    part 2 files is not frame-exact)."""
    wanted = sorted({int(i) for i in indices})
    cap, name = open_video(source)
    found: dict[int, np.ndarray] = {}
    try:
        for i, frame in _frames(cap, wanted[-1] + 1 if wanted else 0):
            if i in wanted:
                found[i] = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()
    missing = [i for i in wanted if i not in found]
    if missing:
        raise EmonbError(f"{name} has no frame {missing[0]}")
    return [found[int(i)] for i in indices]


def exported_patches(root: str | os.PathLike[str], per_emotion: int | None = 8
                     ) -> dict[str, list[np.ndarray]]:  # fmt: skip
    """Exported patches (RGB) per emotion, read back through ``root/index.csv``
    (:class:`FaceExporter`): up to ``per_emotion`` evenly spread over the video, or all."""
    import pandas as pd

    index = pd.read_csv(Path(root) / "index.csv")
    out: dict[str, list[np.ndarray]] = {}
    for emotion, rows in index.groupby("emotion", sort=False):
        n = len(rows) if per_emotion is None else min(per_emotion, len(rows))
        pick = np.unique(np.linspace(0, len(rows) - 1, n).round()).astype(int)
        files = rows["file"].to_numpy()[pick]
        out[str(emotion)] = [cv2.cvtColor(cv2.imread(str(Path(root) / f)), cv2.COLOR_BGR2RGB)
                             for f in files]  # fmt: skip
    return out


def animation_frames(net: EmotionModel, inputs: np.ndarray, maps: np.ndarray,
                     captions: Sequence[str], *, size: int = 192,
                     alpha: float = 0.45) -> list[np.ndarray]:  # fmt: skip
    """RGB frames (size x size) of ``net``'s preprocessed faces (N, H, W, C), shown as the
    model sees them (:func:`emonb.explain.model_view`), with their maps overlaid and a
    caption, for :func:`write_animation`."""
    from emonb.explain import model_view
    from emonb.plotting import overlay

    frames = []
    for g, m, text in zip(model_view(net, inputs, preprocessed=True), maps, captions, strict=True):
        img = overlay(cv2.resize(g, (size, size), interpolation=cv2.INTER_CUBIC), m, alpha=alpha)
        cv2.rectangle(img, (0, size - 22), (size, size), (0, 0, 0), cv2.FILLED)
        cv2.putText(img, text, (4, size - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1,
                    cv2.LINE_AA)  # fmt: skip
        frames.append(img)
    return frames


def write_animation(frames: Sequence[np.ndarray], path: str | os.PathLike[str],
                    fps: float = 12.0) -> Path:  # fmt: skip
    """An endlessly looping GIF of RGB uint8 frames."""
    from PIL import Image

    if not frames:
        raise EmonbError("no frames to animate")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images = [Image.fromarray(np.asarray(f, dtype=np.uint8)) for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:], loop=0,
                   duration=int(round(1000 / fps)), optimize=False)  # fmt: skip
    return path


def write_json(result: VideoResult, path: str | os.PathLike[str]) -> Path:
    """The JSON summary (:meth:`VideoResult.to_json`) to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.to_json(), indent=1), encoding="utf-8")
    return path
