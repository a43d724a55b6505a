"""Refresh the reference outputs that nbval compares, in notebooks/*.ipynb.

    python tests/nbval_references.py [notebooks/NN_name.ipynb ...]

Each chapter is executed (nbclient) on the synthetic stand-in in quick mode, exactly as
tests/test_notebooks.py runs it; then every output is stripped from the stored notebook
except the text outputs of cells tagged ``nbval-check-output``. Review the diff: it is
the book's key numbers changing.
"""

from __future__ import annotations

import copy
import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
CHECK_TAG = "nbval-check-output"
#: The environment nbval runs the chapters in (tests/test_notebooks.py uses the same).
NBVAL_ENV = {"EMONB_FER2013": "synthetic", "EMONB_QUICK": "1", "PYTHONHASHSEED": "0"}
TEXT_KEYS = ("text/plain", "text/html", "text/markdown")


def strip(nb, executed=None):
    """Outputs of checked cells (text only) from ``executed``; nothing elsewhere."""
    nb = copy.deepcopy(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        cell.execution_count = None
        cell.metadata.pop("execution", None)
        keep = []
        if executed is not None and CHECK_TAG in cell.metadata.get("tags", []):
            cell.execution_count = executed.cells[i].execution_count  # nbval skips unrun cells
            for out in executed.cells[i].get("outputs", []):
                out = copy.deepcopy(out)
                if "data" in out:
                    out["data"] = {k: v for k, v in out["data"].items() if k in TEXT_KEYS}
                    if not out["data"]:
                        continue
                    out["metadata"] = {}
                keep.append(out)
        cell.outputs = keep
    return nb


def refresh(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    run = copy.deepcopy(nb)
    saved = {k: os.environ.get(k) for k in NBVAL_ENV}
    os.environ.update(NBVAL_ENV)
    try:
        NotebookClient(
            run, timeout=1200, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
        ).execute()
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    nbformat.write(strip(nb, run), path)
    print(f"refreshed {path.relative_to(ROOT)}")


if __name__ == "__main__":
    targets = [Path(a).resolve() for a in sys.argv[1:]] or sorted(
        (ROOT / "notebooks").glob("*.ipynb")
    )
    for target in targets:
        refresh(target)
