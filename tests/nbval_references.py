"""The chapters' reference outputs: how the suite executes the book once and compares, and
how to refresh the references stored in notebooks/*.ipynb.

    python tests/nbval_references.py [notebooks/NN_name.ipynb ...]

The suite executes every chapter once, in the session fixture ``quick_book``
(tests/conftest.py): :func:`execute_book` copies the project (:func:`copy_project`) and runs
``emonb book --quick`` there (papermill, two chapters side by side, then jupyter-book) in
:data:`NBVAL_ENV`, the synthetic stand-in. tests/test_notebooks.py then compares each
executed chapter with its stored notebook (:func:`compare_chapter`): the outputs of cells
tagged ``nbval-check-output``, with nbval's own comparison in its lax mode and the
regexes of tests/nbval_sanitize.cfg, as ``pytest --nbval-lax`` compares them.

Run as a script, this module executes the named chapters (default: all) the same way in a
temporary copy, then strips every output from the stored notebooks except the text
outputs of the tagged cells (:func:`strip`). Review the diff: it is the book's key numbers
changing.
"""

from __future__ import annotations

import copy
import os
import shutil
import sys
import tempfile
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import nbformat
from nbval.plugin import (
    IPyNbCell,
    coalesce_streams,
    find_comment_markers,
    find_metadata_tags,
    get_sanitize_patterns,
    nocolors,
)

ROOT = Path(__file__).resolve().parents[1]
if __name__ == "__main__" and str(ROOT) not in sys.path:  # `python tests/nbval_references.py`
    sys.path.insert(0, str(ROOT))

CHECK_TAG = "nbval-check-output"
#: The environment of the book's one execution in the suite and of the references: quick
#: mode on the synthetic stand-in, whatever ``$EMONB_FER2013`` the caller has (CI sets it).
NBVAL_ENV = {"EMONB_FER2013": "synthetic", "EMONB_QUICK": "1", "PYTHONHASHSEED": "0"}
TEXT_KEYS = ("text/plain", "text/html", "text/markdown")
SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"
#: What ``emonb book`` reads from the project (the copy it builds in holds only these).
PROJECT_FILES = ("_config.yml", "_toc.yml", "_static", "notebooks", "book/intro.md", "book/references.md",
                 "benchmarks")  # fmt: skip


# ---- the one execution -----------------------------------------------------------------------
def copy_project(dst: Path) -> Path:
    """Copy what the book is built from into ``dst``; returns ``dst``."""
    for name in PROJECT_FILES:
        src, out = ROOT / name, dst / name
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src, out) if src.is_dir() else shutil.copy(src, out)
    return dst


@contextmanager
def reference_env() -> Iterator[None]:
    """:data:`NBVAL_ENV` in ``os.environ`` (which the chapters' kernels inherit), restored after."""
    saved = {k: os.environ.get(k) for k in NBVAL_ENV}
    os.environ.update(NBVAL_ENV)
    try:
        yield
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def execute_book(project: Path, *, only: list[str] | None = None, html: bool = True,
                 log: Callable[[str], None] = print, scheduler: str | None = None) -> Path:  # fmt: skip
    """``emonb book --quick [--scheduler ...]`` in ``project`` (a :func:`copy_project`) in
    :data:`NBVAL_ENV`; the executed chapters are ``executed_chapter(project, name)``.
    Returns the HTML folder."""
    from emonb.book.build import build_book

    with reference_env():
        return build_book(project, quick=True, only=only, html=html, log=log,
                          scheduler=scheduler)  # fmt: skip


def executed_chapter(project: Path, name: str) -> Path:
    from emonb.book.build import CHAPTER_DIR

    return project / CHAPTER_DIR / f"{name}.ipynb"


