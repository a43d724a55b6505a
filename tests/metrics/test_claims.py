"""The robustness table's claims on real face crops and a model that reads only the mouth."""

import numpy as np
import pytest

from emonb.anatomy.activity import AU_MEASURES, reference_activity
from emonb.errors import EmonbError
from emonb.faces.mesh import FaceMesh
from emonb.metrics.claims import QUICK_N_BOOT, ClaimSettings, claim_table
from emonb.metrics.verdicts import summarize
from tests.metrics.test_action_units import mouth_net as _make_mouth_net
from tests.metrics.test_action_units import real_face_crops

mouth_net = pytest.fixture(scope="module")(_make_mouth_net.__wrapped__)


@pytest.fixture(scope="module")
def accepted():
    crops = real_face_crops()
    marks = FaceMesh().landmarks(crops)
    return crops[marks.accepted], marks.xy[marks.accepted]


@pytest.fixture(scope="module")
def table(mouth_net, accepted):
    import pandas as pd

    crops, xy = accepted
    activity = pd.DataFrame(reference_activity().transform(xy), columns=AU_MEASURES)
    clusters = np.arange(len(crops)) % 6
    s = ClaimSettings(cam_layers=(), occlusion_baselines=("blur", "mean"), n_boot=100)
    return claim_table({"mouth": mouth_net}, crops, xy, labels=np.full(len(crops), 3),
                       clusters=clusters, activity=activity, settings=s)  # fmt: skip


def test_region_claims_equal_the_occlusion_drops_by_hand(mouth_net, accepted, table):
    from emonb.anatomy.layout import region_masks
    from emonb.metrics.occlusion import occlusion
    from emonb.metrics.stats import bootstrap_ci

    happy = table[table["claim"] == "happy: mouth > eyes"]
    # 2 baselines x 2 layouts x 2 groupings (every face predicted and labelled happy)
    assert len(happy) == 8
    assert set(happy["baseline"]) == {"blur", "mean"} and set(happy["regions"]) == {"mesh", "boxes"}
    crops, _ = accepted
    x = mouth_net.preprocess(crops)
    boxes = region_masks(x.shape[1])
    drops = occlusion(mouth_net, x, np.full(len(x), 3), np.stack([boxes["mouth"], boxes["eyes"]]),
                      baseline="mean")  # fmt: skip
    assert np.abs(drops[:, 1]).max() < 1e-6  # the model never reads the eyes
    mean, lo, hi = bootstrap_ci(drops[:, 0] - drops[:, 1], n_boot=100, seed=0,
                                clusters=np.arange(len(x)) % 6)  # fmt: skip
    row = happy[(happy["baseline"] == "mean") & (happy["regions"] == "boxes") & (happy["grouping"] == "true")]
    assert row[["estimate", "lo", "hi"]].iloc[0].tolist() == pytest.approx([mean, lo, hi], abs=1e-6)
    # no face is predicted as another emotion: those claims have no verdict
    fear = table[table["claim"] == "fear: eyes > mouth"]
    assert (fear["verdict"] == "too few faces").all()
    assert summarize(fear).iloc[0]["summary"] == "no verdict"


def test_each_map_scores_its_own_prototypes(table):
    agree = table[(table["family"] == "FACS agreement") & (table["claim"].str.startswith("happy"))]
    assert set(agree["au_map"]) == {"appearance", "muscle"}
    assert (agree["null"] == 0.5).all()
    assert len(agree) == 8  # 2 maps x 2 baselines x 2 groupings
    assert agree["estimate"].between(0, 1).all() and (agree["lo"] <= agree["hi"]).all()


def test_au_use_rows_name_the_region_and_the_measure(table):
    use = table[table["family"] == "AU use"]
    assert len(use) and use["claim"].str.contains("where the face shows").all()
    assert set(use["au_map"]) <= {"appearance", "muscle"}


def test_mismatched_inputs_are_one_line(mouth_net, accepted):
    crops, xy = accepted
    with pytest.raises(EmonbError, match="same faces"):
        claim_table({"m": mouth_net}, crops, xy[:-1])


def test_quick_settings_keep_one_analysis_of_the_costly_axes(monkeypatch):
    s = ClaimSettings(n_boot=500)
    quick = s.capped(True)
    assert quick.cam_layers == (None,) and quick.occlusion_baselines == ("blur",)
    assert quick.curve_baselines == ("blur",) and quick.n_boot == QUICK_N_BOOT == 100
    assert quick.au_maps == s.au_maps and quick.groupings == s.groupings and quick.layouts == s.layouts
    assert s.capped(False) == s
    monkeypatch.setenv("EMONB_QUICK", "1")
    assert s.capped() == quick


