import base64
import dataclasses
import json
import re

import cv2
import numpy as np
import pytest

from emonb.book.explorer import (
    deep_layers,
    map_sprite,
    sprite,
    static_explorer,
    static_map_explorer,
)
from emonb.errors import EmonbError
from emonb.models.runner import predict_proba
from emonb.plotting.colours import colour_lut


def test_sprite_tiles_and_scales_each_map():
    ramp = np.arange(6.0).reshape(2, 3)
    maps = np.stack([np.full((2, 3), 5.0), ramp, -ramp], -1)
    sheet, cols = sprite(maps)
    assert cols == 2 and sheet.shape == (4, 6) and sheet.dtype == np.uint8
    assert (sheet[:2, :3] == 0).all()  # a constant map is black
    assert sheet[0, 3] == 0 and sheet[1, 5] == 255  # the ramp spans 0..255
    assert sheet[2, 0] == 255 and sheet[3, 2] == 0  # the negative ramp, flipped


def test_static_explorer_embeds_every_map_and_no_url():
    rng = np.random.default_rng(0)
    acts = {"a": rng.random((2, 6, 6, 5)).astype(np.float32), "b": rng.random((2, 3, 3, 2)),
            "dense": rng.random((2, 4))}  # fmt: skip
    faces = rng.integers(0, 256, (2, 8, 8), dtype=np.uint8)
    page = static_explorer(acts, faces, uid="x1")
    data = json.loads(re.search(r'<script type="application/json">(.*?)</script>', page, re.S)[1])
    assert [layer["name"] for layer in data["layers"]] == ["a", "b"]  # non-spatial left out
    a = data["layers"][0]
    assert (a["h"], a["w"], a["c"], a["cols"]) == (6, 6, 5, 3) and len(a["sprites"]) == 2
    png = base64.b64decode(a["sprites"][1].split(",", 1)[1])
    sheet = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(sheet, sprite(acts["a"][1])[0])  # lossless
    assert len(data["lut"]) == 256 and 'id="x1"' in page
    assert "http" not in page  # nothing to fetch
    assert len(static_explorer(acts, faces, max_filters=1)) < len(page)
    with pytest.raises(ValueError):
        static_explorer(acts, faces.astype(float))


# ---- explanation maps ------------------------------------------------------------------
def _payload(page: str) -> dict:
    return json.loads(re.search(r'<script type="application/json">(.*?)</script>', page, re.S)[1])


def _png(uri: str) -> np.ndarray:
    png = base64.b64decode(uri.split(",", 1)[1])
    return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)


@pytest.fixture(scope="module")
def toy():
    """A tiny GAP model (20x20 grey in, convolutions c1 and c2) and two random faces."""
    from emonb.models.zoo import as_emotion_model
    from tests.conftest import TOY_MODELS

    net = as_emotion_model(TOY_MODELS["sequential_no_input"]())
    faces = np.random.default_rng(3).integers(0, 256, (2, 20, 20), dtype=np.uint8)
    return net, faces


@pytest.fixture(scope="module")
def toy_maps(toy):
    from emonb.book.explorer import explanation_maps

    net, faces = toy
    return explanation_maps(net, faces, ("saliency", "gradcam", "cam"), ["c1", "c2"])


def test_explanation_maps_batch_every_face_emotion_and_layer(toy, toy_maps):
    from emonb.methods import CAM, GradCAM

    net, faces = toy
    m = toy_maps
    assert m.maps.shape == (2, 3, 7, 2, 20, 20) and m.maps.dtype == np.float32
    assert m.methods == ("saliency", "gradcam", "cam") and m.layers == ("c1", "c2")
    assert m.layered == (False, True, False) and m.class_names == net.class_names
    assert 0 <= m.maps.min() and m.maps.max() <= 1
    # the batched maps are the one-face, one-target maps
    np.testing.assert_allclose(m.maps[1, 1, 4, 0], GradCAM(net, layer="c1").explain(faces[1], 4)[0],
                               atol=1e-5)  # fmt: skip
    np.testing.assert_allclose(m.maps[0, 2, 6, 0], CAM(net).explain(faces[0], 6)[0], atol=1e-5)
    # a method without a layer has the same map in every layer slot; a CAM's layers differ
    np.testing.assert_array_equal(m.maps[:, 0, :, 0], m.maps[:, 0, :, 1])
    assert not np.allclose(m.maps[:, 1, :, 0], m.maps[:, 1, :, 1])
    np.testing.assert_allclose(m.proba, predict_proba(net, faces), atol=1e-5)
    np.testing.assert_array_equal(m.faces, faces)  # model_view of a 0..255 grey model input


