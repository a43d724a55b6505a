"""The one model runner: compiled scores and probabilities, gradients under each ReLU rule,
BatchNorm folding, ablations, targets, the default runner of a model — each against a
plain Keras call or a hand-computed value."""

import numpy as np
import pytest

from emonb._tf import keras, tf
from emonb.errors import EmonbError
from emonb.models.runner import Runner, predict, predict_proba, runner_for
from emonb.models.zoo import as_emotion_model
from tests.models.helpers import TOL, bn_model, dense_head_case, inbound, sample, unchanged


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
    unchanged(snapshot, model, before)


# ---- the runner against plain Keras -------------------------------------------------------
@pytest.mark.parametrize("fold", [False, True], ids=["unfolded", "folded"])
def test_scores_and_probabilities_equal_a_keras_call(fold, snapshot):
    model = bn_model()
    before, nodes = snapshot(model), inbound(model)
    x = sample(5, (12, 12, 1), seed=1)
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
    unchanged(snapshot, model, before)
    assert inbound(model) == nodes


def test_folded_equals_unfolded():
    model = bn_model(seed=3)
    x = sample(6, (12, 12, 1), seed=2)
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
    x, _, logits = dense_head_case(model, dense)
    run = Runner(as_emotion_model(model))
    np.testing.assert_allclose(run.scores(x), logits, rtol=1e-5, atol=1e-6)
    scores, _ = run.run(tf.constant(x))
    np.testing.assert_allclose(scores, logits, rtol=1e-5, atol=1e-6)
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(run.probabilities(x), softmax, rtol=1e-5, atol=1e-7)


def test_logit_model_without_softmax_is_run_as_is():
    keras.utils.set_random_seed(0)
    inp = keras.Input((6, 6, 1))
    out = keras.layers.Dense(7, name="d")(keras.layers.Flatten()(inp))
    model = keras.Model(inp, out)
    x = sample(3, (6, 6, 1))
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
    x = sample(3, (12, 12, 1), seed=4)
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
    unchanged(snapshot, model, before)


def test_layer_gradients_inside_a_nested_model(nested_models):
    model, inner, block = nested_models
    x = sample(2, (20, 20, 1), seed=6)
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
    before, nodes = snapshot(model), inbound(model)
    x = sample(5, (12, 12, 1), seed=7)
    k = model.get_layer(layer).output.shape[-1]
    scale = np.random.default_rng(3).uniform(0.0, 2.0, (5, k)).astype(np.float32)
    scale[:, 1] = 0.0
    scale[2] = 1.0  # one image unablated
    run = Runner(as_emotion_model(model), score=score, batch_size=2)  # 2 + 2 + 1
    ours = run.ablated_scores(x, layer, scale)
    assert run._ablated_fns[layer].experimental_get_tracing_count() == 1
    unchanged(snapshot, model, before)
    assert inbound(model) == nodes
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
    x = sample(3, (20, 20, 1), seed=8)
    scale = np.eye(5, dtype=np.float32)[[0, 2, 4]] * 2.0  # keep one channel, doubled
    kernel, bias = model.get_layer("head").get_weights()
    pooled = model.get_layer("gap")(block(inner(x))).numpy() * scale
    ours = Runner(as_emotion_model(model)).ablated_scores(x, "block/bc1", scale, batch_size=2)
    np.testing.assert_allclose(ours, pooled @ kernel + bias, rtol=1e-5, atol=1e-6)


def test_compile_traces_once_for_any_batch_size(toy_models):
    run = Runner(as_emotion_model(toy_models["nested"]()))
    fn = run.compile(lambda x, idx: run.input_gradients(x, idx))
    for n in (1, 3, 2):
        assert fn(tf.constant(sample(n, (20, 20, 1))), tf.zeros(n, tf.int32)).shape == (n, 20, 20, 1)
    assert fn.experimental_get_tracing_count() == 1
    assert run.output_shape("block/bc1") == (16, 16, 5)
    with pytest.raises(EmonbError, match="score must be 'logit' or 'probability'"):
        Runner(run.net, score="proba")


def test_runner_targets_predicted_runs_the_model(toy_models):
    model = toy_models["sequential_no_input"]()
    x = sample(4, (20, 20, 1), seed=8)
    run = Runner(as_emotion_model(model))
    want = model(x).numpy().argmax(axis=1)
    np.testing.assert_array_equal(run.targets("predicted", x), want)
    np.testing.assert_array_equal(run.targets(["predicted", 1, "happy", "predicted"], x),
                                  [want[0], 1, 3, want[3]])  # fmt: skip


