"""The one place that draws faces' boxes and mesh points on images (OpenCV, BGR).

:func:`draw_landmarks` is ``emonb landmarks --out``'s overlay; :func:`mark_points` the
video's one-pixel mesh (:func:`emonb.video.draw.annotate_frame`, ``--overlay mesh``).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from emonb.faces.box import Box

__all__ = ["ACCEPTED", "REJECTED", "draw_landmarks", "mark_points"]

#: BGR colours of a face the mesh accepted and of one it rejected.
ACCEPTED, REJECTED = (0, 200, 0), (0, 0, 230)


def mark_points(out: np.ndarray, points: np.ndarray, colour=(255, 255, 255)) -> None:
    """Set the pixel under each point (P, 2) of ``out`` (H, W, 3) to ``colour``, in place;
    points outside the image are skipped."""
    ij = np.floor(np.asarray(points)).astype(np.int64)
    h, w = out.shape[:2]
    ok = (ij[:, 0] >= 0) & (ij[:, 0] < w) & (ij[:, 1] >= 0) & (ij[:, 1] < h)
    out[ij[ok, 1], ij[ok, 0]] = colour


def draw_landmarks(image: np.ndarray, boxes: Sequence[Box], marks) -> np.ndarray:
    """A BGR copy of ``image`` (RGB or grey) with each face's box and mesh points (green:
    accepted, red: rejected by the mesh; ``marks``: :class:`emonb.faces.mesh.Landmarks`),
    discs of a radius that grows with the image."""
    bgr = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR if image.ndim == 2 else cv2.COLOR_RGB2BGR)
    r = max(1, round(max(bgr.shape[:2]) / 400))
    for i, b in enumerate(boxes):
        colour = ACCEPTED if marks.accepted[i] else REJECTED
        x, y, w, h = b.as_tuple()
        cv2.rectangle(bgr, (x, y), (x + w - 1, y + h - 1), colour, r)
        for px, py in marks.xy[i]:  # pixel centres: +0.5 in the mesh, integers in OpenCV
            cv2.circle(bgr, (round(px - 0.5), round(py - 0.5)), r, colour, -1, cv2.LINE_AA)
    return bgr
