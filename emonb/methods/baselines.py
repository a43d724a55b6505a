"""Perturbation baselines: what stands in for a pixel an explanation or a metric removes.

Shared by the perturbation methods (AU Shapley values) and the metrics (deletion,
insertion, region occlusion), so it lives below both.
"""

from __future__ import annotations

import cv2
import numpy as np

from emonb.errors import EmonbError

__all__ = ["BASELINES", "baseline_images"]

#: What replaces a removed pixel: a Gaussian blur of the image or its mean grey.
BASELINES = ("blur", "mean")


def baseline_images(x: np.ndarray, kind: str = "blur") -> np.ndarray:
    """The stand-in for removed pixels, same shape as the preprocessed batch ``x``
    (N, H, W, C): a Gaussian blur with sigma = H/10 px (``"blur"``) or each image's mean
    value (``"mean"``).

    References: Petsiuk, Das & Saenko (2018), "RISE: randomized input sampling for
    explanation of black-box models" (the blurred canvas of insertion).
    """
    x = np.asarray(x, dtype=np.float32)
    if kind == "mean":
        return np.broadcast_to(x.mean(axis=(1, 2, 3), keepdims=True), x.shape).copy()
    if kind != "blur":
        raise EmonbError(f"unknown baseline {kind!r}; choose one of {', '.join(BASELINES)}")
    sigma = x.shape[1] / 10
    out = np.stack([cv2.GaussianBlur(im, (0, 0), sigma, borderType=cv2.BORDER_REFLECT) for im in x])
    return out.reshape(x.shape)
