"""Post-filters on constant and constructed images, checked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from emonb.errors import EmonbError
from emonb.featviz.filters import apply_postfilters, contrast, emboss, offset, unsharp_mask

RAMP = np.array([[0.25, 0.75], [0.5, 0.0]], np.float32)


def test_point_operations_on_a_ramp():
    np.testing.assert_allclose(offset(RAMP, 0.2), [[0.45, 0.95], [0.7, 0.2]], atol=1e-7)
    np.testing.assert_array_equal(offset(RAMP, 0.5), [[0.75, 1.0], [1.0, 0.5]])
    np.testing.assert_array_equal(contrast(RAMP, 2.0), [[0.0, 1.0], [0.5, 0.0]])
    # pivot = the mean, 0.375: 0.375 + 0.5 * (x - 0.375)
    np.testing.assert_allclose(
        contrast(RAMP, 0.5, pivot=None), [[0.3125, 0.5625], [0.4375, 0.1875]]
    )
    assert offset(np.full((2, 2), 255, np.uint8), -0.5).max() == 0.5  # uint8 read as /255


@pytest.mark.parametrize("c", [0.0, 0.3, 1.0])
def test_constant_images_stay_constant(c):
    const = np.full((9, 7), c, np.float32)
    np.testing.assert_allclose(emboss(const), 0.5, atol=1e-6)
    np.testing.assert_allclose(emboss(const, keep_image=True), c, atol=1e-6)
    np.testing.assert_allclose(unsharp_mask(const, radius=2.0, amount=3.0), c, atol=1e-6)
    np.testing.assert_allclose(contrast(const, 3.0, pivot=None), c, atol=1e-6)


def test_emboss_of_a_vertical_edge():
    edge = np.full((8, 8), 0.2, np.float32)
    edge[:, 4:] = 0.6
    # the kernel sums to 0, so only the step counts: at column 3 the window's right column
    # (weights 0, 1, 1) is 0.4 brighter, at column 4 its left column (weights -1, -1, 0) is
    # 0.4 darker; both give 0.5 * 0.8 = 0.4 of relief on mid-grey. Elsewhere flat: 0.5.
    relief = emboss(edge, strength=0.5)
    np.testing.assert_allclose(relief, np.tile([0.5, 0.5, 0.5, 0.9, 0.9, 0.5, 0.5, 0.5], (8, 1)),
                               atol=1e-6)  # fmt: skip
    np.testing.assert_allclose(emboss(edge, strength=0.5, keep_image=True),
                               np.clip(edge + relief - 0.5, 0, 1), atol=1e-6)  # fmt: skip


def test_unsharp_mask_overshoots_both_sides_of_an_edge():
    edge = np.full((16, 16), 0.2, np.float32)
    edge[:, 8:] = 0.8
    sharp = unsharp_mask(edge, radius=1.0, amount=1.0)
    assert sharp[5, 7] < 0.2 and sharp[5, 8] > 0.8
    np.testing.assert_allclose(sharp[:, [0, 15]], edge[:, [0, 15]], atol=1e-4)  # far: unchanged


def test_shapes_batches_and_chains():
    rng = np.random.default_rng(0)
    for shape in [(16, 16), (16, 16, 1), (16, 16, 3), (5, 16, 16), (5, 16, 16, 3)]:
        img = rng.uniform(0, 1, shape).astype(np.float32)
        for out in (unsharp_mask(img, 1.5, 2.0), contrast(img, 3.0), emboss(img),
                    offset(img, -0.3), apply_postfilters(img, ["unsharp", "emboss"])):  # fmt: skip
            assert out.shape == shape and out.dtype == np.float32
    batch = rng.uniform(0, 1, (3, 16, 16)).astype(np.float32)
    np.testing.assert_array_equal(emboss(batch)[1], emboss(batch[1]))
    chain = apply_postfilters(batch, [("unsharp", {"radius": 2.0}), ("offset", -0.1), np.sqrt])
    np.testing.assert_allclose(chain, np.sqrt(offset(unsharp_mask(batch, 2.0), -0.1)))
    np.testing.assert_array_equal(
        apply_postfilters(batch, [("contrast", 2.0)]), contrast(batch, 2.0)
    )
    np.testing.assert_array_equal(apply_postfilters(batch, []), batch)
    with pytest.raises(EmonbError, match="valid: unsharp, contrast, emboss, offset"):
        apply_postfilters(batch, ["sharpen"])
    with pytest.raises(EmonbError, match="'offset'"):
        apply_postfilters(batch, ["offset"])
