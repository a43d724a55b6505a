"""Video in: a file, a manifest video or a camera opened, and its frames read.

:func:`open_video` opens a source (a video file, a manifest video name resolved by
:func:`emonb.data.manifest.media_path`, or a camera index) and says what it is
(:func:`is_camera`); :func:`iter_frames` reads its frames in order and :func:`read_frames`
picks frames by index.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence

import cv2
import numpy as np

from emonb.errors import EmonbError

# FFmpeg's own log inside OpenCV (a truncated file: "[h264 @ 0x...] Invalid NAL unit size",
# line after line) would bury emonb's one-line message about the same fault
# (emonb.video.stages.FrameReader.reason); read when OpenCV first opens a video
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

__all__ = ["is_camera", "iter_frames", "open_video", "read_frames"]


def is_camera(name: str) -> bool:
    """Whether :func:`open_video`'s description ``name`` is a camera's (``"camera 0"``)."""
    return name.startswith("camera ")


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


def iter_frames(
    cap: cv2.VideoCapture, limit: int | None, seconds: dict[str, float] | None = None
) -> Iterator[tuple[int, np.ndarray]]:
    """``(index, BGR frame)`` of an opened capture, up to ``limit`` frames (None: until
    the source ends); reading time is added to ``seconds["read"]`` when given."""
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


def read_frames(source: str | int | os.PathLike[str], indices: Sequence[int]) -> list[np.ndarray]:
    """Frames at ``indices`` of a video (RGB), read in one sequential pass (seeking in MPEG-4
    part 2 files is not frame-exact)."""
    wanted = sorted({int(i) for i in indices})
    cap, name = open_video(source)
    found: dict[int, np.ndarray] = {}
    try:
        for i, frame in iter_frames(cap, wanted[-1] + 1 if wanted else 0):
            if i in wanted:
                found[i] = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()
    missing = [i for i in wanted if i not in found]
    if missing:
        raise EmonbError(f"{name} has no frame {missing[0]}")
    return [found[int(i)] for i in indices]
