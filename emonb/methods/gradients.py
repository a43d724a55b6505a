"""Gradient methods: vanilla saliency, deconvnet, guided backprop, gradient x input, the
noise tunnel (SmoothGrad, SquareGrad, VarGrad) and Integrated Gradients.

All differentiate the class score (the logit by default) with respect to the input
pixels. Maps are ``max_c |.|`` over input channels, like the seed paper's saliency
maps (and tf-keras-vis / keras-vis); the base class normalises them to [0, 1].
"""

from __future__ import annotations

import numpy as np

from emonb._tf import tf
from emonb.errors import check_count
from emonb.methods.base import Explainer, _level
from emonb.models.runner import array_digest

__all__ = [
    "Deconvnet",
    "GradientExplainer",
    "GradientInput",
    "GuidedBackprop",
    "IntegratedGradients",
    "NoiseTunnel",
    "Saliency",
    "SmoothGrad",
    "SquareGrad",
    "VarGrad",
]


class GradientExplainer(Explainer):
    """Shared machinery: compiled input gradients of the target score under a ReLU rule."""

    def __init__(self, model, *, relu_rule: str | None = None, **kwargs):
        super().__init__(model, **kwargs)
        self._use_relu_rule(relu_rule)

    def gradients(self, x: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """d score[idx] / d input for a preprocessed batch, (n, H, W, C) float32 (one
        compiled function per ReLU rule for all the model's explainers)."""
        fn = self.runner.input_gradients_fn(self.relu_rule)
        return fn(tf.constant(x, tf.float32), tf.constant(idx, tf.int32)).numpy()

    def _attribute(self, x, idx):
        return np.abs(self.gradients(x, idx)).max(axis=-1)


class Saliency(GradientExplainer):
    """Vanilla gradient saliency: ``max_c |d score / d x|``.

    ``relu_rule`` picks the backward rule through ReLUs: ``"none"`` (true gradient),
    ``"relu"`` (deconvnet) or ``"guided"`` (guided backprop) — the seed paper's three
    saliency variants.

    References: Simonyan, Vedaldi & Zisserman, "Deep Inside Convolutional Networks", ICLR
    workshop 2014.
    """

    name = "saliency"


class Deconvnet(GradientExplainer):
    """Deconvnet rule: only positive gradient flows back through each ReLU
    (keras-vis' ``backprop_modifier="relu"``).

    Caveat: like guided backprop, the deconvnet rule is largely independent of the
    higher layers' weights and partly reconstructs the input (Adebayo et al., 2018).

    References: Zeiler & Fergus, "Visualizing and Understanding Convolutional Networks",
    ECCV 2014; Springenberg et al., "Striving for Simplicity", ICLR workshop 2015.
    """

    name = "deconvnet"
    relu_rule = "relu"


class GuidedBackprop(GradientExplainer):
    """Guided backpropagation: positive gradient flows back only where the ReLU input was
    positive.

    Caveat: guided backprop fails the model-randomization sanity check — its maps barely
    change when the network's weights are randomised, so they show edges of the input more
    than the model's reasoning (Adebayo et al., "Sanity Checks for Saliency Maps",
    NeurIPS 2018).

    References: Springenberg, Dosovitskiy, Brox & Riedmiller, "Striving for Simplicity: The
    All Convolutional Net", ICLR workshop 2015.
    """

    name = "guided_backprop"
    relu_rule = "guided"


class GradientInput(GradientExplainer):
    """Gradient x input: ``max_c |x * d score / d x|``, the first-order Taylor share of each
    pixel in the score (relative to an all-zero input).

    Caveat: it depends on where the preprocessed input's zero is. With the mini-Xception's
    symmetric [-1, 1] scaling zero is mid-grey, so grey pixels get no attribution whatever
    the gradient, and a map of the same face differs under [0, 1] scaling (where black
    pixels get none).

    References: Shrikumar, Greenside, Shcherbina & Kundaje, "Not Just a Black Box: Learning
    Important Features Through Propagating Activation Differences", arXiv 1605.01713, 2016.
    """

    name = "gradient_input"

    def attributions(self, x: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Signed ``x * gradient``, (n, H, W, C)."""
        return x * self.gradients(x, idx)

    def _attribute(self, x, idx):
        return np.abs(self.attributions(x, idx)).max(axis=-1)


class NoiseTunnel(GradientExplainer):
    """Shared machinery of SmoothGrad and its variants: gradients at ``samples`` noisy
    copies of the input, accumulated as running sums of ``g`` and ``g**2``; a method
    overrides :meth:`aggregate`, which turns the sums into per-pixel values (n, H, W, C),
    and the map is ``max_c |.|`` of them.

    Noise is Gaussian with sd ``noise`` x the input's value range, one pattern per sample
    shared by the images of a batch (so a map does not depend on its batch neighbours),
    drawn from ``numpy.random.default_rng(seed)``: the same seed gives the same maps.
    """

    def __init__(self, model, *, samples: int = 20, noise: float = 0.2, seed: int = 0, **kwargs):
        super().__init__(model, **kwargs)
        self.samples = check_count("samples", samples)
        self.noise = float(noise)
        self.seed = int(seed)

    @property
    def forward_passes(self) -> int:
        return self.samples

    def noisy_sums(self, x: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(sum g, sum g**2)`` over the noisy samples, each (n, H, W, C): float32 and
        float64 (the squares' sum is kept in double so a variance does not cancel).
        Computed once for the method family: SmoothGrad, SquareGrad and VarGrad of the
        same inputs, targets, noise and seed share them (:meth:`Runner.remember`)."""
        key = ("noisy_sums", self.relu_rule, self.samples, self.noise, self.seed,
               array_digest(x), array_digest(np.asarray(idx, np.int64)))  # fmt: skip
        return self.runner.remember(key, lambda: self._noisy_sums(x, idx))

    def _noisy_sums(self, x: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.net.spec.value_range
        rng = np.random.default_rng(self.seed)
        total = np.zeros_like(x)
        squares = np.zeros(x.shape, np.float64)
        for _ in range(self.samples):
            noise = rng.normal(0.0, self.noise * (hi - lo), size=(1, *x.shape[1:])).astype(
                np.float32
            )
            g = self.gradients(x + noise, idx)
            total += g
            squares += np.square(g, dtype=np.float64)
        total.setflags(write=False)  # shared by the family (remembered): read, never written
        squares.setflags(write=False)
        return total, squares

    def aggregate(self, total: np.ndarray, squares: np.ndarray) -> np.ndarray:
        """Per-pixel values (n, H, W, C) from the sums of :meth:`noisy_sums` (the hook).
        SmoothGrad: the mean gradient."""
        return total / self.samples

    def _attribute(self, x, idx):
        return np.abs(self.aggregate(*self.noisy_sums(x, idx))).max(axis=-1)


class SmoothGrad(NoiseTunnel):
    """SmoothGrad: gradients averaged over ``samples`` noisy copies of the input, then
    ``max_c |.|``. Noise is Gaussian with sd ``noise`` x the input's value range, drawn
    from ``numpy.random.default_rng(seed)`` (the same seed gives the same maps).

    References: Smilkov, Thorat, Kim, Viegas & Wattenberg, "SmoothGrad: removing noise by
    adding noise", ICML workshop 2017.
    """

    name = "smoothgrad"


class SquareGrad(NoiseTunnel):
    """SquareGrad: the mean squared gradient over ``samples`` noisy copies of the input
    (SmoothGrad's noise and settings), then ``max_c``. Squaring keeps gradients of either
    sign from cancelling.

    References: Hooker, Erhan, Kindermans & Kim, "A Benchmark for Interpretability Methods
    in Deep Neural Networks", NeurIPS 2019.
    """

    name = "squaregrad"

    def aggregate(self, total, squares):
        return (squares / self.samples).astype(np.float32)


class VarGrad(NoiseTunnel):
    """VarGrad: the variance of the gradient over ``samples`` noisy copies of the input
    (population variance, mean of ``(g - mean g)**2``; SmoothGrad's noise and settings),
    then ``max_c``. One sample gives a zero map.

    Caveat: the variance of the gradient is not the gradient's sign or size: a pixel whose
    gradient is large but steady under noise gets little attribution.

    References: Hooker, Erhan, Kindermans & Kim, "A Benchmark for Interpretability Methods
    in Deep Neural Networks", NeurIPS 2019; Adebayo, Gilmer, Goodfellow & Kim, "Local
    Explanation Methods for Deep Neural Networks Lack Sensitivity to Parameter Values",
    ICLR workshop 2018.
    """

    name = "vargrad"

    def aggregate(self, total, squares):
        mean = total.astype(np.float64) / self.samples
        return np.maximum(squares / self.samples - mean**2, 0.0).astype(np.float32)


class IntegratedGradients(GradientExplainer):
    """Integrated Gradients: ``(x - x0) * mean_k grad(x0 + k/m (x - x0))``, trapezoid rule
    with ``steps`` intervals, from a baseline ``x0`` (``"black"``: grey level 0;
    ``"grey"``: mid-range; or a number in model-input units); map = ``max_c |.|``.

    References: Sundararajan, Taly & Yan, "Axiomatic Attribution for Deep Networks",
    ICML 2017.
    """

    name = "integrated_gradients"

    def __init__(self, model, *, steps: int = 32, baseline: str | float = "black", **kwargs):
        super().__init__(model, **kwargs)
        self.steps = check_count("steps", steps)
        self.baseline = _level("baseline", baseline, self.net.spec.value_range)

    @property
    def forward_passes(self) -> int:
        return self.steps + 1

    def attributions(self, x: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Signed attributions (n, H, W, C); they sum to about ``score(x) - score(x0)``."""
        x0 = np.full_like(x[:1], self.baseline)
        alphas = np.linspace(0.0, 1.0, self.steps + 1, dtype=np.float32)[:, None, None, None]
        weights = np.full(self.steps + 1, 1.0 / self.steps, dtype=np.float32)
        weights[[0, -1]] /= 2  # trapezoid
        out = np.empty_like(x)
        for i in range(len(x)):  # one image's whole path per call, in batch_size chunks
            path = x0 + alphas * (x[i : i + 1] - x0)
            total = np.zeros_like(x[0])
            for s in range(0, len(path), self.batch_size):
                g = self.gradients(
                    path[s : s + self.batch_size],
                    np.full(len(path[s : s + self.batch_size]), idx[i]),
                )
                total += np.tensordot(weights[s : s + self.batch_size], g, axes=1)
            out[i] = (x[i] - x0[0]) * total
        return out

    def _attribute(self, x, idx):
        return np.abs(self.attributions(x, idx)).max(axis=-1)
