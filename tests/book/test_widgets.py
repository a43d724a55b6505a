import numpy as np
import pytest

from emonb.book.widgets import (
    FeatureMapExplorer,
    MapExplorer,
    channel_names,
    colorize,
    colour_bar_html,
    live_channel,
    lut_bins,
    png_bytes,
)
from emonb.errors import EmonbError
from emonb.models.runner import predict_proba


@pytest.fixture(scope="module")
def gallery(astronaut):
    from emonb.explain import face_from_file  # noqa: F401  (the same crop the chapters use)
    from emonb.faces import crop, largest_face

    face = crop(astronaut, largest_face(astronaut))
    return [face, face[:, ::-1]]  # the face and its mirror image


def test_colorize_and_png():
    values = np.array([[0.0, 1.0], [2.0, 3.0]])
    # min-max scaled: 0, 1/3, 2/3, 1 -> the LUT bins matplotlib picks, floor(256 v) capped at 255
    np.testing.assert_array_equal(lut_bins(values[None])[0], [[0, 85], [170, 255]])
    img = colorize(values, size=4)
    assert img.shape == (4, 4, 3) and img.dtype == np.uint8
    # nearest-neighbour pixels: each value fills a 2x2 block with its viridis colour
    np.testing.assert_array_equal(img[:2, :2], np.broadcast_to([68, 1, 84], (2, 2, 3)))
    np.testing.assert_array_equal(img[0, 2], [48, 103, 141])
    np.testing.assert_array_equal(img[3, 0], [53, 183, 120])
    np.testing.assert_array_equal(img[3, 3], [253, 231, 36])
    lowest = colorize(np.zeros((3, 3)))
    assert (colorize(np.ones((3, 3))) == lowest).all()  # constant -> the lowest colour
    dead = np.random.default_rng(0).random((3, 3)) * 1e-33  # a dead filter's float noise
    assert (colorize(dead) == colorize(np.zeros((3, 3)))).all()  # black, as in feature_grid
    assert png_bytes(img)[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError):
        colorize(np.zeros((2, 2, 2)))


def test_feature_explorer_reads_once_and_renders_each_filter(mini_xception, gallery):
    from emonb.activations import Activations

    ex = FeatureMapExplorer(mini_xception, gallery, size=64)
    ref = Activations(mini_xception)(gallery)
    assert ex.layers == list(ref) and ex.n_faces == 2
    np.testing.assert_allclose(ex.acts["conv2d_3"], ref["conv2d_3"], atol=1e-5)
    a = ex.render(face=1, layer="conv2d_3", filter=4)
    np.testing.assert_array_equal(a, colorize(ref["conv2d_3"][1, ..., 4], 64))
    assert not np.array_equal(a, ex.render(face=1, layer="conv2d_3", filter=5))
    caption = ex.caption(face=1, layer="conv2d_3", filter=4)
    assert "conv2d_3 (30x30, 16 filters), filter 4" in caption
    with pytest.raises(EmonbError, match="out of range"):
        ex.render(layer="conv2d_1", filter=8)
    with pytest.raises(EmonbError, match="unknown layer"):
        ex.render(layer="dense")


def test_feature_explorer_widget_redraws_on_slider_moves(mini_xception, gallery):
    ex = FeatureMapExplorer(mini_xception, gallery, layers=["conv2d_1", "conv2d_7"], size=32)
    box = ex.widget()
    (face, filt), layer, image, bar, caption = box.children[0].children, *box.children[1:]
    assert filt.value == ex.opening_filter(0, "conv2d_1")  # opens on a live filter
    first = image.value
    filt.value = (filt.value + 1) % 8
    assert image.value != first and f"filter {filt.value}" in caption.value
    assert 'class="emonb-colorbar"' in bar.value
    face.value = 1
    assert caption.value.startswith("face 1,")
    layer.value = "conv2d_7"  # 7 filters: the filter slider follows, to the live channel
    assert filt.max == 6 and "conv2d_7" in caption.value
    assert filt.value == ex.opening_filter(1, "conv2d_7")
    assert f"channel {filt.value}: {mini_xception.class_names[filt.value]}" in caption.value


def test_live_channel_skips_dead_filters():
    maps = np.zeros((4, 4, 3))
    maps[..., 1] = np.arange(16).reshape(4, 4) * 0.1  # live, mean 0.75
    maps[..., 2] = 5.0  # flat (but large): not live
    assert live_channel(maps) == 1
    assert live_channel(np.zeros((2, 2, 4))) == 0  # every map flat: the first
    with pytest.raises(ValueError):
        live_channel(np.zeros((2, 2)))


