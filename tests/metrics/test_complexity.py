"""Sparseness (Gini) and complexity (entropy) on maps whose values are known by hand."""

import numpy as np
import pytest

from emonb.metrics.complexity import complexity, sparseness


def test_sparseness_of_one_hot_flat_and_a_small_vector():
    n = 48
    one_hot = np.zeros((1, 6, 8))
    one_hot[0, 2, 5] = 3.0
    assert sparseness(one_hot)[0] == pytest.approx((n - 1) / n)
    assert sparseness(np.full((2, 6, 8), 0.7))[0] == pytest.approx(0.0, abs=1e-7)
    # |a| sorted (0, 1, 2, 3), n 4: (-3*0 - 1*1 + 1*2 + 3*3) / (4 * 6) = 10 / 24
    small = np.array([[[-3.0, 0.0], [2.0, -1.0]]])
    assert sparseness(small)[0] == pytest.approx(10 / 24)
    np.testing.assert_array_equal(sparseness(np.zeros((2, 3, 3))), 0.0)  # zero map: flat


def test_complexity_of_one_hot_flat_and_a_small_vector():
    one_hot = np.zeros((1, 6, 8))
    one_hot[0, 0, 0] = -2.0
    assert complexity(one_hot)[0] == pytest.approx(0.0, abs=1e-7)
    assert complexity(np.full((1, 6, 8), 0.2))[0] == pytest.approx(np.log(48))
    # p = (1/4, 1/4, 1/2): -(2 * 1/4 log 1/4 + 1/2 log 1/2) = 1.5 log 2
    assert complexity(np.array([[[1.0, -1.0, 2.0]]]))[0] == pytest.approx(1.5 * np.log(2))
    np.testing.assert_allclose(complexity(np.zeros((2, 3, 3))), np.log(9), rtol=1e-6)
