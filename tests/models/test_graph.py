"""Layer views through Sequential-without-Input and nested models, never mutating them."""

import numpy as np
import pytest

from emonb._tf import keras
from emonb.errors import EmonbError
from emonb.models import graph


def seq_without_input():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.layers.Conv2D(4, 3, activation="relu", name="c1"),
        keras.layers.MaxPooling2D(name="pool"),
        keras.layers.Conv2D(6, 3, activation="relu", name="c2"),
        keras.layers.GlobalAveragePooling2D(name="gap"),
        keras.layers.Dense(7, activation="softmax", name="out"),
    ], name="seq")  # fmt: skip
    model(np.zeros((1, 20, 20, 1), np.float32))  # built by a call, as the seed project did
    return model


def nested():
    keras.utils.set_random_seed(1)
    inner = keras.Sequential(
        [keras.layers.Conv2D(4, 3, name="ic1"), keras.layers.ReLU(name="irelu")], name="inner"
    )
    inner.build((None, 20, 20, 1))
    block_in = keras.Input((18, 18, 4))
    block_out = keras.layers.Conv2D(5, 3, name="bc1")(block_in)
    block = keras.Model(block_in, block_out, name="block")
    inp = keras.Input((20, 20, 1))
    x = block(inner(inp))
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    out = keras.layers.Dense(7, activation="softmax", name="head")(x)
    return keras.Model(inp, out, name="outer"), inner, block


def _snapshot(model):
    return [w.copy() for w in model.get_weights()], model.to_json()


def test_sequential_without_input_features_and_no_mutation():
    model = seq_without_input()
    before = _snapshot(model)
    assert graph.conv_layers(model) == ["c1", "c2"]
    assert graph.input_shape(model) == (20, 20, 1)
    fm = graph.feature_model(model, ["c1", "c2"], include_output=True)
    x = np.random.default_rng(0).normal(size=(3, 20, 20, 1)).astype(np.float32)
    c1, c2, out = fm(x)
    np.testing.assert_allclose(c1, model.get_layer("c1")(x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out, model(x), rtol=1e-5, atol=1e-6)
    assert c2.shape == (3, 7, 7, 6)
    after = _snapshot(model)
    assert after[1] == before[1]
    for a, b in zip(after[0], before[0], strict=True):
        np.testing.assert_array_equal(a, b)


def test_nested_models_qualified_names_and_outputs():
    model, inner, block = nested()
    names = [n for n, _ in graph.iter_layers(model)]
    assert names == ["inner/ic1", "inner/irelu", "block/bc1", "gap", "head"]
    assert graph.conv_layers(model) == ["inner/ic1", "block/bc1"]
    fm = graph.feature_model(model, ["inner/irelu", "bc1"], include_output=True)
    x = np.random.default_rng(3).normal(size=(2, 20, 20, 1)).astype(np.float32)
    relu, bc1, out = fm(x)
    np.testing.assert_allclose(relu, inner(x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bc1, block(inner(x)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out, model(x), rtol=1e-5, atol=1e-6)
    table = graph.layer_table(model)
    assert table["output shape"].tolist()[2] == "(16, 16, 5)"


def test_find_layer_errors_list_valid_names():
    model, _, _ = nested()
    assert graph.find_layer(model, -1)[0] == "head"
    assert graph.find_layer(model, "ic1")[0] == "inner/ic1"
    with pytest.raises(
        EmonbError, match=r"valid names: inner/ic1, inner/irelu, block/bc1, gap, head"
    ):
        graph.find_layer(model, "conv9")
    with pytest.raises(EmonbError, match="out of range"):
        graph.find_layer(model, 99)


def test_unbuilt_sequential_is_a_clear_error():
    model = keras.Sequential([keras.layers.Conv2D(2, 3)])
    with pytest.raises(EmonbError, match="never built"):
        graph.input_shape(model)
