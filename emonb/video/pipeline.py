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
(:func:`action_units`); and the box, label, score, heatmap and the AU region holding most of the map
drawn on the frame (:func:`~emonb.video.draw.annotate_frame`). What a run measured is a
:class:`~emonb.video.result.VideoResult` (its time per stage:
:data:`~emonb.video.result.STAGES`).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from emonb.anatomy.regions import rasterize
from emonb.errors import EmonbError
from emonb.faces import DEFAULT_DETECTOR, DETECTORS, Box, crop, find_faces
from emonb.metrics.facs import enrichment
from emonb.models.runner import Runner
from emonb.models.zoo import EmotionModel
from emonb.video.draw import OVERLAYS, annotate_frame
from emonb.video.export import FaceExporter
from emonb.video.result import STAGES, VideoResult
from emonb.video.sources import is_camera, open_video
from emonb.video.stages import FrameReader, OutputStage, Processed
from emonb.video.tracking import EmotionSmoother, FaceTracker, TrackedFace
from emonb.video.writers import open_writer

__all__ = ["AU_SUPERSAMPLE", "VideoPipeline", "action_units", "analyse_video", "to_map_pixels"]

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
    """Enrichment (N, 19) of each action unit's region (:data:`~emonb.anatomy.regions.AU_NAMES` order) in each
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
        (:attr:`~emonb.video.result.VideoResult.rejected`).
    overlay : str
        What the mesh adds to the annotated frame (:data:`emonb.video.draw.OVERLAYS`): the
        outline and name of the AU region holding most of the map (``"au"``), the 468 points
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
        #: probabilities (to float rounding where a CAM's layer has a BatchNorm after it,
        #: which its fused pass leaves unfolded: the mini-Xception's separable_conv2d_8).
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
    its suffix asks for (:func:`~emonb.video.writers.open_writer`: ``.mp4`` H.264, ``.webm``
    VP9; with ``realtime``, the default, at the encoder's live setting, e.g. x264's
    ultrafast preset); ``export_faces`` saves the auto-annotated patches
    (:class:`~emonb.video.export.FaceExporter`, one frame in ``export_every``); ``max_frames``
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
    end) all end it with :attr:`~emonb.video.result.VideoResult.stopped` saying why in one
    line. Whatever ends it, the video written plays every frame processed, and the result
    (its JSON) and the export's index hold exactly those frames. An error writing the
    outputs raises.
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
