"""benchmarks/robustness.py in its quick mode, on FER-2013 where $EMONB_FER2013 gives it (as
CI does) and on the manifest's real faces otherwise (the claims need real faces, never the
stand-in): the file holds every claim with its analyses, each claim's summary and the
answers, consistent with each other, and a complete provenance."""

import numpy as np

from emonb.book.recorded import RECORDED, provenance_of
from emonb.metrics.verdicts import SUMMARIES, VERDICTS
from emonb.records import load_json
from tests.test_benchmarks import _script

KEYS = {"provenance", "data", "faces", "settings", "models", "seconds", "robustness", "summary",
        "answers"}  # fmt: skip


def test_robustness_quick(tmp_path):
    out = tmp_path / "robustness.json"
    argv = ["--quick", "--json", str(out)]
    assert _script("robustness").main(argv) == 0
    new = load_json(out)
    assert set(new) == KEYS and provenance_of(new) is not None
    assert new["provenance"]["command"] == "benchmarks/robustness.py " + " ".join(argv)
    fer = _script("robustness").fer_given() is not None
    faces = new["faces"]
    assert 0 < faces["accepted"] <= faces["sampled"]
    if fer:  # 4 faces per class, a balanced sample
        assert set(faces["per_class"].values()) == {4} and new["data"]["split"] == "PublicTest"
        assert 0 <= new["models"]["mini-xception"]["accuracy"] <= 1
    else:  # the manifest's faces: no labels, so no accuracy; sources counted
        assert sum(faces["accepted_per_source"].values()) == faces["accepted"]
        assert new["models"]["mini-xception"]["accuracy"] is None
    # quick: one CAM layer, one baseline each, 100 resamples
    s = new["settings"]
    assert s["quick"] and s["n_boot"] == 100 and s["cam_layers"] == [None]
    assert s["occlusion_baselines"] == ["blur"] and s["curve_baselines"] == ["blur"]
    assert new["models"]["mini-xception"]["cam_layers"] == ["separable_conv2d_8 (default)"]
    assert new["seconds"]["mini-xception"] > 0

    claims = {c["claim"]: c for c in new["robustness"]}
    assert [r["claim"] for r in new["summary"]] == list(claims)
    assert {"happy: mouth > eyes", "Grad-CAM is more faithful than saliency"} <= set(claims)
    for r in new["summary"]:
        c = claims[r["claim"]]
        assert c["summary"] == r["summary"] in SUMMARIES
        decided = [a["verdict"] for a in c["analyses"] if a["verdict"] != "too few faces"]
        assert r["analyses"] == len(decided) and all(v in VERDICTS for v in decided)
        if r["summary"] == "holds":
            assert r["claim"] in new["answers"]["findings"]
    # the ranking uses every accepted face: its interval is a real one, its verdict decided
    rank = claims["Grad-CAM is more faithful than saliency"]["analyses"]
    assert len(rank) == 1 and rank[0]["faces"] == faces["accepted"]
    assert rank[0]["lo"] <= rank[0]["estimate"] <= rank[0]["hi"] and np.isfinite(rank[0]["lo"])
    assert rank[0]["verdict"] in ("holds", "contradicted", "inconclusive")
    # the summary's lists cover every claim once
    listed = [c.split(" (on ")[0] for v in new["answers"].values() for c in v]
    assert sorted(listed) == sorted(claims)


def test_robustness_is_registered_for_chapter_09():
    (r,) = [r for r in RECORDED if r.path == "benchmarks/robustness_cpu.json"]
    assert r.chapters == ("09_action_units",)
    assert r.command.startswith("python benchmarks/robustness.py --data FER2013 --per-class 50")
