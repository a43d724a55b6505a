"""Tests for the coordinate frames (:mod:`emonb.data.synthetic.canvas`)."""

from __future__ import annotations

import numpy as np
import pytest

from emonb.data.synthetic.canvas import SS, Canvas, fixed_point
from emonb.data.synthetic.variation import Pose


def _pose(angle: float, scale: float, shift: tuple[float, float]) -> Pose:
    return Pose(np.array([angle]), np.array([scale]), np.array([shift]))


def test_fixed_point_has_four_fraction_bits() -> None:
    out = fixed_point(np.array([[1.0, -0.5], [0.03, 0.0]]), 4.0, 10.0, 20.0)
    assert out.dtype == np.int32
    # (1 * 4 + 10) * 16, (-0.5 * 4 + 20) * 16; 0.12 * 16 = 1.92 rounds to 2.
    assert out.tolist() == [[224, 288], [162, 320]]


def test_canvas_layout_at_48() -> None:
    canvas = Canvas(48)
    assert (canvas.k, canvas.margin, canvas.low) == (1.0, 8, 64)
    assert (canvas.cx, canvas.cy) == (31.5, 32.5)  # the face centre is 1 px below the middle
    # The face centre on the 4x canvas: pixel centres sit at (i + 0.5) * 4 - 0.5.
    assert canvas.fixed(np.zeros(2), SS).tolist() == [127.5 * 16, 131.5 * 16]
    centres, axes = canvas.ellipse(np.array([1.0, 0.0, 2.0, 0.001]))
    assert centres == [131.5 * 16, 131.5 * 16] and axes == [2 * 4 * 16, 1]  # axes >= 1


def test_warp_matrices_by_hand() -> None:
    canvas = Canvas(48)
    np.testing.assert_allclose(
        canvas.warp_matrices(_pose(0.0, 1.0, (0.0, 0.0)))[0], [[1, 0, -8], [0, 1, -8]]
    )
    canvas = Canvas(96)  # k = 2, margin 16, face centre (63.5, 65.5) on the canvas
    mat = canvas.warp_matrices(_pose(90.0, 2.0, (1.0, -1.0)))[0]
    np.testing.assert_allclose(mat, [[0, -2, 180.5], [2, 0, -79.5]], atol=1e-12)
    # ... which takes the face centre to the middle of the image, 2 px down, shifted by (2, -2).
    np.testing.assert_allclose(mat @ [63.5, 65.5, 1.0], [49.5, 47.5])


@pytest.mark.parametrize("angle", [0.0, 33.0])
def test_face_oval_of_a_round_face(angle: float) -> None:
    """A round face (no taper) of radius 10 px: inside where the distance to the face
    centre is <= 10, and soft coverage clip(10.5 - distance, 0, 1)."""
    ident = {"face_a": np.array([10.0]), "face_b": np.array([10.0]), "face_egg": np.array([0.0])}
    mask, alpha = Canvas(48).face_oval(_pose(angle, 1.0, (0.0, 0.0)), ident)
    y, x = np.mgrid[0:48, 0:48]
    dist = np.hypot(x - 23.5, y - 24.5)
    assert mask.shape == alpha.shape == (1, 48, 48) and alpha.dtype == np.float32
    assert np.array_equal(mask[0], dist <= 10.0)
    np.testing.assert_allclose(alpha[0], np.clip(10.5 - dist, 0.0, 1.0), atol=1e-5)
