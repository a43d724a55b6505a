"""AU measures from the mesh on constructed displacements of a real face's mesh: each move of
known size in the face's own frame changes its measure by that size, leaves the others
alone, and no roll, scale or shift of the whole face changes anything. Expectations are
computed by hand from the measures' definitions, not recorded."""

from __future__ import annotations

import numpy as np
import pytest

from emonb.anatomy.activity import (
    AU_MEASURES,
    EYE_REFERENCES,
    REFERENCE_FILE,
    VERTICES,
    AUActivity,
    au_geometry,
    face_frame,
    reference_activity,
)
from emonb.data.images import read_image
from emonb.data.manifest import image_path
from emonb.errors import EmonbError
from emonb.faces import detect_faces
from emonb.faces.mesh import EYE_CORNERS, EYE_POINTS, FaceMesh

COL = {name: j for j, name in enumerate(AU_MEASURES)}
TOL = 1e-9


@pytest.fixture(scope="module")
def face() -> np.ndarray:
    """The astronaut's mesh, in its own face frame (eye corners at (-0.5, 0) and (0.5, 0)),
    so that a displacement by d here is d inter-ocular distances in the face."""
    image = read_image(image_path("astronaut"))
    boxes = detect_faces(image)
    marks = FaceMesh(threads=1).landmarks([image], boxes[:1])
    assert marks.accepted.all()
    q = face_frame(marks.xy)[0]
    np.testing.assert_allclose(q[[33, 263]], [[-0.5, 0], [0.5, 0]], atol=1e-12)
    return q


def _similar(q: np.ndarray, degrees: float, scale: float, shift) -> np.ndarray:
    """``q`` rolled by ``degrees``, scaled and shifted: a similarity of the image plane."""
    t = np.deg2rad(degrees)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    return scale * q @ rot.T + np.asarray(shift)


def _moved(q: np.ndarray, vertices, dx: float = 0.0, dy: float = 0.0) -> np.ndarray:
    out = q.copy()
    out[list(np.ravel(vertices))] += [dx, dy]
    return out


def _delta(q: np.ndarray, moved: np.ndarray) -> dict[str, float]:
    before, after = au_geometry(q)[0], au_geometry(moved)[0]
    return dict(zip(AU_MEASURES, after - before, strict=True))


def _only(delta: dict[str, float], expected: dict[str, float]) -> None:
    for name, d in delta.items():
        assert d == pytest.approx(expected.get(name, 0.0), abs=TOL), (name, delta)


def test_vertex_choices_agree_with_the_mesh_module():
    assert EYE_REFERENCES["corners"] == ((EYE_CORNERS[0],), (EYE_CORNERS[1],))
    assert EYE_REFERENCES["centres"] == (EYE_POINTS["left"], EYE_POINTS["right"])
    assert VERTICES["eye_outer"] == EYE_CORNERS


def test_measures_on_the_real_face_are_plausible(face):
    """Brows above the eyes, open eyes, lip corners level with the lips within a tenth of
    an IOD (a smile), mouth about 0.7 IOD wide, lower lip below the nose."""
    m = dict(zip(AU_MEASURES, au_geometry(face)[0], strict=True))
    assert 0.1 < m["AU01"] < 0.5 and 0.1 < m["AU02"] < 0.5
    assert m["AU05"] > 0 and m["AU06/07"] < 0
    assert 0.5 < m["AU20"] < 1.0 and 0.2 < m["AU26"] < 1.0
    assert abs(m["AU12"]) < 0.15 and m["AU25"] >= 0


@pytest.mark.parametrize("eyes", list(EYE_REFERENCES))
@pytest.mark.parametrize(("degrees", "scale", "shift"),
                         [(20, 1.0, (0, 0)), (-20, 37.5, (120.0, -40.0)),
                          (90, 0.02, (3.0, 5.0)), (180, 200.0, (0, 0))])  # fmt: skip
def test_roll_scale_and_shift_change_no_measure(face, eyes, degrees, scale, shift):
    before = au_geometry(face, eyes)
    after = au_geometry(_similar(face, degrees, scale, shift), eyes)
    np.testing.assert_allclose(after, before, atol=1e-9)
    np.testing.assert_allclose(face_frame(_similar(face, degrees, scale, shift), eyes),
                               face_frame(face, eyes), atol=1e-9)  # fmt: skip


