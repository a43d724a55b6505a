"""The book on a Dask cluster (``emonb book --scheduler``): each chapter one task on a worker,
with the environment its kernel would have had here, giving the chapters an in-process build
gives; the HTML stays here. One ``LocalCluster`` of 2 worker processes serves the module."""

import os
import time

import nbformat
import pytest

from emonb.book.build import (
    ChapterTask,
    build_book,
    kernel_environment,
    run_chapter_task,
)
from emonb.cli import main
from emonb.engine import WORKER_ENV, open_executor
from emonb.errors import EmonbError
from tests.book.test_build import _project

#: What a toy chapter's kernel prints of its environment.
ENV = ("import os\nprint({k: os.environ.get(k) for k in ('PYTHONHASHSEED', 'TF_NUM_INTRAOP_THREADS', "
       "'TF_NUM_INTEROP_THREADS', 'OMP_NUM_THREADS', 'EMONB_QUICK', 'EMONB_FER2013', 'EMONB_TEST_MARK')})")  # fmt: skip


@pytest.fixture(scope="module")
def client():
    """A ``distributed.Client`` of a 2-worker LocalCluster, started before any test sets its
    environment: the workers hold none of it."""
    t0 = time.perf_counter()
    with open_executor("local:2") as executor:
        print(f"LocalCluster of 2 workers started in {time.perf_counter() - t0:.1f} s")
        yield executor.client


def _outputs(root, name):
    nb = nbformat.read(root / "book" / "chapters" / f"{name}.ipynb", as_version=4)
    return [c.outputs for c in nb.cells if c.cell_type == "code"]


def test_chapters_are_tasks_that_wait_for_01_train_and_match_an_in_process_build(
        tmp_path, client, monkeypatch):  # fmt: skip
    slow_writer = "import pathlib, time\ntime.sleep(2)\npathlib.Path('model.txt').write_text('m')"
    reader = "import pathlib\nprint(pathlib.Path('model.txt').read_text())"
    root = _project(tmp_path, {"00_env": [ENV], "01_train": [slow_writer], "02_b": [reader],
                               "03_c": ["print(3)"]})  # fmt: skip
    for key in ("PYTHONHASHSEED", "TF_NUM_INTRAOP_THREADS", *WORKER_ENV):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("EMONB_FER2013", "synthetic")
    monkeypatch.setenv("EMONB_TEST_MARK", "driver")  # any EMONB_* of the driver travels
    logs: list[str] = []
    build_book(root, quick=True, html=False, client=client, log=logs.append)
    assert logs[0] == "executing 00_env, 01_train ..."
    assert logs.index("executing 02_b, 03_c ...") > next(
        i for i, line in enumerate(logs) if line.startswith("executed  01_train in"))
    (engine,) = [line for line in logs if line.startswith("engine: ")]
    assert engine.startswith("engine: dask at tcp://127.0.0.1:") and engine.endswith(
        ", 2 worker(s), 4 task(s)")
    on_workers = {name: _outputs(root, name) for name in ("00_env", "02_b", "03_c")}
    assert on_workers["02_b"][0][0]["text"] == "m\n"
    printed = eval(on_workers["00_env"][0][0]["text"])  # the worker's kernel, as here:
    assert printed == {"PYTHONHASHSEED": "0", "TF_NUM_INTRAOP_THREADS": "2",  # the book's, not
                       "TF_NUM_INTEROP_THREADS": None, "OMP_NUM_THREADS": None,  # WORKER_ENV's
                       "EMONB_QUICK": "1", "EMONB_FER2013": "synthetic", "EMONB_TEST_MARK": "driver"}
    (root / "model.txt").unlink()
    build_book(root, quick=True, html=False, jobs=1, log=lambda _m: None)
    assert {name: _outputs(root, name) for name in on_workers} == on_workers


def test_a_failing_chapter_on_a_worker_is_one_line_and_stops_the_chapters_after_it(tmp_path, client):
    root = _project(tmp_path, {"00_ok": ["x = 1"], "01_train": ["y = 2", "raise ValueError('boom')"],
                               "02_late": ["z = 3"]})  # fmt: skip
    with pytest.raises(EmonbError, match=r"^chapter 01_train failed in cell 2: ValueError: boom "
                                         r"\(executed notebook kept at .*_failed/01_train.ipynb\)$"):
        build_book(root, html=False, client=client, log=lambda _m: None)
    assert (root / "book" / "chapters" / "00_ok.ipynb").exists()  # beside 01_train
    assert not (root / "book" / "chapters" / "02_late.ipynb").exists()  # never started
    assert (root / "book" / "_failed" / "01_train.ipynb").exists()


def test_jobs_with_a_scheduler_and_a_bad_address_fail_before_any_work(tmp_path, capsys):
    root = _project(tmp_path, {"00_a": ["x = 1"]})
    with pytest.raises(EmonbError, match="--jobs and --scheduler do not go together"):
        build_book(root, html=False, jobs=2, scheduler="local:2")
    assert main(["book", "--root", str(root), "--jobs", "2", "--scheduler", "local", "--no-html"]) == 1
    assert "--jobs and --scheduler do not go together" in capsys.readouterr().err
    for bad, says in (("local:0", "a local cluster needs at least 1 worker"),
                      ("no way", "give local, local:N or a scheduler address")):
        with pytest.raises(SystemExit) as exit_:  # a bad argument: argparse's usage error
            main(["book", "--root", str(root), "--scheduler", bad, "--no-html"])
        assert exit_.value.code == 2 and says in capsys.readouterr().err
    assert not (root / "book" / "chapters").exists()


def test_a_task_applies_its_environment_and_restores_this_process(tmp_path, monkeypatch):
    """In process: the task's variables around papermill only; a failure comes back as its
    line, not raised."""
    root = _project(tmp_path, {"00_env": [ENV], "01_bad": ["raise KeyError('k')"]})
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    env = {**kernel_environment(), "OMP_NUM_THREADS": None, "EMONB_TEST_MARK": "task"}
    run = run_chapter_task(ChapterTask("00_env", root / "notebooks" / "00_env.ipynb",
                                       root / "out" / "00_env.ipynb", root, {}, env))  # fmt: skip
    printed = eval(nbformat.read(run.target, as_version=4).cells[0].outputs[0]["text"])
    assert printed["OMP_NUM_THREADS"] is None and printed["EMONB_TEST_MARK"] == "task"
    assert os.environ["OMP_NUM_THREADS"] == "7" and "EMONB_TEST_MARK" not in os.environ
    assert run.error is None and run.figures == 0 and run.name == "00_env"
    bad = run_chapter_task(ChapterTask("01_bad", root / "notebooks" / "01_bad.ipynb",
                                       root / "out" / "01_bad.ipynb", root))  # fmt: skip
    assert bad.error == "chapter 01_bad failed in cell 1: KeyError: 'k'"


