"""FACS analysis: enrichment and occlusion by hand and on a model that reads only the
mouth; per-emotion tables and the EMFACS agreement score on constructed values."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest

from emonb._tf import keras
from emonb.anatomy.regions import _LIPS_OUTER, AU_NAMES, region_masks_for
from emonb.config import CLASS_NAMES
from emonb.data.images import read_image, to_grey
from emonb.data.manifest import image_path
from emonb.faces import crop, detect_faces
from emonb.faces.mesh import FaceMesh
from emonb.methods.baselines import baseline_images
from emonb.metrics import occlusion as occlusion_module
from emonb.metrics.facs import (
    EMFACS,
    agreement,
    area_bins,
    au_table,
    au_wide,
    auc,
    enrichment,
    mass_share,
    size_matched,
    top_regions,
)
from emonb.metrics.occlusion import occlusion
from emonb.metrics.stats import by_group
from emonb.models.preprocessing import ModelSpec
from emonb.models.zoo import EmotionModel

BROW_AUS = ("AU01", "AU02", "AU04")
MOUTH_AUS = ("AU12", "AU15", "AU16", "AU20", "AU24", "AU26")
HAPPY = CLASS_NAMES.index("happy")


@pytest.fixture(scope="module")
def faces48():
    """Five real faces (astronaut, multi-face) as 48x48 grey crops of their Haar boxes,
    with their mesh points in the crops' pixels."""
    mesh = FaceMesh(threads=1)
    images, points = [], []
    for name in ("astronaut", "multi-face"):
        image = read_image(image_path(name))
        boxes = detect_faces(image)
        marks = mesh.landmarks([image] * len(boxes), boxes)
        for box, xy in zip(boxes, marks.xy, strict=True):
            images.append(
                cv2.resize(to_grey(crop(image, box)), (48, 48), interpolation=cv2.INTER_AREA)
            )
            points.append((xy - [box.x, box.y]) * 48 / box.w)
    return np.stack(images), np.stack(points).astype(np.float64)


def _lips(points: np.ndarray) -> np.ndarray:
    """Pixels whose centre lies inside the outer lip line, (N, 48, 48) float32, by
    OpenCV's point-in-polygon test (independent of the rasteriser)."""
    out = np.zeros((len(points), 48, 48), np.float32)
    for n, p in enumerate(points):
        ring = p[list(_LIPS_OUTER)].astype(np.float32)
        for i in range(48):
            for j in range(48):
                out[n, i, j] = cv2.pointPolygonTest(ring, (j + 0.5, i + 0.5), False) >= 0
    return out


# ---- per face -------------------------------------------------------------------------------
def test_enrichment_and_share_by_hand():
    maps = np.zeros((2, 4, 4), np.float32)
    maps[0] = np.diag([1, 2, 3, 4])
    maps[0, 0, 3] = -5  # negative values are clipped to 0
    masks = np.zeros((2, 3, 4, 4), np.float32)
    masks[:, 0, :, :2] = 1  # the left half
    masks[:, 1, 2, 2], masks[:, 1, 3, 3] = 0.5, 1.0  # soft
    # region 2 has no area
    share = mass_share(maps, masks)
    np.testing.assert_allclose(share[0], [3 / 10, 5.5 / 10, 0.0])
    assert np.isnan(share[1]).all()  # an all-zero map has no shares
    e = enrichment(maps, masks)
    np.testing.assert_allclose(e[0, :2], [0.3 / 0.5, 0.55 / (1.5 / 16)])
    assert np.isnan(e[0, 2]) and np.isnan(e[1]).all()
    with pytest.raises(ValueError, match="same N, H, W"):
        enrichment(maps, masks[:, :, :2])


@pytest.mark.parametrize("kind", ["au", "anatomy"])
def test_a_flat_map_has_enrichment_one(faces48, kind):
    _, points = faces48
    masks = region_masks_for(points, 48, 48, kind)
    masks[0, 0] = 0  # a region with no area on one face
    e = enrichment(np.ones((len(points), 48, 48)), masks)
    area = masks.sum(axis=(2, 3)) > 0
    np.testing.assert_allclose(e[area], 1.0, atol=1e-6)
    assert np.isnan(e[~area]).all() and not area[0, 0]