def test_lip_corners_up_raise_au12_by_the_move(face):
    """Corners 0.1 IOD up the face: AU12 (height over the lip centre) +0.1, AU15 (depth below
    the upper lip) -0.1; the mouth's width and everything else unchanged."""
    _only(_delta(face, _moved(face, VERTICES["lip_corners"], dy=-0.1)),
          {"AU12": 0.1, "AU15": -0.1})  # fmt: skip


def test_lip_corners_up_in_a_rolled_face(face):
    """The same move made along a face rolled by 20 degrees and scaled (in its pixels):
    still +0.1 IOD."""
    rolled = _similar(face, 20, 80.0, (200, 100))
    up = _similar(np.array([[0.0, -0.1]]), 20, 80.0, (0, 0))[0]  # the face's up, in pixels
    moved = rolled.copy()
    moved[list(VERTICES["lip_corners"])] += up
    d = au_geometry(moved)[0] - au_geometry(rolled)[0]
    assert d[COL["AU12"]] == pytest.approx(0.1, abs=TOL)
    assert d[COL["AU15"]] == pytest.approx(-0.1, abs=TOL)


def test_lip_corners_down_raise_au15(face):
    _only(_delta(face, _moved(face, VERTICES["lip_corners"], dy=0.05)),
          {"AU15": 0.05, "AU12": -0.05})  # fmt: skip


def test_lip_corners_apart_raise_au20_by_the_move(face):
    """Each corner 0.05 IOD outward along the eye line: the width grows by 0.1 times the
    cosine of the corners' line with the eye line (the mouth's width is a Euclidean
    distance); nothing else moves."""
    left, right = VERTICES["lip_corners"]
    moved = _moved(_moved(face, left, dx=-0.05), right, dx=0.05)
    c = face[right] - face[left]
    width = np.hypot(*c)
    expected = np.hypot(c[0] + 0.1, c[1]) - width
    assert expected == pytest.approx(0.1, abs=1e-3)  # the corners are nearly level
    _only(_delta(face, moved), {"AU20": expected})


def test_inner_brows_up_raise_au01_and_lower_au04_not_au12(face):
    d = _delta(face, _moved(face, VERTICES["inner_brow"], dy=-0.08))
    _only(d, {"AU01": 0.08, "AU04": -0.08})


def test_inner_brows_together_raise_au04_alone(face):
    """Each inner brow end 0.03 IOD toward the midline: the gap shrinks by 0.06."""
    left, right = VERTICES["inner_brow"]
    _only(_delta(face, _moved(_moved(face, left, dx=0.03), right, dx=-0.03)), {"AU04": 0.06})


def test_outer_brows_up_raise_au02_alone(face):
    _only(_delta(face, _moved(face, VERTICES["outer_brow"], dy=-0.07)), {"AU02": 0.07})


def test_one_brow_up_counts_half(face):
    """Both sides are averaged: one side's inner brow up by 0.1 raises AU01 by 0.05."""
    _only(_delta(face, _moved(face, VERTICES["inner_brow"][0], dy=-0.1)),
          {"AU01": 0.05, "AU04": -0.05})  # fmt: skip


def test_upper_lids_up_raise_au05_and_open_the_eye(face):
    """Upper lids 0.04 IOD up: AU05 +0.04, the aperture +0.04 so AU06/07 -0.04."""
    _only(_delta(face, _moved(face, VERTICES["upper_lid"], dy=-0.04)),
          {"AU05": 0.04, "AU06/07": -0.04})  # fmt: skip


def test_lower_lids_up_narrow_the_eye(face):
    """Lower lids 0.03 IOD up (the cheek raiser's push): AU06/07 +0.03, AU05 unchanged."""
    _only(_delta(face, _moved(face, VERTICES["lower_lid"], dy=-0.03)), {"AU06/07": 0.03})


def test_jaw_drop_raises_au26_and_parts_the_lips(face):
    """Chin, lower lip (outer 17, inner 14) 0.2 IOD down: AU26 +0.2 (nose tip to lower lip),
    AU25 +0.2 (lip gap), and the lip centre 0.1 down, so the corners stand 0.1 higher over
    it (AU12 +0.1, AU15 -0.1): the lip-centre reference reads a dropped jaw as some corner
    raise."""
    moved = _moved(face, (152, VERTICES["lower_lip"], VERTICES["inner_lips"][1]), dy=0.2)
    _only(_delta(face, moved), {"AU26": 0.2, "AU25": 0.2, "AU12": 0.1, "AU15": -0.1})


def test_au15_is_minus_au12(face):
    m = au_geometry(np.stack([face, _similar(face, 30, 2.0, (1, 1))]))
    np.testing.assert_allclose(m[:, COL["AU15"]], -m[:, COL["AU12"]])


