"""Faithfulness metrics on constructed cases whose answers are known."""

import json
import re

import numpy as np
import pytest

from emonb import faithfulness as F
from emonb._tf import keras
from emonb.data.fer2013 import load_faces
from emonb.methods import Saliency
from emonb.models.preprocessing import ModelSpec
from emonb.models.zoo import EmotionModel


# ---- pointing game and energy share ------------------------------------------------------
def _blob_masks(n: int, size: int = 48, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    masks = np.zeros((n, size, size), dtype=bool)
    for m in masks:
        y, x = rng.integers(0, size - 16, 2)
        m[y : y + 16, x : x + 20] = True  # 320 of 2304 px: 13.9%
    return masks


def test_pointing_game_true_mask_is_perfect_and_random_is_chance():
    masks = _blob_masks(3000)
    assert F.pointing_game(masks.astype(np.float32), masks).all()
    assert F.energy_share(masks.astype(np.float32), masks) == pytest.approx(1.0)
    noise = np.random.default_rng(1).random(masks.shape, dtype=np.float32)
    chance = masks.mean()
    assert F.pointing_game(noise, masks).mean() == pytest.approx(chance, abs=0.02)
    assert F.energy_share(noise, masks).mean() == pytest.approx(chance, abs=0.01)
    flat = np.zeros(masks.shape, np.float32)
    assert F.energy_share(flat, masks) == pytest.approx(masks.mean(axis=(1, 2)))


def test_pointing_game_resizes_maps_to_the_masks():
    masks = _blob_masks(5)
    big = F.resize_maps(masks.astype(np.float32), (64, 64))  # a model-size (64x64) map
    assert F.pointing_game(big, masks).all()


# ---- deletion and insertion --------------------------------------------------------------
def _linear_score(weights: np.ndarray):
    """A known model: p = sigmoid(sum(w * x) / 2 - 6) on (N, H, W, 1) inputs."""

    def score(x, targets):
        z = (x[..., 0] * weights).sum(axis=(1, 2)) / 2 - 6.0
        return (1 / (1 + np.exp(-z))).astype(np.float32)

    return score


def test_deletion_with_the_perfect_map_drops_fastest():
    rng = np.random.default_rng(0)
    w = np.zeros((16, 16))
    w[4:8, 5:11] = rng.uniform(0.5, 1.5, (4, 6))
    x = rng.uniform(0.0, 0.3, (20, 16, 16, 1)).astype(np.float32)  # dark background...
    x[:, 4:8, 5:11] += 0.7  # ...and a bright region where the weights are
    score, t = _linear_score(w), np.zeros(20, int)
    perfect = w[None] * x[..., 0]  # each pixel's exact contribution
    noise = rng.random((20, 16, 16)).astype(np.float32)
    worst = perfect.max() - perfect
    auc = {}
    for name, m in {"perfect": perfect, "random": noise, "worst": worst}.items():
        for mode in ("deletion", "insertion"):
            c = F.perturbation_curves(score, x, m, t, mode=mode, steps=16, baseline="mean")
            assert c.scores.shape == (20, 17)
            auc[name, mode] = c.auc.mean()
    assert auc["perfect", "deletion"] < auc["random", "deletion"] < auc["worst", "deletion"]
    assert auc["perfect", "insertion"] > auc["random", "insertion"] > auc["worst", "insertion"]
    # endpoints: nothing removed = the image's score, everything removed = the baseline's
    c = F.perturbation_curves(score, x, perfect, t, mode="deletion", steps=4, baseline="mean")
    np.testing.assert_allclose(c.scores[:, 0], score(x, t), rtol=1e-6)
    np.testing.assert_allclose(c.scores[:, -1], score(F.baseline_images(x, "mean"), t), rtol=1e-6)


def test_flat_maps_remove_pixels_in_random_order_not_top_rows_first():
    w = np.zeros((16, 16))
    w[:4] = 0.5  # only the top rows matter
    x = np.zeros((8, 16, 16, 1), np.float32)
    x[:, :4] = 1.0
    flat = np.zeros((8, 16, 16), np.float32)
    c = F.perturbation_curves(_linear_score(w), x, flat, np.zeros(8, int), steps=4, baseline="mean")
    top_first = F.perturbation_curves(_linear_score(w), x, -np.arange(256.0).reshape(1, 16, 16)
                                      .repeat(8, 0), np.zeros(8, int), steps=4, baseline="mean")  # fmt: skip
    assert c.auc.mean() > top_first.auc.mean() + 0.05


def test_baselines_and_errors():
    x = np.random.default_rng(0).random((2, 20, 20, 1)).astype(np.float32)
    blur = F.baseline_images(x, "blur")
    assert blur.shape == x.shape and blur.std() < x.std()
    assert np.allclose(F.baseline_images(x, "mean")[0], x[0].mean())
    with pytest.raises(Exception, match="unknown baseline"):
        F.baseline_images(x, "zeros")
    with pytest.raises(Exception, match="do not match"):
        F.perturbation_curves(lambda a, b: a.sum((1, 2, 3)), x, np.zeros((2, 8, 8)), [0, 0])


# ---- similarity -------------------------------------------------------------------------
def test_spearman_is_pearson_on_average_ranks_and_ssim_identities():
    rng = np.random.default_rng(0)
    a = rng.random((4, 12, 12))
    b = a + rng.normal(0, 0.3, a.shape)

    def ranks(v):  # no ties in continuous data
        return np.argsort(np.argsort(v.ravel())).astype(float)

    ref = [np.corrcoef(ranks(a[i]), ranks(b[i]))[0, 1] for i in range(4)]
    np.testing.assert_allclose(F.spearman(a, b), ref, rtol=1e-5)
    tied = np.array([[[1.0, 2.0], [2.0, 3.0]]])  # average ranks 1, 2.5, 2.5, 4
    other = np.array([[[1.0, 3.0], [2.0, 4.0]]])
    expected = np.corrcoef([1, 2.5, 2.5, 4], [1, 3, 2, 4])[0, 1]
    assert F.spearman(tied, other)[0] == pytest.approx(expected)
    assert F.spearman(a, np.zeros_like(a)).tolist() == [0.0] * 4
    np.testing.assert_allclose(F.ssim(a, a), 1.0, rtol=1e-6)
    assert (F.ssim(a, rng.random(a.shape)) < 0.3).all()


# ---- cascading randomization --------------------------------------------------------------
def _small_net() -> EmotionModel:
    keras.utils.set_random_seed(3)
    inp = keras.Input((16, 16, 1))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="c1")(inp)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="c2")(x)
    out = keras.layers.Dense(7, name="head")(keras.layers.Flatten()(x))
    return EmotionModel(keras.Model(inp, out), ModelSpec(input_size=(16, 16)), "small")


