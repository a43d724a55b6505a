"""Cascading randomization on a small model and on a method that ignores the weights."""

import numpy as np
import pandas as pd
import pytest

from emonb._tf import keras
from emonb.methods import CAM, GuidedBackprop, Saliency
from emonb.metrics.randomization import (
    Randomization,
    cascading_randomization,
    check_faces,
    data_randomization,
    map_similarity,
    random_logit,
    randomization_stages,
    randomized_copy,
)
from emonb.metrics.stats import bootstrap_ci, spearman
from emonb.models.preprocessing import ModelSpec
from emonb.models.runner import predict_proba
from emonb.models.zoo import EmotionModel


def _small_net() -> EmotionModel:
    keras.utils.set_random_seed(3)
    inp = keras.Input((16, 16, 1))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="c1")(inp)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="c2")(x)
    out = keras.layers.Dense(7, name="head")(keras.layers.Flatten()(x))
    return EmotionModel(keras.Model(inp, out), ModelSpec(input_size=(16, 16)), "small")


class _EdgeMaps:
    """A "method" that ignores the model: the image's gradient magnitude. It records the
    targets it was asked to explain."""

    seen: list = []

    def __init__(self, net):
        self.net = net

    def explain(self, images, targets=None):
        _EdgeMaps.seen.append(np.asarray(targets))
        x = self.net.preprocess(images)[..., 0]
        gy, gx = np.gradient(x, axis=(1, 2))
        return np.hypot(gx, gy).astype(np.float32)


@pytest.fixture(scope="module")
def net():
    return _small_net()


@pytest.fixture(scope="module")
def images():
    return (np.random.default_rng(0).random((6, 16, 16)) * 255).astype(np.uint8)


def test_stages_run_from_the_output_down(net):
    assert randomization_stages(net.model) == ["head", "c2", "c1"]


