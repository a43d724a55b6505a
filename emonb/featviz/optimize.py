"""Activation maximisation: gradient ascent on the input image towards an objective.

:class:`ActivationMaximization` optimises images from noise or from given faces towards an
:class:`~emonb.featviz.objectives.Objective`, with the priors of
:mod:`emonb.featviz.regularizers` and optionally the Fourier parametrisation of
:mod:`emonb.featviz.parametrization`; it returns a :class:`Result`.

The image is optimised as grey levels in ``[0, 1]`` (``u``) and mapped affinely onto the
model's input range (``spec.value_range``) before every forward pass, so the learning
rate and penalty weights mean the same for any pixel scaling. The model runs through a
:class:`emonb.models.runner.Runner` (inference mode, never modified; a final softmax is
bypassed for that run only when the objective reads logits). A run does exactly ``steps``
steps: quick mode is applied by the caller (``config.capped("steps", steps)``).
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from emonb._tf import tf
from emonb.errors import EmonbError
from emonb.featviz.objectives import Objective, as_objective
from emonb.featviz.parametrization import FourierParametrization
from emonb.featviz.regularizers import Regularizer
from emonb.models.preprocessing import PREPROCESSING, prepare_images
from emonb.models.runner import Runner, runner_for
from emonb.models.zoo import EmotionModel

__all__ = ["ActivationMaximization", "Result"]


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
        An :class:`~emonb.featviz.objectives.Objective`, or a class index/name (a
        :class:`~emonb.featviz.objectives.ClassObjective` on the logit).
    steps
        Optimisation steps: :meth:`run` does exactly this many (cap it at the boundary,
        e.g. ``config.capped("steps", steps)`` in quick mode).
    lr
        Adam learning rate, in grey levels of [0, 1] per step.
    regularizers
        Priors (:class:`~emonb.featviz.regularizers.Regularizer`); None uses the
        objective's defaults (:data:`~emonb.featviz.regularizers.DEFAULT_REGULARIZERS` for
        classes, :data:`~emonb.featviz.regularizers.FILTER_REGULARIZERS` for channels),
        ``()`` none. Penalty weights are in units of the objective.
    fourier
        Optimise a decorrelated spectrum instead of pixels: True (decay 1) or a
        :class:`~emonb.featviz.parametrization.FourierParametrization`.
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
        self.objective = copy.copy(as_objective(objective))  # bind() stores model facts
        self.runner = _runner(net, self.objective.score)
        self.objective.bind(self.runner)
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
        scores, record = self.runner.run(x, keep=self.objective.keep())
        return self.objective(scores, record)

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
        quiet = _NoRetracingWarning()
        tf.get_logger().addFilter(quiet)
        try:
            return self._run(start, n, self.steps)
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


def _runner(net: EmotionModel, score: str) -> Runner:
    """The runner for an objective's score: the model's own (logits) or one that runs the
    model's function as it is. No BatchNorm folding, so the images do not depend on it."""
    if score == "logit":
        return runner_for(net)
    return Runner(net, score=score, fold_batchnorm=False)


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
