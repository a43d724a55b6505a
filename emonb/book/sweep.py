"""A parameter sweep: one chapter executed once per value of one parameter, and a table of
the scalars each execution recorded.

:func:`sweep` runs ``notebooks/<chapter>.ipynb`` with papermill once per value (the other
parameters fixed) into ``book/sweeps/<chapter>/<value>.ipynb`` (:func:`file_stem` makes the
value a file name), each execution one task of an executor (:mod:`emonb.engine`: in this
process, or on a Dask cluster's workers, which run side by side), set up as the book's
build sets up its chapters (:func:`emonb.book.build.run_chapter_task`: the same kernel
environment, the project root as the working folder, ``quick`` as ``emonb book --quick``).
It then reads the scalars each executed notebook recorded (:mod:`emonb.book.record`) into
``book/sweeps/<chapter>/summary.csv``: one row per value, in the order given, one column
per scalar, and an ``error`` column (empty, or the run's one-line failure: the cell and its
error; the failed notebook is kept in ``_failed/``). A failed run does not stop the others.

Everything is checked before any run (:func:`check_sweep`): the chapter is in the TOC, it
declares every parameter given (its papermill ``parameters`` cell), the list of values is
not empty and no two values share a file name.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emonb.book.build import (
    ChapterRun,
    ChapterTask,
    book_environment,
    chapters,
    engine_line,
    find_root,
    kernel_environment,
    run_chapter_task,
)
from emonb.book.record import read_scalars
from emonb.engine import check_scheduler, open_executor
from emonb.errors import EmonbError

__all__ = ["SWEEP_DIR", "Sweep", "check_sweep", "file_stem", "lists_values", "split_values", "sweep",
           "value_text"]  # fmt: skip

#: Where sweeps write, under the project root: ``<chapter>/<value>.ipynb`` and ``summary.csv``.
SWEEP_DIR = "book/sweeps"


def _commas(text: str) -> list[int]:
    """Where ``text`` has a comma outside brackets, braces, parentheses and quotes."""
    found, depth, quote = [], 0, ""
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            found.append(i)
    return found


def lists_values(text: str) -> bool:
    """Whether ``text`` lists values (``v1,v2``): it has a comma outside brackets and quotes."""
    return bool(_commas(text))


def split_values(text: str) -> list[str]:
    """The comma-separated items of ``text``, stripped, empty ones dropped; a comma inside
    brackets, braces or quotes does not split (``[a, b],c`` is two items)."""
    cuts = [-1, *_commas(text), len(text)]
    items = [text[a + 1 : b].strip() for a, b in zip(cuts, cuts[1:], strict=False)]
    return [item for item in items if item]


def value_text(value: Any) -> str:
    """A value as the summary's first column shows it: text as is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def file_stem(value: Any) -> str:
    """A file name for ``value``'s notebook: :func:`value_text` with every run of other
    characters than letters, digits, ``.``, ``-`` and ``_`` made one ``_``."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", value_text(value)).strip("._")
    return stem or "_"


def check_sweep(root: Path, chapter: str, name: str, values: Sequence[Any],
                fixed: Mapping[str, Any]) -> Path:  # fmt: skip
    """The chapter's source notebook, once the sweep is known to make sense (else one-line
    :class:`EmonbError`, before any work; see the module's docstring)."""
    import papermill as pm

    known = {n: source for n, source, _ in chapters(root)}
    if chapter not in known:
        raise EmonbError(f"unknown chapter {chapter!r}; the TOC has {', '.join(known)}")
    declared = list(pm.inspect_notebook(str(known[chapter])))
    undeclared = [p for p in (name, *fixed) if p not in declared]
    if undeclared:
        raise EmonbError(f"chapter {chapter} declares no parameter {', '.join(map(repr, undeclared))}; "
                         f"its parameters: {', '.join(declared) or 'none'}")  # fmt: skip
    if name in fixed:
        raise EmonbError(f"parameter {name!r} is both swept and fixed")
    if not values:
        raise EmonbError(f"no values to sweep for parameter {name!r}; give them as v1,v2,...")
    stems: dict[str, Any] = {}
    for value in values:
        stem = file_stem(value)
        if stem in stems:
            raise EmonbError(f"values {value_text(stems[stem])!r} and {value_text(value)!r} of "
                             f"{name!r} would share the notebook {stem}.ipynb")  # fmt: skip
        stems[stem] = value
    return known[chapter]


