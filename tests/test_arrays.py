"""The one normaliser and the one map resize, on hand-computed cases."""

import cv2
import numpy as np
import pytest

from emonb.arrays import minmax, resize_maps


def test_minmax_normalises_each_map_on_its_own():
    maps = np.array([[[1, 2, 3], [4, 5, 9]], [[-2, 0, 2], [2, 2, 2]]], np.float32)
    out = minmax(maps)
    assert out.dtype == np.float32 and out.shape == (2, 2, 3)
    np.testing.assert_allclose(out[0], [[0, 1 / 8, 2 / 8], [3 / 8, 4 / 8, 1]], rtol=1e-6)
    np.testing.assert_allclose(out[1], [[0, 0.5, 1], [1, 1, 1]], rtol=1e-6)
    np.testing.assert_array_equal(maps[0, 0], [1, 2, 3])  # the input is left alone


def test_minmax_over_other_axes():
    acts = np.zeros((1, 2, 2, 2), np.float32)  # (n, h, w, k): one map per channel
    acts[0, :, :, 0] = [[0, 10], [5, 10]]
    acts[0, :, :, 1] = [[-1, -3], [-3, -3]]
    out = minmax(acts, axes=(1, 2))
    np.testing.assert_allclose(out[0, :, :, 0], [[0, 1], [0.5, 1]])
    np.testing.assert_allclose(out[0, :, :, 1], [[1, 0], [0, 0]])
    np.testing.assert_allclose(minmax(np.array([3, 1, 2]), axes=0), [1, 0, 0.5])
    np.testing.assert_allclose(minmax(np.array([[0, 1], [2, 4]]), axes=(0, 1)),
                               [[0, 0.25], [0.5, 1]])  # fmt: skip


def test_constant_maps_become_zeros():
    maps = np.stack([np.full((3, 3), 5.0), np.zeros((3, 3)), np.full((3, 3), -2.0)])
    np.testing.assert_array_equal(minmax(maps), np.zeros((3, 3, 3), np.float32))


def test_nan_and_infinity_become_finite_first():
    out = minmax(np.array([[[np.nan, 1.0], [2.0, 3.0]]]))  # NaN counts as 0
    np.testing.assert_allclose(out[0], [[0, 1 / 3], [2 / 3, 1]], rtol=1e-6)
    inf = minmax(np.array([[[np.inf, 0.0], [1.0, 2.0]]]))  # +inf: the largest float32
    np.testing.assert_allclose(inf[0], [[1, 0], [0, 0]], atol=1e-30)
    assert np.isfinite(inf).all()


def test_bicubic_wobble_of_a_constant_map_is_flat():
    """A constant 0.7 resized bicubically wobbles in the last float32 bits: a span of at
    most 1e-6 of the largest magnitude counts as flat; 2e-5 of it is a real (if faint) map."""
    wobble = np.full((1, 4, 4), 0.7, np.float32)
    wobble[0, 1, 2] = np.nextafter(np.float32(0.7), np.float32(1.0))  # one ulp, ~6e-8
    wobble[0, 3, 0] = np.float32(0.7) - np.float32(4e-7)
    np.testing.assert_array_equal(minmax(wobble), 0.0)
    cubic = cv2.resize(np.full((3, 3), 0.7, np.float32), (17, 13), interpolation=cv2.INTER_CUBIC)
    np.testing.assert_array_equal(minmax(cubic[None]), 0.0)
    faint = np.full((1, 2, 2), 1.0, np.float32)
    faint[0, 0, 1] = 1.00002
    np.testing.assert_array_equal(minmax(faint), [[[0, 1], [0, 0]]])


def test_dead_filter_is_zeros_but_a_small_map_is_not():
    dead = np.zeros((1, 2, 2), np.float32)
    dead[0, 1, 1] = 1e-33  # a dead filter: denormal noise, span 1e-33 <= 1e-12
    np.testing.assert_array_equal(minmax(dead), 0.0)
    small = np.zeros((1, 2, 2), np.float32)
    small[0, 1, 1] = 1e-9  # all small, but a real map: relative span 1
    np.testing.assert_array_equal(minmax(small), [[[0, 0], [0, 1]]])


def test_resize_maps_identity_and_shape():
    maps = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
    same = resize_maps(maps, (3, 4))
    assert same.dtype == np.float32
    np.testing.assert_array_equal(same, maps.astype(np.float32))
    assert resize_maps(maps, (5, 7)).shape == (2, 5, 7)  # size is (H, W)


def test_resize_maps_bilinear_2x2_to_4x4_by_hand():
    """OpenCV's bilinear resize samples at half-pixel centres: output pixel j of 4 reads
    input position (j + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25, clamped to [0, 1]; so
    along each axis the weights of (a, b) are (1, 0), (3/4, 1/4), (1/4, 3/4), (0, 1)."""
    m = np.array([[[0.0, 4.0], [8.0, 12.0]]])
    expected = [[0, 1, 3, 4], [2, 3, 5, 6], [6, 7, 9, 10], [8, 9, 11, 12]]
    np.testing.assert_allclose(resize_maps(m, (4, 4))[0], expected, atol=1e-5)
    nearest = resize_maps(m, (4, 4), interpolation=cv2.INTER_NEAREST)[0]
    np.testing.assert_array_equal(nearest, np.kron(m[0], np.ones((2, 2))))


@pytest.mark.parametrize("size", [(4, 6), (6, 4)])
def test_resize_maps_each_map_alone(size):
    maps = np.zeros((2, 2, 2), np.float32)
    maps[1] = 1.0  # a constant map stays constant, whatever its neighbour holds
    maps[0, 0, 0] = 8.0
    out = resize_maps(maps, size)
    np.testing.assert_allclose(out[1], 1.0, atol=1e-6)
    assert out[0, 0, 0] == pytest.approx(8.0) and out[0, -1, -1] == pytest.approx(0.0)


def test_resize_fractions_keeps_area_when_shrinking_and_stays_in_range():
    from emonb.arrays import resize_fractions

    m = np.zeros((1, 4, 4), np.float32)
    m[0, :2, :3] = 1.0
    small = resize_fractions(m, (2, 2))
    np.testing.assert_allclose(small[0], [[1.0, 0.5], [0.0, 0.0]])  # area-averaged by hand
    assert small.sum() * 4 == m.sum()  # each small pixel covers 4: the area is kept
    big = resize_fractions(small, (4, 4))
    assert big.min() >= 0.0 and big.max() <= 1.0 and big[0, 0, 0] == 1.0


def test_face_draws_depend_on_seed_stream_and_id_not_on_the_other_faces():
    from emonb.arrays import face_draws

    def draw(g):
        return g.random(3)

    both = face_draws(0, "a", [4, 9], draw, (3,))
    np.testing.assert_array_equal(both[1], face_draws(0, "a", [9], draw, (3,))[0])
    np.testing.assert_array_equal(both[::-1], face_draws(0, "a", [9, 4], draw, (3,)))
    for other in (face_draws(1, "a", [4], draw), face_draws(0, "b", [4], draw),
                  face_draws(0, "a", [5], draw)):  # fmt: skip
        assert not np.array_equal(other[0], both[0])
    assert face_draws(0, "a", [], draw, (3,)).shape == (0, 3)
