"""The face mesh and the evidence per action unit in the video pipeline, on the first frames
of the book's clip (``pexels-video``: one face, tears to laughter)."""

import json

import matplotlib
import numpy as np
import pytest

from emonb.anatomy.regions import AU_NAMES, rasterize, region_masks_for
from emonb.errors import EmonbError
from emonb.faces import DETECTORS, Box
from emonb.faces.mesh import N_POINTS
from emonb.video.pipeline import VideoPipeline, action_units, analyse_video, to_map_pixels
from emonb.video.result import STAGES, VideoResult
from emonb.video.tracking import TrackedFace

matplotlib.use("Agg")

CLIP = "pexels-video"
FRAMES = 4


@pytest.fixture(scope="module", params=DETECTORS)
def clip(request, mini_xception):
    """The first frames of the clip through the whole pipeline, with each detector."""
    result = analyse_video(CLIP, mini_xception, max_frames=FRAMES, detector=request.param,
                           keep_faces=True)  # fmt: skip
    return request.param, result


def grown(box: Box, by: float = 0.3) -> tuple[float, float, float, float]:
    dx, dy = box.w * by, box.h * by
    return box.x - dx, box.y - dy, box.x + box.w + dx, box.y + box.h + dy


def test_every_accepted_face_has_468_points_in_its_grown_box(clip):
    detector, r = clip
    assert r.detector == detector and r.landmarks and r.frames == FRAMES
    assert len(r.faces) == FRAMES and {f.track for f in r.faces} == {0}  # one face a frame
    assert r.rejected == 0 and r.mesh_summary() == f"mesh: all {FRAMES} faces accepted"
    for f in r.faces:
        assert 0.5 <= f.presence <= 1 and not f.rejected
        assert f.points.shape == (N_POINTS, 2) and f.points.dtype == np.float32
        x0, y0, x1, y1 = grown(f.box)
        assert ((f.points >= (x0, y0)) & (f.points <= (x1, y1))).all()
    ms = r.timings_ms()
    assert set(ms) == {*STAGES, "total"} and ms["mesh"] > 0 and ms["regions"] > 0


def test_enrichment_is_the_maps_own_and_its_area_weighted_mean(clip):
    _, r = clip
    size = r.maps.shape[1:]
    for f, m in zip(r.faces, r.maps, strict=True):
        assert f.top_au in AU_NAMES and f.au.shape == (len(AU_NAMES),)
        assert np.isfinite(f.au).all() and (f.au >= 0).all()
        assert f.top_au == AU_NAMES[int(np.argmax(f.au))]
        # the regions of the crop the model saw: points relative to the box, scaled from
        # the box's size to the map's (regions' own route, not the pipeline's)
        local = (f.points - (f.box.x, f.box.y))[None]
        masks = region_masks_for(local, (f.box.h, f.box.w), size)[0].astype(np.float64)
        area = masks.sum(axis=(1, 2)) / m.size  # each region's share of the map's area
        mass = (masks * m).sum(axis=(1, 2)) / m.sum()  # ... and of its mass
        np.testing.assert_allclose(f.au, mass / area, rtol=1e-4)
        # enrichment_r = mass_r / area_r, so its area-weighted mean over the (disjoint)
        # regions is sum(mass_r) / sum(area_r): the enrichment of their union, which is 1
        # exactly when the union holds the map's mass in proportion to its area
        union = masks.sum(axis=0)
        expected = ((union * m).sum() / m.sum()) / (union.sum() / m.size)
        np.testing.assert_allclose((f.au * area).sum() / area.sum(), expected, rtol=1e-4)
        flat = action_units(f.points[None], [f.box], np.ones((1, *size)))[0]
        np.testing.assert_allclose(flat, 1.0, rtol=1e-6)
        np.testing.assert_allclose((flat * area).sum() / area.sum(), 1.0, rtol=1e-6)


def test_map_pixels_of_the_crop_the_model_saw(mini_xception):
    # a bright square in a dark frame: its centroid in the model's 64x64 input (the box cut
    # out and resized by the model's own preprocessing) is where to_map_pixels puts it
    frame = np.zeros((200, 300), np.uint8)
    frame[80:92, 150:164] = 255  # centre (157, 86) in the pixel-corner convention
    box = Box(101, 40, 130, 110)  # not square: x and y scale differently
    x = mini_xception.preprocess([frame[box.y : box.y + box.h, box.x : box.x + box.w]])[0, ..., 0]
    w = x - x.min()
    v, u = np.indices(w.shape) + 0.5
    centroid = ((u * w).sum() / w.sum(), (v * w).sum() / w.sum())
    expected = to_map_pixels(np.array([157.0, 86.0]), box, (64, 64))
    np.testing.assert_allclose(centroid, expected, atol=0.05)
    np.testing.assert_allclose(to_map_pixels(np.array([[101, 40], [231, 150]]), box, (64, 32)),
                               [[0, 0], [32, 64]])  # the box's corners: the map's  # fmt: skip


def test_a_map_on_one_region_puts_the_evidence_there(clip):
    _, r = clip
    f = r.faces[0]
    size = r.maps.shape[1:]
    masks = rasterize(to_map_pixels(f.points, f.box, size)[None], size)[0]
    k = AU_NAMES.index("AU12")
    values = action_units(f.points[None], [f.box], masks[k][None])[0]
    assert AU_NAMES[int(np.argmax(values))] == "AU12"
    assert values[k] > 1 and np.delete(values, k).max() < 0.05 * values[k]


