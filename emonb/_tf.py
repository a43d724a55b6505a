"""Import TensorFlow and Keras once, safely and quietly.

:func:`emonb.config.guard_tensorflow` has already set the oneDNN ISA cap. TF 2.21 still
writes two lines to file descriptor 2 while it loads (an absl notice and the oneDNN
"custom operations are on" INFO line) whatever ``TF_CPP_MIN_LOG_LEVEL`` says; Jupyter
kernels forward fd 2 into cell outputs, where these timestamped lines break nbval. So
the import runs with fd 2 captured, and everything except those known lines is written
back to stderr afterwards (also when the import fails).

Op determinism is turned on here, once TensorFlow has loaded, unless
``$EMONB_DETERMINISTIC`` is off (:func:`deterministic`): every process that uses emonb's
TensorFlow (the CLI, the book's kernels, the tests) computes the same bits from the same
inputs. (This module imports no other emonb module: :mod:`emonb.config` imports it.)
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["ENV_DETERMINISTIC", "deterministic", "keras", "tf"]

ENV_DETERMINISTIC = "EMONB_DETERMINISTIC"

_NOISE = (
    "All log messages before absl::InitializeLog() is called are written to STDERR",
    "oneDNN custom operations are on",
)


def deterministic() -> bool:
    """Whether TensorFlow runs its ops deterministically (``$EMONB_DETERMINISTIC``, on unless
    set to 0, false, no or off).

    On, ``tf.config.experimental.enable_op_determinism()`` is called right after TensorFlow
    loads: every op then gives the same bits for the same inputs on the same machine and
    thread count, and a TensorFlow random op without a seed raises an error. A process that
    turned it on cannot turn it off; ``benchmarks/determinism.py`` measures what it costs.
    """
    value = os.environ.get(ENV_DETERMINISTIC, "").strip().lower()
    if value in {"", "1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{ENV_DETERMINISTIC} must be 1/true/yes/on or 0/false/no/off, got {value!r}")


@contextmanager
def _filtered_fd2() -> Iterator[None]:
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real fd 2 (embedded interpreters)
        yield
        return
    with tempfile.TemporaryFile(mode="w+b") as cap:
        os.dup2(cap.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            cap.seek(0)
            kept = [
                ln
                for ln in cap.read().decode(errors="replace").splitlines()
                if not any(n in ln for n in _NOISE)
            ]
            if kept:
                print("\n".join(kept), file=sys.stderr)


# emonb/__init__.py has run guard_tensorflow() already (a package imports before its modules).
if os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
    # Another Keras backend (JAX, torch): only backend-agnostic modules work, e.g.
    # emonb.models.train on a machine without TensorFlow. Explainers need TensorFlow.
    import keras

    tf = None
elif "tensorflow" in sys.modules:
    import keras
    import tensorflow as tf
else:
    with _filtered_fd2():
        import keras
        import tensorflow as tf

if tf is not None:
    # TF's Python logger warns about tf.function retracing across explainer instances; such
    # warnings are performance hints, not errors, and would land in chapter outputs.
    tf.get_logger().setLevel("ERROR")
    if deterministic():
        tf.config.experimental.enable_op_determinism()