# ---- a model's default runner --------------------------------------------------------------
def test_predict_proba_runs_the_model_itself(mini_xception, astronaut):
    """predict_proba goes through the model's default runner (no BatchNorm folding): the
    same numbers as Keras' predict, for one image and in batches."""
    faces = np.stack([astronaut[60:170, 170:280]] * 3)
    faces[1] = 255 - faces[1]
    x = mini_xception.preprocess(faces)
    keras_proba = mini_xception.model.predict(x, verbose=0)
    np.testing.assert_allclose(predict_proba(mini_xception, faces, batch_size=2), keras_proba,
                               rtol=0, atol=1e-5)  # fmt: skip
    assert runner_for(mini_xception) is runner_for(mini_xception)  # made once
    assert not runner_for(mini_xception)._folds
    assert predict(mini_xception, faces) == [
        mini_xception.class_names[i] for i in keras_proba.argmax(axis=1)
    ]


def test_runner_for_is_kept_with_its_model(toy_models):
    model = toy_models["nested"]()
    net, other = as_emotion_model(model), as_emotion_model(model)
    assert net == other  # equal models ...
    assert runner_for(net) is not runner_for(other)  # ... each with its own default runner
    assert runner_for(net).net is net and "derived" not in repr(net)


def test_explainers_of_one_model_share_its_compiled_functions(toy_models):
    """Runners of one model with the same score and folding trace each compiled function
    once for all of them (Saliency and SmoothGrad: the plain input gradients; Grad-CAM and
    Layer-CAM: the layer gradients), with the maps of runners of their own."""
    from emonb.methods import GradCAM, LayerCAM, Saliency, SmoothGrad

    net = as_emotion_model(toy_models["nested"]())
    x = sample(3, (20, 20, 1), seed=2)
    idx = np.array([0, 2, 5])
    made = [Saliency(net), SmoothGrad(net, samples=2), GradCAM(net), LayerCAM(net)]
    maps = [e.explain_inputs(x, idx) for e in made]
    grads = made[0].runner.input_gradients_fn("none")
    assert made[1].runner is not made[0].runner
    assert made[1].runner.input_gradients_fn("none") is grads
    assert grads.experimental_get_tracing_count() == 1
    assert made[0].runner.input_gradients_fn("guided") is not grads  # another rule, another
    layer = made[3].runner.layer_gradients_fn(made[3].layer)
    assert made[2].runner.layer_gradients_fn(made[2].layer) is layer
    assert layer.experimental_get_tracing_count() == 1
    # another model (an equal one) has its own; its maps are the same
    again = as_emotion_model(toy_models["nested"]())
    again.model.set_weights(net.model.get_weights())
    alone = [type(e)(again, **({"samples": 2} if isinstance(e, SmoothGrad) else {}))
             for e in made]  # fmt: skip
    assert alone[0].runner.input_gradients_fn("none") is not grads
    for ours, theirs, e in zip(maps, alone, made, strict=True):
        np.testing.assert_allclose(ours, theirs.explain_inputs(x, idx), rtol=1e-5, atol=1e-6,
                                   err_msg=e.name)  # fmt: skip


def test_remember_computes_once_per_key_and_weights(toy_models, monkeypatch):
    """Runner.remember: one computation per key for every runner of the model (with the
    same score and folding); new weights are a new key; the oldest results go first past
    REMEMBER_BYTES."""
    import emonb.models.runner as runner_module

    net = as_emotion_model(toy_models["nested"]())
    a, b = Runner(net), Runner(net)
    calls = []

    def make(value):
        calls.append(value)
        return np.full(4, value, np.float64)  # 32 bytes

    assert a.remember(("k", 1), lambda: make(1.0))[0] == 1.0
    assert b.remember(("k", 1), lambda: make(2.0))[0] == 1.0  # answered from the store
    assert Runner(net, score="probability").remember(("k", 1), lambda: make(3.0))[0] == 3.0
    assert calls == [1.0, 3.0]
    net.model.set_weights([w + 1.0 for w in net.model.get_weights()])
    assert a.remember(("k", 1), lambda: make(4.0))[0] == 4.0  # the weights changed
    monkeypatch.setattr(runner_module, "REMEMBER_BYTES", 64)
    a.remember(("k", 2), lambda: make(5.0))
    a.remember(("k", 3), lambda: make(6.0))  # three results of 32 bytes: the oldest goes
    assert a.remember(("k", 1), lambda: make(7.0))[0] == 7.0
    assert a.remember(("k", 3), lambda: make(8.0))[0] == 6.0
    assert calls == [1.0, 3.0, 4.0, 5.0, 6.0, 7.0]


def test_array_digest_reads_shape_dtype_and_values():
    from emonb.models.runner import array_digest

    x = np.arange(6, dtype=np.float32)
    assert array_digest(x) == array_digest(x.copy())
    assert array_digest(x) != array_digest(x.reshape(2, 3))
    assert array_digest(x) != array_digest(x.astype(np.float64))
    y = x.copy()
    y[3] += 1e-6
    assert array_digest(x) != array_digest(y)
    assert array_digest(x[::2]) == array_digest(np.ascontiguousarray(x[::2]))
