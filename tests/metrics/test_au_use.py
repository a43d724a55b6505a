"""au_use on constructed faces whose evidence follows the AU's activity by hand."""

import numpy as np
import pandas as pd
import pytest

from emonb.errors import EmonbError
from emonb.metrics.au_use import REGIONS, au_use, au_use_nested, au_use_wide

EMOTIONS = ("happy", "sad")


def _faces(n: int = 40):
    """n faces, half happy (0) and half sad (1); AU12 activity 0..n-1 within each half."""
    groups = np.repeat([0, 1], n // 2)
    a12 = np.tile(np.arange(n // 2, dtype=float), 2)
    activity = pd.DataFrame({"AU12": a12, "AU01": np.zeros(n) + np.arange(n) % 3})
    return groups, activity


def test_evidence_that_follows_the_activity_shows_as_a_difference():
    groups, activity = _faces()
    # happy faces: 2 in AU12 when AU12 is active (top quartile), 0 otherwise; sad: always 1
    top = activity["AU12"] >= np.quantile(activity["AU12"], 0.75)
    ev12 = np.where(groups == 0, np.where(top, 2.0, 0.0), 1.0)
    evidence = pd.DataFrame({"AU12": ev12, "AU01": np.ones(len(groups))})
    t = au_use(evidence, activity, groups, EMOTIONS, n_boot=200).set_index(["au", "emotion"])
    happy, sad = t.loc[("AU12", "happy")], t.loc[("AU12", "sad")]
    assert (happy["active"], happy["inactive"], happy["difference"]) == (2.0, 0.0, 2.0)
    assert happy["lo"] == happy["hi"] == 2.0  # no spread on either side
    assert sad["difference"] == 0.0 and sad["lo"] == sad["hi"] == 0.0
    # quartiles over all 40 faces: activity 0..19 twice; >= 14.25 and <= 4.75 -> 5 a side
    assert (happy["n_active"], happy["n_inactive"]) == (5, 5)
    wide = au_use_wide(t.reset_index())
    assert wide.loc[("AU12", "AU12"), "happy"] == "2.000 [2.000, 2.000]"
    few = au_use(evidence, activity, groups, EMOTIONS, n_boot=200, min_faces=6)
    assert few[few["au"] == "AU12"]["lo"].isna().all()  # AU12 has 5 faces a side


def test_nested_json_keys_each_region_and_emotion():
    groups, activity = _faces()
    activity["AU06/07"] = activity["AU12"]  # one measure, two regions
    evidence = pd.DataFrame({"AU12": np.ones(40), "AU06": activity["AU12"], "AU07": np.zeros(40)})
    t = au_use(evidence, activity, groups, EMOTIONS, n_boot=50, au_map="muscle")
    doc = au_use_nested(t)
    assert list(doc) == ["AU12", "AU06", "AU07"] and list(doc["AU06"]) == list(EMOTIONS)
    # AU06's evidence is the activity itself: the top quartile of each half minus its bottom
    happy = doc["AU06"]["happy"]
    assert (happy["active"], happy["inactive"], happy["difference"]) == (17.0, 2.0, 15.0)
    assert (happy["n_active"], happy["n_inactive"]) == (5, 5)
    assert doc["AU07"]["sad"]["difference"] == 0.0
    few = au_use_nested(au_use(evidence, activity, groups, EMOTIONS, n_boot=50, min_faces=6,
                               au_map="muscle"))  # fmt: skip
    assert few["AU12"]["happy"]["lo"] is None and few["AU12"]["happy"]["difference"] == 0.0


def test_bootstrap_interval_covers_the_difference_of_noisy_sides():
    rng = np.random.default_rng(0)
    n = 400
    groups = np.zeros(n, int)
    activity = pd.DataFrame({"AU12": rng.normal(size=n)})
    evidence = pd.DataFrame({"AU12": 0.5 * (activity["AU12"] > 0) + rng.normal(0, 0.1, n)})
    row = au_use(evidence, activity, groups, ("happy",), n_boot=2000).iloc[0]
    assert row["lo"] < row["difference"] < row["hi"]
    a = activity["AU12"]
    on = evidence["AU12"][a >= np.quantile(a, 0.75)]
    off = evidence["AU12"][a <= np.quantile(a, 0.25)]
    assert row["difference"] == pytest.approx(on.mean() - off.mean())
    se = np.sqrt(on.var() / len(on) + off.var() / len(off))  # the normal approximation
    assert row["hi"] - row["lo"] == pytest.approx(2 * 1.96 * se, rel=0.15)


def test_measures_map_to_the_regions_where_they_show():
    from emonb.anatomy.activity import AU_MEASURES
    from emonb.anatomy.regions import AU_NAMES

    assert set(REGIONS) == set(AU_MEASURES)
    assert {r for rs in REGIONS.values() for r in rs} <= set(AU_NAMES)
    assert REGIONS["AU06/07"] == ("AU06", "AU07") and REGIONS["AU25"] == ()


def test_errors():
    groups, activity = _faces()
    evidence = pd.DataFrame({"AU12": np.zeros(len(groups))})
    with pytest.raises(EmonbError, match="quantile"):
        au_use(evidence, activity, groups, EMOTIONS, quantile=0.7)
    with pytest.raises(EmonbError, match="same faces"):
        au_use(evidence.iloc[:3], activity, groups, EMOTIONS)


def test_cluster_bootstrap_resamples_each_sides_clips():
    """Happy faces from 20 clips of 5 identical frames: the interval is the bootstrap of the
    clips of each side, computed by hand with the same generator."""
    groups = np.zeros(100, int)
    clip = np.repeat(np.arange(20), 5)
    activity = pd.DataFrame({"AU12": clip.astype(float)})  # clips 0-4 inactive, 15-19 active
    per_clip = np.r_[[0.1, 0.4, 0.0, 0.2, 0.3], np.zeros(10), [1.0, 2.0, 1.5, 0.5, 1.0]]
    evidence = pd.DataFrame({"AU12": per_clip[clip]})
    row = au_use(evidence, activity, groups, ("happy",), n_boot=400, clusters=clip).iloc[0]
    rng = np.random.default_rng([0, 0, 0])  # au_use's generator of its first row
    on = per_clip[15:][rng.integers(0, 5, (400, 5))].mean(axis=1)
    off = per_clip[:5][rng.integers(0, 5, (400, 5))].mean(axis=1)
    lo, hi = np.quantile(on - off, [0.025, 0.975])
    assert (row["lo"], row["hi"]) == pytest.approx((lo, hi), rel=1e-12)
    assert (row["n_active"], row["n_inactive"]) == (25, 25)
    assert row["difference"] == pytest.approx(1.2 - 0.2)
    # fewer than MIN_CLUSTERS clips on a side: no interval
    few = au_use(evidence, activity, groups, ("happy",), n_boot=400, clusters=clip // 5).iloc[0]
    assert np.isnan(few["lo"]) and np.isnan(few["hi"])
    plain = au_use(evidence, activity, groups, ("happy",), n_boot=400).iloc[0]
    same = au_use(evidence, activity, groups, ("happy",), n_boot=400, clusters=None).iloc[0]
    pd.testing.assert_series_equal(plain, same)
    assert plain["hi"] - plain["lo"] < row["hi"] - row["lo"]  # 10 frames are not 10 clips
    with pytest.raises(EmonbError, match="same faces"):
        au_use(evidence, activity, groups, ("happy",), clusters=clip[:3])


def test_au25_has_a_region_on_the_appearance_map_only():
    from emonb.anatomy.au_maps import au_names
    from emonb.metrics.au_use import APPEARANCE_REGIONS, regions_of

    assert regions_of("muscle") is REGIONS and regions_of() is APPEARANCE_REGIONS
    assert APPEARANCE_REGIONS["AU25"] == ("AU25",)
    assert {k: v for k, v in APPEARANCE_REGIONS.items() if k != "AU25"} == {
        k: v for k, v in REGIONS.items() if k != "AU25"}  # fmt: skip
    assert {r for rs in APPEARANCE_REGIONS.values() for r in rs} <= set(au_names("appearance"))
    groups = np.zeros(40, int)
    activity = pd.DataFrame({"AU25": np.arange(40.0)})
    evidence = pd.DataFrame({"AU25": (np.arange(40) >= 30).astype(float)})  # the open mouths
    t = au_use(evidence, activity, groups, ("happy",), n_boot=50)
    assert t[["au", "region"]].values.tolist() == [["AU25", "AU25"]]
    assert t["difference"].iloc[0] == 1.0  # top quartile 1, bottom 0
    assert au_use(evidence, activity, groups, ("happy",), n_boot=50, au_map="muscle").empty
