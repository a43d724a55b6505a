"""Drawing found faces: each face's box and face-mesh points on a copy of the image
(``emonb landmarks --out``). The video overlay draws its own, per tracked face
(:mod:`emonb.video.draw`)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

__all__ = ["draw_landmarks"]


def draw_landmarks(image: np.ndarray, boxes: Sequence, marks) -> np.ndarray:
    """BGR uint8 copy of ``image`` (RGB or grey) with each face's box and mesh points (green:
    accepted, red: rejected by the mesh). ``boxes``: :class:`emonb.faces.Box` per face;
    ``marks``: their :class:`emonb.anatomy.mesh.Landmarks` (``xy``, ``accepted``)."""
    bgr = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR if image.ndim == 2 else cv2.COLOR_RGB2BGR)
    r = max(1, round(max(bgr.shape[:2]) / 400))
    for i, b in enumerate(boxes):
        colour = (0, 200, 0) if marks.accepted[i] else (0, 0, 230)
        x, y, w, h = b.as_tuple()
        cv2.rectangle(bgr, (x, y), (x + w - 1, y + h - 1), colour, r)
        for px, py in marks.xy[i]:  # pixel centres: +0.5 in the mesh, integers in OpenCV
            cv2.circle(bgr, (round(px - 0.5), round(py - 0.5)), r, colour, -1, cv2.LINE_AA)
    return bgr
