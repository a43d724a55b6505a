"""The video pipeline: a file or camera in; annotated frames, tracked faces and timings out.

:func:`analyse_video` runs it end to end, as the seed paper does on a live stream::

    result = analyse_video("clip.mp4", net, out="annotated.mp4", export_faces="faces/")
    result.fps, result.timings_ms()          # pipeline speed and where the time goes

Per frame (:class:`VideoPipeline`): face detection (:func:`emonb.faces.find_faces`:
BlazeFace on the whole frame letterboxed to 128x128, or Haar on a copy ``detect_width``
pixels wide); the faces of the frame in one batch through the model runner's compiled
forward pass (probabilities) and the explainer's backward pass (the map of the predicted
class); boxes matched to the previous frame's faces
(:class:`~emonb.video.tracking.FaceTracker`); a smoothed emotion per face
(:class:`~emonb.video.tracking.EmotionSmoother`, the smoothing rule); with ``landmarks``,
the face mesh on each face box (one batch per frame) and the evidence per FACS action unit
(:func:`action_units`); and the box, label, score, heatmap and the top action unit's region
drawn on the frame (:func:`~emonb.video.draw.annotate_frame`).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from emonb.anatomy.regions import AU_NAMES, rasterize
from emonb.errors import EmonbError
from emonb.faces import DEFAULT_DETECTOR, DETECTORS, Box, crop, find_faces
from emonb.metrics.facs import enrichment
from emonb.models.runner import Runner
from emonb.models.zoo import EmotionModel
from emonb.video.draw import OVERLAYS, annotate_frame
from emonb.video.io import FaceExporter, is_camera, open_video, open_writer
from emonb.video.stages import FrameReader, OutputStage, Processed
from emonb.video.tracking import EmotionSmoother, FaceTracker, TrackedFace

__all__ = ["AU_SUPERSAMPLE", "STAGES", "VideoPipeline", "VideoResult", "action_units",
           "analyse_video", "to_map_pixels"]  # fmt: skip

#: Where a frame's time goes (:meth:`VideoResult.timings_ms`). ``read`` runs on the reader's
#: thread and ``write`` and ``export`` on the writer's (:mod:`emonb.video.stages`), beside
#: the model's thread, whose stages are ``detect`` to ``draw``; ``wait`` is the time the
#: model's thread waited for a decoded frame or for room in the writer's queue. So the
#: stages overlap: their sum exceeds the wall-clock ``total``.
STAGES = ("read", "detect", "model", "mesh", "regions", "draw", "write", "export", "wait")
#: LiteRT threads of the pipeline's detector and face mesh: one, as the pipeline's own
#: threads keep both cores busy (a second LiteRT thread saves under a millisecond of wall
#: time per call and spends more CPU than it saves, waiting).
LITE_THREADS = 1
#: Sub-pixels per map pixel (each axis) when the AU regions are rasterised at the map's
#: resolution (:func:`emonb.anatomy.regions.rasterize`).
AU_SUPERSAMPLE = 4


def _grey(image: np.ndarray) -> np.ndarray:
    """A BGR image's grey levels (OpenCV's BT.601); a grey image as it is."""
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def to_map_pixels(points: np.ndarray, box: Box, size: tuple[int, int]) -> np.ndarray:
    """Points (..., 2) in frame pixels -> pixels of a (H, W) map of the face crop the model
    saw: the box cut out exactly (no margin; boxes are clipped to the frame) and resized to
    (H, W), so ``u = (x - box.x) * W / box.w``, ``v = (y - box.y) * H / box.h`` (both in
    the pixel-corner convention of :mod:`emonb.anatomy.regions`, as ``cv2.resize`` aligns
    them)."""
    h, w = size
    scale = np.array([w / box.w, h / box.h])
    return ((np.asarray(points, np.float64) - (box.x, box.y)) * scale).astype(np.float32)


def action_units(points: np.ndarray, boxes: list[Box], maps: np.ndarray, *,
                 supersample: int | None = None) -> np.ndarray:  # fmt: skip
    """Enrichment (N, 19) of each action unit's region (:data:`AU_NAMES` order) in each
    face's map: ``points`` (N, 468, 2) the mesh in frame pixels, ``boxes`` the crops the
    model saw, ``maps`` (N, H, W) their maps. The regions are rasterised at the map's own
    resolution (:func:`to_map_pixels`, :func:`emonb.anatomy.regions.rasterize`) and scored
    by :func:`emonb.metrics.facs.enrichment` (``supersample``: default
    :data:`AU_SUPERSAMPLE`)."""
    size = maps.shape[1:]
    supersample = AU_SUPERSAMPLE if supersample is None else int(supersample)
    local = np.stack([to_map_pixels(p, b, size) for p, b in zip(points, boxes, strict=True)])
    return enrichment(maps, rasterize(local, size, "au", supersample=supersample))


class VideoPipeline:
    """Per-frame work: detect, classify and explain (one batch per frame), follow, mesh and
    action units (one batch per frame), draw.

    Parameters
    ----------
    net : EmotionModel
        The emotion model (never modified).
    method : str or None
        Registered explanation method overlaid on each face (default Grad-CAM); None or
        "none" draws boxes and labels only.
    detector : str
        Face detector (:data:`emonb.faces.DETECTORS`): ``"blazeface"`` searches the whole
        frame letterboxed to 128x128; ``"haar"`` a copy ``detect_width`` pixels wide.
    detect_width : int or None
        Width at which frames are searched for faces by Haar (see
        :func:`emonb.faces.detect_faces`); BlazeFace ignores it.
    min_face : int
        Smallest face side, in pixels of the frame.
    landmarks : bool
        Run the face mesh (:class:`emonb.faces.mesh.FaceMesh`, one batch per frame) on
        each face box; with a map, score each accepted face's action units
        (:func:`action_units`). A face the mesh rejects gets no AU analysis and is counted
        (:attr:`VideoResult.rejected`).
    overlay : str
        What the mesh adds to the annotated frame (:data:`emonb.video.draw.OVERLAYS`): the
        outline and name of the top action unit's region (``"au"``), the 468 points
        (``"mesh"``), both, or nothing.
    alpha : float
        Heatmap opacity on the face.
    window, patience : int
        The smoothing rule (:mod:`emonb.video.tracking`).
    keep_faces : bool
        Keep every face's model input and map (for analysis: activations, animations).
    """

    def __init__(self, net: EmotionModel, method: str | None = "gradcam", *,
                 detector: str = DEFAULT_DETECTOR, detect_width: int | None = 320,
                 min_face: int = 60, landmarks: bool = True, overlay: str = "au",
                 alpha: float = 0.4, window: int = 5, patience: int = 6,
                 keep_faces: bool = False):  # fmt: skip
        from emonb.methods import get_method

        if detector not in DETECTORS:
            raise EmonbError(f"unknown face detector {detector!r}; valid: {', '.join(DETECTORS)}")
        if overlay not in OVERLAYS:
            raise EmonbError(f"unknown overlay {overlay!r}; valid: {', '.join(OVERLAYS)}")
        self.net = net
        self.method = None if method in (None, "none") else method
        #: The map method (None without a map).
        self.explainer = get_method(self.method)(net) if self.method else None
        #: The compiled forward pass (probabilities): the explainer's own runner, else one
        #: with the same settings (logits, BatchNorm folded), so both paths give the same
        #: probabilities.
        self.runner = self.explainer.runner if self.explainer is not None else Runner(net)
        self.detector, self.overlay = detector, overlay
        self.detect_width, self.min_face, self.alpha = detect_width, int(min_face), float(alpha)
        #: The face mesh (None without landmarks).
        self.mesh = None
        self._last_mesh: dict[int, np.ndarray] = {}
        if landmarks:
            from emonb.faces.mesh import FaceMesh

            self.mesh = FaceMesh(threads=LITE_THREADS)
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
        blank = np.full((64, 64, 3), 128, np.uint8)
        self._classify(self.net.preprocess([blank[..., 0]]))
        self._classify(self.net.preprocess([blank[..., 0]] * 2))  # a batch of several faces
        find_faces(blank, detector=self.detector, min_size=self.min_face,
                   threads=LITE_THREADS)  # builds the detector
        if self.mesh is not None:
            self.mesh.landmarks([blank])
        return time.perf_counter() - t0

    def _classify(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Probabilities (n, n_classes) of a preprocessed batch, and the maps (n, H, W) of
        each face's top class (None without a method), in one compiled pass for the
        gradient CAMs (:meth:`emonb.methods.base.Explainer.predict_and_explain`)."""
        if self.explainer is None:
            return self.runner.probabilities(x), None
        return self.explainer.predict_and_explain(x)  # one pass where the method allows

    def process(self, frame: np.ndarray, index: int, t: float
                ) -> tuple[np.ndarray, list[TrackedFace], list[np.ndarray]]:  # fmt: skip
        """Annotated copy of a BGR frame, its faces (``index``: the frame's number, ``t``:
        its time in seconds), and their smoothed probabilities."""
        out, faces, smoothed, _ = self.step(frame, index, t)
        return out, faces, smoothed

    def step(self, frame: np.ndarray, index: int, t: float, *, inplace: bool = False,
             patches: bool = False
             ) -> tuple[np.ndarray, list[TrackedFace], list[np.ndarray],
                        list[np.ndarray] | None]:  # fmt: skip
        """:meth:`process`, drawing on ``frame`` itself with ``inplace`` (only inside and
        around the faces' boxes), and with ``patches`` also each face's patch of the frame
        as it was before drawing (copies; None otherwise)."""
        clock = [time.perf_counter()]
        rgb = None
        if self.detector == "blazeface" or self.mesh is not None:
            rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) if frame.ndim == 3 else frame
        # Haar searches a grey copy detect_width wide, BlazeFace a 128x128 copy
        # (emonb.faces.blazeface.letterbox)
        image = _grey(frame) if self.detector == "haar" else rgb
        boxes = find_faces(image, detector=self.detector, min_size=self.min_face,
                           detect_width=self.detect_width, threads=LITE_THREADS)  # fmt: skip
        clock.append(time.perf_counter())
        labels, smoothed, tracks, proba, maps = [], [], [], None, None
        if boxes:
            # grey levels of the boxes only (cv2's BT.601, as for the whole frame)
            x = self.net.preprocess([_grey(crop(frame, b)) for b in boxes])
            proba, maps = self._classify(x)
            if self.keep_faces:
                self.inputs.extend(x)
                self.maps.extend([] if maps is None else maps)
            tracks = self.tracker.update(boxes)
            for tr, p in zip(tracks, proba, strict=True):
                label, mean = self._smoothers.setdefault(
                    tr, EmotionSmoother(self.window, self.patience)).update(p)  # fmt: skip
                labels.append(label)
                smoothed.append(mean)
        else:
            self.tracker.update([])
        clock.append(time.perf_counter())
        mesh = self._mesh(rgb, boxes, tracks)
        clock.append(time.perf_counter())
        au = self._action_units(mesh, boxes, maps)
        clock.append(time.perf_counter())
        faces = [TrackedFace(index, t, tracks[i], b, proba[i], labels[i], self.class_names,
                             *mesh[i], au[i]) for i, b in enumerate(boxes)]  # fmt: skip
        cut = None
        if patches:
            cut = [crop(frame, b).copy() for b in boxes]
        out = annotate_frame(frame, faces, maps, alpha=self.alpha, overlay=self.overlay,
                             inplace=inplace)  # fmt: skip
        clock.append(time.perf_counter())
        for stage, t0, t1 in zip(("detect", "model", "mesh", "regions", "draw"), clock[:-1],
                                 clock[1:], strict=True):  # fmt: skip
            if stage == "mesh" and self.mesh is None:
                continue  # no mesh stage: its no-op call is not time spent meshing
            self.seconds[stage] += t1 - t0
        return out, faces, smoothed, cut

    def _mesh(self, rgb: np.ndarray | None, boxes: list[Box], tracks: list[int]
              ) -> list[tuple[np.ndarray | None, float | None]]:  # fmt: skip
        """Per face: (points (468, 2) in frame pixels, or None if rejected; presence), or
        (None, None) without landmarks. A face whose track had a mesh in the previous
        frame is cut out around those points and run once (as MediaPipe tracks faces);
        a new face takes the mesh's two passes from its box."""
        if self.mesh is None:
            return [(None, None)] * len(boxes)
        if not boxes:
            self._last_mesh = {}
            return []
        previous = [self._last_mesh.get(tr) for tr in tracks]
        lm = self.mesh.landmarks([rgb] * len(boxes), boxes, previous=previous)
        xy = np.ascontiguousarray(lm.xy, dtype=np.float32)
        self._last_mesh = {tr: xy[i] for i, tr in enumerate(tracks) if lm.accepted[i]}
        return [(xy[i] if ok else None, float(p))
                for i, (ok, p) in enumerate(zip(lm.accepted, lm.presence, strict=True))]  # fmt: skip

    def _action_units(self, mesh: list, boxes: list[Box], maps: np.ndarray | None
                      ) -> list[np.ndarray | None]:  # fmt: skip
        """Per face: the AU enrichment (19,) of its map, or None (no map, no points)."""
        out: list[np.ndarray | None] = [None] * len(boxes)
        rows = [i for i, (pts, _) in enumerate(mesh) if pts is not None]
        if maps is None or not rows:
            return out
        values = action_units(np.stack([mesh[i][0] for i in rows]), [boxes[i] for i in rows],
                              maps[rows])  # fmt: skip
        for i, v in zip(rows, values, strict=True):
            out[i] = v
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
        """Per frame of the video, the top action unit of the track's face
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
        mesh's presence and the top action unit (None where not run or not analysed)."""
        import pandas as pd

        rows = [{"frame": f.frame, "time_s": round(f.time, 3), "track": f.track,
                 "x": f.box.x, "y": f.box.y, "w": f.box.w, "h": f.box.h,
                 **dict(zip(self.class_names, f.proba.round(4), strict=True)),
                 "predicted": f.predicted, "emotion": f.emotion,
                 "presence": None if f.presence is None else round(f.presence, 4),
                 "top_au": f.top_au} for f in self.faces]  # fmt: skip
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
    on_frame: Callable[[int, np.ndarray, list[TrackedFace], list[np.ndarray], float], None]
    | None = None,
    realtime: bool = True,
    **pipeline_options,
) -> VideoResult:
    """Run :class:`VideoPipeline` over a video file or camera.

    ``out`` writes the annotated video at the source's size and frame rate, in the codec
    its suffix asks for (:func:`~emonb.video.io.open_writer`: ``.mp4`` H.264, ``.webm``
    VP9; with ``realtime``, the default, at the encoder's live setting, e.g. x264's
    ultrafast preset); ``export_faces`` saves the auto-annotated patches
    (:class:`~emonb.video.io.FaceExporter`, one frame in ``export_every``); ``max_frames``
    stops early (a camera runs until it or Ctrl-C); ``keep_faces`` keeps every face's model
    input and map (``result.inputs``, ``result.maps``); ``progress`` shows a progress bar on
    stderr; ``on_frame(index, annotated, faces, smoothed, captured)`` is called once per
    frame, in order, after the frame is written (``captured``: the ``time.time()`` at
    which the frame was read from the source; the live preview, :mod:`emonb.video.serve`):
    it runs on the writer's thread, must return quickly and must not modify the frame.
    Other keywords go to :class:`VideoPipeline` (``detector``, ``detect_width``,
    ``min_face``, ``landmarks``, ``overlay``, ``alpha``, ``window``, ``patience``).

    Decoding runs on one thread, the export of patches, the writing and ``on_frame`` on
    another (:mod:`emonb.video.stages`), beside the model's passes, each behind a queue of
    a few frames; frames stay in order and the frames are drawn on in place. OpenCV's own
    thread pool is set to one thread for the run (restored after); ``emonb video`` also
    gives TensorFlow one thread (:func:`emonb.config.video_threads`).

    Faults and Ctrl-C end the run; they do not raise. A camera that stops delivering
    frames, a file that ends before its header's frame count, a frame of another size
    than the first, a decoder error, and Ctrl-C (on a file; on a camera it is the normal
    end) all end it with :attr:`VideoResult.stopped` saying why in one line. Whatever ends
    it, the video written plays every frame processed, and the result (its JSON) and the
    export's index hold exactly those frames. An error writing the outputs raises.
    """
    if max_frames is not None and max_frames < 1:
        raise EmonbError(f"max_frames must be at least 1, got {max_frames}")
    cap, name = open_video(source)
    try:
        pipe = VideoPipeline(net, method, keep_faces=keep_faces, **pipeline_options)
    except BaseException:
        cap.release()
        raise
    width, height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    fps_src = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    expected = 0 if is_camera(name) else int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    result = VideoResult(name, net.name, pipe.method, net.class_names, width, height, fps_src,
                         detector=pipe.detector, landmarks=pipe.mesh is not None)  # fmt: skip
    writer = exporter = bar = reader = output = None
    seconds = pipe.seconds
    cv_threads = cv2.getNumThreads()
    cv2.setNumThreads(1)  # the stages are the parallelism: OpenCV's idle pool would spin
    try:
        if out is not None:
            writer = open_writer(out, fps_src if fps_src > 0 else 24.0, (width, height),
                                 realtime=realtime)  # fmt: skip
        if export_faces is not None:
            exporter = FaceExporter(export_faces, net.class_names, every=export_every)
        total = expected or None
        if max_frames is not None:
            total = min(total, max_frames) if total else max_frames
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=total, unit="frame", desc=Path(name).name, file=sys.stderr)
        result.warmup_seconds = pipe.warm_up()
        output = OutputStage(write=None if writer is None else writer.write,
                             export=None if exporter is None else exporter.save_patch,
                             on_frame=on_frame, seconds=seconds)  # fmt: skip
        start, wall_start = time.perf_counter(), time.time()
        reader = FrameReader(cap, name, max_frames, expected=expected, seconds=seconds)
        try:
            for i, frame, captured in reader:
                t = i / fps_src if fps_src > 0 else captured - wall_start
                want = exporter is not None and exporter.wants(i)
                annotated, faces, smoothed, patches = pipe.step(frame, i, t, inplace=True,
                                                                patches=want)  # fmt: skip
                result.faces.extend(faces)
                output.put(Processed(i, annotated, faces, smoothed, captured, patches))
                if bar is not None:
                    bar.update(1)
            result.stopped = reader.reason
        except KeyboardInterrupt:
            if not is_camera(name):  # a camera runs until Ctrl-C: its normal end
                result.stopped = "interrupted (Ctrl-C)"
            result.interrupted = True
        reader.stop()
        output.close()  # every frame handed over is written: the video, JSON and index agree
        result.seconds = time.perf_counter() - start
    finally:
        cv2.setNumThreads(cv_threads)
        if reader is not None:
            reader.stop()
        if output is not None:
            output.close(check=False)
        cap.release()
        if writer is not None:
            writer.close()  # also after an error: the file plays the frames written
        if exporter is not None:
            exporter.close()
            result.exported = exporter.count
        if bar is not None:
            bar.close()
    result.frames = output.done
    result.faces = [f for f in result.faces if f.frame < result.frames]
    result.stage_seconds = dict(pipe.seconds)
    if keep_faces and pipe.inputs:
        n = len(result.faces)
        result.inputs = np.stack(pipe.inputs[:n])
        result.maps = np.stack(pipe.maps[:n]) if pipe.maps else None
    return result
