"""Stand-ins for leaf layers during one run, never written into the model.

- the softmax bypass (:func:`softmax_bypass`: explain logits, not probabilities);
- BatchNorm folding (:func:`batchnorm_folds`, :func:`folded_copy`: a convolution and the
  inference-mode BatchNorm after it computed as one convolution);
- ReLU backward rules (:func:`modified_relu`: deconvnet, guided backprop) and linear copies
  of layers with a built-in activation (:func:`linear_copy`).

:class:`emonb.models.runner.Runner` combines them into the ``replace`` callback of
:func:`emonb.models.tracing.run`. The caller's model is never modified: stand-ins are new
layers with copied weights.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from emonb._tf import keras, tf
from emonb.errors import EmonbError
from emonb.models import graph
from emonb.models.tracing import dataflow

__all__ = [
    "RELU_RULES",
    "batchnorm_folds",
    "check_relu_rule",
    "folded_copy",
    "folded_weights",
    "is_relu",
    "linear_copy",
    "modified_relu",
    "softmax_bypass",
]

#: Backward rules through ReLUs: plain gradient, deconvnet ("relu": pass positive upstream
#: gradient only) and guided backprop (positive gradient where the input was positive).
RELU_RULES = ("none", "relu", "guided")


def softmax_bypass(layer: keras.layers.Layer) -> Callable | None:
    """A stand-in for a softmax ``layer`` that returns its logits (pre-softmax input), reading
    the layer's own weights; None when emonb does not know how for this layer type."""
    if isinstance(layer, (keras.layers.Activation, keras.layers.Softmax)):
        return lambda x, *args, **kwargs: x
    if isinstance(layer, keras.layers.Dense) and getattr(layer, "quantization_mode", None) is None:

        def dense_logits(x, *args, **kwargs):
            z = tf.matmul(x, layer.kernel)
            return z + layer.bias if layer.use_bias else z

        return dense_logits
    return None


def _rebuilt(layer: keras.layers.Layer, input_shape: tuple, **config) -> keras.layers.Layer:
    """A new layer of ``layer``'s type and config (updated by ``config``), built for
    ``input_shape`` (public ``build``; the shape comes from :func:`dataflow`)."""
    clone = type(layer).from_config(dict(layer.get_config(), **config))
    clone.build(input_shape)
    return clone


def linear_copy(layer: keras.layers.Layer, input_shape: tuple) -> keras.layers.Layer:
    """The same layer with a linear activation and equal (copied) weights."""
    clone = _rebuilt(layer, input_shape, activation="linear", name=layer.name + "_linear")
    clone.set_weights(layer.get_weights())
    return clone


def folded_copy(conv: keras.layers.Layer, bn: keras.layers.BatchNormalization,
                input_shape: tuple) -> keras.layers.Layer:  # fmt: skip
    """A new convolution computing ``bn(conv(x))`` (inference mode) in one op."""
    clone = _rebuilt(conv, input_shape, activation="linear", use_bias=True,
                     name=conv.name + "_bnfold")  # fmt: skip
    clone.set_weights(folded_weights(conv, bn))
    return clone


def folded_weights(conv: keras.layers.Layer, bn: keras.layers.BatchNormalization) -> list[np.ndarray]:
    """The weights of :func:`folded_copy`'s convolution, from ``conv``'s and ``bn``'s
    current values (kernels, then the folded bias)."""
    w = [np.asarray(v) for v in conv.get_weights()]
    mean, var = np.asarray(bn.moving_mean), np.asarray(bn.moving_variance)
    gamma = np.asarray(bn.gamma) if bn.gamma is not None else np.ones_like(mean)
    beta = np.asarray(bn.beta) if bn.beta is not None else np.zeros_like(mean)
    scale = gamma / np.sqrt(var + bn.epsilon)
    bias = w[-1] if conv.use_bias else np.zeros_like(mean)
    kernels = w[:-1] if conv.use_bias else w
    kernels[-1] = kernels[-1] * scale  # Conv2D kernel or SeparableConv2D pointwise kernel
    return [*kernels, (bias - mean) * scale + beta]


def batchnorm_folds(model: keras.Model, flow: dict[str, dict] | None = None) -> dict[str, str]:
    """``{conv_name: bn_name}`` for every linear convolution whose only consumer is a
    BatchNormalization over channels: in inference mode each such pair is one convolution
    with folded weights."""
    layers = dict(graph.iter_layers(model))
    flow = dataflow(model) if flow is None else flow
    consumers: dict[str, int] = {}
    for f in flow.values():
        for src in f["inputs"]:
            consumers[src] = consumers.get(src, 0) + 1
    folds: dict[str, str] = {}
    for name, bn in layers.items():
        if not isinstance(bn, keras.layers.BatchNormalization) or bn.axis not in (-1, 3, [3], [-1]):
            continue
        srcs = flow.get(name, {}).get("inputs", [])
        if len(srcs) != 1 or consumers.get(srcs[0]) != 1:
            continue
        conv = layers.get(srcs[0])
        if isinstance(conv, (keras.layers.Conv2D, keras.layers.SeparableConv2D)) and not isinstance(
            conv, keras.layers.DepthwiseConv2D
        ):
            if getattr(conv.activation, "__name__", "") == "linear":
                folds[srcs[0]] = name
    return folds


def modified_relu(rule: str) -> Callable:
    """A ReLU whose backward pass follows ``rule``: ``"relu"`` (deconvnet: rectify the
    gradient going back) or ``"guided"`` (guided backprop: rectified gradient, and only
    where the forward input was positive). The forward pass is the ordinary ReLU.

    References: Zeiler & Fergus, ECCV 2014; Springenberg et al., ICLR workshop 2015.
    """

    @tf.custom_gradient
    def relu(x):
        y = tf.nn.relu(x)

        def grad(dy):
            if rule == "relu":  # deconvnet: rectify the signal going backwards
                return tf.nn.relu(dy)
            return tf.nn.relu(dy) * tf.cast(x > 0, dy.dtype)  # guided backprop

        return y, grad

    return relu


def check_relu_rule(rule: str) -> str:
    """``rule`` if it is one of :data:`RELU_RULES`; otherwise an error listing them."""
    if rule not in RELU_RULES:
        raise EmonbError(f"unknown ReLU rule {rule!r}; choose one of {', '.join(RELU_RULES)}")
    return rule


def is_relu(fn) -> bool:
    """Whether ``fn`` (an activation function) is the ReLU."""
    return getattr(fn, "__name__", "") == "relu"
