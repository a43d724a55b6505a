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


def _clips(k: int = 8, frames: int = 5, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``k`` clips of ``frames`` identical values each: (per-clip values, values, clip ids)."""
    per_clip = np.random.default_rng(seed).normal(size=k)
    return per_clip, np.repeat(per_clip, frames), np.repeat([f"clip{i}" for i in range(k)], frames)


def test_cluster_bootstrap_of_identical_frames_is_the_bootstrap_of_the_clips():
    per_clip, values, ids = _clips()
    mean, lo, hi = bootstrap_ci(values, n_boot=500, seed=3, clusters=ids)
    # by hand, the same generator: draw 8 clip indices per resample, average their values
    rng = np.random.default_rng(3)
    boot = per_clip[rng.integers(0, 8, size=(500, 8))].mean(axis=1)
    assert mean == pytest.approx(per_clip.mean())
    np.testing.assert_allclose((lo, hi), np.quantile(boot, [0.025, 0.975]), rtol=1e-12)
    # ids in any form and order: the clusters are sorted, so the draws are the same
    assert bootstrap_ci(values, n_boot=500, seed=3, clusters=np.repeat(np.arange(8), 5)) == (mean, lo, hi)


def test_cluster_bootstrap_pools_unequal_clusters_and_drops_nans():
    values = np.array([1.0, 1.0, 1.0, 4.0, np.nan, 10.0, 2.0, 6.0, 6.0])
    ids = np.array(["a", "a", "a", "b", "b", "c", "d", "e", "e"])
    mean, lo, hi = bootstrap_ci(values, n_boot=300, seed=0, clusters=ids)
    rng = np.random.default_rng(0)
    sums, counts = np.array([3.0, 4.0, 10.0, 2.0, 12.0]), np.array([3.0, 1.0, 1.0, 1.0, 2.0])  # NaN of b dropped
    idx = rng.integers(0, 5, size=(300, 5))
    boot = sums[idx].sum(axis=1) / counts[idx].sum(axis=1)  # pooled, not a mean of means
    assert mean == pytest.approx(31 / 8)
    np.testing.assert_allclose((lo, hi), np.quantile(boot, [0.025, 0.975]), rtol=1e-12)
    with pytest.raises(ValueError, match="one id per value"):
        bootstrap_ci(values, clusters=ids[:3])


def test_too_few_clusters_give_no_interval():
    values = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    mean, lo, hi = bootstrap_ci(values, clusters=np.array(list("aabbcc")))  # 3 < MIN_CLUSTERS
    assert mean == pytest.approx(3.5) and np.isnan(lo) and np.isnan(hi)
    assert np.isfinite(bootstrap_ci(values, clusters=np.arange(6))[1])


def test_clusters_none_is_unchanged_and_frames_of_a_clip_do_not_narrow_the_interval():
    per_clip, values, ids = _clips(k=10, frames=20)
    # None: the resampling of values, exactly as before clusters existed
    rng = np.random.default_rng(0)
    boot = values[rng.integers(0, values.size, size=(1000, values.size))].mean(axis=1)
    assert bootstrap_ci(values) == (values.mean(), *np.quantile(boot, [0.025, 0.975]))
    naive = bootstrap_ci(values, seed=0)
    clustered = bootstrap_ci(values, seed=0, clusters=ids)
    once = bootstrap_ci(per_clip, seed=0)  # one value per clip
    width = {k: v[2] - v[1] for k, v in {"naive": naive, "clustered": clustered, "once": once}.items()}
    # 20 copies of each frame shrink the frame bootstrap's interval by about sqrt(20); the
    # cluster bootstrap keeps the width of one value per clip
    assert width["naive"] < width["clustered"] / 3
    assert width["clustered"] == pytest.approx(width["once"], rel=1e-12)
    # duplicating the frames of one clip widens the clustered interval relative to the naive one
    dup_values = np.concatenate([values, np.repeat(per_clip[0], 200)])
    dup_ids = np.concatenate([ids, np.repeat("clip0", 200)])
    dup_naive = bootstrap_ci(dup_values, seed=0)
    dup_clustered = bootstrap_ci(dup_values, seed=0, clusters=dup_ids)
    assert dup_clustered[2] - dup_clustered[1] > 3 * (dup_naive[2] - dup_naive[1])


def test_by_group_passes_each_groups_clusters():
    per_clip, values, ids = _clips(k=12, frames=4)
    groups = np.repeat([0, 1], 24)  # clips 0-5 in group 0, 6-11 in group 1
    t = by_group(pd.DataFrame({"v": values}), groups, ["a", "b"], n_boot=200, seed=5,
                 clusters=ids).set_index("group")  # fmt: skip
    for g, name in enumerate(["a", "b"]):
        sel = groups == g
        expected = bootstrap_ci(values[sel], n_boot=200, seed=5 + 1000 * g, clusters=ids[sel])
        assert tuple(t.loc[name, ["mean", "lo", "hi"]]) == expected
    plain = by_group(pd.DataFrame({"v": values}), groups, ["a", "b"], n_boot=200, seed=5)
    assert (plain["hi"] - plain["lo"] < t["hi"].to_numpy() - t["lo"].to_numpy()).all()
