"""The video writers of emonb.video.writers: every encoder round-trips through OpenCV, the
suffix picks the codec, the fallback says so, an error mid-way leaves a playable file; and
the page's <video> element (emonb.video.web) embeds what was written."""

import base64
import re

import cv2
import numpy as np
import pytest

from emonb.errors import EmonbError
from emonb.video import writers
from emonb.video.web import video_html, web_videos
from emonb.video.writers import ENCODERS, encoder_for, open_writer
from tests.video.media import read_back

W, H, N = 96, 64, 8  # small frames: VP9 through OpenCV is slow at its default settings
SUFFIX = {"h264": ".mp4", "h264-realtime": ".mp4", "vp9": ".webm", "vp9-opencv": ".webm", "mp4v": ".mp4"}


def frames(n: int = N) -> list[np.ndarray]:
    """Smooth BGR frames (a gradient that moves), which every lossy codec keeps closely."""
    x = np.linspace(0, 200, W)[None, :] + np.linspace(0, 50, H)[:, None]
    return [np.dstack([x + 5 * i, 255 - x, np.full_like(x, 40 + 20 * i)]).astype(np.uint8)
            for i in range(n)]  # fmt: skip


def needs(encoder: str) -> None:
    if not writers.encoder_available(encoder):
        pytest.skip(f"no ffmpeg with {ENCODERS[encoder][1][0]} (pip install imageio-ffmpeg)")


@pytest.mark.parametrize("encoder", list(ENCODERS))
def test_every_encoder_writes_frames_opencv_reads_back(tmp_path, encoder):
    needs(encoder)
    path = tmp_path / f"clip{SUFFIX[encoder]}"
    with open_writer(path, 12.0, (W, H), encoder=encoder) as writer:
        for frame in frames():
            writer.write(frame)
    assert writer.closed and writer.frames == N and writer.encoder == encoder
    back = read_back(path)
    assert len(back) == N and back[0].shape == (H, W, 3)
    cap = cv2.VideoCapture(str(path))
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(12.0)
    cap.release()
    # lossy, but the same pictures in the same order
    errors = [np.abs(a.astype(int) - b).mean() for a, b in zip(back, frames(), strict=True)]
    assert max(errors) < 6, errors


def test_the_suffix_picks_the_codec():
    if writers.encoder_available("h264"):
        assert encoder_for("a.mp4") == encoder_for("b.MOV") == "h264"
    if writers.encoder_available("vp9"):
        assert encoder_for("a.webm") == "vp9"
    assert encoder_for("a.avi") == "mp4v"
    with pytest.raises(EmonbError, match=r"\.gif video; use \.mp4 \(H\.264\) or \.webm"):
        encoder_for("a.gif")
    with pytest.raises(EmonbError, match="unknown video encoder 'x'"):
        open_writer("a.mp4", 12.0, (W, H), encoder="x")


