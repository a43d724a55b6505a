"""Load emotion models by name (manifest) or path, with what they expect as input.

``load_model("mini-xception")`` fetches and verifies the pretrained mini-Xception;
``load_model("my_model.keras")`` loads any Keras 3 file (``.keras`` or HDF5). The
returned :class:`EmotionModel` knows its :class:`~emonb.models.preprocessing.ModelSpec`,
so callers pass raw images of any size and colour. Running it is
:mod:`emonb.models.runner`'s job (``predict_proba(net, images)``, ``runner_for(net)``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emonb._tf import keras
from emonb.config import CLASS_NAMES
from emonb.data.manifest import artifact_path, load_manifest
from emonb.errors import EmonbError
from emonb.models import graph
from emonb.models.preprocessing import ModelSpec, prepare_images
from emonb.models.sources import SIDECAR_SUFFIX, find_model, sidecar_path  # noqa: F401 (SIDECAR_SUFFIX: re-exported)

__all__ = ["EmotionModel", "as_emotion_model", "load_model", "spec_from_model"]

@dataclass(frozen=True)
class EmotionModel:
    """A Keras model plus its input spec. The Keras model is never modified by emonb."""

    model: keras.Model
    spec: ModelSpec
    name: str
    path: Path | None = None
    #: The CAM layer recorded with the model (the manifest's ``model: cam_layer``, a
    #: sidecar's ``cam_layer``); None: none recorded (the rule of
    #: :func:`emonb.models.cam_layer.default_cam_layer` then picks one).
    recorded_cam_layer: str | None = None
    #: Objects made from this model by the modules that use it, kept with it (its default
    #: runner: :func:`emonb.models.runner.runner_for`; its default CAM layer:
    #: :func:`emonb.models.cam_layer.default_cam_layer`).
    derived: dict[str, object] = field(default_factory=dict, init=False, repr=False,
                                       compare=False)  # fmt: skip

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.spec.class_names

    def preprocess(self, images) -> np.ndarray:
        """Any image(s) -> float32 (N, H, W, C) input for this model."""
        return prepare_images(images, self.spec)

    def conv_layers(self) -> list[str]:
        """Qualified names of the convolutional layers, input to output."""
        return graph.conv_layers(self.model)


def as_emotion_model(model: EmotionModel | keras.Model) -> EmotionModel:
    """``model`` itself, or a bare Keras model wrapped with :func:`spec_from_model`'s defaults."""
    if isinstance(model, EmotionModel):
        return model
    if isinstance(model, keras.Model):
        return EmotionModel(model=model, spec=spec_from_model(model), name=model.name)
    raise TypeError(f"expected an EmotionModel or a keras.Model, got {type(model).__name__}")


def spec_from_model(model: keras.Model, preprocessing: str = "unit",
                    class_names: tuple[str, ...] | None = None) -> ModelSpec:  # fmt: skip
    """Infer the input size and channels from the model; pixel scaling must be given."""
    shape = graph.input_shape(model)
    if len(shape) != 3 or shape[0] is None or shape[1] is None or shape[2] not in (1, 3):
        raise EmonbError(
            f"model {model.name!r} takes input {shape}; emonb needs (H, W, 1) or (H, W, 3) images"
        )
    n_out = model.outputs[0].shape[-1]
    names = (
        tuple(class_names) if class_names else (CLASS_NAMES if n_out == len(CLASS_NAMES) else None)
    )
    if names is None or len(names) != n_out:
        raise EmonbError(f"model {model.name!r} has {n_out} outputs; pass class_names for them")
    return ModelSpec(input_size=(int(shape[0]), int(shape[1])), channels=int(shape[2]),
                     preprocessing=preprocessing, class_names=names)  # fmt: skip


def load_model(
    model: str | os.PathLike[str] = "mini-xception",
    *,
    preprocessing: str | None = None,
    class_names: tuple[str, ...] | None = None,
) -> EmotionModel:
    """Load a model by manifest name (``mini-xception``) or by file path.

    For a file, the pixel scaling comes from ``preprocessing``, else from a sidecar
    ``<file>.emonb.json`` (``{"preprocessing": "unit", "class_names": [...]}``), else
    ``"unit"`` (x / 255, the seed project's convention). Input size and channels are read
    from the model. Files load with ``compile=False`` (no optimizer state is needed).
    A CAM layer recorded with the model (manifest ``model: cam_layer``, sidecar
    ``cam_layer``) becomes :attr:`EmotionModel.recorded_cam_layer`; one that is not a
    convolutional layer of the model is an error listing the valid names.
    """

    manifest = load_manifest()
    source = find_model(model, manifest)  # the rule the command line checks before loading
    path = source.path or artifact_path(source.name, manifest=manifest)
    meta, name = source.meta, source.name
    try:
        kmodel = keras.models.load_model(path, compile=False)
    except Exception as err:  # Keras raises many types for bad files
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise EmonbError(f"{path}: could not load a Keras model ({first})") from err
    spec = spec_from_model(
        kmodel,
        preprocessing=preprocessing or meta.get("preprocessing", "unit"),
        class_names=class_names
        or (tuple(meta["class_names"]) if meta.get("class_names") else None),
    )
    want = meta.get("input_size")
    if want and tuple(want) != spec.input_size:
        raise EmonbError(
            f"{path}: manifest says input {tuple(want)}, model takes {spec.input_size}"
        )
    cam_layer = meta.get("cam_layer")
    if cam_layer is not None:
        where = sidecar_path(source.path) if source.path is not None else f"manifest entry {name!r}"
        try:
            cam_layer = graph.find_conv_layer(kmodel, str(cam_layer))
        except EmonbError as err:
            raise EmonbError(f"{where}: cam_layer {err}") from None
    return EmotionModel(model=kmodel, spec=spec, name=name, path=path,
                        recorded_cam_layer=cam_layer)  # fmt: skip
