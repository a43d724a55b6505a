"""Shared pieces of the model tests: tolerances, a model with folding to do, checks that a
model was left as it was."""

import numpy as np

from emonb._tf import keras

TOL = {"rtol": 1e-5, "atol": 1e-6}


def unchanged(snapshot, model, before) -> None:
    after = snapshot(model)
    assert after[1] == before[1]
    for a, b in zip(after[0], before[0], strict=True):
        np.testing.assert_array_equal(a, b)


def inbound(model) -> list[int]:
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


def sample(n: int, shape: tuple, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, *shape)).astype(np.float32)


def dense_head_case(model: keras.Model, dense: str):
    """A toy model whose softmax head ``dense`` gets non-zero biases, a batch ``x``, the
    pooled features before the head and the logits computed by hand from them."""
    kernel = model.get_layer(dense).get_weights()[0].astype(np.float64)
    bias = np.linspace(-1.0, 1.0, 7)  # Keras starts biases at zero: give them a value
    model.get_layer(dense).set_weights([kernel, bias])
    x = sample(4, (20, 20, 1), seed=5)
    pooled = keras.Model(model.inputs, model.get_layer("gap").output)(x).numpy()
    return x, pooled, pooled @ kernel + bias
