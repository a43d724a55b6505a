"""The face mesh on real photos, checked against OpenCV's independent Haar eye and smile
detectors, and its handling of faces it cannot find."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from emonb.data.images import read_image, to_grey
from emonb.data.manifest import image_path
from emonb.errors import EmonbError
from emonb.faces import crop, detect_faces
from emonb.faces.mesh import EYE_POINTS, MOUTH_POINTS, FaceMesh, Landmarks

EYES, MOUTH = EYE_POINTS, MOUTH_POINTS


@pytest.fixture(scope="module")
def mesh() -> FaceMesh:
    return FaceMesh(threads=1)


def _haar(name: str, grey: np.ndarray, **kw) -> np.ndarray:
    clf = cv2.CascadeClassifier(cv2.data.haarcascades + name)
    return np.asarray(clf.detectMultiScale(grey, **kw)).reshape(-1, 4)


def _inside(p, boxes) -> bool:
    return any(x <= p[0] <= x + w and y <= p[1] <= y + h for x, y, w, h in boxes)


@pytest.mark.parametrize("name", ["astronaut", "single-face", "multi-face"])
def test_eyes_and_mouth_inside_haar_boxes(mesh, name):
    """Every face Haar finds: where the eye and smile cascades (run inside that face) find
    an eye or a mouth, the mesh's eye centre or mouth centre lies inside that box."""
    image = read_image(image_path(name))
    grey = to_grey(image)
    boxes = detect_faces(image, min_size=40)
    assert boxes
    marks = mesh.landmarks([image] * len(boxes), boxes)
    assert marks.accepted.all(), marks.summary()
    checked = 0
    for box, xy in zip(boxes, marks.xy, strict=True):
        x, y, w, h = box.as_tuple()
        upper = grey[y : y + h // 2 + h // 10, x : x + w]
        eyes = _haar("haarcascade_eye.xml", upper, scaleFactor=1.1, minNeighbors=5,
                     minSize=(w // 8, w // 8)) + [x, y, 0, 0]  # fmt: skip
        for side, idx in EYES.items():
            centre = xy[list(idx)].mean(axis=0)
            near = [b for b in eyes if (b[0] + b[2] / 2 < x + w / 2) == (side == "left")]
            if near:
                assert _inside(centre, near), (name, side, centre, near)
                checked += 1
        lower = grey[y + h // 2 : y + h, x : x + w]
        smiles = _haar("haarcascade_smile.xml", lower, scaleFactor=1.2, minNeighbors=20,
                       minSize=(w // 4, w // 8)) + [x, y + h // 2, 0, 0]  # fmt: skip
        if len(smiles):
            assert _inside(xy[list(MOUTH)].mean(axis=0), smiles), (name, smiles)
            checked += 1
    assert checked >= 2  # the check ran on at least an eye pair or an eye and a mouth


def test_points_in_caller_pixels(mesh, astronaut):
    """The same face given as a crop and inside the whole photo: the points differ by the
    crop's offset (the warp is undone exactly)."""
    box = detect_faces(astronaut)[0]
    whole = mesh.landmarks([astronaut], [box])
    x0, y0 = box.x - 40, box.y - 30
    part = astronaut[y0 : y0 + box.h + 80, x0 : x0 + box.w + 90]
    shifted = mesh.landmarks([part], [(40, 30, box.w, box.h)])
    assert np.abs(shifted.xy[0] + [x0, y0] - whole.xy[0]).max() < 0.05


def test_fer_style_crop_accepted_and_scaled(mesh, astronaut):
    """A tight 48x48 grey crop (FER-2013's layout) is accepted; its points, scaled x4,
    match the points found on the same crop at 192x192 within 1.5 px of 192."""
    face = cv2.resize(to_grey(crop(astronaut, detect_faces(astronaut)[0])), (48, 48),
                      interpolation=cv2.INTER_AREA)  # fmt: skip
    small = mesh.landmarks(face[None])
    big = mesh.landmarks(cv2.resize(face, (192, 192), interpolation=cv2.INTER_CUBIC)[None])
    assert small.accepted.all() and big.accepted.all()
    assert np.median(np.abs(small.xy[0] * 4 - big.xy[0])) < 1.5
    # eyes and mouth inside the crop (the chin and brow line may run past a Haar crop)
    inner = small.xy[0][[*EYES["left"], *EYES["right"], *MOUTH]]
    assert (inner > 0).all() and (inner < 48).all()


def test_non_face_rejected_and_counted(mesh, astronaut):
    face = cv2.resize(to_grey(crop(astronaut, detect_faces(astronaut)[0])), (48, 48))
    blank = np.full((48, 48), 128, np.uint8)
    marks = mesh.landmarks(np.stack([face, blank, face]))
    assert marks.accepted.tolist() == [True, False, True]
    assert marks.rejected == 1 and marks.reasons[0] is None and "presence" in marks.reasons[1]
    assert marks.summary().startswith("mesh: 1 of 3 faces rejected")
    assert isinstance(marks.subset(marks.accepted), Landmarks)
    assert len(marks.subset(marks.accepted)) == 2


def test_deterministic_and_batch_independent(astronaut):
    box = detect_faces(astronaut)[0]
    a = FaceMesh(batch_size=1, threads=1).landmarks([astronaut] * 3, [box] * 3)
    b = FaceMesh(batch_size=4, threads=1).landmarks([astronaut] * 3, [box] * 3)
    np.testing.assert_array_equal(a.points[0], a.points[2])
    np.testing.assert_allclose(a.points, b.points, atol=1e-3)


def test_bad_input(mesh):
    with pytest.raises(ValueError, match="uint8"):
        mesh.landmarks(np.zeros((1, 48, 48), np.float32))
    with pytest.raises(ValueError, match="boxes"):
        mesh.landmarks(np.zeros((2, 48, 48), np.uint8), [(0, 0, 48, 48)])
    with pytest.raises(ValueError, match="empty"):
        mesh.landmarks(np.zeros((1, 48, 48), np.uint8), [(0, 0, 0, 48)])


def test_corrupt_model_file_names_fetch(tmp_path):
    from emonb.faces.lite import LiteModel

    bad = tmp_path / "face_landmark.tflite"
    bad.write_bytes(b"not a model")
    with pytest.raises(EmonbError, match="not a usable .tflite"):
        LiteModel(bad)


def test_tilted_face_follows_rotation(mesh, astronaut):
    """The photo turned by 25 degrees about the face: the points turn with it (the refining
    pass levels the eyes and the warp is undone), within 1.5 px on a 95-px face."""
    box = detect_faces(astronaut)[0]
    centre = (box.x + box.w / 2, box.y + box.h / 2)
    turn = cv2.getRotationMatrix2D(centre, 25, 1.0)
    tilted = cv2.warpAffine(astronaut, turn, astronaut.shape[1::-1], flags=cv2.INTER_CUBIC)
    upright = mesh.landmarks([astronaut], [box]).xy[0]
    found = mesh.landmarks([tilted], [box])
    expected = upright @ turn[:, :2].T + turn[:, 2]
    assert found.accepted.all()
    assert np.median(np.linalg.norm(found.xy[0] - expected, axis=1)) < 1.5


def test_previous_points_track_in_one_pass(astronaut):
    """Given the face's points of the previous frame, one pass around them gives what the
    two passes from the box give (within 1.5 px median on a 95-px face: about what one more
    pass moves them); an unusable previous mesh (far
    from the face) falls back to the box."""
    box = detect_faces(astronaut)[0]
    mesh = FaceMesh(threads=1)
    full = mesh.landmarks([astronaut], [box])
    calls = []
    run = mesh._run
    mesh._run = lambda rgbs, warps: calls.append(len(rgbs)) or run(rgbs, warps)
    tracked = mesh.landmarks([astronaut], [box], previous=[full.xy[0]])
    assert calls == [1]  # one pass
    assert np.median(np.linalg.norm(tracked.xy[0] - full.xy[0], axis=1)) < 1.5
    calls.clear()
    lost = mesh.landmarks([astronaut, astronaut], [box, box],
                          previous=[full.xy[0] + [300, 300], None])  # fmt: skip
    assert lost.accepted.all() and calls == [1, 2, 2]  # tracked pass, then both from boxes
    np.testing.assert_allclose(lost.points[0], full.points[0], atol=1e-4)


def test_landmarks_of_batches_join_in_order():
    def batch(lo, hi):
        k = np.arange(lo, hi)
        return Landmarks(np.full((hi - lo, 468, 3), k[:, None, None], np.float32),
                         k / 10, k % 2 == 0, [None if i % 2 == 0 else "low" for i in k])  # fmt: skip

    joined = Landmarks.join([batch(0, 3), batch(3, 5)])
    assert joined.points[:, 0, 0].tolist() == [0, 1, 2, 3, 4]
    assert joined.accepted.tolist() == [True, False, True, False, True]
    assert joined.reasons == [None, "low", None, "low", None] and joined.rejected == 2
    assert Landmarks.join([batch(0, 2)]).points.shape == (2, 468, 3)