class _EdgeMaps:
    """A "method" that ignores the model: the image's gradient magnitude."""

    def __init__(self, net):
        self.net = net

    def explain(self, images, targets=None):
        x = self.net.preprocess(images)[..., 0]
        gy, gx = np.gradient(x, axis=(1, 2))
        return np.hypot(gx, gy).astype(np.float32)


def test_randomization_detects_a_method_that_ignores_the_weights():
    net = _small_net()
    before = [w.copy() for w in net.model.get_weights()]
    images = (np.random.default_rng(0).random((6, 16, 16)) * 255).astype(np.uint8)
    assert F.randomization_stages(net.model) == ["head", "c2", "c1"]
    r = F.cascading_randomization(net, images, {"saliency": Saliency, "edges": _EdgeMaps},
                                  targets=np.zeros(6, int), stages=None)  # fmt: skip
    assert r.stages == ["none", "head", "c2", "c1"]
    assert (r.spearman["edges"] == 1.0).all() and (r.ssim["edges"] > 0.999).all()
    summary = r.summary()
    assert summary.loc["saliency", "spearman final"] < 0.5
    assert summary.loc["edges", "spearman top"] == summary.loc["edges", "ssim mean"] == 1.0
    assert len(r.maps["saliency"]) == 4
    for w, w0 in zip(net.model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(w, w0)  # the caller's model is untouched
    copy = F.randomized_copy(net, ["head"], seed=1)
    assert not np.allclose(copy.model.get_layer("head").get_weights()[0],
                           net.model.get_layer("head").get_weights()[0])  # fmt: skip
    np.testing.assert_array_equal(copy.model.get_layer("c1").get_weights()[0],
                                  net.model.get_layer("c1").get_weights()[0])  # fmt: skip
    with pytest.raises(Exception, match="unknown stage"):
        F.cascading_randomization(net, images, {"edges": _EdgeMaps}, stages=["nope"])


# ---- face regions ------------------------------------------------------------------------
def test_face_regions_are_disjoint_and_scale():
    masks = F.face_region_masks(48)
    assert list(masks) == ["brows", "eyes", "nose", "mouth"]
    stacked = np.stack(list(masks.values())).astype(int)
    assert stacked.sum(axis=0).max() == 1  # no pixel in two regions
    assert masks["eyes"].sum() == 2 * 13 * 9 and masks["mouth"].sum() == 23 * 11
    big = F.face_region_masks(96)
    assert big["mouth"].sum() == 4 * masks["mouth"].sum()


def test_region_shares_and_occlusion_of_a_mouth_only_model():
    region = F.face_region_masks(48)
    w = np.zeros((48 * 48, 7), np.float32)
    w[region["mouth"].ravel(), 3] = 0.01  # only the mouth carries "happy" evidence
    inp = keras.Input((48, 48, 1))
    out = keras.layers.Dense(7, name="d")(keras.layers.Flatten()(inp))
    model = keras.Model(inp, out)
    model.get_layer("d").set_weights([w, np.zeros(7, np.float32)])
    net = EmotionModel(model, ModelSpec(input_size=(48, 48)), "mouth-only")
    rng = np.random.default_rng(0)
    images = (rng.random((12, 48, 48)) * 60).astype(np.uint8)
    images[:, region["mouth"]] += 180  # a bright mouth: blurring it away lowers the score
    drops = F.occlusion_drops(net, images, np.full(12, 3))
    assert (drops["eyes"].abs() < 1e-6).all() and (drops["brows"].abs() < 1e-6).all()
    assert (drops["mouth"] > 0.05).all()
    np.testing.assert_allclose(drops.attrs["p"], net.predict_proba(images)[:, 3], rtol=1e-4)
    shares = F.region_shares(region["mouth"][None].astype(np.float32).repeat(2, 0))
    assert (shares["mouth"] == 1.0).all() and (shares["eyes"] == 0.0).all()
    assert shares.attrs["area"]["mouth"] == pytest.approx(253 / 2304)


def test_claims_verdicts_and_bootstrap():
    import pandas as pd

    names = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    rng = np.random.default_rng(0)
    groups = np.repeat([3, 2, 1], [40, 40, 4])  # happy, fear, 4 disgust faces
    vals = pd.DataFrame({"eyes": rng.normal(0.1, 0.02, 84), "mouth": rng.normal(0.3, 0.02, 84)})
    t = F.claims_table(vals, groups, names, evidence="test").set_index("claim")
    assert t.loc["happy: mouth > eyes", "verdict"] == "holds"
    assert t.loc["fear: eyes > mouth", "verdict"] == "contradicted"
    assert t.loc["disgust: mouth > eyes", "verdict"].startswith("too few")
    assert t.loc["sad: eyes > mouth", "faces"] == 0
    wide = F.claims_wide(t.reset_index())
    assert wide.loc["happy: mouth > eyes", "test: verdict"] == "holds"
    assert wide.loc["happy: mouth > eyes", "faces"] == 40 and wide.loc["sad: eyes > mouth", "test"] == ""
    long = F.by_group(vals, groups, names).assign(measure="test")
    table = F.region_table(long, "test", names)
    assert table.loc["happy", "faces"] == 40 and table.loc["sad", "eyes"] == ""
    assert re.fullmatch(r"0\.3\d \[0\.[23]\d, 0\.3\d\]", table.loc["happy", "mouth"])
    mean, lo, hi = F.bootstrap_ci(np.arange(100.0), seed=0)
    assert lo < mean == 49.5 < hi and F.bootstrap_ci(np.arange(100.0), seed=0) == (mean, lo, hi)


def test_layout_check_finds_eyes_in_the_eye_regions_of_the_stand_in():
    faces = load_faces("synthetic", n_synthetic=60, seed=0)
    t = F.check_layout(faces.images)
    assert list(t.index) == ["left eye", "right eye", "mouth"]
    assert t.loc["left eye", "detections"] > 10 and t.loc["right eye", "detections"] > 10
    assert t.loc["left eye", "median x"] < 24 < t.loc["right eye", "median x"]
    assert t.loc["left eye", "inside region"] > 0.6


# ---- the whole evaluation ----------------------------------------------------------------
def test_evaluate_maps_end_to_end(mini_xception):
    faces = load_faces("synthetic", n_synthetic=140, seed=0)
    ev = F.evaluate_maps(mini_xception, faces, methods=["saliency", "gradcam"], n=14, steps=4,
                         stages=2, n_random=3, pointing_net=mini_xception,
                         pointing_faces=faces, log=None)  # fmt: skip
    assert ev.settings["n"] == 14
    assert list(ev.table.index).count("random") == 1 and "centre" in ev.table.index
    score = ev.table["insertion - deletion"].to_numpy()
    assert (np.diff(score) <= 0).all()  # ranked
    assert ev.table.loc["centre", "randomization spearman (top)"] == 1.0  # ignores the model
    assert ev.table.loc["saliency", "randomization spearman (mean)"] < 1.0
    assert set(ev.claims["evidence"]) == {"occlusion drop", "gradcam mass share"}
    assert 0 <= ev.pointing.loc["saliency", "pointing game"] <= 1
    doc = json.loads(json.dumps(ev.to_json(), allow_nan=False))
    assert doc["settings"]["randomization_stages"] and len(doc["table"]) == 4
    again = F.evaluate_maps(mini_xception, faces, methods=["saliency", "gradcam"], n=14,
                            steps=4, stages=2, n_random=3, log=None)  # fmt: skip
    np.testing.assert_allclose(again.table["deletion AUC"], ev.table["deletion AUC"], rtol=1e-5)
