"""A read-only view of a Keras model's layers, through Sequential and nested models.

Layers are named by their path through nested models, joined with ``/`` (a character
Keras forbids in layer names), e.g. ``backbone/conv2d_1``. :func:`feature_model` builds a
*new* functional model that shares the original's weights and returns the outputs of any
layers, also for Sequential models saved without an ``Input`` and for models nested
inside others; the caller's model is never modified.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from emonb._tf import keras
from emonb.errors import EmonbError

__all__ = [
    "conv_layers",
    "feature_model",
    "find_layer",
    "input_shape",
    "iter_layers",
    "layer_table",
]

CONV_TYPES = (keras.layers.Conv2D, keras.layers.SeparableConv2D, keras.layers.DepthwiseConv2D)


def _is_container(layer: keras.layers.Layer) -> bool:
    return isinstance(layer, keras.Model)


def _sublayers(model: keras.Model) -> list[keras.layers.Layer]:
    return [lyr for lyr in model.layers if not isinstance(lyr, keras.layers.InputLayer)]


def iter_layers(model: keras.Model, prefix: str = "") -> Iterator[tuple[str, keras.layers.Layer]]:
    """Yield ``(qualified_name, layer)`` for every leaf layer, nested models expanded, in order."""
    for layer in _sublayers(model):
        name = f"{prefix}{layer.name}"
        if _is_container(layer):
            yield from iter_layers(layer, prefix=name + "/")
        else:
            yield name, layer


def conv_layers(model: keras.Model) -> list[str]:
    """Qualified names of the convolutional layers (Conv2D, SeparableConv2D, DepthwiseConv2D)."""
    return [name for name, layer in iter_layers(model) if isinstance(layer, CONV_TYPES)]


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


#: ``replace(qualified_name, layer) -> callable | None``: a stand-in for a leaf layer, or None.
Replace = Callable[[str, keras.layers.Layer], Callable | None]


def _trace(model: keras.Model, x, record: dict, prefix: str, replace: Replace | None = None,
           training: bool | None = None):  # fmt: skip
    """Run ``model``'s graph on ``x`` (symbolic or concrete), calling leaf layers directly.

    Every leaf output is stored in ``record`` under its qualified name. ``replace`` may
    substitute a callable for any leaf layer (the layer itself is left untouched).
    """

    def call_leaf(layer: keras.layers.Layer, *args, **kwargs):
        name = prefix + layer.name
        if _is_container(layer):
            return _trace(layer, args[0], record, name + "/", replace, training)
        fn = replace(name, layer) if replace is not None else None
        if fn is not None:
            out = fn(*args, **kwargs)
        else:
            if training is not None:
                kwargs.setdefault("training", training)
            out = layer(*args, **kwargs)
        record[name] = out
        return out

    if isinstance(model, keras.Sequential):
        for layer in _sublayers(model):
            x = call_leaf(layer, x)
        return x
    if hasattr(model, "_run_through_graph"):  # Functional (Keras 3)
        return model._run_through_graph(
            x, operation_fn=lambda op: lambda *a, **k: call_leaf(op, *a, **k)
        )
    raise EmonbError(
        f"model {model.name!r} is a subclassed model ({type(model).__name__}); emonb can only look inside "
        "Functional and Sequential models (wrap it: keras.Sequential([keras.Input(shape), model]))"
    )


def run(model: keras.Model, x, *, replace: Replace | None = None, training: bool = False):
    """Execute ``model`` on a concrete tensor ``x`` leaf by leaf; returns ``(output, record)``.

    ``record`` maps every leaf layer's qualified name to its output, so gradients can be
    taken with respect to any intermediate activation inside a ``tf.GradientTape``.
    ``replace`` swaps leaf layers for callables (e.g. modified-gradient ReLUs) in this
    run only; the model is not changed.
    """
    record: dict = {}
    out = _trace(model, x, record, prefix="", replace=replace, training=training)
    if isinstance(out, (list, tuple)) and len(out) == 1:  # HDF5 models keep a one-item output list
        out = out[0]
    return out, record


def feature_model(
    model: keras.Model, layers: Sequence[str | int], *, include_output: bool = False
) -> keras.Model:
    """A new model: input -> outputs of ``layers`` (+ the final output if ``include_output``).

    Shares weights with ``model`` (nothing is copied or changed), works through Sequential
    and nested models. Outputs come in the order asked.
    """
    names = [find_layer(model, lyr)[0] for lyr in layers]
    inp = keras.Input(shape=input_shape(model), name="emonb_input")
    record: dict = {}
    final = _trace(model, inp, record, prefix="")
    outputs = [record[n] for n in names]
    if include_output:
        outputs.append(final)
    return keras.Model(inp, outputs, name=f"{model.name}_features")


def dataflow(model: keras.Model) -> tuple[dict[str, tuple[int, ...]], dict[str, list[str]]]:
    """Output shape (without batch) and input producers of every leaf layer.

    Found by one eager run on a batch of zeros, so no symbolic node is added to any layer
    (unlike tracing with ``keras.Input``). Producers are leaf names, or ``"<input>"``.
    """
    from emonb._tf import tf

    x = tf.zeros((1, *input_shape(model)))
    producer: dict[int, str] = {id(x): "<input>"}
    shapes: dict[str, tuple[int, ...]] = {}
    inputs: dict[str, list[str]] = {}

    def replace(name: str, layer: keras.layers.Layer):
        def call(*args, **kwargs):
            inputs[name] = [producer[id(t)] for t in tf.nest.flatten(args) if id(t) in producer]
            out = layer(*args, **kwargs)
            for t in tf.nest.flatten(out):
                producer[id(t)] = name
            shapes[name] = tuple(int(d) for d in tf.nest.flatten(out)[0].shape[1:])
            return out

        return call

    _trace(model, x, {}, prefix="", replace=replace)
    return shapes, inputs


def output_shapes(model: keras.Model) -> dict[str, tuple[int, ...]]:
    """Every leaf layer's output shape without the batch axis (see :func:`dataflow`)."""
    return dataflow(model)[0]


def layer_table(model: keras.Model):
    """Leaf layers as a table (pandas DataFrame): name, type, output shape, parameters."""
    import pandas as pd

    shapes = output_shapes(model)
    rows = []
    for name, layer in iter_layers(model):
        shape = str(shapes[name]) if name in shapes else ""
        rows.append({"layer": name, "type": type(layer).__name__, "output shape": shape,
                     "parameters": int(layer.count_params())})  # fmt: skip
    return pd.DataFrame(rows)


def is_softmax(layer: keras.layers.Layer) -> bool:
    """Whether ``layer`` applies a softmax (a Softmax layer or ``activation="softmax"``)."""
    if isinstance(layer, keras.layers.Softmax):
        return True
    return getattr(getattr(layer, "activation", None), "__name__", "") == "softmax"


def softmax_bypass(layer: keras.layers.Layer) -> Callable | None:
    """A stand-in for a softmax ``layer`` that returns its logits (pre-softmax input), reading
    the layer's own weights; None when emonb does not know how for this layer type."""
    from emonb._tf import tf

    if isinstance(layer, (keras.layers.Activation, keras.layers.Softmax)):
        return lambda x, *args, **kwargs: x
    if isinstance(layer, keras.layers.Dense) and getattr(layer, "quantization_mode", None) is None:

        def dense_logits(x, *args, **kwargs):
            z = tf.matmul(x, layer.kernel)
            return z + layer.bias if layer.use_bias else z

        return dense_logits
    return None
