"""Intermediate outputs of a model, by layer, and their statistics — without touching the model.

:class:`Activations` builds one feature model (:func:`emonb.models.tracing.feature_model`)
that shares the network's weights and returns the outputs of every requested layer from
a single forward pass, also for Sequential models saved without an ``Input`` and for
nested models. Everything else here is a pure NumPy/OpenCV function on the arrays it
returns:

* :func:`layer_heatmap` — one layer's activation as a (N, H, W) map in [0, 1];
* :func:`feature_grid` — the channels of one image's activation as one mosaic;
* :func:`first_layer_filters` / :func:`conv_filters` — kernels as (k, kh, kw) images;
* :func:`mean_activation`, :func:`class_activation_stats`, :func:`activation_histograms`
  — per-image activation intensity, summarised by class.

This module imports TensorFlow only when a model is used, so the array functions are
cheap to import (e.g. from :mod:`emonb.plotting.activations`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal

import cv2
import numpy as np

from emonb.arrays import minmax
from emonb.errors import EmonbError

if TYPE_CHECKING:  # pragma: no cover
    import keras
    import pandas as pd

    from emonb.models.zoo import EmotionModel

__all__ = [
    "REDUCTIONS",
    "Activations",
    "activation_histograms",
    "class_activation_stats",
    "conv_filters",
    "feature_grid",
    "first_layer_filters",
    "layer_heatmap",
    "mean_activation",
    "relu_layers",
    "select_layers",
]

#: Channel reductions understood by :func:`layer_heatmap`.
REDUCTIONS = ("mean", "max", "l2")
Reduce = Literal["mean", "max", "l2"]


def _keras_model(net: EmotionModel | keras.Model) -> keras.Model:
    from emonb._tf import keras

    if isinstance(net, keras.Model):
        return net
    model = getattr(net, "model", None)
    if isinstance(model, keras.Model):
        return model
    raise TypeError(f"expected an EmotionModel or a keras.Model, got {type(net).__name__}")


def relu_layers(net: EmotionModel | keras.Model) -> list[str]:
    """Qualified names of the ReLU outputs (``Activation("relu")`` and ``ReLU`` layers):
    the non-negative activations whose intensity the per-class statistics summarise."""
    from emonb._tf import keras
    from emonb.models import graph

    return [
        name
        for name, layer in graph.iter_layers(_keras_model(net))
        if isinstance(layer, keras.layers.ReLU)
        or (
            isinstance(layer, keras.layers.Activation)
            and getattr(layer.activation, "__name__", "") == "relu"
        )
    ]


def select_layers(net: EmotionModel | keras.Model, every: int | None = None) -> list[str]:
    """Qualified names of the convolutional layers, input to output; optionally thinned.

    Parameters
    ----------
    net : EmotionModel or keras.Model
        The network.
    every : int, optional
        Keep every ``every``-th conv layer, always including the first and the last
        (e.g. ``every=3`` on the 15 conv layers of mini-Xception keeps 6). ``None`` keeps all.

    Returns
    -------
    list of str
        Layer names usable by :class:`Activations` and :func:`emonb.models.graph.find_layer`.
    """
    from emonb.models import graph

    names = graph.conv_layers(_keras_model(net))
    if every is None:
        return names
    if not isinstance(every, int) or isinstance(every, bool) or every < 1:
        raise ValueError(f"every must be a positive integer, got {every!r}")
    keep = names[::every]
    if names and keep[-1] != names[-1]:
        keep.append(names[-1])
    return keep


class Activations:
    """Outputs of several layers of a network from one forward pass.

    Builds a single new Keras model (input -> requested layer outputs) that shares the
    network's weights; the network itself is never modified, built, compiled or called
    in training mode.

    Parameters
    ----------
    net : EmotionModel or keras.Model
        The network. With a bare Keras model, raw images are preprocessed by
        :func:`emonb.models.zoo.spec_from_model`'s defaults (``"unit"`` scaling); pass an
        :class:`~emonb.models.zoo.EmotionModel` to get the right scaling.
    layers : sequence of str or int, optional
        Layers by qualified name, unique bare name or index (see
        :func:`emonb.models.graph.find_layer`); duplicates are dropped. Default: every
        convolutional layer (``net.conv_layers()``).

    Attributes
    ----------
    layers : list of str
        Qualified names of the layers, in the order asked; the keys of every result.
    model : keras.Model
        The feature model (one output per layer).

    Examples
    --------
    >>> acts = Activations(net)(faces)              # raw images of any size / colour
    >>> acts["conv2d_1"].shape                      # (N, 62, 62, 8) for mini-Xception
    >>> acts = Activations(net).from_inputs(x)      # x already float32 (N, H, W, C)
    """

    def __init__(
        self, net: EmotionModel | keras.Model, layers: Sequence[str | int] | None = None
    ) -> None:
        from emonb.models import graph
        from emonb.models.tracing import feature_model

        self.net = net
        self._keras = _keras_model(net)
        if layers is None:
            layers = graph.conv_layers(self._keras)
        elif isinstance(layers, (str, int)):
            layers = [layers]
        names = [graph.find_layer(self._keras, lyr)[0] for lyr in layers]
        self.layers: list[str] = list(dict.fromkeys(names))
        if not self.layers:
            raise EmonbError(f"no layers to read from model {self._keras.name!r}")
        self.model: keras.Model = feature_model(self._keras, self.layers)
        self.input_shape: tuple[int, ...] = tuple(int(d) for d in self.model.inputs[0].shape[1:])
        self.output_shapes: dict[str, tuple[int, ...]] = {
            name: tuple(int(d) for d in out.shape[1:])
            for name, out in zip(self.layers, self.model.outputs, strict=True)
        }

    def __repr__(self) -> str:
        return f"Activations({self._keras.name!r}, layers={self.layers})"

    def preprocess(self, images) -> np.ndarray:
        """Raw image(s) -> float32 (N, H, W, C) model input (see ``EmotionModel.preprocess``)."""
        if hasattr(self.net, "preprocess"):
            return self.net.preprocess(images)
        from emonb.models.preprocessing import prepare_images
        from emonb.models.zoo import spec_from_model

        return prepare_images(images, spec_from_model(self._keras))

    def __call__(self, images, batch_size: int = 64) -> dict[str, np.ndarray]:
        """Activations of raw images.

        Parameters
        ----------
        images : array or sequence of arrays
            One image or a batch, grey or colour, any size, uint8 (0..255) or float (0..1).
        batch_size : int
            Images per forward pass.

        Returns
        -------
        dict of str to ndarray
            Qualified layer name -> float32 (N, h, w, c) (or (N, d) for non-spatial layers).
        """
        return self.from_inputs(self.preprocess(images), batch_size=batch_size)

    def from_inputs(self, x: np.ndarray, batch_size: int = 64) -> dict[str, np.ndarray]:
        """Activations of an already-preprocessed float (N, H, W, C) batch (no scaling applied).

        Raises
        ------
        ValueError
            If ``x`` does not have the model's input shape.
        """
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 1 + len(self.input_shape) or x.shape[1:] != self.input_shape:
            raise ValueError(
                f"expected preprocessed inputs of shape (N, {', '.join(map(str, self.input_shape))}),"
                f" got {x.shape}; use Activations(...)(images) for raw images"
            )
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        parts: dict[str, list[np.ndarray]] = {name: [] for name in self.layers}
        for start in range(0, x.shape[0], batch_size):
            outs = self.model(x[start : start + batch_size], training=False)
            if not isinstance(outs, (list, tuple)):
                outs = [outs]
            for name, out in zip(self.layers, outs, strict=True):
                parts[name].append(np.asarray(out, dtype=np.float32))
        return {
            name: np.concatenate(chunks, axis=0)
            if chunks
            else np.zeros((0, *self.output_shapes[name]), np.float32)
            for name, chunks in parts.items()
        }


def conv_filters(net: EmotionModel | keras.Model, layer: str | int) -> np.ndarray:
    """One convolutional layer's kernels as (k, kh, kw) float32 images, one per output channel.

    What is shown, by layer type:

    * ``Conv2D`` — the kernel averaged over its input channels;
    * ``SeparableConv2D`` — the equivalent full kernel (depthwise kernel times pointwise
      weights, summed over depth multipliers), then averaged over input channels;
    * ``DepthwiseConv2D`` — each depthwise kernel (output channel ``c * multiplier + m``).

    For a grey-input first layer (mini-Xception) no averaging happens: these are the
    exact filters. Bias, batch norm and activation are not included.

    Raises
    ------
    EmonbError
        If the layer is not a convolution (names the layer and its type).
    """
    from emonb._tf import keras
    from emonb.models import graph

    name, lyr = graph.find_layer(_keras_model(net), layer)
    if isinstance(lyr, keras.layers.SeparableConv2D):
        depth = np.asarray(lyr.depthwise_kernel, dtype=np.float64)  # (kh, kw, cin, m)
        point = np.asarray(lyr.pointwise_kernel, dtype=np.float64)  # (1, 1, cin*m, k)
        kh, kw, cin, mult = depth.shape
        point = point.reshape(cin, mult, -1)
        kernel = np.einsum("hwcm,cmk->hwck", depth, point)
    elif isinstance(lyr, keras.layers.DepthwiseConv2D):
        depth = np.asarray(lyr.kernel, dtype=np.float64)  # (kh, kw, cin, m)
        kernel = depth.reshape(depth.shape[0], depth.shape[1], 1, -1)
    elif isinstance(lyr, keras.layers.Conv2D):
        kernel = np.asarray(lyr.kernel, dtype=np.float64)  # (kh, kw, cin/groups, k)
    else:
        raise EmonbError(
            f"layer {name!r} is a {type(lyr).__name__}, not a Conv2D, SeparableConv2D or "
            "DepthwiseConv2D; it has no filters to show"
        )
    return np.ascontiguousarray(kernel.mean(axis=2).transpose(2, 0, 1), dtype=np.float32)


def first_layer_filters(net: EmotionModel | keras.Model) -> np.ndarray:
    """The first convolutional layer's kernels as (k, kh, kw) float32 (see :func:`conv_filters`).

    For mini-Xception: (8, 3, 3), the exact weights of ``conv2d_1`` (its input is grey).
    """
    from emonb.models import graph

    names = graph.conv_layers(_keras_model(net))
    if not names:
        raise EmonbError(f"model {_keras_model(net).name!r} has no convolutional layer")
    return conv_filters(net, names[0])


def layer_heatmap(act: np.ndarray, size: tuple[int, int], reduce: Reduce = "mean") -> np.ndarray:
    """One layer's activation as a heatmap per image, at image size, in [0, 1].

    Parameters
    ----------
    act : ndarray (N, h, w, c)
        Activations of one layer (e.g. ``Activations(net)(faces)["conv2d_3"]``).
    size : (H, W)
        Output size, usually the model's input size.
    reduce : {"mean", "max", "l2"}
        How channels are combined: their mean, their maximum or their Euclidean norm.

    Returns
    -------
    ndarray (N, H, W) float32
        The channel reduction upsampled bicubically (``cv2.INTER_CUBIC``), then min-max
        normalised per image; a constant map becomes all zeros.
    """
    act = np.asarray(act, dtype=np.float32)
    if act.ndim != 4:
        raise ValueError(f"expected an (N, h, w, c) activation, got shape {act.shape}")
    if reduce not in REDUCTIONS:
        raise ValueError(f"unknown reduce {reduce!r}; choose one of {', '.join(REDUCTIONS)}")
    h, w = (int(s) for s in size)
    if h < 1 or w < 1:
        raise ValueError(f"size must be (H, W) with positive sides, got {size}")
    if reduce == "mean":
        maps = act.mean(axis=3)
    elif reduce == "max":
        maps = act.max(axis=3)
    else:
        maps = np.sqrt(np.square(act).sum(axis=3))
    maps = np.nan_to_num(maps)
    const = maps.max(axis=(1, 2)) == maps.min(axis=(1, 2)) if maps.size else np.zeros(0, bool)
    up = np.empty((act.shape[0], h, w), np.float32)
    for i, m in enumerate(maps):
        up[i] = cv2.resize(np.ascontiguousarray(m), (w, h), interpolation=cv2.INTER_CUBIC)
    out = minmax(up, axes=(1, 2))
    out[const] = 0.0
    return out


def _check_channels(channels: Sequence[int] | None, n: int) -> list[int]:
    if channels is None:
        return list(range(n))
    chans = [channels] if isinstance(channels, (int, np.integer)) else list(channels)
    if not chans:
        raise ValueError("channels is empty; give at least one channel index")
    bad = [
        c
        for c in chans
        if not isinstance(c, (int, np.integer)) or isinstance(c, bool) or not 0 <= c < n
    ]
    if bad:
        raise ValueError(
            f"channel index(es) {', '.join(map(str, bad))} out of range: the activation has "
            f"{n} channels, valid indices are 0..{n - 1}"
        )
    return [int(c) for c in chans]


def feature_grid(
    act_one_image: np.ndarray,
    channels: Sequence[int] | None = None,
    ncols: int = 8,
    *,
    pad: int = 1,
    pad_value: float = 1.0,
) -> np.ndarray:
    """The feature maps of one image tiled into one 2-D mosaic, each normalised to [0, 1].

    Parameters
    ----------
    act_one_image : ndarray (h, w, c)
        One image's activation of one layer (e.g. ``acts[layer][0]``).
    channels : sequence of int, optional
        Channel indices in ``0..c-1``, in tile order (row-major). Default: all.
    ncols : int
        Tiles per row (fewer if there are fewer channels).
    pad, pad_value : int, float
        Width and value of the separating border between tiles (also fills unused tiles).

    Returns
    -------
    ndarray float32 of shape (rows*(h+pad)-pad, cols*(w+pad)-pad)
        Each tile min-max normalised on its own (constant maps are 0).

    Raises
    ------
    ValueError
        For a channel index out of range (the message gives the valid range).
    """
    act = np.asarray(act_one_image, dtype=np.float32)
    if act.ndim != 3:
        raise ValueError(
            f"expected one image's (h, w, c) activation, got shape {act.shape}; "
            "index the batch first, e.g. acts[layer][0]"
        )
    if not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive integer, got {ncols!r}")
    if pad < 0:
        raise ValueError(f"pad must be >= 0, got {pad}")
    h, w, c = act.shape
    chans = _check_channels(channels, c)
    tiles = minmax(act[:, :, chans].transpose(2, 0, 1), axes=(1, 2))
    cols = min(ncols, len(chans))
    rows = -(-len(chans) // cols)
    grid = np.full((rows * (h + pad) - pad, cols * (w + pad) - pad), pad_value, np.float32)
    for i, tile in enumerate(tiles):
        r, q = divmod(i, cols)
        grid[r * (h + pad) : r * (h + pad) + h, q * (w + pad) : q * (w + pad) + w] = tile
    return grid


def mean_activation(act: np.ndarray) -> np.ndarray:
    """Each image's mean activation intensity: the mean over all but the first axis, (N,) float64."""
    act = np.asarray(act)
    if act.ndim < 2:
        raise ValueError(f"expected a batch of activations (N, ...), got shape {act.shape}")
    return act.reshape(act.shape[0], -1).astype(np.float64).mean(axis=1)


