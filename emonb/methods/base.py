"""The contract and the shared machinery of every explanation method.

Every method is an :class:`Explainer` with one call::

    maps = Method(net, ...).explain(images, targets)   # (N, H, W) float32 in [0, 1]

where ``images`` are raw images (any size or colour, see
:func:`emonb.models.preprocessing.prepare_images`), ``targets`` a class index, class
name, ``"predicted"`` or one of those per image, and ``(H, W)`` the model's input size.
The base class does preprocessing, target resolution, batching, resizing and
normalisation once; a method overrides one hook, :meth:`Explainer._attribute`, that
maps a preprocessed batch and class indices to raw non-negative maps.

Gradient helpers run the model leaf by leaf (:func:`emonb.models.graph.run`), so a
method can read any layer's activation, take gradients with respect to it, score
logits instead of softmax probabilities, or swap ReLUs for modified-gradient versions
(guided backprop, deconvnet) — all without touching the user's model.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import ClassVar, Literal

import cv2
import numpy as np

from emonb._tf import keras, tf
from emonb.errors import EmonbError
from emonb.models import graph
from emonb.models.zoo import EmotionModel, spec_from_model

__all__ = [
    "RELU_RULES",
    "Explainer",
    "Targets",
    "batchnorm_folds",
    "last_conv_layer",
    "normalize_maps",
    "resolve_targets",
    "spatial_conv_layers",
]

Targets = int | str | Sequence[int | str] | np.ndarray | None
Score = Literal["logit", "probability"]
#: Backward rules for ReLUs: plain gradient, deconvnet ("relu": pass positive upstream
#: gradient only) and guided backprop (positive gradient where the input was positive).
RELU_RULES = ("none", "relu", "guided")


def resolve_targets(targets: Targets, n: int, class_names: Sequence[str],
                    predicted: Callable[[], np.ndarray]) -> np.ndarray:  # fmt: skip
    """Class indices (n,) from an int, a class name, "predicted"/None, or a per-image list."""

    def one(t) -> int:
        if isinstance(t, (int, np.integer)) and not isinstance(t, bool):
            if 0 <= int(t) < len(class_names):
                return int(t)
            raise EmonbError(f"class index {t} is out of range 0..{len(class_names) - 1}")
        if isinstance(t, str) and t in class_names:
            return list(class_names).index(t)
        raise EmonbError(f"unknown class {t!r}; use an index 0..{len(class_names) - 1}, "
                         f"'predicted' or one of: {', '.join(class_names)}")  # fmt: skip

    if targets is None or (isinstance(targets, str) and targets == "predicted"):
        return np.asarray(predicted(), dtype=np.int32)
    if isinstance(targets, (str, int, np.integer)):
        return np.full(n, one(targets), dtype=np.int32)
    items = list(targets)
    if len(items) != n:
        raise EmonbError(f"got {len(items)} targets for {n} images")
    if any(isinstance(t, str) and t == "predicted" for t in items):
        pred = predicted()
        return np.asarray(
            [pred[i] if t == "predicted" else one(t) for i, t in enumerate(items)], dtype=np.int32
        )
    return np.asarray([one(t) for t in items], dtype=np.int32)


def normalize_maps(maps: np.ndarray) -> np.ndarray:
    """Min-max normalise each map of (N, H, W) to [0, 1]; constant maps become zeros."""
    maps = np.nan_to_num(np.asarray(maps, dtype=np.float32))
    lo = maps.min(axis=(1, 2), keepdims=True)
    span = maps.max(axis=(1, 2), keepdims=True) - lo
    return np.where(span > 1e-12, (maps - lo) / np.where(span > 1e-12, span, 1.0), 0.0).astype(
        np.float32
    )


def spatial_conv_layers(model: keras.Model) -> list[str]:
    """Convolutional layers whose output is still spatial (h, w > 1), input to output."""
    shapes = graph.output_shapes(model)  # one eager probe: adds no symbolic nodes to the layers
    return [n for n in graph.conv_layers(model) if len(shapes[n]) == 3 and min(shapes[n][:2]) > 1]


def last_conv_layer(model: keras.Model) -> str:
    """The last convolutional layer whose output is still spatial (h, w > 1)."""
    names = spatial_conv_layers(model)
    if not names:
        raise EmonbError(f"model {model.name!r} has no convolutional layer with a spatial output")
    return names[-1]


def _linear_copy(layer: keras.layers.Layer) -> keras.layers.Layer:
    """The same layer with a linear activation, sharing nothing but equal weights."""
    cfg = dict(layer.get_config(), activation="linear", name=layer.name + "_linear")
    clone = type(layer).from_config(cfg)
    shapes = getattr(layer, "_build_shapes_dict", None)
    if shapes:
        clone.build(**shapes)
    else:
        clone.build(layer.input.shape)
    clone.set_weights(layer.get_weights())
    return clone


def batchnorm_folds(model: keras.Model) -> dict[str, str]:
    """``{conv_name: bn_name}`` for every linear convolution whose only consumer is a
    BatchNormalization over channels: in inference mode each such pair is one convolution
    with folded weights."""
    layers = dict(graph.iter_layers(model))
    _, inputs = graph.dataflow(model)
    consumers: dict[str, int] = {}
    for srcs in inputs.values():
        for src in srcs:
            consumers[src] = consumers.get(src, 0) + 1
    folds: dict[str, str] = {}
    for name, bn in layers.items():
        if not isinstance(bn, keras.layers.BatchNormalization) or bn.axis not in (-1, 3, [3], [-1]):
            continue
        srcs = inputs.get(name, [])
        if len(srcs) != 1 or consumers.get(srcs[0]) != 1:
            continue
        conv = layers.get(srcs[0])
        if isinstance(conv, (keras.layers.Conv2D, keras.layers.SeparableConv2D)) and not isinstance(
            conv, keras.layers.DepthwiseConv2D
        ):
            if getattr(conv.activation, "__name__", "") == "linear":
                folds[srcs[0]] = name
    return folds


def _folded_copy(
    conv: keras.layers.Layer, bn: keras.layers.BatchNormalization
) -> keras.layers.Layer:
    """A new convolution computing ``bn(conv(x))`` (inference mode) in one op."""
    cfg = dict(conv.get_config(), activation="linear", use_bias=True, name=conv.name + "_bnfold")
    clone = type(conv).from_config(cfg)
    shapes = getattr(conv, "_build_shapes_dict", None)
    clone.build(**shapes) if shapes else clone.build(conv.input.shape)
    w = [np.asarray(v) for v in conv.get_weights()]
    mean, var = np.asarray(bn.moving_mean), np.asarray(bn.moving_variance)
    gamma = np.asarray(bn.gamma) if bn.gamma is not None else np.ones_like(mean)
    beta = np.asarray(bn.beta) if bn.beta is not None else np.zeros_like(mean)
    scale = gamma / np.sqrt(var + bn.epsilon)
    bias = w[-1] if conv.use_bias else np.zeros_like(mean)
    kernels = w[:-1] if conv.use_bias else w
    kernels[-1] = kernels[-1] * scale  # Conv2D kernel or SeparableConv2D pointwise kernel
    clone.set_weights([*kernels, (bias - mean) * scale + beta])
    return clone


def _modified_relu(rule: str) -> Callable:
    @tf.custom_gradient
    def relu(x):
        y = tf.nn.relu(x)

        def grad(dy):
            if rule == "relu":  # deconvnet: rectify the signal going backwards
                return tf.nn.relu(dy)
            return tf.nn.relu(dy) * tf.cast(x > 0, dy.dtype)  # guided backprop

        return y, grad

    return relu


def _is_relu(fn) -> bool:
    return getattr(fn, "__name__", "") == "relu"


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
    #: Backward rule through ReLUs (one of RELU_RULES); methods that differentiate use it.
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
        if isinstance(model, keras.Model):
            model = EmotionModel(model=model, spec=spec_from_model(model), name=model.name)
        if score not in ("logit", "probability"):
            raise EmonbError(f"score must be 'logit' or 'probability', not {score!r}")
        if score == "probability":
            warnings.warn(
                "explaining softmax probabilities: their gradients mix in every other class; "
                "score='logit' explains the class evidence itself",
                UserWarning,
                stacklevel=2,
            )
        self.net = model
        self.score = score
        self.batch_size = int(batch_size)
        self._copies: dict[str, keras.layers.Layer] = {}
        #: conv -> BatchNorm pairs computed as one convolution while explaining (same
        #: function, fewer ops: about a fifth faster forward and backward on the mini-Xception)
        self._folds = batchnorm_folds(model.model) if fold_batchnorm else {}
        self._predict: Callable | None = None
        last_name, last = list(graph.iter_layers(model.model))[-1]
        self._softmax_name = last_name if graph.is_softmax(last) else None

    # ---- public API -----------------------------------------------------------------
    @property
    def class_names(self) -> tuple[str, ...]:
        return self.net.class_names

    def scores(self, x: np.ndarray) -> np.ndarray:
        """The explained class scores (N, n_classes) of preprocessed images: logits, or
        softmax probabilities with ``score="probability"``. Runs the compiled forward pass
        (BatchNorm folded), not Keras' ``predict``, whose per-call set-up costs about 0.1 s."""
        if self._predict is None:
            self._predict = self._compile(lambda z: self._run(z)[0], with_targets=False)
        out = [
            self._predict(tf.constant(x[s : s + self.batch_size])).numpy()
            for s in range(0, len(x), self.batch_size)
        ]
        return np.concatenate(out) if out else np.zeros((0, len(self.class_names)), np.float32)

    def predict_indices(self, x: np.ndarray) -> np.ndarray:
        """Predicted class of preprocessed images (:meth:`scores`' argmax)."""
        return self.scores(x).argmax(axis=1)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (N, n_classes) of preprocessed images through the compiled
        forward pass: what ``EmotionModel.predict_proba`` gives, without its per-call cost."""
        s = self.scores(x)
        if self.score == "probability" and self._softmax_name is not None:
            return s
        z = s.astype(np.float64)
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return (z / z.sum(axis=1, keepdims=True)).astype(np.float32)

    def explain(self, images, targets: Targets = "predicted") -> np.ndarray:
        """Maps (N, H, W) float32 in [0, 1] at the model's input size, one per image."""
        return self.explain_inputs(self.net.preprocess(images), targets)

    def explain_inputs(self, x: np.ndarray, targets: Targets = "predicted") -> np.ndarray:
        """:meth:`explain` for images already preprocessed (``net.preprocess``), (N, H, W, C)."""
        idx = resolve_targets(targets, len(x), self.class_names, lambda: self.predict_indices(x))
        out = []
        for start in range(0, len(x), self.batch_size):
            raw = self._attribute(
                x[start : start + self.batch_size], idx[start : start + self.batch_size]
            )
            out.append(np.asarray(raw, dtype=np.float32))
        raw = np.concatenate(out)
        return normalize_maps(self._resize(raw))

    # ---- the hook ------------------------------------------------------------------------
    @abstractmethod
    def _attribute(self, x: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Raw maps (n, h, w) for a preprocessed batch ``x`` and class indices ``idx``."""

    # ---- shared machinery ----------------------------------------------------------------
    def _resize(self, maps: np.ndarray) -> np.ndarray:
        h, w = self.net.spec.input_size
        if maps.shape[1:] == (h, w):
            return maps
        return np.stack([cv2.resize(m, (w, h), interpolation=self.interpolation) for m in maps])

    def _use_relu_rule(self, relu_rule: str | None) -> None:
        """Set the ReLU backward rule (None keeps the class default); errors list the rules."""
        if relu_rule is None:
            return
        if relu_rule not in RELU_RULES:
            raise EmonbError(
                f"unknown ReLU rule {relu_rule!r}; choose one of {', '.join(RELU_RULES)}"
            )
        self.relu_rule = relu_rule

    def _replacement(self, relu_rule: str = "none") -> graph.Replace | None:
        """The leaf-layer substitutions for a run: linear final softmax, modified ReLUs.
        ``relu_rule`` was validated by :meth:`_use_relu_rule` (or is "none")."""
        softmax = self._softmax_name if self.score == "logit" else None
        modified = _modified_relu(relu_rule) if relu_rule != "none" else None
        read = set(self._read_layers())
        folds = {c: b for c, b in self._folds.items() if c not in read and b not in read}
        bns = set(folds.values())

        def replace(name: str, layer: keras.layers.Layer):
            if name in folds:
                return self._fused(name, layer, folds[name])
            if name in bns:
                return lambda x, **_: x
            if name == softmax:
                return graph.softmax_bypass(layer) or self._linear(name, layer)
            if modified is None:
                return None
            if isinstance(layer, keras.layers.ReLU) or (
                isinstance(layer, keras.layers.Activation) and _is_relu(layer.activation)
            ):
                return lambda x, **_: modified(x)
            if _is_relu(getattr(layer, "activation", None)):
                linear = self._linear(name, layer)
                return lambda x, **_: modified(linear(x))
            return None

        return replace

    def _read_layers(self) -> list[str]:
        """Layers whose own outputs a method reads (never folded into neighbours)."""
        layer = getattr(self, "layer", None)
        return [layer] if layer else []

    def _fused(self, name: str, conv: keras.layers.Layer, bn_name: str) -> Callable:
        key = f"{name}+{bn_name}"
        if key not in self._copies:
            bn = dict(graph.iter_layers(self.net.model))[bn_name]
            with tf.init_scope():
                self._copies[key] = _folded_copy(conv, bn)
        return self._copies[key]

    def _linear(self, name: str, layer: keras.layers.Layer) -> Callable:
        if name not in self._copies:
            with tf.init_scope():  # made eagerly, once, even when first needed while tracing
                self._copies[name] = _linear_copy(layer)
        return self._copies[name]

    def _compile(self, fn: Callable, with_targets: bool = True) -> Callable:
        """``tf.function`` of ``fn(x[, idx])`` traced once for any batch size."""
        h, w = self.net.spec.input_size
        sig = [tf.TensorSpec((None, h, w, self.net.spec.channels), tf.float32)]
        if with_targets:
            sig.append(tf.TensorSpec((None,), tf.int32))
        return tf.function(fn, input_signature=sig)

    def _run(self, x, relu_rule: str = "none"):
        """Scores (n, n_classes) and the record of every leaf output, on a concrete tensor."""
        return graph.run(self.net.model, x, replace=self._replacement(relu_rule))


def _select(scores, idx):
    """``scores[i, idx[i]]`` for each row, differentiably (one-hot product)."""
    return tf.reduce_sum(
        scores * tf.one_hot(idx, tf.shape(scores)[-1], dtype=scores.dtype), axis=-1
    )