def test_a_map_of_the_mouth_is_enriched_in_mouth_aus(faces48):
    _, points = faces48
    lips = _lips(points)
    e = enrichment(lips, region_masks_for(points, 48, 48, "au"))
    for row in e:
        assert AU_NAMES[int(np.nanargmax(row))] in MOUTH_AUS
        assert all(row[AU_NAMES.index(a)] == 0 for a in BROW_AUS)
    anatomy = enrichment(lips, region_masks_for(points, 48, 48, "anatomy"))
    assert (anatomy.argmax(axis=1) == 5).all()  # mouth


def _mouth_only_net(lips: np.ndarray) -> EmotionModel:
    """A linear Keras model whose "happy" logit is 0.05 x the sum of the pixels inside the
    lips (``lips``: 48x48 0/1); every other logit is 0."""
    w = np.zeros((48 * 48, 7), np.float32)
    w[lips.ravel() > 0, HAPPY] = 0.05
    inp = keras.Input((48, 48, 1))
    out = keras.layers.Dense(7, name="d")(keras.layers.Flatten()(inp))
    model = keras.Model(inp, out)
    model.get_layer("d").set_weights([w, np.zeros(7, np.float32)])
    return EmotionModel(model, ModelSpec(input_size=(48, 48)), "mouth-only")


@pytest.mark.parametrize("baseline", ["blur", "mean"])
def test_occlusion_of_a_model_that_reads_only_the_mouth(faces48, baseline, monkeypatch):
    images, points = faces48
    lips = _lips(points[:1])[0]
    net = _mouth_only_net(lips)
    x = net.preprocess(images)
    masks = region_masks_for(points, 48, 48, "au")
    targets = np.full(len(x), HAPPY)
    drops = occlusion(net, x, targets, masks, baseline=baseline)
    assert drops.shape == (len(x), 19)

    def p_happy(z):  # softmax of logits (0, 0, 0, s, 0, 0, 0)
        s = 0.05 * z[..., 0][:, lips > 0].sum(axis=1).astype(np.float64)
        return np.exp(s) / (np.exp(s) + 6)

    base = baseline_images(x, baseline)
    for r in range(19):
        m = masks[:, r, :, :, None]
        expected = p_happy(x) - p_happy(x * (1 - m) + base * m)
        np.testing.assert_allclose(drops[:, r], expected, atol=2e-6)
    for a in BROW_AUS:
        assert np.abs(drops[:, AU_NAMES.index(a)]).max() < 1e-7
    assert AU_NAMES[int(np.abs(drops[0]).argmax())] in MOUTH_AUS
    # masks at twice the size (area-resized back), a bare score and small batches agree
    big = masks.repeat(2, axis=2).repeat(2, axis=3)
    monkeypatch.setattr(occlusion_module, "_BATCH_VALUES", 2 * 48 * 48)
    again = occlusion(lambda z, t: p_happy(z).astype(np.float32), x, targets, big,
                      baseline=baseline)  # fmt: skip
    np.testing.assert_allclose(again, drops, atol=2e-6)


# ---- per emotion ----------------------------------------------------------------------------
def test_emfacs_prototypes_use_known_regions():
    assert set(EMFACS) == set(CLASS_NAMES) - {"neutral"}
    for emotion, aus in EMFACS.items():
        assert set(aus) <= set(AU_NAMES), emotion
        assert list(aus) == sorted(aus)
    assert EMFACS["happy"] == ("AU06", "AU12")
    assert "AU24" in EMFACS["angry"]  # standing in for AU23


def test_auc_by_hand():
    assert auc(np.array([3.0, 1.0, 2.0, 2.0]), np.array([1, 0, 1, 0], bool)) == 0.875
    # NaN regions are left out; a batch of score vectors
    s = np.array([[3.0, np.nan, 2.0, 1.0], [0.0, 1.0, 2.0, 3.0]])
    np.testing.assert_allclose(auc(s, np.array([1, 1, 0, 0], bool)), [1.0, 0.0])
    assert np.isnan(auc(np.array([1.0, np.nan]), np.array([1, 0], bool)))


