import json

import cv2
import numpy as np
import pandas as pd
import pytest

from emonb.errors import EmonbError
from emonb.faces import Box
from emonb.video import (
    STAGES,
    EmotionSmoother,
    FaceTracker,
    VideoPipeline,
    analyse_video,
    animation_frames,
    exported_patches,
    iou,
    label_changes,
    open_video,
    read_frames,
    write_animation,
    write_json,
)

N_FRAMES = 12


@pytest.fixture(scope="module")
def face_video(tmp_path_factory, astronaut):
    """A 12-frame 320x240 MP4 of the astronaut's face drifting right, with the frame index
    written into a corner, so frames can be told apart."""
    path = tmp_path_factory.mktemp("video") / "drift.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 12.0, (320, 240))
    face = cv2.resize(astronaut[20:300, 100:380, ::-1], (180, 180))
    for i in range(N_FRAMES):
        frame = np.full((240, 320, 3), 40, np.uint8)
        frame[30:210, 20 + 4 * i : 200 + 4 * i] = face
        cv2.putText(frame, str(i), (280, 230), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1)
        writer.write(frame)
    writer.release()
    return path


def p(*values):
    return np.asarray(values, dtype=float)


def test_smoother_ignores_a_noisy_frame_and_follows_a_real_change():
    sm = EmotionSmoother(window=1, patience=3)
    a, b = p(0.9, 0.1), p(0.1, 0.9)
    assert sm.update(a)[0] == 0  # the first frame sets the label
    assert [sm.update(x)[0] for x in (b, a, b, b)] == [0, 0, 0, 0]  # b leads 1, then 2 frames
    assert sm.update(b)[0] == 1  # third frame in a row: switch
    label, mean = EmotionSmoother(window=3, patience=1).update(a)
    assert label == 0 and np.allclose(mean, a)


def test_smoother_averages_the_window():
    sm = EmotionSmoother(window=2, patience=1)
    sm.update(p(0.6, 0.4))
    label, mean = sm.update(p(0.45, 0.55))  # average still favours class 0
    assert label == 0 and np.allclose(mean, [0.525, 0.475])
    with pytest.raises(ValueError):
        EmotionSmoother(window=0)


def test_iou_and_tracker_keep_ids_across_small_moves():
    a, b = Box(0, 0, 10, 10), Box(5, 0, 10, 10)
    assert iou(a, a) == 1.0 and iou(a, Box(20, 20, 5, 5)) == 0.0
    assert iou(a, b) == pytest.approx(50 / 150)
    tr = FaceTracker(min_iou=0.3, max_missed=1)
    assert tr.update([Box(0, 0, 50, 50), Box(200, 0, 40, 40)]) == [0, 1]
    assert tr.update([Box(205, 2, 40, 40), Box(3, 1, 50, 50)]) == [1, 0]  # order follows boxes
    assert tr.update([Box(100, 100, 30, 30)]) == [2]  # far from both: a new face
    assert tr.update([]) == []
    assert tr.update([Box(3, 1, 50, 50)]) == [3]  # track 0 missed 2 > 1 frames: ended, id not reused


def test_label_changes():
    assert label_changes([2, 2, 3, 3, 2]) == [(2, 2, 3), (4, 3, 2)]
    assert label_changes([]) == []


def test_open_video_errors_are_clear(tmp_path):
    with pytest.raises(EmonbError, match="camera 99 could not be opened"):
        open_video(99)
    with pytest.raises(EmonbError, match="no such video file"):
        open_video(tmp_path / "missing.mp4")
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(EmonbError, match="cannot read"):
        open_video(bad)


