"""Face detectors compared: MediaPipe's BlazeFace (short range) and OpenCV's Haar cascade.

A benchmark, not a test: run it on an otherwise idle machine::

    python benchmarks/detectors.py --out benchmarks/detectors_cpu.json

It measures, for each detector:

* the ``pexels-video`` clip (640x360, 472 frames; one real face, a woman, in every frame),
  frame by frame as ``emonb video`` would (Haar on a grey copy at ``detect_width=320`` with
  ``min_size=60``, as :class:`emonb.video.pipeline.VideoPipeline`; BlazeFace on the RGB
  frame with the same ``min_size`` and the Haar-like box of :func:`emonb.faces.find_faces`):
  milliseconds per frame (median, p90, colour conversion included), frames with exactly one
  face, misses (no face), extra faces (a detection whose IoU with the frame's largest face
  is below 0.3; the only real face is the woman's, so every extra is a false positive) and
  double detections (IoU >= 0.3 with the largest); BlazeFace also batched (32 frames a call);
* the photos ``single-face``, ``multi-face`` (five people, counted by eye) and
  ``astronaut``: faces found at the detectors' defaults (``min_size=30``);
* the box calibration behind :data:`emonb.faces.blazeface.HAAR_SCALE` and ``HAAR_SHIFT``:
  on every image where both find exactly one face, Haar's box against BlazeFace's own box
  (side ratio: the square root of the area ratio; centre offsets in units of BlazeFace's box);
* the smallest face each detector finds in a wide frame: the astronaut photo pasted, at
  decreasing sizes, in the middle of a grey 1280x720 canvas.
"""

from __future__ import annotations

import argparse
import sys
import time
from importlib import metadata
from pathlib import Path

import cv2
import numpy as np

import emonb  # noqa: F401  (the TensorFlow guard first)
from emonb.data.images import read_image
from emonb.data.manifest import image_path
from emonb.faces import Box, detect_faces
from emonb.faces.blazeface import HAAR_SCALE, HAAR_SHIFT, BlazeFace
from emonb.records import provenance as bench_provenance
from emonb.records import write_json
from emonb.video.sources import iter_frames, open_video
from emonb.video.tracking import iou

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = {"single-face": 1, "multi-face": 5, "astronaut": 1}  # faces counted by eye
VIDEO_MIN_FACE, VIDEO_DETECT_WIDTH = 60, 320  # VideoPipeline's defaults
EXTRA_IOU = 0.3
#: Top-left corners of 300x300 crops of ``multi-face`` that hold its five faces.
MULTI_FACE_CROPS = ((100, 0), (250, 150), (450, 220), (620, 220))


