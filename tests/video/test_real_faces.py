"""Real faces from the manifest's media, cropped like FER-2013."""

from __future__ import annotations

import numpy as np

from emonb.faces import crop, find_faces
from emonb.video.real_faces import real_faces


def test_photos_and_frames(astronaut):
    found = real_faces(["astronaut", "pexels-video"], every=100, max_frames=3)
    assert found.images.shape == (4, 48, 48) and found.images.dtype == np.uint8
    assert found.sources == ["astronaut", "pexels-video@0", "pexels-video@100", "pexels-video@200"]
    assert found.counts() == {"astronaut": 1, "pexels-video": 3}
    # the astronaut's crop is its detected face box, grey, area-resized
    import cv2

    face = crop(astronaut, find_faces(astronaut)[0])
    expected = cv2.resize(cv2.cvtColor(face, cv2.COLOR_RGB2GRAY), (48, 48), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(found.images[0], expected)


def test_no_faces_gives_an_empty_set(tmp_path):
    import cv2

    path = tmp_path / "grey.png"
    cv2.imwrite(str(path), np.full((120, 160), 128, np.uint8))
    found = real_faces([str(path)])
    assert found.images.shape == (0, 48, 48) and found.sources == []


def test_each_face_names_its_clip_or_photo_as_its_cluster():
    from emonb.video.real_faces import RealFaces

    faces = RealFaces(np.zeros((4, 48, 48), np.uint8),
                      ["astronaut", "pexels-video@0", "pexels-video@12", "multi-face"])  # fmt: skip
    assert faces.clusters.tolist() == ["astronaut", "pexels-video", "pexels-video", "multi-face"]
    assert faces.counts() == {"astronaut": 1, "pexels-video": 2, "multi-face": 1}
    assert faces.name == "the manifest's media (astronaut 1, pexels-video 2, multi-face 1)"
    sub = faces.subset([1, 3])
    assert sub.sources == ["pexels-video@0", "multi-face"] and sub.images.shape == (2, 48, 48)
    assert faces.subset(faces.clusters == "pexels-video").clusters.tolist() == ["pexels-video"] * 2
    assert RealFaces(np.zeros((0, 48, 48), np.uint8), []).clusters.shape == (0,)


def test_the_people_of_one_photo_are_clusters_of_their_own():
    found = real_faces(["multi-face", "pexels-video"], every=200, max_frames=2)
    photo = [s for s in found.sources if s.startswith("multi-face")]
    assert len(photo) > 1 and photo == [f"multi-face#{k}" for k in range(len(photo))]
    assert len(set(found.clusters[: len(photo)])) == len(photo)
    assert set(found.clusters[len(photo):]) == {"pexels-video"}
    assert found.counts()["multi-face"] == len(photo)
