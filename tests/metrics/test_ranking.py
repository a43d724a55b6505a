"""The ranked table and the agreement of metric rankings, on hand-made values."""

import numpy as np
import pandas as pd
import pytest

from emonb.errors import EmonbError
from emonb.metrics.ranking import (
    METRICS,
    agreement_pairs,
    metric_agreement,
    metric_columns,
    summary_table,
)
from emonb.metrics.stats import bootstrap_ci


def test_summary_table_means_intervals_and_order():
    values = {
        "a": {"insertion - deletion": np.array([0.1, 0.3]), "sparseness": np.array([0.5, 0.7]),
              "deletion AUC": np.array([0.2, 0.4])},
        "b": {"insertion - deletion": np.array([0.5, np.nan, 0.7]),
              "sparseness": np.array([0.1, 0.2, 0.3])},
    }  # fmt: skip
    t = summary_table(values, extra={"a": {"pointing": 0.25}}, seed=3)
    assert list(t.index) == ["b", "a"]  # ranked by insertion - deletion, NaN ignored
    assert t.loc["b", "insertion - deletion"] == pytest.approx(0.6)
    assert t.loc["a", "sparseness"] == pytest.approx(0.6)
    assert t.loc["a", "deletion AUC"] == pytest.approx(0.3)
    assert t.loc["a", "pointing"] == 0.25 and np.isnan(t.loc["b", "pointing"])
    # the interval is the bootstrap's with the documented seed (method k=0, metric j=0)
    _, lo, hi = bootstrap_ci(np.array([0.1, 0.3]), seed=3)
    assert (t.loc["a", "lo"], t.loc["a", "hi"]) == pytest.approx((lo, hi))
    assert "insertion - deletion lo" not in t and "sparseness lo" in t
    text = metric_columns(t)
    assert text.loc["a", "sparseness"] == (
        f"0.60 [{t.loc['a', 'sparseness lo']:.2f}, {t.loc['a', 'sparseness hi']:.2f}]")


def test_summary_table_refuses_unknown_metrics():
    with pytest.raises(EmonbError, match="unknown metrics"):
        summary_table({"a": {"faithfulness": np.ones(2)}})


def test_agreement_orients_lower_is_better_metrics():
    # four methods ranked 1 > 2 > 3 > 4 by insertion - deletion; max-sensitivity (lower is
    # better) increasing agrees with it; complexity decreasing disagrees fully.
    t = pd.DataFrame({"insertion - deletion": [0.4, 0.3, 0.2, 0.1],
                      "max-sensitivity": [0.1, 0.2, 0.3, 0.4],
                      "complexity": [4.0, 3.0, 2.0, 1.0],
                      "sparseness": [0.2, 0.1, 0.4, 0.3]},
                     index=["m1", "m2", "m3", "m4"])  # fmt: skip
    a = metric_agreement(t)
    assert a.loc["insertion - deletion", "max-sensitivity"] == pytest.approx(1.0)
    assert a.loc["insertion - deletion", "complexity"] == pytest.approx(-1.0)
    # sparseness ranks m3 > m4 > m1 > m2: hand-computed Spearman with 1 > 2 > 3 > 4
    # ranks (higher better) ins-del: 4,3,2,1; sparseness: 2,1,4,3 -> d = 2,2,-2,-2
    assert a.loc["insertion - deletion", "sparseness"] == pytest.approx(1 - 6 * 16 / (4 * 15))
    yes, no = agreement_pairs(a)
    assert ("insertion - deletion", "max-sensitivity", pytest.approx(1.0)) in yes
    assert no[0][2] == pytest.approx(-1.0)


def test_agreement_leaves_out_references_and_needs_three_methods():
    t = pd.DataFrame({"insertion - deletion": [0.4, 0.3, 0.2, 9.0],
                      "sparseness": [0.4, 0.3, 0.2, -9.0]}, index=["a", "b", "c", "random"])
    assert metric_agreement(t, exclude=["random"]).iloc[0, 1] == pytest.approx(1.0)
    assert metric_agreement(t).iloc[0, 1] < 1.0
    with pytest.raises(EmonbError, match="at least 3"):
        metric_agreement(t.iloc[:2])


def test_every_metric_names_its_paper():
    assert len({m.name for m in METRICS}) == len(METRICS)
    assert all(m.reference and m.family for m in METRICS)