def provenance(argv: list[str]) -> dict:
    """:func:`emonb.records.provenance` (command, commit, dirty, date, machine), with the
    versions the two detectors run on."""
    out = bench_provenance(["benchmarks/detectors.py", *argv])
    for dist in ("ai-edge-litert", "opencv-python-headless", "opencv-python"):
        try:
            out["machine"][dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    out["machine"]["cv2"], out["machine"]["cv2_threads"] = cv2.__version__, cv2.getNumThreads()
    return out


def _ms(values: list[float]) -> dict:
    a = np.asarray(values) * 1000
    return {"median": round(float(np.median(a)), 2), "p90": round(float(np.percentile(a, 90)), 2),
            "mean": round(float(a.mean()), 2)}  # fmt: skip


def frame_counts(per_frame: list[list[Box]]) -> dict:
    """Frames with one face, none, extra faces (IoU < 0.3 with the frame's largest) and
    double detections (IoU >= 0.3 with it)."""
    extra = [sum(iou(b, boxes[0]) < EXTRA_IOU for b in boxes[1:]) for boxes in per_frame]
    double = [len(boxes) - 1 - e for boxes, e in zip(per_frame, extra, strict=True) if boxes]
    return {
        "frames": len(per_frame),
        "exactly_one_face": sum(len(b) == 1 for b in per_frame),
        "misses": sum(not b for b in per_frame),
        "extra_faces": int(sum(extra)),
        "frames_with_extra_faces": sum(e > 0 for e in extra),
        "double_detections": int(sum(double)),
        "largest_face_width_px": _quartiles([b[0].w for b in per_frame if b]),
    }


def _quartiles(values: list[float], digits: int = 1) -> dict:
    if not values:
        return {}
    q = np.percentile(values, [25, 50, 75])
    return {"q25": round(float(q[0]), digits), "median": round(float(q[1]), digits),
            "q75": round(float(q[2]), digits), "n": len(values)}  # fmt: skip


def calibration_pair(haar: list[Box], raw: list[Box]) -> tuple[float, float, float] | None:
    """(side ratio Haar / BlazeFace, centre offsets dx / w and dy / h) of one image, when
    both found exactly one face."""
    if len(haar) != 1 or len(raw) != 1:
        return None
    h, b = haar[0], raw[0]
    return (float(np.sqrt(h.area / b.area)), (h.x + h.w / 2 - b.x - b.w / 2) / b.w,
            (h.y + h.h / 2 - b.y - b.h / 2) / b.h)  # fmt: skip


def clip(video: str, threads: int, batch: int,
         max_frames: int | None = None) -> tuple[dict, list]:  # fmt: skip
    bf = BlazeFace(threads=threads, min_size=VIDEO_MIN_FACE, box_scale=HAAR_SCALE,
                   box_shift=HAAR_SHIFT)  # fmt: skip
    raw = BlazeFace(threads=threads)
    cap, _ = open_video(video)
    times: dict[str, list[float]] = {"haar": [], "blazeface": []}
    found: dict[str, list[list[Box]]] = {"haar": [], "blazeface": []}
    pairs, agree, rgbs = [], [], []
    try:
        for i, frame in iter_frames(cap, max_frames):
            if i == 0:  # warm-up: the cascade's loading, LiteRT's first run
                detect_faces(frame[..., 0], min_size=VIDEO_MIN_FACE)
                bf.detect(frame)
            t0 = time.perf_counter()
            grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            haar = detect_faces(grey, min_size=VIDEO_MIN_FACE, detect_width=VIDEO_DETECT_WIDTH)
            t1 = time.perf_counter()
            rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            blaze = [d.box for d in bf.detect(rgb)]
            t2 = time.perf_counter()
            times["haar"].append(t1 - t0)
            times["blazeface"].append(t2 - t1)
            found["haar"].append(haar)
            found["blazeface"].append(blaze)
            pairs.append(calibration_pair(haar, [d.box for d in raw.detect(rgb)]))
            if haar and blaze:
                agree.append(iou(haar[0], blaze[0]))
            if len(rgbs) < 4 * batch:
                rgbs.append(rgb)
    finally:
        cap.release()
    batched = []
    for start in range(0, len(rgbs), batch):
        t0 = time.perf_counter()
        bf.detect_batch(rgbs[start : start + batch])
        batched.append((time.perf_counter() - t0) / len(rgbs[start : start + batch]))
    out = {}
    for name in ("haar", "blazeface"):
        out[name] = {"ms_per_frame": _ms(times[name]), **frame_counts(found[name])}
    out["haar"]["settings"] = {"min_size": VIDEO_MIN_FACE, "detect_width": VIDEO_DETECT_WIDTH,
                               "input": "grey frame"}  # fmt: skip
    out["blazeface"]["settings"] = {"min_size": VIDEO_MIN_FACE, "box_scale": HAAR_SCALE,
                                    "box_shift": HAAR_SHIFT, "input": "RGB frame"}  # fmt: skip
    out["blazeface"]["batched_ms_per_frame"] = {"batch": batch, "frames": len(rgbs),
                                                **_ms(batched)}  # fmt: skip
    out["largest_faces_iou_haar_vs_blazeface"] = {
        **_quartiles(agree, 3), "below_0.3": int(sum(a < 0.3 for a in agree))}
    return out, pairs


def photos(threads: int) -> tuple[dict, dict]:
    bf = BlazeFace(threads=threads, min_size=30, box_scale=HAAR_SCALE, box_shift=HAAR_SHIFT)
    raw = BlazeFace(threads=threads)
    out, pairs = {}, {}
    for name, by_eye in PHOTOS.items():
        img = read_image(image_path(name))
        haar = detect_faces(img)
        blaze = bf.detect(img)
        out[name] = {
            "size": list(img.shape[:2][::-1]), "faces_by_eye": by_eye,
            "haar": {"faces": len(haar), "boxes": [b.as_tuple() for b in haar]},
            "blazeface": {"faces": len(blaze), "boxes": [d.box.as_tuple() for d in blaze],
                          "scores": [round(d.score, 3) for d in blaze]},
        }  # fmt: skip
        pairs[name] = calibration_pair(haar, [d.box for d in raw.detect(img)])
    img = read_image(image_path("multi-face"))
    out["multi-face"]["blazeface_in_crops"] = {
        "note": "BlazeFace's own boxes, in the photo's pixels, found in 300x300 crops",
        **{f"{x},{y}": [(x + d.box.x, y + d.box.y, d.box.w, d.box.h)
                         for d in raw.detect(img[y : y + 300, x : x + 300])]
           for x, y in MULTI_FACE_CROPS}}  # fmt: skip
    return out, pairs


def calibration(clip_pairs: list, photo_pairs: dict) -> dict:
    """Haar box against BlazeFace's own box: medians per source, and the figures chosen."""
    rows = np.array([p for p in clip_pairs if p is not None])
    out = {"definition": "side = sqrt(area Haar / area BlazeFace); dx, dy = (centre Haar - "
                         "centre BlazeFace) / (BlazeFace w, h); BlazeFace's own box "
                         "(box_scale 1, box_shift 0)"}  # fmt: skip
    for name, p in photo_pairs.items():
        out[name] = None if p is None else dict(zip(("side", "dx", "dy"), np.round(p, 3).tolist(), strict=True))
    out["pexels-video"] = {k: _quartiles(rows[:, j].tolist(), 3)
                           for j, k in enumerate(("side", "dx", "dy"))}  # fmt: skip
    # each source counts once (the clip's 470 frames would otherwise outvote the photos)
    medians = [[out[n][k] for n in photo_pairs if out[n]] + [out["pexels-video"][k]["median"]]
               for k in ("side", "dy")]  # fmt: skip
    out["median_of_sources"] = {"side": round(float(np.median(medians[0])), 2),
                                "dy": round(float(np.median(medians[1])), 2)}  # fmt: skip
    out["package"] = {"HAAR_SCALE": HAAR_SCALE, "HAAR_SHIFT": HAAR_SHIFT}
    return out


def small_faces(threads: int, canvas: tuple[int, int] = (1280, 720), step: int = 40) -> dict:
    """The astronaut photo resized (square side 1200 down to 160 pixels) and pasted in a grey
    canvas, its face at the centre (the photo cut at the canvas's edges): whether each
    detector still finds the face (a box with IoU >= 0.3 with its known place)."""
    astronaut = read_image(image_path("astronaut"))
    raw = BlazeFace(threads=threads)
    (face,) = [d.box for d in raw.detect(astronaut)]
    (haar_face,) = detect_faces(astronaut)
    width, height = canvas
    rows = []
    for side in range(1200, 159, -step):
        s = side / astronaut.shape[0]
        photo = cv2.resize(astronaut, (side, side), interpolation=cv2.INTER_AREA)
        # the photo's top-left corner in the canvas, putting the face's centre at the centre
        x0 = round(width / 2 - (face.x + face.w / 2) * s)
        y0 = round(height / 2 - (face.y + face.h / 2) * s)
        img = np.full((height, width, 3), 128, np.uint8)
        cx0, cy0 = max(x0, 0), max(y0, 0)
        cx1, cy1 = min(x0 + side, width), min(y0 + side, height)
        img[cy0:cy1, cx0:cx1] = photo[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
        want = {name: Box(round(x0 + b.x * s), round(y0 + b.y * s), round(b.w * s), round(b.h * s))
                for name, b in (("blazeface", face), ("haar", haar_face))}  # fmt: skip
        found = {"blazeface": [d.box for d in raw.detect(img)], "haar": detect_faces(img)}
        rows.append({
            "photo_side": side, "face_width_px": round(face.w * s, 1),
            "face_width_fraction": round(face.w * s / width, 4),
            **{name: any(iou(b, want[name]) >= 0.3 for b in found[name]) for name in want},
        })  # fmt: skip
    out = {"canvas": list(canvas), "face_width": "BlazeFace's own box on the pasted photo",
           "rows": rows}  # fmt: skip
    for d in ("blazeface", "haar"):
        hits = [r for r in rows if r[d]]
        # the last row of the unbroken run of finds from the largest size down
        steady = None
        for r in rows:
            if not r[d]:
                break
            steady = r
        out[d] = {"smallest_found_px": hits[-1]["face_width_px"] if hits else None,
                  "found_at_every_larger_size_down_to_px": steady and steady["face_width_px"],
                  "as_fraction_of_width": steady and steady["face_width_fraction"]}  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "detectors_cpu.json")
    p.add_argument("--video", default="pexels-video")
    p.add_argument("--threads", type=int, default=2, help="LiteRT's and OpenCV's CPU threads")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--quick", action="store_true",
                   help="the clip's first 24 frames and every fifth size (a check of the script)")
    args = p.parse_args(argv)
    cv2.setNumThreads(args.threads)
    result = {"provenance": provenance(argv), "threads": args.threads}
    result["photos"], photo_pairs = photos(args.threads)
    result["video"], clip_pairs = clip(args.video, args.threads, 8 if args.quick else args.batch,
                                       24 if args.quick else None)  # fmt: skip
    result["video"]["source"] = args.video
    result["calibration"] = calibration(clip_pairs, photo_pairs)
    result["small_faces"] = small_faces(args.threads, step=200 if args.quick else 40)
    for name in ("haar", "blazeface"):
        v = result["video"][name]
        print(f"{name:9s} {v['ms_per_frame']['median']:6.2f} ms/frame (p90 "
              f"{v['ms_per_frame']['p90']:.2f})  one face {v['exactly_one_face']}/{v['frames']}  "
              f"misses {v['misses']}  extra faces {v['extra_faces']}  photos "
              + " ".join(f"{k}={r[name]['faces']}" for k, r in result["photos"].items()))  # fmt: skip
    print(f"wrote {write_json(result, args.out, indent=2)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
