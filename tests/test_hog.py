import numpy as np
import pytest

from emonb import hog

NAMES = ("a", "b", "c")


def stripes(axis: int) -> np.ndarray:
    """A 64x64 image of 8-pixel stripes across ``axis`` (0: horizontal edges)."""
    ramp = (np.arange(64) // 8) % 2
    img = np.repeat(ramp[:, None], 64, axis=1) if axis == 0 else np.repeat(ramp[None], 64, axis=0)
    return img.astype(np.float32)


def test_cells_put_edges_in_the_right_orientation_bin():
    vertical_edges = hog.hog_cells(stripes(1))  # gradient along x: 0 degrees
    horizontal_edges = hog.hog_cells(stripes(0))  # gradient along y: 90 degrees
    assert vertical_edges.shape == (8, 8, 9)
    assert vertical_edges.sum(axis=(0, 1)).argmax() == 0
    assert horizontal_edges.sum(axis=(0, 1)).argmax() == 4  # the 80-100 degree bin
    assert np.allclose(vertical_edges.sum(axis=(0, 1))[1:], 0)
    # total magnitude: centred differences see each of the 7 interior edges twice per row
    assert vertical_edges.sum() == pytest.approx(7 * 2 * 64)
    assert np.all(hog.hog_cells(np.ones((16, 16))) == 0)
    with pytest.raises(ValueError):
        hog.hog_cells(np.ones((4, 4)))


def test_descriptor_is_block_normalised():
    d = hog.hog_descriptor(np.random.default_rng(0).random((64, 64)))
    assert d.shape == (7 * 7 * 2 * 2 * 9,)
    blocks = d.reshape(49, 36)
    assert np.allclose(np.linalg.norm(blocks, axis=1), 1, atol=1e-3)
    # the first block is cells (0..1, 0..1), L2 normalised, clipped at 0.2, renormalised
    image = np.random.default_rng(0).random((64, 64))
    v = hog.hog_cells(image)[:2, :2].ravel()
    v = np.minimum(v / np.linalg.norm(v), 0.2)
    np.testing.assert_allclose(blocks[0], v / np.linalg.norm(v), atol=1e-5)
    assert (blocks[0] == blocks[0].max()).sum() > 1  # clipping ties the largest entries


def test_orientation_histogram_and_per_emotion_means():
    h = hog.orientation_histogram([stripes(1), stripes(0) * 255, np.zeros((30, 40, 3), np.uint8)])
    assert h.shape == (3, 9) and np.allclose(h.sum(axis=1), 1)
    assert h[0].argmax() == 0 and h[1].argmax() == 4
    assert np.allclose(h[2], 1 / 9)  # a flat patch has no orientation
    per = hog.emotion_histograms(h, np.array([0, 0, 2]), NAMES)
    assert list(per) == ["a", "c"] and per["a"]["n"] == 2
    np.testing.assert_allclose(per["a"]["mean"], h[:2].mean(axis=0))
    with pytest.raises(ValueError):
        hog.emotion_histograms(h, np.array([0]), NAMES)


def test_patch_and_glyphs():
    patch = hog.prepare_patch(np.full((128, 100, 3), 255, np.uint8))
    assert patch.shape == (64, 64) and patch.dtype == np.float32 and np.allclose(patch, 1)
    img = hog.hog_image(hog.hog_cells(stripes(0)))
    assert img.shape == (64, 64) and 0 < img.max() <= 1
    # horizontal edges draw horizontal strokes: brighter along rows than along columns
    assert img.std(axis=1).mean() < img.std(axis=0).mean()
