"""Tracking and smoothing on hand-made boxes and probabilities (no model, no video)."""

import numpy as np
import pytest

from emonb.faces import Box
from emonb.video.tracking import EmotionSmoother, FaceTracker, TrackedFace, iou, label_changes


def p(*values):
    return np.asarray(values, dtype=float)


def test_iou_of_hand_made_boxes():
    a = Box(0, 0, 10, 10)
    assert iou(a, a) == 1.0
    assert iou(a, Box(5, 0, 10, 10)) == pytest.approx(50 / 150)  # half overlaps
    assert iou(a, Box(0, 0, 5, 5)) == pytest.approx(25 / 100)  # a quarter, inside
    assert iou(a, Box(2, 3, 10, 10)) == pytest.approx(56 / 144)  # 8 x 7 shared
    assert iou(a, Box(10, 0, 10, 10)) == 0.0  # edges touch
    assert iou(a, Box(20, 20, 5, 5)) == 0.0
    assert iou(Box(3, 3, 0, 0), Box(3, 3, 0, 0)) == 0.0  # empty boxes: no division by zero


def test_tracker_keeps_ids_across_small_moves_and_ends_lost_tracks():
    tr = FaceTracker(min_iou=0.3, max_missed=1)
    assert tr.update([Box(0, 0, 50, 50), Box(200, 0, 40, 40)]) == [0, 1]
    assert tr.update([Box(205, 2, 40, 40), Box(3, 1, 50, 50)]) == [1, 0]  # order follows boxes
    assert tr.update([Box(100, 100, 30, 30)]) == [2]  # far from both: a new face
    assert tr.update([]) == []
    assert tr.update([Box(3, 1, 50, 50)]) == [3]  # track 0 missed 2 > 1 frames: ended, not reused


def test_tracker_continues_a_track_missed_for_max_missed_frames():
    tr = FaceTracker(min_iou=0.3, max_missed=2)
    assert tr.update([Box(0, 0, 40, 40)]) == [0]
    assert tr.update([]) == [] and tr.update([]) == []  # missed 2 frames: still live
    assert tr.update([Box(2, 0, 40, 40)]) == [0]


def test_tracker_gives_a_track_to_its_largest_overlap_first():
    tr = FaceTracker(min_iou=0.3)
    tr.update([Box(0, 0, 10, 10)])
    # both overlap track 0 (IoU 90/110 and 1): the exact box wins, the other starts track 1
    assert tr.update([Box(1, 0, 10, 10), Box(0, 0, 10, 10)]) == [1, 0]


def test_tracker_min_iou_is_inclusive():
    for min_iou, expected in ((1 / 3, [0]), (0.34, [1])):
        tr = FaceTracker(min_iou=min_iou)
        tr.update([Box(0, 0, 10, 10)])
        assert tr.update([Box(5, 0, 10, 10)]) == expected  # IoU exactly 1/3


def test_smoother_ignores_a_noisy_frame_and_follows_a_real_change():
    sm = EmotionSmoother(window=1, patience=3)
    a, b = p(0.9, 0.1), p(0.1, 0.9)
    assert sm.update(a)[0] == 0  # the first frame sets the label
    assert [sm.update(x)[0] for x in (b, a, b, b)] == [0, 0, 0, 0]  # a resets b's streak
    assert sm.update(b)[0] == 1  # third frame in a row: switch


def test_smoother_restarts_the_streak_for_a_new_challenger():
    sm = EmotionSmoother(window=1, patience=2)
    c0, c1, c2 = p(0.8, 0.1, 0.1), p(0.1, 0.8, 0.1), p(0.1, 0.1, 0.8)
    assert [sm.update(x)[0] for x in (c0, c1, c2, c2)] == [0, 0, 0, 2]


def test_smoother_averages_the_last_window_frames():
    sm = EmotionSmoother(window=2, patience=1)
    sm.update(p(0.6, 0.4))
    label, mean = sm.update(p(0.45, 0.55))  # the average still favours class 0
    assert label == 0 and np.allclose(mean, [0.525, 0.475])
    label, mean = sm.update(p(0.3, 0.7))  # (0.6, 0.4) has left the window
    assert label == 1 and np.allclose(mean, [0.375, 0.625])
    for window, patience in ((0, 1), (1, 0)):
        with pytest.raises(ValueError, match="must be >= 1"):
            EmotionSmoother(window=window, patience=patience)


def test_tracked_face_top_class_label_and_json():
    f = TrackedFace(frame=3, time=0.25, track=1, box=Box(4, 5, 6, 7),
                    proba=np.array([0.2, 0.123456, 0.676544]), label=1,
                    class_names=("angry", "happy", "sad"))  # fmt: skip
    assert (f.predicted, f.emotion) == ("sad", "happy")
    assert f.to_json() == {"track": 1, "box": [4, 5, 6, 7], "predicted": "sad",
                           "score": 0.6765, "emotion": "happy",
                           "proba": {"angry": 0.2, "happy": 0.1235, "sad": 0.6765},
                           "presence": None, "top_au": None, "au_enrichment": None}  # fmt: skip
    assert not f.rejected and f.top_au is None


def test_tracked_face_action_units():
    from emonb.anatomy.regions import AU_NAMES

    au = np.linspace(0.5, 1.4, 19)
    au[3], au[7] = np.nan, 2.00049  # a region off the crop, and the top one
    face = dict(frame=0, time=0.0, track=0, box=Box(0, 0, 9, 9), proba=np.array([0.3, 0.7]),
                label=1, class_names=("a", "b"))  # fmt: skip
    f = TrackedFace(**face, points=np.zeros((468, 2), np.float32), presence=0.97, au=au)
    assert f.top_au == AU_NAMES[7] == "AU10" and not f.rejected
    doc = f.to_json()
    assert doc["presence"] == 0.97 and doc["top_au"] == "AU10"
    assert list(doc["au_enrichment"]) == list(AU_NAMES)
    assert doc["au_enrichment"]["AU05"] is None and doc["au_enrichment"]["AU10"] == 2.0
    assert doc["au_enrichment"]["AU01"] == 0.5
    rejected = TrackedFace(**face, presence=0.2)
    assert rejected.rejected and rejected.top_au is None
    assert TrackedFace(**face, au=np.full(19, np.nan)).top_au is None


def test_label_changes():
    assert label_changes([2, 2, 3, 3, 2]) == [(2, 2, 3), (4, 3, 2)]
    assert label_changes(np.array([1, 1, 1])) == []
    assert label_changes([]) == []
