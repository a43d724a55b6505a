"""The Fourier parametrisation: a 1/f scale, a known inverse, an exact round trip."""

from __future__ import annotations

import numpy as np
import pytest

from emonb._tf import tf
from emonb.featviz.parametrization import FourierParametrization


def test_scale_is_one_over_frequency_normalised():
    s = FourierParametrization(decay=1.0).scale(4, 4)
    assert s.shape == (4, 3)
    # frequencies: rows 0, 1/4, 1/2, 1/4; columns 0, 1/4, 1/2; DC is floored at 1/4
    f = np.sqrt(np.array([0, 0.25, 0.5, 0.25])[:, None] ** 2 + np.array([0, 0.25, 0.5]) ** 2)
    expected = 1.0 / np.maximum(f, 0.25)
    expected *= 1.0 / np.sqrt(np.mean(expected**2))  # mean square 0.25^2 * H * W = 1
    np.testing.assert_allclose(s, expected, rtol=1e-6)
    assert s[0, 0] / s[2, 2] == pytest.approx(np.sqrt(0.5) / 0.25, rel=1e-6)
    flat = FourierParametrization(decay=0.0).scale(6, 10)
    np.testing.assert_allclose(flat, 0.25 * np.sqrt(60), rtol=1e-6)  # no decay: white


def test_decode_of_single_coefficients():
    h, w = 6, 8
    param = FourierParametrization()
    s = param.scale(h, w)
    p = np.zeros((2, 1, 1, h, w // 2 + 1), np.float32)
    p[0, 0, 0, 0, 0] = 3.0  # the DC coefficient: a constant image
    p[0, 0, 0, 0, 1] = 5.0  # one horizontal cosine period across the width
    img = param.decode(tf.constant(p), tf.constant(s), (h, w)).numpy()
    assert img.shape == (1, h, w, 1)
    x = np.arange(w)
    row = (3.0 * s[0, 0] + 2 * 5.0 * s[0, 1] * np.cos(2 * np.pi * x / w)) / (h * w)
    np.testing.assert_allclose(img[0, :, :, 0], np.tile(row, (h, 1)), atol=1e-6)


@pytest.mark.parametrize("size", [(64, 64), (20, 15)])
def test_round_trip(size):
    param = FourierParametrization(decay=1.0)
    scale = tf.constant(param.scale(*size))
    u = tf.constant(np.random.default_rng(1).uniform(0, 1, (2, *size, 3)).astype(np.float32))
    p = param.encode(u, scale, size)
    assert p.shape == (2, 2, 3, size[0], size[1] // 2 + 1)
    np.testing.assert_allclose(param.decode(p, scale, size), u, atol=1e-5)
