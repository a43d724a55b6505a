"""Gradient methods against finite differences and the defining properties of the rules."""

import numpy as np
import pytest

from emonb._tf import keras, tf
from emonb.methods import Deconvnet, GuidedBackprop, IntegratedGradients, Saliency, SmoothGrad
from emonb.methods.gradients import GradientInput, NoiseTunnel, SquareGrad, VarGrad
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
        scores, record = explainer.runner.run(x, relu_rule=explainer.relu_rule)
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


def test_smoothgrad_is_seeded(mini_xception):
    faces = np.random.default_rng(0).integers(0, 256, (2, 48, 48), dtype=np.uint8)
    a = SmoothGrad(mini_xception, samples=5, seed=1).explain(faces, 3)
    np.testing.assert_array_equal(a, SmoothGrad(mini_xception, samples=5, seed=1).explain(faces, 3))
    assert np.abs(a - SmoothGrad(mini_xception, samples=5, seed=2).explain(faces, 3)).max() > 1e-3


def test_integrated_gradients_completeness(mini_xception):
    """The signed attributions sum to score(x) - score(baseline) (Sundararajan et al.,
    Proposition 1), to the accuracy of 1024 trapezoid steps."""
    faces = np.random.default_rng(0).integers(0, 256, (1, 48, 48), dtype=np.uint8)
    ig = IntegratedGradients(mini_xception, steps=1024, baseline="black")
    x = mini_xception.preprocess(faces)
    attributions = float(ig.attributions(x, np.array([3])).sum())
    scores = ig.runner.scores(np.concatenate([x, np.full_like(x, -1.0)]))  # black is -1 here
    delta = float(scores[0, 3] - scores[1, 3])
    assert abs(attributions - delta) < 0.02 * abs(delta), (attributions, delta)


def _counting(explainer) -> list[int]:
    """Record the batch size of every gradient call of ``explainer``."""
    calls: list[int] = []
    gradients = explainer.gradients

    def counted(x, idx):
        calls.append(len(x))
        return gradients(x, idx)

    explainer.gradients = counted
    return calls


def test_settings_are_arguments_not_environment(monkeypatch):
    """SmoothGrad(samples=5) averages 5 noisy copies and IntegratedGradients(steps=8) takes
    9 path points, in quick mode and under EMONB_MAX_STEPS too."""
    monkeypatch.setenv("EMONB_QUICK", "1")
    monkeypatch.setenv("EMONB_MAX_STEPS", "1")
    net = EmotionModel(smooth_model(), ModelSpec(input_size=(6, 6), preprocessing="unit"), "tiny")
    x = np.random.default_rng(3).random((2, 6, 6, 1)).astype(np.float32)
    idx = np.array([2, 5])
    sg = SmoothGrad(net, samples=5, noise=0.1, seed=7)
    calls = _counting(sg)
    ours = sg._attribute(x, idx)
    assert calls == [2] * 5
    # Smilkov et al.: the mean gradient over noisy copies x + N(0, sigma^2), sigma = 0.1 of the
    # value range; the noise comes from default_rng(seed), one draw per sample for the batch
    rng = np.random.default_rng(7)
    plain = Saliency(net)
    noisy = [x + rng.normal(0.0, 0.1, size=(1, 6, 6, 1)).astype(np.float32) for _ in range(5)]
    mean = sum(plain.gradients(z, idx) for z in noisy) / 5
    np.testing.assert_allclose(ours, np.abs(mean).max(axis=-1), rtol=1e-5, atol=1e-7)
    ig = IntegratedGradients(net, steps=8, batch_size=4)
    calls = _counting(ig)
    ig._attribute(x, idx)
    assert calls == [4, 4, 1] * 2  # 9 path points per image, in chunks of 4


