"""Tests for the drawing steps (:mod:`emonb.data.synthetic.render`)."""

from __future__ import annotations

import numpy as np
import pytest

from emonb.data.synthetic.expressions import REGIONS
from emonb.data.synthetic.render import MASK_THRESHOLD, grow_masks


@pytest.mark.parametrize(("k", "side"), [(0.5, 3), (1.0, 5), (2.0, 9)])
def test_grow_masks_thresholds_then_dilates_in_3x3_steps(k: float, side: int) -> None:
    """One covered pixel grows into a square of side 2 * max(1, round(2 k)) + 1."""
    coverage = np.zeros((1, 20, 20, len(REGIONS)), dtype=np.uint8)
    coverage[0, 10, 10, 1] = MASK_THRESHOLD  # eyes: just covered enough
    coverage[0, 3, 3, 2] = MASK_THRESHOLD - 1  # nose: not enough
    masks = grow_masks(coverage, k)
    assert tuple(masks) == REGIONS
    rows, cols = np.nonzero(masks["eyes"][0])
    half = side // 2
    assert masks["eyes"][0].sum() == side * side
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (10 - half, 10 + half) * 2
    assert not masks["brows"].any() and not masks["nose"].any() and not masks["mouth"].any()
