"""Reading video and writing results: capture errors, frames by index, the patch export."""

import cv2
import numpy as np
import pandas as pd
import pytest

from emonb.errors import EmonbError
from emonb.faces import Box
from emonb.video.io import (
    FaceExporter,
    exported_patches,
    iter_frames,
    open_video,
    read_frames,
    write_animation,
)
from emonb.video.tracking import TrackedFace

NAMES = ("angry", "happy", "sad")


def test_open_video_errors_are_clear(tmp_path):
    with pytest.raises(EmonbError, match="camera 99 could not be opened"):
        open_video(99)
    with pytest.raises(EmonbError, match="no such video file"):
        open_video(tmp_path / "missing.mp4")
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(EmonbError, match="cannot read"):
        open_video(bad)


def test_iter_frames_stops_at_the_limit_or_the_end_and_times_reading(face_video):
    cap, name = open_video(str(face_video))
    seconds = {"read": 0.0}
    assert [i for i, _ in iter_frames(cap, 5, seconds)] == [0, 1, 2, 3, 4]
    assert seconds["read"] > 0 and name == str(face_video)
    assert [i for i, _ in iter_frames(cap, None)] == list(range(7))  # the other 7 of 12
    cap.release()


def test_read_frames_follows_the_order_asked(face_video):
    last, first = read_frames(face_video, [11, 0])
    assert first.shape == (240, 320, 3) and not np.array_equal(first, last)
    np.testing.assert_array_equal(first, read_frames(face_video, [0])[0])
    # the face's left edge moved from x = 20 to x = 20 + 4 * 11 (background is grey 40)
    assert abs(first[120, 30:40].mean() - 40) > 10  # the face
    assert abs(last[120, 30:40].mean() - 40) < 5  # the background
    with pytest.raises(EmonbError, match="no frame 12"):
        read_frames(face_video, [12])


def face(frame: int, track: int, label: int) -> TrackedFace:
    """Frame ``frame`` at 10 fps: a 4x3 box at (2, 1), the frame's top class "happy"."""
    return TrackedFace(frame, frame / 10, track, Box(2, 1, 4, 3), np.array([0.1, 0.6, 0.3]),
                       label, NAMES)  # fmt: skip


def test_exporter_saves_patches_under_the_smoothed_label(tmp_path):
    frame = (np.arange(10 * 12 * 3) % 251).astype(np.uint8).reshape(10, 12, 3)  # a BGR ramp
    ex = FaceExporter(tmp_path, NAMES, every=2)
    for i in range(5):
        ex.save(frame, face(i, track=7, label=2), smoothed=np.array([0.2, 0.3, 0.5]))
    ex.close()
    assert ex.count == 3  # frames 0, 2 and 4
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*NAMES, "index.csv"])
    index = pd.read_csv(tmp_path / "index.csv")
    assert list(index.columns) == list(FaceExporter.COLUMNS)
    assert index["file"].tolist() == [f"sad/f00000{i}_t7.png" for i in (0, 2, 4)]  # every 2nd
    row = index.iloc[1]
    assert (row["frame"], row["time_s"], row["track"]) == (2, 0.2, 7)
    assert (row["x"], row["y"], row["w"], row["h"]) == (2, 1, 4, 3)
    assert (row["emotion"], row["score"]) == ("sad", 0.5)  # the smoothed label's average
    assert (row["predicted"], row["predicted_score"]) == ("happy", 0.6)  # the frame's own
    crop = frame[1:4, 2:6]
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / row["file"])), crop)  # lossless
    with pytest.raises(EmonbError, match="every must be >= 1"):
        FaceExporter(tmp_path / "x", NAMES, every=0)


def test_exported_patches_spread_evenly_per_emotion(tmp_path):
    ex = FaceExporter(tmp_path, NAMES)
    for i in range(5):  # frame i is filled with grey 10 * i, so each patch tells its frame
        frame = np.full((10, 12, 3), 10 * i, np.uint8)
        ex.save(frame, face(i, track=0, label=1 if i < 4 else 0), smoothed=np.ones(3))
    ex.close()
    picks = exported_patches(tmp_path, per_emotion=3)
    assert list(picks) == ["happy", "angry"]  # in order of first appearance
    assert [int(p[0, 0, 0]) for p in picks["happy"]] == [0, 20, 30]  # rows 0, 1.5 -> 2, 3
    assert [int(p[0, 0, 0]) for p in picks["angry"]] == [40]
    assert picks["happy"][0].shape == (3, 4, 3)
    assert len(exported_patches(tmp_path, per_emotion=None)["happy"]) == 4


def test_write_animation(tmp_path):
    from PIL import Image

    frames = [np.full((8, 8, 3), v, np.uint8) for v in (0, 128, 255)]
    gif = write_animation(frames, tmp_path / "sub" / "a.gif", fps=4)
    with Image.open(gif) as im:
        assert im.n_frames == 3 and im.info["duration"] == 250 and im.info["loop"] == 0
    with pytest.raises(EmonbError, match="no frames"):
        write_animation([], tmp_path / "b.gif")
