"""Activations by layer (one forward pass, model untouched) and their pure-array statistics."""

from __future__ import annotations

import cv2
import matplotlib
import numpy as np
import pytest

from emonb import activations as A
from emonb._tf import keras, tf
from emonb.errors import EmonbError
from emonb.plotting.activations import (
    plot_activation_histograms,
    plot_feature_maps,
    plot_filters,
    plot_layer_heatmaps,
)
from emonb.plotting.images import overlay

matplotlib.use("Agg")

TOL = {"rtol": 1e-5, "atol": 1e-6}


def _mm(m: np.ndarray) -> np.ndarray:
    """Min-max to [0, 1] by hand, for one map with a span."""
    return (m - m.min()) / (m.max() - m.min())


class _Counting:
    """Stands in for the feature model and records each call's batch size."""

    def __init__(self, model):
        self.model, self.calls = model, []

    def __call__(self, x, **kwargs):
        self.calls.append(int(x.shape[0]))
        return self.model(x, **kwargs)


@pytest.fixture(scope="module")
def faces() -> np.ndarray:
    from emonb.data.synthetic import make_synthetic_faces

    return make_synthetic_faces(16, seed=0).images


@pytest.fixture(scope="module")
def xception_acts(mini_xception, faces):
    act = A.Activations(mini_xception)
    return act, act(faces, batch_size=16)


# --- tiny models: equal to calling the layers by hand, one call, no mutation ---------------


def test_sequential_without_input_matches_layers_in_one_call(toy_models, unchanged):
    model = toy_models["sequential_no_input"]()
    check = unchanged(model, graph_nodes=False)  # a feature model wires the layers anew
    act = A.Activations(model)
    assert act.layers == ["c1", "c2"]
    assert len(act.model.outputs) == 2
    x = np.random.default_rng(0).normal(size=(5, 20, 20, 1)).astype(np.float32)
    counting = _Counting(act.model)
    act.model = counting
    out = act.from_inputs(x, batch_size=3)
    assert counting.calls == [3, 2]  # both layers from each forward pass, batched
    assert set(out) == {"c1", "c2"}
    c1 = model.get_layer("c1")(x)
    np.testing.assert_allclose(out["c1"], c1, **TOL)
    c2 = model.get_layer("c2")(model.get_layer("pool")(c1))
    np.testing.assert_allclose(out["c2"], c2, **TOL)
    assert out["c1"].dtype == np.float32 and out["c2"].shape == (5, 7, 7, 6)
    check()


def test_raw_images_are_preprocessed_like_the_spec(toy_models):
    model = toy_models["sequential_no_input"]()
    act = A.Activations(model, ["c2"])
    raw = np.random.default_rng(1).integers(0, 256, size=(2, 20, 20), dtype=np.uint8)
    got = act(raw)
    want = act.from_inputs(raw[..., None].astype(np.float32) / 255.0)  # bare model: "unit"
    np.testing.assert_allclose(got["c2"], want["c2"], **TOL)
    empty = act.from_inputs(np.zeros((0, 20, 20, 1), np.float32))
    assert empty["c2"].shape == (0, 7, 7, 6)


def test_nested_model_layers_by_name_and_index(nested_models, unchanged):
    model, inner, block = nested_models
    check = unchanged(model, graph_nodes=False)  # a feature model wires the layers anew
    assert A.Activations(model).layers == ["inner/ic1", "block/bc1"]
    act = A.Activations(model, ["inner/irelu", "bc1", "ic1", -1, "block/bc1"])
    assert act.layers == ["inner/irelu", "block/bc1", "inner/ic1", "head"]  # duplicate dropped
    x = np.random.default_rng(3).normal(size=(4, 20, 20, 1)).astype(np.float32)
    counting = _Counting(act.model)
    act.model = counting
    out = act.from_inputs(x)
    assert counting.calls == [4]
    np.testing.assert_allclose(out["inner/irelu"], inner(x), **TOL)
    np.testing.assert_allclose(out["inner/ic1"], inner.get_layer("ic1")(x), **TOL)
    np.testing.assert_allclose(out["block/bc1"], block(inner(x)), **TOL)
    np.testing.assert_allclose(out["head"], model(x), **TOL)
    check()


def test_bad_layers_and_inputs_are_clear_errors(toy_models):
    model = toy_models["nested"]()
    with pytest.raises(EmonbError, match="valid names: inner/ic1, inner/irelu"):
        A.Activations(model, ["conv9"])
    act = A.Activations(model)
    with pytest.raises(ValueError, match=r"\(N, 20, 20, 1\)"):
        act.from_inputs(np.zeros((2, 20, 20, 3), np.float32))
    with pytest.raises(EmonbError, match="not a Conv2D"):
        A.conv_filters(model, "gap")


