"""benchmarks/evaluate_maps.py in its quick mode (on FER-2013 where $EMONB_FER2013 gives it,
the synthetic stand-in otherwise): the file holds the timings of every stage the command
reports, the faces and methods it ran, and a complete provenance."""

import pytest

from emonb.book.recorded import provenance_of
from emonb.errors import EmonbError
from emonb.records import load_json
from tests.test_benchmarks import _script

KEYS = {"provenance", "emonb", "data", "split", "quick", "faces", "methods", "wall_seconds",
        "evaluation_seconds", "seconds"}  # fmt: skip


def test_evaluate_maps_quick(tmp_path):
    from emonb.metrics.evaluate import QUICK_METHODS, REFERENCES

    bench = _script("evaluate_maps")
    out = tmp_path / "evaluate_maps.json"
    argv = ["--quick", "--n", "100", "--json", str(out)]
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
    stages = sum(v if not isinstance(v, dict) else sum(v.values()) for v in s.values())
    assert 0 < stages <= new["evaluation_seconds"] + 1 <= new["wall_seconds"] + 1


def test_evaluate_maps_scheduler_needs_the_option(monkeypatch, tmp_path):
    bench = _script("evaluate_maps")
    monkeypatch.setattr(bench, "has_option", lambda option: False)
    with pytest.raises(EmonbError, match="no --scheduler"):
        bench.command(8, True, "threads", tmp_path / "x.json")
    monkeypatch.setattr(bench, "has_option", lambda option: True)
    argv = bench.command(8, True, "threads", tmp_path / "x.json")
    assert argv[argv.index("--scheduler") + 1] == "threads"
