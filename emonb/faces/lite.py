"""LiteRT (TensorFlow Lite) models of the manifest: the face mesh and BlazeFace.

They run on ``ai-edge-litert``, LiteRT's own interpreter (``tf.lite.Interpreter`` is
deprecated and warns on every use). On this project's 2-core CPU the face-mesh model takes
1.6 ms per face at batch 1 on LiteRT 2.3 against 2.9 ms on TensorFlow 2.21's interpreter,
and LiteRT installs beside TensorFlow 2.21 without changing any of its dependencies.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from emonb.errors import EmonbError

__all__ = ["LiteModel", "quiet_stderr"]


@contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence the C++ runtime's own lines on file descriptor 2 (LiteRT prints "INFO:
    Created TensorFlow Lite XNNPACK delegate for CPU." on its first run), which Python's
    ``warnings`` and ``logging`` cannot reach."""
    fd = 2  # C's stderr; not sys.stderr.fileno(): in a Jupyter kernel that is a copy
    sys.stderr.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), fd)
            try:
                yield
            finally:
                os.dup2(saved, fd)
    finally:
        os.close(saved)


class LiteModel:
    """One ``.tflite`` model with a single image input, run in batches.

    ``source``: a manifest name (``"face-mesh"``, ``"face-detector"``; fetched and
    verified on first use) or a file. ``threads``: LiteRT's CPU threads (default: all
    cores). A missing or corrupt file is an :class:`~emonb.errors.EmonbError` that says
    which ``emonb fetch`` repairs it.
    """

    def __init__(self, source: str | os.PathLike[str], *, threads: int | None = None):
        from emonb.data.manifest import artifact_path, load_manifest

        manifest = load_manifest()
        name = str(source)
        if name in manifest:
            try:
                path = artifact_path(name, manifest=manifest)
            except EmonbError as err:
                raise EmonbError(f"{err}; run `emonb fetch {name}`") from err
            hint = f"run `emonb fetch {name}`"
        else:
            path = Path(source)
            hint = "check the file"
            if not path.is_file():
                raise EmonbError(f"{path}: no such model file")
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as err:  # pragma: no cover - a requirement
            raise EmonbError("ai-edge-litert is not installed (pip install ai-edge-litert)") from err
        self.path = Path(path)
        self.threads = int(threads or os.cpu_count() or 1)
        try:
            with quiet_stderr():
                self._it = Interpreter(model_path=str(self.path), num_threads=self.threads)
                self._it.allocate_tensors()
        except (ValueError, RuntimeError) as err:
            raise EmonbError(f"{self.path}: not a usable .tflite model ({err}); {hint}") from err
        self._input = self._it.get_input_details()[0]
        self._outputs = self._it.get_output_details()
        self.input_shape: tuple[int, ...] = tuple(int(s) for s in self._input["shape"][1:])
        self._batch = 1
        self._warm = False

    @property
    def output_names(self) -> list[str]:
        return [o["name"] for o in self._outputs]

    def _resize(self, batch: int) -> None:
        if batch != self._batch:
            self._it.resize_tensor_input(self._input["index"], [batch, *self.input_shape])
            self._it.allocate_tensors()
            self._batch = batch

    def __call__(self, x: np.ndarray, *, batch_size: int = 32) -> list[np.ndarray]:
        """The outputs (in :attr:`output_names` order) for inputs ``x`` (N, *input_shape),
        float32, each output with N rows.

        Only for models whose outputs are batch-major: the face mesh is; BlazeFace's graph
        concatenates its anchor outputs across the batch (all images' stride-8 rows, then
        all stride-16 rows), which :class:`~emonb.faces.blazeface.BlazeFace` puts back
        per image itself."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.shape[1:] != self.input_shape:
            raise ValueError(f"{self.path.name} takes (N, {self.input_shape}), got {x.shape}")
        parts: list[list[np.ndarray]] = [[] for _ in self._outputs]
        for start in range(0, len(x), batch_size):
            chunk = x[start : start + batch_size]
            self._resize(len(chunk))
            self._it.set_tensor(self._input["index"], chunk)
            if self._warm:
                self._it.invoke()
            else:
                with quiet_stderr():
                    self._it.invoke()
                self._warm = True
            for k, o in enumerate(self._outputs):
                out = self._it.get_tensor(o["index"])
                parts[k].append(out.reshape(len(chunk), -1).copy())
        return [np.concatenate(p) if p else np.zeros((0, 0), np.float32) for p in parts]
