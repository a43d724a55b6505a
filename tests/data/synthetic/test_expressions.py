"""Tests for the cue tables and their use (:mod:`emonb.data.synthetic.expressions`)."""

from __future__ import annotations

import numpy as np

from emonb.config import CLASS_NAMES
from emonb.data.synthetic.expressions import (
    CUE_REGIONS,
    EXPRESSIONS,
    NEUTRAL,
    REGIONS,
    action_params,
    cue_masks,
)

ANGRY, DISGUST, HAPPY = (CLASS_NAMES.index(c) for c in ("angry", "disgust", "happy"))


def test_tables_cover_every_class_and_only_known_parameters() -> None:
    assert set(CUE_REGIONS) == set(CLASS_NAMES) == set(EXPRESSIONS)
    for name, regions in CUE_REGIONS.items():
        assert regions, name
        assert set(regions) <= set(REGIONS), name
    for name, moves in EXPRESSIONS.items():
        assert set(moves) <= set(NEUTRAL), name
    assert EXPRESSIONS["neutral"] == {}


def test_action_params_blend_neutral_and_expression_by_intensity() -> None:
    labels = np.array([ANGRY, HAPPY, CLASS_NAMES.index("neutral")])
    rest = {"brow_in": np.array([0.1, 0.2, -0.1])}
    amp = np.array([0.5, 1.0, 0.7])
    happy_open = np.array([9.0, 2.0, 9.0])
    neutral, params = action_params(labels, rest, amp, happy_open)
    assert set(neutral) == set(params) == set(NEUTRAL)
    np.testing.assert_allclose(neutral["brow_in"], [0.1, 0.2, -0.1])
    np.testing.assert_allclose(neutral["mouth_c"], [0.3, 0.3, 0.3])
    # angry: half-way from the resting 0.1 to 3.1; the others keep their rest.
    np.testing.assert_allclose(params["brow_in"], [1.65, 0.2, -0.1])
    # mouth corners: 0.3 + 0.5 * (-0.2 - 0.3) for angry, the full 2.8 for happy.
    np.testing.assert_allclose(params["mouth_c"], [0.05, 2.8, 0.3])
    # a happy face opens its mouth by its own happy_open, not by the table's 1.5.
    np.testing.assert_allclose(params["mouth_ol"], [0.0, 2.0, 0.0])


def test_cue_masks_unite_the_label_regions() -> None:
    eye = np.eye(4, dtype=bool)[None].repeat(2, axis=0)  # (2, 4, 4): row j is region j
    region_masks = {name: eye[:, j : j + 1, :] for j, name in enumerate(REGIONS)}
    out = cue_masks(np.array([ANGRY, DISGUST]), region_masks)
    assert out.shape == (2, 1, 4) and out.dtype == np.bool_
    assert out[0, 0].tolist() == [True, False, False, True]  # brows, mouth
    assert out[1, 0].tolist() == [False, False, True, True]  # nose, mouth
