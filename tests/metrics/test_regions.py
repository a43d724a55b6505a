"""Face-region shares, occlusion, claims and their tables on hand-made values."""

import numpy as np
import pandas as pd
import pytest

from emonb._tf import keras
from emonb.anatomy.layout import region_masks
from emonb.data.fer2013 import load_faces
from emonb.methods.baselines import baseline_images
from emonb.metrics.regions import (
    MIN_FACES,
    check_layout,
    claims_table,
    claims_wide,
    focus_table,
    occlusion_drops,
    region_shares,
    region_table,
)
from emonb.metrics.stats import by_group
from emonb.models.preprocessing import ModelSpec
from emonb.models.zoo import EmotionModel

NAMES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
EYES, MOUTH = 2 * 13 * 9, 23 * 11  # pixels of the canonical regions at 48x48


def test_region_shares_of_hand_made_maps():
    masks = region_masks(48)
    maps = np.stack([masks["mouth"], np.ones((48, 48)), np.zeros((48, 48))]).astype(np.float32)
    s = region_shares(maps)
    assert list(s.columns) == ["brows", "eyes", "nose", "mouth"]
    assert s.loc[0, "mouth"] == 1.0 and s.loc[0, "eyes"] == 0.0
    assert s.loc[1, "mouth"] == pytest.approx(MOUTH / 2304)
    assert s.loc[1, "eyes"] == pytest.approx(EYES / 2304)
    assert s.loc[2].isna().all()  # an all-zero map has no shares
    assert s.attrs["area"]["mouth"] == pytest.approx(MOUTH / 2304)
    # given regions at another size
    half = np.zeros((1, 4, 4), np.float32)
    half[0, :, :2] = 1.0
    left = np.zeros((4, 4), bool)
    left[:, 0] = True
    assert region_shares(half, {"left": left}).loc[0, "left"] == 0.5


def _mouth_only_net() -> EmotionModel:
    """A linear model whose "happy" logit is 0.01 x the sum of the mouth pixels."""
    w = np.zeros((48 * 48, 7), np.float32)
    w[region_masks(48)["mouth"].ravel(), 3] = 0.01
    inp = keras.Input((48, 48, 1))
    out = keras.layers.Dense(7, name="d")(keras.layers.Flatten()(inp))
    model = keras.Model(inp, out)
    model.get_layer("d").set_weights([w, np.zeros(7, np.float32)])
    return EmotionModel(model, ModelSpec(input_size=(48, 48)), "mouth-only")


def test_occlusion_drops_match_the_linear_model_by_hand():
    net = _mouth_only_net()
    mouth = region_masks(48)["mouth"]
    rng = np.random.default_rng(0)
    images = (rng.random((4, 48, 48)) * 60).astype(np.uint8)
    images[:, mouth] += 180
    drops = occlusion_drops(net, images, np.full(4, 3))

    def p_happy(x):  # softmax of logits (0, 0, 0, z, 0, 0, 0)
        z = 0.01 * x[..., 0][:, mouth].sum(axis=1).astype(np.float64)
        return np.exp(z) / (np.exp(z) + 6)

    x = net.preprocess(images)
    blurred = np.where(mouth[None, :, :, None], baseline_images(x, "blur"), x)
    np.testing.assert_allclose(drops.attrs["p"], p_happy(x), rtol=1e-5)
    np.testing.assert_allclose(drops["mouth"], p_happy(x) - p_happy(blurred), rtol=1e-4, atol=1e-6)
    assert (drops[["brows", "eyes", "nose"]].abs() < 1e-6).all().all()
    # regions given at another size are resized (nearest) to the input
    big = np.kron(mouth, np.ones((2, 2), bool))
    again = occlusion_drops(net, images, np.full(4, 3), {"mouth": big})
    np.testing.assert_allclose(again["mouth"], drops["mouth"], rtol=1e-5)


