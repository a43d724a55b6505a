"""Running a Keras model leaf layer by leaf layer, and what one run tells about it.

- :func:`trace` / :func:`run` execute a Keras model leaf layer by leaf layer (through
  Sequential and nested models), recording every leaf's output, so a caller can read any
  activation or differentiate with respect to it inside a ``tf.GradientTape``; a
  ``replace`` callback may stand in for any leaf (see :mod:`emonb.models.substitutions`);
- :func:`feature_model` wires the same graph into a new model with intermediate outputs;
- :func:`dataflow` (and :func:`output_shapes`, :func:`layer_table`): each leaf's producers
  and shapes, found by one eager run.

This is the only module in emonb on private Keras APIs (:data:`PRIVATE_KERAS_API`);
:func:`check_keras_api` fails loudly, naming the API, when a Keras release changes them.
The caller's model is never modified.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from emonb._tf import keras, tf
from emonb.errors import EmonbError
from emonb.models import graph

__all__ = [
    "PRIVATE_KERAS_API",
    "Replace",
    "check_keras_api",
    "dataflow",
    "feature_model",
    "layer_table",
    "output_shapes",
    "run",
    "trace",
]

#: Private Keras APIs used here, and what for. Nothing else in emonb uses any.
PRIVATE_KERAS_API: dict[str, str] = {
    "Functional._run_through_graph": (
        "runs a Functional model's graph op by op with a callable per layer (trace)"
    ),
}

#: ``replace(qualified_name, layer) -> callable | None``: a stand-in for a leaf layer, or None.
Replace = Callable[[str, keras.layers.Layer], Callable | None]


# ---- Keras' private API, checked ----------------------------------------------------------
def check_keras_api() -> None:
    """Raise :class:`EmonbError` naming each private Keras API of :data:`PRIVATE_KERAS_API`
    that this Keras release no longer has (run by the test suite)."""
    inp = keras.Input((4, 4, 1))
    model = keras.Model(inp, keras.layers.Conv2D(2, 3)(inp))
    missing = [api for api in PRIVATE_KERAS_API if not hasattr(model, api.split(".", 1)[1])]
    if missing:
        raise EmonbError(
            f"Keras {keras.__version__} lacks the private API emonb.models.tracing uses: "
            + "; ".join(f"{api} ({PRIVATE_KERAS_API[api]})" for api in missing)
            + ". Install the Keras version pinned in requirements.txt."
        )


# ---- running a model leaf by leaf ------------------------------------------------------------
def trace(model: keras.Model, x, *, replace: Replace | None = None,
          training: bool | None = None, record: dict | None = None, prefix: str = ""):  # fmt: skip
    """Run ``model``'s graph on ``x`` (symbolic or concrete), calling leaf layers directly.

    Every leaf output is stored in ``record`` under its qualified name (nested models are
    expanded, see :func:`emonb.models.graph.iter_layers`). ``replace`` may substitute a
    callable for any leaf layer; the layer itself is left untouched.
    """
    record = {} if record is None else record

    def call_leaf(layer: keras.layers.Layer, *args, **kwargs):
        name = prefix + layer.name
        if graph.is_container(layer):
            return trace(layer, args[0], replace=replace, training=training, record=record,
                         prefix=name + "/")  # fmt: skip
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
        for layer in graph.sublayers(model):
            x = call_leaf(layer, x)
        return x
    if hasattr(model, "_run_through_graph"):  # Functional (Keras 3): PRIVATE_KERAS_API
        return model._run_through_graph(
            x, operation_fn=lambda op: lambda *a, **k: call_leaf(op, *a, **k)
        )
    if type(model).__name__ == "Functional":
        check_keras_api()  # a Functional model without it: name the missing private API
    raise EmonbError(
        f"model {model.name!r} is a subclassed model ({type(model).__name__}); emonb can only look inside "
        "Functional and Sequential models (wrap it: keras.Sequential([keras.Input(shape), model]))"
    )


def run(model: keras.Model, x, *, replace: Replace | None = None, training: bool = False):
    """Execute ``model`` on a concrete tensor ``x`` leaf by leaf; returns ``(output, record)``.

    ``record`` maps every leaf layer's qualified name to its output, so gradients can be
    taken with respect to any intermediate activation inside a ``tf.GradientTape``.
    """
    record: dict = {}
    out = trace(model, x, replace=replace, training=training, record=record)
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
    names = [graph.find_layer(model, lyr)[0] for lyr in layers]
    inp = keras.Input(shape=graph.input_shape(model), name="emonb_input")
    record: dict = {}
    final = trace(model, inp, record=record)
    outputs = [record[n] for n in names]
    if include_output:
        outputs.append(final)
    return keras.Model(inp, outputs, name=f"{model.name}_features")


def dataflow(model: keras.Model) -> dict[str, dict]:
    """Per leaf layer: ``shape`` (output, without batch), ``input_shape`` (first input,
    with batch) and ``inputs`` (producer names, ``"<input>"`` for the model's input).

    Found by one eager run on a batch of zeros, so no symbolic node is added to any layer.
    """
    x = tf.zeros((1, *graph.input_shape(model)))
    producer: dict[int, str] = {id(x): "<input>"}
    flow: dict[str, dict] = {}

    def replace(name: str, layer: keras.layers.Layer):
        def call(*args, **kwargs):
            flat = tf.nest.flatten(args)
            out = layer(*args, **kwargs)
            for t in tf.nest.flatten(out):
                producer[id(t)] = name
            flow[name] = {
                "inputs": [producer[id(t)] for t in flat if id(t) in producer],
                "input_shape": tuple(flat[0].shape),
                "shape": tuple(int(d) for d in tf.nest.flatten(out)[0].shape[1:]),
            }
            return out

        return call

    trace(model, x, replace=replace)
    return flow


def output_shapes(model: keras.Model,
                  flow: dict[str, dict] | None = None) -> dict[str, tuple[int, ...]]:  # fmt: skip
    """Every leaf layer's output shape without the batch axis, from ``flow`` when known
    (:func:`dataflow` of ``model``), else one run."""
    flow = dataflow(model) if flow is None else flow
    return {name: f["shape"] for name, f in flow.items()}


def layer_table(model: keras.Model):
    """Leaf layers as a table (pandas DataFrame): name, type, output shape, parameters."""
    import pandas as pd

    shapes = output_shapes(model)
    rows = []
    for name, layer in graph.iter_layers(model):
        shape = str(shapes[name]) if name in shapes else ""
        rows.append({"layer": name, "type": type(layer).__name__, "output shape": shape,
                     "parameters": int(layer.count_params())})  # fmt: skip
    return pd.DataFrame(rows)
