"""The one place that runs a model: layer by layer, with substitutions, compiled.

Everything in emonb that needs a model's outputs, intermediate activations or gradients
comes here (as pytorch-grad-cam's ``ActivationsAndGradients`` and captum's
``_utils/gradient.py`` serve their methods):

- :func:`trace` / :func:`run` execute a Keras model leaf layer by leaf layer (through
  Sequential and nested models), recording every leaf's output, so a caller can read any
  activation or differentiate with respect to it inside a ``tf.GradientTape``;
- substitutions for one run, never written into the model: the softmax bypass (explain
  logits, not probabilities), BatchNorm folding (a convolution and the inference-mode
  BatchNorm after it computed as one convolution) and ReLU backward rules (deconvnet,
  guided backprop);
- :class:`Runner`: compiled scores and probabilities in batches (also with one layer's
  channels scaled per image, for ablations), input and layer gradients, and
  :func:`resolve_targets`, the one parser of class targets.

This is the only module that touches private Keras APIs (:data:`PRIVATE_KERAS_API`);
:func:`check_keras_api` fails loudly, naming the API, when a Keras release changes them.
The caller's model is never modified: stand-ins are new layers with copied weights.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from emonb._tf import keras, tf
from emonb.errors import EmonbError
from emonb.models import graph

if TYPE_CHECKING:
    from emonb.models.zoo import EmotionModel

__all__ = [
    "PRIVATE_KERAS_API",
    "RELU_RULES",
    "Runner",
    "Targets",
    "batchnorm_folds",
    "check_keras_api",
    "check_relu_rule",
    "dataflow",
    "feature_model",
    "last_conv_layer",
    "layer_table",
    "modified_relu",
    "output_shapes",
    "resolve_targets",
    "run",
    "select",
    "softmax_bypass",
    "spatial_conv_layers",
    "trace",
]

#: Private Keras APIs used here, and what for. Nothing else in emonb uses any.
PRIVATE_KERAS_API: dict[str, str] = {
    "Functional._run_through_graph": (
        "runs a Functional model's graph op by op with a callable per layer (trace)"
    ),
}

Targets = int | str | Sequence[int | str] | np.ndarray | None
Score = Literal["logit", "probability"]
#: Backward rules through ReLUs: plain gradient, deconvnet ("relu": pass positive upstream
#: gradient only) and guided backprop (positive gradient where the input was positive).
RELU_RULES = ("none", "relu", "guided")

#: ``replace(qualified_name, layer) -> callable | None``: a stand-in for a leaf layer, or None.
Replace = Callable[[str, keras.layers.Layer], Callable | None]


# ---- Keras' private API, checked ----------------------------------------------------------
def check_keras_api() -> None:
    """Raise :class:`EmonbError` naming each private Keras API of :data:`PRIVATE_KERAS_API`
    that this Keras release no longer has (run by the test suite)."""
    inp = keras.Input((4, 4, 1))
    model = keras.Model(inp, keras.layers.Conv2D(2, 3)(inp))
    missing = [api for api in PRIVATE_KERAS_API if not hasattr(model, api.split(".", 1)[1])]
    if missing:
        raise EmonbError(
            f"Keras {keras.__version__} lacks the private API emonb.models.runner uses: "
            + "; ".join(f"{api} ({PRIVATE_KERAS_API[api]})" for api in missing)
            + ". Install the Keras version pinned in requirements.txt."
        )


# ---- running a model leaf by leaf ------------------------------------------------------------
def trace(model: keras.Model, x, *, replace: Replace | None = None,
          training: bool | None = None, record: dict | None = None, prefix: str = ""):  # fmt: skip
    """Run ``model``'s graph on ``x`` (symbolic or concrete), calling leaf layers directly.

    Every leaf output is stored in ``record`` under its qualified name (nested models are
    expanded, see :func:`emonb.models.graph.iter_layers`). ``replace`` may substitute a
    callable for any leaf layer; the layer itself is left untouched.
    """
    record = {} if record is None else record

    def call_leaf(layer: keras.layers.Layer, *args, **kwargs):
        name = prefix + layer.name
        if graph.is_container(layer):
            return trace(layer, args[0], replace=replace, training=training, record=record,
                         prefix=name + "/")  # fmt: skip
        fn = replace(name, layer) if replace is not None else None
        if fn is not None:
            out = fn(*args, **kwargs)
        else:
            if training is not None:
                kwargs.setdefault("training", training)
            out = layer(*args, **kwargs)
        record[name] = out
        return out

    if isinstance(model, keras.Sequential):
        for layer in graph.sublayers(model):
            x = call_leaf(layer, x)
        return x
    if hasattr(model, "_run_through_graph"):  # Functional (Keras 3): PRIVATE_KERAS_API
        return model._run_through_graph(
            x, operation_fn=lambda op: lambda *a, **k: call_leaf(op, *a, **k)
        )
    if type(model).__name__ == "Functional":
        check_keras_api()  # a Functional model without it: name the missing private API
    raise EmonbError(
        f"model {model.name!r} is a subclassed model ({type(model).__name__}); emonb can only look inside "
        "Functional and Sequential models (wrap it: keras.Sequential([keras.Input(shape), model]))"
    )


def run(model: keras.Model, x, *, replace: Replace | None = None, training: bool = False):
    """Execute ``model`` on a concrete tensor ``x`` leaf by leaf; returns ``(output, record)``.

    ``record`` maps every leaf layer's qualified name to its output, so gradients can be
    taken with respect to any intermediate activation inside a ``tf.GradientTape``.
    """
    record: dict = {}
    out = trace(model, x, replace=replace, training=training, record=record)
    if isinstance(out, (list, tuple)) and len(out) == 1:  # HDF5 models keep a one-item output list
        out = out[0]
    return out, record


def feature_model(
    model: keras.Model, layers: Sequence[str | int], *, include_output: bool = False
) -> keras.Model:
    """A new model: input -> outputs of ``layers`` (+ the final output if ``include_output``).

    Shares weights with ``model`` (nothing is copied or changed), works through Sequential
    and nested models. Outputs come in the order asked.
    """
    names = [graph.find_layer(model, lyr)[0] for lyr in layers]
    inp = keras.Input(shape=graph.input_shape(model), name="emonb_input")
    record: dict = {}
    final = trace(model, inp, record=record)
    outputs = [record[n] for n in names]
    if include_output:
        outputs.append(final)
    return keras.Model(inp, outputs, name=f"{model.name}_features")


def dataflow(model: keras.Model) -> dict[str, dict]:
    """Per leaf layer: ``shape`` (output, without batch), ``input_shape`` (first input,
    with batch) and ``inputs`` (producer names, ``"<input>"`` for the model's input).

    Found by one eager run on a batch of zeros, so no symbolic node is added to any layer.
    """
    x = tf.zeros((1, *graph.input_shape(model)))
    producer: dict[int, str] = {id(x): "<input>"}
    flow: dict[str, dict] = {}

    def replace(name: str, layer: keras.layers.Layer):
        def call(*args, **kwargs):
            flat = tf.nest.flatten(args)
            out = layer(*args, **kwargs)
            for t in tf.nest.flatten(out):
                producer[id(t)] = name
            flow[name] = {
                "inputs": [producer[id(t)] for t in flat if id(t) in producer],
                "input_shape": tuple(flat[0].shape),
                "shape": tuple(int(d) for d in tf.nest.flatten(out)[0].shape[1:]),
            }
            return out

        return call

    trace(model, x, replace=replace)
    return flow


def output_shapes(model: keras.Model) -> dict[str, tuple[int, ...]]:
    """Every leaf layer's output shape without the batch axis (see :func:`dataflow`)."""
    return {name: f["shape"] for name, f in dataflow(model).items()}


def layer_table(model: keras.Model):
    """Leaf layers as a table (pandas DataFrame): name, type, output shape, parameters."""
    import pandas as pd

    shapes = output_shapes(model)
    rows = []
    for name, layer in graph.iter_layers(model):
        shape = str(shapes[name]) if name in shapes else ""
        rows.append({"layer": name, "type": type(layer).__name__, "output shape": shape,
                     "parameters": int(layer.count_params())})  # fmt: skip
    return pd.DataFrame(rows)


def spatial_conv_layers(model: keras.Model,
                        shapes: Mapping[str, tuple[int, ...]] | None = None) -> list[str]:  # fmt: skip
    """Convolutional layers whose output is still spatial (h, w > 1), input to output.
    ``shapes``: the output shapes when known (:attr:`Runner.output_shapes`), else one run."""
    shapes = output_shapes(model) if shapes is None else shapes
    return [n for n in graph.conv_layers(model) if len(shapes[n]) == 3 and min(shapes[n][:2]) > 1]


def last_conv_layer(model: keras.Model,
                    shapes: Mapping[str, tuple[int, ...]] | None = None) -> str:  # fmt: skip
    """The last convolutional layer whose output is still spatial (h, w > 1)."""
    names = spatial_conv_layers(model, shapes)
    if not names:
        raise EmonbError(f"model {model.name!r} has no convolutional layer with a spatial output")
    return names[-1]


# ---- substitutions ------------------------------------------------------------------------
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


def _is_relu(fn) -> bool:
    return getattr(fn, "__name__", "") == "relu"


def select(scores, idx):
    """``scores[i, idx[i]]`` for each row, differentiably (one-hot product)."""
    return tf.reduce_sum(
        scores * tf.one_hot(idx, tf.shape(scores)[-1], dtype=scores.dtype), axis=-1
    )


# ---- targets ---------------------------------------------------------------------------------
def resolve_targets(targets: Targets, n: int, class_names: Sequence[str],
                    predicted: Callable[[], np.ndarray] | None = None) -> np.ndarray:  # fmt: skip
    """Class indices (n,) from an int, a class name, ``"predicted"``/None, or a per-image list.

    ``predicted()`` gives the predicted classes; it is called only when a target asks for
    them. Unknown names and out-of-range indices raise :class:`EmonbError` listing the
    valid ones. The one target parser of emonb.
    """

    def one(t) -> int:
        if isinstance(t, (int, np.integer)) and not isinstance(t, bool):
            if 0 <= int(t) < len(class_names):
                return int(t)
            raise EmonbError(f"class index {t} is out of range 0..{len(class_names) - 1}")
        if isinstance(t, str) and t in class_names:
            return list(class_names).index(t)
        raise EmonbError(f"unknown class {t!r}; use an index 0..{len(class_names) - 1}, "
                         f"'predicted' or one of: {', '.join(class_names)}")  # fmt: skip

    def pred() -> np.ndarray:
        if predicted is None:
            raise EmonbError("'predicted' needs the model's predictions here")
        return np.asarray(predicted(), dtype=np.int32)

    if targets is None or (isinstance(targets, str) and targets == "predicted"):
        return pred()
    if isinstance(targets, (str, int, np.integer)):
        return np.full(n, one(targets), dtype=np.int32)
    items = list(targets)
    if len(items) != n:
        raise EmonbError(f"got {len(items)} targets for {n} images")
    if any(isinstance(t, str) and t == "predicted" for t in items):
        p = pred()
        return np.asarray(
            [p[i] if t == "predicted" else one(t) for i, t in enumerate(items)], dtype=np.int32
        )
    return np.asarray([one(t) for t in items], dtype=np.int32)


# ---- the runner ------------------------------------------------------------------------------
class Runner:
    """Runs one model for emonb: scores, probabilities, activations, gradients.

    Parameters
    ----------
    net : EmotionModel
        The model (:func:`emonb.models.zoo.as_emotion_model` wraps a bare Keras model).
    score : "logit" or "probability"
        What :meth:`scores` returns and gradients are taken of: the pre-softmax class
        score (default) or the softmax output.
    batch_size : int
        Images per compiled call.
    fold_batchnorm : bool
        Compute each convolution + inference BatchNorm pair as one convolution with folded
        weights (the same function, fewer ops: about a fifth faster on the mini-Xception;
        float rounding differs slightly).
    """

    def __init__(self, net: EmotionModel, *, score: Score = "logit", batch_size: int = 64,
                 fold_batchnorm: bool = True):  # fmt: skip
        if score not in ("logit", "probability"):
            raise EmonbError(f"score must be 'logit' or 'probability', not {score!r}")
        self.net = net
        self.score = score
        self.batch_size = int(batch_size)
        self._layers = dict(graph.iter_layers(net.model))
        self._flow = dataflow(net.model)
        self._folds = batchnorm_folds(net.model, self._flow) if fold_batchnorm else {}
        last_name, last = list(self._layers.items())[-1]
        self._softmax_name = last_name if graph.is_softmax(last) else None
        self._copies: dict[str, keras.layers.Layer] = {}
        self._scores_fn: Callable | None = None
        self._ablated_fns: dict[str, Callable] = {}

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.net.class_names

    def output_shape(self, layer: str) -> tuple[int, ...]:
        """A leaf layer's output shape without the batch axis."""
        return self._flow[layer]["shape"]

    @property
    def output_shapes(self) -> dict[str, tuple[int, ...]]:
        """Every leaf layer's output shape (found once, when the runner was made)."""
        return {name: f["shape"] for name, f in self._flow.items()}

    # ---- tensors in, tensors out (call inside tf.function / GradientTape) ------------------
    def run(self, x, *, relu_rule: str = "none", keep: Iterable[str] = ()):
        """Scores (n, n_classes) and the record of every leaf output, for a tensor ``x``.

        ``relu_rule`` picks the ReLU backward rule (:data:`RELU_RULES`); ``keep`` names
        layers whose own outputs the caller reads (never folded into a neighbour).
        """
        return run(self.net.model, x, replace=self._replacement(relu_rule, set(keep)))

    def input_gradients(self, x, idx, *, relu_rule: str = "none"):
        """d score[idx] / d x for a batch tensor ``x`` (n, H, W, C)."""
        with tf.GradientTape() as tape:
            tape.watch(x)
            scores, _ = self.run(x, relu_rule=relu_rule)
            target = select(scores, idx)
        return tape.gradient(target, x)

    def layer_gradients(self, x, idx, layer: str, *, relu_rule: str = "none",
                        gradients: bool = True):  # fmt: skip
        """``layer``'s activations and d score[idx] / d activations (zeros when
        ``gradients`` is False), each (n, h, w, k)."""
        return self.scored_layer_gradients(x, idx, layer, relu_rule=relu_rule,
                                           gradients=gradients)[2:]  # fmt: skip

    def scored_layer_gradients(self, x, idx, layer: str, *, relu_rule: str = "none",
                               gradients: bool = True):  # fmt: skip
        """:meth:`layer_gradients` with the scores and the classes: ``(scores (n,
        n_classes), idx (n,), activations, gradients)``; ``idx`` None takes each image's
        top class in the graph (``tf.argmax`` of the scores: one pass for both)."""
        with tf.GradientTape() as tape:
            scores, record = self.run(x, relu_rule=relu_rule, keep=[layer])
            acts = record[layer]
            if idx is None:
                idx = tf.argmax(scores, axis=1, output_type=tf.int32)
            target = select(scores, idx)
        grads = tape.gradient(target, acts) if gradients else tf.zeros_like(acts)
        return scores, idx, acts, grads

    def compile(self, fn: Callable, *, with_targets: bool = True) -> Callable:
        """``tf.function`` of ``fn(x[, idx])``, traced once for any batch size."""
        h, w = self.net.spec.input_size
        sig = [tf.TensorSpec((None, h, w, self.net.spec.channels), tf.float32)]
        if with_targets:
            sig.append(tf.TensorSpec((None,), tf.int32))
        return tf.function(fn, input_signature=sig)

    # ---- arrays in, arrays out ----------------------------------------------------------
    def scores(self, x: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Class scores (N, n_classes) of preprocessed images: logits, or softmax
        probabilities with ``score="probability"``, through one compiled pass per batch
        (not Keras' ``predict``, whose per-call set-up costs about 0.1 s)."""
        if self._scores_fn is None:
            self._scores_fn = self.compile(lambda z: self.run(z)[0], with_targets=False)
        b = batch_size or self.batch_size
        out = [
            self._scores_fn(tf.constant(x[s : s + b], tf.float32)).numpy()
            for s in range(0, len(x), b)
        ]
        return np.concatenate(out) if out else np.zeros((0, len(self.class_names)), np.float32)

    def probabilities(self, x: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Class probabilities (N, n_classes) of preprocessed images (softmax in float64
        over :meth:`scores` when those are logits)."""
        return self.to_probabilities(self.scores(x, batch_size))

    def to_probabilities(self, s: np.ndarray) -> np.ndarray:
        """Probabilities (N, n_classes) from this runner's scores (N, n_classes), as
        :meth:`probabilities` makes them (scores computed elsewhere: a fused pass)."""
        if self.score == "probability" and self._softmax_name is not None:
            return np.asarray(s, np.float32)
        z = np.asarray(s).astype(np.float64)
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return (z / z.sum(axis=1, keepdims=True)).astype(np.float32)

    def ablated_scores(self, x: np.ndarray, layer: str, channel_scale: np.ndarray,
                       batch_size: int | None = None) -> np.ndarray:  # fmt: skip
        """Class scores (N, n_classes), as :meth:`scores`, with ``layer``'s output multiplied
        channel by channel by ``channel_scale`` (N, k), one row per image (zeros ablate a
        channel, as Ablation-CAM does).

        ``layer`` is a leaf layer's qualified name; it is computed on its own (never folded
        into a BatchNorm), and everything above it sees the scaled output. One compiled pass
        per batch of ``batch_size`` images.
        """
        if layer not in self._flow:
            raise EmonbError(f"unknown layer {layer!r}; choose one of: {', '.join(self._flow)}")
        k = self.output_shape(layer)[-1]
        scale = np.asarray(channel_scale, dtype=np.float32)
        if scale.shape != (len(x), k):
            raise EmonbError(
                f"channel_scale must have shape {(len(x), k)} (images, channels of {layer!r}), "
                f"not {scale.shape}"
            )
        if layer not in self._ablated_fns:
            prebuild = self._scaled(layer, None)
            for name, lyr in self._layers.items():  # stand-ins made now: no retrace for them
                prebuild(name, lyr)
            h, w = self.net.spec.input_size
            sig = [tf.TensorSpec((None, h, w, self.net.spec.channels), tf.float32),
                   tf.TensorSpec((None, k), tf.float32)]  # fmt: skip
            self._ablated_fns[layer] = tf.function(
                lambda z, s: run(self.net.model, z, replace=self._scaled(layer, s))[0],
                input_signature=sig,
            )
        fn, b = self._ablated_fns[layer], batch_size or self.batch_size
        out = [
            fn(tf.constant(x[s : s + b], tf.float32), tf.constant(scale[s : s + b])).numpy()
            for s in range(0, len(x), b)
        ]
        return np.concatenate(out) if out else np.zeros((0, len(self.class_names)), np.float32)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predicted class indices of preprocessed images (:meth:`scores`' argmax)."""
        return self.scores(x).argmax(axis=1)

    def targets(self, targets: Targets, x: np.ndarray) -> np.ndarray:
        """Class indices for the preprocessed batch ``x`` (:func:`resolve_targets`;
        ``"predicted"`` runs the model)."""
        return resolve_targets(targets, len(x), self.class_names, lambda: self.predict(x))

    # ---- substitutions for one run -----------------------------------------------------------
    def _replacement(self, relu_rule: str, keep: set[str]) -> Replace:
        check_relu_rule(relu_rule)
        softmax = self._softmax_name if self.score == "logit" else None
        modified = modified_relu(relu_rule) if relu_rule != "none" else None
        folds = {c: b for c, b in self._folds.items() if c not in keep and b not in keep}
        bns = set(folds.values())

        def replace(name: str, layer: keras.layers.Layer):
            if name in folds:
                return self._copy(name + "+" + folds[name], lambda: folded_copy(
                    layer, self._layers[folds[name]], self._flow[name]["input_shape"]))  # fmt: skip
            if name in bns:
                return lambda x, **_: x
            if name == softmax:
                return softmax_bypass(layer) or self._linear(name, layer)
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

    def _scaled(self, layer: str, scale) -> Replace:
        """The plain substitutions with ``layer`` kept out of folding and its output
        multiplied per sample and channel by ``scale`` (n, k)."""
        base = self._replacement("none", {layer})

        def replace(name: str, lyr: keras.layers.Layer):
            if name != layer:
                return base(name, lyr)
            inner = base(name, lyr)

            def call(*args, **kwargs):
                if inner is None:
                    kwargs.setdefault("training", False)
                out = inner(*args, **kwargs) if inner is not None else lyr(*args, **kwargs)
                shape = [-1] + [1] * (len(out.shape) - 2) + [out.shape[-1]]
                return out * tf.reshape(tf.cast(scale, out.dtype), shape)

            return call

        return replace

    def _linear(self, name: str, layer: keras.layers.Layer) -> Callable:
        return self._copy(name, lambda: linear_copy(layer, self._flow[name]["input_shape"]))

    def _copy(self, key: str, make: Callable[[], keras.layers.Layer]) -> keras.layers.Layer:
        if key not in self._copies:
            with tf.init_scope():  # made eagerly, once, even when first needed while tracing
                self._copies[key] = make()
        return self._copies[key]
