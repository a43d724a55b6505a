"""emonb.records: provenance (what makes a checkout count as dirty), strict JSON, the one
atomic writer and the one reader of recorded files."""

import json
import math
import os

import numpy as np
import pytest

from emonb.errors import EmonbError
from emonb.records import (
    code_changes,
    json_leaves,
    json_safe,
    json_writer,
    load_json,
    provenance,
    write_json,  # fmt: skip
)


def test_recorded_results_do_not_make_a_checkout_dirty():
    status = "\n".join([
        " M benchmarks/landmarks_cpu.json",  # the previous benchmark's output
        "M  benchmarks/video_pipeline.py",
        " M emonb/video/io.py",
        'R  old.py -> "new name.py"',
        "?? notes.txt",
    ])  # fmt: skip
    assert code_changes(status) == ["benchmarks/video_pipeline.py", "emonb/video/io.py",
                                    "new name.py", "notes.txt"]  # fmt: skip
    assert code_changes(" M benchmarks/a.json\n M benchmarks/b.json\n") == []
    # git's output stripped: the first line has lost its leading space (a bug this caught)
    assert code_changes("M benchmarks/a.json\n M benchmarks/b.json") == []
    assert code_changes("MM emonb/cli.py") == ["emonb/cli.py"]
    assert code_changes("") == []


def test_provenance_names_command_commit_date_and_machine():
    prov = provenance(["benchmarks/x.py", "--json", "out file.json"])
    assert prov["command"] == "benchmarks/x.py --json 'out file.json'"
    assert len(prov["commit"]) == 40 and isinstance(prov["dirty"], bool)
    assert prov["date"].endswith("+00:00") and prov["machine"]["cpus"] >= 1


def test_json_safe_makes_strict_json():
    doc = {"a": np.float32("nan"), "b": [np.int64(3), np.bool_(True)], 1: (np.float64(2.5),)}
    assert json_safe(doc) == {"a": None, "b": [3, True], "1": [2.5]}
    json.dumps(json_safe(doc), allow_nan=False)


def test_write_json_is_strict_whole_and_leaves_no_temporary_file(tmp_path):
    path = write_json({"x": np.float64("nan"), "n": np.int32(2)}, tmp_path / "a" / "r.json")
    assert json.loads(path.read_text()) == {"x": None, "n": 2}
    assert sorted(p.name for p in path.parent.iterdir()) == ["r.json"]
    state = write_json({"best": math.inf}, tmp_path / "s.json", strict=False)
    assert json.loads(state.read_text()) == {"best": math.inf}  # reads back exactly


def test_json_writer_keeps_the_old_file_until_commit(tmp_path):
    path = tmp_path / "r.json"
    path.write_text('{"old": 1}')
    with pytest.raises(RuntimeError), json_writer({"new": 2}, path):
        raise RuntimeError("the command failed between writing and committing")
    assert json.loads(path.read_text()) == {"old": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # the temporary file is gone
    with json_writer({"new": 2}, path) as commit:
        assert json.loads(path.read_text()) == {"old": 1}
        commit()
    assert json.loads(path.read_text()) == {"new": 2}
    with json_writer({"x": 1}, None) as commit:  # no path: nothing is written
        assert commit() is None


def test_write_json_fails_in_one_line(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(EmonbError, match=r"cannot write the JSON"):
        write_json({}, tmp_path / "file" / "r.json")  # a file where a folder must be


@pytest.mark.parametrize(("text", "match"), [(None, "no such result"),
                                             ("{not json", "not a readable result"),
                                             ("[1, 2]", "a result is a JSON object, got list")])
def test_load_json_fails_in_one_line(tmp_path, text, match):
    path = tmp_path / "r.json"
    if text is not None:
        path.write_text(text)
    with pytest.raises(EmonbError, match=match) as err:
        load_json(path, "result")
    assert "\n" not in str(err.value)


def test_numerics_names_what_the_bits_depend_on(monkeypatch):
    from emonb._tf import keras, tf
    from emonb.records import intra_op_threads, numerics

    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "3")
    monkeypatch.setenv("EMONB_DETERMINISTIC", "off")
    assert intra_op_threads() == 3
    assert numerics() == {"tensorflow": tf.__version__, "keras": keras.__version__,
                          "deterministic": False, "intra_op_threads": 3,
                          "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA", "")}  # fmt: skip
    monkeypatch.delenv("TF_NUM_INTRAOP_THREADS")
    assert intra_op_threads() == len(os.sched_getaffinity(0))  # TensorFlow's default


def test_json_leaves_by_path_leaving_out_the_named_keys_at_any_depth():
    doc = {"a": 1, "b": [2.5, {"c": "x", "seconds": 9}], "seconds": {"d": 3},
           "e": {"f": None, "g": True, "h": []}}  # fmt: skip
    assert json_leaves(doc) == {"/a": 1, "/b[0]": 2.5, "/b[1]/c": "x", "/b[1]/seconds": 9,
                                "/seconds/d": 3, "/e/f": None, "/e/g": True}  # fmt: skip
    assert json_leaves(doc, skip=("seconds",)) == {"/a": 1, "/b[0]": 2.5, "/b[1]/c": "x",
                                                   "/e/f": None, "/e/g": True}  # fmt: skip
    assert json_leaves(7) == {"": 7}
