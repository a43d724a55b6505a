"""emonb.video.clips: a clip re-encoded at another size, made once and reused."""

import cv2
import numpy as np
import pytest

from emonb.errors import EmonbError
from emonb.video import clips
from emonb.video.clips import cached_clip, upscaled_clip
from emonb.video.writers import encoder_available
from tests.video.media import read_back

pytestmark = pytest.mark.skipif(
    not encoder_available("h264"), reason="no ffmpeg with libx264 (pip install imageio-ffmpeg)"
)


def _write_source(path, frames=5, size=(64, 36), fps=12.0, shade=0):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    for i in range(frames):
        frame = np.full((size[1], size[0], 3), shade + 40 * i, np.uint8)
        frame[8:28, 10 + 4 * i : 30 + 4 * i] = 255  # a square moving right
        writer.write(frame)
    writer.release()
    return path


def _probe(path):
    cap = cv2.VideoCapture(str(path))
    size = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    fps = cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    return size, fps, read_back(path)


def test_upscaled_clip_has_the_size_every_frame_and_the_frame_rate(tmp_path):
    source = _write_source(tmp_path / "src.mp4")
    dest = upscaled_clip(source, (128, 72), tmp_path / "out" / "up.mp4")
    assert dest == tmp_path / "out" / "up.mp4"
    size, fps, frames = _probe(dest)
    assert size == (128, 72) and fps == pytest.approx(12.0) and len(frames) == 5
    # the same picture, twice the size: the square of the last frame is where it was, x2
    square = frames[-1][16:56, 2 * (10 + 16) : 2 * (30 + 16)]
    assert square.mean() > 200 and frames[-1][60:, :10].mean() < 230
    assert sorted(p.name for p in dest.parent.iterdir()) == ["up.mp4", "up.mp4.json"]
    assert len(_probe(upscaled_clip(source, (128, 72), tmp_path / "first3.mp4",
                                    frames=3))[2]) == 3  # fmt: skip


def test_a_clip_is_reused_while_its_source_is_unchanged_and_remade_after(tmp_path, monkeypatch):
    source = _write_source(tmp_path / "src.mp4")
    dest = upscaled_clip(source, (128, 72), tmp_path / "up.mp4")
    made = dest.stat().st_mtime_ns

    def no_ffmpeg(*args, **kwargs):
        raise AssertionError("ffmpeg ran for a clip that was already made")

    with monkeypatch.context() as m:
        m.setattr(clips.subprocess, "run", no_ffmpeg)
        assert upscaled_clip(source, (128, 72), dest) == dest
    assert dest.stat().st_mtime_ns == made
    _write_source(source, shade=20)  # another source at the same path: made again
    upscaled_clip(source, (128, 72), dest)
    assert dest.stat().st_mtime_ns != made and len(_probe(dest)[2]) == 5
    # another size or frame count into the same file: made again too
    assert _probe(upscaled_clip(source, (64, 36), dest))[0] == (64, 36)


def test_cached_clip_lives_under_the_cache_by_name_size_and_frames(tmp_path):
    source = _write_source(tmp_path / "src.mp4")
    cache = tmp_path / "cache"
    assert cached_clip(source, (128, 72), cache=cache) == cache / "derived" / "src-128x72.mp4"
    named = cached_clip(source, (128, 72), name="clip", frames=2, cache=cache)
    assert named == cache / "derived" / "clip-128x72-first2.mp4" and len(_probe(named)[2]) == 2


def test_bad_sizes_and_sources_are_errors(tmp_path):
    source = _write_source(tmp_path / "src.mp4")
    with pytest.raises(EmonbError, match="even"):
        upscaled_clip(source, (127, 72), tmp_path / "up.mp4")
    with pytest.raises(EmonbError, match="width, height"):
        upscaled_clip(source, "big", tmp_path / "up.mp4")
    with pytest.raises(EmonbError, match="no such video"):
        upscaled_clip(tmp_path / "missing.mp4", (128, 72), tmp_path / "up.mp4")
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    with pytest.raises(EmonbError, match=r"x\.mp4: ffmpeg failed making a 128x72 clip of bad"):
        upscaled_clip(bad, (128, 72), tmp_path / "x.mp4")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.mp4", "src.mp4"]  # no leftovers