# --- pretrained mini-Xception -------------------------------------------------------------


def test_mini_xception_layers_and_shapes(mini_xception, xception_acts, unchanged):
    check = unchanged(mini_xception.model, graph_nodes=False)
    act, out = xception_acts
    assert len(act.layers) == 15 and act.layers == mini_xception.conv_layers()
    assert list(out) == act.layers
    assert out["conv2d_1"].shape == (16, 62, 62, 8)
    assert out["conv2d_7"].shape == (16, 4, 4, 7)
    assert all(v.dtype == np.float32 for v in out.values())
    assert A.select_layers(mini_xception, every=4) == [
        "conv2d_1", "conv2d_3", "separable_conv2d_5", "separable_conv2d_8", "conv2d_7"
    ]  # fmt: skip
    check()


def test_first_layer_filters_reproduce_the_first_activation(mini_xception, xception_acts, faces):
    filters = A.first_layer_filters(mini_xception)
    assert filters.shape == (8, 3, 3) and filters.dtype == np.float32
    # conv2d_1 has no bias and a grey input: correlating the input with filter k gives map k
    x = mini_xception.preprocess(faces[:2])
    kernel = tf.constant(filters.transpose(1, 2, 0)[:, :, None, :])
    manual = tf.nn.conv2d(x, kernel, strides=1, padding="VALID").numpy()
    np.testing.assert_allclose(xception_acts[1]["conv2d_1"][:2], manual, rtol=1e-4, atol=1e-5)


def test_batch_of_one_equals_the_same_image_in_a_batch(mini_xception, xception_acts, faces):
    act, batch = xception_acts
    one = act(faces[5:6])
    for name in act.layers:
        np.testing.assert_allclose(one[name][0], batch[name][5], rtol=0, atol=1e-5)
    split = act(faces, batch_size=5)  # 5 + 5 + 5 + 1
    np.testing.assert_allclose(split["conv2d_7"], batch["conv2d_7"], rtol=0, atol=1e-5)


def test_layer_heatmap_on_mini_xception(xception_acts):
    """Each reduction of a real layer: the channel mean / max / L2 norm of each image,
    upsampled bicubically and min-max normalised (computed here by hand for two faces)."""
    _, out = xception_acts
    act = out["separable_conv2d_4"]  # (16, 8, 8, 64)
    by_hand = {"mean": act.mean(axis=3), "max": act.max(axis=3),
               "l2": np.sqrt((act**2).sum(axis=3))}  # fmt: skip
    maps = {}
    for reduce in A.REDUCTIONS:
        maps[reduce] = A.layer_heatmap(act, (64, 64), reduce=reduce)
        assert maps[reduce].shape == (16, 64, 64) and maps[reduce].dtype == np.float32
        for i in (0, 9):
            up = cv2.resize(by_hand[reduce][i], (64, 64), interpolation=cv2.INTER_CUBIC)
            np.testing.assert_allclose(maps[reduce][i], _mm(up), atol=1e-5, err_msg=reduce)
    assert np.abs(maps["mean"] - maps["max"]).max() > 0.1


# --- pure array functions -----------------------------------------------------------------


