"""AUCs of AU activity per emotion on constructed cases whose AUC is known by hand or by
theory, and the bootstrap's interval against Hanley & McNeil's standard error."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from emonb.errors import EmonbError
from emonb.metrics.activity import activity_auc, auc_nested, weighted_auc
from emonb.metrics.facs import auc


def test_hand_computed_auc_with_ties():
    """Class 0's faces score 2, 3, 4, the others 1, 2, 3: of the 9 pairs class 0 wins
    1 + 0.5 (2 vs 1, 2), 2 + 0.5 (3 vs 1, 2, 3) and 3 (4): 7/9. Class 1 (the faces scoring
    1 and 3 among the others): pairs against 2, 3, 4, 2: 1 wins 0, 3 wins 1 + 0.5 + 0 + 1:
    2.5/8. The negated column reverses every pair: 1 - AUC."""
    x = np.array([2, 3, 4, 1, 2, 3], float)
    labels = np.array([0, 0, 0, 1, 2, 1])
    table = activity_auc(np.c_[x, -x], labels, ["a", "b", "c"], names=["AU1", "neg"],
                         n_boot=200, seed=1)  # fmt: skip
    assert table.loc[("AU1", "a"), "auc"] == pytest.approx(7 / 9)
    assert table.loc[("AU1", "b"), "auc"] == pytest.approx(2.5 / 8)
    assert table.loc[("neg", "a"), "auc"] == pytest.approx(2 / 9)
    assert table.loc[("AU1", "a"), ["positives", "negatives"]].tolist() == [3, 3]
    assert list(table.index.get_level_values("au").unique()) == ["AU1", "neg"]


def test_perfect_separation_has_a_degenerate_interval():
    x = np.r_[np.arange(10) + 100.0, np.arange(30.0)]
    labels = np.r_[np.zeros(10, int), np.ones(30, int)]
    t = activity_auc(x[:, None], labels, ["pos", "rest"], names=["m"], n_boot=100)
    assert t.loc[("m", "pos")].tolist()[:3] == [1.0, 1.0, 1.0]
    assert t.loc[("m", "rest")].tolist()[:3] == [0.0, 0.0, 0.0]


def test_gaussian_shift_matches_theory_and_hanley_mcneil():
    """Positives N(d, 1), negatives N(0, 1): AUC = Phi(d / sqrt 2). With d = 1, 600
    positives and 2400 negatives the estimate lies within 0.03 of 0.760, inside its
    interval, and the interval's half-width is 1.96 times Hanley & McNeil's (1982)
    standard error to within 20%."""
    rng = np.random.default_rng(3)
    n_pos, n_neg, d = 600, 2400, 1.0
    x = np.r_[rng.normal(d, 1, n_pos), rng.normal(0, 1, n_neg)]
    labels = np.r_[np.zeros(n_pos, int), np.ones(n_neg, int)]
    t = activity_auc(pd.DataFrame({"AU12": x, "other": rng.normal(size=len(x))}), labels,
                     ["happy", "rest"], n_boot=1000, seed=0)  # fmt: skip
    a, lo, hi = t.loc[("AU12", "happy"), ["auc", "lo", "hi"]]
    theory = 0.5 * (1 + math.erf(d / 2))  # Phi(d / sqrt 2)
    assert a == pytest.approx(theory, abs=0.03) and lo < a < hi
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    se = math.sqrt((a * (1 - a) + (n_pos - 1) * (q1 - a * a) + (n_neg - 1) * (q2 - a * a))
                   / (n_pos * n_neg))  # fmt: skip
    assert (hi - lo) / 2 == pytest.approx(1.96 * se, rel=0.2)
    o = t.loc[("other", "happy")]
    assert o["lo"] < 0.5 < o["hi"]
    again = activity_auc(pd.DataFrame({"AU12": x, "other": x}), labels, ["happy", "rest"],
                         n_boot=1000, seed=0)  # fmt: skip
    assert again.loc[("AU12", "happy"), "lo"] == lo  # seeded
    assert again.loc[("other", "happy"), "lo"] == lo  # the same resamples for every AU


def test_weighted_auc_is_the_auc_of_the_repeated_items():
    rng = np.random.default_rng(0)
    v = np.round(rng.normal(size=200), 1)  # many ties
    pos = rng.random(200) < 0.3
    w = rng.integers(0, 4, (5, 200))
    expected = [float(auc(np.repeat(v, row), np.repeat(pos, row))) for row in w]
    np.testing.assert_allclose(weighted_auc(v, pos, w), expected)
    assert weighted_auc(v, pos, np.ones(200))[0] == pytest.approx(float(auc(v, pos)))
    assert np.isnan(weighted_auc(v, pos, np.where(pos, 0, 1)[None]))[0]


def test_nan_faces_are_left_out_per_au():
    x = np.array([2, 3, 4, 1, 2, 3, np.nan], float)
    y = np.array([2, 3, 4, 1, 2, 3, 9], float)
    labels = np.array([0, 0, 0, 1, 1, 1, 0])
    t = activity_auc(np.c_[x, y], labels, ["a", "b"], names=["x", "y"], n_boot=50)
    assert t.loc[("x", "a"), "auc"] == pytest.approx(7 / 9)
    assert t.loc[("x", "a"), "positives"] == 3 and t.loc[("y", "a"), "positives"] == 4
    assert t.loc[("y", "a"), "auc"] == pytest.approx(10 / 12)
    nested = auc_nested(t)
    assert set(nested) == {"x", "y"} and set(nested["x"]) == {"a", "b"}
    assert nested["x"]["a"]["auc"] == round(7 / 9, 4)
    assert set(nested["x"]["a"]) == {"auc", "lo", "hi"}


def test_an_emotion_without_faces_gets_nan():
    t = activity_auc(np.arange(6.0)[:, None], np.array([0, 0, 0, 1, 1, 1]), ["a", "b", "c"],
                     names=["m"], n_boot=20)  # fmt: skip
    assert np.isnan(t.loc[("m", "c"), ["auc", "lo", "hi"]].astype(float)).all()
    assert t.loc[("m", "c"), "positives"] == 0


def test_bad_input():
    with pytest.raises(EmonbError, match="does not match"):
        activity_auc(np.zeros((4, 2)), np.zeros(3, int), ["a"], names=["x", "y"])
    with pytest.raises(EmonbError, match="n_boot"):
        activity_auc(np.zeros((4, 1)), np.zeros(4, int), ["a"], n_boot=0)
    with pytest.raises(EmonbError, match="finite"):
        weighted_auc(np.array([np.nan, 1.0]), np.array([True, False]), np.ones((1, 2)))


def test_auc_wide_reads_auc_and_interval():
    from emonb.metrics.activity import auc_wide

    wide = auc_wide({"AU12": {"happy": {"auc": 0.8049, "lo": 0.79, "hi": 0.8151},
                              "sad": {"auc": 0.3, "lo": 0.25, "hi": 0.351}}})  # fmt: skip
    assert wide.loc["AU12", "happy"] == "0.80 [0.79, 0.82]"
    assert wide.loc["AU12", "sad"] == "0.30 [0.25, 0.35]"
