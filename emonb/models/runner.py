"""The one place that runs a model for emonb: :class:`Runner`.

Everything in emonb that needs a model's outputs, intermediate activations or gradients
comes here (as pytorch-grad-cam's ``ActivationsAndGradients`` and captum's
``_utils/gradient.py`` serve their methods): compiled scores and probabilities in batches
(also with one layer's channels scaled per image, for ablations), input and layer
gradients, class targets. It runs the model leaf by leaf (:mod:`emonb.models.tracing`)
with the stand-ins of :mod:`emonb.models.substitutions` for one run, never written into
the model, and parses targets with :func:`emonb.models.targets.resolve_targets`.

:func:`runner_for` gives each :class:`~emonb.models.zoo.EmotionModel` one default runner
(the model's function exactly); :func:`predict_proba` and :func:`predict` use it.
"""

from __future__ import annotations

import hashlib
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Literal, TypeVar

import numpy as np

from emonb._tf import keras, tf
from emonb.errors import EmonbError
from emonb.models import graph
from emonb.models.substitutions import (
    batchnorm_folds,
    check_relu_rule,
    folded_copy,
    folded_weights,
    is_relu,
    linear_copy,
    modified_relu,
    softmax_bypass,
)
from emonb.models.targets import Targets, resolve_targets, select
from emonb.models.tracing import Replace, dataflow, output_shapes, run
from emonb.models.zoo import EmotionModel

__all__ = ["REMEMBER_BYTES", "ClassScore", "Runner", "Score", "array_digest", "class_probability",
           "predict", "predict_proba", "reload_weights", "runner_for"]  # fmt: skip

T = TypeVar("T")

Score = Literal["logit", "probability"]
#: ``score(x, targets) -> (N,)``: each preprocessed image's score for its target class (what
#: the perturbation metrics and the AU Shapley game call; :func:`class_probability`).
ClassScore = Callable[[np.ndarray, np.ndarray], np.ndarray]


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
        self._copy_weights: dict[str, Callable[[], list]] = {}
        net.derived.setdefault(_RUNNERS, weakref.WeakSet()).add(self)  # see reload_weights
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
        return output_shapes(self.net.model, self._flow)

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

    def input_gradients_fn(self, relu_rule: str = "none") -> Callable:
        """Compiled :meth:`input_gradients` under ``relu_rule``: ``fn(x, idx)`` on tensors,
        shared by every runner of the model with this one's score and folding
        (:meth:`shared`)."""
        return self.shared(("input_gradients", relu_rule), lambda: self.compile(
            lambda x, idx: self.input_gradients(x, idx, relu_rule=relu_rule)))  # fmt: skip

    def layer_gradients_fn(self, layer: str, relu_rule: str = "none",
                           gradients: bool = True) -> Callable:  # fmt: skip
        """Compiled :meth:`layer_gradients`: ``fn(x, idx) -> (activations, gradients)`` on
        tensors, shared as :meth:`input_gradients_fn`."""
        return self.shared(("layer_gradients", layer, relu_rule, bool(gradients)),
                           lambda: self.compile(lambda x, idx: self.layer_gradients(
                               x, idx, layer, relu_rule=relu_rule, gradients=gradients)))  # fmt: skip

    def shared(self, key: tuple, make: Callable[[], Callable]) -> Callable:
        """The compiled function ``key`` of this model, made by ``make`` (a :meth:`compile`
        of this runner) the first time any runner of the model with the same score and
        folding asks for it, and kept with the model (:attr:`EmotionModel.derived`): the
        explainers of one model trace each function once, not once each. (It runs on the
        runner that made it, which is kept alive with it; :func:`reload_weights` reaches
        it.)"""
        cache = self.net.derived.setdefault(_COMPILED, {})
        full = (self.score, bool(self._folds), *key)
        if full not in cache:
            cache[full] = make()
        return cache[full]

    def remember(self, key: tuple, make: Callable[[], T]) -> T:
        """``make()`` (an array, or a tuple of arrays), computed once for ``key`` and the
        model's weights as they are now, with this runner's score and folding, and kept
        with the model (:attr:`EmotionModel.derived`) for every runner of it: SmoothGrad,
        SquareGrad and VarGrad of the same images, noise and seed share one set of noisy
        gradients (:meth:`~emonb.methods.gradients.NoiseTunnel.noisy_sums`). ``key`` names
        the computation and its inputs (:func:`array_digest` for arrays). The weights'
        digest is part of the key, so weights assigned since (re-drawn, trained further)
        are never answered from the store. The store keeps the most recent results up to
        :data:`REMEMBER_BYTES`."""
        store = self.net.derived.setdefault(_REMEMBERED, OrderedDict())
        full = (self.score, bool(self._folds), array_digest(*self.net.model.get_weights()), *key)
        if full in store:
            store.move_to_end(full)
            return store[full][0]
        value = make()
        size = sum(np.asarray(v).nbytes for v in (value if isinstance(value, tuple) else (value,)))
        store[full] = (value, size)
        total = sum(s for _, s in store.values())
        while total > REMEMBER_BYTES and len(store) > 1:
            total -= store.popitem(last=False)[1][1]
        return value

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
            self._scores_fn = self.shared(("scores",), lambda: self.compile(
                lambda z: self.run(z)[0], with_targets=False))  # fmt: skip
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

    def reload_weights(self) -> None:
        """Read the model's weights again into the stand-ins made from them (folded
        convolutions, linear copies), after new values were assigned to the model's
        variables: the compiled functions then compute the model with its new weights,
        exactly as a new runner would, without being traced again."""
        for key, clone in self._copies.items():
            clone.set_weights(self._copy_weights[key]())

    # ---- substitutions for one run -----------------------------------------------------------
    def _replacement(self, relu_rule: str, keep: set[str]) -> Replace:
        check_relu_rule(relu_rule)
        softmax = self._softmax_name if self.score == "logit" else None
        modified = modified_relu(relu_rule) if relu_rule != "none" else None
        folds = {c: b for c, b in self._folds.items() if c not in keep and b not in keep}
        bns = set(folds.values())

        def replace(name: str, layer: keras.layers.Layer):
            if name in folds:
                bn = self._layers[folds[name]]
                return self._copy(name + "+" + folds[name], lambda: folded_copy(
                    layer, bn, self._flow[name]["input_shape"]),
                    lambda: folded_weights(layer, bn))  # fmt: skip
            if name in bns:
                return lambda x, **_: x
            if name == softmax:
                return softmax_bypass(layer) or self._linear(name, layer)
            if modified is None:
                return None
            if isinstance(layer, keras.layers.ReLU) or (
                isinstance(layer, keras.layers.Activation) and is_relu(layer.activation)
            ):
                return lambda x, **_: modified(x)
            if is_relu(getattr(layer, "activation", None)):
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
        return self._copy(name, lambda: linear_copy(layer, self._flow[name]["input_shape"]),
                          layer.get_weights)  # fmt: skip

    def _copy(self, key: str, make: Callable[[], keras.layers.Layer],
              weights: Callable[[], list]) -> keras.layers.Layer:  # fmt: skip
        """The stand-in ``key``, made by ``make`` once; ``weights()`` gives its weights from
        the model's current ones (:meth:`reload_weights`)."""
        if key not in self._copies:
            with tf.init_scope():  # made eagerly, once, even when first needed while tracing
                self._copies[key] = make()
            self._copy_weights[key] = weights
        return self._copies[key]


