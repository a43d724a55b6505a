"""The default CAM layer: recorded with the model, else the rule (and a notice, once)."""

import json
import warnings
from pathlib import Path

import pytest

from emonb._tf import keras
from emonb.data.manifest import load_manifest
from emonb.errors import EmonbError
from emonb.models import graph
from emonb.models.cam_layer import (
    CamLayerNotice,
    class_channel_heads,
    default_cam_layer,
    rule_cam_layer,
)
from emonb.models.sources import sidecar_path
from emonb.models.tracing import output_shapes
from emonb.models.zoo import as_emotion_model, load_model

ROOT = Path(__file__).resolve().parents[2]


def head_model(head_path: str = "bn_relu") -> keras.Model:
    """conv c1 -> ReLU -> conv c2 (8 ch) -> [BN -> ReLU ->] conv head (7 ch, 1x1) -> GAP ->
    softmax: the mini-Xception's class-per-channel ending, in small."""
    keras.utils.set_random_seed(0)
    inp = keras.Input((12, 12, 1))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="c1")(inp)
    x = keras.layers.Conv2D(8, 3, name="c2")(x)
    x = keras.layers.Conv2D(7, 1, name="head")(x)
    if head_path == "bn_relu":
        x = keras.layers.BatchNormalization(name="bn")(x)
        x = keras.layers.ReLU(name="relu")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    return keras.Model(inp, keras.layers.Activation("softmax", name="out")(x), name="heads")


def dense_model(channels: int = 7) -> keras.Model:
    """conv c1 -> conv c2 (``channels``) -> Flatten -> Dense(7): the last conv is no head."""
    keras.utils.set_random_seed(0)
    inp = keras.Input((10, 10, 1))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="c1")(inp)
    x = keras.layers.Conv2D(channels, 3, activation="relu", name="c2")(x)
    out = keras.layers.Dense(7, activation="softmax")(keras.layers.Flatten()(x))
    return keras.Model(inp, out, name="dense_head")


def residual_model() -> keras.Model:
    """A block whose 1x1 shortcut conv is made after the deeper main branch (as in the
    mini-Xception: ``conv2d_6`` after ``separable_conv2d_8`` in the layer list)."""
    keras.utils.set_random_seed(0)
    inp = keras.Input((12, 12, 1))
    x = keras.layers.Conv2D(4, 3, padding="same", name="stem")(inp)
    a = keras.layers.Conv2D(6, 3, padding="same", name="main1")(x)
    a = keras.layers.ReLU(name="main_relu")(a)
    a = keras.layers.Conv2D(6, 3, padding="same", name="main2")(a)
    b = keras.layers.Conv2D(6, 1, name="shortcut")(x)
    x = keras.layers.Add(name="add")([a, b])
    x = keras.layers.Conv2D(7, 3, name="head")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    return keras.Model(inp, keras.layers.Activation("softmax")(x), name="residual")


def notices(caught) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, CamLayerNotice)]


@pytest.mark.parametrize("head_path", ["direct", "bn_relu"])
def test_the_rule_skips_a_class_per_channel_head_feeding_global_pooling(head_path):
    model = head_model(head_path)
    assert graph.last_conv_layer(model, output_shapes(model)) == "head"
    assert class_channel_heads(model, 7) == ["head"]
    assert rule_cam_layer(model, 7) == "c2"
    assert rule_cam_layer(model, 5) == "head"  # 7 channels for 5 classes: not a class head


@pytest.mark.parametrize("channels", [7, 5])
def test_the_rule_takes_the_last_spatial_conv_when_it_is_no_head(channels):
    model = dense_model(channels)  # Flatten -> Dense, no global pooling
    assert class_channel_heads(model, 7) == []
    assert rule_cam_layer(model, 7) == "c2"


def test_the_rule_takes_the_deeper_branch_not_the_later_shortcut():
    model = residual_model()
    spatial = graph.spatial_conv_layers(model, output_shapes(model))
    assert spatial[-2:] == ["shortcut", "head"]  # the shortcut is listed after main2
    assert rule_cam_layer(model, 7) == "main2"


def test_the_rule_on_the_mini_xception_is_its_measured_layer(mini_xception):
    """Its head conv2d_7 is skipped; separable_conv2d_8 (main branch) is deeper than the
    shortcut conv2d_6 listed after it."""
    model = mini_xception.model
    assert class_channel_heads(model, 7) == ["conv2d_7"]
    assert graph.spatial_conv_layers(model, output_shapes(model))[-3:] == [
        "separable_conv2d_8", "conv2d_6", "conv2d_7"]  # fmt: skip
    assert rule_cam_layer(model, 7) == "separable_conv2d_8"


def test_mini_xception_uses_its_recorded_layer_the_measured_file_chose(mini_xception):
    recorded = json.loads((ROOT / "benchmarks" / "cam_layers_cpu.json").read_text())
    entry = load_manifest()["mini-xception"].model
    assert entry["cam_layer"] == recorded["cam_layer"] == "separable_conv2d_8"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = default_cam_layer(mini_xception)
    assert (found.name, found.source) == ("separable_conv2d_8", "record")
    assert mini_xception.recorded_cam_layer == "separable_conv2d_8"
    assert notices(caught) == []


def test_the_rule_notice_is_given_once_per_model():
    model = head_model()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = default_cam_layer(as_emotion_model(model))
        again = default_cam_layer(as_emotion_model(model))  # a new wrapper, the same model
        other = default_cam_layer(as_emotion_model(dense_model()))
    assert (first.name, first.source) == (again.name, again.source) == ("c2", "rule")
    assert other.name == "c2"
    said = notices(caught)
    assert len(said) == 2 and "'heads'" in said[0] and "'dense_head'" in said[1]
    assert "'c2'" in said[0] and "not chosen by measurement" in said[0]
    assert "emonb evaluate-maps --layers all" in said[0]


def test_a_sidecar_records_the_layer_and_an_unknown_name_lists_the_valid_ones(tmp_path):
    path = tmp_path / "heads.keras"
    head_model().save(path)
    sidecar_path(path).write_text(json.dumps({"cam_layer": "c1"}))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net = load_model(path)
        found = default_cam_layer(net)
    assert net.recorded_cam_layer == "c1" and (found.name, found.source) == ("c1", "record")
    assert notices(caught) == []
    sidecar_path(path).write_text(json.dumps({"cam_layer": "gap"}))
    with pytest.raises(EmonbError, match=r"heads\.keras\.emonb\.json: cam_layer 'gap' is not a "
                                         r"convolutional layer .*valid names: c1, c2, head"):
        load_model(path)
    sidecar_path(path).write_text(json.dumps({"cam_layer": 3}))
    with pytest.raises(EmonbError, match="'cam_layer' must be a layer name"):
        load_model(path)


def test_a_hand_made_record_is_checked_too(mini_xception):
    from dataclasses import replace

    net = replace(mini_xception, recorded_cam_layer="nope")
    with pytest.raises(EmonbError, match="cam_layer 'nope' .*valid names: conv2d_1, conv2d_2"):
        default_cam_layer(net)
