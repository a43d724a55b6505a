"""The pipeline on a synthetic 12-frame clip, and VideoResult on hand-made faces."""

import json

import cv2
import numpy as np
import pandas as pd
import pytest

from emonb.errors import EmonbError
from emonb.faces import Box
from emonb.models.runner import predict_proba
from emonb.video.export import exported_patches
from emonb.video.pipeline import VideoPipeline, analyse_video
from emonb.video.result import STAGES, VideoResult, write_json
from emonb.video.sources import read_frames
from emonb.video.tracking import TrackedFace

N_FRAMES = 12  # frames of the face_video fixture


@pytest.fixture(scope="module")
def run(tmp_path_factory, face_video, mini_xception):
    """One Grad-CAM run over the clip with every output: (result, annotated video, faces dir)."""
    tmp = tmp_path_factory.mktemp("run")
    out, faces_dir = tmp / "annotated.mp4", tmp / "faces"
    result = analyse_video(face_video, mini_xception, out=out, export_faces=faces_dir,
                           keep_faces=True)  # fmt: skip
    return result, out, faces_dir


def test_one_drifting_face_is_one_happy_track(run):
    result, _, _ = run
    assert result.frames == N_FRAMES and (result.width, result.height) == (320, 240)
    assert result.source_fps == pytest.approx(12.0) and result.method == "gradcam"
    assert len(result.faces) == N_FRAMES  # one face per frame, one track, drifting right
    assert [f.frame for f in result.faces] == list(range(N_FRAMES))
    assert [f.time for f in result.faces] == pytest.approx(np.arange(N_FRAMES) / 12)
    assert {f.track for f in result.faces} == {0} and result.main_track() == 0
    xs = [f.box.x for f in result.faces]
    assert xs[-1] - xs[0] == pytest.approx(4 * (N_FRAMES - 1), abs=12)  # 4 pixels a frame
    # the astronaut smiles: the network agrees, and the smoothed label follows
    assert [f.emotion for f in result.faces] == ["happy"] * N_FRAMES
    assert result.inputs.shape == (N_FRAMES, 64, 64, 1) and result.maps.shape == (N_FRAMES, 64, 64)
    ms = result.timings_ms()
    assert set(ms) == {*STAGES, "total"} and ms["model"] > 0 and result.fps > 0


def test_probabilities_are_the_models_own(run, face_video, mini_xception):
    result, _, _ = run
    grey = cv2.cvtColor(read_frames(face_video, [5])[0], cv2.COLOR_RGB2GRAY)
    b = result.faces[5].box
    expected = predict_proba(mini_xception, [grey[b.y : b.y + b.h, b.x : b.x + b.w]])[0]
    np.testing.assert_allclose(result.faces[5].proba, expected, atol=1e-4)  # BN folded vs not


def test_without_a_map_the_probabilities_are_unchanged(run, face_video, mini_xception):
    result, _, _ = run
    plain = analyse_video(face_video, mini_xception, method="none", max_frames=4, keep_faces=True)
    assert plain.frames == 4 and plain.method is None and plain.maps is None
    assert plain.inputs.shape == (4, 64, 64, 1)
    # the same runner settings (logits, BatchNorm folded) as Grad-CAM's; Grad-CAM's fused pass
    # leaves its layer's own BatchNorm unfolded (separable_conv2d_8 -> batch_normalization_14,
    # the mini-Xception's CAM layer), so the two agree to float32 rounding
    np.testing.assert_allclose(np.array([f.proba for f in plain.faces]),
                               np.array([f.proba for f in result.faces[:4]]), rtol=1e-5, atol=1e-7)  # fmt: skip


def test_bad_arguments(face_video, mini_xception):
    with pytest.raises(EmonbError, match="max_frames"):
        analyse_video(face_video, mini_xception, max_frames=0)
    with pytest.raises(EmonbError, match="unknown method"):
        analyse_video(face_video, mini_xception, method="nope")