#: The key of :attr:`EmotionModel.derived` under which every runner of the model is kept
#: (weakly): :func:`reload_weights`.
_RUNNERS = "runners"
#: The key of :attr:`EmotionModel.derived` under which compiled functions are shared
#: (:meth:`Runner.shared`).
_COMPILED = "compiled"
#: The key of :attr:`EmotionModel.derived` of the results :meth:`Runner.remember` keeps.
_REMEMBERED = "remembered"
#: Bytes of results :meth:`Runner.remember` keeps per model (the oldest go first): the noisy
#: gradient sums of 500 mini-Xception inputs take about 24 MB.
REMEMBER_BYTES = 256 * 2**20


def array_digest(*arrays) -> str:
    """A digest of arrays' shapes, dtypes and bytes (a key for :meth:`Runner.remember`)."""
    h = hashlib.blake2b(digest_size=16)
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.shape}{a.dtype.str}".encode())
        h.update(a.data)
    return h.hexdigest()


def reload_weights(net: EmotionModel) -> None:
    """After new values were assigned to ``net``'s variables (e.g. re-drawn weights,
    :mod:`emonb.metrics.randomization`), make every live :class:`Runner` of ``net`` (and
    so every explainer of it) compute with them (:meth:`Runner.reload_weights`): their
    compiled functions are reused, not traced again."""
    for runner in list(net.derived.get(_RUNNERS, ())):
        runner.reload_weights()


def runner_for(net: EmotionModel) -> Runner:
    """``net``'s default :class:`Runner` (no BatchNorm folding: the model's function
    exactly), made on first use and kept with ``net`` (in its ``derived`` slot)."""
    if "runner" not in net.derived:
        net.derived["runner"] = Runner(net, fold_batchnorm=False)
    return net.derived["runner"]


def predict_proba(net: EmotionModel, images, batch_size: int = 64) -> np.ndarray:
    """Class probabilities (N, n_classes), float32, of any image(s) (softmax of the logits,
    through :func:`runner_for`)."""
    return runner_for(net).probabilities(net.preprocess(images), batch_size)


def predict(net: EmotionModel, images, batch_size: int = 64) -> list[str]:
    """Predicted class names of any image(s)."""
    proba = predict_proba(net, images, batch_size=batch_size)
    return [net.class_names[i] for i in proba.argmax(axis=1)]


def class_probability(runner: Runner) -> ClassScore:
    """``score(x, targets)``: each preprocessed image's probability of its target class,
    (N,) float32, by ``runner`` (:meth:`Runner.probabilities`, one compiled pass per batch)."""

    def score(x: np.ndarray, targets: np.ndarray) -> np.ndarray:
        p = runner.probabilities(np.asarray(x, dtype=np.float32))
        return p[np.arange(len(p)), np.asarray(targets)].astype(np.float32)

    return score
