"""Masked-face starts use the one canonical face layout (emonb.anatomy.layout.FACE_REGIONS)."""

from __future__ import annotations

import numpy as np
import pytest

from emonb.errors import EmonbError
from emonb.featviz.masks import mask_regions


def test_eyes_and_mouth_on_the_48_grid():
    face = np.arange(48 * 48, dtype=np.float32).reshape(48, 48) / (48 * 48)
    masked = mask_regions(face)  # "eyes_mouth", mid-grey
    expected = face.copy()
    expected[15:24, 9:22] = 0.5  # right eye (x0, y0, x1, y1) = (9, 15, 22, 24)
    expected[15:24, 26:39] = 0.5  # left eye (26, 15, 39, 24)
    expected[32:43, 13:36] = 0.5  # mouth (13, 32, 36, 43)
    np.testing.assert_array_equal(masked, expected)
    assert not np.shares_memory(masked, face)
    brows = mask_regions(np.ones((48, 48)), "brows_nose", fill=0.0)
    assert (brows == 0).sum() == 2 * 15 * 6 + 12 * 8  # two 15x6 brows, one 12x8 nose


def test_regions_scale_to_the_image_and_keep_dtype_and_channels():
    face = np.full((96, 144, 3), 200, np.uint8)  # twice the grid high, three times wide
    masked = mask_regions(face, "mouth", fill=0.25)
    assert masked.dtype == np.uint8 and masked.shape == face.shape
    filled = np.all(masked == 64, axis=-1)  # round(0.25 * 255)
    box = np.zeros((96, 144), bool)
    box[64:86, 39:108] = True  # (13, 32, 36, 43) * (3, 2)
    np.testing.assert_array_equal(filled, box)
    np.testing.assert_array_equal(masked[~box], face[~box])


def test_pixel_boxes_and_errors():
    boxes = mask_regions(np.zeros((10, 10), np.uint8), [(2, 3, 4, 2), (8, 8, 5, 5)], fill=1.0)
    expected = np.zeros((10, 10), np.uint8)
    expected[3:5, 2:6] = 255
    expected[8:, 8:] = 255  # clipped at the border
    np.testing.assert_array_equal(boxes, expected)
    with pytest.raises(EmonbError, match="valid: brows, eyes, nose, mouth, or several"):
        mask_regions(np.zeros((48, 48)), "eyes_chin")
    with pytest.raises(EmonbError, match="unknown face region ''"):
        mask_regions(np.zeros((48, 48)), "")
    with pytest.raises(ValueError, match="grey level"):
        mask_regions(np.zeros((48, 48)), fill=2.0)
    with pytest.raises(ValueError, match="image"):
        mask_regions(np.zeros((2, 48, 48, 1)))
