"""Faults end a video run cleanly: a camera that disappears, a truncated file, a frame of
another size, Ctrl-C. Each leaves the frames processed so far in a video that plays, and
a JSON and an export index that hold exactly those frames (emonb.video.stages)."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

import emonb.video.pipeline as pipeline
from emonb.video.pipeline import analyse_video
from emonb.video.result import write_json
from emonb.video.stages import FrameReader, OutputStage, Processed
from emonb.video.writers import open_writer
from tests.video.media import read_back

ROOT = Path(__file__).resolve().parents[2]


class FakeCapture:
    """A capture that plays ``frames`` and then fails (``read`` -> (False, None)) as a
    camera does when unplugged; ``props`` are what ``get`` answers."""

    def __init__(self, frames, props):
        self.frames, self.props, self.i, self.released = list(frames), props, 0, False

    def read(self):
        if self.i >= len(self.frames):
            return False, None
        self.i += 1
        return True, self.frames[self.i - 1]

    def get(self, prop):
        return self.props.get(prop, 0.0)

    def release(self):
        self.released = True


def fake_source(monkeypatch, frames, name, fps=12.0):
    h, w = frames[0].shape[:2]
    cap = FakeCapture(frames, {cv2.CAP_PROP_FRAME_WIDTH: w, cv2.CAP_PROP_FRAME_HEIGHT: h,
                               cv2.CAP_PROP_FPS: fps,
                               cv2.CAP_PROP_FRAME_COUNT: 0 if name.startswith("camera") else
                               len(frames)})  # fmt: skip
    monkeypatch.setattr(pipeline, "open_video", lambda source: (cap, name))
    return cap


def run_all_outputs(tmp_path, source, net, **kw):
    r = analyse_video(source, net, out=tmp_path / "out.mp4", export_faces=tmp_path / "faces",
                      method="gradcam", landmarks=False, detector="haar", **kw)  # fmt: skip
    write_json(r, tmp_path / "out.json")
    return r


def check_outputs_agree(tmp_path, r, frames: int) -> None:
    """The video plays ``frames`` frames; the JSON and the index hold exactly those."""
    assert r.frames == frames
    assert len(read_back(tmp_path / "out.mp4")) == frames
    doc = json.loads((tmp_path / "out.json").read_text())
    assert doc["frames"] == frames and len(doc["detections"]) == frames
    assert doc["stopped"] == r.stopped
    assert all(f.frame < frames for f in r.faces) and len(r.faces) == doc["faces"]
    with open(tmp_path / "faces" / "index.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == r.exported == len(r.faces)  # every face of every frame written
    assert sorted({int(row["frame"]) for row in rows}) == sorted({f.frame for f in r.faces})
    assert all((tmp_path / "faces" / row["file"]).is_file() for row in rows)


@pytest.fixture(scope="module")
def clip_frames(face_video):
    return read_back(face_video)


def test_a_camera_that_disappears_ends_the_run_with_what_it_gave(
        tmp_path, monkeypatch, mini_xception, clip_frames):  # fmt: skip
    fake_source(monkeypatch, clip_frames[:7], "camera 0")
    r = run_all_outputs(tmp_path, 0, mini_xception)
    assert r.stopped == "camera 0 stopped delivering frames after 7 frames (disconnected?)"
    assert len(r.faces) == 7  # one face a frame in this clip
    check_outputs_agree(tmp_path, r, 7)


def test_a_frame_of_another_size_ends_the_run_before_it(
        tmp_path, monkeypatch, mini_xception, clip_frames):  # fmt: skip
    odd = cv2.resize(clip_frames[5], (160, 120))
    fake_source(monkeypatch, [*clip_frames[:5], odd, *clip_frames[6:]], "clip.mp4")
    r = run_all_outputs(tmp_path, "clip.mp4", mini_xception)
    assert r.stopped == "frame 5 is 160x120, but the video started at 320x240"
    check_outputs_agree(tmp_path, r, 5)


def test_a_truncated_file_ends_with_the_frames_it_holds(tmp_path, mini_xception, clip_frames):
    whole = tmp_path / "whole.mp4"
    with open_writer(whole, 12.0, (320, 240), encoder="h264") as w:  # moov atom first
        for frame in clip_frames * 4:
            w.write(frame)
    data = whole.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    readable = len(read_back(cut))
    assert 0 < readable < 48
    r = run_all_outputs(tmp_path, cut, mini_xception)
    assert r.stopped == (f"{cut} ended after {readable} of the 48 frames its header announces "
                         "(truncated or damaged)")  # fmt: skip
    check_outputs_agree(tmp_path, r, readable)


def ctrl_c_at(monkeypatch, frame: int) -> None:
    """Ctrl-C while the pipeline works on frame number ``frame``."""
    step = pipeline.VideoPipeline.step

    def interrupted(self, image, index, *args, **kwargs):
        if index == frame:
            raise KeyboardInterrupt
        return step(self, image, index, *args, **kwargs)

    monkeypatch.setattr(pipeline.VideoPipeline, "step", interrupted)


def test_ctrl_c_keeps_every_frame_processed(tmp_path, monkeypatch, mini_xception, face_video):
    ctrl_c_at(monkeypatch, 4)
    r = run_all_outputs(tmp_path, face_video, mini_xception)
    assert r.stopped == "interrupted (Ctrl-C)" and r.interrupted
    check_outputs_agree(tmp_path, r, 4)


def test_ctrl_c_on_a_camera_is_its_normal_end(tmp_path, monkeypatch, mini_xception, clip_frames):
    fake_source(monkeypatch, clip_frames, "camera 0")
    ctrl_c_at(monkeypatch, 3)
    r = run_all_outputs(tmp_path, 0, mini_xception)
    assert r.stopped is None and r.interrupted
    check_outputs_agree(tmp_path, r, 3)


def test_the_end_of_a_file_or_of_max_frames_is_no_fault(tmp_path, mini_xception, face_video):
    r = run_all_outputs(tmp_path, face_video, mini_xception)
    assert r.stopped is None and not r.interrupted
    check_outputs_agree(tmp_path, r, 12)
    r = run_all_outputs(tmp_path, face_video, mini_xception, max_frames=5)
    assert r.stopped is None
    check_outputs_agree(tmp_path, r, 5)


# --- the stages themselves -----------------------------------------------------------------


def test_reader_keeps_order_and_holds_at_most_depth_frames():
    frames = [np.full((4, 4, 3), i, np.uint8) for i in range(50)]
    cap = FakeCapture(frames, {})
    reader = FrameReader(cap, "clip.mp4", depth=3)
    time.sleep(0.3)  # nobody consumes: the reader waits with a full queue
    assert cap.i <= 3 + 1  # the queue's frames and the one waiting to go in
    got = [(i, int(f[0, 0, 0])) for i, f, _ in reader]
    assert got == [(i, i) for i in range(50)] and reader.reason is None


def test_reader_stop_ends_a_blocked_reader_quickly():
    cap = FakeCapture([np.zeros((4, 4, 3), np.uint8)] * 100, {})
    reader = FrameReader(cap, "camera 1", depth=2)
    time.sleep(0.2)
    t0 = time.perf_counter()
    reader.stop()
    assert time.perf_counter() - t0 < 1 and cap.i < 100 and reader.reason is None


def test_a_decoder_error_is_a_reason_not_a_traceback():
    class Broken(FakeCapture):
        def read(self):
            if self.i == 2:
                raise cv2.error("corrupt packet")
            return super().read()

    reader = FrameReader(Broken([np.zeros((4, 4, 3), np.uint8)] * 5, {}), "clip.mp4")
    assert [i for i, _, _ in reader] == [0, 1]
    assert reader.reason.startswith("reading frame 2 failed: error:")


def test_output_stage_writes_in_order_and_hands_errors_back():
    written = []
    out = OutputStage(write=written.append, depth=2)
    for i in range(20):
        out.put(Processed(i, np.full((2, 2, 3), i, np.uint8), [], [], 0.0))
    out.close()
    assert [int(f[0, 0, 0]) for f in written] == list(range(20)) and out.done == 20

    def fail(frame):
        raise OSError(28, "No space left on device")

    out = OutputStage(write=fail, depth=2)
    with pytest.raises(OSError, match="No space left"):
        for i in range(20):
            out.put(Processed(i, np.zeros((2, 2, 3), np.uint8), [], [], 0.0))
        out.close()
    assert out.done == 0


# --- the CLI: one line, and a real Ctrl-C ----------------------------------------------------


def test_cli_ctrl_c_writes_everything_and_says_so_in_one_line(tmp_path, face_video):
    """SIGINT to a running ``emonb video``: exit status 130, one line on stderr, and the
    video, JSON and export index agree on the frames written."""
    long_clip = tmp_path / "long.mp4"
    frames = read_back(face_video)
    with open_writer(long_clip, 12.0, (320, 240), encoder="mp4v") as w:
        for _ in range(60):  # 720 frames: far more than get done before the signal
            for frame in frames:
                w.write(frame)
    out, js, faces = tmp_path / "out.mp4", tmp_path / "out.json", tmp_path / "faces"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "emonb", "video", str(long_clip), "--out", str(out), "--json",
         str(js), "--export-faces", str(faces), "--no-progress", "--no-landmarks",
         "--detector", "haar"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)  # fmt: skip
    index = faces / "index.csv"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if index.is_file() and index.read_text().count("\n") > 10:
            break
        time.sleep(0.1)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("emonb: video: interrupted (Ctrl-C)"), stderr
    doc = json.loads(js.read_text())
    n = doc["frames"]
    assert 10 <= n < 720 and doc["stopped"] == "interrupted (Ctrl-C)"
    assert len(read_back(out)) == n == len(doc["detections"])
    with open(index, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == doc["faces"] and max(int(r["frame"]) for r in rows) < n
