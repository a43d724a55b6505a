"""Turn any image(s) into a model's input tensor: pure NumPy + OpenCV, no TensorFlow.

A caller passes one image or a batch, grey or colour, any size, uint8 (0..255) or float
(0..1), and gets float32 (N, H, W, C) scaled the way the model was trained.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from emonb.config import CLASS_NAMES
from emonb.data.images import to_grey

__all__ = [
    "PREPROCESSING",
    "ModelSpec",
    "as_image_list",
    "model_view",
    "prepare_images",
    "preprocessing_steps",
    "resize",
]

#: Pixel scalings by name, applied to float32 grey levels 0..255.
PREPROCESSING: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "unit": lambda x: x / 255.0,  # [0, 1]: the seed project's CNN
    "symmetric": lambda x: (x / 255.0 - 0.5) * 2.0,  # [-1, 1]: the mini-Xception
    "none": lambda x: x,  # 0..255 as they are
}


@dataclass(frozen=True)
class ModelSpec:
    """What a model expects: input size (H, W), channels (1 or 3), pixel scaling, class names."""

    input_size: tuple[int, int]
    channels: int = 1
    preprocessing: str = "unit"
    class_names: tuple[str, ...] = CLASS_NAMES

    @property
    def value_range(self) -> tuple[float, float]:
        """The range of the scaled input: what 0 and 255 grey levels become."""
        f = PREPROCESSING[self.preprocessing]
        return float(f(np.float32(0.0))), float(f(np.float32(255.0)))

    def describe(self) -> str:
        """Two readable lines: size, channels and scaling; then the class names."""
        lo, hi = self.value_range
        h, w = self.input_size
        return (
            f"input {w}x{h}x{self.channels}, pixels scaled '{self.preprocessing}' to [{lo:g}, {hi:g}]\n"
            f"{len(self.class_names)} classes: {', '.join(self.class_names)}"
        )

    def __post_init__(self) -> None:
        if self.preprocessing not in PREPROCESSING:
            raise ValueError(
                f"unknown preprocessing {self.preprocessing!r}; choose one of {', '.join(PREPROCESSING)}"
            )
        if self.channels not in (1, 3):
            raise ValueError(f"models must take 1 or 3 channels, not {self.channels}")


def as_image_list(images: np.ndarray | Sequence[np.ndarray]) -> list[np.ndarray]:
    """One image or a batch -> list of single images.

    Rules for arrays: 2-D is one grey image; 3-D whose last axis is 1, 3 or 4 is one image
    with channels; any other 3-D is a batch of grey images; 4-D is a batch.
    """
    if isinstance(images, (list, tuple)):
        return [np.asarray(im) for im in images]
    arr = np.asarray(images)
    if arr.ndim == 2 or (arr.ndim == 3 and arr.shape[-1] in (1, 3, 4)):
        return [arr]
    if arr.ndim in (3, 4):
        return list(arr)
    raise ValueError(f"expected an image or a batch of images, got an array of shape {arr.shape}")


def _to_float255(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image.astype(np.float32)
    if np.issubdtype(image.dtype, np.floating):
        lo, hi = float(np.nanmin(image)), float(np.nanmax(image))
        if lo < -1e-6 or hi > 1 + 1e-6:
            raise ValueError(
                f"float images must lie in [0, 1] (got {lo:.3g}..{hi:.3g}); pass uint8 for 0..255 grey levels"
            )
        return image.astype(np.float32) * 255.0
    if np.issubdtype(image.dtype, np.integer):
        if image.min() < 0 or image.max() > 255:
            raise ValueError(f"integer images must lie in 0..255, got {image.min()}..{image.max()}")
        return image.astype(np.float32)
    raise ValueError(f"unsupported image dtype {image.dtype}")


def resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize to (H, W): area averaging when shrinking, bilinear when enlarging."""
    h, w = size
    if image.shape[:2] == (h, w):
        return image
    shrink = image.shape[0] > h or image.shape[1] > w
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def prepare_images(images: np.ndarray | Sequence[np.ndarray], spec: ModelSpec) -> np.ndarray:
    """Any image(s) -> float32 (N, H, W, C) model input, following ``spec``.

    Grey models get BT.601 luma; colour models get RGB (grey is repeated). Images are
    resized to ``spec.input_size`` and scaled by ``PREPROCESSING[spec.preprocessing]``.
    """
    out = []
    for image in as_image_list(images):
        x = _to_float255(image)
        if x.ndim == 3 and x.shape[2] == 4:
            x = x[..., :3]
        if spec.channels == 1:
            x = to_grey(x)[..., None]
        else:
            x = (
                x
                if x.ndim == 3 and x.shape[2] == 3
                else np.repeat(to_grey(x)[..., None], 3, axis=2)
            )
        x = resize(x, spec.input_size)
        if x.ndim == 2:  # cv2 drops a singleton channel axis
            x = x[..., None]
        out.append(x)
    batch = np.stack(out).astype(np.float32)
    return PREPROCESSING[spec.preprocessing](batch).astype(np.float32)


def preprocessing_steps(image: np.ndarray, spec: ModelSpec) -> list[tuple[str, np.ndarray]]:
    """The stages :func:`prepare_images` takes one image through, as ``(title, array)`` pairs.

    For display: the input, grey levels, the resized image, and the scaled model input
    (float32, in the model's range). The last array equals ``prepare_images(image, spec)[0]``.
    """
    steps = [(f"input {image.shape[1]}x{image.shape[0]}", np.asarray(image))]
    x = _to_float255(np.asarray(image))
    if spec.channels == 1 and x.ndim == 3:
        x = to_grey(x)
        steps.append(("grey (BT.601 luma)", x.round().astype(np.uint8)))
    h, w = spec.input_size
    x = resize(x, spec.input_size)
    steps.append((f"resized to {w}x{h}", x.round().clip(0, 255).astype(np.uint8)))
    steps.append(
        (
            f"scaled '{spec.preprocessing}'",
            prepare_images(image, spec)[0].squeeze(-1 if spec.channels == 1 else None),
        )
    )
    return steps


class _Specified(Protocol):
    spec: ModelSpec


def model_view(net: _Specified, images, *, preprocessed: bool = False) -> np.ndarray:
    """What the model sees, as uint8 grey (N, H, W) at its input size (for overlays):
    ``images`` prepared for ``net`` (anything with a :class:`ModelSpec` ``spec``, e.g. an
    :class:`~emonb.models.zoo.EmotionModel`) by :func:`prepare_images`, channels averaged
    and its value range mapped back to 0..255. ``preprocessed=True`` takes the model input
    (``net.preprocess(images)``) itself."""
    x = images if preprocessed else prepare_images(images, net.spec)
    lo, hi = net.spec.value_range
    grey = np.asarray(x).mean(axis=-1)
    return ((grey - lo) / (hi - lo) * 255).round().clip(0, 255).astype(np.uint8)