def test_without_ffmpeg_mp4_falls_back_to_mp4v_with_a_notice(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(writers, "ffmpeg_exe", lambda: None)
    assert encoder_for("a.mp4") == "mp4v" and encoder_for("a.webm") == "vp9-opencv"
    with open_writer(tmp_path / "a.mp4", 12.0, (W, H)) as writer:
        writer.write(frames(1)[0])
    err = capsys.readouterr().err.strip().splitlines()
    assert writer.encoder == "mp4v" and len(err) == 1
    assert err[0].startswith("emonb: notice: no H.264 encoder (pip install imageio-ffmpeg)")
    assert "browsers do not play" in err[0]
    assert len(read_back(tmp_path / "a.mp4")) == 1
    with open_writer(tmp_path / "a.webm", 12.0, (W, H)) as writer:
        writer.write(frames(1)[0])
    err = capsys.readouterr().err.strip().splitlines()
    assert writer.encoder == "vp9-opencv" and len(err) == 1 and "VP9 through OpenCV" in err[0]
    # OpenCV's own "tag 'VP90' is not supported ... fallback" line is silenced
    assert "tag" not in capsys.readouterr().err


@pytest.mark.parametrize("encoder", list(ENCODERS))
def test_a_writer_closed_after_an_error_leaves_a_playable_file(tmp_path, encoder):
    needs(encoder)
    path = tmp_path / f"partial{SUFFIX[encoder]}"
    with pytest.raises(RuntimeError, match="mid-way"):
        with open_writer(path, 12.0, (W, H), encoder=encoder) as writer:
            for frame in frames(5):
                writer.write(frame)
            raise RuntimeError("mid-way")
    assert writer.closed
    back = read_back(path)
    assert len(back) == 5 and back[0].shape == (H, W, 3)


def test_bad_frames_and_a_closed_writer_are_errors(tmp_path):
    writer = open_writer(tmp_path / "a.mp4", 12.0, (W, H))
    with pytest.raises(EmonbError, match=f"frames must be {H}x{W}x3 uint8"):
        writer.write(np.zeros((H + 1, W, 3), np.uint8))
    with pytest.raises(EmonbError, match="uint8"):
        writer.write(np.zeros((H, W, 3), np.float32))
    writer.release()  # cv2.VideoWriter's name for close
    writer.close()  # a second close does nothing
    with pytest.raises(EmonbError, match="closed"):
        writer.write(frames(1)[0])


def test_an_encoder_failure_is_an_error_with_ffmpegs_words(tmp_path):
    needs("h264")
    (tmp_path / "taken.mp4").mkdir()  # ffmpeg cannot open a folder as its output
    with pytest.raises(EmonbError, match=r"taken\.mp4: ffmpeg \(h264\) failed"):
        with open_writer(tmp_path / "taken.mp4", 12.0, (W, H)) as writer:
            for frame in frames(40):  # until the pipe breaks, or at the latest on close
                writer.write(frame)


def test_odd_sizes_are_padded_to_even_for_h264(tmp_path):
    needs("h264")
    with open_writer(tmp_path / "odd.mp4", 12.0, (W - 1, H - 1)) as writer:
        for frame in frames(3):
            writer.write(np.ascontiguousarray(frame[1:, 1:]))
    back = read_back(tmp_path / "odd.mp4")
    assert len(back) == 3 and back[0].shape == (H, W, 3)


def test_web_videos_and_the_page_element(tmp_path, face_video):
    needs("h264")
    needs("vp9")
    paths = web_videos(face_video, tmp_path / "page", max_width=160, max_frames=6)
    assert [p.suffix for p in paths] == [".mp4", ".webm"]
    for p in paths:
        back = read_back(p)
        assert len(back) == 6 and back[0].shape == (120, 160, 3)  # 320x240 halved
    html = video_html(paths)
    assert html.startswith("<video controls muted playsinline") and html.endswith("</video>")
    srcs = re.findall(r'<source src="data:([^;]+);base64,([^"]+)" type="([^"]+)">', html)
    assert [s[0] for s in srcs] == ["video/mp4", "video/webm"]
    assert base64.b64decode(srcs[0][1]) == paths[0].read_bytes()
    # the codecs a browser checks before downloading: H.264 (profile and level) and VP9
    assert re.fullmatch(r"video/mp4; codecs=&quot;avc1\.[0-9A-F]{6}&quot;", srcs[0][2])
    assert srcs[1][2] == "video/webm; codecs=&quot;vp9&quot;"
    with pytest.raises(EmonbError, match="no video files"):
        video_html([])


def test_web_videos_skips_what_browsers_cannot_play(tmp_path, face_video, monkeypatch):
    monkeypatch.setattr(writers, "ffmpeg_exe", lambda: None)
    paths = web_videos(face_video, tmp_path, max_width=64, max_frames=2)
    assert [p.suffix for p in paths] == [".webm"]  # VP9 through OpenCV; no mp4v
    assert len(read_back(paths[0])) == 2


def test_the_video_command_checks_the_suffix_before_loading(tmp_path, capsys):
    from emonb.cli import main

    assert (
        main(["video", "single-face-video", "--method", "none", "--out", str(tmp_path / "a.gif")])
        == 1
    )
    assert "a.gif: cannot write a .gif video; use .mp4 (H.264) or .webm (VP9)" in (
        capsys.readouterr().err
    )


def test_realtime_picks_the_cheap_h264_and_yuv_is_piped_for_even_sizes(tmp_path):
    needs("h264")
    with open_writer(tmp_path / "a.mp4", 12.0, (W, H), realtime=True) as w:
        assert w.encoder == "h264-realtime" and w.yuv == (W % 2 == 0 and H % 2 == 0)
        for frame in frames():
            w.write(frame)
    assert open_writer(tmp_path / "b.webm", 12.0, (W, H), realtime=True).encoder in (
        "vp9", "vp9-opencv")  # fmt: skip
    # an odd size goes to ffmpeg as BGR (padded there); both read back as the frames
    with open_writer(tmp_path / "odd.mp4", 12.0, (W - 1, H - 1)) as odd:
        assert not odd.yuv
        for frame in frames():
            odd.write(np.ascontiguousarray(frame[: H - 1, : W - 1]))
    for path, size in ((tmp_path / "a.mp4", (H, W)), (tmp_path / "odd.mp4", (H - 1, W - 1))):
        back = read_back(path)
        assert len(back) == N
        errors = [np.abs(a[: size[0], : size[1]].astype(int) - b[: size[0], : size[1]]).mean()
                  for a, b in zip(back, frames(), strict=True)]  # fmt: skip
        assert max(errors) < 6, (path.name, errors)
