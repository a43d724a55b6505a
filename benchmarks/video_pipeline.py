"""Frames per second of ``emonb video`` on the book's clip at two sizes, and where the time goes.

A benchmark, not a test: run it on an otherwise idle machine::

    python benchmarks/video_pipeline.py --repeat 5 --baseline --compare-detectors \\
        --label "after: ..." --json benchmarks/video_pipeline_cpu.json

Each run is the whole pipeline of :func:`emonb.video.pipeline.analyse_video` on one clip:
read, detect (``--detector``), classify and explain (Grad-CAM by default), the face mesh
and the evidence per action unit (unless ``--no-landmarks``), draw (``--overlay``), and
write the annotated MP4. The one-off warm-up that compiles the model's passes and loads the
LiteRT models is excluded and reported. TensorFlow runs on one thread, as in
``emonb video`` (:func:`emonb.config.video_threads`; the JSON's ``tensorflow_threads``).

The clips (``--resolutions``, default ``640x360,1920x1080``) are the manifest's
``pexels-video`` (640x360, 23.98 frames/s, 472 frames) as it is, and the same frames
upscaled by ffmpeg (:func:`emonb.video.clips.cached_clip`: bicubic, H.264 at CRF 20, no
audio, same frame rate), made once into the user cache and reused, never in the working
tree. With ``--max-frames N`` an upscaled clip holds only its first N frames (a separate
cached file, quick to make).

Runs are sequential, one at a time. Within each repeat every clip runs in every mode in
turn: without and with the patch export, without the face mesh (BlazeFace, classify, map,
track, smooth, draw, write: the seed's real-time list), and with ``--baseline`` the pipeline as it was
before the face mesh (Haar at width 320, no landmarks), so all are measured under the same
load. The median run of each (clip, mode) is reported (``statistics.median_low`` of
``--repeat`` runs) with its per-stage breakdown (whatever stages
:meth:`~emonb.video.pipeline.VideoResult.timings_ms` reports), and whether that median
keeps up with ``target_fps`` (30 frames/s). ``--compare-detectors`` runs the 640x360 clip
once per detector and reports what each finds as the pipeline sees it: faces, tracks,
frames without a face, faces outside the longest track (on this one-person clip: false
positives), and faces the mesh rejects.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

import cv2

import emonb  # noqa: F401  (the TensorFlow guard first)
from emonb import config

# as `emonb video` runs it: TensorFlow's pools at one thread (set before TensorFlow loads)
TF_THREADS_SET = config.video_threads()

from emonb.data.manifest import media_path  # noqa: E402
from emonb.errors import EmonbError  # noqa: E402
from emonb.faces import DEFAULT_DETECTOR, DETECTORS  # noqa: E402
from emonb.models.zoo import load_model  # noqa: E402
from emonb.records import machine_info, provenance, write_json  # noqa: E402
from emonb.video.clips import UPSCALE_CODEC, cached_clip  # noqa: E402
from emonb.video.draw import OVERLAYS  # noqa: E402
from emonb.video.pipeline import analyse_video  # noqa: E402

BASELINE = "baseline: haar, no mesh (annotate)"
NO_MESH = "annotate, no mesh"
RESOLUTIONS = "640x360,1920x1080"
#: Frames per second a median run must reach to keep up (the seed paper's 30 at 1080p).
TARGET_FPS = 30


def parse_resolutions(text: str) -> list[tuple[int, int]]:
    """``"640x360,1920x1080"`` -> ``[(640, 360), (1920, 1080)]``, in order, without repeats."""
    sizes: list[tuple[int, int]] = []
    for part in text.split(","):
        try:
            w, h = (int(v) for v in part.strip().lower().split("x"))
        except ValueError:
            raise SystemExit(f"--resolutions: {part.strip()!r} is not WIDTHxHEIGHT") from None
        if (w, h) not in sizes:
            sizes.append((w, h))
    return sizes


def _probe(path: Path) -> tuple[tuple[int, int], int, float]:
    cap = cv2.VideoCapture(str(path))
    try:
        size = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        return size, int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), round(cap.get(cv2.CAP_PROP_FPS), 3)
    finally:
        cap.release()


def make_clips(video: str, sizes: list[tuple[int, int]], max_frames: int | None = None
               ) -> tuple[dict[str, Path], dict[str, dict]]:  # fmt: skip
    """The clip of ``video`` (a manifest name or a file) at each size: the source itself at
    its own size, else an upscaled copy in the user cache (its first ``max_frames`` frames
    only, when given). Returns the paths and their path-free descriptions by ``WxH``."""
    source = media_path(video, "video")
    own, frames, fps = _probe(source)
    name = Path(video).stem if Path(video).suffix else video
    paths, described = {}, {}
    for w, h in sizes:
        key = f"{w}x{h}"
        if (w, h) == own:
            paths[key] = source
            described[key] = {"description": f"{name} as it is", "frames": frames, "fps": fps,
                              "source": name}  # fmt: skip
            continue
        try:
            paths[key] = cached_clip(source, (w, h), name=name, frames=max_frames)
        except EmonbError as err:
            raise SystemExit(f"video_pipeline.py: {err}") from None
        _, n, rate = _probe(paths[key])
        first = f", its first {max_frames} frames" if max_frames is not None else ""
        codec = f"H.264 ({' '.join(UPSCALE_CODEC[:5])}, {UPSCALE_CODEC[6]})"
        described[key] = {
            "description": f"{name} {'upscaled' if w * h > own[0] * own[1] else 'rescaled'} "
                           f"from {own[0]}x{own[1]} by ffmpeg{first}: "
                           f"bicubic, {codec}, no audio",
            "frames": n, "fps": rate, "source": name,
        }  # fmt: skip
        print(f"{key}: {described[key]['description']} ({n} frames at {rate} frames/s)",
              flush=True)  # fmt: skip
    return paths, described


def _record(r) -> dict:
    out = {"fps": r.fps, "ms_per_frame": r.timings_ms(), "warmup_seconds": r.warmup_seconds,
           "frames": r.frames, "faces": len(r.faces)}  # fmt: skip
    said = r.to_json()  # what the pipeline says of itself (emonb video --json), when it does
    if "threaded" in said:
        out["threaded"] = bool(said["threaded"])
    return out


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


def summarise(rs: list[dict], target_fps: float = TARGET_FPS) -> dict:
    """The median run (``median_low`` of the frames/s) of ``rs``, the range, its per-stage
    milliseconds, and whether it keeps up with ``target_fps``."""
    fps = sorted(x["fps"] for x in rs)
    median = statistics.median_low(fps)
    return {
        "fps_median": round(median, 2), "fps_min": round(fps[0], 2),
        "fps_max": round(fps[-1], 2), "keeps_up": median >= target_fps,
        "ms_per_frame_of_median_run": next(x for x in rs if x["fps"] == median)["ms_per_frame"],
    }  # fmt: skip


def run(video: str, model: str, method: str, repeat: int, detector: str, detect_width: int,
        landmarks: bool, overlay: str, baseline: bool, compare: bool,
        max_frames: int | None = None, resolutions: str = RESOLUTIONS,
        label: str | None = None) -> dict:  # fmt: skip
    sizes = parse_resolutions(resolutions)
    clips, described = make_clips(video, sizes, max_frames)
    net = load_model(model)
    options = {"detector": detector, "detect_width": detect_width or None,
               "landmarks": landmarks, "overlay": overlay}  # fmt: skip
    modes = {"annotate": (options, False), "annotate + export": (options, True)}
    if landmarks:  # the real-time list: detect, classify, map, track, draw, write
        modes[NO_MESH] = (dict(options, landmarks=False), False)
    if baseline:
        modes[BASELINE] = ({"detector": "haar", "detect_width": 320, "landmarks": False}, False)
    runs: dict[str, dict[str, list[dict]]] = {res: {mode: [] for mode in modes} for res in clips}
    detectors = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeat):
            for res, clip in clips.items():
                for mode, (opts, export) in modes.items():
                    faces = Path(tmp) / f"faces{i}" if export else None
                    r = analyse_video(clip, net, out=Path(tmp) / "out.mp4", method=method,
                                      max_frames=max_frames, export_faces=faces,
                                      **opts)  # fmt: skip
                    runs[res][mode].append(_record(r))
                    print(f"{res:>9s} {mode:36s} run {i + 1}: {r.fps:5.1f} frames/s  "
                          + "  ".join(f"{k} {v:.1f}" for k, v in r.timings_ms().items()),
                          flush=True)  # fmt: skip
        small = clips.get("640x360", media_path(video, "video"))  # else: the clip as it is
        for name in DETECTORS if compare else ():
            r = analyse_video(small, net, method=method, detector=name, detect_width=320,
                              max_frames=max_frames)  # fmt: skip
            detectors[name] = detection_stats(r)
            print(f"{name}: {detectors[name]}", flush=True)
    summary = {res: {mode: summarise(rs) for mode, rs in by_mode.items()}
               for res, by_mode in runs.items()}  # fmt: skip
    out = {
        "label": label, "video": video, "resolutions": list(clips), "clips": described,
        "model": model, "method": method, "detector": detector, "detect_width": detect_width,
        "landmarks": landmarks, "overlay": overlay, "repeat": repeat, "max_frames": max_frames,
        "target_fps": TARGET_FPS, "summary": summary, "runs": runs,
    }  # fmt: skip
    if detectors:
        out["detectors"] = detectors
    out["tensorflow_threads"] = {k: os.environ.get(k) for k in config.VIDEO_TF_ENV}
    out["machine"] = machine_info()
    out["provenance"] = provenance()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--video", default="pexels-video")
    p.add_argument("--resolutions", default=RESOLUTIONS,
                   help="comma-separated WIDTHxHEIGHT; the clip's own size runs it as it is, "
                        f"others upscale it (default {RESOLUTIONS})")  # fmt: skip
    p.add_argument("--model", default="mini-xception")
    p.add_argument("--method", default="gradcam")
    p.add_argument("--detector", default=DEFAULT_DETECTOR, choices=DETECTORS)
    p.add_argument("--detect-width", type=int, default=320, help="Haar's search width")
    p.add_argument("--no-landmarks", action="store_true", help="no face mesh, no action units")
    p.add_argument("--overlay", default="au", choices=OVERLAYS)
    p.add_argument("--baseline", action="store_true",
                   help="also time the pipeline before the mesh (Haar, no landmarks)")  # fmt: skip
    p.add_argument("--compare-detectors", action="store_true",
                   help="what each detector finds on the 640x360 clip (one run each)")  # fmt: skip
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--max-frames", type=int, default=None,
                   help="the first N frames only (a check of the script; default: the whole "
                        "clip); an upscaled clip is then made of those N frames only")  # fmt: skip
    p.add_argument("--label", default=None,
                   help='what this run measures, kept in the JSON (e.g. "after: threaded '
                        'pipeline")')  # fmt: skip
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error(f"--repeat must be at least 1, got {args.repeat}")
    result = run(args.video, args.model, args.method, args.repeat, args.detector,
                 args.detect_width, not args.no_landmarks, args.overlay, args.baseline,
                 args.compare_detectors, args.max_frames, args.resolutions,
                 args.label)  # fmt: skip
    for res, by_mode in result["summary"].items():
        for mode, s in by_mode.items():
            verdict = "keeps up with" if s["keeps_up"] else "below"
            print(f"{res} {mode}: median {s['fps_median']} frames/s (min {s['fps_min']}, "
                  f"max {s['fps_max']}), {verdict} {TARGET_FPS}")  # fmt: skip
    if args.json:
        print(f"wrote {write_json(result, args.json, indent=2)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
