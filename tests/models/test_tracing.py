"""Running a model leaf by leaf (through Sequential-without-Input and nested models),
feature models, data flow and shapes, and the check of the private Keras API — each
against a plain Keras call or a hand-computed value."""

import sys

import numpy as np
import pytest

from emonb._tf import keras, tf
from emonb.errors import EmonbError
from emonb.models import tracing as T
from tests.models.helpers import TOL, sample, unchanged


# ---- the private Keras API ---------------------------------------------------------------
def test_check_keras_api_passes_on_the_pinned_keras():
    T.check_keras_api()


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
        T.check_keras_api()
    monkeypatch.undo()
    T.check_keras_api()


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
        T.run(model, tf.zeros((1, 2, 2, 1)))


# ---- running through awkward models (moved from test_graph) -------------------------------
def test_feature_model_through_sequential_without_input(toy_models, snapshot):
    model = toy_models["sequential_no_input"]()
    before = snapshot(model)
    fm = T.feature_model(model, ["c1", "c2"], include_output=True)
    x = sample(3, (20, 20, 1))
    c1, c2, out = fm(x)
    np.testing.assert_allclose(c1, model.get_layer("c1")(x), **TOL)
    ref_c2 = model.get_layer("c2")(model.get_layer("pool")(model.get_layer("c1")(x)))
    np.testing.assert_allclose(c2, ref_c2, **TOL)
    np.testing.assert_allclose(out, model(x), **TOL)
    assert fm.get_layer("c1") is model.get_layer("c1")
    unchanged(snapshot, model, before)


def test_feature_model_through_nested_models(nested_models, snapshot):
    model, inner, block = nested_models
    before = snapshot(model)
    fm = T.feature_model(model, ["inner/irelu", "bc1", 0])  # qualified, bare, index
    x = sample(2, (20, 20, 1), seed=3)
    relu, bc1, ic1 = fm(x)
    np.testing.assert_allclose(relu, inner(x), **TOL)
    np.testing.assert_allclose(bc1, block(inner(x)), **TOL)
    np.testing.assert_allclose(ic1, inner.get_layer("ic1")(x), **TOL)
    with pytest.raises(EmonbError, match="valid names: inner/ic1"):
        T.feature_model(model, ["nope"])
    unchanged(snapshot, model, before)


def test_dataflow_and_output_shapes(nested_models, toy_models):
    model, _, _ = nested_models
    assert T.dataflow(model) == {
        "inner/ic1": {"inputs": ["<input>"], "input_shape": (1, 20, 20, 1), "shape": (18, 18, 4)},
        "inner/irelu": {"inputs": ["inner/ic1"], "input_shape": (1, 18, 18, 4),
                        "shape": (18, 18, 4)},
        "block/bc1": {"inputs": ["inner/irelu"], "input_shape": (1, 18, 18, 4),
                      "shape": (16, 16, 5)},
        "gap": {"inputs": ["block/bc1"], "input_shape": (1, 16, 16, 5), "shape": (5,)},
        "head": {"inputs": ["gap"], "input_shape": (1, 5), "shape": (7,)},
    }  # fmt: skip
    seq = toy_models["sequential_no_input"]()
    assert T.output_shapes(seq) == {
        "c1": (18, 18, 4), "pool": (9, 9, 4), "c2": (7, 7, 6), "gap": (6,), "out": (7,)
    }  # fmt: skip


def test_dataflow_follows_branches():
    inp = keras.Input((6, 6, 1))
    a = keras.layers.Conv2D(2, 3, padding="same", name="a")(inp)
    b = keras.layers.Conv2D(2, 1, name="b")(a)
    s = keras.layers.Add(name="add")([a, b])
    out = keras.layers.Dense(7, name="d")(keras.layers.GlobalAveragePooling2D(name="g")(s))
    flow = T.dataflow(keras.Model(inp, out))
    assert flow["add"]["inputs"] == ["a", "b"] and flow["b"]["inputs"] == ["a"]
    assert flow["a"]["inputs"] == ["<input>"] and flow["add"]["shape"] == (6, 6, 2)


def test_layer_table_hand_counted(nested_models, toy_models):
    model, _, _ = nested_models
    table = T.layer_table(model)
    assert table["layer"].tolist() == ["inner/ic1", "inner/irelu", "block/bc1", "gap", "head"]
    assert table["type"].tolist() == ["Conv2D", "ReLU", "Conv2D", "GlobalAveragePooling2D",
                                      "Dense"]  # fmt: skip
    assert table["output shape"].tolist() == [
        "(18, 18, 4)", "(18, 18, 4)", "(16, 16, 5)", "(5,)", "(7,)"
    ]  # fmt: skip
    # 3*3*1*4 + 4, 0, 3*3*4*5 + 5, 0, 5*7 + 7
    assert table["parameters"].tolist() == [40, 0, 185, 0, 42]
    seq = T.layer_table(toy_models["sequential_no_input"]())
    assert seq["parameters"].tolist() == [40, 0, 222, 0, 49]  # 3*3*4*6 + 6, 6*7 + 7


def test_output_shapes_reuse_a_known_flow(nested_models):
    model, _, _ = nested_models
    flow = T.dataflow(model)
    assert T.output_shapes(model, flow) == T.output_shapes(model)
    assert T.output_shapes(model, {"x": {"shape": (3,)}}) == {"x": (3,)}  # no run of its own
