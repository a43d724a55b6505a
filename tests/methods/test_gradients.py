"""Gradient methods against finite differences and the defining properties of the rules."""

import numpy as np
import pytest

from emonb._tf import keras, tf
from emonb.methods import Deconvnet, GuidedBackprop, IntegratedGradients, Saliency, SmoothGrad
from emonb.models.preprocessing import ModelSpec
from emonb.models.zoo import EmotionModel


def smooth_model():
    """A tiny model with smooth activations, so finite differences are exact enough."""
    keras.utils.set_random_seed(2)
    inp = keras.Input((6, 6, 1))
    x = keras.layers.Conv2D(3, 3, activation="tanh")(inp)
    x = keras.layers.GlobalAveragePooling2D()(x)
    out = keras.layers.Dense(7)(x)  # logits
    return keras.Model(inp, out)


def test_saliency_matches_finite_differences():
    model = smooth_model()
    net = EmotionModel(model, ModelSpec(input_size=(6, 6), preprocessing="unit"), "tiny")
    x = np.random.default_rng(0).random((1, 6, 6, 1)).astype(np.float64)
    grads = Saliency(net).gradients(x.astype(np.float32), np.array([2]))[0, ..., 0]
    f = lambda z: float(model(z.astype(np.float32))[0, 2])  # noqa: E731
    eps = 1e-2
    fd = np.zeros((6, 6))
    for i in range(6):
        for j in range(6):
            up, dn = x.copy(), x.copy()
            up[0, i, j, 0] += eps
            dn[0, i, j, 0] -= eps
            fd[i, j] = (f(up) - f(dn)) / (2 * eps)
    np.testing.assert_allclose(grads, fd, rtol=2e-2, atol=2e-4)
    maps = Saliency(net).explain((x[0, ..., 0] * 255).round().astype(np.uint8), 2)
    assert maps.shape == (1, 6, 6)


def _relu_model():
    keras.utils.set_random_seed(4)
    inp = keras.Input((8, 8, 1))
    pre = keras.layers.Conv2D(4, 3, name="pre")(inp)
    act = keras.layers.Activation("relu", name="act")(pre)
    x = keras.layers.Conv2D(4, 3, name="post")(act)
    x = keras.layers.ReLU(name="relu2")(x)
    out = keras.layers.Dense(7)(keras.layers.GlobalAveragePooling2D()(x))
    return keras.Model(inp, out)


def _grad_at(explainer, x, idx, layer):
    with tf.GradientTape() as tape:
        tape.watch(x)
        scores, record = explainer._run(x, explainer.relu_rule)
        target = tf.reduce_sum(scores[:, idx])
    pre = record[layer]
    return tape.gradient(target, pre).numpy(), pre.numpy()


@pytest.mark.parametrize("cls", [GuidedBackprop, Deconvnet, Saliency])
def test_relu_backward_rules(cls):
    model = _relu_model()
    x = tf.constant(np.random.default_rng(1).normal(size=(4, 8, 8, 1)).astype(np.float32))
    explainer = cls(model)
    g, pre = _grad_at(explainer, x, 3, "pre")
    if cls is GuidedBackprop:
        assert (g >= 0).all(), "guided backprop let a negative gradient through a ReLU"
        assert (g[pre <= 0] == 0).all(), "guided backprop passed gradient where the ReLU was off"
        assert (g > 0).any()
    elif cls is Deconvnet:
        assert (g >= 0).all(), "the deconvnet rule let a negative gradient through"
        assert (g[pre <= 0] > 0).any(), "the deconvnet rule ignores the forward mask"
    else:
        assert (g < 0).any() and (g[pre <= 0] == 0).all()


def test_smoothgrad_is_seeded_and_integrated_gradients_completeness(mini_xception):
    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, (2, 48, 48), dtype=np.uint8)
    a = SmoothGrad(mini_xception, samples=5, seed=1).explain(faces, 3)
    np.testing.assert_array_equal(a, SmoothGrad(mini_xception, samples=5, seed=1).explain(faces, 3))
    assert np.abs(a - SmoothGrad(mini_xception, samples=5, seed=2).explain(faces, 3)).max() > 1e-3
    # completeness: the signed attributions sum to score(x) - score(baseline)
    ig = IntegratedGradients(mini_xception, steps=1024, baseline="black")
    x = mini_xception.preprocess(faces[:1])
    attributions = float(ig.attributions(x, np.array([3])).sum())
    scores, _ = ig._run(tf.constant(np.concatenate([x, np.full_like(x, ig.baseline)])))
    delta = float(scores[0, 3] - scores[1, 3])
    assert abs(attributions - delta) < 0.02 * abs(delta), (attributions, delta)
