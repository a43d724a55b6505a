"""The CAM layer sweep: one row per (method, spatial layer), the numbers evaluate_maps gives
for the method at that layer, the choice rule, and ``emonb evaluate-maps --layers``."""

import json
import math

import pytest

from emonb._tf import keras
from emonb.data.fer2013 import load_faces
from emonb.errors import EmonbError
from emonb.metrics.evaluate import evaluate_maps
from emonb.metrics.layers import (
    SWEEP_METHODS,
    choose_cam_layer,
    layer_comparison,
    layer_sweep,
    layer_table,
    layered_methods,
    sweep_layers,
)
from emonb.metrics.settings import EvaluationSettings
from emonb.models.preprocessing import ModelSpec
from emonb.models.zoo import EmotionModel

#: The toy model's convolutional layers with a spatial output, input to output ("c4" is 1x1).
SPATIAL = {"c1": (23, 23, 4), "c2": (11, 11, 6), "c3": (5, 5, 8)}


@pytest.fixture(scope="module")
def net() -> EmotionModel:
    """A small CNN on 48x48 faces: three strided convolutions, then a 1x1 class layer."""
    keras.utils.set_random_seed(3)
    inp = keras.Input((48, 48, 1))
    x = keras.layers.Conv2D(4, 3, strides=2, activation="relu", name="c1")(inp)
    x = keras.layers.Conv2D(6, 3, strides=2, activation="relu", name="c2")(x)
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu", name="c3")(x)
    x = keras.layers.Conv2D(7, 5, name="c4")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    out = keras.layers.Softmax(name="probs")(x)
    return EmotionModel(keras.Model(inp, out), ModelSpec(input_size=(48, 48)), "toy")


@pytest.fixture(scope="module")
def faces():
    return load_faces("synthetic", n_synthetic=140, seed=0)


SMALL = EvaluationSettings(n=14, steps=4, stages=1, n_random=2, n_regions=12, n_road=6,
                           n_robust=2, sensitivity_samples=1, correlation_runs=2,
                           regions="canonical")  # fmt: skip


def test_layered_methods_are_the_registrys_cams():
    cams = layered_methods()
    assert {"gradcam", "gradcam_plus_plus", "layercam", "scorecam", "guided_gradcam"} <= set(cams)
    assert not {"saliency", "occlusion", "cam", "rise"} & set(cams)  # cam takes no layer
    assert set(SWEEP_METHODS) <= set(cams)


def test_sweep_layers_all_named_and_unknown(net):
    assert sweep_layers(net) == list(SPATIAL)  # input to output; the 1x1 layer is left out
    assert sweep_layers(net, ["c3", "c1", "c3"]) == ["c3", "c1"]
    for bad in (["c4"], ["gap"], ["nope"]):
        with pytest.raises(EmonbError, match=f"unknown layer '{bad[0]}'.*c1, c2, c3 \\(or 'all'\\)"):
            sweep_layers(net, bad)


def test_one_row_per_method_and_spatial_layer(net, faces):
    rows = layer_sweep(net, faces, methods=["gradcam", "layercam"], settings=SMALL, road=False,
                       log=None)  # fmt: skip
    assert [(r["method"], r["layer"]) for r in rows] == [
        (m, layer) for m in ("gradcam", "layercam") for layer in SPATIAL]
    for r in rows:
        assert tuple(r["shape"]) == SPATIAL[r["layer"]] and r["faces"] == 14
        d = r["insertion_minus_deletion"]
        assert d["lo"] <= d["mean"] <= d["hi"]
        assert d["mean"] == pytest.approx(r["insertion_auc"] - r["deletion_auc"], abs=1e-6)
        assert r["road_gap"] is None and r["road_faces"] == 0
    table = layer_table(rows)
    assert len(table) == 6 and "ROAD" not in table
    with pytest.raises(EmonbError, match="'saliency'.*choose from .*gradcam"):
        layer_sweep(net, faces, methods=["gradcam", "saliency"], settings=SMALL, log=None)


@pytest.mark.parametrize("method", ["gradcam", "layercam"])
def test_a_row_is_what_evaluate_maps_gives_at_that_layer(net, faces, method):
    """Same faces, targets, metric objects and bootstrap seeds: identical numbers."""
    rows = layer_sweep(net, faces, methods=[method], layers=["c2"], settings=SMALL, log=None)
    (row,) = rows
    at_c2 = EvaluationSettings(**{**SMALL.__dict__, "method_settings": {method: {"layer": "c2"}}})
    table = evaluate_maps(net, faces, methods=[method], settings=at_c2, log=None).table
    got = table.loc[method]
    d, g = row["insertion_minus_deletion"], row["road_gap"]
    assert (d["mean"], d["lo"], d["hi"]) == (got["insertion - deletion"], got["lo"], got["hi"])
    assert (g["mean"], g["lo"], g["hi"]) == (got["ROAD (LeRF - MoRF)"], got["ROAD (LeRF - MoRF) lo"],
                                             got["ROAD (LeRF - MoRF) hi"])  # fmt: skip
    assert row["deletion_auc"] == got["deletion AUC"] and row["road_faces"] == 6
    # and the default layer (c3: by the rule, the deepest spatial conv; c4, the class head
    # feeding global pooling, is 1x1) is what evaluate_maps uses unasked, and records
    (last,) = layer_sweep(net, faces, methods=[method], layers=["c3"], settings=SMALL, log=None)
    plain = evaluate_maps(net, faces, methods=[method], settings=SMALL, log=None)
    assert last["insertion_minus_deletion"]["mean"] == plain.table.loc[method, "insertion - deletion"]
    assert (plain.settings["cam_layer"], plain.settings["cam_layer_source"]) == ("c3", "rule")


