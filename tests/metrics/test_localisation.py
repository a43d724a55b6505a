"""Pointing game and energy share on hand-made maps and masks."""

import numpy as np
import pytest

from emonb.metrics.localisation import energy_share, pointing_game


def _peaks(size: int, points) -> np.ndarray:
    maps = np.zeros((len(points), size, size), np.float32)
    for m, (y, x) in zip(maps, points, strict=True):
        m[y, x] = 1.0
    return maps


def test_pointing_game_hits_when_the_peak_is_inside_the_mask():
    masks = np.zeros((3, 8, 8), bool)
    masks[:, 2:5, 3:6] = True
    maps = _peaks(8, [(3, 4), (0, 7), (4, 5)])  # inside, outside, inside (corner of the box)
    assert pointing_game(maps, masks).tolist() == [True, False, True]
    # a flat map's peak is its first pixel (row-major): (0, 0)
    flat = np.zeros((2, 8, 8), np.float32)
    corner = np.zeros((2, 8, 8), bool)
    corner[0, 0, 0] = True
    assert pointing_game(flat, corner).tolist() == [True, False]


def test_pointing_game_resizes_maps_to_the_masks():
    masks = np.zeros((1, 16, 16), bool)
    masks[0, 10:14, 2:6] = True
    small = np.zeros((1, 8, 8), np.float32)
    small[0, 5:7, 1:3] = 1.0  # the same box at half size
    assert pointing_game(small, masks).tolist() == [True]
    assert pointing_game(small[:, ::-1], masks).tolist() == [False]


def test_energy_share_of_a_hand_made_map():
    masks = np.zeros((2, 4, 4), bool)
    masks[:, :2, :2] = True  # 4 of 16 pixels
    maps = np.ones((2, 4, 4), np.float32)
    maps[0, :2, :2] = 3.0  # inside 4 * 3 = 12 of 12 + 12 = 24
    maps[1] = 0.0  # all zero: the area share, what a flat map gets
    np.testing.assert_allclose(energy_share(maps, masks), [0.5, 0.25])
    np.testing.assert_allclose(energy_share(np.ones((2, 4, 4), np.float32), masks), [0.25, 0.25])


def test_random_maps_score_chance_on_random_blobs():
    rng = np.random.default_rng(0)
    masks = np.zeros((2000, 24, 24), bool)
    for m in masks:
        y, x = rng.integers(0, 24 - 8, 2)
        m[y : y + 8, x : x + 10] = True  # 80 of 576 px: 13.9%
    noise = rng.random(masks.shape, dtype=np.float32)
    assert pointing_game(noise, masks).mean() == pytest.approx(80 / 576, abs=0.02)
    assert energy_share(noise, masks).mean() == pytest.approx(80 / 576, abs=0.005)
    assert pointing_game(masks.astype(np.float32), masks).all()
