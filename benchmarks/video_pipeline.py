"""Frames per second of ``emonb video`` on the book's clip, and where the time goes.

A benchmark, not a test: run it on an otherwise idle machine::

    python benchmarks/video_pipeline.py --repeat 5 --json benchmarks/video_pipeline_cpu.json

Each run is the whole pipeline of :func:`emonb.video.pipeline.analyse_video` on the manifest's
``pexels-video`` (640x360, 472 frames): read, detect, classify and explain (Grad-CAM by
default), draw, and write the annotated MP4. The one-off warm-up that compiles the model's
passes is excluded and reported. Runs without and with the patch export alternate; the
median run of each is reported with its per-stage breakdown.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import emonb  # noqa: F401  (the TensorFlow guard first)
from emonb.bench import machine_info, save
from emonb.models.zoo import load_model
from emonb.video.pipeline import analyse_video


def run(video: str, model: str, method: str, repeat: int, detect_width: int) -> dict:
    net = load_model(model)
    runs: dict[str, list[dict]] = {"annotate": [], "annotate + export": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeat):
            for mode in runs:
                export = Path(tmp) / f"faces{i}" if mode.endswith("export") else None
                r = analyse_video(video, net, out=Path(tmp) / "out.mp4", method=method,
                                  export_faces=export, detect_width=detect_width or None)  # fmt: skip
                runs[mode].append({"fps": r.fps, "ms_per_frame": r.timings_ms(),
                                   "warmup_seconds": r.warmup_seconds, "frames": r.frames,
                                   "faces": len(r.faces)})  # fmt: skip
                print(f"{mode:18s} run {i + 1}: {r.fps:5.1f} frames/s  "
                      + "  ".join(f"{k} {v:.1f}" for k, v in r.timings_ms().items()), flush=True)
    summary = {}
    for mode, rs in runs.items():
        fps = sorted(x["fps"] for x in rs)
        median = statistics.median_low(fps)
        summary[mode] = {
            "fps_median": round(median, 2), "fps_min": round(fps[0], 2),
            "fps_max": round(fps[-1], 2),
            "ms_per_frame_of_median_run": next(x for x in rs if x["fps"] == median)["ms_per_frame"],
        }  # fmt: skip
    return {
        "video": video, "resolution": "640x360", "model": model, "method": method,
        "detect_width": detect_width, "repeat": repeat, "summary": summary, "runs": runs,
        "machine": machine_info(),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--video", default="pexels-video")
    p.add_argument("--model", default="mini-xception")
    p.add_argument("--method", default="gradcam")
    p.add_argument("--detect-width", type=int, default=320)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    result = run(args.video, args.model, args.method, args.repeat, args.detect_width)
    for mode, s in result["summary"].items():
        print(f"{mode}: median {s['fps_median']} frames/s (min {s['fps_min']}, max {s['fps_max']})")
    if args.json:
        print(f"wrote {save(result, args.json)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
