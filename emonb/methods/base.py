"""The contract of every explanation method.

Every method is an :class:`Explainer` with one call::

    maps = Method(net, ...).explain(images, targets)   # (N, H, W) float32 in [0, 1]

where ``images`` are raw images (any size or colour, see
:func:`emonb.models.preprocessing.prepare_images`), ``targets`` a class index, class
name, ``"predicted"`` or one of those per image, and ``(H, W)`` the model's input size.
The base class does preprocessing, target resolution, batching, resizing and
normalisation once; a method overrides one hook, :meth:`Explainer._attribute`, that
maps a preprocessed batch and class indices to raw non-negative maps.

Running the model (activations, gradients, the softmax bypass, BatchNorm folding, ReLU
backward rules) is the job of the explainer's :class:`~emonb.models.runner.Runner`,
``self.runner``; a method never touches the user's model.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from typing import ClassVar

import cv2
import numpy as np

from emonb._tf import keras
from emonb.arrays import minmax, resize_maps
from emonb.errors import EmonbError
from emonb.models.runner import Runner, Score
from emonb.models.substitutions import check_relu_rule
from emonb.models.targets import Targets
from emonb.models.zoo import EmotionModel, as_emotion_model

__all__ = ["Explainer", "Targets"]


class Explainer(ABC):
    """Base class: ``explain(images, targets) -> (N, H, W) float32 in [0, 1]``.

    Parameters
    ----------
    model : EmotionModel or keras.Model
        The model to explain (a bare Keras model gets ``spec_from_model``'s defaults).
    score : "logit" or "probability"
        What is explained: the pre-softmax class score (default) or the softmax output.
    batch_size : int
        Images per forward/backward pass.
    fold_batchnorm : bool
        Compute each convolution + inference BatchNorm pair as one convolution with folded
        weights (mathematically the same function; float rounding differs slightly).
    """

    #: Registry name (``emonb.methods.METHODS``).
    name: ClassVar[str] = ""
    #: Whether the method looks at a convolutional layer (``layer=`` applies).
    uses_layer: ClassVar[bool] = False
    #: Backward rule through ReLUs (one of substitutions.RELU_RULES); methods that differentiate use it.
    relu_rule: ClassVar[str] = "none"
    #: How raw maps are resized to the input (OpenCV flag).
    interpolation: ClassVar[int] = cv2.INTER_LINEAR

    def __init__(
        self,
        model: EmotionModel | keras.Model,
        *,
        score: Score = "logit",
        batch_size: int = 64,
        fold_batchnorm: bool = True,
    ):
        if score == "probability":
            warnings.warn(
                "explaining softmax probabilities: their gradients mix in every other class; "
                "score='logit' explains the class evidence itself",
                UserWarning,
                stacklevel=2,
            )
        #: Runs the model for this method (scores, activations, gradients, substitutions).
        self.runner = Runner(as_emotion_model(model), score=score, batch_size=batch_size,
                             fold_batchnorm=fold_batchnorm)  # fmt: skip

    # ---- public API -----------------------------------------------------------------
    @property
    def net(self) -> EmotionModel:
        return self.runner.net

    @property
    def score(self) -> Score:
        return self.runner.score

    @property
    def batch_size(self) -> int:
        return self.runner.batch_size

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.net.class_names

    @property
    def forward_passes(self) -> int:
        """Forward passes of the model per explained image (a gradient method's backward
        pass is not counted): with the forward throughput, the speed limit ``emonb bench``
        compares the method with (forward img/s / forward passes)."""
        return 1

    def explain(self, images, targets: Targets = "predicted") -> np.ndarray:
        """Maps (N, H, W) float32 in [0, 1] at the model's input size, one per image."""
        return self.explain_inputs(self.net.preprocess(images), targets)

    def explain_inputs(self, x: np.ndarray, targets: Targets = "predicted") -> np.ndarray:
        """:meth:`explain` for images already preprocessed (``net.preprocess``), (N, H, W, C)."""
        raw = self._raw(x, targets)
        if raw is None:  # no images: no maps
            return np.zeros((0, *self.net.spec.input_size), np.float32)
        return minmax(self._resize(raw))

    def explain_unscaled(self, images, targets: Targets = "predicted") -> np.ndarray:
        """:meth:`explain`'s maps before their per-map min-max step, so that maps can be
        compared on one scale (N, H, W): resized to the input, and a map of ``h x w``
        positions multiplied by ``h*w / (H*W)`` (per input pixel), so that maps of
        different layers stand on one footing. Min-max scaling each gives :meth:`explain`."""
        x = self.net.preprocess(images)
        raw = self._raw(x, targets)
        if raw is None:
            return np.zeros((0, *self.net.spec.input_size), np.float32)
        h, w = raw.shape[1:3]
        height, width = self.net.spec.input_size
        return np.nan_to_num(self._resize(raw)) * np.float32(h * w / (height * width))

    def _raw(self, x: np.ndarray, targets: Targets) -> np.ndarray | None:
        idx = self.runner.targets(targets, x)
        out = [np.asarray(self._attribute(x[s : s + self.batch_size], idx[s : s + self.batch_size]),
                          dtype=np.float32) for s in range(0, len(x), self.batch_size)]  # fmt: skip
        return np.concatenate(out) if out else None

    def predict_and_explain(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities (N, n_classes) of a preprocessed batch and the maps (N, H, W) of
        each image's top class: ``runner.probabilities(x)`` and :meth:`explain_inputs` of
        its argmax. Methods whose map needs the forward pass that gives the scores (the
        gradient CAMs) do both in one compiled pass; others take two (the video pipeline's
        step per frame)."""
        proba = self.runner.probabilities(x)
        return proba, self.explain_inputs(x, proba.argmax(axis=1).astype(np.int32))

    # ---- the hook ------------------------------------------------------------------------
    @abstractmethod
    def _attribute(self, x: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Raw maps (n, h, w) for a preprocessed batch ``x`` and class indices ``idx``."""

    # ---- shared machinery ----------------------------------------------------------------
    def _resize(self, maps: np.ndarray) -> np.ndarray:
        return resize_maps(maps, self.net.spec.input_size, self.interpolation)

    def _use_relu_rule(self, relu_rule: str | None) -> None:
        """Set the ReLU backward rule (None keeps the class default); errors list the rules."""
        if relu_rule is not None:
            self.relu_rule = check_relu_rule(relu_rule)


def _level(name: str, value: str | float, value_range: tuple[float, float]) -> float:
    """A grey level in model-input units: ``"black"`` (value-range low), ``"grey"``
    (mid-range) or a number as it is."""
    lo, hi = value_range
    if isinstance(value, str) and value == "black":
        return float(lo)
    if isinstance(value, str) and value == "grey":
        return (lo + hi) / 2
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return float(value)
    raise EmonbError(f"{name} must be 'black', 'grey' or a number, not {value!r}")
