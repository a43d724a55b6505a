"""Bootstrap intervals, Spearman and SSIM on cases computed by hand."""

import numpy as np
import pandas as pd
import pytest

from emonb.metrics.stats import bootstrap_ci, by_group, spearman, ssim


def test_bootstrap_ci_matches_the_normal_interval_of_a_known_sample():
    v = np.arange(100.0)  # mean 49.5, population sd 28.866: standard error 2.8866
    mean, lo, hi = bootstrap_ci(v, n_boot=4000, seed=0)
    assert mean == 49.5
    assert lo == pytest.approx(49.5 - 1.96 * 2.8866, abs=0.5)
    assert hi == pytest.approx(49.5 + 1.96 * 2.8866, abs=0.5)
    assert bootstrap_ci(v, n_boot=4000, seed=0) == (mean, lo, hi)  # seeded


def test_bootstrap_ci_drops_nans_and_handles_constant_and_empty_input():
    assert bootstrap_ci(np.array([2.0, np.nan, 2.0, np.inf])) == (2.0, 2.0, 2.0)
    assert all(np.isnan(bootstrap_ci(np.array([np.nan]))))


def test_by_group_means_and_counts():
    values = pd.DataFrame({"eyes": [1.0, 3.0, 5.0, 7.0], "mouth": [0.0, 0.0, 2.0, 2.0]})
    t = by_group(values, np.array([0, 0, 2, 2]), ["a", "b", "c"]).set_index(["group", "column"])
    assert t.loc[("a", "eyes"), "mean"] == 2.0 and t.loc[("c", "eyes"), "mean"] == 6.0
    assert t.loc[("c", "mouth"), ["mean", "lo", "hi"]].tolist() == [2.0, 2.0, 2.0]
    assert t.loc[("a", "eyes"), "n"] == 2 and t.loc[("b", "mouth"), "n"] == 0
    assert np.isnan(t.loc[("b", "eyes"), "mean"])


def test_spearman_on_hand_ranked_maps():
    a = np.array([[[1.0, 2.0], [3.0, 4.0]]])
    assert spearman(a, a[:, ::-1, ::-1])[0] == pytest.approx(-1.0)  # order reversed
    assert spearman(a, a**3)[0] == pytest.approx(1.0)  # ranks only
    # ranks 1 2 3 4 vs 1 3 2 4: rho = 1 - 6 * (0 + 1 + 1 + 0) / (4 * 15) = 0.8
    assert spearman(a, np.array([[[1.0, 3.0], [2.0, 4.0]]]))[0] == pytest.approx(0.8)
    # ties share their average rank: 1 2.5 2.5 4 vs 1 3 2 4 -> 4.5 / sqrt(4.5 * 5) = 3 / sqrt(10)
    tied = np.array([[[1.0, 2.0], [2.0, 3.0]]])
    assert spearman(tied, np.array([[[1.0, 3.0], [2.0, 4.0]]]))[0] == pytest.approx(3 / np.sqrt(10))
    assert spearman(a, np.zeros_like(a))[0] == 0.0  # a constant map has no ranking


def test_spearman_agrees_with_pearson_on_ranks_per_map():
    rng = np.random.default_rng(0)
    a = rng.random((3, 12, 12))
    b = a + rng.normal(0, 0.3, a.shape)

    def ranks(v):  # no ties in continuous data
        return np.argsort(np.argsort(v.ravel())).astype(float)

    ref = [np.corrcoef(ranks(a[i]), ranks(b[i]))[0, 1] for i in range(3)]
    np.testing.assert_allclose(spearman(a, b), ref, rtol=1e-5)


def test_ssim_of_constant_and_identical_maps():
    a, b = np.full((1, 16, 16), 0.2), np.full((1, 16, 16), 0.6)
    # constant maps: no variance, so SSIM = (2 a b + C1) / (a^2 + b^2 + C1), C1 = 0.01^2
    c1 = 1e-4
    assert ssim(a, b)[0] == pytest.approx((2 * 0.2 * 0.6 + c1) / (0.04 + 0.36 + c1), rel=1e-6)
    rng = np.random.default_rng(0)
    m = rng.random((2, 16, 16))
    np.testing.assert_allclose(ssim(m, m), 1.0, rtol=1e-6)
    np.testing.assert_allclose(ssim(m, 1 - m), ssim(1 - m, m), rtol=1e-6)  # symmetric
    assert (ssim(m, 1 - m) < 0).all()  # inverted structure: negative correlation term
