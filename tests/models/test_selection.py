"""Choosing settings across seeds: t quantiles against a printed table, intervals by hand."""

import math

import pytest

from emonb.models.selection import paired_difference, seed_interval, select, t_quantile


@pytest.mark.parametrize(("df", "expected"), [(1, 12.706), (2, 4.303), (4, 2.776), (10, 2.228),
                                              (30, 2.042)])  # fmt: skip
def test_t_quantile_matches_the_printed_table(df, expected):
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=1e-3)


def test_seed_interval_by_hand():
    mean, lo, hi = seed_interval([0.5, 0.6, 0.7])
    half = 4.303 * 0.1 / math.sqrt(3)  # sd 0.1, t(0.975, 2)
    assert mean == pytest.approx(0.6)
    assert (lo, hi) == pytest.approx((0.6 - half, 0.6 + half), abs=1e-4)
    assert math.isnan(seed_interval([0.4])[1])


def test_paired_difference_removes_the_shared_seed_noise():
    # seeds move both settings together; b is 0.01 behind on every seed
    a = {0: 0.50, 1: 0.60, 2: 0.70}
    b = {s: v - 0.01 for s, v in a.items()}
    mean, lo, hi = paired_difference(a, b)
    assert mean == pytest.approx(0.01) and hi - lo == pytest.approx(0, abs=1e-9)
    with pytest.raises(ValueError, match="share no seed"):
        paired_difference({0: 1.0}, {1: 1.0})


def test_select_says_when_a_lead_is_inside_the_seed_noise():
    scores = {"a": {0: 0.50, 1: 0.60, 2: 0.70}, "b": {0: 0.49, 1: 0.59, 2: 0.69},
              "c": {0: 0.55, 1: 0.50, 2: 0.70}}  # fmt: skip
    out = select(scores)
    assert out["chosen"] == "a"
    assert out["versus"]["b"]["clear"] is True  # 0.01 on every seed
    assert out["versus"]["c"]["clear"] is False  # -0.05, +0.10, 0.00: noise
    with pytest.raises(ValueError):
        select({})


def _run(f1, acc=0.5, disgust=0.0, classes=7):
    return {"validation": {"accuracy": acc, "macro_f1": f1, "predicted_classes": classes,
                           "recall": {"disgust": disgust}}}  # fmt: skip


def test_study_table_and_scores_read_a_study_file():
    from emonb.models.selection import study_scores, study_table

    study = {"runs": {"x": {"0": _run(0.2, 0.4, 0.1), "1": _run(0.4, 0.6, 0.3)},
                      "dead": {"0": _run(0.05, classes=1), "1": _run(0.3)}}}  # fmt: skip
    assert study_scores(study) == {"x": {0: 0.2, 1: 0.4}, "dead": {0: 0.05, 1: 0.3}}
    table = study_table(study)
    assert table.loc["x", "validation accuracy"] == pytest.approx(0.5)
    assert table.loc["x", "disgust recall"] == pytest.approx(0.2)
    half = 12.706 * math.sqrt(0.02) / math.sqrt(2)  # sd of (0.2, 0.4), t(0.975, 1)
    assert table.loc["x", "macro-F1 95% interval"] == f"[{0.3 - half:.3f}, {0.3 + half:.3f}]"
    assert table.loc["dead", "runs that learned"] == "1 of 2"
