"""A read-only view of a Keras model's structure, through Sequential and nested models.

Layers are named by their path through nested models, joined with ``/`` (a character
Keras forbids in layer names), e.g. ``backbone/conv2d_1``. Nothing here runs the model:
that is :mod:`emonb.models.tracing` (outputs, shapes found by a run, feature models), whose
:func:`~emonb.models.tracing.output_shapes` the shape-aware queries here take.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from emonb._tf import keras
from emonb.errors import EmonbError

__all__ = [
    "CONV_TYPES",
    "conv_layers",
    "find_conv_layer",
    "find_layer",
    "input_shape",
    "is_container",
    "is_softmax",
    "iter_layers",
    "last_conv_layer",
    "spatial_conv_layers",
    "sublayers",
]

CONV_TYPES = (keras.layers.Conv2D, keras.layers.SeparableConv2D, keras.layers.DepthwiseConv2D)


def is_container(layer: keras.layers.Layer) -> bool:
    """Whether ``layer`` is a model nested inside another (its layers are expanded)."""
    return isinstance(layer, keras.Model)


def sublayers(model: keras.Model) -> list[keras.layers.Layer]:
    """``model``'s direct layers, without its InputLayer."""
    return [lyr for lyr in model.layers if not isinstance(lyr, keras.layers.InputLayer)]


def iter_layers(model: keras.Model, prefix: str = "") -> Iterator[tuple[str, keras.layers.Layer]]:
    """Yield ``(qualified_name, layer)`` for every leaf layer, nested models expanded, in order."""
    for layer in sublayers(model):
        name = f"{prefix}{layer.name}"
        if is_container(layer):
            yield from iter_layers(layer, prefix=name + "/")
        else:
            yield name, layer


def conv_layers(model: keras.Model) -> list[str]:
    """Qualified names of the convolutional layers (Conv2D, SeparableConv2D, DepthwiseConv2D)."""
    return [name for name, layer in iter_layers(model) if isinstance(layer, CONV_TYPES)]


def spatial_conv_layers(model: keras.Model, shapes: Mapping[str, tuple[int, ...]]) -> list[str]:
    """Convolutional layers whose output is still spatial (h, w > 1), input to output.
    ``shapes``: every leaf's output shape (:func:`emonb.models.tracing.output_shapes`,
    :attr:`emonb.models.runner.Runner.output_shapes`)."""
    return [n for n in conv_layers(model) if len(shapes[n]) == 3 and min(shapes[n][:2]) > 1]


def last_conv_layer(model: keras.Model, shapes: Mapping[str, tuple[int, ...]]) -> str:
    """The last convolutional layer whose output is still spatial (h, w > 1)."""
    names = spatial_conv_layers(model, shapes)
    if not names:
        raise EmonbError(f"model {model.name!r} has no convolutional layer with a spatial output")
    return names[-1]


def find_layer(model: keras.Model, layer: str | int) -> tuple[str, keras.layers.Layer]:
    """A layer by qualified name, by unique bare name, or by index into :func:`iter_layers`.

    Raises :class:`~emonb.errors.EmonbError` listing the valid names.
    """
    layers = list(iter_layers(model))
    names = [n for n, _ in layers]
    if isinstance(layer, int) and not isinstance(layer, bool):
        if -len(layers) <= layer < len(layers):
            return layers[layer]
        raise EmonbError(
            f"layer index {layer} is out of range: the model has {len(layers)} layers (0..{len(layers) - 1})"
        )
    for name, obj in layers:
        if name == layer:
            return name, obj
    bare = [(n, o) for n, o in layers if n.rsplit("/", 1)[-1] == layer]
    if len(bare) == 1:
        return bare[0]
    if len(bare) > 1:
        raise EmonbError(f"layer name {layer!r} is ambiguous: {', '.join(n for n, _ in bare)}")
    raise EmonbError(f"no layer {layer!r} in model {model.name!r}; valid names: {', '.join(names)}")


def find_conv_layer(model: keras.Model, layer: str) -> str:
    """The qualified name of the convolutional layer ``layer`` (qualified, or a unique bare
    name); anything else raises :class:`~emonb.errors.EmonbError` listing the
    convolutional layers."""
    convs = conv_layers(model)
    found = [n for n in convs if n == layer] or [n for n in convs if n.rsplit("/", 1)[-1] == layer]
    if len(found) != 1:
        raise EmonbError(f"{layer!r} is not a convolutional layer of model {model.name!r}; "
                         f"valid names: {', '.join(convs) or 'none'}")  # fmt: skip
    return found[0]


def input_shape(model: keras.Model) -> tuple[int | None, ...]:
    """The model's input shape without the batch axis; a clear error if it was never built."""
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        inputs = None
    if not inputs:
        raise EmonbError(
            f"model {model.name!r} has no defined input (a Sequential model that was never built); "
            "call model.build((None, H, W, C)) or add a keras.Input first"
        )
    if len(inputs) != 1:
        raise EmonbError(
            f"model {model.name!r} has {len(inputs)} inputs; emonb expects one image input"
        )
    return tuple(inputs[0].shape[1:])


def is_softmax(layer: keras.layers.Layer) -> bool:
    """Whether ``layer`` applies a softmax (a Softmax layer or ``activation="softmax"``)."""
    if isinstance(layer, keras.layers.Softmax):
        return True
    return getattr(getattr(layer, "activation", None), "__name__", "") == "softmax"
