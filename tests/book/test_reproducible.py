"""emonb.book.reproducible: the environment of a build, and executed notebooks without times."""

import subprocess

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from emonb.book.reproducible import PAPERMILL_TIMES, build_environment, normalise, source_date_epoch


def _executed(root):
    """A notebook with the metadata papermill and nbclient write while executing."""
    cell = new_code_cell("1", execution_count=1)
    cell.metadata["execution"] = {"iopub.status.busy": "2026-01-01T10:00:00.1Z",
                                  "shell.execute_reply": "2026-01-01T10:00:00.2Z"}  # fmt: skip
    cell.metadata["papermill"] = {"duration": 0.1, "end_time": "2026-01-01T10:00:00.2",
                                  "exception": False, "start_time": "2026-01-01T10:00:00.1",
                                  "status": "completed"}  # fmt: skip
    nb = new_notebook(cells=[cell, new_code_cell("2")])
    for n, c in enumerate(nb.cells):
        c.id = f"cell{n}"  # the source's ids, which papermill keeps
    nb.metadata["papermill"] = {
        "duration": 3.2, "start_time": "2026-01-01T10:00:00", "end_time": "2026-01-01T10:00:03",
        "exception": None, "parameters": {"seed": 0}, "version": "2.6.0",
        "input_path": str(root / "notebooks" / "04_x.ipynb"),
        "output_path": str(root / "book" / "chapters" / ".04_x.running.ipynb"),
    }  # fmt: skip
    return nb


def test_normalise_removes_times_and_keeps_what_was_computed(tmp_path):
    nb = _executed(tmp_path)
    assert normalise(nb, tmp_path, output_path=tmp_path / "book" / "chapters" / "04_x.ipynb") == 7
    meta = nb.metadata["papermill"]
    assert not set(PAPERMILL_TIMES) & set(meta)
    assert meta["input_path"] == "notebooks/04_x.ipynb"
    assert meta["output_path"] == "book/chapters/04_x.ipynb"  # not the temporary file
    assert meta["parameters"] == {"seed": 0} and meta["version"] == "2.6.0"
    cell = nb.cells[0]
    assert "execution" not in cell.metadata
    assert cell.metadata["papermill"] == {"exception": False, "status": "completed"}
    assert cell.execution_count == 1
    assert normalise(nb, tmp_path) == 0  # nothing left to remove
    # two executions at other times and in other folders become the same notebook
    other = _executed(tmp_path / "elsewhere")
    other.metadata["papermill"]["duration"] = 9.9
    normalise(other, tmp_path / "elsewhere",
              output_path=tmp_path / "elsewhere" / "book" / "chapters" / "04_x.ipynb")
    assert nbformat.writes(other) == nbformat.writes(nb)


def _git(folder, *args, **env):
    subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@b", "GIT_COMMITTER_NAME": "a",
                        "GIT_COMMITTER_EMAIL": "a@b", "HOME": str(folder), **env})  # fmt: skip


def test_build_environment_dates_the_build_by_its_commit(tmp_path):
    _git(tmp_path, "init", "-q")
    (tmp_path / "f").write_text("x")
    _git(tmp_path, "add", "f")
    _git(tmp_path, "commit", "-q", "-m", "c", GIT_COMMITTER_DATE="2021-03-04T05:06:07+00:00")
    assert source_date_epoch(tmp_path) == "1614834367"
    assert build_environment(tmp_path, {}) == {"PYTHONHASHSEED": "0", "TF_NUM_INTRAOP_THREADS": "2",
                                               "SOURCE_DATE_EPOCH": "1614834367"}  # fmt: skip
    mine = {"SOURCE_DATE_EPOCH": "1", "PYTHONHASHSEED": "7", "TF_NUM_INTRAOP_THREADS": "8"}
    assert build_environment(tmp_path, mine) == {}  # the caller's settings win