def _check_labels(acts: Mapping[str, np.ndarray], labels: np.ndarray, n_classes: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1 or not (labels.size == 0 or np.issubdtype(labels.dtype, np.integer)):
        raise ValueError(f"labels must be a 1-D integer array, got {labels.dtype} {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(
            f"labels must be class codes 0..{n_classes - 1}, found {labels.min()}..{labels.max()}"
        )
    for name, act in acts.items():
        if np.shape(act)[0] != labels.shape[0]:
            raise ValueError(
                f"layer {name!r} has {np.shape(act)[0]} images but there are {labels.shape[0]} labels"
            )
    return labels.astype(np.int64)


def class_activation_stats(
    acts: Mapping[str, np.ndarray], labels: np.ndarray, class_names: Sequence[str]
) -> pd.DataFrame:
    """Per layer and class: statistics of each image's mean activation (:func:`mean_activation`).

    Parameters
    ----------
    acts : mapping of str to ndarray (N, h, w, c)
        Activations by layer, e.g. from :class:`Activations`.
    labels : ndarray (N,)
        Class codes ``0..len(class_names)-1``.
    class_names : sequence of str
        Names of the classes, in code order.

    Returns
    -------
    pandas.DataFrame
        One row per (layer, class) in the order given, columns ``layer``, ``class``,
        ``n``, ``mean``, ``std`` (population, ddof=0), ``median``; statistics are NaN
        for a class without images.
    """
    import pandas as pd

    labels = _check_labels(acts, labels, len(class_names))
    rows = []
    for name, act in acts.items():
        means = mean_activation(act)
        for code, cls in enumerate(class_names):
            v = means[labels == code]
            empty = v.size == 0
            rows.append({
                "layer": name,
                "class": cls,
                "n": int(v.size),
                "mean": np.nan if empty else float(v.mean()),
                "std": np.nan if empty else float(v.std()),
                "median": np.nan if empty else float(np.median(v)),
            })  # fmt: skip
    return pd.DataFrame(rows, columns=["layer", "class", "n", "mean", "std", "median"])


def activation_histograms(
    acts: Mapping[str, np.ndarray], labels: np.ndarray, n_classes: int, bins: int = 30
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Histograms of per-image mean activation intensity, per layer and class.

    Parameters
    ----------
    acts : mapping of str to ndarray (N, h, w, c)
        Activations by layer.
    labels : ndarray (N,)
        Class codes ``0..n_classes-1``.
    n_classes : int
        Number of classes (rows of each count table, also for classes without images).
    bins : int
        Number of bins; edges are shared by all classes of a layer (they span that
        layer's per-image means over all images), so the classes' histograms compare.

    Returns
    -------
    dict of str to (counts, bin_edges)
        ``counts`` int64 (n_classes, bins), each row summing to the class's image count;
        ``bin_edges`` float64 (bins + 1,). The last bin includes its right edge.
    """
    if not isinstance(bins, int) or bins < 1:
        raise ValueError(f"bins must be a positive integer, got {bins!r}")
    labels = _check_labels(acts, labels, n_classes)
    out = {}
    for name, act in acts.items():
        means = mean_activation(act)
        edges = np.histogram_bin_edges(means, bins=bins)
        counts = np.zeros((n_classes, bins), np.int64)
        for code in range(n_classes):
            counts[code] = np.histogram(means[labels == code], bins=edges)[0]
        out[name] = (counts, edges)
    return out
