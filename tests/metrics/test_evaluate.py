"""The orchestrator: reference maps, method settings, JSON, and one small run end to end."""

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from emonb.config import CLASS_NAMES
from emonb.data.fer2013 import load_faces
from emonb.metrics.evaluate import REFERENCES, evaluate_maps, method_factory
from emonb.metrics.randomization import randomization_stages
from emonb.metrics.settings import EvaluationSettings
from emonb.models.preprocessing import ModelSpec


class _Net:  # all a reference map needs: the input size and the preprocessing
    spec = ModelSpec(input_size=(8, 8))

    @staticmethod
    def preprocess(images):
        return np.asarray(images, np.float32)[..., None] / 255


def test_reference_maps():
    images = np.zeros((3, 8, 8), np.uint8)
    centre = method_factory("centre")(_Net).explain(images)
    assert centre.shape == (3, 8, 8) and (centre == centre[0]).all()  # the same for every face
    np.testing.assert_array_equal(centre[0, 3:5, 3:5], 1.0)  # the peak: the four middle pixels
    assert centre[0, 0, 0] == centre[0, 7, 7] == 0.0  # corners: the minimum
    np.testing.assert_allclose(centre[0], centre[0].T)  # a round Gaussian
    np.testing.assert_allclose(centre[0], centre[0, ::-1, ::-1])
    faces = np.arange(3 * 64, dtype=np.uint8).reshape(3, 8, 8)
    noise = method_factory("random", seed=5)(_Net).explain(faces, [0, 1, 2])
    np.testing.assert_array_equal(noise, method_factory("random", 5)(_Net).explain(faces, [0, 1, 2]))
    assert not np.array_equal(noise, method_factory("random", 6)(_Net).explain(faces, [0, 1, 2]))
    # a face's map depends on its pixels and class, not on the faces beside it
    np.testing.assert_array_equal(noise[1:2], method_factory("random", 5)(_Net).explain(faces[1:2], [1]))
    assert not np.array_equal(noise[1], method_factory("random", 5)(_Net).explain(faces[1:2], [2])[0])
    assert not np.array_equal(noise[1], method_factory("random", 5)(_Net).explain(faces[1:2] + 1, [1])[0])
    assert set(REFERENCES) == {"random", "centre"}


def test_method_factory_passes_settings_and_rejects_unknown_names(mini_xception):
    smooth = method_factory("smoothgrad", settings={"samples": 2})(mini_xception)
    assert smooth.samples == 2
    assert method_factory("smoothgrad")(mini_xception).samples == 20  # the method's default
    with pytest.raises(Exception, match="unknown method 'nope'.*saliency"):
        method_factory("nope")
    with pytest.raises(Exception, match="takes no settings"):
        method_factory("centre", settings={"samples": 2})


def test_evaluate_maps_end_to_end(mini_xception):
    faces = load_faces("synthetic", n_synthetic=140, seed=0)
    settings = EvaluationSettings(n=14, steps=4, stages=2, n_random=3, n_regions=12,
                                  method_settings={"smoothgrad": {"samples": 2}})  # fmt: skip
    ev = evaluate_maps(mini_xception, faces, methods=["saliency", "gradcam"], settings=settings,
                       pointing_net=mini_xception, pointing_faces=faces, log=None)  # fmt: skip
    s = ev.settings
    assert s["n"] == 14 and s["region_faces"] == 12 and s["randomization_faces"] == 3
    assert s["method_settings"] == {}  # smoothgrad is not evaluated: its settings are unused
    # gradcam read the layer recorded with the model (and the pointing model's, the same)
    assert (s["cam_layer"], s["cam_layer_source"]) == ("separable_conv2d_8", "record")
    assert s["pointing_cam_layer"] == "separable_conv2d_8"
    assert ev.agreement is None  # two methods: no ranking agreement to report
    assert list(ev.table.index).count("random") == 1 and "centre" in ev.table.index
    score = ev.table["insertion - deletion"].to_numpy()
    assert (np.diff(score) <= 0).all()  # ranked
    difference = ev.table["insertion AUC"] - ev.table["deletion AUC"]
    np.testing.assert_allclose(score, difference, atol=1e-6)
    assert ev.table.loc["centre", "randomization spearman (top)"] == 1.0  # ignores the model
    assert ev.table.loc["saliency", "randomization spearman (mean)"] < 1.0
    order = randomization_stages(mini_xception.model)
    assert s["randomization_stages"] == [order[0], order[-1]]  # the top layer, then every layer
    assert s["randomization_data"] == "synthetic stand-in PublicTest (the first of the sample)"
    assert ev.randomization.faces.startswith("3 faces of synthetic") and len(ev.randomization.images) == 3
    assert set(ev.claims["evidence"]) == {"occlusion drop", "gradcam mass share"}
    assert ev.claims["faces"].sum() <= 2 * 12
    # random maps put the cue's area share of their mass on the cue
    p = ev.pointing
    assert p.loc["random", "energy share"] == pytest.approx(p.attrs["cue area"], abs=0.03)
    # one task per method of the pointing game; their rows are the table of one call
    from emonb.metrics.suite import pointing_sample, pointing_table

    assert len(s["engine"]["task_seconds"]["pointing"]) == len(p) == 4
    data = pointing_sample(faces, 14, 0)
    whole = pointing_table(mini_xception, data, {m: method_factory(m, 0) for m in p.index}, 0)
    pd.testing.assert_frame_equal(p, whole)
    assert p.attrs == whole.attrs and p.attrs["faces"] == 14
    doc = json.loads(json.dumps(ev.to_json(), allow_nan=False))
    assert len(doc["table"]) == 4 and doc["curves"]["saliency"]["deletion"]["fractions"][-1] == 1.0
    # the stand-in has no anatomy: the default mesh regions fall back to the canonical boxes
    assert s["regions"] == "canonical" and ev.au is None and ev.changes is None
    assert doc["action_units"] is None and "mesh_faces" not in s
    assert "au_activity" not in doc and "au_use" not in doc  # measured on meshed faces only