def test_feature_explorer_opens_on_a_live_filter_and_names_class_channels(mini_xception,
                                                                          gallery):  # fmt: skip
    ex = FeatureMapExplorer(mini_xception, gallery, layers=["conv2d_1", "conv2d_7"], size=32)
    for layer in ex.layers:
        for f in range(ex.n_faces):
            m = ex.acts[layer][f, ..., ex.opening_filter(f, layer)]
            assert np.ptp(m) > 1e-3  # live: not a flat square
            np.testing.assert_allclose(
                m.mean(), ex.acts[layer][f].mean(axis=(0, 1)).max(), rtol=1e-4
            )
    # conv2d_1's filter 0 is dead on this face (float noise about 1e-34): never opened on
    assert np.ptp(ex.acts["conv2d_1"][0, ..., 0]) < 1e-30 and ex.opening_filter(0, "conv2d_1") != 0
    assert ex.channel_names == {"conv2d_7": list(mini_xception.class_names)}
    assert channel_names(mini_xception, ["conv2d_1"]) == {}
    assert "filters), channel 3: happy: mean" in ex.caption(0, "conv2d_7", 3)
    assert "filter 2:" in ex.caption(0, "conv2d_1", 2)
    m = ex.acts["conv2d_1"][0, ..., 2]
    bar = ex.colour_bar(0, "conv2d_1", 2)
    assert 'class="emonb-colorbar"' in bar and "linear-gradient" in bar
    assert f">{m.min():.3g}</span>" in bar and f">{m.max():.3g}</span>" in bar
    assert "own min" in bar  # says each map is scaled on its own


def test_colour_bar_html():
    bar = colour_bar_html("viridis", -1.5, 2.25, "a <note>")
    assert bar.count("rgb(") == 17 and "rgb(68,1,84) 0%" in bar and "rgb(253,231,37) 100%" in bar
    assert (
        '<span class="emonb-lo">-1.5</span>' in bar and '<span class="emonb-hi">2.25</span>' in bar
    )
    assert "a &lt;note&gt;" in bar
    assert '<span class="emonb-lo"></span>' in colour_bar_html("jet")  # filled in by a script


def test_map_explorer_caches_each_method_and_layer(mini_xception, gallery):
    from emonb.methods import METHODS

    ex = MapExplorer(mini_xception, gallery, methods=["gradcam", "saliency"], size=64)
    assert ex.default_layer == "separable_conv2d_8"  # the model's CAM layer, not the last
    assert set(ex._maps) == {("gradcam", ex.default_layer), ("saliency", None)}  # precomputed
    maps = ex.maps("gradcam")
    assert maps.shape == (2, 7, 64, 64) and ex.maps("gradcam") is maps  # cached
    happy = METHODS["gradcam"](mini_xception).explain(gallery, "happy")
    # probabilities through the explainer's runner (BatchNorm folded) agree with the model's
    np.testing.assert_allclose(ex.proba, predict_proba(mini_xception, gallery), atol=1e-4)
    np.testing.assert_allclose(maps[:, 3], happy, atol=1e-4)
    other = ex.maps("gradcam", ex.layers[-1])  # conv2d_7
    assert not np.allclose(other, maps)
    img = ex.render(face=0, method="gradcam", emotion="happy")
    assert img.shape == (64, 64, 3)
    assert "gradcam at separable_conv2d_8" in ex.caption(face=0, method="gradcam", emotion="happy")
    assert "saliency for happy" in ex.caption(face=0, method="saliency", emotion=3)
    top = int(ex.proba[1].argmax())
    np.testing.assert_array_equal(ex.render(face=1, method="saliency", emotion="predicted"),
                                  ex.render(face=1, method="saliency", emotion=top))  # fmt: skip
    with pytest.raises(EmonbError, match="out of range"):
        ex.render(emotion=7)
    with pytest.raises(EmonbError, match="unknown method"):
        ex.render(method="scorecam")
    with pytest.raises(EmonbError, match="unknown method"):
        MapExplorer(mini_xception, gallery, methods=["nope"])
    box = ex.widget()
    method, image, bar = box.children[0].children[1], box.children[3], box.children[4]
    before = image.value
    method.value = "saliency"
    assert image.value != before and box.children[2].disabled  # saliency takes no layer
    shown = ex.maps("saliency")[0, int(ex.proba[0].argmax())]
    assert 'class="emonb-colorbar"' in bar.value and f"max {shown.max():.3g}" in bar.value