def _constructed() -> tuple[np.ndarray, np.ndarray]:
    """Per-face AU values for constructed groups: happy (30 faces) with its prototype high,
    sad (30) with its prototype low, fear (12) flat, disgust (12) ranked by AU order,
    surprise (5) too few, angry none, neutral (10)."""
    rng = np.random.default_rng(1)
    rows, groups = [], []

    def add(emotion, values):
        rows.append(values)
        groups.extend([CLASS_NAMES.index(emotion)] * len(values))

    happy = rng.uniform(0, 1, (30, 19))
    happy[:, [AU_NAMES.index("AU06"), AU_NAMES.index("AU12")]] += 2
    add("happy", happy)
    sad = rng.uniform(0.5, 1, (30, 19))
    sad[:, [AU_NAMES.index(a) for a in EMFACS["sad"]]] = 0
    add("sad", sad)
    add("fear", np.ones((12, 19)))
    add("disgust", np.tile(np.arange(19.0), (12, 1)))
    add("surprise", rng.uniform(0, 1, (5, 19)))
    add("neutral", rng.uniform(0, 1, (10, 19)))
    values = np.concatenate(rows)
    values[0, 3] = np.nan  # a NaN is ignored
    return values, np.array(groups)


def test_agreement_on_constructed_groups():
    values, groups = _constructed()
    table = agreement(values, groups, CLASS_NAMES, n_boot=200).set_index("emotion")
    assert list(table.index) == ["angry", "disgust", "fear", "happy", "sad", "surprise"]
    assert table.loc["happy", "prototype"] == "AU06+AU12"
    # happy: every prototype AU above every other, in every resample
    assert table.loc["happy", "score"] == 1.0 and table.loc["happy", "lo"] == 1.0
    assert table.loc["happy", "verdict"] == "agrees" and table.loc["happy", "faces"] == 30
    assert table.loc["sad", "score"] == 0.0 and table.loc["sad", "verdict"] == "disagrees"
    assert table.loc["fear", "score"] == 0.5 and table.loc["fear", "verdict"] == "inconclusive"
    # disgust: values = AU index, so prototype AU09 (index 6) and AU10 (7) beat 6 of the
    # 15 others, AU15 (12) and AU16 (13) beat 10: 32 wins of 60 pairs
    assert table.loc["disgust", "score"] == pytest.approx(32 / 60)
    assert table.loc["disgust", "verdict"] == "agrees"
    assert table.loc["surprise", "verdict"] == "too few faces (< 10)"
    assert table.loc["angry", "faces"] == 0 and np.isnan(table.loc["angry", "score"])
    # the score is the AUC of the group means, checked by brute force over pairs
    sel = values[groups == CLASS_NAMES.index("sad")]
    means = np.nanmean(sel, axis=0)
    proto = [AU_NAMES.index(a) for a in EMFACS["sad"]]
    rest = [i for i in range(19) if i not in proto]
    pairs = [(means[p] > means[q]) + 0.5 * (means[p] == means[q]) for p in proto for q in rest]
    assert table.loc["sad", "score"] == np.mean(pairs)
    # deterministic, and a DataFrame in any column order works the same
    df = pd.DataFrame(values, columns=AU_NAMES)[list(reversed(AU_NAMES))]
    pd.testing.assert_frame_equal(agreement(df, groups, CLASS_NAMES, n_boot=200),
                                  agreement(values, groups, CLASS_NAMES, n_boot=200))  # fmt: skip


def test_agreement_rejects_unknown_prototype_regions():
    values, groups = _constructed()
    with pytest.raises(Exception, match="AU99"):
        agreement(values, groups, CLASS_NAMES, prototypes={"happy": ("AU99",)})


def test_au_table_wide_and_top_regions():
    values, groups = _constructed()
    table = au_table(values, groups, CLASS_NAMES, n_boot=200)
    expected = by_group(pd.DataFrame(values, columns=AU_NAMES), groups, CLASS_NAMES, n_boot=200)
    pd.testing.assert_frame_equal(table, expected)
    row = table[(table["group"] == "happy") & (table["column"] == "AU12")].iloc[0]
    happy = values[groups == HAPPY, AU_NAMES.index("AU12")]
    assert row["n"] == 30 and row["mean"] == pytest.approx(happy.mean())
    assert row["lo"] < row["mean"] < row["hi"]
    wide = au_wide(table)
    assert wide.shape == (7, 19) and list(wide.columns) == list(AU_NAMES)
    assert list(wide.index) == list(CLASS_NAMES)
    assert wide.loc["happy", "AU12"] == round(happy.mean(), 2)
    assert wide.loc["angry"].isna().all()  # no faces
    top = top_regions(values, groups, CLASS_NAMES, k=3).set_index("emotion")
    assert set(top.loc["happy", "top"].split(", ")[:2]) == {"AU06", "AU12"}
    assert top.loc["happy", "in prototype"] == "2 of 3"
    assert top.loc["disgust", "top"] == "AU38, AU26, AU24"
    assert top.loc["neutral", "in prototype"] == ""
    assert top.loc["angry", "top"] == "" and top.loc["angry", "faces"] == 0


