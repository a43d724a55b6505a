"""``emonb sweep``: one chapter once per value, notebooks and a summary of recorded scalars;
every argument error one line before any run."""

import csv
import re
import time

import nbformat
import pytest

from emonb.book.sweep import file_stem, lists_values, split_values, sweep
from emonb.cli import main
from emonb.errors import EmonbError
from tests.book.test_build import _project
from tests.nbval_references import copy_project, reference_env

#: A toy chapter: records k squared and a label; fails for k == 3.
SQUARE = ["from emonb.book import record\nassert k != 3, 'three'\nrecord.scalars(square=k * k, label=f'k{k}')"]


def _summary(folder):
    with open(folder / "summary.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_values_split_at_top_level_commas_and_name_their_files():
    assert split_values("1, 2,3") == ["1", "2", "3"]
    assert split_values("[a, b],c") == ["[a, b]", "c"]
    assert split_values("'x, y',{a: 1, b: 2}") == ["'x, y'", "{a: 1, b: 2}"]
    assert split_values("4,") == ["4"] and split_values(" , ") == []
    assert lists_values("4,") and lists_values("a,b") and not lists_values("[a, b]")
    assert not lists_values("'a, b'") and not lists_values("0.5")
    assert [file_stem(v) for v in (0.5, "mini-xception", ["a", "b"], None, True, "../x y")] == [
        "0.5", "mini-xception", "a_b", "null", "true", "x_y"]


def test_argument_errors_are_one_line_before_any_run(tmp_path, capsys):
    root = _project(tmp_path, {"00_sq": SQUARE}, param_cell="k = 1\nother = 0")
    cases = [
        (("99_none", "k", [1]), {}, "unknown chapter '99_none'; the TOC has 00_sq"),
        (("00_sq", "j", [1]), {}, "chapter 00_sq declares no parameter 'j'; its parameters: k, other"),
        (("00_sq", "k", [1]), {"zz": 2}, "declares no parameter 'zz'"),
        (("00_sq", "k", []), {}, "no values to sweep for parameter 'k'"),
        (("00_sq", "k", [1]), {"k": 2}, "parameter 'k' is both swept and fixed"),
        (("00_sq", "k", ["a b", "a_b"]), {}, "values 'a b' and 'a_b' of 'k' would share the notebook a_b.ipynb"),
    ]  # fmt: skip
    for args, fixed, says in cases:
        with pytest.raises(EmonbError, match=re.escape(says)):
            sweep(*args, fixed, root=root, log=lambda _m: None)
    with pytest.raises(EmonbError, match="give local, local:N or a scheduler address"):
        sweep("00_sq", "k", [1], root=root, scheduler="what?")
    argvs = {"-p k 1": "no parameter to sweep: give one -p NAME v1,v2,...",
             "-p k 1,2 -p other 3,4": "sweep one parameter at a time; values listed for k, other",
             "-p k ,": "no values to sweep for parameter 'k'",
             "-p nope 1,2": "declares no parameter 'nope'"}  # fmt: skip
    for argv, says in argvs.items():
        assert main(["sweep", "00_sq", "--root", str(root), *argv.split()]) == 1
        out, err = capsys.readouterr()
        assert err.count("\n") == 1 and says in err and out == "", err
    assert not (root / "book").exists()


def test_a_sweep_writes_a_notebook_per_value_and_the_summary_of_their_scalars(tmp_path, capsys):
    """In process, through the CLI: two runs record their scalars; the failing one is an error
    line and a row, and the others are still written (exit 0; --strict: 1)."""
    root = _project(tmp_path, {"00_sq": SQUARE}, param_cell="k = 1\nother = 0")
    t0 = time.perf_counter()
    assert main(["sweep", "00_sq", "--root", str(root), "-p", "k", "2,3,5", "-p", "other", "9"]) == 0
    print(f"3 runs in process: {time.perf_counter() - t0:.1f} s")
    out, err = capsys.readouterr()
    folder = root / "book" / "sweeps" / "00_sq"
    assert sorted(p.name for p in folder.glob("*.ipynb")) == ["2.ipynb", "5.ipynb"]
    assert (folder / "_failed" / "3.ipynb").exists()
    rows = _summary(folder)
    assert [r["k"] for r in rows] == ["2", "3", "5"] and list(rows[0]) == ["k", "notebook", "square", "label", "error"]
    assert [r["notebook"] for r in rows] == ["2.ipynb", "_failed/3.ipynb", "5.ipynb"]
    assert [(r["square"], r["label"], r["error"]) for r in rows[::2]] == [("4", "k2", ""), ("25", "k5", "")]
    assert rows[1]["error"] == "chapter 00_sq failed in cell 3: AssertionError: three " \
                               f"(executed notebook kept at {folder / '_failed' / '3.ipynb'})"  # fmt: skip
    assert "square" in out and "k5" in out and "engine: in-process, 1 worker(s), 3 task(s)" in out
    lines = err.splitlines()
    assert lines[0].startswith("emonb: error: chapter 00_sq failed in cell 3") and \
        lines[1].startswith("emonb: error: 1 of 3 runs failed")  # fmt: skip
    injected = nbformat.read(folder / "5.ipynb", as_version=4).cells[1].source
    assert "k = 5" in injected and "other = 9" in injected
    assert main(["sweep", "00_sq", "--root", str(root), "-p", "k", "3,4", "--strict"]) == 1
    (folder / "_failed" / "3.ipynb").rename(folder / "3.ipynb")  # as if 3 had once succeeded
    assert main(["sweep", "00_sq", "--root", str(root), "-p", "k", "3,"]) == 1  # every run failed
    assert not (folder / "3.ipynb").exists() and (folder / "_failed" / "3.ipynb").exists()


def test_chapter_02_swept_over_the_model_on_a_local_cluster(tmp_path):
    """The real chapter 02 (quick, stand-in, no real faces) on 2 LocalCluster workers, one run
    per model: each row's accuracy and macro-F1 are the ones the page's table shows."""
    project = copy_project(tmp_path)
    t0 = time.perf_counter()
    with reference_env():
        result = sweep("02_evaluate", "model", ["mini-xception", "seed-cnn"], {"real": False},
                       root=project, quick=True, scheduler="local:2", log=print)  # fmt: skip
    print(f"2 runs of 02_evaluate on local:2: {time.perf_counter() - t0:.1f} s")
    assert result.engine["engine"] == "dask" and result.engine["workers"] == 2
    assert not result.failed
    rows = _summary(result.folder)
    assert [r["model"] for r in rows] == ["mini-xception", "seed-cnn"]
    for row in rows:
        nb = nbformat.read(result.folder / row["notebook"], as_version=4)
        shown = next(o for c in nb.cells if c.get("id") == "41019f54" for o in c.outputs)
        # the headline table of the swept model, as the page prints it (3 decimals)
        acc, f1 = re.search(rf"{re.escape(row['model'])}\s+([\d.]+)\s+([\d.]+)", shown["data"]["text/plain"]).groups()
        assert f"{float(row['accuracy']):.3f}" == acc and f"{float(row['macro_f1']):.3f}" == f1
        assert 0 <= float(row["seed_cnn_accuracy"]) <= 1
    assert rows[0]["seed_cnn_accuracy"] == rows[1]["seed_cnn_accuracy"]  # the same seed CNN
    assert rows[0]["accuracy"] != rows[1]["accuracy"]