def test_map_explorer_payload_decodes_to_the_lut_bins_of_the_maps(toy_maps):
    from emonb.book.widgets import lut_bins

    m = toy_maps
    page = static_map_explorer(m, uid="m1")
    data = _payload(page)
    assert [x["name"] for x in data["methods"]] == list(m.methods)
    assert [x["layered"] for x in data["methods"]] == [False, True, False]
    assert data["layers"] == ["c1", "c2"] and data["emotions"] == list(m.class_names)
    assert (data["h"], data["w"], data["alpha"]) == (20, 20, 0.5)
    for i, method in enumerate(data["methods"]):
        rows = 2 if m.layered[i] else 1
        for f, uri in enumerate(method["sprites"]):
            sheet = _png(uri)  # one row of 7 emotion tiles per layer, lossless
            assert sheet.shape == (rows * 20, 7 * 20) and sheet.dtype == np.uint8
            for layer in range(rows):
                tiles = lut_bins(m.maps[f, i, :, layer])
                for e in range(7):
                    tile = sheet[layer * 20 : (layer + 1) * 20, e * 20 : (e + 1) * 20]
                    np.testing.assert_array_equal(tile, tiles[e])
            np.testing.assert_array_equal(sheet, map_sprite(m, f, i))
    np.testing.assert_array_equal(_png(data["faces"][1]), m.faces[1])
    np.testing.assert_allclose(data["proba"], m.proba, atol=1e-4)
    jet = colour_lut("jet").round().astype(int).tolist()  # the figures' overlay colours
    assert data["lut"] == jet
    assert "http" not in page  # nothing to fetch


def test_map_explorer_markup(toy_maps):
    page = static_map_explorer(toy_maps, uid="m1", emotion="sad")
    assert re.search(r'<div id="m1" class="emonb-explorer" data-kind="maps"', page)
    for cls in ("emonb-face", "emonb-method", "emonb-emotion", "emonb-layer", "emonb-caption",
                "emonb-thumb"):  # fmt: skip
        assert page.count(f'class="{cls}"') == 1, cls
    assert re.search(r'<select class="emonb-method"><option value="0" selected>saliency<', page)
    assert '<option value="4" selected>sad</option>' in page  # the emotion shown first
    assert '<option value="1" selected>c2</option>' in page  # the deepest layer first
    opened = static_map_explorer(toy_maps, layer="c1")  # e.g. the model's CAM layer
    assert '<option value="0" selected>c1</option>' in opened and ">c2</option>" in opened
    assert '<option value="1" selected>c2</option>' not in opened
    assert "<canvas" in page and "dataset.shown" in page
    default = static_map_explorer(toy_maps)
    predicted = toy_maps.class_names[int(toy_maps.proba[0].argmax())]
    assert f"selected>{predicted}</option>" in default  # default: the model's prediction
    assert "<label>layer <select" in page
    layerless = dataclasses.replace(toy_maps, layered=(False,) * 3)
    assert "<label hidden>layer <select" in static_map_explorer(layerless)
    features = static_explorer({"a": np.zeros((1, 2, 2, 1))}, np.zeros((1, 4, 4), np.uint8))
    assert 'class="emonb-explorer" data-kind="features"' in features


@pytest.mark.parametrize("make", ["maps", "features"])
def test_explorers_escape_the_uid(toy_maps, make):
    uid = 'x"></div><script>alert(1)</script><!--'
    if make == "maps":
        page = static_map_explorer(toy_maps, uid=uid)
    else:
        page = static_explorer({"a": np.ones((1, 2, 2, 1))}, np.zeros((1, 4, 4), np.uint8), uid=uid)
    assert "alert(1)</script>" not in page and "<!--" not in page
    assert 'id="x&quot;&gt;&lt;/div&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;!--"' in page
    # the script finds its root by the same id, as a JSON string with no "<"
    assert 'document.getElementById("x\\">\\u003c/div>\\u003cscript>' in page
    with pytest.raises(ValueError, match="uid"):
        static_map_explorer(toy_maps, uid="") if make == "maps" else static_explorer(
            {"a": np.ones((1, 2, 2, 1))}, np.zeros((1, 4, 4), np.uint8), uid=""
        )


def test_map_explorer_errors_name_the_valid_choices(toy, toy_maps):
    from emonb.book.explorer import explanation_maps

    net, faces = toy
    with pytest.raises(EmonbError, match="unknown method 'nope'; choose one of: saliency"):
        explanation_maps(net, faces, ("gradcam", "nope"))
    with pytest.raises(EmonbError, match=r"non-spatial layer\(s\) 'out'; choose from c1, c2"):
        explanation_maps(net, faces, ("gradcam",), ["c2", "out"])
    with pytest.raises(EmonbError, match="no method"):
        explanation_maps(net, faces, ())
    with pytest.raises(EmonbError, match="no layer"):
        explanation_maps(net, faces, ("gradcam",), [])
    with pytest.raises(EmonbError, match="repeat"):
        explanation_maps(net, faces, ("gradcam", "gradcam"))
    with pytest.raises(EmonbError, match="unknown method 'smothgrad'"):
        explanation_maps(net, faces, ("gradcam",), options={"smothgrad": {"samples": 2}})
    with pytest.raises(ValueError, match="unknown emotion 'bored'; choose one of angry"):
        static_map_explorer(toy_maps, emotion="bored")
    with pytest.raises(ValueError, match="out of range 0..6"):
        static_map_explorer(toy_maps, emotion=7)
    with pytest.raises(ValueError, match="alpha"):
        static_map_explorer(toy_maps, alpha=2)
    with pytest.raises(ValueError, match="layer 'c3' is not one of the maps' layers: c1, c2"):
        static_map_explorer(toy_maps, layer="c3")
    with pytest.raises(TypeError, match="ExplanationMaps"):
        static_map_explorer(toy_maps.maps)
    broken = dataclasses.replace(toy_maps, layers=("c2",))
    with pytest.raises(ValueError, match="do not match"):
        static_map_explorer(broken)