def test_size_classes_split_regions_by_area():
    assert area_bins([0.4, 0.1, 0.3, 0.2], bins=2).tolist() == [1, 0, 1, 0]
    assert area_bins([5.0, 1.0, 3.0], bins=3).tolist() == [2, 0, 1]
    with pytest.raises(ValueError):
        area_bins([0.1, 0.2], bins=3)


def test_size_matched_enrichment_by_hand():
    areas = [0.01, 0.02, 0.10, 0.20]  # two small regions, two large
    v = np.array([[2.0, 0.0, 1.0, 3.0], [np.nan, 4.0, 0.5, 0.5]])
    out = size_matched(v, areas, bins=2)
    np.testing.assert_allclose(out, [[2.0, 0.0, 0.5, 1.5], [np.nan, 1.0, 1.0, 1.0]])


def test_size_matched_null_is_one_for_a_flat_map_whatever_the_areas():
    """A flat map's enrichment is 1 in every region, so it beats no region of its size, on
    regions of any areas (here 19 soft regions whose areas differ tenfold)."""
    rng = np.random.default_rng(0)
    masks = rng.random((3, 19, 24, 24)) ** np.linspace(1, 20, 19)[None, :, None, None]
    flat = np.ones((3, 24, 24))
    e = enrichment(flat, masks)
    np.testing.assert_allclose(e, 1.0)
    areas = masks.mean(axis=(0, 2, 3))
    assert areas.max() / areas.min() > 10
    for bins in (1, 4, 19):
        np.testing.assert_allclose(size_matched(e, areas, bins=bins), 1.0)


def test_boot_means_resample_rows_or_whole_clusters():
    from emonb.metrics.facs import _boot_means

    rng = np.random.default_rng(0)
    clips = rng.normal(size=(5, 19))  # 5 clips, 4 identical frames each
    v = np.repeat(clips, 4, axis=0)
    v[1, 2] = np.nan  # a NaN of one frame leaves its clip's other frames
    # clusters=None: rows resampled, as before clusters existed
    draw = np.random.default_rng(7).integers(0, 20, size=(50, 20))
    np.testing.assert_array_equal(_boot_means(v, 50, 7), np.nanmean(v[draw], axis=1))
    # clusters: whole clips drawn with the same generator, their frames pooled
    ids = np.repeat(["c", "a", "d", "b", "e"], 4)  # sorted ids: a b c d e
    idx = np.random.default_rng(7).integers(0, 5, size=(50, 5))
    rows = {c: np.flatnonzero(ids == c) for c in "abcde"}
    pooled = [np.nanmean(v[np.concatenate([rows["abcde"[k]] for k in draw])], axis=0)
              for draw in idx]  # fmt: skip
    np.testing.assert_allclose(_boot_means(v, 50, 7, ids), pooled, rtol=1e-12)
    # without the NaN, a pooled resample of equal clips is the mean of its clips' values
    np.testing.assert_allclose(_boot_means(np.repeat(clips, 4, axis=0), 50, 7, ids)[:, 2],
                               clips[[1, 3, 0, 2, 4]][idx].mean(axis=1)[:, 2], rtol=1e-12)  # fmt: skip


