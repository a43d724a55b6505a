"""Face landmarks: MediaPipe's 468-point face mesh on any face, in the caller's pixels.

Each face is cut out by an affine warp (a square around its box, grown by ``scale``,
border pixels repeated where the square leaves the image) to the model's 192x192 RGB input;
the model's points are mapped back through the inverse warp. With ``refine`` a second pass
cuts the face again around the first pass's own points, rotated so that the eyes are level,
as MediaPipe's tracker does from frame to frame. A face whose presence score is under
``min_presence`` is rejected: its points are kept for inspection but flagged, and every
analysis in emonb leaves it out and says how many it left out.

On FER-2013's tight 48x48 crops (the whole image is the face box) the defaults (``scale``
1.3, ``refine``) were chosen by ``benchmarks/landmarks.py`` (``benchmarks/landmarks_cpu.json``,
all 3,589 PublicTest faces, 2 threads): 95.8% of the faces accepted (88.3% with a bare
crop and one pass), the mesh's eye centres inside OpenCV's Haar eye boxes for 97.3% of the
eyes Haar finds, 8.3 ms per face (both passes; 30 s for PublicTest).

References: Kartynnik et al. (2019), "Real-time facial surface geometry from monocular video
on mobile GPUs" (the model, its 192x192 input and the 1.5x face crop).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from emonb.faces.box import Box
from emonb.faces.lite import LiteModel

__all__ = ["EYE_CORNERS", "EYE_POINTS", "MOUTH_POINTS", "N_POINTS", "FaceMesh", "Landmarks"]

N_POINTS = 468
#: Outer eye corners in MediaPipe's vertex order (image left, image right on a frontal face).
EYE_CORNERS = (33, 263)
#: Each eye's corners and lid midpoints (their mean is the eye's centre), by image side.
EYE_POINTS = {"left": (33, 133, 159, 145), "right": (263, 362, 386, 374)}
#: The inner-lip midpoints and the mouth corners (their mean is the mouth's centre).
MOUTH_POINTS = (13, 14, 78, 308)
_SIDE = 192


@dataclass
class Landmarks:
    """Mesh points of N faces. ``points`` (N, 468, 3) float32: x, y in the caller's image
    pixels (pixel centres at integer + 0.5, the image's top-left corner at 0, 0), z the
    model's relative depth in the same scale; ``presence`` (N,) the model's face score
    (sigmoid); ``accepted`` (N,) presence >= the mesh's ``min_presence``; ``reasons`` why a
    face was rejected (None where accepted)."""

    points: np.ndarray
    presence: np.ndarray
    accepted: np.ndarray
    reasons: list[str | None] = field(default_factory=list)
    min_presence: float = 0.5

    def __len__(self) -> int:
        return len(self.points)

    @property
    def xy(self) -> np.ndarray:
        """(N, 468, 2) image coordinates."""
        return self.points[..., :2]

    @property
    def rejected(self) -> int:
        return int((~self.accepted).sum())

    def summary(self) -> str:
        """One line: how many faces were rejected, and why."""
        n = len(self)
        if not self.rejected:
            return f"mesh: all {n} faces accepted (face presence >= {self.min_presence:g})"
        return (f"mesh: {self.rejected} of {n} faces rejected (face presence < "
                f"{self.min_presence:g}); they are left out of every region analysis")  # fmt: skip

    def subset(self, rows) -> Landmarks:
        rows = np.asarray(rows)
        index = np.flatnonzero(rows) if rows.dtype == bool else rows
        return Landmarks(self.points[index], self.presence[index], self.accepted[index],
                         [self.reasons[i] for i in index], self.min_presence)  # fmt: skip

    @staticmethod
    def join(parts: Sequence[Landmarks]) -> Landmarks:
        """The landmarks of consecutive batches of faces, in order (one batch: itself)."""
        if len(parts) == 1:
            return parts[0]
        return Landmarks(np.concatenate([p.points for p in parts]),
                         np.concatenate([p.presence for p in parts]),
                         np.concatenate([p.accepted for p in parts]),
                         [r for p in parts for r in p.reasons], parts[0].min_presence)  # fmt: skip

    def to_json(self, i: int, decimals: int = 2) -> dict:
        """Face ``i`` as plain JSON: presence, accepted, and the 468 (x, y) points."""
        return {"presence": round(float(self.presence[i]), 4),
                "accepted": bool(self.accepted[i]),
                "points": np.round(self.xy[i], decimals).tolist()}  # fmt: skip


def _square(cx: float, cy: float, side: float, angle: float = 0.0) -> np.ndarray:
    """The 2x3 affine matrix taking a square of ``side`` centred on (cx, cy), rotated by
    ``angle`` radians, to the model's 192x192 input (pixel-centre convention)."""
    s = _SIDE / side
    c, si = np.cos(angle), np.sin(angle)
    # input = s * R(-angle) @ (p - centre) + 96
    rot = s * np.array([[c, si], [-si, c]])
    shift = np.array([_SIDE / 2, _SIDE / 2]) - rot @ np.array([cx, cy])
    return np.hstack([rot, shift[:, None]])


def _as_rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"the face mesh expects uint8 images, got {image.dtype}")
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim == 3 and image.shape[2] == 1:
        return np.repeat(image, 3, axis=2)
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    raise ValueError(f"expected an (H, W) or (H, W, 3) image, got shape {image.shape}")