def test_deep_layers_take_the_last_layer_of_each_resolution(toy):
    net, _ = toy  # c1 18x18, pool, c2 7x7
    assert deep_layers(net, 3) == ["c1", "c2"] and deep_layers(net, 1) == ["c2"]
    with pytest.raises(EmonbError, match="count must be an integer >= 1"):
        deep_layers(net, 0)


def test_explanation_maps_take_a_bare_keras_model(toy, toy_maps, unchanged):
    from emonb.book.explorer import explanation_maps
    from tests.conftest import TOY_MODELS

    model, (_, faces) = TOY_MODELS["sequential_no_input"](), toy
    check = unchanged(model)
    m = explanation_maps(model, faces, ("cam",))
    assert m.layers == ("c2",) and m.layered == (False,)  # default: the CAM layer (by the rule)
    np.testing.assert_allclose(m.maps[:, 0], toy_maps.maps[:, 2, :, :1], atol=1e-6)
    check()


def test_static_explorer_opens_on_a_live_filter_names_classes_and_has_a_colour_bar():
    from emonb.book.widgets import live_channel

    rng = np.random.default_rng(1)
    a = rng.random((2, 4, 4, 3)).astype(np.float32)
    a[..., 0] = 0.0  # a dead filter first, as conv2d_1's on chapter 03's face
    a[1, ..., 2] += 5  # face 1's most active filter is 2
    heads = rng.random((2, 2, 2, 7)).astype(np.float32)
    faces = rng.integers(0, 256, (2, 8, 8), dtype=np.uint8)
    names = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    page = static_explorer({"a": a, "head": heads}, faces, channel_names={"head": names})
    data = _payload(page)
    first = data["layers"][0]["open"][0]
    assert first == live_channel(a[0]) != 0 and data["layers"][0]["open"][1] == 2
    assert f'class="emonb-filter" type="range" min="0" max="2" value="{first}"' in page
    assert "filt.value = L.open[f]" in page  # a new layer opens on its live filter too
    assert "names" not in data["layers"][0] and data["layers"][1]["names"] == list(names)
    assert 'class="emonb-filter-name"' in page and "L.names[k]" in page
    # the colour bar: the colormap and the shown map's raw range, filled in by the script
    assert page.count('class="emonb-colorbar"') == 1 and "linear-gradient" in page
    assert "own min" in page and "scale(L.range[f][k])" in page
    np.testing.assert_allclose(data["layers"][0]["range"][1][2], [a[1, ..., 2].min(),
                                                                  a[1, ..., 2].max()], rtol=1e-3)  # fmt: skip
    with pytest.raises(ValueError, match="channel names"):
        static_explorer({"head": heads}, faces, channel_names={"head": names[:3]})


def test_map_explorer_has_a_colour_bar_with_each_maps_range(toy_maps):
    page = static_map_explorer(toy_maps)
    data = _payload(page)
    assert page.count('class="emonb-colorbar"') == 1 and 'data-cmap="jet"' in page
    assert "scale(M.range[f][e][l])" in page
    r = np.array(data["methods"][1]["range"])  # [face][emotion][layer] -> [min, max]
    assert r.shape == (2, 7, 2, 2)
    np.testing.assert_allclose(r[1, 4, 0], [toy_maps.maps[1, 1, 4, 0].min(),
                                            toy_maps.maps[1, 1, 4, 0].max()], atol=1e-3)  # fmt: skip


def test_cam_explorer_settings_store_the_cam_layer_and_one_before_it(mini_xception):
    from emonb.book.explorer import CAM_EXPLORER_QUICK_FACES, cam_explorer_settings
    from emonb.book.widgets import DEFAULT_METHODS

    for quick in (True, False):
        s = cam_explorer_settings(mini_xception, quick=quick)
        assert s["layers"] == ["separable_conv2d_6", "separable_conv2d_8", "conv2d_7"]
        # every method chapter 05's text names: saliency, guided backprop and four CAMs
        assert s["methods"] == DEFAULT_METHODS and {"gradcam", "gradcam_plus_plus", "layercam",
                                                    "cam", "saliency", "guided_backprop"} <= set(s["methods"])  # fmt: skip
    assert cam_explorer_settings(mini_xception, quick=True)["faces"] == CAM_EXPLORER_QUICK_FACES
    assert cam_explorer_settings(mini_xception, quick=False)["faces"] is None
    # a CAM layer off the deep layers is added, with the layer before it
    s = cam_explorer_settings(mini_xception, quick=True, cam_layer="conv2d_3")
    assert s["layers"][:2] == ["separable_conv2d_2", "conv2d_3"] and len(s["layers"]) == 5
    with pytest.raises(EmonbError, match="not a spatial convolution"):
        cam_explorer_settings(mini_xception, cam_layer="dense")