def test_pipeline_on_a_file(tmp_path, face_video, mini_xception):
    out, faces_dir = tmp_path / "annotated.mp4", tmp_path / "faces"
    result = analyse_video(face_video, mini_xception, out=out, export_faces=faces_dir,
                           keep_faces=True)  # fmt: skip
    assert result.frames == N_FRAMES and (result.width, result.height) == (320, 240)
    assert len(result.faces) == N_FRAMES  # one face per frame, one track, drifting right
    assert {f.track for f in result.faces} == {0} and result.main_track() == 0
    xs = [f.box.x for f in result.faces]
    assert xs[-1] - xs[0] > 30
    assert all(np.isclose(f.proba.sum(), 1, atol=1e-4) for f in result.faces)
    # the astronaut smiles: the network agrees, and the smoothed label follows
    assert [f.emotion for f in result.faces] == ["happy"] * N_FRAMES
    # the probabilities are the model's own on the same crops
    grey = cv2.cvtColor(read_frames(face_video, [5])[0], cv2.COLOR_RGB2GRAY)
    b = result.faces[5].box
    expected = mini_xception.predict_proba([grey[b.y : b.y + b.h, b.x : b.x + b.w]])[0]
    np.testing.assert_allclose(result.faces[5].proba, expected, atol=1e-4)
    assert result.inputs.shape == (N_FRAMES, 64, 64, 1) and result.maps.shape == (N_FRAMES, 64, 64)
    assert result.maps.min() >= 0 and result.maps.max() == pytest.approx(1.0)
    # timings: every stage, a positive rate
    ms = result.timings_ms()
    assert set(ms) == {*STAGES, "total"} and result.fps > 0 and ms["model"] > 0
    # the annotated video has every frame, at the source's size
    cap = cv2.VideoCapture(str(out))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == N_FRAMES and int(cap.get(3)) == 320
    cap.release()
    # the export: one patch per face under its smoothed label, and the index
    index = pd.read_csv(faces_dir / "index.csv")
    assert len(index) == N_FRAMES == result.exported
    assert list(index["emotion"].unique()) == ["happy"]
    assert all((faces_dir / f).is_file() for f in index["file"])
    assert list(index.columns[:4]) == ["file", "frame", "time_s", "track"]
    assert index["time_s"].iloc[6] == pytest.approx(0.5, abs=1e-3)
    patches = exported_patches(faces_dir, per_emotion=3)
    assert list(patches) == ["happy"] and len(patches["happy"]) == 3
    assert patches["happy"][0].shape == (index["h"][0], index["w"][0], 3)
    # JSON: per-frame detections with probabilities, and the measured speed
    doc = json.loads(write_json(result, tmp_path / "v.json").read_text())
    assert doc["frames"] == N_FRAMES and len(doc["detections"]) == N_FRAMES
    face = doc["detections"][3]["faces"][0]
    assert face["emotion"] == "happy" and set(face["proba"]) == set(mini_xception.class_names)
    assert doc["fps"] > 0 and doc["ms_per_frame"]["total"] > 0


def test_pipeline_max_frames_and_no_map(face_video, mini_xception):
    result = analyse_video(face_video, mini_xception, method="none", max_frames=4)
    assert result.frames == 4 and result.method is None and result.maps is None
    with pytest.raises(EmonbError, match="max_frames"):
        analyse_video(face_video, mini_xception, max_frames=0)
    with pytest.raises(EmonbError, match="unknown method"):
        analyse_video(face_video, mini_xception, method="nope")


def test_draw_changes_only_the_face_and_its_label(mini_xception, face_video):
    frame = cv2.cvtColor(read_frames(face_video, [0])[0], cv2.COLOR_RGB2BGR)
    pipe = VideoPipeline(mini_xception)
    annotated, faces, _ = pipe.process(frame, 0, 0.0)
    (f,) = faces
    b = f.box
    changed = np.any(annotated != frame, axis=2)
    inside = np.zeros_like(changed)
    inside[b.y - 2 : b.y + b.h + 2, b.x - 2 : b.x + b.w + 2] = True
    assert changed[inside].mean() > 0.5  # the heatmap covers the face
    label = np.zeros_like(changed)
    label[max(b.y - 30, 0) : b.y + 1, b.x : b.x + 150] = True  # "happy 0.99" on the box top
    assert changed[label].any()
    assert not changed[~(inside | label)].any()
    assert np.array_equal(frame, cv2.cvtColor(read_frames(face_video, [0])[0], cv2.COLOR_RGB2BGR))


def test_read_frames_and_animation(tmp_path, face_video, mini_xception):
    first, last = read_frames(face_video, [11, 0])
    assert first.shape == (240, 320, 3) and not np.array_equal(first, last)
    with pytest.raises(EmonbError, match="no frame 12"):
        read_frames(face_video, [12])
    inputs = np.random.default_rng(0).uniform(-1, 1, (3, 64, 64, 1)).astype(np.float32)
    frames = animation_frames(mini_xception, inputs, np.zeros((3, 64, 64)), ["a", "b", "c"], size=96)
    assert len(frames) == 3 and frames[0].shape == (96, 96, 3) and frames[0].dtype == np.uint8
    from PIL import Image

    gif = write_animation(frames, tmp_path / "a.gif", fps=4)
    with Image.open(gif) as im:
        assert im.n_frames == 3 and im.info["duration"] == 250
    with pytest.raises(EmonbError):
        write_animation([], tmp_path / "b.gif")


def test_chapter_parameter_check_for_videos(tmp_path):
    from emonb.report import ParameterError, check_video

    assert check_video(0) == 0
    assert check_video("pexels-video").endswith("WolfgangLanger_Pexels.mp4")
    with pytest.raises(ParameterError, match="parameter 'video' must be a video file"):
        check_video(str(tmp_path / "none.mp4"))
