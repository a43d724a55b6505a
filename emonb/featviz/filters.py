"""Post-filters for display: pure array functions on images in [0, 1].

The seed paper sharpened and stylised its visualisations with an unsharp mask, a contrast
stretch, an emboss and a brightness offset. Each filter takes an image or a batch (uint8
or float in [0, 1]) and returns float32 in [0, 1] of the same shape; they change how a
result reads, not what the network computed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np

from emonb.errors import EmonbError

__all__ = [
    "EMBOSS_KERNEL",
    "POSTFILTERS",
    "PostFilter",
    "apply_postfilters",
    "contrast",
    "emboss",
    "offset",
    "unsharp_mask",
]


def _unit(img: np.ndarray) -> np.ndarray:
    arr = np.asarray(img)
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    return arr.astype(np.float32)


def _per_image(img: np.ndarray, fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Apply a 2-D filter to one image or a batch: (H, W), (H, W, C), (N, H, W), (N, H, W, C).

    A 3-D array is one image when its last axis is 1, 3 or 4, else a batch of grey images.
    """
    x = _unit(img)
    single = x.ndim == 2 or (x.ndim == 3 and x.shape[-1] in (1, 3, 4))
    if x.ndim not in (2, 3, 4):
        raise ValueError(f"expected an image or a batch of images, got shape {x.shape}")
    batch = x[None] if single else x
    out = np.empty_like(batch)
    for i, im in enumerate(batch):
        out[i] = fn(np.ascontiguousarray(im)).reshape(im.shape)
    return out[0] if single else out


def unsharp_mask(img: np.ndarray, radius: float = 1.0, amount: float = 1.0) -> np.ndarray:
    """Sharpen: ``img + amount * (img - gaussian(img, radius))``, clipped to [0, 1].

    References
    ----------
    Gonzalez & Woods, "Digital Image Processing" (unsharp masking); the seed paper's
    post-filters.
    """
    if radius <= 0:
        raise ValueError(f"radius must be > 0, got {radius}")

    def f(im):
        blurred = cv2.GaussianBlur(im, (0, 0), sigmaX=radius, borderType=cv2.BORDER_REFLECT_101)
        return im + amount * (im - blurred.reshape(im.shape))

    return np.clip(_per_image(img, f), 0.0, 1.0)


def contrast(img: np.ndarray, factor: float = 1.5, pivot: float | None = 0.5) -> np.ndarray:
    """Stretch grey levels about ``pivot``: ``pivot + factor * (img - pivot)``, clipped.

    ``pivot=None`` uses each image's mean (as PIL's ``ImageEnhance.Contrast``).

    References
    ----------
    Gonzalez & Woods, "Digital Image Processing" (contrast stretching).
    """

    def f(im):
        c = float(im.mean()) if pivot is None else float(pivot)
        return c + factor * (im - c)

    return np.clip(_per_image(img, f), 0.0, 1.0)


#: Emboss kernel: a diagonal derivative (top-left dark, bottom-right light); sums to 0.
EMBOSS_KERNEL = np.array([[-1, -1, 0], [-1, 0, 1], [0, 1, 1]], dtype=np.float32)


def emboss(img: np.ndarray, strength: float = 0.5, keep_image: bool = False) -> np.ndarray:
    """Relief: ``base + strength * (EMBOSS_KERNEL * img)``, clipped to [0, 1].

    ``base`` is mid-grey (the classic emboss: flat areas become 0.5) or, with
    ``keep_image=True``, the image itself (relief added to it). Either way a constant
    image stays constant.

    References
    ----------
    Gonzalez & Woods, "Digital Image Processing" (directional derivative filters); the
    seed paper's post-filters.
    """
    kernel = EMBOSS_KERNEL * np.float32(strength)

    def f(im):
        relief = cv2.filter2D(im, -1, kernel, borderType=cv2.BORDER_REFLECT_101)
        return (im if keep_image else np.float32(0.5)) + relief.reshape(im.shape)

    return np.clip(_per_image(img, f), 0.0, 1.0)


def offset(img: np.ndarray, value: float) -> np.ndarray:
    """Brightness offset: ``img + value``, clipped to [0, 1].

    References
    ----------
    Gonzalez & Woods, "Digital Image Processing" (point operations).
    """
    return np.clip(_unit(img) + np.float32(value), 0.0, 1.0)


#: Post-filters by name, for :func:`apply_postfilters`.
POSTFILTERS: dict[str, Callable[..., np.ndarray]] = {
    "unsharp": unsharp_mask,
    "contrast": contrast,
    "emboss": emboss,
    "offset": offset,
}

PostFilter = str | tuple[str, float | dict] | Callable[[np.ndarray], np.ndarray]


def apply_postfilters(img: np.ndarray, filters: Sequence[PostFilter]) -> np.ndarray:
    """Apply post-filters in order; [0, 1] float in, [0, 1] float32 out, same shape.

    Each entry is a name from :data:`POSTFILTERS` (default parameters), a pair
    ``(name, value)`` giving the first parameter (``("contrast", 2.0)``,
    ``("offset", -0.1)``), a pair ``(name, {"radius": 2.0})`` giving keyword arguments,
    or any callable ``img -> img``.

    References
    ----------
    The seed paper's post-processing (unsharp mask, contrast, emboss, offset).
    """
    out = _unit(img)
    for entry in filters:
        if callable(entry):
            out = entry(out)
            continue
        name, arg = (entry, None) if isinstance(entry, str) else tuple(entry)
        if name not in POSTFILTERS:
            raise EmonbError(f"unknown post-filter {name!r}; valid: {', '.join(POSTFILTERS)}")
        fn = POSTFILTERS[name]
        try:
            if arg is None:
                out = fn(out)
            elif isinstance(arg, dict):
                out = fn(out, **arg)
            else:
                out = fn(out, arg)
        except TypeError as err:
            raise EmonbError(f"post-filter {name!r}: {err} (pass e.g. ({name!r}, value))") from None
        out = np.asarray(out, dtype=np.float32)
    return out
