"""nbval over every chapter: executed for real (quick mode, synthetic stand-in), with the
outputs of cells tagged ``nbval-check-output`` compared to the stored references.

Refresh the references with ``python tests/nbval_references.py`` after a deliberate change.
"""

import os
import subprocess
import sys

import nbformat
import pytest

from tests.nbval_references import CHECK_TAG, NBVAL_ENV, ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
#: Chapters that compute nothing: they render recorded files of benchmarks/ (each under its
#: box, emonb.book.recorded), which tests/test_benchmarks.py checks instead of nbval.
RENDERS_RECORDED_ONLY = {"90_performance"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_chapter_stores_small_text_references(path):
    nb = nbformat.read(path, as_version=4)
    tags = [c.metadata.get("tags", []) for c in nb.cells if c.cell_type == "code"]
    assert sum("parameters" in t for t in tags) == 1, (
        "a chapter needs exactly one papermill parameters cell"
    )
    checked = [c for c in nb.cells if CHECK_TAG in c.metadata.get("tags", [])]
    if path.stem in RENDERS_RECORDED_ONLY:
        assert not checked and "recorded_note(" in "".join(c.source for c in nb.cells)
    else:
        assert checked and all(c.outputs for c in checked), (
            "every checked cell needs a stored reference output"
        )
    for cell in checked:  # nbval checks computed numbers, never a re-rendered recorded file
        assert "recorded_note(" not in cell.source and "benchmarks/" not in cell.source
    for cell in nb.cells:
        if cell.cell_type == "code" and CHECK_TAG not in cell.metadata.get("tags", []):
            assert not cell.outputs, "only checked cells keep outputs in git"
        for out in cell.get("outputs", []):
            assert not set(out.get("data", {})) & {"image/png", "image/jpeg"}, (
                "no images in stored notebooks"
            )
    assert path.stat().st_size < 200_000


def _nbval(path):
    env = {**os.environ, **NBVAL_ENV}
    cmd = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
        "--nbval-sanitize-with", str(ROOT / "tests" / "nbval_sanitize.cfg"), "--nbval-current-env",
        "--rootdir", str(ROOT / "notebooks"), str(path),
    ]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=1500)


@pytest.fixture(scope="module")
def nbval_runs(request):
    """nbval over the selected chapters, as many side by side as the book build runs (each in
    its own pytest and kernel), with the build's rule: chapters after 01_train start once it
    is done (they load the model it trains). Each test then waits for its own chapter only."""
    from concurrent.futures import ThreadPoolExecutor

    from emonb.book.build import PREREQUISITES, default_jobs

    selected = {item.callspec.params["path"] for item in request.session.items
                if getattr(item, "originalname", None) == "test_chapter_nbval"}  # fmt: skip
    runs = {}
    with ThreadPoolExecutor(max_workers=default_jobs()) as pool:
        for path in (p for p in NOTEBOOKS if p in selected):
            for before in (p for p in runs if p.stem in PREREQUISITES):
                runs[before].exception()  # wait for it; its own test reports a failure
            runs[path] = pool.submit(_nbval, path)
        yield runs


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_chapter_nbval(path, nbval_runs):
    proc = nbval_runs[path].result()
    assert proc.returncode == 0, (
        f"nbval failed for {path.name}:\n{proc.stdout[-6000:]}\n{proc.stderr[-2000:]}"
    )