def test_for_model_keeps_the_cam_layers_the_model_has(mouth_net, mini_xception):
    s = ClaimSettings(cam_layers=(None, "conv2d_7", "nope"))
    assert s.for_model(mini_xception).cam_layers == (None, "conv2d_7")
    assert s.for_model(mouth_net).cam_layers == (None,)  # no convolution at all


# -- the per-face work in chunks, in this process and on a cluster of two workers -----


@pytest.fixture(scope="module")
def few_faces(accepted):
    """Ten real faces with their mesh, labels and AU activity (the claims' inputs)."""
    import pandas as pd

    crops, xy = (a[:10] for a in accepted)
    activity = pd.DataFrame(reference_activity().transform(xy), columns=AU_MEASURES)
    return crops, xy, {"labels": np.arange(len(crops)) % 7, "activity": activity}


#: Quick settings that keep the draws: the noisy-linear-imputation occlusion and the
#: curves' tie-breaks (Grad-CAM's zero plateaus, the centred Gaussian's rings).
CHUNKED = ClaimSettings(occlusion_baselines=("nli",)).capped(True)


@pytest.fixture(scope="module")
def one_chunk(mini_xception, few_faces):
    crops, xy, kw = few_faces
    return claim_table({"mx": mini_xception}, crops, xy, settings=CHUNKED, **kw)


def assert_same_table(a, b):
    """Equal claims, analyses and verdicts, and every number to rtol = atol = 1e-5."""
    assert list(a.columns) == list(b.columns) and len(a) == len(b) > 100
    nums = [c for c in a.columns if a[c].dtype.kind == "f"]
    assert {"estimate", "lo", "hi"} <= set(nums)
    rest = [c for c in a.columns if c not in nums]
    assert a[rest].astype(str).values.tolist() == b[rest].astype(str).values.tolist()
    np.testing.assert_allclose(a[nums].to_numpy(float), b[nums].to_numpy(float), rtol=1e-5,
                               atol=1e-5)  # fmt: skip


def test_chunks_in_this_process_give_the_one_chunk_numbers(mini_xception, few_faces, one_chunk):
    from emonb.engine import InProcess

    crops, xy, kw = few_faces
    executor = InProcess()
    chunked = claim_table({"mx": mini_xception}, crops, xy, settings=CHUNKED, executor=executor,
                          chunk=3, **kw)  # fmt: skip
    assert len(executor.task_seconds["claims"]) == 4  # 10 faces in chunks of 3
    assert set(one_chunk["family"]) == {"regions", "FACS agreement", "AU use", "ranking"}
    assert_same_table(one_chunk, chunked)


def test_the_chunks_per_face_values_join_in_face_order(mini_xception, few_faces):
    from emonb.metrics.claim_values import (
        ClaimJob,
        ClaimTools,
        claim_values,
        face_chunks,
        join_values,
    )
    from emonb.models.runner import predict_proba
    from emonb.models.shipping import ModelRef

    crops, xy, _ = few_faces
    s = CHUNKED.for_model(mini_xception)
    job = ClaimJob(ModelRef(mini_xception), s, ClaimTools(mini_xception, s.seed))
    pred = predict_proba(mini_xception, crops).argmax(axis=1)
    ids = np.arange(len(crops))
    whole = claim_values(job, face_chunks(crops, xy, pred, ids, None)[0])
    # the chunks in reverse order, joined in face order again
    parts = [claim_values(job, c) for c in face_chunks(crops, xy, pred, ids, 4)[::-1]]
    joined = join_values(parts[::-1])
    # drops of 2 layouts and 2 AU maps, shares and enrichments at 1 layer, 3 curve gaps
    assert list(joined) == list(whole) and len(whole) == 11
    assert ("occlusion", "nli", "appearance") in whole and ("gap", None, "blur") in whole
    assert ("reference gap", "saliency", "blur") in whole
    for key, v in whole.items():
        assert len(v) == len(crops), key
        np.testing.assert_allclose(joined[key], v, rtol=1e-5, atol=1e-5, err_msg=str(key))


def test_a_cluster_of_two_workers_gives_the_in_process_claims(mini_xception, few_faces,
                                                              one_chunk, dask_client):  # fmt: skip
    from emonb.engine import DaskExecutor

    crops, xy, kw = few_faces
    executor = DaskExecutor(dask_client)
    there = claim_table({"mx": mini_xception}, crops, xy, settings=CHUNKED, executor=executor,
                        chunk=4, **kw)  # fmt: skip
    assert executor.record()["workers"] == 2 and len(executor.task_seconds["claims"]) == 3
    assert_same_table(one_chunk, there)
