"""The orchestrator: reference maps, method settings, JSON, and one small run end to end."""

import json

import numpy as np
import pytest

from emonb.data.fer2013 import load_faces
from emonb.metrics.evaluate import REFERENCES, evaluate_maps, json_safe, method_factory
from emonb.metrics.randomization import randomization_stages
from emonb.models.preprocessing import ModelSpec


class _Net:  # all a reference map needs: the input size
    spec = ModelSpec(input_size=(8, 8))


def test_reference_maps():
    images = np.zeros((3, 8, 8), np.uint8)
    centre = method_factory("centre")(_Net).explain(images)
    assert centre.shape == (3, 8, 8) and (centre == centre[0]).all()  # the same for every face
    np.testing.assert_array_equal(centre[0, 3:5, 3:5], 1.0)  # the peak: the four middle pixels
    assert centre[0, 0, 0] == centre[0, 7, 7] == 0.0  # corners: the minimum
    np.testing.assert_allclose(centre[0], centre[0].T)  # a round Gaussian
    np.testing.assert_allclose(centre[0], centre[0, ::-1, ::-1])
    noise = method_factory("random", seed=5)(_Net).explain(images)
    np.testing.assert_array_equal(noise, method_factory("random", 5)(_Net).explain(images))
    assert not np.array_equal(noise, method_factory("random", 6)(_Net).explain(images))
    assert set(REFERENCES) == {"random", "centre"}


def test_method_factory_passes_settings_and_rejects_unknown_names(mini_xception):
    smooth = method_factory("smoothgrad", settings={"samples": 2})(mini_xception)
    assert smooth.samples == 2
    assert method_factory("smoothgrad")(mini_xception).samples == 20  # the method's default
    with pytest.raises(Exception, match="unknown method 'nope'.*saliency"):
        method_factory("nope")
    with pytest.raises(Exception, match="takes no settings"):
        method_factory("centre", settings={"samples": 2})


def test_json_safe_makes_strict_json():
    doc = {"a": np.float32("nan"), "b": [np.int64(3), np.bool_(True)], 1: (np.float64(2.5),)}
    assert json_safe(doc) == {"a": None, "b": [3, True], "1": [2.5]}
    json.dumps(json_safe(doc), allow_nan=False)


@pytest.mark.parametrize(("arg", "value"), [("n", 0), ("steps", 1), ("stages", 0), ("n_random", 0)])
def test_evaluate_maps_checks_sizes_first(arg, value):
    with pytest.raises(Exception, match=f"{arg} must be at least"):
        evaluate_maps(None, None, **{arg: value})


def test_evaluate_maps_end_to_end(mini_xception):
    faces = load_faces("synthetic", n_synthetic=140, seed=0)
    ev = evaluate_maps(mini_xception, faces, methods=["saliency", "gradcam"], n=14, steps=4,
                       stages=2, n_random=3, n_regions=12, pointing_net=mini_xception,
                       pointing_faces=faces, method_settings={"smoothgrad": {"samples": 2}},
                       log=None)  # fmt: skip
    s = ev.settings
    assert s["n"] == 14 and s["region_faces"] == 12 and s["randomization_faces"] == 3
    assert s["method_settings"] == {}  # smoothgrad is not evaluated: its settings are unused
    assert list(ev.table.index).count("random") == 1 and "centre" in ev.table.index
    score = ev.table["insertion - deletion"].to_numpy()
    assert (np.diff(score) <= 0).all()  # ranked
    difference = ev.table["insertion AUC"] - ev.table["deletion AUC"]
    np.testing.assert_allclose(score, difference, atol=1e-6)
    assert ev.table.loc["centre", "randomization spearman (top)"] == 1.0  # ignores the model
    assert ev.table.loc["saliency", "randomization spearman (mean)"] < 1.0
    order = randomization_stages(mini_xception.model)
    assert s["randomization_stages"] == [order[0], order[-1]]  # the top layer, then every layer
    assert set(ev.claims["evidence"]) == {"occlusion drop", "gradcam mass share"}
    assert ev.claims["faces"].sum() <= 2 * 12
    # random maps put the cue's area share of their mass on the cue
    p = ev.pointing
    assert p.loc["random", "energy share"] == pytest.approx(p.attrs["cue area"], abs=0.03)
    doc = json.loads(json.dumps(ev.to_json(), allow_nan=False))
    assert len(doc["table"]) == 4 and doc["curves"]["saliency"]["deletion"]["fractions"][-1] == 1.0