def test_lips_part_raises_au25_alone_with_the_upper_lip(face):
    """Upper inner lip 0.05 up and lower 0.05 down: the gap +0.1, the lip centre still."""
    top, bottom = VERTICES["inner_lips"]
    _only(_delta(face, _moved(_moved(face, top, dy=-0.05), bottom, dy=0.05)), {"AU25": 0.1})


def test_activity_z_scores(face):
    """Fit on 11 faces whose lip corners stand 0.00, 0.01, ... 0.10 IOD higher: the mean
    corner raise is the original's +0.05, its std that of 0..0.1 in steps of 0.01
    (ddof 1); the 0.10 face scores (0.05) / std on AU12 and 0 on measures nobody moved."""
    steps = np.arange(11) * 0.01
    faces = np.stack([_moved(face, VERTICES["lip_corners"], dy=-s) for s in steps])
    faces = np.stack([_similar(f, 7 * i, 10 + i, (i, -i)) for i, f in enumerate(faces)])
    act = AUActivity().fit(faces)
    std = np.std(steps, ddof=1)
    assert act.n_fit_ == 11
    assert act.std_[COL["AU12"]] == pytest.approx(std, rel=1e-9)
    z = act.transform(faces)
    np.testing.assert_allclose(z[:, COL["AU12"]], (steps - 0.05) / std, atol=1e-6)
    np.testing.assert_allclose(z[:, COL["AU15"]], -(steps - 0.05) / std, atol=1e-6)
    assert np.allclose(act.transform(face)[0, COL["AU12"]], -0.05 / std)
    assert act.to_json()["faces"] == 11 and set(act.to_json()["mean"]) == set(AU_MEASURES)


def test_fitted_reference_round_trips_through_json(face):
    faces = face + np.random.default_rng(0).normal(0, 0.01, (5, *np.shape(face)[-2:]))
    act = AUActivity().fit(faces)
    again = AUActivity.from_json(act.to_json(decimals=12))
    np.testing.assert_allclose(again.transform(faces), act.transform(faces), atol=1e-9)
    with pytest.raises(EmonbError, match="not an AU activity reference"):
        AUActivity.from_json({"eyes": "corners", "faces": 3, "mean": {}})


def test_shipped_reference_is_the_recorded_training_fit(root):
    """emonb/anatomy/au_reference.json and benchmarks/au_activity_cpu.json come from one
    run of benchmarks/au_activity.py: the same fit, the same provenance."""
    import json

    shipped = json.loads(REFERENCE_FILE.read_text())
    recorded = json.loads((root / "benchmarks" / "au_activity_cpu.json").read_text())
    assert shipped["provenance"] == recorded["provenance"]
    assert {k: shipped[k] for k in ("eyes", "faces", "mean", "std")} == recorded["reference_faces"]
    ref = reference_activity()
    assert ref.n_fit_ == shipped["faces"] > 20_000 and ref.names == AU_MEASURES


def test_activity_ignores_nan_faces_and_refuses_too_few(face):
    """Two faces (the second jittered) and a NaN face: the reference is the two, each
    measure's mean their mean and its std |difference| / sqrt(2)."""
    jittered = face + np.random.default_rng(0).normal(0, 0.01, face.shape)
    faces = np.stack([face, jittered, np.full_like(face, np.nan)])
    act = AUActivity(eyes="centres").fit(faces)
    a, b = au_geometry(face, "centres")[0], au_geometry(jittered, "centres")[0]
    assert act.n_fit_ == 2
    np.testing.assert_allclose(act.mean_, (a + b) / 2)
    np.testing.assert_allclose(act.std_, np.abs(a - b) / np.sqrt(2))
    assert np.isnan(act.transform(faces)[2]).all()
    with pytest.raises(EmonbError, match="at least 2 faces"):
        AUActivity().fit(faces[[0, 2]])
    with pytest.raises(EmonbError, match="no spread in"):
        AUActivity().fit(np.stack([face, face]))
    with pytest.raises(EmonbError, match="not fitted"):
        AUActivity().transform(face)


def test_bad_input():
    with pytest.raises(EmonbError, match=r"\(N, 468, 2\)"):
        au_geometry(np.zeros((2, 10, 2)))
    with pytest.raises(EmonbError, match="eyes must be one of"):
        face_frame(np.zeros((468, 2)), eyes="pupils")
    assert np.isnan(au_geometry(np.zeros((468, 2)))).all()  # eyes coincide: no frame