@dataclass(frozen=True)
class Sweep:
    """A sweep's outcome: its folder, one row per value (the swept parameter, the notebook,
    the scalars, ``error``), the runs, and what ran them (:meth:`emonb.engine.Executor.record`)."""

    folder: Path
    rows: list[dict[str, Any]]
    runs: list[ChapterRun]
    engine: dict[str, Any]

    @property
    def failed(self) -> list[ChapterRun]:
        return [r for r in self.runs if r.error is not None]


def _row(name: str, value: Any, run: ChapterRun, failed_dir: Path) -> dict[str, Any]:
    kept = failed_dir / run.target.name
    notebook = f"{failed_dir.name}/{kept.name}" if run.error is not None and kept.exists() else run.target.name
    row: dict[str, Any] = {name: value_text(value), "notebook": notebook}
    if run.error is None:
        try:
            row.update(read_scalars(run.target))
        except EmonbError as err:
            row["error"] = str(err)
    else:
        row["error"] = run.error
    return row


def _write_summary(rows: list[dict[str, Any]], path: Path) -> str:
    """Write ``rows`` as CSV at ``path`` (atomically; every scalar a column, in the order first
    recorded; ``error`` last); returns the table as text, for the log."""
    import pandas as pd

    columns = list(dict.fromkeys(k for row in rows for k in row if k != "error")) + ["error"]
    table = pd.DataFrame(rows, columns=columns, dtype=object)  # a failed row keeps ints ints
    table["error"] = table["error"].fillna("")
    tmp = path.with_name(f".{path.name}.tmp")
    table.to_csv(tmp, index=False)
    os.replace(tmp, path)
    with pd.option_context("display.max_colwidth", 60, "display.width", 200):
        return table.fillna("").to_string(index=False)


def sweep(
    chapter: str,
    name: str,
    values: Sequence[Any],
    fixed: Mapping[str, Any] | None = None,
    *,
    root: Path | None = None,
    quick: bool = False,
    scheduler: str | None = None,
    client: Any = None,
    log: Callable[[str], None] = print,
) -> Sweep:
    """Execute ``chapter`` once per value of parameter ``name`` (``fixed``: the others), each
    run a task on the executor of ``scheduler``/``client`` (:func:`emonb.engine.open_executor`;
    default: one after the other here), and write the summary (see the module's docstring).
    A cluster's workers must see the project at ``root``'s path (a shared folder)."""
    fixed = dict(fixed or {})
    scheduler = check_scheduler(scheduler)
    root = find_root(root)
    source = check_sweep(root, chapter, name, values, fixed)
    folder = root / SWEEP_DIR / chapter
    failed_dir = folder / "_failed"
    env = kernel_environment({**os.environ, **book_environment(root, quick)})
    tasks = [ChapterTask(chapter, source, folder / f"{file_stem(v)}.ipynb", root, {**fixed, name: v},
                         env, failed_dir=failed_dir) for v in values]  # fmt: skip
    t0 = time.perf_counter()
    with open_executor(scheduler, client) as executor:  # each task sets its kernel's environment
        folder.mkdir(parents=True, exist_ok=True)
        for task in tasks:  # no notebook of an earlier sweep left to pass for this one's
            task.target.unlink(missing_ok=True)
            (failed_dir / task.target.name).unlink(missing_ok=True)
        log(f"sweeping {chapter} over {name} = {', '.join(value_text(v) for v in values)} ...")
        runs = executor.map(run_chapter_task, tasks, label="sweep")
        engine = executor.record()
    for value, run in zip(values, runs, strict=True):
        state = f"failed: {run.error}" if run.error else f"{run.seconds:.1f} s on {run.worker}"
        log(f"{name} = {value_text(value)}: {state}")
    rows = [_row(name, v, r, failed_dir) for v, r in zip(values, runs, strict=True)]
    summary = folder / "summary.csv"
    log(_write_summary(rows, summary))
    log(f"{engine_line(engine)}; sweep done in {time.perf_counter() - t0:.1f} s -> {summary}")
    return Sweep(folder, rows, runs, engine)
