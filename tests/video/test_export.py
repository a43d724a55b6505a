"""Writing results (:mod:`emonb.video.export`): the patch export, read back, and the GIF."""

import cv2
import numpy as np
import pandas as pd
import pytest

from emonb.errors import EmonbError
from emonb.faces import Box
from emonb.video.export import FaceExporter, exported_patches, write_animation
from emonb.video.tracking import TrackedFace

NAMES = ("angry", "happy", "sad")


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