def test_randomized_copy_redraws_only_the_named_layers_with_their_scale(net):
    before = [w.copy() for w in net.model.get_weights()]
    copy = randomized_copy(net, ["c2"], seed=1)
    old = net.model.get_layer("c2").get_weights()[0]
    new = copy.model.get_layer("c2").get_weights()[0]
    assert not np.allclose(old, new)
    assert new.mean() == pytest.approx(old.mean(), abs=3 * old.std() / np.sqrt(old.size))
    assert new.std() == pytest.approx(old.std(), rel=0.1)
    for name in ("c1", "head"):
        np.testing.assert_array_equal(copy.model.get_layer(name).get_weights()[0],
                                      net.model.get_layer(name).get_weights()[0])  # fmt: skip
    for w, w0 in zip(net.model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(w, w0)  # the caller's model is untouched
    again = randomized_copy(net, ["c2"], seed=1)
    np.testing.assert_array_equal(again.model.get_layer("c2").get_weights()[0], new)  # seeded
    with pytest.raises(Exception, match="no layer 'nope'"):
        randomized_copy(net, ["nope"])


def test_randomization_detects_a_method_that_ignores_the_weights(net, images):
    before = [w.copy() for w in net.model.get_weights()]
    _EdgeMaps.seen.clear()
    r = cascading_randomization(net, images, {"saliency": Saliency, "edges": _EdgeMaps},
                                stages=None)  # fmt: skip
    assert r.stages == ["none", "head", "c2", "c1"]
    assert (r.spearman["edges"] == 1.0).all() and (r.ssim["edges"] > 0.999).all()
    assert r.spearman["saliency"].iloc[-1] < 0.5
    assert [len(m) for m in r.maps["saliency"]] == [4] * 4  # `keep` maps per stage
    # the default targets are the trained model's predictions, at every stage
    predicted = predict_proba(net, images).argmax(axis=1)
    assert len(_EdgeMaps.seen) == 4
    for seen in _EdgeMaps.seen:
        np.testing.assert_array_equal(seen, predicted)
    for w, w0 in zip(net.model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(w, w0)


def _bn_net() -> EmotionModel:
    from tests.models.helpers import bn_model

    return EmotionModel(bn_model(4), ModelSpec(input_size=(12, 12)), "bn toy")


#: Methods whose runners fold BatchNorms, bypass the softmax, make linear copies (guided
#: backprop) or read a layer's weights themselves (CAM).
_RUNNER_METHODS = {"saliency": Saliency, "guided_backprop": GuidedBackprop, "cam": CAM}


def test_cascade_reuses_its_explainers_and_equals_explainers_of_new_copies():
    """The stages run on one copy whose weights are re-assigned (explainers made once):
    their maps equal those of explainers of a new :func:`randomized_copy` per stage, the
    hand-built cascade, also when the stages go back up (weights put back)."""
    net = _bn_net()
    before = [w.copy() for w in net.model.get_weights()]
    faces = (np.random.default_rng(2).random((5, 12, 12)) * 255).astype(np.uint8)
    targets = np.array([0, 3, 6, 1, 2])
    stops = ["conv2", "logits", "conv"]  # down, up (weights put back), down to the input
    r = cascading_randomization(net, faces, _RUNNER_METHODS, targets=targets, stages=stops,
                                keep=5)  # fmt: skip
    order = randomization_stages(net.model)
    assert r.stages == ["none", *stops] and order[-1] == "conv"
    for k, stop in enumerate(stops, start=1):
        copy = randomized_copy(net, order[: order.index(stop) + 1], seed=0)
        for m, make in _RUNNER_METHODS.items():
            maps = make(copy).explain(faces, targets)
            np.testing.assert_allclose(r.maps[m][k], maps, rtol=1e-5, atol=1e-6, err_msg=f"{m} {stop}")
    for w, w0 in zip(net.model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(w, w0)  # the caller's model is untouched


def test_stage_counts_spread_over_the_layers(net, images):
    r = cascading_randomization(net, images[:2], {"edges": _EdgeMaps}, targets=[0, 1], stages=2)
    assert r.stages == ["none", "head", "c1"]  # evenly spread, always ending with every layer
    r = cascading_randomization(net, images[:2], {"edges": _EdgeMaps}, targets=[0, 1],
                                stages=["c2"])  # fmt: skip
    assert r.stages == ["none", "c2"]
    with pytest.raises(Exception, match="unknown stage"):
        cascading_randomization(net, images, {"edges": _EdgeMaps}, stages=["nope"])


def test_summary_reads_top_mean_and_final_stages():
    index = ["none", "head", "c2", "c1"]
    r = Randomization(stages=index,
                      spearman=pd.DataFrame({"m": [1.0, 0.8, 0.4, 0.0]}, index=index),
                      ssim=pd.DataFrame({"m": [1.0, 0.9, 0.6, 0.3]}, index=index))  # fmt: skip
    s = r.summary().loc["m"]
    assert s["spearman top"] == 0.8 and s["spearman final"] == 0.0
    assert s["spearman mean"] == pytest.approx(0.4) and s["ssim mean"] == pytest.approx(0.6)
    assert s["ssim top"] == 0.9 and s["ssim final"] == 0.3


def test_random_logit_of_a_class_blind_map_is_one():
    x = np.random.default_rng(0).random((5, 16, 16, 1)).astype(np.float32)
    seen = []

    def blind(x, classes):
        seen.append(np.asarray(classes).copy())
        return x[..., 0]

    t = np.array([0, 1, 2, 3, 6])
    np.testing.assert_allclose(random_logit(blind, x, t, 7), 1.0, atol=1e-6)
    np.testing.assert_allclose(random_logit(blind, x, t, 7, similarity="spearman"), 1.0,
                               atol=1e-6)  # fmt: skip
    others = seen[1]
    assert np.array_equal(seen[0], t) and (others != t).all() and others.max() < 7
    seen.clear()
    random_logit(blind, x, t, 7, maps=x[..., 0])
    assert len(seen) == 1 and np.array_equal(seen[0], others)  # seeded, explain called once


def test_random_logit_of_class_patterns_computed_by_hand():
    """Flat maps of value c / 6 for class c: every local mean is a = t / 6 or b = o / 6 and
    every variance 0, so SSIM = (2ab + C1) / (a^2 + b^2 + C1) with C1 = 0.01^2. One-hot
    blocks of k pixels for class c: Spearman of two disjoint indicators = -k / (n - k)."""
    x = np.zeros((40, 14, 14, 1), np.float32)
    t = np.arange(40) % 7
    asked = []

    def flat(x, classes):
        asked.append(np.asarray(classes))
        return np.broadcast_to(np.asarray(classes, np.float64)[:, None, None] / 6, x.shape[:3])

    s = random_logit(flat, x, t, 7, seed=3)
    a, b, c1 = t / 6, asked[1] / 6, 1e-4
    np.testing.assert_allclose(s, (2 * a * b + c1) / (a * a + b * b + c1), rtol=1e-5)
    assert len(set(asked[1].tolist())) == 7  # the other classes vary

    def blocks(x, classes):
        out = np.zeros(x.shape[:3], np.float32)
        for i, c in enumerate(np.asarray(classes)):
            out[i, 2 * c : 2 * c + 2, :] = 1.0  # k = 2 rows of 14 pixels
        return out

    k, n = 28, 196
    sp = random_logit(blocks, x, t, 7, similarity="spearman")
    np.testing.assert_allclose(sp, -k / (n - k), rtol=1e-5)
    with pytest.raises(Exception, match="unknown similarity"):
        random_logit(blocks, x, t, 7, similarity="pearson")
    with pytest.raises(Exception, match="class indices"):
        random_logit(blocks, x, t + 1, 7)


def test_map_similarity_is_one_for_identical_maps_and_near_zero_for_independent_ones():
    rng = np.random.default_rng(0)
    a, b = rng.random((24, 48, 48)), rng.random((24, 48, 48))
    t = map_similarity({"same": a, "independent": a, "reversed": a},
                       {"same": a.copy(), "independent": b, "reversed": -a}, n_boot=300)  # fmt: skip
    assert list(t.index) == ["same", "independent", "reversed"] and (t["faces"] == 24).all()
    same, ind = t.loc["same"], t.loc["independent"]
    assert same["spearman"] == pytest.approx(1.0) and same["ssim"] == pytest.approx(1.0)
    assert same["spearman lo"] == pytest.approx(1.0) and same["ssim hi"] == pytest.approx(1.0)
    # 2,304 independent pixels: a rank correlation of about +-1/48 per face, averaged over 24
    assert abs(ind["spearman"]) < 0.02 and ind["spearman lo"] < 0 < ind["spearman hi"]
    assert abs(ind["ssim"]) < 0.05  # no shared structure: SSIM's structure term is ~0
    assert t.loc["reversed", "spearman"] == pytest.approx(-1.0)  # the order turned over


def test_map_similarity_intervals_are_the_bootstrap_of_the_per_face_values():
    rng = np.random.default_rng(1)
    a = rng.random((12, 16, 16))
    b = a + rng.normal(0, 0.5, a.shape)
    ids = np.repeat(["clip", "photo1", "photo2"], [10, 1, 1])
    t = map_similarity({"m0": a, "m1": a}, {"m0": b, "m1": b}, clusters=ids, n_boot=200, seed=4)
    for k, m in enumerate(["m0", "m1"]):  # seeded seed + k
        expected = bootstrap_ci(spearman(a, b), n_boot=200, seed=4 + k, clusters=ids)
        np.testing.assert_allclose(t.loc[m, ["spearman", "spearman lo", "spearman hi"]].to_numpy(float),
                                   expected, rtol=1e-6)  # fmt: skip
    with pytest.raises(Exception, match="not the same faces"):
        map_similarity({"m": a}, {"m": b[:3]})


def test_data_randomization_compares_the_two_models_on_the_same_targets(net, images):
    keras.utils.set_random_seed(11)
    other = _small_net()  # the same architecture with other weights (the "permuted" model)
    other.model.set_weights([np.random.default_rng(k).normal(0, w.std() + 1e-3, w.shape)
                             .astype(w.dtype) for k, w in enumerate(net.model.get_weights())])  # fmt: skip
    before = [w.copy() for w in net.model.get_weights()]
    _EdgeMaps.seen.clear()
    r = data_randomization(net, other, images, {"saliency": Saliency, "edges": _EdgeMaps},
                           keep=2, n_boot=200)  # fmt: skip
    predicted = predict_proba(net, images).argmax(axis=1)
    np.testing.assert_array_equal(r.targets, predicted)
    assert len(_EdgeMaps.seen) == 2 and all(np.array_equal(s, predicted) for s in _EdgeMaps.seen)
    # a method that ignores the model cannot tell the models apart; saliency can
    assert r.table.loc["edges", "spearman"] == pytest.approx(1.0)
    assert r.table.loc["saliency", "spearman"] < 0.9
    sal = Saliency(net).explain(images, predicted)
    np.testing.assert_allclose(r.maps["saliency"], sal[:2], atol=1e-6)
    assert r.images.shape == (2, 16, 16) and r.permuted_maps["saliency"].shape == (2, 16, 16)
    for w, w0 in zip(net.model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(w, w0)
    wide = EmotionModel(other.model, ModelSpec(input_size=(20, 20)), "wide")
    with pytest.raises(Exception, match="different sizes"):
        data_randomization(net, wide, images, {"edges": _EdgeMaps})


def test_check_faces_spreads_its_picks_and_keeps_their_clusters():
    from emonb.data.fer2013 import load_faces
    from emonb.video.real_faces import RealFaces

    real = RealFaces(np.arange(10)[:, None, None] * np.ones((10, 4, 4), np.uint8),
                     [f"clip@{i}" for i in range(8)] + ["photo", "group"])  # fmt: skip
    picked = check_faces(real, 4)
    # each source in turn (clip, photo, group, clip again), the clip's two frames at its ends
    assert picked.images[:, 0, 0].tolist() == [0, 7, 8, 9]
    assert picked.clusters.tolist() == ["clip", "clip", "photo", "group"]
    assert picked.name == "the manifest's media (clip 2, photo 1, group 1)" and not picked.synthetic
    assert check_faces(real, 6).images[:, 0, 0].tolist() == [0, 2, 5, 7, 8, 9]
    assert check_faces(real.images, 4).images[:, 0, 0].tolist() == [0, 3, 6, 9]  # evenly spread
    assert len(check_faces(real)) == 10 and len(check_faces(real, 50)) == 10
    standin = check_faces(load_faces("synthetic", n_synthetic=70, seed=0), 3)
    assert standin.synthetic and standin.clusters is None and standin.name == "synthetic stand-in"
    assert check_faces(np.zeros((2, 4, 4)), name="two").name == "two"
    with pytest.raises(Exception, match="N >= 1"):
        check_faces(np.zeros((0, 4, 4)))