def test_region_shares_with_per_face_masks():
    """Per-face masks (N, H, W): each face's own region; soft fractions weight pixels."""
    maps = np.zeros((2, 4, 4), np.float32)
    maps[:, 0, :] = 1.0  # mass on the top row, 4 units
    maps[1, 3, 3] = 4.0  # face 1: 4 more units in a corner
    own = np.zeros((2, 4, 4), bool)
    own[0, 0, :2] = True  # face 0: half the top row
    own[1, 3, 3] = True  # face 1: the corner
    soft = np.zeros((2, 4, 4), np.float32)
    soft[:, 0, :] = 0.25  # a quarter of every top-row pixel
    s = region_shares(maps, {"own": own, "soft": soft})
    assert s["own"].tolist() == pytest.approx([2 / 4, 4 / 8])
    assert s["soft"].tolist() == pytest.approx([1 / 4, 1 / 8])
    assert s.attrs["area"] == pytest.approx({"own": 3 / 32, "soft": 0.25 * 8 / 32})
    # the same mask for every face, per face or broadcast, gives the same shares
    one = region_masks(4)["mouth"]
    np.testing.assert_array_equal(region_shares(maps, {"m": np.stack([one, one])})["m"],
                                  region_shares(maps, {"m": one})["m"])  # fmt: skip
    with pytest.raises(ValueError, match="give \\(H, W\\) or \\(N, H, W\\)"):
        region_shares(maps, {"bad": np.ones((3, 4, 4))})


def test_occlusion_drops_with_per_face_masks():
    """Boolean per-face masks equal the broadcast mask; a soft mask of 0.5 on the mouth blends
    half the blurred mouth in (the linear model's logit moves halfway)."""
    net = _mouth_only_net()
    mouth = region_masks(48)["mouth"]
    rng = np.random.default_rng(1)
    images = (rng.random((3, 48, 48)) * 60).astype(np.uint8)
    images[:, mouth] += 180
    targets = np.full(3, 3)
    shared = occlusion_drops(net, images, targets, {"mouth": mouth})
    per_face = occlusion_drops(net, images, targets, {"mouth": np.stack([mouth] * 3)})
    np.testing.assert_array_equal(per_face["mouth"], shared["mouth"])
    half = occlusion_drops(net, images, targets, {"mouth": np.stack([mouth * 0.5] * 3)})

    def p_happy(x):
        z = 0.01 * x[..., 0][:, mouth].sum(axis=1).astype(np.float64)
        return np.exp(z) / (np.exp(z) + 6)

    x = net.preprocess(images)
    mixed = np.where(mouth[None, :, :, None], (x + baseline_images(x, "blur")) / 2, x)
    np.testing.assert_allclose(half["mouth"], p_happy(x) - p_happy(mixed), rtol=1e-4, atol=1e-6)
    assert (half["mouth"] < shared["mouth"]).all() and (half["mouth"] > 0).all()
    # soft masks at twice the input's size are area-averaged down to it
    big = np.stack([np.kron(mouth * 0.5, np.ones((2, 2)))] * 3).astype(np.float32)
    again = occlusion_drops(net, images, targets, {"mouth": big})
    np.testing.assert_allclose(again["mouth"], half["mouth"], rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="for 3 faces"):
        occlusion_drops(net, images, targets, {"bad": np.ones((2, 48, 48), bool)})


