"""The decorrelated Fourier parametrisation of an image (Lucid's ``fft_image``)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from emonb._tf import tf

__all__ = ["FourierParametrization"]


@dataclass(frozen=True)
class FourierParametrization:
    """Optimise a scaled spectrum: ``u = irfft2(S * scale)``, ``scale ~ 1 / f^decay``.

    Adam moves every coefficient of ``S`` by about the same amount, so the updates of the
    image have a ``1/f`` (natural-image-like) spectrum instead of white noise: the
    "decorrelated" parametrisation of Lucid. ``scale`` is normalised to mean square
    ``H * W`` so a step changes the image about as much as a pixel-space step. The map is
    linear and exactly invertible (:meth:`encode`), which lets the optimiser clip and
    blur in pixel space between steps.

    References
    ----------
    Olah, Mordvintsev & Schubert 2017, "Feature Visualization" (Distill); Mordvintsev,
    Pezzotti, Schubert & Olah 2018, "Differentiable Image Parameterizations" (Distill).
    """

    decay: float = 1.0

    def scale(self, h: int, w: int) -> np.ndarray:
        """The (H, W//2+1) spectral scale."""
        fy = np.fft.fftfreq(h)[:, None]
        fx = np.fft.rfftfreq(w)[None, :]
        f = np.sqrt(fx * fx + fy * fy)
        s = 1.0 / np.maximum(f, 1.0 / max(h, w)) ** self.decay
        s *= 0.25 * math.sqrt(h * w) / math.sqrt(np.mean(s * s))
        return s.astype(np.float32)

    def decode(self, p: tf.Tensor, scale: tf.Tensor, size: tuple[int, int]) -> tf.Tensor:
        """(2, N, C, H, W//2+1) real and imaginary parts -> (N, H, W, C) image."""
        spec = tf.complex(p[0] * scale, p[1] * scale)
        img = tf.signal.irfft2d(spec, fft_length=tf.constant(size, tf.int32))
        return tf.transpose(img, [0, 2, 3, 1])

    def encode(self, u: tf.Tensor, scale: tf.Tensor, size: tuple[int, int]) -> tf.Tensor:
        """(N, H, W, C) image -> (2, N, C, H, W//2+1) parameters (the inverse of decode)."""
        img = tf.transpose(u, [0, 3, 1, 2])
        spec = tf.signal.rfft2d(img, fft_length=tf.constant(size, tf.int32))
        spec = spec / tf.cast(scale, tf.complex64)
        return tf.stack([tf.math.real(spec), tf.math.imag(spec)])
