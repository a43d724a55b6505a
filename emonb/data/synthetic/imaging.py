"""What happens to a drawn synthetic face before it is an image: texture, light, blur, noise."""

from __future__ import annotations

import cv2
import numpy as np

from emonb.data.synthetic.variation import Lighting

__all__ = ["BLUR_MIN", "develop", "upsample_texture"]

BLUR_MIN = 0.25  #: Gaussian sigmas (output px) up to this are skipped: too small to show


def upsample_texture(texture: np.ndarray, size: int) -> np.ndarray:
    """Bilinearly upsample ``(N, 5, 5)`` texture grids to ``(N, size, size)`` ``float32``.

    The 5x5 grid nodes sit at the image's corners, edge midpoints and centre, so the
    texture varies smoothly over a few tens of pixels.
    """
    coords = np.linspace(0.0, 4.0, size)
    lo_i = np.minimum(coords.astype(int), 3)
    frac = coords - lo_i
    interp = np.zeros((size, 5))
    interp[np.arange(size), lo_i] = 1.0 - frac
    interp[np.arange(size), lo_i + 1] += frac
    return (interp @ texture @ interp.T).astype(np.float32)


def develop(images: np.ndarray, face_alpha: np.ndarray, light: Lighting, k: float) -> np.ndarray:
    """Add background texture, lighting, blur and noise to drawn faces; round to ``uint8``.

    Parameters
    ----------
    images : numpy.ndarray
        ``float32`` ``(N, size, size)`` drawn faces; modified in place.
    face_alpha : numpy.ndarray
        ``float32`` ``(N, size, size)`` face coverage: the texture shows where it is below 1.
    light : Lighting
        Per-face texture, brightness gradient, contrast, brightness, blur and noise.
    k : float
        Output px per px at 48 (the blur sigma is given at 48).

    Returns
    -------
    numpy.ndarray
        ``uint8`` ``(N, size, size)``.
    """
    size = images.shape[-1]
    images += upsample_texture(light.texture, size) * (1.0 - face_alpha)
    ramp = (np.arange(size, dtype=np.float32) - (size - 1) / 2.0) / (size / 2.0)
    gx = (light.grad_amp * np.cos(light.grad_dir)).astype(np.float32)[:, None, None]
    gy = (light.grad_amp * np.sin(light.grad_dir)).astype(np.float32)[:, None, None]
    images *= 1.0 + gx * ramp[None, None, :] + gy * ramp[None, :, None]
    contrast = light.contrast
    images *= contrast.astype(np.float32)[:, None, None]
    images += (light.bright + 128.0 * (1.0 - contrast)).astype(np.float32)[:, None, None]
    sigmas = light.blur * k
    for i in np.flatnonzero(sigmas > BLUR_MIN).tolist():
        cv2.GaussianBlur(images[i], (0, 0), float(sigmas[i]), dst=images[i])
    images += light.noise * light.noise_sd.astype(np.float32)[:, None, None]
    return np.clip(np.rint(images), 0, 255).astype(np.uint8)