def test_evaluate_maps_reads_a_recorded_layer_on_the_randomized_copies_too(net, faces):
    """The randomized copies record no layer; they are explained at the model's (c2, the
    record), not at the rule's (c3), so no notice says the rule chose."""
    import warnings
    from dataclasses import replace

    from emonb.models.cam_layer import CamLayerNotice

    recorded = replace(net, recorded_cam_layer="c2")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ev = evaluate_maps(recorded, faces, methods=["gradcam"], settings=SMALL, log=None)
    assert not [w for w in caught if issubclass(w.category, CamLayerNotice)]
    assert (ev.settings["cam_layer"], ev.settings["cam_layer_source"]) == ("c2", "record")
    assert ev.settings["method_settings"] == {}  # the layer is recorded once, not per method
    (at_c2,) = layer_sweep(net, faces, methods=["gradcam"], layers=["c2"], settings=SMALL, log=None)
    assert at_c2["insertion_minus_deletion"]["mean"] == ev.table.loc["gradcam", "insertion - deletion"]


def test_images_are_swept_whole_and_references_scored_once(net, faces):
    images = faces.images[:9]
    row, centre = layer_sweep(net, images, methods=["gradcam"], layers="c3", settings=SMALL,
                              road=False, references=["centre"], log=None)  # fmt: skip
    assert row["faces"] == centre["faces"] == 9 and row["layer"] == "c3"
    assert centre["method"] == "centre" and centre["layer"] is None and centre["shape"] is None
    assert choose_cam_layer([row, centre]) == "c3"
    assert layer_table([row, centre])["layer"].tolist() == ["c3", ""]
    with pytest.raises(EmonbError, match="reference 'layercam' takes a layer"):
        layer_sweep(net, images, methods=["gradcam"], references=["layercam"], log=None)
    with pytest.raises(EmonbError, match="unknown method 'nope'"):
        layer_sweep(net, images, methods=["gradcam"], references=["nope"], log=None)


def _row(method, layer, mean):
    return {"method": method, "layer": layer, "insertion_minus_deletion": {"mean": mean}}


def test_choose_cam_layer_takes_the_highest_mean_and_ties_go_later():
    rows = [_row("gradcam", "a", 0.1), _row("gradcam", "b", 0.3), _row("gradcam", "c", 0.2),
            _row("layercam", "a", 0.9), _row("gradcam", "d", float("nan"))]  # fmt: skip
    assert choose_cam_layer(rows) == "b"
    assert choose_cam_layer(rows, "layercam") == "a"
    tied = [_row("gradcam", "a", 0.3), _row("gradcam", "b", 0.3), _row("gradcam", "c", 0.1)]
    assert choose_cam_layer(tied) == "b"
    assert choose_cam_layer([_row("gradcam", "a", -0.2)]) == "a"  # negative scores still rank
    with pytest.raises(EmonbError, match="no layer-sweep scores for 'xgradcam'.*gradcam, layercam"):
        choose_cam_layer(rows, "xgradcam")
    with pytest.raises(EmonbError, match="none finite"):
        choose_cam_layer([_row("gradcam", "a", math.nan)])


def test_layer_comparison_sets_layers_side_by_side():
    import pandas as pd

    def row(method, layer, mean, road=None):
        return {"method": method, "layer": layer,
                "insertion_minus_deletion": {"mean": mean, "lo": mean - 0.1, "hi": mean + 0.1},
                "road_gap": None if road is None else {"mean": road, "lo": road, "hi": road}}  # fmt: skip

    rows = [row("gradcam", "head", 0.03, 0.5), row("layercam", "head", 0.03),
            row("gradcam", "mid", 0.25), row("centre", None, 0.28)]  # fmt: skip
    side = layer_comparison(rows)
    assert list(side.index) == ["gradcam", "layercam", "centre"]
    assert list(side.columns) == ["head", "mid", "no layer"]
    assert side.loc["gradcam", "mid"] == "0.250 [0.150, 0.350]" and side.loc["layercam", "mid"] == ""
    assert side.loc["centre", "no layer"] == "0.280 [0.180, 0.380]"
    road = layer_comparison(rows, value="road_gap", decimals=1)
    assert road.to_dict() == {"head": {"gradcam": "0.5 [0.5, 0.5]"}}
    # the layer an evaluate_maps table used comes first, from the table, for the swept methods
    table = pd.DataFrame({"insertion - deletion": [0.27, 0.4, 0.1], "lo": [0.2, 0.3, 0.0],
                          "hi": [0.3, 0.5, 0.2]}, index=["gradcam", "occlusion", "layercam"])  # fmt: skip
    both = layer_comparison(rows[:2], table, "deep")
    assert list(both.columns) == ["deep", "head"] and list(both.index) == ["gradcam", "layercam"]
    assert both.loc["gradcam"].tolist() == ["0.270 [0.200, 0.300]", "0.030 [-0.070, 0.130]"]
    with pytest.raises(EmonbError, match="give both"):
        layer_comparison(rows, table)
    with pytest.raises(EmonbError, match="value must be one of"):
        layer_comparison(rows, value="seconds")