def test_agreement_and_au_table_with_clips_as_clusters():
    values, groups = _constructed()
    ids = np.arange(len(values)) // 3  # three consecutive faces per clip
    plain = agreement(values, groups, CLASS_NAMES, n_boot=300)
    same = agreement(values, groups, CLASS_NAMES, n_boot=300, clusters=None)
    pd.testing.assert_frame_equal(plain, same)
    clustered = agreement(values, groups, CLASS_NAMES, n_boot=300, clusters=ids).set_index("emotion")
    plain = plain.set_index("emotion")
    # the score is a property of the faces, not of the resampling
    pd.testing.assert_series_equal(clustered["score"], plain["score"])
    # sad's interval by hand: its 10 clips resampled, their faces pooled, the AUC recomputed
    sad = CLASS_NAMES.index("sad")
    sel, cl = values[groups == sad], ids[groups == sad]
    proto = np.isin(AU_NAMES, EMFACS["sad"])
    idx = np.random.default_rng(sad).integers(0, 10, size=(300, 10))
    clips = np.stack([sel[cl == c] for c in np.unique(cl)])  # (10, 3, 19)
    boot = auc(clips[idx].reshape(300, 30, 19).mean(axis=1), proto)
    lo, hi = np.quantile(boot, [0.025, 0.975])
    assert (clustered.loc["sad", "lo"], clustered.loc["sad", "hi"]) == pytest.approx((lo, hi))
    with pytest.raises(Exception, match="one id per face"):
        agreement(values, groups, CLASS_NAMES, clusters=ids[:5])
    table = au_table(values, groups, CLASS_NAMES, n_boot=200, clusters=ids)
    expected = by_group(pd.DataFrame(values, columns=AU_NAMES), groups, CLASS_NAMES, n_boot=200,
                        clusters=ids)  # fmt: skip
    pd.testing.assert_frame_equal(table, expected)
    assert not table.equals(au_table(values, groups, CLASS_NAMES, n_boot=200))


def test_emfacs_on_each_map():
    """The appearance map's prototypes add only the action units EMFACS had substituted
    (anger's AU23, the open mouth's AU25 and AU27), and both tables name only action units
    of their map."""
    from emonb.anatomy.au_maps import au_names
    from emonb.metrics.facs import EMFACS, EMFACS_APPEARANCE, emfacs

    assert emfacs("muscle") is EMFACS and emfacs() is EMFACS_APPEARANCE
    for emotion, aus in EMFACS_APPEARANCE.items():
        assert set(EMFACS[emotion]) <= set(aus)
        assert set(aus) - set(EMFACS[emotion]) <= {"AU23", "AU25", "AU27"}
        assert set(aus) <= set(au_names("appearance")) and set(EMFACS[emotion]) <= set(AU_NAMES)
    assert set(EMFACS_APPEARANCE["angry"]) - set(EMFACS["angry"]) == {"AU23"}
    # restricted to the muscle map's action units, the appearance table is EMFACS
    assert {e: tuple(a for a in aus if a in AU_NAMES) for e, aus in EMFACS_APPEARANCE.items()} == EMFACS


def test_tables_take_the_map_from_the_values():
    """No names given: a (N, 22) array or DataFrame is the appearance map's and its agreement
    uses the appearance prototypes (anger with AU23); (N, 19) the muscle map's; other widths
    need names."""
    from emonb.anatomy.au_maps import au_names

    names = au_names("appearance")
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(7), 12)
    values = rng.random((len(groups), 22))
    values[groups == 0, names.index("AU23")] = 5.0  # angry faces: their lips
    table = agreement(values, groups, CLASS_NAMES, n_boot=50).set_index("emotion")
    assert table.loc["angry", "prototype"] == "AU04+AU05+AU07+AU23+AU24"
    assert table.loc["surprise", "prototype"] == "AU01+AU02+AU05+AU25+AU26+AU27"
    frame = pd.DataFrame(values, columns=names)
    pd.testing.assert_frame_equal(agreement(frame, groups, CLASS_NAMES, n_boot=50),
                                  table.reset_index())  # fmt: skip
    top = top_regions(frame, groups, CLASS_NAMES, k=1).set_index("emotion")
    assert top.loc["angry", "top"] == "AU23" and top.loc["angry", "in prototype"] == "1 of 1"
    assert au_table(values, groups, CLASS_NAMES, n_boot=20)["column"].unique().tolist() == list(names)
    muscle = agreement(values[:, :19], groups, CLASS_NAMES, n_boot=20).set_index("emotion")
    assert muscle.loc["angry", "prototype"] == "AU04+AU05+AU07+AU24"  # EMFACS, 19 regions
    with pytest.raises(ValueError, match=r"expected values \(N, 19\) or \(N, 22\)"):
        agreement(values[:, :20], groups, CLASS_NAMES)
