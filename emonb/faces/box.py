"""A face box, its crop, and when an image already is a face crop."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["CROP_ASPECT", "CROP_SCALE", "Box", "crop", "is_face_crop"]

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


def crop(image: np.ndarray, box: Box, margin: float = 0.0) -> np.ndarray:
    """The box region (grown by ``margin`` x its size on each side), clipped to the image."""
    dx, dy = int(round(box.w * margin)), int(round(box.h * margin))
    h, w = image.shape[:2]
    x0, y0 = max(box.x - dx, 0), max(box.y - dy, 0)
    x1, y1 = min(box.x + box.w + dx, w), min(box.y + box.h + dy, h)
    return image[y0:y1, x0:x1]