def test_cli_layers_end_to_end(tmp_path, capsys, monkeypatch):
    from tests.test_cli import emonb

    monkeypatch.setenv("EMONB_FER2013", "synthetic")
    out = tmp_path / "maps.json"
    code, stdout, err = emonb(capsys, monkeypatch, "evaluate-maps", "--quick", "--methods",
                              "saliency,gradcam", "--layers", "conv2d_7,separable_conv2d_8",
                              "--pointing-model", "none", "--json", str(out))  # fmt: skip
    assert code == 0, err
    doc = json.loads(out.read_text())
    rows = doc["layer_sweep"]
    assert [(r["method"], r["layer"]) for r in rows] == [("gradcam", "conv2d_7"),
                                                         ("gradcam", "separable_conv2d_8")]
    assert rows[0]["faces"] == doc["settings"]["n"] == 48  # quick mode caps the faces
    assert rows[0]["shape"] == [4, 4, 7] and rows[1]["shape"] == [8, 8, 128]
    assert doc["cam_layer"] == choose_cam_layer(rows) and doc["cam_layer_method"] == "gradcam"
    assert "layer sweep (48 faces" in stdout and "CAM layer (gradcam: " in stdout
    # the ranking used the model's recorded CAM layer, and says so
    assert (doc["settings"]["cam_layer"], doc["settings"]["cam_layer_source"]) == (
        "separable_conv2d_8", "record")
    assert "CAM-family methods at separable_conv2d_8 (recorded with the model)" in stdout
    # the sweep at the default layer is the evaluation's own gradcam row
    gradcam = next(r for r in doc["table"] if r["method"] == "gradcam")
    assert rows[1]["insertion_minus_deletion"]["mean"] == pytest.approx(
        gradcam["insertion - deletion"], abs=1e-12)
    assert rows[0]["insertion_minus_deletion"]["mean"] != pytest.approx(
        gradcam["insertion - deletion"], abs=1e-6)


def test_cli_layers_errors_come_before_the_work(capsys, monkeypatch):
    from tests.test_cli import emonb

    monkeypatch.setenv("EMONB_FER2013", "synthetic")
    code, stdout, err = emonb(capsys, monkeypatch, "evaluate-maps", "--quick", "--methods",
                              "gradcam", "--layers", "conv2d_7,nope", "--pointing-model", "none")
    assert code == 1 and "explaining" not in stdout
    assert "unknown layer 'nope'" in err and "conv2d_1, conv2d_2" in err and "conv2d_7" in err
    assert len(err.strip().splitlines()) == 1
    code, stdout, err = emonb(capsys, monkeypatch, "evaluate-maps", "--methods", "saliency",
                              "--layers", "all")  # fmt: skip
    assert code == 1 and "--methods names none" in err
    code, stdout, err = emonb(capsys, monkeypatch, "evaluate-maps", "--layers", " , ")
    assert code == 1 and "--layers: no layer names" in err


def test_cam_layers_benchmark_quick(tmp_path):
    """benchmarks/cam_layers.py on the stand-in, small: the committed file's keys, a row per
    spatial layer on Training, the chosen layer and the default on PublicTest with the
    references, and a complete provenance."""
    from tests.test_benchmarks import _script, assert_same_keys

    out = tmp_path / "cam_layers.json"
    argv = ["--data", "synthetic", "--methods", "gradcam", "--n-train", "14", "--n-test", "14",
            "--steps", "4", "--n-road", "4", "--json", str(out)]  # fmt: skip
    assert _script("cam_layers").main(argv) == 0
    new = assert_same_keys(out, "cam_layers_cpu.json")
    assert new["provenance"]["command"].endswith(f"cam_layers.py {' '.join(argv)}")
    layers = [r["layer"] for r in new["training_sweep"]]
    assert len(layers) == 15 and layers[-1] == new["default_layer"] == "conv2d_7"
    assert new["cam_layer"] == new["chosen_on_training"]["gradcam"] == choose_cam_layer(
        new["training_sweep"])
    assert {(r["method"], r["layer"]) for r in new["publictest"]} == {
        ("gradcam", new["cam_layer"]), ("gradcam", "conv2d_7"), ("centre", None),
        ("occlusion", None)}
    assert all(r["faces"] == 14 for r in new["publictest"])
