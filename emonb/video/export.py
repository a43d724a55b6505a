"""The auto-annotated face set and the map animation written to disk.

:class:`FaceExporter` saves the face patches of a run under their smoothed emotion, with
an index, read back by :func:`exported_patches`; :func:`write_animation` writes a GIF
(the frames of :func:`emonb.video.draw.animation_frames`).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from emonb.errors import EmonbError
from emonb.video.tracking import TrackedFace

__all__ = ["FaceExporter", "exported_patches", "write_animation"]


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

    def wants(self, frame: int) -> bool:
        """Whether the faces of frame number ``frame`` are saved (one frame in ``every``)."""
        return frame % self.every == 0

    def save(self, frame_bgr: np.ndarray, face: TrackedFace, smoothed: np.ndarray) -> None:
        """Save ``face``'s patch of the BGR frame and its index row; ``smoothed`` are its
        averaged probabilities (the score of the label)."""
        b = face.box
        self.save_patch(frame_bgr[b.y : b.y + b.h, b.x : b.x + b.w], face, smoothed)

    def save_patch(self, patch: np.ndarray, face: TrackedFace, smoothed: np.ndarray) -> None:
        """:meth:`save` of a patch already cut out of its frame (the video pipeline cuts it
        before drawing and saves it on its writer thread). The PNG is written at zlib level
        1: lossless, about half the time of OpenCV's default level, a tenth larger."""
        if not self.wants(face.frame):
            return
        rel = f"{face.emotion}/f{face.frame:06d}_t{face.track}.png"
        if not cv2.imwrite(str(self.root / rel), patch, [cv2.IMWRITE_PNG_COMPRESSION, 1]):
            raise EmonbError(f"could not write {self.root / rel}")
        self._csv.writerow([rel, face.frame, f"{face.time:.3f}", face.track,
                            *face.box.as_tuple(), face.emotion, f"{smoothed[face.label]:.4f}",
                            face.predicted, f"{face.proba.max():.4f}"])  # fmt: skip
        self._file.flush()  # the index is complete up to the last saved patch, whatever ends the run
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
