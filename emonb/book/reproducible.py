"""Identical rebuilds: two executions of a chapter differ only where its results differ.

What a chapter computes is made repeatable where it is computed: TensorFlow runs its ops
deterministically (:func:`emonb.config.deterministic`, on by default), every random draw
is seeded, and figures carry no date or version (:mod:`emonb.plotting.stable`, applied in
the kernels by :mod:`emonb.book.figures`). This module does the rest for
:func:`emonb.book.build.build_book`:

* :func:`build_environment`: the variables the chapters' kernels and ``jupyter-book build``
  run with, each unless the caller set it: ``SOURCE_DATE_EPOCH`` (the time of the commit
  the book is built from: what any tool that would write "now" writes instead),
  ``PYTHONHASHSEED=0`` (the order of a set of strings, e.g. in a printed set, is the same
  in every kernel) and TensorFlow's thread count (:data:`emonb.config.BOOK_TF_ENV`: the
  last bits of a sum depend on how many threads share it, so machines with other numbers
  of CPUs compute the same book);
* :func:`normalise`: removes from an executed notebook what says when and where it ran, not
  what it computed: papermill's per-cell and per-notebook start and end times and
  durations, nbclient's per-cell ``execution`` timestamps, and the absolute paths papermill
  records (made relative to the project).

What stays different between two executions is printed by the chapters themselves: times
("trained in 12.3 s"), memory addresses, paths. tests/book/test_rebuild.py compares two
executions with those masked by the regexes of tests/nbval_sanitize.cfg, the ones nbval
masks when it compares the chapters with their references.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from emonb import config

__all__ = ["PAPERMILL_TIMES", "build_environment", "normalise", "normalise_file",
           "source_date_epoch"]  # fmt: skip

#: Keys of papermill's ``metadata.papermill`` (notebook and cell) that say when, not what.
PAPERMILL_TIMES = ("start_time", "end_time", "duration")
#: Where emonb itself is checked out (a fallback for the commit time; see source_date_epoch).
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]


def _commit_time(folder: Path) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(folder), "log", "-1", "--format=%ct"],
                             capture_output=True, text=True, timeout=10)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    value = out.stdout.strip()
    return value if out.returncode == 0 and value.isdigit() else None


def source_date_epoch(root: Path) -> str | None:
    """The time (seconds since 1970, as text) of the last commit of the project at ``root``,
    or of emonb's own checkout when ``root`` is no git checkout (a copy of the project);
    None when neither is."""
    return _commit_time(root) or _commit_time(_PACKAGE_ROOT)


def build_environment(root: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables to set for the kernels and jupyter-book (those ``environ``, default
    ``os.environ``, does not set already): ``SOURCE_DATE_EPOCH``, ``PYTHONHASHSEED`` and
    :data:`emonb.config.BOOK_TF_ENV`."""
    environ = os.environ if environ is None else environ
    wanted = {"PYTHONHASHSEED": "0", **config.BOOK_TF_ENV}
    if "SOURCE_DATE_EPOCH" not in environ and (epoch := source_date_epoch(root)) is not None:
        wanted["SOURCE_DATE_EPOCH"] = epoch
    return {k: v for k, v in wanted.items() if k not in environ}


def _relative(path: str | None, root: Path) -> str | None:
    if not path or not Path(path).is_absolute():  # nothing, or relative already
        return path
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return Path(path).name


def normalise(nb, root: Path, *, input_path: Path | None = None,
              output_path: Path | None = None) -> int:  # fmt: skip
    """Remove the times of execution from the executed notebook ``nb`` (in place) and make
    papermill's recorded paths relative to ``root`` (``input_path`` / ``output_path``, when
    given, replace what papermill recorded: it ran into a temporary file). Returns how many
    values were removed."""
    removed = 0
    meta = nb.metadata.get("papermill")
    if meta is not None:
        for key in PAPERMILL_TIMES:
            removed += meta.pop(key, None) is not None
        for key, given in (("input_path", input_path), ("output_path", output_path)):
            if key in meta or given is not None:
                meta[key] = _relative(str(given) if given is not None else meta[key], root)
    for cell in nb.cells:
        removed += cell.metadata.pop("execution", None) is not None
        cell_meta = cell.metadata.get("papermill")
        if cell_meta is not None:
            for key in PAPERMILL_TIMES:
                removed += cell_meta.pop(key, None) is not None
    return removed


def normalise_file(path: Path, root: Path, *, input_path: Path | None = None,
                   output_path: Path | None = None) -> int:  # fmt: skip
    """:func:`normalise` the notebook file at ``path`` (rewritten in place)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    removed = normalise(nb, root, input_path=input_path, output_path=output_path)
    nbformat.write(nb, path)
    return removed