def test_claims_verdicts_on_known_differences():
    groups = np.repeat([3, 2, 1, 5, 6], [12, 12, 4, 20, MIN_FACES - 1])
    eyes = np.zeros(groups.size)
    mouth = np.where(groups == 3, 0.2, 0.0)  # happy: mouth - eyes = +0.2 on every face
    eyes[groups == 2] = -0.1  # fear: eyes - mouth = -0.1 on every face
    eyes[groups == 5] = np.tile([1.0, -1.0], 10)  # surprise: +-1, mean 0
    t = claims_table(pd.DataFrame({"eyes": eyes, "mouth": mouth}), groups, NAMES,
                     evidence="test").set_index("claim")  # fmt: skip
    happy = t.loc["happy: mouth > eyes"]
    assert happy[["faces", "difference", "lo", "hi"]].tolist() == pytest.approx([12, 0.2, 0.2, 0.2])
    assert happy["verdict"] == "holds"
    assert t.loc["fear: eyes > mouth", "verdict"] == "contradicted"
    assert t.loc["fear: eyes > mouth", "difference"] == pytest.approx(-0.1)
    assert t.loc["surprise: eyes > mouth", "difference"] == 0.0
    assert t.loc["surprise: eyes > mouth", "verdict"] == "inconclusive"
    assert t.loc["disgust: mouth > eyes", "verdict"] == f"too few faces (< {MIN_FACES})"
    assert t.loc["neutral: mouth > eyes", "faces"] == MIN_FACES - 1  # one short of a verdict
    assert t.loc["sad: eyes > mouth", "faces"] == 0
    assert np.isnan(t.loc["sad: eyes > mouth", "difference"])
    wide = claims_wide(t.reset_index())
    assert wide.loc["happy: mouth > eyes", "test"] == "+0.200 [+0.200, +0.200]"
    assert wide.loc["happy: mouth > eyes", "test: verdict"] == "holds"
    assert wide.loc["happy: mouth > eyes", "faces"] == 12
    assert wide.loc["sad: eyes > mouth", "test"] == ""


def test_region_table_formats_means_and_intervals():
    values = pd.DataFrame({"eyes": [0.1, 0.1, 0.4], "mouth": [0.3, 0.3, 0.0]})
    long = by_group(values, np.array([3, 3, 0]), NAMES).assign(measure="test")
    table = region_table(long, "test", NAMES)
    assert table.loc["happy", "mouth"] == "0.30 [0.30, 0.30]"
    assert table.loc["angry", "eyes"] == "0.40 [0.40, 0.40]"
    assert table.loc["happy", "faces"] == 2 and table.loc["sad", "faces"] == 0
    assert table.loc["sad", "eyes"] == ""


def test_focus_table_against_the_area_of_eyes_and_mouth():
    masks = region_masks(48)
    on = (masks["eyes"] | masks["mouth"]).astype(np.float32)[None].repeat(3, 0)
    flat = np.ones((3, 24, 24), np.float32)  # any size: resized to the 48x48 layout
    f = focus_table({"on": on, "flat": flat})
    area = (EYES + MOUTH) / 2304
    assert f.loc["on", ["share", "ratio"]].tolist() == pytest.approx([1.0, 1 / area])
    assert f.loc["flat", ["share", "ratio"]].tolist() == pytest.approx([area, 1.0])
    assert f.loc["flat", "area share"] == pytest.approx(area)


def test_focus_table_with_per_face_masks():
    """Each face's own eyes and mouth: the canonical boxes given per face reproduce the
    default; a face whose regions are half as large halves the mean area share."""
    masks = region_masks(48)
    on = (masks["eyes"] | masks["mouth"]).astype(np.float32)[None].repeat(2, 0)
    per_face = {r: np.stack([masks[r], masks[r]]).astype(np.float32) for r in ("eyes", "mouth")}
    pd.testing.assert_frame_equal(focus_table({"on": on}, masks=per_face),
                                  focus_table({"on": on}))  # fmt: skip
    per_face = {r: m * np.array([1.0, 0.5], np.float32)[:, None, None] for r, m in per_face.items()}
    f = focus_table({"on": on}, masks=per_face)
    area = (EYES + MOUTH) / 2304
    assert f.loc["on", "area share"] == pytest.approx(0.75 * area)
    assert f.loc["on", "share"] == pytest.approx(0.75)  # all of face 0's mass, half of face 1's


def test_layout_check_finds_eyes_in_the_eye_regions_of_the_stand_in():
    faces = load_faces("synthetic", n_synthetic=60, seed=0)
    t = check_layout(faces.images)
    assert list(t.index) == ["left eye", "right eye", "mouth"]
    assert t.loc["left eye", "detections"] > 10 and t.loc["right eye", "detections"] > 10
    assert t.loc["left eye", "median x"] < 24 < t.loc["right eye", "median x"]
    assert t.loc["left eye", "inside region"] > 0.6