def test_evaluate_maps_on_each_face_own_regions(mini_xception):
    """Real faces (the manifest's photos and clip) and a grey square the mesh rejects: the
    regions are each face's anatomy, the rejected face is left out and counted, the
    canonical claims equal a canonical run on the accepted faces, ``changes`` lists exactly
    the verdicts that differ, and the action units come as AU01...AU38 in the JSON."""
    from emonb.anatomy.au_maps import au_names
    from emonb.anatomy.regions import ANATOMY_NAMES, AU_NAMES
    from emonb.data.fer2013 import FaceDataset
    from emonb.faces.mesh import FaceMesh
    from tests.metrics.test_action_units import real_face_crops

    images = np.concatenate([real_face_crops(), np.full((1, 48, 48), 128, np.uint8)])
    n = len(images)
    faces = FaceDataset(images, np.arange(n) % 7, np.full(n, "PublicTest"), source="test")
    ok = FaceMesh().landmarks(images).accepted
    assert not ok[-1]
    settings = EvaluationSettings(n=n, steps=2, stages=1, n_random=2, n_robust=2, n_road=3,
                                  au_maps=("muscle", "appearance"))  # fmt: skip
    kw = {"methods": ["gradcam", "occlusion"], "log": None}
    ev = evaluate_maps(mini_xception, faces, settings=settings, **kw)
    s = ev.settings
    assert s["regions"] == "mesh" and s["mesh_faces"] == n and s["mesh_rejected"] == (~ok).sum()
    assert s["region_faces"] == s["au_faces"] == ok.sum()
    assert set(ev.regions["column"]) == set(ANATOMY_NAMES)
    assert ev.regions.groupby(["measure", "column"])["n"].sum().eq(ok.sum()).all()
    # the occlusion method's maps do not clash with the per-region occlusion evidence
    assert ev.au.rejected == (~ok).sum() and set(ev.au.values) == {"gradcam", "occlusion map",
                                                                   "random", "centre", "occlusion"}  # fmt: skip
    # ... and the randomization on other faces: two of them, the first and the last
    canonical = evaluate_maps(mini_xception, faces.subset(ok), **kw, random_faces=images[:-1],
                              settings=replace(settings, regions="canonical"))  # fmt: skip
    np.testing.assert_array_equal(canonical.randomization.images, images[[0, n - 2]])
    assert canonical.settings["randomization_data"] == "the given faces"
    assert canonical.au is None and canonical.claims_canonical is None
    assert canonical.settings["regions"] == "canonical"
    a, b = canonical.claims, ev.claims_canonical
    assert a[["claim", "evidence", "faces", "verdict"]].equals(b[["claim", "evidence", "faces",
                                                                   "verdict"]])  # fmt: skip
    np.testing.assert_allclose(a["difference"], b["difference"], atol=1e-6)
    differ = (ev.claims["verdict"] != ev.claims_canonical["verdict"]).to_numpy()
    assert ev.changes["claim"].tolist() == ev.claims["claim"][differ].tolist()
    assert ev.changes["mesh verdict"].tolist() == ev.claims["verdict"][differ].tolist()
    # both maps of action units, the first one's tables where they always were
    assert list(ev.au_by_map) == ["muscle", "appearance"] and ev.au is ev.au_by_map["muscle"]
    assert s["au_maps"] == ["muscle", "appearance"]
    assert ev.au_by_map["appearance"].names == au_names("appearance")
    doc = json.loads(json.dumps(ev.to_json(), allow_nan=False))
    au = doc["action_units"]
    assert list(au["enrichment"]["gradcam"]) == ["predicted", "true"]
    for per_emotion in au["enrichment"]["gradcam"]["true"].values():
        assert list(per_emotion) == list(AU_NAMES)
    assert list(au["occlusion"]) == ["occlusion"] and au["agreement"][0]["prototype"]
    assert au["au_map"] == "muscle"
    for m in ("muscle", "appearance"):
        per_map = au[m]
        assert per_map["au_map"] == m and per_map["action_units"] == list(au_names(m))
        for emotion, cells in per_map["occlusion"].items():
            assert list(cells) == list(au_names(m)), emotion
            assert all(set(c) == {"mean", "lo", "hi"} for c in cells.values())
        faces = ev.au_by_map[m].predicted[ev.au_by_map[m].accepted]
        assert sum(per_map["faces"].values()) == len(faces) == ok.sum()
    # each map's drops are au_evidence's own on the same faces and map
    from emonb.metrics.action_units import au_evidence

    ref = au_evidence(mini_xception, images, landmarks=FaceMesh().landmarks(images), n_boot=10,
                      au_map="muscle")  # fmt: skip
    np.testing.assert_allclose(ev.au_by_map["muscle"].values["occlusion"], ref.values["occlusion"],
                               atol=1e-6)  # fmt: skip
    assert len(doc["claims_canonical"]) == len(doc["claims"]) == 12
    # the accepted faces' AU activity against their labels, and each map's use of the AUs
    # they show: au_use of the map's occlusion drops by prediction, recomputed here
    import pandas as pd

    from emonb.anatomy.activity import AU_MEASURES, reference_activity
    from emonb.metrics.activity import activity_auc
    from emonb.metrics.au_use import au_use

    marks = FaceMesh().landmarks(images)
    activity = pd.DataFrame(reference_activity().transform(marks.xy[ok]), columns=AU_MEASURES)
    labels = (np.arange(n) % 7)[ok]
    pd.testing.assert_frame_equal(ev.au_activity, activity_auc(activity, labels, CLASS_NAMES))
    assert ev.au_activity.loc[("AU12", "happy"), "positives"] == (labels == 3).sum() > 0
    assert list(doc["au_activity"]) == list(AU_MEASURES)
    assert set(doc["au_activity"]["AU12"]["happy"]) == {"auc", "lo", "hi"}
    assert list(ev.au_use) == list(doc["au_use"]) == ["muscle", "appearance"]
    for m, evidence in ev.au_by_map.items():
        ref = au_use(evidence.values["occlusion"], activity, evidence.predicted[ok],
                     mini_xception.class_names, au_map=m)  # fmt: skip
        pd.testing.assert_frame_equal(ev.au_use[m], ref)
        rows = ref[ref["region"] == "AU12"].set_index("emotion")
        assert list(doc["au_use"][m]["AU12"]) == list(mini_xception.class_names)
        shown = rows[rows["n_active"] > 0]
        assert len(shown)  # some emotion's faces show AU12
        for emotion, row in shown.iterrows():
            cell = doc["au_use"][m]["AU12"][emotion]
            assert cell["n_active"] == row["n_active"] and cell["n_inactive"] == row["n_inactive"]
            assert cell["active"] == pytest.approx(row["active"], abs=1e-5)
    # the same two tests on the same faces, through the chapter's entry point
    from emonb.metrics.layouts import compare_layouts

    layouts = compare_layouts(mini_xception, images, FaceMesh().landmarks(images))
    assert layouts["mesh verdict"].tolist() == ev.claims["verdict"].tolist()
    assert layouts["canonical verdict"].tolist() == ev.claims_canonical["verdict"].tolist()
    np.testing.assert_allclose(layouts["mesh difference"], ev.claims["difference"], atol=1e-6)
    assert layouts["changed"].tolist() == differ.tolist()