def test_json_and_timelines_carry_the_action_units(clip):
    _, r = clip
    doc = json.loads(json.dumps(r.to_json(), allow_nan=False))
    face = doc["detections"][0]["faces"][0]
    assert list(face["au_enrichment"]) == list(AU_NAMES) and face["top_au"] in AU_NAMES
    assert face["au_enrichment"][face["top_au"]] == max(face["au_enrichment"].values())
    assert face["au_enrichment"]["AU12"] == round(float(r.faces[0].au[9]), 3)
    assert 0.5 <= face["presence"] <= 1 and doc["faces_rejected_by_mesh"] == 0
    times, names, values = r.au_timeline()
    assert names == AU_NAMES and values.shape == (FRAMES, 19) and len(times) == FRAMES
    np.testing.assert_array_equal(values[2], r.faces[2].au)
    assert r.top_aus() == [f.top_au for f in r.faces]
    seg = r.au_segments()
    assert len(seg) == 1 and seg["faces"][0] == seg["analysed"][0] == FRAMES
    best = int(np.argmax(values.mean(axis=0)))
    assert seg["AU 1"][0] == f"{AU_NAMES[best]} {values.mean(axis=0)[best]:.2f}"


def test_rejected_faces_get_no_action_units(mini_xception):
    from emonb.video.sources import read_frames

    pipe = VideoPipeline(mini_xception)
    landmarks = pipe.mesh.landmarks

    def rejecting(images, boxes, previous=None):  # the mesh as it is, but rejecting every face
        found = landmarks(images, boxes, previous=previous)
        found.accepted[:] = False
        return found

    pipe.mesh.landmarks = rejecting

    frame = read_frames(CLIP, [0])[0][..., ::-1].copy()  # BGR, as the pipeline reads it
    _, faces, _ = pipe.process(frame, 0, 0.0)
    assert len(faces) == 1 and faces[0].rejected and faces[0].presence > 0.5
    assert faces[0].points is None and faces[0].au is None and faces[0].top_au is None
    r = VideoResult("c", "m", "gradcam", mini_xception.class_names, 1, 1, 1.0, frames=1,
                    faces=faces, landmarks=True)  # fmt: skip
    assert r.rejected == 1 and r.mesh_summary().startswith("mesh: 1 of 1 faces rejected")
    assert np.isnan(r.au_timeline()[2]).all() and r.top_aus() == [None]
    assert r.au_segments()["analysed"][0] == 0


def test_without_landmarks_or_a_map(mini_xception):
    plain = analyse_video(CLIP, mini_xception, max_frames=2, landmarks=False)
    assert not plain.landmarks and plain.rejected == 0 and plain.timings_ms()["mesh"] == 0
    assert all(f.points is None and f.presence is None and f.au is None for f in plain.faces)
    face = plain.to_json()["detections"][0]["faces"][0]
    assert face["presence"] is face["top_au"] is face["au_enrichment"] is None
    no_map = analyse_video(CLIP, mini_xception, max_frames=1, method="none")
    assert no_map.faces[0].points is not None and no_map.faces[0].au is None


def test_unknown_detector_or_overlay(mini_xception):
    with pytest.raises(EmonbError, match="unknown face detector 'nope'; valid: blazeface, haar"):
        analyse_video(CLIP, mini_xception, detector="nope")
    with pytest.raises(EmonbError, match="unknown overlay"):
        VideoPipeline(mini_xception, overlay="nope")


def test_au_timeline_figure(clip):
    from emonb.plotting.video import plot_au_timeline

    _, r = clip
    ax = plot_au_timeline(r)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(AU_NAMES)
    assert ax.get_xlabel() == "time (s)"
    image = ax.images[0].get_array()
    np.testing.assert_allclose(image[:, 1], np.log2(np.clip(r.faces[1].au, 1 / 8, None)),
                               rtol=1e-6)  # fmt: skip


def test_au_timeline_leaves_gaps_grey():
    from emonb.plotting.video import plot_au_timeline

    names = ("a", "b")
    au = np.full(19, 2.0)
    faces = [TrackedFace(i, i / 2, 0, Box(0, 0, 5, 5), np.array([0.2, 0.8]), 1, names,
                         au=None if i == 1 else au) for i in (0, 1, 3)]  # fmt: skip
    r = VideoResult("c", "m", "gradcam", names, 9, 9, 2.0, frames=4, faces=faces)
    ax = plot_au_timeline(r)
    image = ax.images[0].get_array()
    assert image.shape == (19, 4)  # frames 0-3 on a regular grid; frame 2 missing
    assert image.mask[:, [1, 2]].all() and not image.mask[:, [0, 3]].any()
    np.testing.assert_allclose(image[:, 0], 1.0)  # log2(2)
    assert ax.get_xlim() == pytest.approx((-0.25, 1.75))


def test_tracked_faces_reuse_the_previous_mesh(mini_xception):
    """From the second frame on, a tracked face is meshed once around its previous points
    (one model call of one face), and its points stay within 2% of the box of a fresh
    two-pass mesh of the same frame."""
    from emonb.faces.mesh import FaceMesh
    from emonb.video.pipeline import VideoPipeline
    from emonb.video.sources import read_frames

    pipe = VideoPipeline(mini_xception)
    frames = [f[..., ::-1].copy() for f in read_frames(CLIP, [0, 1])]
    pipe.process(frames[0], 0, 0.0)
    calls = []
    run = pipe.mesh._run
    pipe.mesh._run = lambda rgbs, warps: calls.append(len(rgbs)) or run(rgbs, warps)
    _, faces, _ = pipe.process(frames[1], 1, 1 / 24)
    assert calls == [1] and faces[0].points is not None
    fresh = FaceMesh().landmarks([frames[1][..., ::-1].copy()], [faces[0].box]).xy[0]
    gap = np.median(np.linalg.norm(faces[0].points - fresh, axis=1))
    assert gap < 0.02 * faces[0].box.w
