"""Verdicts under many analyses, and their summary, on constructed cases."""

import pytest

from emonb.errors import EmonbError
from emonb.metrics.verdicts import (
    deciding_axes,
    robustness_records,
    summarize,
    verdict,
    verdict_table,  # fmt: skip
)


def test_verdict_against_the_null():
    assert verdict(0.1, 0.3) == "holds"
    assert verdict(-0.3, -0.1) == "contradicted"
    assert verdict(-0.1, 0.2) == "inconclusive"
    assert verdict(0.55, 0.7, null=0.5) == "holds"
    assert verdict(0.45, 0.49, null=0.5) == "contradicted"
    assert verdict(0.1, 0.3, faces=4, min_faces=10) == "too few faces"
    assert verdict(float("nan"), float("nan")) == "inconclusive"


def _grid(fn):
    rows = []
    for au_map in ("appearance", "muscle"):
        for layer in ("sep8", "conv7"):
            lo, hi = fn(au_map, layer)
            rows.append({"claim": "c", "au_map": au_map, "cam_layer": layer,
                         "estimate": (lo + hi) / 2, "lo": lo, "hi": hi})
    return verdict_table(rows)


def test_holds_in_all_and_contradicted_in_all():
    s = summarize(_grid(lambda m, layer: (0.1, 0.2))).iloc[0]
    assert (s["summary"], s["holds"], s["analyses"], s["depends on"]) == ("holds", 4, 4, "")
    s = summarize(_grid(lambda m, layer: (-0.2, -0.1))).iloc[0]
    assert s["summary"] == "contradicted"
    assert summarize(_grid(lambda m, layer: (-0.2, 0.1))).iloc[0]["summary"] == "inconclusive"


def test_depends_names_only_the_axis_that_flips_the_verdict():
    t = _grid(lambda m, layer: (0.1, 0.2) if layer == "sep8" else (-0.1, 0.2))
    s = summarize(t).iloc[0]
    assert s["summary"] == "depends"
    assert s["depends on"] == "cam_layer"
    assert deciding_axes(t) == ["cam_layer"]
    both = _grid(lambda m, layer: (0.1, 0.2) if (layer == "sep8" and m == "appearance") else (-0.3, -0.2))
    assert deciding_axes(both) == ["au_map", "cam_layer"]


def test_an_axis_that_does_not_apply_is_no_difference():
    rows = [{"claim": "c", "evidence": "occlusion", "baseline": "blur", "grouping": "predicted",
             "estimate": 0.2, "lo": 0.1, "hi": 0.3},
            {"claim": "c", "evidence": "occlusion", "baseline": "mean", "grouping": "predicted",
             "estimate": 0.2, "lo": 0.1, "hi": 0.3},
            {"claim": "c", "evidence": "Grad-CAM", "cam_layer": "sep8", "grouping": "predicted",
             "estimate": 0.0, "lo": -0.1, "hi": 0.1}]
    assert deciding_axes(verdict_table(rows)) == ["evidence"]


def test_too_few_faces_are_left_out_of_the_summary():
    rows = [{"claim": "c", "model": "a", "estimate": 0.2, "lo": 0.1, "hi": 0.3, "faces": 50},
            {"claim": "c", "model": "b", "estimate": -0.2, "lo": -0.3, "hi": -0.1, "faces": 3}]
    t = verdict_table(rows, min_faces=10)
    assert list(t["verdict"]) == ["holds", "too few faces"]
    assert summarize(t).iloc[0]["summary"] == "holds"


def test_joint_changes_without_a_grid_are_named_jointly():
    rows = [{"claim": "c", "au_map": "appearance", "baseline": "blur", "estimate": 0.2, "lo": 0.1, "hi": 0.3},
            {"claim": "c", "au_map": "muscle", "baseline": "mean", "estimate": -0.2, "lo": -0.3, "hi": -0.1}]
    assert deciding_axes(verdict_table(rows)) == ["au_map+baseline"]
    assert summarize(verdict_table(rows, min_faces=10).assign(verdict="too few faces")).iloc[0]["summary"] == "no verdict"


def test_records_are_json_ready():
    rows = [{"claim": "x", "cam_layer": "a", "estimate": 0.2, "lo": 0.1, "hi": 0.3, "faces": 20},
            {"claim": "x", "cam_layer": "b", "estimate": 0.0, "lo": -0.1, "hi": 0.1, "faces": 20},
            {"claim": "y", "au_map": "muscle", "estimate": 0.6, "lo": 0.55, "hi": 0.7, "null": 0.5}]
    rec = robustness_records(verdict_table(rows))
    assert [r["claim"] for r in rec] == ["x", "y"]
    assert rec[0]["summary"] == "depends" and rec[0]["depends_on"] == ["cam_layer"]
    assert rec[0]["analyses"][0] == {"cam_layer": "a", "estimate": 0.2, "lo": 0.1, "hi": 0.3,
                                     "faces": 20, "verdict": "holds"}
    assert rec[1]["analyses"][0]["au_map"] == "muscle" and "cam_layer" not in rec[1]["analyses"][0]
    assert rec[1]["summary"] == "holds"


def test_rows_must_carry_an_estimate():
    with pytest.raises(EmonbError, match="estimate"):
        verdict_table([{"claim": "c", "lo": 0, "hi": 1}])