def test_integrated_gradients_trapezoid_by_hand():
    """Attributions are (x - x0) times the trapezoid mean of the gradients at x0 + a (x - x0):
    with steps=2, a = 0, 1/2, 1 weighted 1/4, 1/2, 1/4."""
    net = EmotionModel(smooth_model(), ModelSpec(input_size=(6, 6), preprocessing="unit"), "tiny")
    x = np.random.default_rng(4).random((1, 6, 6, 1)).astype(np.float32)
    ig = IntegratedGradients(net, steps=2, baseline=0.25)
    plain = Saliency(net)
    idx = np.array([1])
    grads = [plain.gradients(np.float32(0.25 + a * (x - 0.25)), idx) for a in (0.0, 0.5, 1.0)]
    expected = (x - 0.25) * (grads[0] / 4 + grads[1] / 2 + grads[2] / 4)
    np.testing.assert_allclose(ig.attributions(x, idx), expected, rtol=1e-5, atol=1e-8)


def test_gradient_input_is_x_times_w_on_a_linear_model(unchanged):
    """On score_c = b_c + sum_p w_pc x_p the gradient is w_c, so gradient x input is x * w_c;
    with symmetric scaling mid-grey is x = 0 and gets nothing."""
    keras.utils.set_random_seed(6)
    inp = keras.Input((5, 4, 1))
    model = keras.Model(inp, keras.layers.Dense(7)(keras.layers.Flatten()(inp)))
    check = unchanged(model)
    net = EmotionModel(model, ModelSpec(input_size=(5, 4), preprocessing="symmetric"), "linear")
    x = np.random.default_rng(5).uniform(-1, 1, (2, 5, 4, 1)).astype(np.float32)
    x[0, 2, 1, 0] = 0.0  # a mid-grey pixel
    idx = np.array([1, 6])
    kernel = model.layers[-1].get_weights()[0]
    by_hand = np.stack([x[i, ..., 0] * kernel[:, c].reshape(5, 4) for i, c in enumerate(idx)])
    gi = GradientInput(net)
    np.testing.assert_allclose(gi.attributions(x, idx)[..., 0], by_hand, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(gi._attribute(x, idx), np.abs(by_hand), rtol=1e-5, atol=1e-7)
    assert gi._attribute(x, idx)[0, 2, 1] == 0.0
    check()


def _smooth_net():
    return EmotionModel(smooth_model(), ModelSpec(input_size=(6, 6), preprocessing="unit"), "tiny")


def test_smoothgrad_is_bit_identical_to_the_old_loop():
    """The noise-tunnel refactor keeps SmoothGrad's draws, sums and maps exactly."""
    sg = SmoothGrad(_smooth_net(), samples=4, noise=0.15, seed=11)
    x = np.random.default_rng(8).random((3, 6, 6, 1)).astype(np.float32)
    idx = np.array([0, 3, 6])
    rng = np.random.default_rng(11)  # the code before the refactor, line by line
    total = np.zeros_like(x)
    for _ in range(4):
        noise = rng.normal(0.0, 0.15 * 1.0, size=(1, *x.shape[1:])).astype(np.float32)
        total += sg.gradients(x + noise, idx)
    np.testing.assert_array_equal(sg._attribute(x, idx), np.abs(total / 4).max(axis=-1))
    assert sg.forward_passes == 4


def _noisy_gradients(net, x, idx, samples, noise, seed):
    """Every sample's gradient (samples, n, H, W, C): SmoothGrad's noise, drawn by hand."""
    rng = np.random.default_rng(seed)
    plain = Saliency(net)
    return np.stack([
        plain.gradients(x + rng.normal(0.0, noise, size=(1, *x.shape[1:])).astype(np.float32), idx)
        for _ in range(samples)
    ]).astype(np.float64)  # fmt: skip


def test_squaregrad_and_vargrad_by_hand(unchanged):
    """Hooker et al.: SquareGrad = mean g^2, VarGrad = population variance of g over the
    noisy samples, so VarGrad = SquareGrad - SmoothGrad^2 on the raw values."""
    net = _smooth_net()
    check = unchanged(net.model)
    x = np.random.default_rng(9).random((2, 6, 6, 1)).astype(np.float32)
    idx = np.array([2, 4])
    g = _noisy_gradients(net, x, idx, samples=6, noise=0.3, seed=3)
    settings = {"samples": 6, "noise": 0.3, "seed": 3}
    sq, var = SquareGrad(net, **settings), VarGrad(net, **settings)
    assert sq.forward_passes == var.forward_passes == 6
    total, squares = sq.noisy_sums(x, idx)
    np.testing.assert_allclose(total, g.sum(axis=0), rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(squares, (g**2).sum(axis=0), rtol=1e-5, atol=1e-12)
    mean_sq = sq.aggregate(total, squares)
    smooth = SmoothGrad(net, **settings).aggregate(total, squares)
    np.testing.assert_allclose(var.aggregate(total, squares), mean_sq - smooth.astype(np.float64) ** 2,
                               rtol=1e-4, atol=1e-10)  # fmt: skip
    np.testing.assert_allclose(sq._attribute(x, idx), (g**2).mean(axis=0).max(axis=-1), rtol=1e-5)
    np.testing.assert_allclose(var._attribute(x, idx), g.var(axis=0).max(axis=-1), rtol=1e-4,
                               atol=1e-10)  # fmt: skip
    assert np.abs(var._attribute(x, idx) - sq._attribute(x, idx)).max() > 1e-6
    np.testing.assert_array_equal(var._attribute(x, idx), var._attribute(x, idx))  # seeded
    other = VarGrad(net, samples=6, noise=0.3, seed=4)._attribute(x, idx)
    assert np.abs(other - var._attribute(x, idx)).max() > 1e-6
    check()


def test_vargrad_of_one_sample_is_zero():
    net = _smooth_net()
    x = np.random.default_rng(10).random((2, 6, 6, 1)).astype(np.float32)
    vg = VarGrad(net, samples=1)
    assert (vg._attribute(x, np.array([1, 2])) == 0.0).all()
    assert (vg.explain_inputs(x, 1) == 0.0).all()
    assert (SquareGrad(net, samples=1)._attribute(x, np.array([1, 2])) > 0).any()


def test_noise_family_shares_one_set_of_noisy_gradients(monkeypatch):
    """SmoothGrad, SquareGrad and VarGrad of the same inputs, noise and seed draw their
    noisy gradients once (Runner.remember); each map equals that of a method alone, and
    other inputs, targets, seeds or weights are computed afresh."""
    net = _smooth_net()
    x = np.random.default_rng(12).random((3, 6, 6, 1)).astype(np.float32)
    idx = np.array([1, 2, 5])
    settings = {"samples": 5, "noise": 0.25, "seed": 7}
    alone = {cls: cls(_smooth_net_like(net), **settings)._attribute(x, idx)
             for cls in (SmoothGrad, SquareGrad, VarGrad)}  # fmt: skip
    calls = []
    original = NoiseTunnel._noisy_sums
    monkeypatch.setattr(NoiseTunnel, "_noisy_sums", lambda self, *a: calls.append(1) or original(self, *a))
    for cls in (SmoothGrad, SquareGrad, VarGrad):
        np.testing.assert_array_equal(cls(net, **settings)._attribute(x, idx), alone[cls])
    assert len(calls) == 1
    SmoothGrad(net, **settings)._attribute(x, idx[::-1].copy())
    SmoothGrad(net, **{**settings, "seed": 8})._attribute(x, idx)
    SmoothGrad(net, **settings)._attribute(x + 0.01, idx)
    assert len(calls) == 4
    net.model.set_weights([w * 0.5 for w in net.model.get_weights()])
    halved = SmoothGrad(net, **settings)._attribute(x, idx)
    assert len(calls) == 5 and np.abs(halved - alone[SmoothGrad]).max() > 1e-6
    total, _ = SquareGrad(net, **settings).noisy_sums(x, idx)
    with pytest.raises(ValueError):
        total[0, 0, 0, 0] = 1.0  # what the family shares cannot be written


def _smooth_net_like(net):
    """Another model with ``net``'s weights (its own store of remembered results)."""
    other = _smooth_net()
    other.model.set_weights(net.model.get_weights())
    return other
