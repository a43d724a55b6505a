"""Evidence per FACS action unit on real faces (the manifest's photos and clip, no FER-2013):
flat maps, maps and a model that see only the mouth, rejected faces, the JSON."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from emonb._tf import keras
from emonb.anatomy.au_maps import AU_MAPS, au_names
from emonb.anatomy.regions import ANATOMY_NAMES, AU_NAMES
from emonb.errors import EmonbError
from emonb.faces.mesh import EYE_POINTS, MOUTH_POINTS
from emonb.metrics.action_units import (
    GROUPINGS,
    OCCLUSION,
    AUFaceValues,
    anatomy_masks,
    au_evidence,
    au_face_values,
)
from emonb.models.preprocessing import ModelSpec
from emonb.models.zoo import EmotionModel

#: Action units of the mouth on the muscle map (the issue's list, and the mouth's muscles in
#: emonb.anatomy.regions.ANATOMY_OF_AU) and on the appearance map (every region that holds
#: the lips or their corners), and of the brows (both maps).
MOUTH_AUS = {"muscle": {"AU10", "AU12", "AU15", "AU16", "AU20", "AU24", "AU26"},
             "appearance": {"AU10", "AU12", "AU13", "AU14", "AU15", "AU16", "AU20", "AU23",
                            "AU24", "AU25", "AU26", "AU27"}}  # fmt: skip
BROW_AUS = ["AU01", "AU02", "AU04"]
LIPS = MOUTH_POINTS  # MediaPipe's inner-lip midpoints and mouth corners


def real_face_crops() -> np.ndarray:
    """48x48 grey crops of real faces: the photos' faces and every 40th frame of the clip
    (16 faces), and their mirror images."""
    from emonb.video.real_faces import real_faces

    faces = real_faces(("single-face", "multi-face", "astronaut", "pexels-video"), every=40)
    return np.concatenate([faces.images, faces.images[:, :, ::-1]])


@pytest.fixture(scope="module")
def crops() -> np.ndarray:
    """The real crops followed by one uniform grey square (no face: the mesh rejects it)."""
    grey = np.full((1, 48, 48), 128, np.uint8)
    return np.concatenate([real_face_crops(), grey])


#: Where the lips of the crops lie (x0, y0, x1, y1 at 48x48, end exclusive): around their
#: mean centre (23.7, 36.5), between the mean mouth corners (16.7 and 30.6) and lip lines.
LIPS_BOX = (19, 33, 29, 41)


@pytest.fixture(scope="module")
def mouth_net() -> EmotionModel:
    """A linear model on 64x64 inputs whose "happy" logit is 0.01 x the sum of the pixels
    of :data:`LIPS_BOX` (scaled to 64x64): it reads only the mouth."""
    x0, y0, x1, y1 = (round(v * 64 / 48) for v in LIPS_BOX)
    box = np.zeros((64, 64), bool)
    box[y0:y1, x0:x1] = True
    w = np.zeros((64 * 64, 7), np.float32)
    w[box.ravel(), 3] = 0.01
    inp = keras.Input((64, 64, 1))
    out = keras.layers.Dense(7, name="d")(keras.layers.Flatten()(inp))
    model = keras.Model(inp, out)
    model.get_layer("d").set_weights([w, np.zeros(7, np.float32)])
    return EmotionModel(model, ModelSpec(input_size=(64, 64)), "mouth-only")


@pytest.fixture(scope="module", params=AU_MAPS)
def flat(mouth_net, crops, request):
    """Evidence of flat maps (at 40x40, not the crops' size) and occlusion, with labels, on
    each map of action units."""
    maps = {"flat": np.ones((len(crops), 40, 40), np.float32)}
    labels = np.arange(len(crops)) % 7
    return au_evidence(mouth_net, crops, labels=labels, maps=maps, baseline="mean", n_boot=50,
                       au_map=request.param)  # fmt: skip


def test_rejected_face_is_left_out_and_counted(flat, crops):
    assert flat.rejected == 1 and not flat.accepted[-1] and flat.accepted[:-1].all()
    assert flat.predicted[-1] == -1 and (flat.predicted[:-1] >= 0).all()
    assert "of 33 faces analysed, 1 rejected by the mesh (face presence < 0.5)" in flat.summary()
    assert all(len(v) == len(crops) - 1 for v in flat.values.values())
    # every face counted once per evidence, grouping and action unit
    n = flat.table.groupby(["evidence", "grouping", "column"])["n"].sum()
    names = au_names(flat.au_map)
    assert flat.names == names and list(flat.values["flat"].columns) == list(names)
    assert (n == len(crops) - 1).all() and len(n) == 2 * len(GROUPINGS) * len(names)
    assert flat.settings["rejected"] == 1 and flat.settings["accepted"] == len(crops) - 1


def test_flat_maps_have_enrichment_one_everywhere(flat):
    """A flat map puts each region's area share of its mass in it: enrichment exactly 1 on
    every accepted face, in every action unit inside the crop."""
    e = flat.values["flat"].to_numpy()
    assert np.isfinite(e).mean() > 0.95  # NaN only where a region lies outside a crop
    np.testing.assert_allclose(e[np.isfinite(e)], 1.0, rtol=1e-9)
    means = flat.table[flat.table["evidence"] == "flat"]
    means = means[means["n"] > 0]["mean"]
    np.testing.assert_allclose(means, 1.0, rtol=1e-9)


def test_model_reading_the_mouth_loses_only_mouth_evidence(flat):
    """Occluding a brow action unit leaves the mouth-only model's output exactly unchanged;
    the largest changes come from the mouth's action units."""
    drops = flat.values[OCCLUSION]
    assert (drops[BROW_AUS].abs().to_numpy() < 1e-7).all()
    mean = drops.abs().mean()
    assert mean.idxmax() in MOUTH_AUS[flat.au_map], mean.sort_values().tail(4)
    assert mean[list(MOUTH_AUS[flat.au_map])].max() > 1e-3


@pytest.mark.parametrize("au_map", AU_MAPS)
def test_maps_on_the_mouth_put_their_evidence_in_mouth_action_units(mouth_net, crops, au_map):
    """Maps at 64x64 (the crops are 48x48) with a Gaussian blob on each face's lips (mesh
    points, not the region map): the top action unit is a mouth one, brows get nothing."""
    from emonb.faces.mesh import FaceMesh

    marks = FaceMesh().landmarks(crops)
    centre = marks.xy[:, LIPS].mean(axis=1) * 64 / 48  # (N, 2) in map pixels
    yy, xx = np.mgrid[0:64, 0:64] + 0.5
    d2 = (xx - centre[:, :1, None]) ** 2 + (yy - centre[:, 1:, None]) ** 2
    maps = np.exp(-d2 / (2 * 4.0**2)).astype(np.float32)
    ev = au_evidence(mouth_net, crops, maps={"lips": maps}, landmarks=marks, occlusion=False,
                     n_boot=20, au_map=au_map)  # fmt: skip
    e = ev.values["lips"]
    assert e.mean().idxmax() in MOUTH_AUS[au_map]
    assert (e.idxmax(axis=1).isin(MOUTH_AUS[au_map])).mean() > 0.9  # face by face
    brows, top = e[BROW_AUS].fillna(0).to_numpy(), e.max(axis=1).to_numpy()
    assert (brows < 0.05 * top[:, None]).all() and brows.mean() < 0.01  # flat maps give 1
    assert list(ev.table["evidence"].unique()) == ["lips"]
    assert list(ev.table["grouping"].unique()) == ["predicted"]  # no labels: no "true"


def test_json_has_every_action_unit_and_the_agreement(flat):
    doc = json.loads(json.dumps(flat.to_json(), allow_nan=False))
    assert set(doc["enrichment"]) == {"flat"} and set(doc["occlusion"]) == {OCCLUSION}
    for kind in ("enrichment", "occlusion"):
        for per_grouping in doc[kind].values():
            assert set(per_grouping) == set(GROUPINGS)
            for per_emotion in per_grouping.values():
                for aus in per_emotion.values():
                    assert list(aus) == list(au_names(flat.au_map))
                    assert aus["AU01"] is None or isinstance(aus["AU01"], float)
    assert doc["rejected"] == 1 and doc["faces_analysed"] == doc["faces_total"] - 1
    assert doc["au_map"] == flat.au_map and doc["action_units"] == list(au_names(flat.au_map))
    assert list(doc["areas"]) == doc["action_units"] and 0 < min(doc["areas"].values())
    rows = doc["agreement"]
    assert {r["evidence"] for r in rows} == {"flat", OCCLUSION}
    assert set(rows[0]) == {"evidence", "grouping", "emotion", "prototype", "faces", "score",
                            "lo", "hi", "verdict"}  # fmt: skip
    # flat maps rank no action unit above another: every score is exactly one half
    flat_rows = [r for r in rows if r["evidence"] == "flat" and r["faces"]]
    assert flat_rows and all(r["score"] == pytest.approx(0.5) for r in flat_rows)


def test_deterministic(mouth_net, crops, flat):
    again = au_evidence(mouth_net, crops, labels=np.arange(len(crops)) % 7,
                        maps={"flat": np.ones((len(crops), 40, 40), np.float32)},
                        baseline="mean", n_boot=50, au_map=flat.au_map)  # fmt: skip
    assert again.table.equals(flat.table) and again.agreement.equals(flat.agreement)


def test_face_values_of_chunks_joined_give_the_whole_runs_evidence(mouth_net, crops, flat):
    """The per-face part measured in chunks (one of them only the rejected grey square) and
    joined in face order gives the tables of the run that measured every face at once (the
    occlusion drops to float tolerance: batches of other sizes round differently)."""
    import pandas as pd

    maps = {"flat": np.ones((len(crops), 40, 40), np.float32)}
    marks = flat.landmarks
    cut = [(0, 5), (5, len(crops) - 1), (len(crops) - 1, len(crops))]
    parts = [au_face_values(mouth_net, crops[a:b], marks.subset(np.arange(a, b)),
                            maps={k: v[a:b] for k, v in maps.items()}, baseline="mean",
                            au_map=flat.au_map) for a, b in cut]  # fmt: skip
    assert not parts[-1].accepted.any() and parts[-1].values[OCCLUSION].shape[0] == 0
    joined = AUFaceValues.join(parts)
    np.testing.assert_array_equal(joined.values["flat"], flat.values["flat"].to_numpy())
    np.testing.assert_allclose(joined.values[OCCLUSION], flat.values[OCCLUSION].to_numpy(),
                               rtol=1e-5, atol=1e-6)  # fmt: skip
    again = au_evidence(mouth_net, crops, labels=np.arange(len(crops)) % 7, landmarks=marks,
                        baseline="mean", n_boot=50, au_map=flat.au_map, face_values=joined)  # fmt: skip
    for ours, theirs in ((again.table, flat.table), (again.agreement, flat.agreement)):
        pd.testing.assert_frame_equal(ours, theirs, check_exact=False, rtol=1e-5, atol=1e-6)
    assert again.areas == flat.areas and np.array_equal(again.predicted, flat.predicted)
    with pytest.raises(EmonbError, match="do not match"):
        au_evidence(mouth_net, crops, landmarks=marks, face_values=parts[0], au_map=flat.au_map)


def test_anatomy_masks_are_disjoint_and_hold_the_eyes(crops):
    from emonb.faces.mesh import FaceMesh

    marks = FaceMesh().landmarks(crops[:4])
    masks = anatomy_masks(marks.xy, 48, 96)
    assert list(masks) == list(ANATOMY_NAMES)
    total = np.sum(list(masks.values()), axis=0)
    assert masks["eyes"].shape == (4, 96, 96) and total.max() <= 1 + 1e-6
    for face in range(4):  # the centre of each eye (mesh points) lies in the eye region
        for idx in EYE_POINTS.values():
            x, y = marks.xy[face, list(idx)].mean(axis=0) * 2
            assert masks["eyes"][face, int(y), int(x)] > 0.5


def test_errors(mouth_net, crops):
    grey = np.full((3, 48, 48), 128, np.uint8)
    with pytest.raises(EmonbError, match="rejected all 3 faces"):
        au_evidence(mouth_net, grey, n_boot=10)
    with pytest.raises(EmonbError, match="expected \\(N=33, h, w\\)"):
        au_evidence(mouth_net, crops, maps={"m": np.ones((2, 8, 8))}, occlusion=False)
    with pytest.raises(EmonbError, match="square uint8 face crops"):
        au_evidence(mouth_net, np.zeros((2, 48, 40), np.uint8))
    with pytest.raises(EmonbError, match="nothing to measure"):
        au_evidence(mouth_net, crops, occlusion=False)
    with pytest.raises(EmonbError, match="2 labels for 33 faces"):
        au_evidence(mouth_net, crops, labels=[0, 1])


# ---- Shapley values per emotion ----------------------------------------------------------------
def shapley_values():
    """Five faces' made-up Shapley values (20 players): faces 0, 1, 4 explained as happy
    (3), faces 2, 3 as sad (4); face 4 rejected by the mesh."""
    from emonb.methods.shapley import REST, ShapleyValues

    phi = np.zeros((5, 20))
    phi[:, AU_NAMES.index("AU12")] = [0.30, 0.10, -0.05, 0.00, 9.0]
    phi[:, AU_NAMES.index("AU04")] = [0.00, 0.02, 0.20, 0.40, 9.0]
    phi[:, 19] = [0.05, 0.01, 0.02, -0.02, 9.0]
    return ShapleyValues(phi=phi, players=(*AU_NAMES, REST), v_full=phi.sum(1),
                         v_empty=np.zeros(5), accepted=np.array([1, 1, 1, 1, 0], bool),
                         targets=np.array([3, 3, 4, 4, 3]))  # fmt: skip


def test_au_shapley_table_holds_the_means_per_emotion():
    from emonb.metrics.action_units import au_shapley_table, au_shapley_wide

    sv = shapley_values()
    names = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    table = au_shapley_table(sv, sv.targets, names, n_boot=200)
    assert table.columns.tolist() == ["group", "AU", "n", "mean", "lo", "hi", "prototype"]
    assert len(table) == 7 * 20
    row = table.set_index(["group", "AU"])
    # by hand, the rejected face (values 9.0) left out: happy = faces 0, 1; sad = faces 2, 3
    assert row.loc[("happy", "AU12"), "mean"] == pytest.approx((0.30 + 0.10) / 2)
    assert row.loc[("happy", "AU04"), "mean"] == pytest.approx(0.01)
    assert row.loc[("sad", "AU04"), "mean"] == pytest.approx(0.30)
    assert row.loc[("sad", "rest of face"), "mean"] == pytest.approx(0.0)
    assert row.loc[("happy", "AU12"), "n"] == 2 and row.loc[("sad", "AU12"), "n"] == 2
    assert row.loc[("angry", "AU12"), "n"] == 0 and np.isnan(row.loc[("angry", "AU12"), "mean"])
    # resampling two values draws their mean 0.2 half the time, 0.1 or 0.3 a quarter each:
    # the 2.5% and 97.5% quantiles of 200 draws are 0.1 and 0.3
    assert row.loc[("happy", "AU12"), "lo"] == pytest.approx(0.1)
    assert row.loc[("happy", "AU12"), "hi"] == pytest.approx(0.3)
    # EMFACS: happy = AU06 + AU12, sad = AU01 + AU04 + AU15; neutral and the rest: none
    assert sorted(table[table["prototype"] & (table["group"] == "happy")]["AU"]) == ["AU06", "AU12"]
    assert sorted(table[table["prototype"] & (table["group"] == "sad")]["AU"]) == [
        "AU01", "AU04", "AU15"]  # fmt: skip
    assert not table[table["AU"] == "rest of face"]["prototype"].any()
    assert not table[table["group"] == "neutral"]["prototype"].any()
    # with the rejected face kept, happy's AU12 mean moves to (0.3 + 0.1 + 9) / 3
    kept = au_shapley_table(sv, sv.targets, names, n_boot=50, accepted_only=False)
    assert kept.set_index(["group", "AU"]).loc[("happy", "AU12"), "mean"] == pytest.approx(9.4 / 3)
    # the same numbers from a plain array of the accepted faces
    plain = au_shapley_table(sv.phi[:4], sv.targets[:4], names, n_boot=200)
    assert plain.equals(table)
    wide = au_shapley_wide(table)
    assert wide.shape == (7, 20) and wide.loc["sad", "AU04"] == pytest.approx(0.30)
    assert au_shapley_wide(table, rest=False).columns.tolist() == list(AU_NAMES)


def test_au_shapley_table_errors():
    from emonb.metrics.action_units import au_shapley_table

    sv = shapley_values()
    with pytest.raises(EmonbError, match="3 groups for 5 faces"):
        au_shapley_table(sv, [0, 1, 2], ["a"] * 7, n_boot=10)
    with pytest.raises(EmonbError, match=r"expected Shapley values \(N, 19 or 20\)"):
        au_shapley_table(np.zeros((2, 5)), [0, 1], ["a"] * 7, n_boot=10)


# ---- the two maps of action units ----------------------------------------------------------------
def corner_net(xy: np.ndarray, vertex: int) -> EmotionModel:
    """A linear model on 48x48 inputs whose "happy" logit is the pixel holding mesh point
    ``vertex`` of ``xy`` (a lip corner): it reads one pixel of one face."""
    w = np.zeros((48, 48, 7), np.float32)
    j, i = np.floor(xy[vertex]).astype(int)
    w[i, j, 3] = 1.0
    inp = keras.Input((48, 48, 1))
    out = keras.layers.Dense(7, name="d")(keras.layers.Flatten()(inp))
    model = keras.Model(inp, out)
    model.get_layer("d").set_weights([w.reshape(-1, 7), np.zeros(7, np.float32)])
    return EmotionModel(model, ModelSpec(input_size=(48, 48)), "corner-only")


def test_a_model_of_a_lip_corner_shows_in_appearance_au12_not_muscle_au12(crops):
    """On four faces, a model that reads only the pixel at one of the face's lip corners
    (mesh point 61 or 291): blurring appearance AU12 (lip corners and nasolabial furrow),
    which covers that pixel whole, changes its "happy" probability as much as blurring any
    region can (a region covering part of the pixel changes it by that part); blurring
    py-feat's AU12 (the cheek over zygomaticus major) changes nothing."""
    from emonb.anatomy.au_maps import au_masks_for
    from emonb.faces.mesh import FaceMesh

    marks = FaceMesh().landmarks(crops[:4])
    for face, vertex in itertools.product(range(4), (61, 291)):
        one = marks.subset([face])
        net = corner_net(one.xy[0], vertex)
        read = net.model.get_layer("d").get_weights()[0][:, 3].reshape(48, 48) > 0
        muscle = au_masks_for(one.xy, 48, 48, "muscle")[0, AU_NAMES.index("AU12")]
        assert muscle[read].max() == 0  # py-feat's AU12 region misses the corner entirely
        drops = {m: au_evidence(net, crops[face : face + 1], landmarks=one, n_boot=10,
                                au_map=m).values[OCCLUSION].iloc[0] for m in AU_MAPS}  # fmt: skip
        assert drops["muscle"]["AU12"] == 0.0
        app = drops["appearance"].abs()
        assert app["AU12"] > 1e-3 and app["AU12"] == pytest.approx(app.max(), rel=1e-5), app
        assert (app[BROW_AUS] == 0.0).all()


def test_by_prediction_and_map_json(flat):
    """Occlusion by predicted emotion as {mean, lo, hi} per action unit of the map, the
    numbers of the long table."""
    doc = json.loads(json.dumps(flat.map_json(), allow_nan=False))
    names = list(au_names(flat.au_map))
    assert doc["au_map"] == flat.au_map and doc["action_units"] == names
    assert list(doc["areas"]) == names
    t = flat.table[(flat.table["evidence"] == OCCLUSION) & (flat.table["grouping"] == "predicted")]
    assert set(doc["occlusion"]) == set(t["group"])
    row = t.iloc[0]
    cell = doc["occlusion"][row["group"]][row["column"]]
    assert set(cell) == {"mean", "lo", "hi"}
    assert cell["mean"] == pytest.approx(row["mean"], abs=1e-5) or (
        cell["mean"] is None and np.isnan(row["mean"]))  # fmt: skip
    assert sum(doc["faces"].values()) == len(flat.accepted) - flat.rejected
    assert {r["emotion"] for r in doc["agreement"]} <= set(doc["faces"])
    with pytest.raises(EmonbError, match="no 'nope' evidence"):
        flat.by_prediction("nope")


def test_clusters_reach_the_tables_intervals(mouth_net, crops, monkeypatch):
    """au_evidence hands each accepted face's cluster id to au_table and agreement."""
    from emonb.metrics import facs

    seen = {}
    real_table, real_agreement = facs.au_table, facs.agreement

    def table(*a, **k):
        seen.setdefault("table", []).append(k.get("clusters"))
        return real_table(*a, **k)

    def agree(*a, **k):
        seen.setdefault("agreement", []).append(k.get("clusters"))
        return real_agreement(*a, **k)

    monkeypatch.setattr(facs, "au_table", table)
    monkeypatch.setattr(facs, "agreement", agree)
    ids = np.array([f"clip{i % 3}" for i in range(len(crops))])
    ev = au_evidence(mouth_net, crops, occlusion=False, n_boot=50, clusters=ids,
                     maps={"flat": np.ones((len(crops), 8, 8), np.float32)})  # fmt: skip
    assert not ev.accepted.all()  # the grey square: its id is left out with it
    for key in ("table", "agreement"):
        np.testing.assert_array_equal(seen[key][0], ids[ev.accepted])
    assert ev.settings["bootstrap"] == "clusters"
