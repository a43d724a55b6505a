"""The one model runner: running layer by layer, substitutions, compiled scores, gradients,
target parsing — each against a plain Keras call or a hand-computed value."""

import sys

import numpy as np
import pytest

from emonb._tf import keras, tf
from emonb.errors import EmonbError
from emonb.models import runner as R
from emonb.models.runner import Runner
from emonb.models.zoo import as_emotion_model

TOL = {"rtol": 1e-5, "atol": 1e-6}


def _unchanged(snapshot, model, before) -> None:
    after = snapshot(model)
    assert after[1] == before[1]
    for a, b in zip(after[0], before[0], strict=True):
        np.testing.assert_array_equal(a, b)


def _inbound(model) -> list[int]:
    """How many times each layer was wired into a graph (running must not add nodes)."""
    return [len(layer._inbound_nodes) for layer in model.layers]


def bn_model(seed: int = 0) -> keras.Model:
    """conv -> BN -> ReLU -> separable conv -> BN -> conv(relu) -> GAP -> logits -> softmax,
    with random BatchNorm statistics (so folding has something to fold)."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input((12, 12, 1))
    x = keras.layers.Conv2D(4, 3, name="conv")(inp)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.ReLU(name="relu")(x)
    x = keras.layers.SeparableConv2D(6, 3, use_bias=False, name="sep")(x)
    x = keras.layers.BatchNormalization(name="bn2")(x)
    x = keras.layers.Conv2D(5, 3, activation="relu", name="conv2")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    x = keras.layers.Dense(7, name="logits")(x)
    out = keras.layers.Activation("softmax", name="softmax")(x)
    model = keras.Model(inp, out, name="bn_toy")
    rng = np.random.default_rng(seed)
    for name in ("bn", "bn2"):
        k = model.get_layer(name).gamma.shape[0]
        model.get_layer(name).set_weights([
            rng.uniform(0.5, 2.0, k), rng.normal(0, 0.5, k),  # gamma, beta
            rng.normal(0, 0.5, k), rng.uniform(0.2, 3.0, k),  # moving mean, variance
        ])  # fmt: skip
    return model


def _x(n: int, shape: tuple, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, *shape)).astype(np.float32)


# ---- the private Keras API ---------------------------------------------------------------
def test_check_keras_api_passes_on_the_pinned_keras():
    R.check_keras_api()


class _KerasOnly:
    """A class attribute that Keras' own modules still see but every other caller finds
    missing: what emonb meets after a Keras release renames or drops a private method
    (deleting it outright would break Keras itself, which builds models with it)."""

    def __init__(self, fn):
        self.fn = fn

    def __get__(self, obj, cls=None):
        if not sys._getframe(1).f_globals.get("__name__", "").startswith("keras."):
            raise AttributeError("_run_through_graph")
        return self.fn.__get__(obj, cls)


def test_check_keras_api_names_a_missing_private_api(monkeypatch):
    inp = keras.Input((4, 4, 1))
    model = keras.Model(inp, keras.layers.Conv2D(2, 3)(inp))
    owner = next(c for c in type(model).__mro__ if "_run_through_graph" in vars(c))
    monkeypatch.setattr(owner, "_run_through_graph", _KerasOnly(vars(owner)["_run_through_graph"]))
    assert not hasattr(model, "_run_through_graph")
    with pytest.raises(EmonbError, match=r"lacks the private API.*Functional\._run_through_graph"):
        R.check_keras_api()
    monkeypatch.undo()
    R.check_keras_api()


def test_subclassed_models_are_a_clear_error():
    class Sub(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(7)

        def call(self, x):
            return self.dense(keras.ops.reshape(x, (-1, 4)))

    model = Sub()
    model(np.zeros((1, 2, 2, 1), np.float32))
    with pytest.raises(EmonbError, match="subclassed model.*keras.Sequential"):
        R.run(model, tf.zeros((1, 2, 2, 1)))


# ---- running through awkward models (moved from test_graph) -------------------------------
def test_feature_model_through_sequential_without_input(toy_models, snapshot):
    model = toy_models["sequential_no_input"]()
    before = snapshot(model)
    fm = R.feature_model(model, ["c1", "c2"], include_output=True)
    x = _x(3, (20, 20, 1))
    c1, c2, out = fm(x)
    np.testing.assert_allclose(c1, model.get_layer("c1")(x), **TOL)
    ref_c2 = model.get_layer("c2")(model.get_layer("pool")(model.get_layer("c1")(x)))
    np.testing.assert_allclose(c2, ref_c2, **TOL)
    np.testing.assert_allclose(out, model(x), **TOL)
    assert fm.get_layer("c1") is model.get_layer("c1")
    _unchanged(snapshot, model, before)


def test_feature_model_through_nested_models(nested_models, snapshot):
    model, inner, block = nested_models
    before = snapshot(model)
    fm = R.feature_model(model, ["inner/irelu", "bc1", 0])  # qualified, bare, index
    x = _x(2, (20, 20, 1), seed=3)
    relu, bc1, ic1 = fm(x)
    np.testing.assert_allclose(relu, inner(x), **TOL)
    np.testing.assert_allclose(bc1, block(inner(x)), **TOL)
    np.testing.assert_allclose(ic1, inner.get_layer("ic1")(x), **TOL)
    with pytest.raises(EmonbError, match="valid names: inner/ic1"):
        R.feature_model(model, ["nope"])
    _unchanged(snapshot, model, before)


def test_dataflow_and_output_shapes(nested_models, toy_models):
    model, _, _ = nested_models
    assert R.dataflow(model) == {
        "inner/ic1": {"inputs": ["<input>"], "input_shape": (1, 20, 20, 1), "shape": (18, 18, 4)},
        "inner/irelu": {"inputs": ["inner/ic1"], "input_shape": (1, 18, 18, 4),
                        "shape": (18, 18, 4)},
        "block/bc1": {"inputs": ["inner/irelu"], "input_shape": (1, 18, 18, 4),
                      "shape": (16, 16, 5)},
        "gap": {"inputs": ["block/bc1"], "input_shape": (1, 16, 16, 5), "shape": (5,)},
        "head": {"inputs": ["gap"], "input_shape": (1, 5), "shape": (7,)},
    }  # fmt: skip
    seq = toy_models["sequential_no_input"]()
    assert R.output_shapes(seq) == {
        "c1": (18, 18, 4), "pool": (9, 9, 4), "c2": (7, 7, 6), "gap": (6,), "out": (7,)
    }  # fmt: skip


def test_dataflow_follows_branches():
    inp = keras.Input((6, 6, 1))
    a = keras.layers.Conv2D(2, 3, padding="same", name="a")(inp)
    b = keras.layers.Conv2D(2, 1, name="b")(a)
    s = keras.layers.Add(name="add")([a, b])
    out = keras.layers.Dense(7, name="d")(keras.layers.GlobalAveragePooling2D(name="g")(s))
    flow = R.dataflow(keras.Model(inp, out))
    assert flow["add"]["inputs"] == ["a", "b"] and flow["b"]["inputs"] == ["a"]
    assert flow["a"]["inputs"] == ["<input>"] and flow["add"]["shape"] == (6, 6, 2)


def test_layer_table_hand_counted(nested_models, toy_models):
    model, _, _ = nested_models
    table = R.layer_table(model)
    assert table["layer"].tolist() == ["inner/ic1", "inner/irelu", "block/bc1", "gap", "head"]
    assert table["type"].tolist() == ["Conv2D", "ReLU", "Conv2D", "GlobalAveragePooling2D",
                                      "Dense"]  # fmt: skip
    assert table["output shape"].tolist() == [
        "(18, 18, 4)", "(18, 18, 4)", "(16, 16, 5)", "(5,)", "(7,)"
    ]  # fmt: skip
    # 3*3*1*4 + 4, 0, 3*3*4*5 + 5, 0, 5*7 + 7
    assert table["parameters"].tolist() == [40, 0, 185, 0, 42]
    seq = R.layer_table(toy_models["sequential_no_input"]())
    assert seq["parameters"].tolist() == [40, 0, 222, 0, 49]  # 3*3*4*6 + 6, 6*7 + 7


def test_spatial_and_last_conv_layers():
    inp = keras.Input((5, 5, 1))
    x = keras.layers.Conv2D(2, 3, name="spatial")(inp)  # 3x3
    x = keras.layers.Conv2D(3, 3, name="point")(x)  # 1x1: no longer a map
    model = keras.Model(inp, keras.layers.Dense(7)(keras.layers.Flatten()(x)))
    assert R.spatial_conv_layers(model) == ["spatial"]
    assert R.last_conv_layer(model) == "spatial"
    dense = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(7)], name="flat")  # fmt: skip
    with pytest.raises(EmonbError, match="'flat' has no convolutional layer with a spatial"):
        R.last_conv_layer(dense)


# ---- substitutions ------------------------------------------------------------------------
def test_modified_relu_backward_rules_by_hand():
    x = tf.constant([-2.0, -0.5, 0.0, 0.5, 3.0])
    dy = tf.constant([1.0, -1.0, 1.0, -1.0, 2.0])
    expected = {
        "guided": [0.0, 0.0, 0.0, 0.0, 2.0],  # positive dy, where x > 0
        "relu": [1.0, 0.0, 1.0, 0.0, 2.0],  # positive dy, anywhere (deconvnet)
    }
    for rule, want in expected.items():
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = R.modified_relu(rule)(x)
            loss = tf.reduce_sum(y * dy)
        np.testing.assert_array_equal(y.numpy(), [0.0, 0.0, 0.0, 0.5, 3.0])
        np.testing.assert_array_equal(tape.gradient(loss, x).numpy(), want, err_msg=rule)


def _hand_model(relu: str) -> keras.Model:
    """x (1, 2, 1) -> Dense(4) -> ReLU -> Dense(7) with hand-set weights; at x = (1, 0.5)
    the hidden pre-activations are (2, 1, -0.5, -1) and d score_0 / d hidden = (-1, 3, 3, 1)."""
    inp = keras.Input((1, 2, 1))
    flat = keras.layers.Flatten()(inp)
    if relu == "dense":
        hidden = keras.layers.Dense(4, activation="relu", name="hidden")
        h = hidden(flat)
    else:
        hidden = keras.layers.Dense(4, name="hidden")
        act = keras.layers.ReLU() if relu == "layer" else keras.layers.Activation("relu")
        h = act(hidden(flat))
    head = keras.layers.Dense(7, name="head")
    model = keras.Model(inp, head(h))
    hidden.set_weights([np.array([[1, 0.5, -1, 1], [2, 1, 1, -4]], np.float32), np.zeros(4)])
    w = np.zeros((4, 7), np.float32)
    w[:, 0] = [-1, 3, 3, 1]
    head.set_weights([w, np.zeros(7, np.float32)])
    return model


@pytest.mark.parametrize("relu", ["dense", "layer", "activation"])
def test_input_gradients_under_each_relu_rule_by_hand(relu, snapshot):
    model = _hand_model(relu)
    before = snapshot(model)
    run = Runner(as_emotion_model(model))
    x = tf.constant([[[[1.0], [0.5]]]])
    # d/dx = W_hidden @ (rule applied to (-1, 3, 3, 1) with ReLU mask (1, 1, 0, 0))
    expected = {
        "none": [0.5, 1.0],  # (-1, 3, 0, 0)
        "relu": [-0.5, 2.0],  # (0, 3, 3, 1)
        "guided": [1.5, 3.0],  # (0, 3, 0, 0)
    }
    for rule, want in expected.items():
        g = run.input_gradients(x, tf.constant([0]), relu_rule=rule).numpy()
        np.testing.assert_allclose(g.reshape(2), want, rtol=1e-6, err_msg=rule)
    with pytest.raises(EmonbError, match="unknown ReLU rule 'leaky'; choose one of none, relu"):
        run.input_gradients(x, tf.constant([0]), relu_rule="leaky")
    _unchanged(snapshot, model, before)


def test_folded_copy_by_hand():
    inp = keras.Input((2, 2, 1))
    conv = keras.layers.Conv2D(1, 1)
    bn = keras.layers.BatchNormalization(epsilon=1e-3)
    keras.Model(inp, bn(conv(inp)))
    conv.set_weights([np.full((1, 1, 1, 1), 2.0), np.array([1.0])])
    # gamma 3, beta 0.5, mean 1, var 4 - eps: bn(conv(x)) = 3 * (2x + 1 - 1) / 2 + 0.5
    bn.set_weights([np.array([3.0]), np.array([0.5]), np.array([1.0]), np.array([4.0 - 1e-3])])
    folded = R.folded_copy(conv, bn, (None, 2, 2, 1))
    kernel, bias = folded.get_weights()
    np.testing.assert_allclose(kernel.ravel(), [3.0], rtol=1e-6)
    np.testing.assert_allclose(bias, [0.5], rtol=1e-6)
    x = np.arange(4, dtype=np.float32).reshape(1, 2, 2, 1)
    np.testing.assert_allclose(folded(x), 3 * x + 0.5, rtol=1e-6)
    np.testing.assert_array_equal(conv.get_weights()[0].ravel(), [2.0])  # original untouched


def test_batchnorm_folds_which_pairs():
    assert R.batchnorm_folds(bn_model()) == {"conv": "bn", "sep": "bn2"}
    inp = keras.Input((8, 8, 2))
    a = keras.layers.Conv2D(2, 3, activation="relu", name="relu_conv")(inp)
    a = keras.layers.BatchNormalization(name="bn_a")(a)  # conv is not linear
    b = keras.layers.Conv2D(2, 3, name="shared")(inp)
    b = keras.layers.Add(name="add")([b, keras.layers.BatchNormalization(name="bn_b")(b)])
    d = keras.layers.DepthwiseConv2D(3, name="dw")(inp)
    d = keras.layers.BatchNormalization(name="bn_d")(d)  # depthwise: not folded
    out = keras.layers.Concatenate()([a, b, d])
    assert R.batchnorm_folds(keras.Model(inp, out)) == {}


# ---- the runner against plain Keras -------------------------------------------------------
@pytest.mark.parametrize("fold", [False, True], ids=["unfolded", "folded"])
def test_scores_and_probabilities_equal_a_keras_call(fold, snapshot):
    model = bn_model()
    before, nodes = snapshot(model), _inbound(model)
    x = _x(5, (12, 12, 1), seed=1)
    probs = model(x, training=False).numpy()
    logits = keras.Model(model.inputs, model.get_layer("logits").output)(x).numpy()
    run = Runner(as_emotion_model(model), fold_batchnorm=fold, batch_size=2)  # 2 + 2 + 1
    np.testing.assert_allclose(run.scores(x), logits, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(run.probabilities(x), probs, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(run.predict(x), logits.argmax(axis=1))
    by_prob = Runner(as_emotion_model(model), score="probability", fold_batchnorm=fold)
    np.testing.assert_allclose(by_prob.scores(x), probs, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(by_prob.probabilities(x), probs, rtol=1e-5, atol=1e-6)
    assert run.scores(x[:0]).shape == (0, 7)
    _unchanged(snapshot, model, before)
    assert _inbound(model) == nodes


def test_folded_equals_unfolded():
    model = bn_model(seed=3)
    x = _x(6, (12, 12, 1), seed=2)
    net = as_emotion_model(model)
    folded, plain = Runner(net), Runner(net, fold_batchnorm=False)
    np.testing.assert_allclose(folded.scores(x), plain.scores(x), rtol=1e-5, atol=1e-5)
    # folding computes the BatchNorm inside the convolution: the folded "conv" output is
    # bn's output, unless a caller keeps "conv" to read it
    bn_out = keras.Model(model.inputs, model.get_layer("bn").output)(x).numpy()
    conv_out = keras.Model(model.inputs, model.get_layer("conv").output)(x).numpy()
    _, rec = folded.run(tf.constant(x))
    np.testing.assert_allclose(rec["conv"], bn_out, rtol=1e-5, atol=1e-5)
    _, kept = folded.run(tf.constant(x), keep=["conv"])
    np.testing.assert_allclose(kept["conv"], conv_out, **TOL)
    np.testing.assert_allclose(kept["bn"], bn_out, **TOL)


@pytest.mark.parametrize(("kind", "dense"), [("sequential_no_input", "out"), ("nested", "head")])
def test_softmax_bypass_gives_hand_computed_dense_logits(toy_models, kind, dense):
    model = toy_models[kind]()
    kernel = model.get_layer(dense).get_weights()[0].astype(np.float64)
    bias = np.linspace(-1.0, 1.0, 7)  # Keras starts biases at zero: give them a value
    model.get_layer(dense).set_weights([kernel, bias])
    x = _x(4, (20, 20, 1), seed=5)
    pooled = keras.Model(model.inputs, model.get_layer("gap").output)(x).numpy()
    logits = pooled @ kernel + bias
    run = Runner(as_emotion_model(model))
    np.testing.assert_allclose(run.scores(x), logits, rtol=1e-5, atol=1e-6)
    scores, _ = run.run(tf.constant(x))
    np.testing.assert_allclose(scores, logits, rtol=1e-5, atol=1e-6)
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(run.probabilities(x), softmax, rtol=1e-5, atol=1e-7)
    # the bypass stand-ins themselves
    np.testing.assert_array_equal(R.softmax_bypass(keras.layers.Softmax())(tf.constant(x)), x)
    stand_in = R.softmax_bypass(model.get_layer(dense))
    np.testing.assert_allclose(stand_in(tf.constant(pooled)), logits, rtol=1e-5, atol=1e-6)
    assert R.softmax_bypass(keras.layers.GlobalAveragePooling2D()) is None


def test_logit_model_without_softmax_is_run_as_is():
    keras.utils.set_random_seed(0)
    inp = keras.Input((6, 6, 1))
    out = keras.layers.Dense(7, name="d")(keras.layers.Flatten()(inp))
    model = keras.Model(inp, out)
    x = _x(3, (6, 6, 1))
    run = Runner(as_emotion_model(model), score="probability")
    z = model(x).numpy().astype(np.float64)
    # no softmax in the model: "probability" scores are its outputs; probabilities add one
    np.testing.assert_allclose(run.scores(x), z, **TOL)
    np.testing.assert_allclose(run.probabilities(x), np.exp(z) / np.exp(z).sum(1, keepdims=True),
                               rtol=1e-5, atol=1e-7)  # fmt: skip


@pytest.mark.parametrize(
    ("layer", "score"),
    [("conv", "logit"), ("relu", "logit"), ("conv2", "logit"), ("sep", "probability")],
)
def test_layer_gradients_equal_a_keras_sub_model_with_tape(layer, score, snapshot):
    model = bn_model(seed=2)
    before = snapshot(model)
    x = _x(3, (12, 12, 1), seed=4)
    idx = np.array([1, 4, 6], np.int32)
    top = "logits" if score == "logit" else "softmax"
    sub = keras.Model(model.inputs, [model.get_layer(layer).output, model.get_layer(top).output])
    with tf.GradientTape() as tape:
        acts, scores = sub(x, training=False)
        target = tf.reduce_sum(tf.gather(scores, idx, axis=1, batch_dims=1))
    ref_grads = tape.gradient(target, acts).numpy()
    run = Runner(as_emotion_model(model), score=score)  # folds conv+bn and sep+bn2 elsewhere
    a, g = run.layer_gradients(tf.constant(x), tf.constant(idx), layer)
    np.testing.assert_allclose(a, acts.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(g, ref_grads, rtol=1e-4, atol=1e-6)
    assert np.abs(ref_grads).max() > 1e-3  # a real gradient, not zeros on both sides
    a0, g0 = run.layer_gradients(tf.constant(x), tf.constant(idx), layer, gradients=False)
    np.testing.assert_allclose(a0, acts.numpy(), rtol=1e-5, atol=1e-6)
    assert not np.asarray(g0).any()
    _unchanged(snapshot, model, before)


def test_layer_gradients_inside_a_nested_model(nested_models):
    model, inner, block = nested_models
    x = _x(2, (20, 20, 1), seed=6)
    idx = np.array([2, 5], np.int32)
    kernel, bias = model.get_layer("head").get_weights()
    with tf.GradientTape() as tape:
        acts = block(inner(x))  # the nested models called by hand
        tape.watch(acts)
        logits = model.get_layer("gap")(acts) @ kernel + bias  # the head's logits, by hand
        target = tf.reduce_sum(tf.gather(logits, idx, axis=1, batch_dims=1))
    ref = tape.gradient(target, acts).numpy()
    # GAP then a dense: d logit_c / d A[i, j, k] = kernel[k, c] / (16 * 16) everywhere
    np.testing.assert_allclose(ref[1, 3, 7], kernel[:, 5] / 256, rtol=1e-5)
    a, g = Runner(as_emotion_model(model)).layer_gradients(tf.constant(x), tf.constant(idx),
                                                           "block/bc1")  # fmt: skip
    np.testing.assert_allclose(a, acts.numpy(), **TOL)
    np.testing.assert_allclose(g, ref, rtol=1e-5, atol=1e-7)


BN_CHAIN = ("conv", "bn", "relu", "sep", "bn2", "conv2", "gap", "logits", "softmax")


@pytest.mark.parametrize(
    ("layer", "score"),
    [("conv", "logit"), ("bn2", "logit"), ("relu", "logit"), ("sep", "probability")],
)
def test_ablated_scores_equal_a_naive_computation(layer, score, snapshot):
    """``layer``'s output times a per-image channel scale (zeros included), then the layers
    above it called one by one; "conv" and "sep" are folded into their BatchNorm elsewhere,
    "bn2" is the BatchNorm of a folded pair."""
    model = bn_model(seed=4)
    before, nodes = snapshot(model), _inbound(model)
    x = _x(5, (12, 12, 1), seed=7)
    k = model.get_layer(layer).output.shape[-1]
    scale = np.random.default_rng(3).uniform(0.0, 2.0, (5, k)).astype(np.float32)
    scale[:, 1] = 0.0
    scale[2] = 1.0  # one image unablated
    run = Runner(as_emotion_model(model), score=score, batch_size=2)  # 2 + 2 + 1
    ours = run.ablated_scores(x, layer, scale)
    assert run._ablated_fns[layer].experimental_get_tracing_count() == 1
    _unchanged(snapshot, model, before)
    assert _inbound(model) == nodes
    z = keras.Model(model.inputs, model.get_layer(layer).output)(x).numpy() * scale[:, None, None]
    top = BN_CHAIN.index("softmax" if score == "probability" else "logits")
    for name in BN_CHAIN[BN_CHAIN.index(layer) + 1 : top + 1]:
        z = model.get_layer(name)(z, training=False)
    np.testing.assert_allclose(ours, z, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours[2], run.scores(x[2:3])[0], rtol=1e-5, atol=1e-5)
    assert np.abs(ours - run.scores(x)).max() > 1e-3  # the scales changed the other scores
    with pytest.raises(EmonbError, match=r"channel_scale must have shape \(5, "):
        run.ablated_scores(x, layer, scale[:, :-1])
    with pytest.raises(EmonbError, match="unknown layer 'nope'; choose one of: conv, bn"):
        run.ablated_scores(x, "nope", scale)


def test_ablated_scores_inside_a_nested_model(nested_models):
    model, inner, block = nested_models
    x = _x(3, (20, 20, 1), seed=8)
    scale = np.eye(5, dtype=np.float32)[[0, 2, 4]] * 2.0  # keep one channel, doubled
    kernel, bias = model.get_layer("head").get_weights()
    pooled = model.get_layer("gap")(block(inner(x))).numpy() * scale
    ours = Runner(as_emotion_model(model)).ablated_scores(x, "block/bc1", scale, batch_size=2)
    np.testing.assert_allclose(ours, pooled @ kernel + bias, rtol=1e-5, atol=1e-6)


def test_compile_traces_once_for_any_batch_size(toy_models):
    run = Runner(as_emotion_model(toy_models["nested"]()))
    fn = run.compile(lambda x, idx: run.input_gradients(x, idx))
    for n in (1, 3, 2):
        assert fn(tf.constant(_x(n, (20, 20, 1))), tf.zeros(n, tf.int32)).shape == (n, 20, 20, 1)
    assert fn.experimental_get_tracing_count() == 1
    assert run.output_shape("block/bc1") == (16, 16, 5)
    with pytest.raises(EmonbError, match="score must be 'logit' or 'probability'"):
        Runner(run.net, score="proba")


# ---- targets ---------------------------------------------------------------------------------
NAMES = ("angry", "happy", "sad")


def _never():
    raise AssertionError("predictions were computed although no target asked for them")


@pytest.mark.parametrize(
    ("targets", "expected"),
    [
        (2, [2, 2, 2]),
        (np.int64(1), [1, 1, 1]),
        ("happy", [1, 1, 1]),
        ([0, "sad", 1], [0, 2, 1]),
        (np.array([2, 0, 1]), [2, 0, 1]),
    ],
)
def test_resolve_targets_without_predictions(targets, expected):
    out = R.resolve_targets(targets, 3, NAMES, predicted=_never)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, expected)


def test_resolve_targets_predicted():
    calls = []

    def predicted():
        calls.append(1)
        return np.array([2, 2, 0])

    np.testing.assert_array_equal(R.resolve_targets("predicted", 3, NAMES, predicted), [2, 2, 0])
    np.testing.assert_array_equal(R.resolve_targets(None, 3, NAMES, predicted), [2, 2, 0])
    mixed = R.resolve_targets(["happy", "predicted", 0], 3, NAMES, predicted)
    np.testing.assert_array_equal(mixed, [1, 2, 0])
    assert len(calls) == 3
    with pytest.raises(EmonbError, match="'predicted' needs the model's predictions"):
        R.resolve_targets("predicted", 3, NAMES)


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        (
            "joy",
            r"unknown class 'joy'; use an index 0\.\.2, 'predicted' or one of: angry, happy, sad",
        ),
        (3, r"class index 3 is out of range 0\.\.2"),
        (-1, r"class index -1 is out of range 0\.\.2"),
        (True, r"unknown class True"),
        ([0, "joy", 1], r"unknown class 'joy'.*angry, happy, sad"),
        ([0, 1], r"got 2 targets for 3 images"),
        ([0, 1, 2, 0], r"got 4 targets for 3 images"),
    ],
)
def test_resolve_targets_errors(targets, message):
    with pytest.raises(EmonbError, match=message):
        R.resolve_targets(targets, 3, NAMES, predicted=_never)


def test_runner_targets_predicted_runs_the_model(toy_models):
    model = toy_models["sequential_no_input"]()
    x = _x(4, (20, 20, 1), seed=8)
    run = Runner(as_emotion_model(model))
    want = model(x).numpy().argmax(axis=1)
    np.testing.assert_array_equal(run.targets("predicted", x), want)
    np.testing.assert_array_equal(run.targets(["predicted", 1, "happy", "predicted"], x),
                                  [want[0], 1, 3, want[3]])  # fmt: skip
