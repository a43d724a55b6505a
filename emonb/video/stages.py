"""The stages that run beside the compute: reading frames and everything written.

:class:`FrameReader` decodes the source on its own thread into a bounded queue, and
:class:`OutputStage` exports face patches, writes the annotated frames and calls the
frame hook (the live preview) on another, from a bounded queue, in frame order. OpenCV's
decoder, its image encoders and the pipe to the ffmpeg encoder all release Python's
lock, so on two cores decoding and encoding overlap the model's passes. Both queues hold
at most ``depth`` frames: a stage that falls behind stalls the one before it (the stall
is timed as the pipeline's ``wait`` stage) and memory never grows with the video.

Faults end the reading with a one-line reason (:attr:`FrameReader.reason`): a camera that
stops delivering frames, a file that ends before its header's frame count (truncated or
damaged), a frame of another size than the first, or a decoder error. The end of the
source or of ``limit`` is not a fault (reason None).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from emonb.video.sources import is_camera
from emonb.video.tracking import TrackedFace

__all__ = ["DEPTH", "FrameReader", "OutputStage", "Processed"]

#: Frames each queue holds (decoded frames waiting for the model; annotated frames waiting
#: for the writer): enough to absorb a slow frame, few enough that 1080p stays under
#: 50 MB per queue.
DEPTH = 4
_POLL = 0.1  # seconds between checks of a stop request while blocked on a queue


def _shape(frame: np.ndarray) -> str:
    h, w = frame.shape[:2]
    return f"{w}x{h}" + ("" if frame.ndim == 3 else " grey")


class FrameReader:
    """Frames of an opened capture, decoded on a thread: iterate for ``(index, frame,
    captured)``, ``captured`` being the ``time.time()`` at which the frame was read.

    ``name`` describes the source (``"camera 0"`` or a path), ``limit`` stops after that many
    frames, ``expected`` is the file's frame count from its header (0: unknown),
    ``seconds`` gets the decoding time under ``"read"``. :meth:`stop` ends it early
    (Ctrl-C); :attr:`reason` then says nothing, and the frames already queued are dropped.
    """

    def __init__(self, cap: cv2.VideoCapture, name: str, limit: int | None = None, *,
                 expected: int = 0, seconds: dict[str, float] | None = None,
                 depth: int = DEPTH):  # fmt: skip
        self.cap, self.name, self.limit, self.expected = cap, name, limit, int(expected)
        self.seconds = seconds if seconds is not None else {"read": 0.0}
        self.seconds.setdefault("read", 0.0)
        self.seconds.setdefault("wait", 0.0)
        #: Why reading ended early (one line), or None: the source's end, or ``limit``.
        self.reason: str | None = None
        #: Frames read.
        self.count = 0
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="emonb-reader", daemon=True)
        self._thread.start()

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        first: np.ndarray | None = None
        i = 0
        try:
            while (self.limit is None or i < self.limit) and not self._stop.is_set():
                t0 = time.perf_counter()
                ok, frame = self.cap.read()
                captured = time.time()
                self.seconds["read"] += time.perf_counter() - t0
                if not ok or frame is None:
                    self.reason = self._ended(i)
                    break
                if first is None:
                    first = frame
                elif frame.shape != first.shape:
                    self.reason = (f"frame {i} is {_shape(frame)}, but the video started at "
                                   f"{_shape(first)}")  # fmt: skip
                    break
                if not self._put((i, frame, captured)):
                    break
                i += 1
                self.count = i
        except Exception as err:  # a decoder error: end as a damaged source does
            self.reason = f"reading frame {i} failed: {type(err).__name__}: {err}"
        finally:
            self._put(None)

    def _ended(self, i: int) -> str | None:
        if is_camera(self.name):
            return f"{self.name} stopped delivering frames after {i} frames (disconnected?)"
        if self.expected and i < self.expected - max(2, self.expected // 50):
            return (f"{self.name} ended after {i} of the {self.expected} frames its header "
                    "announces (truncated or damaged)")  # fmt: skip
        return None

    def __iter__(self) -> Iterator[tuple[int, np.ndarray, float]]:
        while True:
            t0 = time.perf_counter()
            item = self._queue.get()
            self.seconds["wait"] += time.perf_counter() - t0
            if item is None:
                return
            yield item

    def stop(self) -> None:
        """Stop reading (its current frame is dropped) and wait for the thread."""
        self._stop.set()
        try:
            while True:
                self._queue.get_nowait()  # unblock a put
        except queue.Empty:
            pass
        self._thread.join(timeout=10)


@dataclass
class Processed:
    """One frame done by the model, on its way out: what :class:`OutputStage` writes."""

    index: int
    annotated: np.ndarray
    faces: list[TrackedFace]
    smoothed: list[np.ndarray]
    captured: float
    #: Each face's patch of the frame before drawing (only on frames the export saves).
    patches: list[np.ndarray] | None = None


class OutputStage:
    """Exports, writes and reports each processed frame on a thread, in the order given.

    ``write(frame)`` writes the annotated frame (a :class:`~emonb.video.writers.VideoWriter`'s),
    ``export(patch, face, smoothed)`` saves a patch (a
    :class:`~emonb.video.export.FaceExporter`'s :meth:`save_patch`), ``on_frame(index,
    annotated, faces, smoothed, captured)`` is the frame hook; each may be None.
    :meth:`put` hands a frame over (blocking while ``depth`` frames wait: the time is added
    to ``seconds["wait"]``); :meth:`close` writes what is queued and joins the thread.
    An error in a stage stops the stage; :meth:`put` and :meth:`close` raise it.
    """

    def __init__(self, *, write: Callable[[np.ndarray], None] | None = None,
                 export: Callable[[np.ndarray, TrackedFace, np.ndarray], None] | None = None,
                 on_frame: Callable[..., None] | None = None,
                 seconds: dict[str, float] | None = None, depth: int = DEPTH):  # fmt: skip
        self._write, self._export, self._on_frame = write, export, on_frame
        self.seconds = seconds if seconds is not None else {}
        for key in ("write", "export", "wait"):
            self.seconds.setdefault(key, 0.0)
        #: Frames written (all stages done), counted from 0 in order.
        self.done = 0
        #: The error that stopped the stage, if any.
        self.error: BaseException | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._thread = threading.Thread(target=self._run, name="emonb-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self.error is not None:
                continue  # drain: the producer learns of the error at its next put
            try:
                self._one(item)
            except BaseException as err:  # noqa: BLE001 - handed to the producer
                self.error = err

    def _one(self, p: Processed) -> None:
        t0 = time.perf_counter()
        if self._export is not None and p.patches is not None:
            for patch, face, mean in zip(p.patches, p.faces, p.smoothed, strict=True):
                self._export(patch, face, mean)
        t1 = time.perf_counter()
        if self._write is not None:
            self._write(p.annotated)
        t2 = time.perf_counter()
        self.seconds["export"] += t1 - t0
        self.seconds["write"] += t2 - t1
        if self._on_frame is not None:
            self._on_frame(p.index, p.annotated, p.faces, p.smoothed, p.captured)
        self.done = p.index + 1

    def put(self, p: Processed) -> None:
        """Queue a processed frame (after the previous one)."""
        self._raise()
        t0 = time.perf_counter()
        while True:
            try:
                self._queue.put(p, timeout=_POLL)
                break
            except queue.Full:
                self._raise()
        self.seconds["wait"] += time.perf_counter() - t0

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error

    def close(self, *, check: bool = True) -> None:
        """Write every queued frame and end the thread; ``check`` raises a stage's error."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if check:
            self._raise()