def _paired(nb, executed) -> list[tuple]:
    """``(stored cell, executed cell)`` for every cell; papermill's injected parameters, if
    any, are left out. The two must hold the same cells."""
    run = [c for c in executed.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    if [c.source for c in nb.cells] != [c.source for c in run]:
        raise ValueError("the executed notebook does not hold the stored notebook's cells")
    return list(zip(nb.cells, run, strict=True))


# ---- nbval's comparison ----------------------------------------------------------------------
class _NbvalCell:
    """nbval's own output comparison (``IPyNbCell.compare_outputs`` and its helpers), outside
    a pytest item: the same skipped keys, sanitisation and failure text as
    ``pytest --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg``."""

    compare_outputs = IPyNbCell.compare_outputs
    format_output_compare = IPyNbCell.format_output_compare
    sanitize = IPyNbCell.sanitize
    colors = nocolors
    #: ``IPyNbFile.skip_compare`` without --nbdime (images are never compared).
    SKIP_COMPARE = ("metadata", "traceback", "prompt_number", "output_type", "name",
                    "execution_count", "application/vnd.jupyter.widget-view+json",
                    "image/png", "image/jpeg")  # fmt: skip

    def __init__(self, patterns: OrderedDict, config=None):
        self.parent = SimpleNamespace(skip_compare=self.SKIP_COMPARE, sanitize_patterns=patterns)
        self.config = config  # with a pytest config, failures show pytest's diff, as in nbval
        hook = config.hook.pytest_assertrepr_compare if config else (lambda **_kw: [])
        self.ihook = SimpleNamespace(pytest_assertrepr_compare=hook)
        self.comparison_traceback: list[str] = []


def sanitize_patterns(path: Path = SANITIZE) -> OrderedDict:
    """The regexes of an nbval sanitize file, read as nbval reads them."""
    return OrderedDict(get_sanitize_patterns(path.read_text(encoding="utf-8")))


def compare_chapter(nb, executed, *, patterns: OrderedDict | None = None,
                    config=None) -> list[str]:  # fmt: skip
    """What nbval in lax mode reports for the stored notebook ``nb`` against ``executed``
    (one message per failing cell, empty when they agree): each code cell's options come
    from its tags and comment markers as in nbval; a cell checked and run in the reference
    (it has an execution count) must have the same outputs, streams coalesced and the
    text sanitised; an unrun reference cell must have no outputs."""
    patterns = sanitize_patterns() if patterns is None else patterns
    failures = []
    code = [pair for pair in _paired(nb, executed) if pair[0].cell_type == "code"]
    for number, (ref, run) in enumerate(code):
        options = defaultdict(bool, find_metadata_tags(ref.metadata))
        options.update(dict(find_comment_markers(ref.source)))
        where = f"cell {number} (code cells from 0), which begins {ref.source.splitlines()[0]!r}"
        if options["skip"]:
            continue
        unrun = ref.execution_count is None
        if unrun and ref.outputs:
            failures.append(f"{where}: Unrun reference cell has outputs")
        elif options["check"] and not unrun:
            cell = _NbvalCell(patterns, config)
            test_outs = coalesce_streams(copy.deepcopy(run.outputs))
            if not cell.compare_outputs(test_outs, coalesce_streams(copy.deepcopy(ref.outputs))):
                failures.append(f"{where}: Cell outputs differ\n"
                                + "\n".join(cell.comparison_traceback))  # fmt: skip
    return failures


# ---- refreshing the references ---------------------------------------------------------------
def strip(nb, executed=None):
    """Outputs of checked cells (text only) from ``executed``; nothing elsewhere."""
    nb = copy.deepcopy(nb)
    pairs = _paired(nb, executed) if executed is not None else [(c, None) for c in nb.cells]
    for cell, run in pairs:
        if cell.cell_type != "code":
            continue
        cell.execution_count = None
        cell.metadata.pop("execution", None)
        keep = []
        if run is not None and CHECK_TAG in cell.metadata.get("tags", []):
            cell.execution_count = run.execution_count  # nbval skips unrun cells
            for out in run.get("outputs", []):
                out = copy.deepcopy(out)
                if "data" in out:
                    out["data"] = {k: v for k, v in out["data"].items() if k in TEXT_KEYS}
                    if not out["data"]:
                        continue
                    out["metadata"] = {}
                keep.append(out)
        cell.outputs = keep
    return nb


def refresh(paths: list[Path]) -> None:
    """Execute the chapters at ``paths`` as the suite does and store their references."""
    with tempfile.TemporaryDirectory(prefix="emonb-references-") as tmp:
        project = copy_project(Path(tmp))
        execute_book(project, only=[p.stem for p in paths], html=False)
        for path in paths:
            nb = nbformat.read(path, as_version=4)
            executed = nbformat.read(executed_chapter(project, path.stem), as_version=4)
            nbformat.write(strip(nb, executed), path)
            print(f"refreshed {path.relative_to(ROOT)}")


if __name__ == "__main__":
    targets = [Path(a).resolve() for a in sys.argv[1:]] or sorted(
        (ROOT / "notebooks").glob("*.ipynb")
    )
    refresh(targets)
