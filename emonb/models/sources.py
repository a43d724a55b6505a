"""Where a model comes from, known without loading it (no TensorFlow): a manifest name or
a Keras file, with its sidecar ``<file>.emonb.json`` that records how to prepare images,
the class names and, optionally, the CAM layer (``cam_layer``: the layer a CAM reads by
default, :mod:`emonb.models.cam_layer`). :func:`emonb.models.zoo.load_model` and the command line's checks
(which run before TensorFlow is imported) both decide a model through :func:`find_model`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emonb.config import CLASS_NAMES
from emonb.data.manifest import Manifest, load_manifest
from emonb.errors import EmonbError

__all__ = ["SIDECAR_SUFFIX", "ModelSource", "find_model", "read_sidecar", "sidecar_path"]

#: Sidecar file beside a model (``model.keras.emonb.json``) that records its ModelSpec.
SIDECAR_SUFFIX = ".emonb.json"


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    """The sidecar of the model file ``path``: ``<path>.emonb.json``."""
    path = Path(path)
    return path.with_name(path.name + SIDECAR_SUFFIX)


def read_sidecar(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The sidecar of the model file ``path`` (``{}`` if it has none); one that is not a
    JSON object, whose ``class_names`` is not a list of names or whose ``cam_layer`` is not
    a name, is an error."""
    side = sidecar_path(path)
    if not side.exists():
        return {}
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise EmonbError(f"{side}: not valid JSON ({err})") from None
    if not isinstance(meta, dict):
        raise EmonbError(f"{side}: not valid JSON (expected an object)")
    names = meta.get("class_names")
    if names is not None and (not isinstance(names, list) or not all(isinstance(n, str) for n in names)):
        raise EmonbError(f"{side}: 'class_names' must be a list of names")
    if "cam_layer" in meta and not isinstance(meta["cam_layer"], str):
        raise EmonbError(f"{side}: 'cam_layer' must be a layer name")
    return meta


@dataclass(frozen=True)
class ModelSource:
    """A model named by the manifest (``path`` None: fetched when loaded) or a file."""

    name: str
    path: Path | None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def class_names(self) -> tuple[str, ...]:
        """The manifest's or the sidecar's ``class_names``, else FER-2013's (a model with
        another number of outputs then fails to load)."""
        names = self.meta.get("class_names")
        return tuple(names) if names else CLASS_NAMES


def find_model(model: str | os.PathLike[str], manifest: Manifest | None = None) -> ModelSource:
    """The manifest model named ``model``, or the model file at ``model`` with its sidecar;
    neither is an error that lists the manifest's model names."""
    manifest = manifest or load_manifest()
    key = str(model)
    if key in manifest and manifest[key].kind == "model":
        return ModelSource(key, None, dict(manifest[key].model or {}))
    path = Path(model).expanduser()
    if not path.is_file():
        valid = ", ".join(manifest.names("model"))
        raise EmonbError(f"{path}: no such model file (or use a model name: {valid})")
    return ModelSource(path.stem, path, read_sidecar(path))
