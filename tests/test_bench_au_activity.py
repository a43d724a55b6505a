"""benchmarks/au_activity.py in a quick mode: the file it writes has the committed
benchmarks/au_activity_cpu.json's keys (as tests/test_benchmarks.py checks every recorded
benchmark), every AU x emotion cell, and a complete provenance."""

import os

import pytest

from emonb.anatomy.activity import AU_MEASURES
from emonb.config import CLASS_NAMES
from emonb.records import load_json
from tests.test_benchmarks import BENCH, _script, assert_same_keys


def _check(path, n: int) -> dict:
    new = assert_same_keys(path, "au_activity_cpu.json")
    old = load_json(BENCH / "au_activity_cpu.json")
    assert set(new["issue_reference_measures"]) == set(old["issue_reference_measures"])
    assert set(new["publictest_auc"]) == set(AU_MEASURES)
    for au, row in new["publictest_auc"].items():
        assert list(row) == list(CLASS_NAMES), au
    for split in ("Training", "PublicTest"):
        assert new["splits"][split]["faces"] == n
        assert 0 < new["splits"][split]["accepted"] <= n
    assert new["choice_on_training"]["chosen_eyes"] in new["choice_on_training"]["candidates"]
    return new


@pytest.mark.fer2013
def test_au_activity_quick(tmp_path):
    """100 faces of each split, 50 resamples, on FER-2013 where $EMONB_FER2013 gives it (as
    CI does) and on the stand-in otherwise, never skipped. Happy faces' lip corners stand
    higher over the lip centre than the other faces' (AU12 AUC above 0.5) on both."""
    out, ref = tmp_path / "au_activity.json", tmp_path / "au_reference.json"
    argv = ["--n", "100", "--n-boot", "50", "--json", str(out), "--reference", str(ref)]
    assert _script("au_activity").main(argv) == 0
    new = _check(out, 100)
    fit = load_json(ref)  # the reference emonb landmarks scores against, from the same run
    assert fit["provenance"] == new["provenance"]
    assert {k: fit[k] for k in ("eyes", "faces", "mean", "std")} == new["reference_faces"]
    assert new["data"]["synthetic"] == (not os.environ.get("EMONB_FER2013"))
    command = f"benchmarks/au_activity.py --n 100 --n-boot 50 --json {out} --reference {ref}"
    assert new["provenance"]["command"] == command
    assert new["publictest_auc"]["AU12"]["happy"]["auc"] > 0.5
