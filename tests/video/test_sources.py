"""Reading video (:mod:`emonb.video.sources`): capture errors, frames in order and by index."""

import numpy as np
import pytest

from emonb.errors import EmonbError
from emonb.video.sources import iter_frames, open_video, read_frames


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