def test_layer_heatmap_is_bicubic_reduced_and_normalised():
    rng = np.random.default_rng(0)
    act = rng.normal(size=(3, 5, 6, 4)).astype(np.float32)
    act[1] = 2.5  # a constant image -> all zeros
    maps = A.layer_heatmap(act, (20, 24))
    assert maps.shape == (3, 20, 24)
    assert not maps[1].any()
    cubic = cv2.resize(act[0].mean(axis=2), (24, 20), interpolation=cv2.INTER_CUBIC)
    linear = cv2.resize(act[0].mean(axis=2), (24, 20), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_allclose(maps[0], _mm(cubic), atol=1e-5)
    assert np.abs(maps[0] - _mm(linear)).max() > 1e-2
    l2 = A.layer_heatmap(act, (5, 6), reduce="l2")
    np.testing.assert_allclose(l2[2], _mm(np.sqrt((act[2] ** 2).sum(axis=2))), atol=1e-5)
    mx = A.layer_heatmap(act, (5, 6), reduce="max")
    np.testing.assert_allclose(mx[0], _mm(act[0].max(axis=2)), atol=1e-5)
    const = A.layer_heatmap(np.full((2, 4, 4, 3), 7.0, np.float32), (64, 64))
    assert const.shape == (2, 64, 64) and not const.any()
    with pytest.raises(ValueError, match="mean, max, l2"):
        A.layer_heatmap(act, (8, 8), reduce="median")
    with pytest.raises(ValueError, match=r"\(N, h, w, c\)"):
        A.layer_heatmap(act[0], (8, 8))


def test_feature_grid_layout_normalisation_and_range_error():
    rng = np.random.default_rng(1)
    act = rng.normal(size=(5, 5, 8)).astype(np.float32)
    act[:, :, 3] = -4.0
    grid = A.feature_grid(act, ncols=3)
    assert grid.shape == (3 * 6 - 1, 3 * 6 - 1) and grid.dtype == np.float32
    tile0 = grid[0:5, 0:5]
    np.testing.assert_allclose(tile0, (act[..., 0] - act[..., 0].min()) / np.ptp(act[..., 0]),
                               atol=1e-6)  # fmt: skip
    assert not grid[6:11, 0:5].any()  # channel 3 (second row, first tile) is constant -> 0
    assert (grid[12:17, 12:17] == 1.0).all()  # the unused ninth tile is padding
    picked = A.feature_grid(act, channels=[7, 2], ncols=8, pad=0)
    assert picked.shape == (5, 10)
    np.testing.assert_allclose(picked[:, :5], A.feature_grid(act, channels=[7], pad=0), atol=0)
    with pytest.raises(ValueError, match=r"valid indices are 0\.\.7"):
        A.feature_grid(act, channels=[0, 8])
    with pytest.raises(ValueError, match="out of range"):
        A.feature_grid(act, channels=[-1])


def test_feature_grid_range_error_on_mini_xception(xception_acts):
    _, out = xception_acts
    with pytest.raises(ValueError, match=r"0\.\.15"):
        A.feature_grid(out["separable_conv2d_1"][0], channels=[3, 16])


def test_conv_filters_of_separable_depthwise_and_multichannel_layers():
    """On a grey image repeated over c input channels a layer's output channel k equals
    c * (image correlated with the input-averaged filter k) (depthwise: 1 *, one channel each)."""
    keras.utils.set_random_seed(2)
    inp = keras.Input((9, 9, 3))
    layers = {
        "sep": keras.layers.SeparableConv2D(4, 3, depth_multiplier=2, use_bias=False, name="sep"),
        "dw": keras.layers.DepthwiseConv2D(3, depth_multiplier=2, use_bias=False, name="dw"),
        "conv": keras.layers.Conv2D(5, 3, use_bias=False, name="conv"),
    }
    model = keras.Model(inp, [lyr(inp) for lyr in layers.values()])
    grey = np.random.default_rng(4).normal(size=(2, 9, 9, 1)).astype(np.float32)
    x = np.repeat(grey, 3, axis=3)
    for name, lyr in layers.items():
        filters = A.conv_filters(model, name)
        assert filters.shape == {"sep": (4, 3, 3), "dw": (6, 3, 3), "conv": (5, 3, 3)}[name]
        manual = tf.nn.conv2d(grey, filters.transpose(1, 2, 0)[:, :, None, :], 1, "VALID")
        scale = 1.0 if name == "dw" else 3.0
        np.testing.assert_allclose(lyr(x), scale * manual.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(A.first_layer_filters(model), A.conv_filters(model, "sep"))


def _known_acts():
    labels = np.array([0, 1, 0, 1, 1, 0, 0])
    act = np.where(labels[:, None, None, None] == 0, 1.0, 0.0) * np.ones((7, 3, 3, 2))
    ramp = np.arange(7, dtype=np.float32)[:, None, None, None] * np.ones((7, 2, 2, 4))
    return {"ones": act.astype(np.float32), "ramp": ramp}, labels


def test_class_activation_stats_known_answers():
    acts, labels = _known_acts()
    df = A.class_activation_stats(acts, labels, ["a", "b", "c"])
    assert list(df.columns) == ["layer", "class", "n", "mean", "std", "median"]
    assert df["layer"].tolist() == ["ones"] * 3 + ["ramp"] * 3
    ones = df[df.layer == "ones"].set_index("class")
    assert ones["n"].tolist() == [4, 3, 0]
    assert ones.loc["a", "mean"] == 1.0 and ones.loc["b", "mean"] == 0.0
    assert ones.loc["a", "std"] == 0.0 and np.isnan(ones.loc["c", "mean"])
    ramp = df[df.layer == "ramp"].set_index("class")
    a = np.array([0, 2, 5, 6], float)  # images of class 0 have mean activation = index
    assert ramp.loc["a", "mean"] == pytest.approx(a.mean())
    assert ramp.loc["a", "std"] == pytest.approx(a.std())
    assert ramp.loc["a", "median"] == pytest.approx(3.5)
    with pytest.raises(ValueError, match="7 images but there are 6 labels"):
        A.class_activation_stats(acts, labels[:6], ["a", "b", "c"])
    with pytest.raises(ValueError, match=r"codes 0\.\.0, found 0\.\.1"):
        A.class_activation_stats(acts, labels, ["a"])


def test_activation_histograms_known_answers():
    acts, labels = _known_acts()
    hists = A.activation_histograms(acts, labels, n_classes=3, bins=2)
    counts, edges = hists["ones"]
    np.testing.assert_allclose(edges, [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(counts, [[0, 4], [3, 0], [0, 0]])
    counts, edges = hists["ramp"]
    assert counts.dtype == np.int64
    np.testing.assert_array_equal(counts.sum(axis=1), np.bincount(labels, minlength=3))
    np.testing.assert_array_equal(counts, [[2, 2], [1, 2], [0, 0]])  # 0,2 | 5,6 and 1 | 3,4
    h30 = A.activation_histograms(acts, labels, n_classes=2)["ramp"]
    assert h30[0].shape == (2, 30) and h30[1].shape == (31,)
    assert A.mean_activation(acts["ramp"]).tolist() == list(range(7))


def test_overlay_is_pure_uint8_rgb():
    rng = np.random.default_rng(5)
    grey = rng.integers(0, 256, size=(10, 12), dtype=np.uint8)
    out = overlay(grey, np.zeros((10, 12)), alpha=0.0)
    assert out.dtype == np.uint8 and out.shape == (10, 12, 3)
    np.testing.assert_array_equal(out, np.repeat(grey[..., None], 3, axis=2))
    heat = rng.random((5, 6))
    full = overlay(grey / 255.0, heat, alpha=1.0, cmap="gray")  # float image, resized
    assert full.shape == (10, 12, 3)
    np.testing.assert_array_equal(full[..., 0], full[..., 1])
    up = np.clip(cv2.resize(heat.astype(np.float32), (12, 10), interpolation=cv2.INTER_CUBIC), 0, 1)
    assert np.abs(full[..., 0].astype(float) - 255 * up).max() <= 1.0
    rgb = rng.random((10, 12, 3))
    half = overlay(rgb, np.ones((10, 12)), alpha=0.5, cmap="gray")
    np.testing.assert_array_equal(half, np.rint(0.5 * rgb * 255 + 0.5 * 255).astype(np.uint8))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        overlay(grey * 2.0, heat)


def test_plot_helpers_return_figures(xception_acts, mini_xception, faces):
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    _, out = xception_acts
    figs = [
        plot_feature_maps(out["conv2d_1"][0], title="conv2d_1"),
        plot_filters(A.first_layer_filters(mini_xception)),
        plot_layer_heatmaps(
            faces[0],
            {n: A.layer_heatmap(out[n][:1], (48, 48))[0] for n in ["conv2d_1", "conv2d_7"]},
        ),
        plot_activation_histograms(
            A.activation_histograms(out, np.arange(16) % 7, n_classes=7, bins=5),
            mini_xception.class_names,
            layers=["conv2d_1", "conv2d_7"],
            density=True,
        ),  # fmt: skip
    ]
    assert all(isinstance(f, Figure) for f in figs)
    assert [ax.get_title() for ax in figs[0].axes[:3]] == ["#0", "#1", "#2"]
    assert figs[2].axes[1].get_title() == "conv2d_7"
    assert len(figs[3].axes[0].patches) == 7  # one step line per class
    with pytest.raises(ValueError, match=r"0\.\.7"):
        plot_feature_maps(out["conv2d_1"][0], channels=[9])
    for f in figs:
        plt.close(f)


def test_overlay_colours_are_matplotlibs():
    from matplotlib import colormaps

    heat = np.random.default_rng(0).random((20, 30)).astype(np.float32)
    heat[0, :4] = [0.0, 1.0, 1 / 256, 255 / 256]  # the LUT's edges
    for cmap in ("jet", "viridis"):
        expected = np.rint(colormaps[cmap](heat)[..., :3].astype(np.float32) * 255.0)
        np.testing.assert_array_equal(
            overlay(np.zeros((20, 30), np.uint8), heat, alpha=1.0, cmap=cmap), expected
        )
