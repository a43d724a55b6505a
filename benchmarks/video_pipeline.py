"""Frames per second of ``emonb video`` on the book's clip, and where the time goes.

A benchmark, not a test: run it on an otherwise idle machine::

    python benchmarks/video_pipeline.py --repeat 5 --baseline --compare-detectors \\
        --json benchmarks/video_pipeline_cpu.json

Each run is the whole pipeline of :func:`emonb.video.pipeline.analyse_video` on the manifest's
``pexels-video`` (640x360, 472 frames): read, detect (``--detector``), classify and explain
(Grad-CAM by default), the face mesh and the evidence per action unit (unless
``--no-landmarks``), draw (``--overlay``), and write the annotated MP4. The one-off warm-up
that compiles the model's passes and loads the LiteRT models is excluded and reported. Runs
without and with the patch export alternate; the median run of each is reported with its
per-stage breakdown. ``--baseline`` adds, in the same alternation, runs of the pipeline as
it was before the face mesh (Haar at width 320, no landmarks), so that both are measured
under the same load. ``--compare-detectors`` runs the clip once per detector and reports
what each finds as the pipeline sees it: faces, tracks, frames without a face, faces
outside the longest track (on this one-person clip: false positives), and faces the mesh
rejects.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import emonb  # noqa: F401  (the TensorFlow guard first)
from emonb.bench import machine_info, provenance, save
from emonb.faces import DEFAULT_DETECTOR, DETECTORS
from emonb.models.zoo import load_model
from emonb.video.draw import OVERLAYS
from emonb.video.pipeline import analyse_video

BASELINE = "baseline: haar, no mesh (annotate)"


def _record(r) -> dict:
    return {"fps": r.fps, "ms_per_frame": r.timings_ms(), "warmup_seconds": r.warmup_seconds,
            "frames": r.frames, "faces": len(r.faces)}  # fmt: skip


def detection_stats(r) -> dict:
    """What a run found, as the pipeline sees it (after tracking)."""
    main = r.main_track()
    per_frame = [0] * r.frames
    for f in r.faces:
        per_frame[f.frame] += 1
    return {
        "faces": len(r.faces), "tracks": len({f.track for f in r.faces}),
        "frames_without_a_face": per_frame.count(0),
        "frames_with_several_faces": sum(n > 1 for n in per_frame),
        "faces_outside_the_longest_track": sum(f.track != main for f in r.faces),
        "faces_rejected_by_mesh": r.rejected, "detect_ms_per_frame": r.timings_ms()["detect"],
    }  # fmt: skip


def run(video: str, model: str, method: str, repeat: int, detector: str, detect_width: int,
        landmarks: bool, overlay: str, baseline: bool, compare: bool,
        max_frames: int | None = None) -> dict:  # fmt: skip
    net = load_model(model)
    options = {"detector": detector, "detect_width": detect_width or None,
               "landmarks": landmarks, "overlay": overlay}  # fmt: skip
    modes = {"annotate": (options, False), "annotate + export": (options, True)}
    if baseline:
        modes[BASELINE] = ({"detector": "haar", "detect_width": 320, "landmarks": False}, False)
    runs: dict[str, list[dict]] = {mode: [] for mode in modes}
    detectors = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeat):
            for mode, (opts, export) in modes.items():
                faces = Path(tmp) / f"faces{i}" if export else None
                r = analyse_video(video, net, out=Path(tmp) / "out.mp4", method=method,
                                  max_frames=max_frames,
                                  export_faces=faces, **opts)  # fmt: skip
                runs[mode].append(_record(r))
                print(f"{mode:36s} run {i + 1}: {r.fps:5.1f} frames/s  "
                      + "  ".join(f"{k} {v:.1f}" for k, v in r.timings_ms().items()), flush=True)
        for name in DETECTORS if compare else ():
            r = analyse_video(video, net, method=method, detector=name, detect_width=320,
                              max_frames=max_frames)  # fmt: skip
            detectors[name] = detection_stats(r)
            print(f"{name}: {detectors[name]}", flush=True)
    summary = {}
    for mode, rs in runs.items():
        fps = sorted(x["fps"] for x in rs)
        median = statistics.median_low(fps)
        summary[mode] = {
            "fps_median": round(median, 2), "fps_min": round(fps[0], 2),
            "fps_max": round(fps[-1], 2),
            "ms_per_frame_of_median_run": next(x for x in rs if x["fps"] == median)["ms_per_frame"],
        }  # fmt: skip
    out = {
        "video": video, "resolution": "640x360", "model": model, "method": method,
        "detector": detector, "detect_width": detect_width, "landmarks": landmarks,
        "overlay": overlay, "repeat": repeat, "summary": summary, "runs": runs,
    }  # fmt: skip
    if detectors:
        out["detectors"] = detectors
    out["machine"] = machine_info()
    out["provenance"] = provenance()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--video", default="pexels-video")
    p.add_argument("--model", default="mini-xception")
    p.add_argument("--method", default="gradcam")
    p.add_argument("--detector", default=DEFAULT_DETECTOR, choices=DETECTORS)
    p.add_argument("--detect-width", type=int, default=320, help="Haar's search width")
    p.add_argument("--no-landmarks", action="store_true", help="no face mesh, no action units")
    p.add_argument("--overlay", default="au", choices=OVERLAYS)
    p.add_argument("--baseline", action="store_true",
                   help="also time the pipeline before the mesh (Haar, no landmarks)")  # fmt: skip
    p.add_argument("--compare-detectors", action="store_true",
                   help="what each detector finds on the clip (one run each)")  # fmt: skip
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--max-frames", type=int, default=None,
                   help="the first N frames only (a check of the script; default: the whole clip)")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    result = run(args.video, args.model, args.method, args.repeat, args.detector,
                 args.detect_width, not args.no_landmarks, args.overlay, args.baseline,
                 args.compare_detectors, args.max_frames)  # fmt: skip
    for mode, s in result["summary"].items():
        print(f"{mode}: median {s['fps_median']} frames/s (min {s['fps_min']}, max {s['fps_max']})")
    if args.json:
        print(f"wrote {save(result, args.json)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
