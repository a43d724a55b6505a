"""What each video encoder of ``emonb.video.writers`` costs per frame, and the file it writes.

A benchmark, not a test: run it on an otherwise idle machine::

    python benchmarks/video_codecs.py --json benchmarks/video_codecs_cpu.json

The manifest's ``pexels-video`` (640x360, 472 frames at 23.976 frames/s) is decoded once into
memory; then every encoder of :data:`emonb.video.writers.ENCODERS` writes those frames through
:func:`~emonb.video.writers.open_writer`, ``--repeat`` times or until ``--budget`` seconds
were spent on it (at least once; VP9 through OpenCV takes minutes). Per run: wall time from
opening to closing the file (closing waits for the encoder to finish), the time ``write``
calls block, and the CPU time of this process and its children (the ffmpeg encoder). Here
frames come faster than any encoder takes them, so ``write`` blocks for nearly all of it; in
``emonb video`` ffmpeg's encoders run in a process of their own and encode one frame while the
pipeline analyses the next. The median run is reported, with the file size, the bit rate and
the frames OpenCV reads back. Other processes' load skews the figures: the load average at
start and end is recorded.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2

import emonb  # noqa: F401  (the TensorFlow guard first)
from emonb.records import machine_info, provenance, write_json
from emonb.video.sources import iter_frames, open_video
from emonb.video.writers import ENCODERS, encoder_available, encoder_for, ffmpeg_exe, open_writer

#: Where each encoder's file plays (checked with Debian's Chromium 156 for h264, vp9 and mp4v).
PLAYS_IN = {
    "h264": "every current browser (Safari included)",
    "h264-realtime": "as h264 (x264's ultrafast preset: the live pipeline's writer)",
    "vp9": "Chromium, Chrome, Edge, Firefox; Safari 14.1+ on macOS 11.3+",
    "vp9-opencv": "as vp9",
    "mp4v": "no browser (desktop players only)",
}


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def encode(frames, fps: float, path: Path, encoder: str) -> dict:
    """One run of ``encoder`` over ``frames``: seconds (wall, blocked in write, CPU)."""
    h, w = frames[0].shape[:2]
    cpu0, child0, t0 = time.process_time(), _children_cpu(), time.perf_counter()
    blocked = 0.0
    writer = open_writer(path, fps, (w, h), encoder=encoder)
    try:
        for frame in frames:
            t = time.perf_counter()
            writer.write(frame)
            blocked += time.perf_counter() - t
    finally:
        writer.close()
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0 + _children_cpu() - child0
    return {"wall_s": wall, "write_s": blocked, "cpu_s": cpu, "bytes": path.stat().st_size}


def frames_in(path: Path) -> int:
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


def run(
    video: str, encoders: list[str], repeat: int, budget: float, max_frames: int | None
) -> dict:
    cap, name = open_video(video)
    fps = float(cap.get(cv2.CAP_PROP_FPS))
    try:
        frames = [f for _, f in iter_frames(cap, max_frames)]
    finally:
        cap.release()
    n = len(frames)
    h, w = frames[0].shape[:2]
    seconds = n / fps
    load = [round(x, 2) for x in os.getloadavg()]  # others' work skews the figures: recorded
    out: dict = {"video": video, "source": Path(name).name, "resolution": f"{w}x{h}",
                 "frames": n, "fps": round(fps, 3), "repeat": repeat, "budget_s": budget,
                 "ffmpeg": ffmpeg_exe(), "load_average_at_start": load, "encoders": {}}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for encoder in encoders:
            if not encoder_available(encoder):
                print(f"{encoder}: not available here (no ffmpeg with it)", flush=True)
                continue
            suffix = ".webm" if "vp9" in encoder else ".mp4"
            path = Path(tmp) / f"clip_{encoder}{suffix}"
            runs, spent = [], 0.0
            while len(runs) < repeat and (not runs or spent < budget):
                r = encode(frames, fps, path, encoder)
                runs.append(r)
                spent += r["wall_s"]
                print(f"{encoder:11s} run {len(runs)}: {1000 * r['wall_s'] / n:7.2f} ms/frame "
                      f"(cpu {1000 * r['cpu_s'] / n:7.2f}), {r['bytes'] / 1e6:.2f} MB", flush=True)  # fmt: skip
            median = statistics.median_low(r["wall_s"] for r in runs)
            best = next(r for r in runs if r["wall_s"] == median)
            backend, settings = ENCODERS[encoder]
            out["encoders"][encoder] = {
                "backend": backend, "settings": list(settings), "suffix": suffix,
                "runs": len(runs),
                "ms_per_frame": round(1000 * best["wall_s"] / n, 2),
                "write_blocks_ms_per_frame": round(1000 * best["write_s"] / n, 2),
                "cpu_ms_per_frame": round(1000 * best["cpu_s"] / n, 2),
                "ms_per_frame_all_runs": [round(1000 * r["wall_s"] / n, 2) for r in runs],
                "bytes": best["bytes"], "kbit_per_s": round(8 * best["bytes"] / seconds / 1000, 1),
                "frames_read_back": frames_in(path), "plays_in": PLAYS_IN[encoder],
            }  # fmt: skip
    out["chosen_by_suffix"] = {s: encoder_for(f"clip{s}") for s in (".mp4", ".webm")}
    out["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]  # 1, 5, 15 min
    out["machine"] = machine_info()
    out["provenance"] = provenance()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--video", default="pexels-video")
    p.add_argument("--encoders", default=",".join(ENCODERS),
                   help=f"comma-separated (default all: {', '.join(ENCODERS)})")  # fmt: skip
    p.add_argument("--repeat", type=int, default=5, help="runs per encoder at most (default 5)")
    p.add_argument("--budget", type=float, default=60.0,
                   help="no further run of an encoder after this many seconds (default 60)")  # fmt: skip
    p.add_argument("--max-frames", type=int, default=None, help="default: the whole clip")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    result = run(args.video, args.encoders.split(","), args.repeat, args.budget, args.max_frames)
    for name, r in result["encoders"].items():
        print(f"{name:11s} {r['ms_per_frame']:7.2f} ms/frame wall, {r['cpu_ms_per_frame']:7.2f} "
              f"CPU, {r['bytes'] / 1e6:5.2f} MB ({r['kbit_per_s']:.0f} kbit/s): {r['plays_in']}")  # fmt: skip
    if args.json:
        print(f"wrote {write_json(result, args.json, indent=2)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
