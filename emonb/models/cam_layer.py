"""Which layer a CAM reads when none is named: the model's default CAM layer.

A layered method (every :class:`~emonb.methods.cam.BaseCAM`, guided Grad-CAM) reads one
convolutional layer. Its default is, in this order:

1. **recorded** with the model: the manifest entry's ``model: cam_layer`` (the
   mini-Xception's ``separable_conv2d_8``, chosen by measurement in
   ``benchmarks/cam_layers_cpu.json``), or the key ``cam_layer`` of a model file's sidecar
   ``<file>.emonb.json`` (:mod:`emonb.models.sources`); a recorded name that is not a
   convolutional layer of the model is an error listing the valid ones;
2. else **the rule** (:data:`CAM_LAYER_RULE`, :func:`rule_cam_layer`): the deepest
   convolutional layer with a spatial output, leaving out a class-per-channel convolution
   (as many channels as classes) whose output feeds global pooling, directly or through
   activations, BatchNorm or dropout. At such a layer every gradient CAM is the plain CAM
   (chapter 05 derives why), so it measures nothing of its own. When the rule decides, a
   :class:`CamLayerNotice` says so, once per model: the layer was not chosen by
   measurement, and ``emonb evaluate-maps --layers all`` measures it.

:func:`default_cam_layer` returns the layer and where it came from (:class:`CamLayer`); it
is found once per model and kept with it (its ``derived`` slot).
"""

from __future__ import annotations

import os
import sys
import warnings
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from emonb._tf import keras
from emonb.errors import EmonbError
from emonb.models import graph
from emonb.models.tracing import dataflow
from emonb.models.zoo import EmotionModel

__all__ = ["CAM_LAYER_RULE", "CamLayer", "CamLayerNotice", "class_channel_heads",
           "default_cam_layer", "rule_cam_layer"]  # fmt: skip

#: The rule that picks a model's CAM layer when none is recorded with it.
CAM_LAYER_RULE = (
    "the deepest convolutional layer with a spatial output (most layers between it and the "
    "input), leaving out a class-per-channel convolution (one channel per class) whose output "
    "feeds global pooling directly or through activations, BatchNorm or dropout"
)
#: Layers a class-per-channel head may pass through on its way to global pooling: they act
#: on each channel (or each value) alone, so the pooled channel is still that class's.
PASS_THROUGH = (keras.layers.Activation, keras.layers.ReLU, keras.layers.LeakyReLU,
                keras.layers.ELU, keras.layers.PReLU, keras.layers.BatchNormalization,
                keras.layers.Dropout)  # fmt: skip
GLOBAL_POOLING = (keras.layers.GlobalAveragePooling2D, keras.layers.GlobalMaxPooling2D)


class CamLayerNotice(UserWarning):
    """A model's CAM layer was picked by :data:`CAM_LAYER_RULE`, not by measurement."""


@dataclass(frozen=True)
class CamLayer:
    """A model's default CAM layer (qualified name) and where it came from: ``"record"``
    (the manifest or the sidecar) or ``"rule"`` (:data:`CAM_LAYER_RULE`)."""

    name: str
    source: Literal["record", "rule"]


#: Keras models whose rule notice was given (once per model, however often it is wrapped).
_NOTICED: weakref.WeakSet = weakref.WeakSet()


def class_channel_heads(model: keras.Model, n_classes: int,
                        flow: Mapping[str, dict] | None = None) -> list[str]:  # fmt: skip
    """The convolutional layers with ``n_classes`` channels whose output feeds global
    pooling, directly or through :data:`PASS_THROUGH` layers only (the mini-Xception's
    ``conv2d_7``: 7 channels, global average pooling, softmax). ``flow``:
    :func:`emonb.models.tracing.dataflow` of ``model`` (default: one run)."""
    flow = dataflow(model) if flow is None else flow
    layers = dict(graph.iter_layers(model))
    consumers: dict[str, list[str]] = {}
    for name, f in flow.items():
        for p in f["inputs"]:
            consumers.setdefault(p, []).append(name)

    def feeds_pooling(name: str) -> bool:
        for c in consumers.get(name, ()):
            if isinstance(layers[c], GLOBAL_POOLING):
                return True
            if isinstance(layers[c], PASS_THROUGH) and feeds_pooling(c):
                return True
        return False

    return [n for n in graph.conv_layers(model)
            if flow[n]["shape"][-1] == n_classes and feeds_pooling(n)]  # fmt: skip


def rule_cam_layer(model: keras.Model, n_classes: int,
                   flow: Mapping[str, dict] | None = None) -> str:  # fmt: skip
    """The layer :data:`CAM_LAYER_RULE` picks: among the convolutional layers with a
    spatial output (:func:`emonb.models.graph.spatial_conv_layers`), the one with the most
    layers on its longest path from the input (the later in layer order on a tie), after
    leaving out :func:`class_channel_heads`. Depth, not layer order, because a residual
    shortcut's 1x1 convolution may come late in a Functional model's layer list while
    the main branch beside it is deeper (the mini-Xception: ``conv2d_6`` after
    ``separable_conv2d_8``). A model whose only spatial convolutions are such heads gets
    the deepest head. No spatial convolution is an error."""
    flow = dataflow(model) if flow is None else flow
    shapes = {name: f["shape"] for name, f in flow.items()}
    spatial = graph.spatial_conv_layers(model, shapes)
    if not spatial:
        raise EmonbError(f"model {model.name!r} has no convolutional layer with a spatial output")
    depth: dict[str, int] = {}
    for name, f in flow.items():  # producers run before their consumers
        depth[name] = 1 + max((depth.get(p, 0) for p in f["inputs"]), default=0)
    heads = set(class_channel_heads(model, n_classes, flow))
    candidates = [n for n in spatial if n not in heads] or spatial
    return max(reversed(candidates), key=lambda n: depth[n])  # max keeps the first of a tie


def _first_caller_outside_emonb() -> int:
    """The ``stacklevel`` that points a warning raised in :func:`default_cam_layer` at the
    first caller outside the emonb package (the user's line, not a method's constructor)."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    frame, level = sys._getframe(2), 2  # 1: default_cam_layer, 2: its caller
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    return level


def default_cam_layer(net: EmotionModel) -> CamLayer:
    """``net``'s default CAM layer: its recorded one (``net.recorded_cam_layer``, which
    must be a convolutional layer: :func:`emonb.models.graph.find_conv_layer`), else
    :func:`rule_cam_layer`'s, with a :class:`CamLayerNotice` the first time the rule
    decides for this Keras model. Found once and kept with ``net``
    (``net.derived["cam_layer"]``)."""
    if "cam_layer" in net.derived:
        return net.derived["cam_layer"]
    if net.recorded_cam_layer is not None:
        try:
            name = graph.find_conv_layer(net.model, net.recorded_cam_layer)
        except EmonbError as err:
            raise EmonbError(f"recorded cam_layer {err}") from None
        found = CamLayer(name, "record")
    else:
        found = CamLayer(rule_cam_layer(net.model, len(net.class_names)), "rule")
        if net.model not in _NOTICED:
            _NOTICED.add(net.model)
            warnings.warn(
                f"model {net.name!r}: CAM layer {found.name!r} picked by rule (the deepest "
                "spatial convolution, not a class-per-channel head), not chosen by measurement; "
                "`emonb evaluate-maps --layers all` measures every layer",
                CamLayerNotice,
                stacklevel=_first_caller_outside_emonb(),
            )
    net.derived["cam_layer"] = found
    return found
