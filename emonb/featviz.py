"""Activation maximisation: what image does the network *want to see*?

Gradient ascent on the input image (Erhan et al. 2009; Simonyan et al. 2014) towards a
class score (:class:`ClassObjective`, the pre-softmax logit by default) or the mean
activation of one channel of a layer (:class:`FilterObjective`), from noise or from a
given face -- e.g. a face whose eyes and mouth were filled with grey
(:func:`mask_regions`), maximised for "fear". Natural-image priors keep the result from
being adversarial high-frequency noise (Mahendran & Vedaldi 2016; Olah et al. 2017):
penalties (:class:`TotalVariation`, :class:`L2`), transformation robustness
(:class:`Jitter`), periodic :class:`Blur`, and an optional decorrelated Fourier
parametrisation (:class:`FourierParametrization`). Post-filters (:func:`unsharp_mask`,
:func:`contrast`, :func:`emboss`, :func:`offset`) are pure array functions for display.

The image is optimised as grey levels in ``[0, 1]`` (``u``) and mapped affinely onto the
model's input range (``spec.value_range``) before every forward pass, so the learning
rate and penalty weights mean the same for any pixel scaling. The model runs leaf by
leaf through :func:`emonb.models.graph.run` in inference mode; it is never modified (a
final softmax is bypassed for that run only). Every optimisation is capped by
:func:`emonb.config.max_steps`, so quick mode runs 3 steps.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from emonb._tf import keras, tf
from emonb.config import max_steps
from emonb.errors import EmonbError
from emonb.models import graph
from emonb.models.preprocessing import PREPROCESSING, prepare_images
from emonb.models.zoo import EmotionModel

__all__ = [
    "DEFAULT_REGULARIZERS",
    "FACE_REGIONS",
    "FILTER_REGULARIZERS",
    "POSTFILTERS",
    "ActivationMaximization",
    "Blur",
    "ClassObjective",
    "FilterObjective",
    "FourierParametrization",
    "Jitter",
    "L2",
    "Objective",
    "Regularizer",
    "Result",
    "TotalVariation",
    "apply_postfilters",
    "contrast",
    "emboss",
    "mask_regions",
    "offset",
    "unsharp_mask",
]


# --------------------------------------------------------------------------- objectives


class Objective:
    """What to maximise: a function of the model output and the recorded layer outputs.

    Subclasses implement :meth:`__call__`; :meth:`bind` validates the objective against a
    model (and may cache what it needs), :meth:`replace` may substitute leaf layers for
    the optimisation run (see :func:`emonb.models.graph.run`).

    References
    ----------
    Erhan, Bengio, Courville & Vincent 2009, "Visualizing higher-layer features of a deep
    network"; Olah, Mordvintsev & Schubert 2017, "Feature Visualization" (Distill).
    """

    def bind(self, net: EmotionModel) -> None:
        """Check the objective against ``net``; raise :class:`EmonbError` if it does not fit."""

    def replace(self, net: EmotionModel) -> graph.Replace | None:
        """Leaf-layer substitutions for the optimisation run (None: run the model as it is)."""
        return None

    def __call__(self, output, record: dict) -> tf.Tensor:
        """Scores to maximise, shape (N,), from the model output and ``record`` (name -> output)."""
        raise NotImplementedError

    def describe(self) -> str:
        """A short label for figure titles."""
        return type(self).__name__

    def default_regularizers(self) -> tuple[Regularizer, ...]:
        """The priors used when none are given. Penalty weights are in the objective's
        units, so objectives of different scale need different defaults."""
        return DEFAULT_REGULARIZERS


def _last_leaf(model: keras.Model) -> tuple[str, keras.layers.Layer]:
    return list(graph.iter_layers(model))[-1]


class ClassObjective(Objective):
    """Maximise one class score: the pre-softmax logit (default) or the probability.

    Parameters
    ----------
    target
        Class index or name (``"fear"``).
    score
        ``"logit"``: the input of a final softmax (the softmax is bypassed for the run
        only; when it cannot be bypassed the log-probability is used, which equals the
        logit minus a per-image constant, with a warning). ``"probability"``: the softmax
        output (which can also rise by lowering the other classes; Simonyan et al. 2014
        advise the logit for that reason).

    References
    ----------
    Simonyan, Vedaldi & Zisserman 2014, "Deep inside convolutional networks: visualising
    image classification models and saliency maps" (ICLR workshop).
    """

    SCORES = ("logit", "probability")

    def __init__(self, target: int | str, score: str = "logit") -> None:
        if score not in self.SCORES:
            raise EmonbError(f"unknown score {score!r}; choose one of {', '.join(self.SCORES)}")
        self.target = target
        self.score = score
        self.index: int | None = None
        self.class_name: str | None = None
        self._mode = "output"  # how __call__ reads the score from the output

    def bind(self, net: EmotionModel) -> None:
        names = list(net.class_names)
        if isinstance(self.target, str):
            if self.target not in names:
                raise EmonbError(
                    f"unknown class {self.target!r}; valid classes: {', '.join(names)}"
                )
            self.index = names.index(self.target)
        elif isinstance(self.target, (int, np.integer)) and not isinstance(self.target, bool):
            if not 0 <= int(self.target) < len(names):
                raise EmonbError(
                    f"class index {self.target} is out of range (0..{len(names) - 1}: {', '.join(names)})"
                )
            self.index = int(self.target)
        else:
            raise EmonbError(f"a class target is an int or a name, not {self.target!r}")
        self.class_name = names[self.index]
        ends_softmax = graph.is_softmax(_last_leaf(net.model)[1])
        if self.score == "logit":
            if not ends_softmax:
                self._mode = "output"
            elif graph.softmax_bypass(_last_leaf(net.model)[1]) is not None:
                self._mode = "replaced"
            else:
                warnings.warn(
                    f"cannot bypass the softmax of {_last_leaf(net.model)[0]!r}; "
                    "maximising the log-probability instead of the logit",
                    RuntimeWarning,
                    stacklevel=3,
                )
                self._mode = "log"
        else:
            self._mode = "output" if ends_softmax else "softmax"

    def replace(self, net: EmotionModel) -> graph.Replace | None:
        if self._mode != "replaced":
            return None
        last_name, last = _last_leaf(net.model)
        stand_in = graph.softmax_bypass(last)
        return lambda name, layer: stand_in if name == last_name else None

    def __call__(self, output, record: dict) -> tf.Tensor:
        if self.index is None:
            raise EmonbError("ClassObjective is not bound to a model (call bind(net) first)")
        if self._mode == "log":
            output = tf.math.log(tf.maximum(output, 1e-12))
        elif self._mode == "softmax":
            output = tf.nn.softmax(output, axis=-1)
        return output[:, self.index]

    def describe(self) -> str:
        return f"{self.class_name or self.target} ({self.score})"


class FilterObjective(Objective):
    """Maximise the mean activation of one channel (filter) of a layer.

    Parameters
    ----------
    layer
        Qualified layer name (``"block/conv1"``), unique bare name, or index into
        :func:`emonb.models.graph.iter_layers`.
    filter
        Channel index (last axis of the layer's output).

    Notes
    -----
    The mean of a *linear* convolution (no activation, e.g. mini-Xception's ``conv2d_1``,
    followed by batch norm and a ReLU) depends on little more than the mean grey level
    when its kernel sums to about 0, so maximising it is nearly degenerate; target the
    activation layer that follows (``activation_1``) to see the pattern the unit detects.
    Channel means are of order 1, much smaller than class logits, so the default priors
    (:data:`FILTER_REGULARIZERS`) are lighter than for classes.

    References
    ----------
    Erhan, Bengio, Courville & Vincent 2009, "Visualizing higher-layer features of a deep
    network"; Olah, Mordvintsev & Schubert 2017, "Feature Visualization" (Distill).
    """

    def __init__(self, layer: str | int, filter: int) -> None:  # noqa: A002 (the paper's word)
        self.layer = layer
        self.filter = filter
        self.name: str | None = None
        self.channels: int | None = None

    def bind(self, net: EmotionModel) -> None:
        name, _ = graph.find_layer(net.model, self.layer)
        h, w = net.spec.input_size
        _, record = graph.run(net.model, tf.zeros((1, h, w, net.spec.channels)))
        shape = tuple(record[name].shape)
        channels = int(shape[-1])
        f = self.filter
        if not isinstance(f, (int, np.integer)) or isinstance(f, bool) or not 0 <= f < channels:
            raise EmonbError(
                f"filter {f!r} is out of range for layer {name!r}, which has {channels} "
                f"channels: valid filters are 0..{channels - 1}"
            )
        self.name, self.channels = name, channels

    def __call__(self, output, record: dict) -> tf.Tensor:
        if self.name is None:
            raise EmonbError("FilterObjective is not bound to a model (call bind(net) first)")
        a = record[self.name][..., int(self.filter)]
        return tf.reduce_mean(tf.reshape(a, (tf.shape(a)[0], -1)), axis=1)

    def describe(self) -> str:
        return f"{self.name or self.layer} filter {self.filter}"

    def default_regularizers(self) -> tuple[Regularizer, ...]:
        return FILTER_REGULARIZERS


def _as_objective(objective: Objective | int | str) -> Objective:
    if isinstance(objective, Objective):
        return objective
    if isinstance(objective, (int, str, np.integer)):
        return ClassObjective(objective)
    raise EmonbError(
        f"an objective is an Objective, a class index or a class name, not {objective!r}"
    )


# -------------------------------------------------------------------------- regularisers


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


# ------------------------------------------------------------------------ parametrisation


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


# ------------------------------------------------------------------------------ optimiser


@dataclass(frozen=True)
class Result:
    """The outcome of :meth:`ActivationMaximization.run`.

    Attributes
    ----------
    images
        Optimised images, float32 in [0, 1] at the model's input size: (N, H, W) for grey
        models, (N, H, W, 3) for colour ones.
    trace
        (steps, N) float32: the objective each step, on the image the model saw that step
        (after the random transforms, before the update; penalties not included).
    initial, final
        (N,) float32: the objective on the starting and on the final image (no transforms).
    label
        The objective's description, for titles.

    References
    ----------
    Erhan, Bengio, Courville & Vincent 2009, "Visualizing higher-layer features of a deep
    network".
    """

    images: np.ndarray
    trace: np.ndarray
    initial: np.ndarray
    final: np.ndarray
    label: str = ""

    @property
    def steps(self) -> int:
        """Number of optimisation steps that were run."""
        return int(self.trace.shape[0])


class ActivationMaximization:
    """Gradient ascent on the input image towards an objective, with image priors.

    Parameters
    ----------
    net
        The model (with its input spec); it is never modified.
    objective
        An :class:`Objective`, or a class index/name (a :class:`ClassObjective` on the logit).
    steps
        Optimisation steps, capped by :func:`emonb.config.max_steps` when :meth:`run` is
        called (3 in quick mode).
    lr
        Adam learning rate, in grey levels of [0, 1] per step.
    regularizers
        Priors (:class:`Regularizer`); None uses the objective's defaults
        (:data:`DEFAULT_REGULARIZERS` for classes, :data:`FILTER_REGULARIZERS` for
        channels), ``()`` none. Penalty weights are in units of the objective.
    fourier
        Optimise a decorrelated spectrum instead of pixels: True (decay 1) or a
        :class:`FourierParametrization`.
    seed
        Seeds the starting noise and the jitter: the same seed gives the same result on the
        same machine.
    init_noise
        Standard deviation of the Gaussian noise around mid-grey that ``start="noise"`` uses.

    References
    ----------
    Erhan, Bengio, Courville & Vincent 2009; Simonyan, Vedaldi & Zisserman 2014; Mahendran
    & Vedaldi 2016; Olah, Mordvintsev & Schubert 2017, "Feature Visualization" (Distill).
    """

    BETAS = (0.9, 0.999)
    EPS = 1e-8

    def __init__(
        self,
        net: EmotionModel,
        objective: Objective | int | str,
        *,
        steps: int = 256,
        lr: float = 0.05,
        regularizers: Sequence[Regularizer] | None = None,
        fourier: bool | FourierParametrization = False,
        seed: int = 0,
        init_noise: float = 0.1,
    ) -> None:
        if steps < 1:
            raise EmonbError(f"steps must be >= 1, got {steps}")
        self.net = net
        self.objective = copy.copy(_as_objective(objective))  # bind() stores model facts
        self.objective.bind(net)
        self.steps = int(steps)
        self.lr = float(lr)
        if regularizers is None:
            regularizers = self.objective.default_regularizers()
        self.regularizers = tuple(regularizers)
        for r in self.regularizers:
            if not isinstance(r, Regularizer):
                raise EmonbError(f"not a Regularizer: {r!r}")
        if fourier is True:
            fourier = FourierParametrization()
        self.fourier: FourierParametrization | None = fourier or None
        self.seed = int(seed)
        self.init_noise = float(init_noise)
        self._lo, self._hi = _affine_range(net)
        self._step_fn = None
        self._score_fn = None

    # -- the compiled functions (built once per instance, reused across steps and runs)

    def _forward(self, u: tf.Tensor) -> tf.Tensor:
        x = self._lo + (self._hi - self._lo) * u
        out, record = graph.run(
            self.net.model, x, replace=self.objective.replace(self.net), training=False
        )
        return self.objective(out, record)

    def _size(self) -> tuple[int, int]:
        return tuple(self.net.spec.input_size)

    def _to_image(self, p: tf.Tensor) -> tf.Tensor:
        if self.fourier is None:
            return p
        return self.fourier.decode(p, self._scale, self._size())

    def _to_param(self, u: tf.Tensor) -> tf.Tensor:
        if self.fourier is None:
            return u
        return self.fourier.encode(u, self._scale, self._size())

    def _param_spec(self) -> tf.TensorSpec:
        h, w = self._size()
        c = self.net.spec.channels
        if self.fourier is None:
            return tf.TensorSpec([None, h, w, c], tf.float32)
        return tf.TensorSpec([2, None, c, h, w // 2 + 1], tf.float32)

    def _build(self) -> None:
        h, w = self._size()
        c = self.net.spec.channels
        if self.fourier is not None:
            self._scale = tf.constant(self.fourier.scale(h, w))
        b1, b2 = self.BETAS
        lr, eps, regs = self.lr, self.EPS, self.regularizers
        pspec = self._param_spec()
        scalar = tf.TensorSpec([], tf.int32)

        @tf.function(input_signature=[pspec, pspec, pspec, scalar, scalar])
        def step(p, m, v, t, seed):
            with tf.GradientTape() as tape:
                tape.watch(p)
                u = self._to_image(p)
                seen = u
                for i, r in enumerate(regs):
                    seen = r.transform(seen, tf.stack([seed, t * 1024 + i]))
                score = self._forward(seen)
                total = score
                for r in regs:
                    pen = r.penalty(u)
                    if pen is not None:
                        total = total - pen
                objective = tf.reduce_sum(total)  # images are independent: sum = per-image ascent
            g = tape.gradient(objective, p)
            m = b1 * m + (1.0 - b1) * g
            v = b2 * v + (1.0 - b2) * g * g
            k = tf.cast(t + 1, tf.float32)
            p = p + lr * (m / (1.0 - b1**k)) / (tf.sqrt(v / (1.0 - b2**k)) + eps)
            u = tf.clip_by_value(self._to_image(p), 0.0, 1.0)
            for r in regs:
                u = r.after_step(u, t)
            return self._to_param(u), m, v, score

        @tf.function(input_signature=[tf.TensorSpec([None, h, w, c], tf.float32)])
        def score(u):
            return self._forward(u)

        self._step_fn, self._score_fn = step, score

    # -- public

    def _start_images(self, start, n: int) -> np.ndarray:
        h, w = self._size()
        c = self.net.spec.channels
        if isinstance(start, str):
            if start != "noise":
                raise EmonbError(f"start is 'noise' or an image array, not {start!r}")
            rng = np.random.default_rng(self.seed)
            u = 0.5 + self.init_noise * rng.standard_normal((n, h, w, c))
            return np.clip(u, 0.0, 1.0).astype(np.float32)
        unit = dataclasses.replace(self.net.spec, preprocessing="unit")
        u = np.clip(prepare_images(start, unit), 0.0, 1.0).astype(np.float32)
        if len(u) == 1 and n > 1:
            u = np.repeat(u, n, axis=0)
        elif n != 1 and len(u) != n:
            raise EmonbError(f"start holds {len(u)} images but n={n}; pass one image or n images")
        return u

    def run(self, start: str | np.ndarray = "noise", n: int = 1) -> Result:
        """Optimise ``n`` images together (or one per image in a batch ``start``).

        Parameters
        ----------
        start
            ``"noise"`` (mid-grey plus seeded Gaussian noise), or an image or batch of
            images of any size and colour, uint8 or float in [0, 1] (resized and
            converted as for prediction).
        n
            Number of images from noise (or copies of a single start image).

        Returns
        -------
        Result
            Images in [0, 1] at the model's input size, the per-step trace and the scores.

        References
        ----------
        Erhan et al. 2009; Simonyan et al. 2014; Olah et al. 2017 (Distill).
        """
        if n < 1:
            raise EmonbError(f"n must be >= 1, got {n}")
        steps = max_steps(self.steps)
        quiet = _NoRetracingWarning()
        tf.get_logger().addFilter(quiet)
        try:
            return self._run(start, n, steps)
        finally:
            tf.get_logger().removeFilter(quiet)

    def _run(self, start: str | np.ndarray, n: int, steps: int) -> Result:
        if self._step_fn is None:
            self._build()
        u0 = tf.constant(self._start_images(start, n))
        initial = self._score_fn(u0).numpy()
        p = self._to_param(u0)
        m = tf.zeros_like(p)
        v = tf.zeros_like(p)
        seed = tf.constant(self.seed, tf.int32)
        trace = []
        for t in range(steps):
            p, m, v, s = self._step_fn(p, m, v, tf.constant(t, tf.int32), seed)
            trace.append(s.numpy())
        u = tf.clip_by_value(self._to_image(p), 0.0, 1.0)
        final = self._score_fn(u).numpy()
        images = u.numpy().astype(np.float32)
        if images.shape[-1] == 1:
            images = images[..., 0]
        return Result(
            images=images,
            trace=np.asarray(trace, dtype=np.float32).reshape(steps, -1),
            initial=initial.astype(np.float32),
            final=final.astype(np.float32),
            label=self.objective.describe(),
        )


class _NoRetracingWarning(logging.Filter):
    """Drop TF's "triggered tf.function retracing" heuristic: every instance traces once,
    by design, so a notebook looping over classes would otherwise print it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


def _affine_range(net: EmotionModel) -> tuple[float, float]:
    """The model's input range; checks that its pixel scaling is affine (all built-ins are)."""
    lo, hi = net.spec.value_range
    mid = float(PREPROCESSING[net.spec.preprocessing](np.float32(127.5)))
    if not math.isclose(mid, (lo + hi) / 2, rel_tol=1e-5, abs_tol=1e-6):
        raise EmonbError(
            f"preprocessing {net.spec.preprocessing!r} is not an affine scaling of grey levels; "
            "activation maximisation needs one"
        )
    return lo, hi


# ----------------------------------------------------------------------------- face masks

#: Canonical regions of an aligned, tightly cropped face (FER-2013 48x48 style, or the
#: Haar-cascade crops of :func:`emonb.faces.crop`), as fractions ``(x0, y0, x1, y1)`` of
#: width and height: both eyes (without the brows) and the mouth with its corners.
FACE_REGIONS: dict[str, tuple[float, float, float, float]] = {
    "eyes": (0.10, 0.25, 0.90, 0.48),
    "mouth": (0.22, 0.66, 0.78, 0.92),
}


def _region_boxes(name: str, h: int, w: int) -> list[tuple[int, int, int, int]]:
    parts = name.split("_")
    unknown = [p for p in parts if p not in FACE_REGIONS]
    if unknown or not name:
        valid = ", ".join([*FACE_REGIONS, "_".join(FACE_REGIONS)])
        raise EmonbError(f"unknown face region {name!r}; valid: {valid}")
    boxes = []
    for part in parts:
        fx0, fy0, fx1, fy1 = FACE_REGIONS[part]
        x0, y0 = int(round(fx0 * w)), int(round(fy0 * h))
        x1, y1 = int(round(fx1 * w)), int(round(fy1 * h))
        boxes.append((x0, y0, x1 - x0, y1 - y0))
    return boxes


def mask_regions(
    face: np.ndarray,
    boxes: Sequence[tuple[int, int, int, int]] | str = "eyes_mouth",
    fill: float = 0.5,
) -> np.ndarray:
    """A copy of ``face`` with rectangles filled with grey (e.g. eyes and mouth removed).

    Parameters
    ----------
    face
        (H, W) or (H, W, C) image, uint8 or float in [0, 1].
    boxes
        Pixel boxes ``(x, y, w, h)`` (as :class:`emonb.faces.Box`), or a region name from
        :data:`FACE_REGIONS` (``"eyes"``, ``"mouth"``, ``"eyes_mouth"``), scaled to the
        image size: fractions of width and height for aligned face crops.
    fill
        Grey level in [0, 1] (uint8 images get ``round(fill * 255)``).

    Returns
    -------
    numpy.ndarray
        Same shape and dtype as ``face``.

    References
    ----------
    Zeiler & Fergus 2014, "Visualizing and understanding convolutional networks"
    (occlusion).
    """
    img = np.array(face, copy=True)
    if img.ndim not in (2, 3):
        raise ValueError(f"expected an (H, W) or (H, W, C) image, got shape {img.shape}")
    if not 0.0 <= fill <= 1.0:
        raise ValueError(f"fill is a grey level in [0, 1], got {fill}")
    h, w = img.shape[:2]
    if isinstance(boxes, str):
        boxes = _region_boxes(boxes, h, w)
    value = round(fill * 255) if img.dtype == np.uint8 else fill
    for x, y, bw, bh in boxes:
        x0, y0 = max(int(x), 0), max(int(y), 0)
        x1, y1 = min(int(x + bw), w), min(int(y + bh), h)
        img[y0:y1, x0:x1] = value
    return img


# ---------------------------------------------------------------------------- post-filters


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
