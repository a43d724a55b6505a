"""The static view of a model's structure: layers through Sequential-without-Input and
nested models, by qualified name or index. Nothing here runs a model (see test_tracing)."""

import pytest

from emonb._tf import keras
from emonb.errors import EmonbError
from emonb.models import graph


def test_sequential_without_input_layers(toy_models, snapshot):
    model = toy_models["sequential_no_input"]()
    before = snapshot(model)
    assert [n for n, _ in graph.iter_layers(model)] == ["c1", "pool", "c2", "gap", "out"]
    assert [type(lyr).__name__ for lyr in graph.sublayers(model)] == [
        "Conv2D", "MaxPooling2D", "Conv2D", "GlobalAveragePooling2D", "Dense"
    ]  # fmt: skip
    assert graph.conv_layers(model) == ["c1", "c2"]
    assert graph.input_shape(model) == (20, 20, 1)
    assert graph.find_layer(model, 2) == ("c2", model.get_layer("c2"))
    assert snapshot(model)[1] == before[1]


def test_nested_models_qualified_names(nested_models):
    model, inner, block = nested_models
    assert [lyr.name for lyr in graph.sublayers(model)] == ["inner", "block", "gap", "head"]
    assert [graph.is_container(lyr) for lyr in graph.sublayers(model)] == [True, True, False, False]
    layers = list(graph.iter_layers(model))
    assert [n for n, _ in layers] == ["inner/ic1", "inner/irelu", "block/bc1", "gap", "head"]
    assert layers[0][1] is inner.get_layer("ic1") and layers[2][1] is block.get_layer("bc1")
    assert graph.conv_layers(model) == ["inner/ic1", "block/bc1"]
    assert graph.conv_layers(block) == ["bc1"]  # a nested model on its own has no prefix
    assert graph.input_shape(model) == (20, 20, 1)
    assert graph.input_shape(block) == (18, 18, 4)


def test_find_layer_by_name_bare_name_and_index(nested_models):
    model, inner, _ = nested_models
    assert graph.find_layer(model, -1) == ("head", model.get_layer("head"))
    assert graph.find_layer(model, 0)[0] == "inner/ic1"
    assert graph.find_layer(model, "ic1") == ("inner/ic1", inner.get_layer("ic1"))
    assert graph.find_layer(model, "block/bc1")[0] == "block/bc1"
    with pytest.raises(
        EmonbError, match=r"valid names: inner/ic1, inner/irelu, block/bc1, gap, head$"
    ):
        graph.find_layer(model, "conv9")
    with pytest.raises(EmonbError, match=r"index 5 is out of range.*5 layers \(0\.\.4\)"):
        graph.find_layer(model, 5)
    with pytest.raises(EmonbError, match="out of range"):
        graph.find_layer(model, -6)


def test_ambiguous_bare_name_lists_the_candidates():
    a = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Conv2D(2, 3, name="c")], name="a")
    b = keras.Sequential([keras.Input((2, 2, 2)), keras.layers.Conv2D(2, 1, name="c")], name="b")
    inp = keras.Input((4, 4, 1))
    model = keras.Model(inp, b(a(inp)))
    assert graph.conv_layers(model) == ["a/c", "b/c"]
    with pytest.raises(EmonbError, match=r"'c' is ambiguous: a/c, b/c"):
        graph.find_layer(model, "c")
    assert graph.find_layer(model, "b/c")[1] is b.get_layer("c")


def test_unbuilt_sequential_and_two_inputs_are_clear_errors():
    with pytest.raises(EmonbError, match="never built"):
        graph.input_shape(keras.Sequential([keras.layers.Conv2D(2, 3)]))
    a, b = keras.Input((4, 4, 1)), keras.Input((4, 4, 1))
    two = keras.Model([a, b], keras.layers.Add()([a, b]))
    with pytest.raises(EmonbError, match="has 2 inputs"):
        graph.input_shape(two)


@pytest.mark.parametrize(
    ("layer", "expected"),
    [
        (keras.layers.Softmax(), True),
        (keras.layers.Activation("softmax"), True),
        (keras.layers.Dense(3, activation="softmax"), True),
        (keras.layers.Dense(3), False),
        (keras.layers.Activation("relu"), False),
        (keras.layers.GlobalAveragePooling2D(), False),
    ],
)
def test_is_softmax(layer, expected):
    assert graph.is_softmax(layer) is expected


def test_conv_types_include_separable_and_depthwise():
    inp = keras.Input((8, 8, 2))
    x = keras.layers.SeparableConv2D(3, 3, name="sep")(inp)
    x = keras.layers.DepthwiseConv2D(3, name="dw")(x)
    x = keras.layers.Conv2D(2, 1, name="conv")(x)
    x = keras.layers.Conv2DTranspose(2, 3, name="tr")(x)  # not a feature-map conv: skipped
    x = keras.layers.Conv1D(2, 3, name="c1d")(keras.layers.Reshape((-1, 2))(x))
    model = keras.Model(inp, x)
    assert graph.conv_layers(model) == ["sep", "dw", "conv"]


def test_spatial_and_last_conv_layers():
    inp = keras.Input((5, 5, 1))
    x = keras.layers.Conv2D(2, 3, name="spatial")(inp)  # 3x3
    x = keras.layers.Conv2D(3, 3, name="point")(x)  # 1x1: no longer a map
    model = keras.Model(inp, keras.layers.Dense(7)(keras.layers.Flatten()(x)))
    shapes = {"spatial": (3, 3, 2), "point": (1, 1, 3)}  # as tracing.output_shapes finds them
    assert graph.spatial_conv_layers(model, shapes) == ["spatial"]
    assert graph.last_conv_layer(model, shapes) == "spatial"
    dense = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(7)], name="flat")  # fmt: skip
    with pytest.raises(EmonbError, match="'flat' has no convolutional layer with a spatial"):
        graph.last_conv_layer(dense, {})


def test_find_conv_layer_by_qualified_or_bare_name(nested_models):
    model, _, _ = nested_models
    assert graph.find_conv_layer(model, "block/bc1") == graph.find_conv_layer(model, "bc1")
    assert graph.find_conv_layer(model, "ic1") == "inner/ic1"
    with pytest.raises(EmonbError, match="'irelu' is not a convolutional layer of model 'outer'; "
                                         "valid names: inner/ic1, block/bc1"):
        graph.find_conv_layer(model, "irelu")  # a layer, but no convolution
