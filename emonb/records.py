"""Records: what emonb writes as JSON and how it reads it back.

- :func:`provenance` (with :func:`machine_info`): who wrote a recorded file, the command,
  commit, date and machine, stamped into every file of ``benchmarks/``;
- :func:`numerics`: what the bits TensorFlow computes depend on (versions, op determinism,
  the oneDNN ISA cap, the thread count), which keys the book's cached stand-in models;
- :func:`json_safe`: NaN -> None and NumPy scalars -> Python, so that every file is strict JSON;
- :func:`write_json` / :func:`json_writer`: the one atomic JSON writer (a temporary file
  beside the target, renamed over it), used by every JSON output of emonb, so an interrupted
  run leaves the old file or none, never half a new one;
- :func:`load_json`: a JSON object read back, with a one-line :class:`EmonbError` when the
  file is missing or damaged.

Nothing here imports another emonb module on import but :mod:`emonb.errors` (TensorFlow is
imported by the functions that read it), so every layer may use it.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from emonb.errors import EmonbError

__all__ = ["code_changes", "intra_op_threads", "json_leaves", "json_safe", "json_writer",
           "load_json", "machine_info", "numerics", "provenance", "write_json"]  # fmt: skip

#: The repository root (for git), when emonb runs from a checkout.
_ROOT = Path(__file__).resolve().parent.parent


def machine_info() -> dict:
    """What a benchmark figure depends on: processor, cores, Python, TensorFlow, oneDNN ISA."""
    from emonb._tf import tf

    return {
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "tensorflow": None if tf is None else tf.__version__,  # None on another Keras backend
        "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA", ""),
    }


def intra_op_threads() -> int:
    """The threads TensorFlow splits one op between: ``$TF_NUM_INTRAOP_THREADS``, else what
    ``tf.config.threading`` was set to, else TensorFlow's default (the CPUs this process may
    run on)."""
    from emonb._tf import tf

    env = os.environ.get("TF_NUM_INTRAOP_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    set_ = tf.config.threading.get_intra_op_parallelism_threads() if tf is not None else 0
    if set_ > 0:
        return set_
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def numerics() -> dict:
    """What the bits TensorFlow computes depend on besides the inputs and emonb's code: the
    TensorFlow and Keras versions, op determinism (:func:`emonb._tf.deterministic`), the
    oneDNN ISA cap and the intra-op thread count, which decides how an op splits a sum
    between threads (measured: the book's stand-in CNN trained with 1 or 2 threads has the
    same weights, with 4 threads others, determinism on or off)."""
    from emonb._tf import deterministic, keras, tf

    return {
        "tensorflow": None if tf is None else tf.__version__,
        "keras": keras.__version__,
        "deterministic": deterministic(),
        "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA", ""),
        "intra_op_threads": intra_op_threads(),
    }


def code_changes(status: str) -> list[str]:
    """The paths of ``git status --porcelain`` output that change code: every changed file
    but the recorded results themselves (``benchmarks/*.json``), so that one benchmark run
    after another in the same checkout does not make the second look dirty."""
    # "XY PATH" per line; X or Y may be a space, and the first line's leading space may be gone
    paths = [line[2:].lstrip().split(" -> ")[-1].strip('"') for line in status.splitlines()
             if line.strip()]  # fmt: skip
    return [p for p in paths if not (p.startswith("benchmarks/") and p.endswith(".json"))]


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(_ROOT), *args], capture_output=True, text=True,
                             timeout=10)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def provenance(argv: Sequence[str] | None = None) -> dict:
    """Who wrote a recorded file: the command (``argv``, default ``sys.argv``), the git
    commit of the working tree (and whether it had uncommitted changes), the UTC date, and
    :func:`machine_info`."""
    status = _git("status", "--porcelain", "--untracked-files=no")
    args = list(sys.argv if argv is None else argv)
    return {
        "command": " ".join(shlex.quote(a) for a in args),
        "commit": _git("rev-parse", "HEAD"),
        "dirty": None if status is None else bool(code_changes(status)),
        "date": datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat(),
        "machine": {**machine_info(), "platform": platform.platform()},
    }


def json_safe(obj):
    """NaN -> None and NumPy scalars -> Python, recursively (strict JSON)."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return None if not np.isfinite(obj) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def json_leaves(doc, skip: Sequence[str] = (), path: str = "") -> dict[str, object]:
    """Every leaf of a JSON document (numbers, strings, booleans, None) by its path
    (``/key`` for a key, ``[i]`` for a list item), leaving out every key named in ``skip``
    at any depth: what two results of one command are compared by."""
    if isinstance(doc, dict):
        return {k: v for key, val in doc.items() if key not in skip
                for k, v in json_leaves(val, skip, f"{path}/{key}").items()}  # fmt: skip
    if isinstance(doc, list):
        return {k: v for i, val in enumerate(doc)
                for k, v in json_leaves(val, skip, f"{path}[{i}]").items()}  # fmt: skip
    return {path: doc}


def _cannot(path: Path, err: OSError) -> EmonbError:
    return EmonbError(f"{path}: cannot write the JSON ({err.strerror or err})")


@contextlib.contextmanager
def json_writer(doc, path: str | os.PathLike[str] | None, *, indent: int = 1,
                strict: bool = True) -> Iterator[Callable[[], Path | None]]:  # fmt: skip
    """Write ``doc`` (made :func:`json_safe`) as strict JSON to a temporary file beside
    ``path`` now (``strict=False``: as it is, infinities and NaN as JavaScript literals, for
    state that must read back exactly, never for a result); the yielded ``commit()`` renames it into place, and leaving the block
    without it removes it, so ``path`` is never half-written. Lets a command write its other
    outputs between the two and put the JSON in place last (``path`` None: nothing is
    written, ``commit()`` returns None)."""
    if path is None:
        yield lambda: None
        return
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(json_safe(doc) if strict else doc, fh, indent=indent, allow_nan=not strict)
            fh.write("\n")
    except OSError as err:
        raise _cannot(path, err) from err

    def commit() -> Path:
        try:
            os.replace(tmp, path)
        except OSError as err:
            raise _cannot(path, err) from err
        return path

    try:
        yield commit
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(doc, path: str | os.PathLike[str], *, indent: int = 1, strict: bool = True
               ) -> Path:  # fmt: skip
    """Write ``doc`` as JSON to ``path``, whole (:func:`json_writer`); returns the path."""
    with json_writer(doc, path, indent=indent, strict=strict) as commit:
        return commit()


def load_json(path: str | os.PathLike[str], what: str = "JSON file") -> dict:
    """A JSON object read from ``path``; :class:`EmonbError` in one line if it is missing,
    unreadable, not JSON or not an object (``what`` names it in the message)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EmonbError(f"{path}: no such {what}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise EmonbError(f"{path}: not a readable {what} ({err})") from None
    if not isinstance(data, dict):
        raise EmonbError(f"{path}: a {what} is a JSON object, got {type(data).__name__}")
    return data
