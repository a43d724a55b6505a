"""The robustness table drawn: one row per claim, cells coloured by verdict."""

import numpy as np

from emonb.metrics.verdicts import answers, summarize, verdict_table
from emonb.plotting.verdicts import VERDICT_COLOURS, plot_verdicts


def _table():
    rows = [{"claim": "a", "model": m, "estimate": 0.2, "lo": 0.1, "hi": 0.3} for m in "xyz"]
    rows += [{"claim": "b", "model": "x", "estimate": -0.2, "lo": -0.3, "hi": -0.1},
             {"claim": "b", "model": "y", "estimate": 0.0, "lo": -0.3, "hi": 0.1}]
    return verdict_table(rows)


def test_cells_hold_each_analysis_verdict_and_rows_the_summary():
    t = _table()
    s = summarize(t)
    ax = plot_verdicts(t, s)
    grid = ax.images[0].get_array()
    names = list(VERDICT_COLOURS)
    assert grid.shape == (2, 3)
    assert list(grid[0]) == [names.index("holds")] * 3
    assert list(grid[1, :2]) == [names.index("contradicted"), names.index("inconclusive")]
    assert np.ma.is_masked(grid[1, 2])
    # each claim's analysed cells outlined: 3 for a, 2 for b (its third cell is no analysis)
    assert [(p.get_x(), p.get_width()) for p in ax.patches] == [(-0.5, 3), (-0.5, 2)]
    texts = [t.get_text().strip() for t in ax.texts]
    assert texts == ["holds", "depends (model)"]


def test_answers_sort_claims_by_summary():
    a = answers(summarize(_table()))
    assert a == {"findings": ["a"], "refuted": [], "depends": ["b (on model)"], "open": []}
