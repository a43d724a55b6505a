"""The seed project's emotion CNN: three convolutional blocks and two dense layers.

Each block is ``(Conv2D 3x3 -> ReLU -> BatchNormalization) x convs_per_block ->
MaxPooling 2x2 -> Dropout``, the seed's "Conv2D + BatchNormalization + MaxPooling +
Dropout"; then ``Flatten -> (Dense 512 -> BN -> ReLU -> Dropout) -> (Dense 256 -> BN ->
ReLU -> Dropout) -> Dense 7 (softmax)``. Input: 48x48x1 grey in [0, 1] (ModelSpec
``unit``). The ReLUs are layers of their own, so feature maps can be read before and
after the non-linearity.

The one addition to the seed is BatchNormalization after the dense layers: chapter 01's
settings study (``benchmarks/train_study.py``, ``benchmarks/seed_cnn_study_cpu.json``)
trains the seed's recipe without it (``dense_bn=False``, ``order="conv-bn-relu"``) beside
the default, with three seeds each, and shows what it changes.

Backend-agnostic Keras 3: the same code builds the model under TensorFlow or JAX.
"""

from __future__ import annotations

from collections.abc import Sequence

from emonb._tf import keras
from emonb.config import CLASS_NAMES

__all__ = ["SEED_SPEC", "build_seed_cnn"]

#: How images are prepared for the seed CNN (see :class:`emonb.models.ModelSpec`).
SEED_SPEC = {"preprocessing": "unit", "input_size": [48, 48], "class_names": list(CLASS_NAMES)}


def build_seed_cnn(
    input_shape: tuple[int, int, int] = (48, 48, 1),
    n_classes: int = len(CLASS_NAMES),
    *,
    filters: Sequence[int] = (32, 64, 128),
    convs_per_block: int = 2,
    dense: Sequence[int] = (512, 256),
    conv_dropout: float = 0.25,
    dense_dropout: float = 0.5,
    order: str = "conv-relu-bn",
    dense_bn: bool = True,
    seed: int = 0,
    name: str = "seed_cnn",
) -> keras.Model:
    """The seed CNN as a Functional model (uncompiled).

    ``seed`` fixes the initial weights and the dropout streams: the same seed gives the
    same model on the same machine. With the defaults the model has 2,783,463
    parameters, 2.36M of them in the first dense layer.
    """
    if order not in ("conv-bn-relu", "conv-relu-bn"):
        raise ValueError(f"order must be 'conv-bn-relu' or 'conv-relu-bn', not {order!r}")
    init = keras.initializers.HeUniform
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    k = 0  # running index: a distinct, reproducible seed per layer
    for b, f in enumerate(filters, start=1):
        for c in range(1, convs_per_block + 1):
            k += 1
            x = keras.layers.Conv2D(f, 3, padding="same", use_bias=order != "conv-bn-relu",
                                    kernel_initializer=init(seed=seed + k),
                                    name=f"block{b}_conv{c}")(x)  # fmt: skip
            if order == "conv-bn-relu":
                x = keras.layers.BatchNormalization(name=f"block{b}_bn{c}")(x)
                x = keras.layers.ReLU(name=f"block{b}_relu{c}")(x)
            else:
                x = keras.layers.ReLU(name=f"block{b}_relu{c}")(x)
                x = keras.layers.BatchNormalization(name=f"block{b}_bn{c}")(x)
        x = keras.layers.MaxPooling2D(2, name=f"block{b}_pool")(x)
        k += 1
        x = keras.layers.Dropout(conv_dropout, seed=seed + k, name=f"block{b}_dropout")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    for d, units in enumerate(dense, start=1):
        k += 1
        x = keras.layers.Dense(units, use_bias=not dense_bn, kernel_initializer=init(seed=seed + k),
                               name=f"dense{d}")(x)  # fmt: skip
        if dense_bn:
            x = keras.layers.BatchNormalization(name=f"dense{d}_bn")(x)
        x = keras.layers.ReLU(name=f"dense{d}_relu")(x)
        k += 1
        x = keras.layers.Dropout(dense_dropout, seed=seed + k, name=f"dense{d}_dropout")(x)
    k += 1
    outputs = keras.layers.Dense(
        n_classes,
        activation="softmax",
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed + k),
        name="emotion",
    )(x)
    return keras.Model(inputs, outputs, name=name)
