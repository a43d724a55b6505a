"""Natural-image priors for activation maximisation: penalties, jitter and blur.

Without priors gradient ascent finds adversarial high-frequency noise. A
:class:`Regularizer` can add a penalty (:class:`TotalVariation`, :class:`L2`), change the
image the model sees each step (:class:`Jitter`: transformation robustness) or smooth the
image between steps (:class:`Blur`). Images are (N, H, W, C) grey levels in [0, 1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from emonb._tf import tf

__all__ = [
    "DEFAULT_REGULARIZERS",
    "FILTER_REGULARIZERS",
    "L2",
    "Blur",
    "Jitter",
    "Regularizer",
    "TotalVariation",
]


def _gaussian_kernel(sigma: float) -> np.ndarray:
    radius = max(1, int(math.ceil(3.0 * sigma)))
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-0.5 * (t / sigma) ** 2)
    return (k / k.sum()).astype(np.float32)


def _tf_blur(u: tf.Tensor, sigma: float) -> tf.Tensor:
    """Separable Gaussian blur of (N, H, W, C) with reflected borders."""
    k = _gaussian_kernel(sigma)
    r = len(k) // 2
    c = u.shape[-1]
    x = tf.pad(u, [[0, 0], [r, r], [r, r], [0, 0]], mode="REFLECT")
    kx = tf.constant(np.tile(k.reshape(1, -1, 1, 1), (1, 1, c, 1)))
    ky = tf.constant(np.tile(k.reshape(-1, 1, 1, 1), (1, 1, c, 1)))
    x = tf.nn.depthwise_conv2d(x, kx, strides=[1, 1, 1, 1], padding="VALID")
    return tf.nn.depthwise_conv2d(x, ky, strides=[1, 1, 1, 1], padding="VALID")


class Regularizer:
    """A natural-image prior. Images are (N, H, W, C) grey levels ``u`` in [0, 1].

    Three hooks, each optional: :meth:`penalty` (subtracted from the objective, shape
    (N,)), :meth:`transform` (a random differentiable change of the image before the
    forward pass: transformation robustness) and :meth:`after_step` (applied to the image
    after an update, outside the gradient).

    References
    ----------
    Mahendran & Vedaldi 2016, "Visualizing deep convolutional neural networks using
    natural pre-images" (IJCV); Olah, Mordvintsev & Schubert 2017, "Feature Visualization"
    (Distill).
    """

    def penalty(self, u: tf.Tensor) -> tf.Tensor | None:
        """Per-image penalty (N,) or None."""
        return None

    def transform(self, u: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        """The image the model sees this step; ``seed`` is a stateless (2,) int32 seed."""
        return u

    def after_step(self, u: tf.Tensor, step: tf.Tensor) -> tf.Tensor:
        """The image after an update (``step`` counts from 0)."""
        return u


@dataclass(frozen=True)
class TotalVariation(Regularizer):
    """Penalty ``weight * mean(|u[i+1,j]-u[i,j]|^beta + |u[i,j+1]-u[i,j]|^beta)``.

    Parameters
    ----------
    weight
        Strength in units of the objective (mini-Xception's class logits reach 30..70,
        channel means a few units).
    beta
        Exponent: 1 is the anisotropic TV norm (keeps edges), 2 a smoothness penalty.

    References
    ----------
    Mahendran & Vedaldi 2016, "Visualizing deep convolutional neural networks using
    natural pre-images" (IJCV); Rudin, Osher & Fatemi 1992.
    """

    weight: float = 50.0
    beta: float = 1.0

    def penalty(self, u: tf.Tensor) -> tf.Tensor:
        dy = tf.abs(u[:, 1:, :, :] - u[:, :-1, :, :]) ** self.beta
        dx = tf.abs(u[:, :, 1:, :] - u[:, :, :-1, :]) ** self.beta
        return self.weight * (
            tf.reduce_mean(dy, axis=[1, 2, 3]) + tf.reduce_mean(dx, axis=[1, 2, 3])
        )


@dataclass(frozen=True)
class L2(Regularizer):
    """Penalty ``weight * mean((u - 0.5)^2)``: keeps grey levels near mid-grey.

    The L2 norm of the (mean-free) input of Simonyan et al.; here measured from mid-grey,
    which is the centre of any model's input range.

    References
    ----------
    Simonyan, Vedaldi & Zisserman 2014, "Deep inside convolutional networks: visualising
    image classification models and saliency maps" (ICLR workshop).
    """

    weight: float = 1.0

    def penalty(self, u: tf.Tensor) -> tf.Tensor:
        return self.weight * tf.reduce_mean(tf.square(u - 0.5), axis=[1, 2, 3])


@dataclass(frozen=True)
class Jitter(Regularizer):
    """Shift the image by up to ``pixels`` in x and y each step (reflected borders, seeded).

    References
    ----------
    Mordvintsev, Olah & Tyka 2015, "Inceptionism" (Google Research blog); Olah, Mordvintsev
    & Schubert 2017, "Feature Visualization" (Distill): transformation robustness.
    """

    pixels: int = 2

    def transform(self, u: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        j = int(self.pixels)
        if j <= 0:
            return u
        h, w = u.shape[1], u.shape[2]
        padded = tf.pad(u, [[0, 0], [j, j], [j, j], [0, 0]], mode="REFLECT")
        off = tf.random.stateless_uniform(
            [2], seed=seed, minval=0, maxval=2 * j + 1, dtype=tf.int32
        )
        return padded[:, off[0] : off[0] + h, off[1] : off[1] + w, :]


@dataclass(frozen=True)
class Blur(Regularizer):
    """Every ``every`` steps, blur the image with a Gaussian of standard deviation ``sigma``.

    References
    ----------
    Yosinski, Clune, Nguyen, Fuchs & Lipson 2015, "Understanding neural networks through
    deep visualization" (ICML DL workshop).
    """

    sigma: float = 0.5
    every: int = 4

    def after_step(self, u: tf.Tensor, step: tf.Tensor) -> tf.Tensor:
        if self.sigma <= 0 or self.every <= 0:
            return u
        blurred = _tf_blur(u, self.sigma)
        return tf.cond(tf.equal((step + 1) % self.every, 0), lambda: blurred, lambda: u)


#: The priors used for class logits (tens of units) when ``regularizers`` is not given
#: (tuned by eye on mini-Xception, 64x64: 200 steps give face-part patterns, not noise).
DEFAULT_REGULARIZERS: tuple[Regularizer, ...] = (
    Jitter(pixels=2),
    TotalVariation(weight=50.0),
    Blur(sigma=0.5, every=4),
)

#: Lighter priors for channel means (units): with the class priors, TV would outweigh
#: the objective and early-layer channels would not rise at all.
FILTER_REGULARIZERS: tuple[Regularizer, ...] = (
    Jitter(pixels=1),
    TotalVariation(weight=1.0),
    Blur(sigma=0.5, every=8),
)
