"""benchmarks/evaluate_maps.py in its quick mode (on FER-2013 where $EMONB_FER2013 gives it,
the synthetic stand-in otherwise): the file holds the timings of every stage the command
reports, each run's engine, the faces and methods it ran, and a complete provenance; and
its comparison of two runs' numbers and its estimate for more workers, on hand-made
records."""

import math

import pytest

from emonb.book.recorded import provenance_of
from emonb.records import load_json
from tests.test_benchmarks import _script

KEYS = {"provenance", "emonb", "data", "split", "quick", "faces", "methods", "wall_seconds",
        "evaluation_seconds", "seconds", "runs", "equality", "estimate"}  # fmt: skip


def test_evaluate_maps_quick(tmp_path):
    from emonb.metrics.evaluate import QUICK_METHODS, REFERENCES

    bench = _script("evaluate_maps")
    out, kept = tmp_path / "evaluate_maps.json", tmp_path / "result.json"
    argv = ["--quick", "--n", "100", "--engines", "in-process", "--result", str(kept),
            "--json", str(out)]  # fmt: skip
    assert bench.main(argv) == 0
    new = load_json(out)
    assert set(new) == KEYS and provenance_of(new) is not None
    assert new["provenance"]["command"] == "benchmarks/evaluate_maps.py " + " ".join(argv)
    assert new["faces"] == bench.QUICK_N and new["quick"]
    fer = bench.fer_given() is not None
    assert new["emonb"].startswith("emonb evaluate-maps " + ("--n" if fer else "--data synthetic"))
    assert new["data"] == ("FER-2013" if fer else "synthetic stand-in")
    assert new["emonb"].endswith(f"--n {bench.QUICK_N} --quick")
    ran = [m for m in new["methods"] if m not in REFERENCES]
    assert set(ran) <= set(QUICK_METHODS) and set(REFERENCES) <= set(new["methods"])
    s = new["seconds"]
    assert {"randomization", "faithfulness correlation", "regions"} <= set(s)
    for m in new["methods"]:  # every method's own clocks
        assert {"maps", "curves", "road", "robustness"} <= set(s[m]) and s[m]["maps"] >= 0
    # the randomization stages and the pointing game run beside the rest (a background
    # thread): each side adds up within the evaluation's time, not both together
    side = ("randomization", "pointing")
    stages = sum(v if not isinstance(v, dict) else sum(v.values())
                 for k, v in s.items() if k not in side)  # fmt: skip
    assert 0 < stages <= new["evaluation_seconds"] + 1 <= new["wall_seconds"] + 1
    assert 0 < sum(s.get(k, 0.0) for k in side) <= new["evaluation_seconds"] + 1
    (run,) = new["runs"]
    assert run["engine"]["engine"] == "in-process" and run["engine"]["workers"] == 1
    assert 0 <= run["engine"]["side_wait_seconds"] <= new["evaluation_seconds"]
    assert new["equality"] == [] and new["estimate"] is None  # one run: nothing to compare
    result = load_json(kept)  # the command's own JSON, whole
    assert result["settings"]["n"] == bench.QUICK_N and "table" in result


def test_equality_finds_the_largest_difference_and_skips_timings():
    bench = _script("evaluate_maps")
    a = {"table": [{"x": 1.0, "y": float("nan")}], "seconds": {"m": 3.0},
         "settings": {"engine": {"tasks": 1}, "n": 5}}  # fmt: skip
    b = {"table": [{"x": 1.25, "y": float("nan")}], "seconds": {"m": 9.0},
         "settings": {"engine": {"tasks": 8}, "n": 5}}  # fmt: skip
    eq = bench.equality(a, b)
    assert eq == {"numbers": 3, "same_paths": True, "largest_difference": 0.25,
                  "at": "/table[0]/x"}  # fmt: skip
    assert bench.equality(a, a)["largest_difference"] == 0.0


def test_estimate_is_serial_plus_work_over_workers_bounded_by_the_longest_task():
    bench = _script("evaluate_maps")
    # the randomization and the regions ran beside the faces (their 30 s and 25 s overlap
    # them): only the 5 s the run waited for them after the faces count
    first = {"evaluation_seconds": 100.0,
             "engine": {"faces_seconds": 30.0, "side_wait_seconds": 5.0},
             "seconds": {"saliency": {"maps": 20.0, "curves": 10.0}, "randomization": 30.0,
                         "action_units": 15.0, "mesh": 10.0, "regions": 25.0}}  # fmt: skip
    cluster = {"engine": {"task_seconds": {"faces": [20.0, 20.0, 10.0], "mesh": [10.0]}}}
    est = bench.estimate(first, cluster)
    assert est["serial_seconds"] == 55.0  # 100 - (30 + 5 + 10): the action-unit tables, the rest
    assert est["task_seconds"] == 60.0 and est["longest_task_seconds"] == 20.0
    assert est["seconds"]["1"] == 115.0 and est["seconds"]["2"] == 85.0
    assert est["seconds"]["4"] == est["seconds"]["32"] == 75.0  # the longest task bounds it
    assert not math.isnan(est["seconds"]["8"])


@pytest.mark.parametrize("engine", ["local:2", "tcp://10.0.0.5:8786"])
def test_a_cluster_engine_is_passed_as_the_scheduler(engine, tmp_path):
    bench = _script("evaluate_maps")
    argv = bench.command(8, True, engine, tmp_path / "x.json")
    assert argv[argv.index("--scheduler") + 1] == engine
    assert "--scheduler" not in bench.command(8, True, None, tmp_path / "x.json")
