"""A model sent to other processes: :class:`ModelRef` pickles as the model's Keras file.

A task on a Dask worker (:mod:`emonb.engine`) cannot share the driver's Keras model; it
gets a :class:`ModelRef` instead. In the driver's process the reference hands back the
model itself (nothing is copied: the in-process default runs on the user's object);
pickled, it carries the model saved as a ``.keras`` file (weights to the bit) with the
:class:`~emonb.models.preprocessing.ModelSpec`, name and recorded CAM layer that
:func:`~emonb.models.zoo.load_model` read, and :func:`worker_model` loads it once per
worker process. The user's model is only read (``save`` writes a copy).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from typing import Any

from emonb.engine import cached
from emonb.models.zoo import EmotionModel

__all__ = ["ModelRef", "worker_model"]


class ModelRef:
    """A picklable handle on ``net`` (see the module's docstring)."""

    def __init__(self, net: EmotionModel):
        self.net: EmotionModel | None = net
        self._state: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        return self.net.name if self.net is not None else str(self._state["name"])

    def __getstate__(self) -> dict[str, Any]:
        if self._state is None:  # saved once, however many tasks carry it
            net = self.net
            with tempfile.TemporaryDirectory() as folder:
                path = os.path.join(folder, "model.keras")
                net.model.save(path)
                with open(path, "rb") as f:
                    data = f.read()
            self._state = {"data": data, "key": hashlib.sha256(data).hexdigest(),
                           "spec": net.spec, "name": net.name,
                           "recorded_cam_layer": net.recorded_cam_layer}  # fmt: skip
        return self._state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.net, self._state = None, state

    def load(self) -> EmotionModel:
        """The model: the driver's own object, or (unpickled) loaded from the file."""
        if self.net is not None:
            return self.net
        from emonb._tf import keras

        s = self._state
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "model.keras")
            with open(path, "wb") as f:
                f.write(s["data"])
            model = keras.models.load_model(path, compile=False)
        return EmotionModel(model=model, spec=s["spec"], name=s["name"],
                            recorded_cam_layer=s["recorded_cam_layer"])  # fmt: skip


def worker_model(ref: ModelRef) -> EmotionModel:
    """``ref``'s model, loaded once per process (:func:`emonb.engine.cached`, by the file's
    sha256); in the driver, the driver's own object."""
    if ref.net is not None:
        return ref.net
    return cached(("model", ref._state["key"]), ref.load)
