"""Video in, files out: opening a file or camera, reading frames, and everything written.

:func:`open_video` and :func:`iter_frames` read a source; :func:`read_frames` picks
frames by index; :class:`FaceExporter` saves the auto-annotated face patches and their
index, read back by :func:`exported_patches`; :func:`write_animation` writes a GIF and
:func:`write_json` the JSON summary of a run.
"""

from __future__ import annotations

import csv
import json
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from emonb.errors import EmonbError
from emonb.video.tracking import TrackedFace

if TYPE_CHECKING:
    from emonb.video.pipeline import VideoResult

__all__ = [
    "FaceExporter",
    "exported_patches",
    "iter_frames",
    "open_video",
    "read_frames",
    "write_animation",
    "write_json",
]


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


class FaceExporter:
    """Saves face patches as ``root/<emotion>/f<frame>_t<track>.png`` (colour, as cropped)
    under the smoothed label, and an index, ``root/index.csv``: file, frame, time, track,
    box, emotion, its smoothed score, and the frame's own top class and score.

    ``every`` saves the faces of one frame in ``every`` (frames 0, every, 2 * every, ...).
    """

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
        """Save ``face``'s patch of the BGR frame and its index row; ``smoothed`` are its
        averaged probabilities (the score of the label)."""
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
        """Close the index file."""
        self._file.close()


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
