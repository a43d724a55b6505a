"""Objectives: class logits and probabilities, channel means, and their checks."""

from __future__ import annotations

import numpy as np
import pytest

from emonb._tf import keras, tf
from emonb.errors import EmonbError
from emonb.featviz.objectives import ClassObjective, FilterObjective, as_objective
from emonb.featviz.optimize import ActivationMaximization
from emonb.models.runner import Runner, runner_for
from emonb.models.zoo import as_emotion_model


def _grey(n, h, w, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 1, (n, h, w)).astype(np.float32)


def _initial(net, objective, start) -> np.ndarray:
    """The objective on ``start`` (grey levels in [0, 1]) as the optimiser measures it."""
    am = ActivationMaximization(net, objective, steps=1, regularizers=())
    return am.run(start[..., None]).initial  # (N, H, W, 1): a batch, whatever H and W


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_class_logits_of_a_dense_softmax_head(toy_models):
    """The logit is the Dense layer's pre-softmax output, computed here by hand."""
    model = toy_models["sequential_no_input"]()
    net = as_emotion_model(model)  # unit preprocessing: the model sees the grey levels
    u = _grey(3, 20, 20)
    logits = np.stack([_initial(net, ClassObjective(c), u) for c in range(7)], axis=1)
    body = keras.Sequential(model.layers[:-1])  # shares the layers; the model is unchanged
    head = model.get_layer("out")
    features = np.asarray(body(u[..., None]))
    expected = features @ np.asarray(head.kernel) + np.asarray(head.bias)
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-6)
    probs = np.stack(
        [_initial(net, ClassObjective(c, score="probability"), u) for c in range(7)], axis=1
    )
    np.testing.assert_allclose(probs, np.asarray(model(u[..., None])), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(probs, _softmax(expected.astype(np.float64)), rtol=1e-4)


def test_mini_xception_logit_is_the_pooled_conv_output(mini_xception):
    net = mini_xception
    u = _grey(2, 64, 64, seed=1)
    x = tf.constant(2.0 * u[..., None] - 1.0)  # symmetric preprocessing
    pooled = np.asarray(tf.reduce_mean(runner_for(net).run(x)[1]["conv2d_7"], axis=[1, 2]))
    np.testing.assert_allclose(_initial(net, "fear", u), pooled[:, 2], rtol=1e-4, atol=1e-5)
    p = _initial(net, ClassObjective("fear", score="probability"), u)
    np.testing.assert_allclose(p, np.asarray(net.model(x))[:, 2], rtol=1e-5)
    assert np.all(np.abs(pooled[:, 2] - p) > 0.1)  # really not probabilities


def _einsum_head(activation):
    keras.utils.set_random_seed(2)
    inp = keras.Input((4, 4, 1))
    x = keras.layers.Flatten()(inp)
    out = keras.layers.EinsumDense("ab,bc->ac", output_shape=7, bias_axes="c",
                                   activation=activation, name="head")(x)  # fmt: skip
    return keras.Model(inp, out)


@pytest.mark.parametrize("activation", ["softmax", None], ids=["softmax-head", "logit-head"])
def test_heads_without_a_known_bypass_still_give_logits(activation):
    """An EinsumDense with a softmax has no bypass: the runner computes it linearly."""
    model = _einsum_head(activation)
    net = as_emotion_model(model)
    u = _grey(3, 4, 4, seed=3)
    head = model.get_layer("head")
    kernel, bias = (np.asarray(w) for w in head.get_weights())
    z = u.reshape(3, 16) @ kernel + bias
    np.testing.assert_allclose(_initial(net, 2, u), z[:, 2], rtol=1e-5, atol=1e-6)
    p = _initial(net, ClassObjective(2, score="probability"), u)
    np.testing.assert_allclose(p, _softmax(z.astype(np.float64))[:, 2], rtol=1e-5)
    rose = ActivationMaximization(net, 2, steps=10, regularizers=()).run()
    assert rose.final[0] > rose.initial[0] + 0.1


def test_class_targets_use_the_one_target_parser(mini_xception):
    runner = runner_for(mini_xception)
    for target, index in [("happy", 3), (3, 3), (np.int64(6), 6)]:
        obj = ClassObjective(target)
        obj.bind(runner)
        assert (obj.index, obj.class_name) == (index, mini_xception.class_names[index])
    assert ClassObjective("sad").describe() == "sad (logit)"
    with pytest.raises(EmonbError, match="unknown class 'contempt'.*one of: angry, disgust"):
        ActivationMaximization(mini_xception, "contempt")
    with pytest.raises(EmonbError, match=r"class index 7 is out of range 0\.\.6"):
        ActivationMaximization(mini_xception, 7)
    for bad in (True, 2.0, ["fear"], "predicted"):
        with pytest.raises(EmonbError, match="a class target is an int or a name"):
            ClassObjective(bad).bind(runner)
    with pytest.raises(EmonbError, match="unknown score"):
        ClassObjective(0, score="softmax")
    with pytest.raises(EmonbError, match="not bound"):
        ClassObjective(0)(tf.zeros((1, 7)), {})


def test_as_objective():
    obj = FilterObjective("c1", 0)
    assert as_objective(obj) is obj
    assert as_objective("fear").target == "fear" and as_objective(2).target == 2
    with pytest.raises(EmonbError, match="an objective is an Objective"):
        as_objective(1.5)


def test_filter_objective_is_the_channel_mean(toy_models):
    model = toy_models["sequential_no_input"]()
    net = as_emotion_model(model)
    u = _grey(2, 20, 20, seed=4)
    first = keras.Sequential(model.layers[:1])  # c1 alone, sharing its weights
    expected = np.asarray(first(u[..., None]))[..., 3].mean(axis=(1, 2))
    np.testing.assert_allclose(_initial(net, FilterObjective("c1", 3), u), expected, rtol=1e-5)
    obj = FilterObjective(0, 3)
    obj.bind(Runner(net, fold_batchnorm=False))
    assert (obj.name, obj.channels, obj.keep()) == ("c1", 4, ("c1",))
    assert obj.describe() == "c1 filter 3"


def test_filter_objective_checks_layer_and_range(mini_xception, nested_models):
    runner = runner_for(mini_xception)
    with pytest.raises(EmonbError, match=r"conv2d_1'.* 8 channels: valid filters are 0\.\.7"):
        FilterObjective("conv2d_1", 8).bind(runner)
    for bad in (-1, True, 1.0):
        with pytest.raises(EmonbError, match=r"valid filters are 0\.\.7"):
            FilterObjective("conv2d_1", bad).bind(runner)
    with pytest.raises(EmonbError, match="valid names: conv2d_1, batch_normalization_1"):
        FilterObjective("conv9", 0).bind(runner)
    nested = Runner(as_emotion_model(nested_models[0]), fold_batchnorm=False)
    for layer, name, channels in [("bc1", "block/bc1", 5), ("inner/ic1", "inner/ic1", 4)]:
        obj = FilterObjective(layer, channels - 1)
        obj.bind(nested)
        assert (obj.name, obj.channels) == (name, channels)
