"""Tests for the face outlines (:mod:`emonb.data.synthetic.geometry`)."""

from __future__ import annotations

import numpy as np

from emonb.data.synthetic.geometry import _closed, _quad, _ribbon, head_outlines


def test_quad_passes_through_its_three_points() -> None:
    t = np.array([0.0, 0.25, 0.5, 1.0])
    out = _quad(t, np.array([0.0, 2.0]), np.array([1.0, 2.0]), np.array([0.0, 4.0]))
    # 4 t (1 - t) at 0.25 is 0.75; through (0, 2), (0.5, 2), (1, 4): 2 + 2 t (2 t - 1).
    np.testing.assert_allclose(out, [[0.0, 0.75, 1.0, 0.0], [2.0, 1.75, 2.0, 4.0]])


def test_closed_outline_drops_the_shared_ends_of_the_lower_curve() -> None:
    upper = np.array([[0.0, 0.0], [1.0, -1.0], [2.0, 0.0]])
    lower = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]])
    assert _closed(upper, lower).tolist() == [[0, 0], [1, -1], [2, 0], [1, 1]]


def test_ribbon_of_a_straight_line_is_a_rectangle() -> None:
    line = np.array([[[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]]])
    out = _ribbon(line, np.array([0.5]))
    expected = [[0, 0.5], [1, 0.5], [2, 0.5], [2, -0.5], [1, -0.5], [0, -0.5]]
    np.testing.assert_allclose(out[0], expected)


def test_face_outline_is_an_egg_wider_at_the_forehead() -> None:
    ident = {"face_a": np.array([16.0]), "face_b": np.array([20.0]), "face_egg": np.array([0.1])}
    head = head_outlines(ident, fringe=np.array([0.15]), neck_bottom=38.0)
    face = head["face"][0]  # 48 points, phi = 0, 7.5, ... degrees; y grows downwards
    np.testing.assert_allclose(face[0], [16.0, 0.0])
    np.testing.assert_allclose(face[12], [0.0, 20.0], atol=1e-12)  # chin
    np.testing.assert_allclose(face[36], [0.0, -20.0], atol=1e-12)  # top of the forehead
    # 30 degrees below and above the middle: half-width 16 cos 30 (1 -+ 0.1 * 0.5).
    np.testing.assert_allclose(face[4], [16 * np.cos(np.pi / 6) * 0.95, 10.0])
    np.testing.assert_allclose(face[44], [16 * np.cos(np.pi / 6) * 1.05, -10.0])
    np.testing.assert_allclose(head["neck"][0, 2:], [[9.92, 38.0], [-9.92, 38.0]])
    np.testing.assert_allclose(head["fringe"][0], [0.0, -20.0, 15.52, 3.0])