class FaceMesh:
    """MediaPipe's face mesh (manifest model ``face-mesh``) on faces in any images.

    ``scale``: the square cut around a face box is ``scale`` times the box's longer side
    (MediaPipe crops 1.5x its detector's tight box; a whole FER-2013 crop or a Haar box
    already has a margin); ``refine``: run a second pass around the first pass's points,
    eyes levelled, with ``refine_scale``; ``min_presence``: faces below it are rejected;
    ``threads``: LiteRT threads (default: all cores).
    """

    def __init__(self, *, scale: float = 1.3, refine: bool = True, refine_scale: float = 1.5,
                 min_presence: float = 0.5, batch_size: int = 32,
                 threads: int | None = None):  # fmt: skip
        if scale <= 0 or refine_scale <= 0:
            raise ValueError("scale and refine_scale must be positive")
        if not 0 <= min_presence <= 1:
            raise ValueError(f"min_presence must be in [0, 1], got {min_presence}")
        self.scale, self.refine, self.refine_scale = float(scale), bool(refine), float(refine_scale)
        self.min_presence, self.batch_size = float(min_presence), int(batch_size)
        self.model = LiteModel("face-mesh", threads=threads)

    def _run(self, rgbs: Sequence[np.ndarray], warps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Warp, run, map back: points (N, 468, 3) in image pixels and presence (N,)."""
        n = len(rgbs)
        points = np.zeros((n, N_POINTS, 3), np.float32)
        presence = np.zeros(n, np.float32)
        for start in range(0, n, self.batch_size):
            stop = min(start + self.batch_size, n)
            x = np.stack([
                cv2.warpAffine(rgbs[i], warps[i], (_SIDE, _SIDE), flags=cv2.INTER_CUBIC,
                               borderMode=cv2.BORDER_REPLICATE)
                for i in range(start, stop)
            ]).astype(np.float32) / 255.0  # fmt: skip
            raw, logit = self.model(np.clip(x, 0, 1), batch_size=self.batch_size)
            pts = raw.reshape(-1, N_POINTS, 3)
            for k, i in enumerate(range(start, stop)):
                inv = cv2.invertAffineTransform(warps[i])
                xy = pts[k, :, :2] @ inv[:, :2].T + inv[:, 2]
                zscale = np.sqrt(abs(np.linalg.det(inv[:, :2])))
                points[i, :, :2] = xy
                points[i, :, 2] = pts[k, :, 2] * zscale
            presence[start:stop] = 1 / (1 + np.exp(-np.clip(logit[:, 0], -50, 50)))
        return points, presence

    def landmarks(self, images, boxes: Sequence[Box | tuple[int, int, int, int]] | None = None,
                  *, previous: Sequence[np.ndarray | None] | None = None) -> Landmarks:  # fmt: skip
        """Mesh points of one face per image: ``images`` an (N, H, W[, 3]) uint8 array or
        a list of images of any sizes; ``boxes`` one face box per image (x, y, w, h) in
        its pixels, or None to take each whole image as the face box (FER-2013 crops).

        ``previous`` (video): per image, the same face's points in the previous frame, or
        None. A face with previous points is cut out around them (eyes levelled) and run
        once, as MediaPipe tracks a face from frame to frame; if that pass rejects it, it
        is found again from its box like a face without previous points.
        """
        rgbs = [_as_rgb(im) for im in (images if isinstance(images, (list, tuple))
                                       else np.asarray(images))]  # fmt: skip
        n = len(rgbs)
        if boxes is not None and len(boxes) != n:
            raise ValueError(f"{len(boxes)} boxes for {n} images")
        if previous is not None and len(previous) != n:
            raise ValueError(f"{len(previous)} previous meshes for {n} images")
        points = np.zeros((n, N_POINTS, 3), np.float32)
        presence = np.zeros(n, np.float32)
        todo = list(range(n))
        if previous is not None:
            tracked = [i for i in range(n) if previous[i] is not None]
            if tracked:
                warps = np.stack([self._refit(np.asarray(previous[i])) for i in tracked])
                pts, pres = self._run([rgbs[i] for i in tracked], warps)
                points[tracked], presence[tracked] = pts, pres
                kept = {i for i, p in zip(tracked, pres, strict=True) if p >= self.min_presence}
                todo = [i for i in range(n) if i not in kept]
        if todo:
            pts, pres = self._from_boxes([rgbs[i] for i in todo],
                                         None if boxes is None else [boxes[i] for i in todo])
            points[todo], presence[todo] = pts, pres
        accepted = presence >= self.min_presence
        reasons = [None if ok else f"face presence {p:.2f} < {self.min_presence:g}"
                   for ok, p in zip(accepted, presence, strict=True)]  # fmt: skip
        return Landmarks(points, presence, accepted, reasons, self.min_presence)

    def _from_boxes(self, rgbs: list[np.ndarray], boxes) -> tuple[np.ndarray, np.ndarray]:
        """The first pass from each face's box, then (``refine``) the second."""
        warps = np.zeros((len(rgbs), 2, 3))
        for i, im in enumerate(rgbs):
            b = (0, 0, im.shape[1], im.shape[0]) if boxes is None else tuple(
                boxes[i].as_tuple() if isinstance(boxes[i], Box) else boxes[i])  # fmt: skip
            x, y, w, h = (float(v) for v in b)
            if w <= 0 or h <= 0:
                raise ValueError(f"face box {b} of image {i} is empty")
            warps[i] = _square(x + w / 2, y + h / 2, max(w, h) * self.scale)
        points, presence = self._run(rgbs, warps)
        if self.refine and len(rgbs):
            warps = np.stack([self._refit(p) for p in points])
            points, presence = self._run(rgbs, warps)
        return points, presence

    def _refit(self, points: np.ndarray) -> np.ndarray:
        """The warp around a face's own points, rotated so its eye corners are level."""
        xy = points[:, :2].astype(np.float64)
        (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
        left, right = xy[EYE_CORNERS[0]], xy[EYE_CORNERS[1]]
        angle = float(np.arctan2(right[1] - left[1], right[0] - left[0]))
        side = max(x1 - x0, y1 - y0, 1.0) * self.refine_scale
        return _square((x0 + x1) / 2, (y0 + y1) / 2, side, angle)