def test_annotated_video_and_export(run, face_video, mini_xception):
    result, out, faces_dir = run
    cap = cv2.VideoCapture(str(out))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == N_FRAMES and int(cap.get(3)) == 320
    cap.release()
    # frame 0: the heatmap changes the face; the corner far from it keeps the source's pixels
    drawn, source = (read_frames(v, [0])[0].astype(int) for v in (out, face_video))
    b = result.faces[0].box
    inside = np.abs(drawn - source)[b.y + 10 : b.y + b.h - 10, b.x + 10 : b.x + b.w - 10]
    assert inside.mean() > 20 and np.abs(drawn - source)[:, 260:275].mean() < 3
    # the export: one patch per face under its smoothed label, and the index
    index = pd.read_csv(faces_dir / "index.csv")
    assert len(index) == N_FRAMES == result.exported
    assert index["emotion"].tolist() == ["happy"] * N_FRAMES
    assert index["time_s"].iloc[6] == pytest.approx(0.5, abs=1e-3)
    assert index["w"].tolist() == [f.box.w for f in result.faces]
    patch = exported_patches(faces_dir, per_emotion=1)["happy"][0]
    assert patch.shape == (index["h"][0], index["w"][0], 3)


def test_a_frame_without_faces(mini_xception):
    pipe = VideoPipeline(mini_xception, "none")
    frame = np.full((120, 160, 3), 90, np.uint8)
    annotated, faces, smoothed = pipe.process(frame, 0, 0.0)
    assert faces == [] and smoothed == [] and np.array_equal(annotated, frame)
    assert annotated is not frame


def hand_made_result() -> VideoResult:
    names = ("a", "b")
    faces = [TrackedFace(i, i / 2, t, Box(t * 10, 0, 5, 5), np.array(pr), lab, names)
             for i, t, pr, lab in [(0, 3, (0.9, 0.1), 0), (1, 3, (0.4, 0.6), 0),
                                   (1, 1, (0.2, 0.8), 1), (3, 1, (0.3, 0.7), 1)]]  # fmt: skip
    return VideoResult("clip.mp4", "m", "gradcam", names, 320, 240, 2.0, frames=4,
                       seconds=0.5, stage_seconds={"read": 0.004, "model": 0.2},
                       faces=faces)  # fmt: skip


def test_result_tracks_timeline_and_timings():
    r = hand_made_result()
    assert r.main_track() == 1  # tracks 1 and 3 seen twice each: the lowest id
    times, proba, labels = r.timeline()
    assert times.tolist() == [0.5, 1.5] and labels.tolist() == [1, 1]  # frame 2 missing
    np.testing.assert_array_equal(proba, [[0.2, 0.8], [0.3, 0.7]])
    assert r.timeline(3)[0].tolist() == [0.0, 0.5]
    assert r.fps == 8.0  # 4 frames in 0.5 s
    assert r.timings_ms() == {"read": 1.0, "detect": 0.0, "model": 50.0, "mesh": 0.0,
                              "regions": 0.0, "draw": 0.0, "write": 0.0, "export": 0.0,
                              "wait": 0.0, "total": 125.0}  # fmt: skip
    empty = VideoResult("x", "m", None, ("a",), 1, 1, 0.0)
    assert empty.main_track() is None and empty.fps == 0.0 and empty.timeline()[0].size == 0


def test_result_table_and_json(tmp_path):
    r = hand_made_result()
    table = r.table()
    assert table.columns.tolist() == ["frame", "time_s", "track", "x", "y", "w", "h", "a", "b",
                                      "predicted", "emotion", "presence", "top_au"]  # fmt: skip
    assert table["predicted"].tolist() == ["a", "b", "b", "b"]
    assert table["emotion"].tolist() == ["a", "a", "b", "b"]
    doc = json.loads(write_json(r, tmp_path / "sub" / "v.json").read_text())
    assert (doc["frames"], doc["faces"], doc["frames_with_faces"], doc["fps"]) == (4, 4, 3, 8.0)
    assert [d["frame"] for d in doc["detections"]] == [0, 1, 2, 3]
    assert [d["time_s"] for d in doc["detections"]] == [0.0, 0.5, 1.0, 1.5]  # frame / 2 fps
    assert [len(d["faces"]) for d in doc["detections"]] == [1, 2, 0, 1]
    assert doc["detections"][1]["faces"][1] == r.faces[2].to_json()
    assert doc["ms_per_frame"]["total"] == 125.0
