"""Face-mesh landmarks on FER-2013's PublicTest faces: success rate, agreement with
OpenCV's Haar eye and smile detectors, and speed, for each crop setting of
:class:`emonb.faces.mesh.FaceMesh`.

A benchmark, not a test: run it on an otherwise idle machine, with FER-2013 given::

    EMONB_FER2013=... python benchmarks/landmarks.py --json benchmarks/landmarks_cpu.json

Per setting (``scale`` of the first crop, with or without the refining second pass):

* accepted: share of faces with face presence >= 0.5 (the rest are rejected);
* eyes in Haar eye boxes: on faces where Haar finds one eye on each side of the face
  (above the nose line, 4x upscaled as in :func:`emonb.metrics.regions.check_layout`),
  the share of those eyes whose mesh eye centre (mean of the eye's corners and lids) lies
  inside the detected box; mouth likewise with the smile detector;
* ms per face, the whole :meth:`FaceMesh.landmarks` call (warps, model, mapping back).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from emonb.data.fer2013 import load_faces
from emonb.faces.mesh import EYE_POINTS as EYES
from emonb.faces.mesh import MOUTH_POINTS as MOUTH
from emonb.faces.mesh import FaceMesh
from emonb.records import provenance, write_json

SETTINGS = ((1.0, False), (1.3, False), (1.6, False), (1.0, True), (1.3, True), (1.6, True))


def haar_boxes(images: np.ndarray, s: int = 4) -> list[dict[str, list[tuple]]]:
    """Per face, Haar eye boxes by side and smile boxes, in 48x48 pixels."""
    base = cv2.data.haarcascades
    eye = cv2.CascadeClassifier(base + "haarcascade_eye.xml")
    smile = cv2.CascadeClassifier(base + "haarcascade_smile.xml")
    out = []
    for im in images:
        big = cv2.resize(im, None, fx=s, fy=s, interpolation=cv2.INTER_CUBIC)
        found: dict[str, list[tuple]] = {"left": [], "right": [], "mouth": []}
        for x, y, w, h in eye.detectMultiScale(big, 1.1, 5, minSize=(20, 20)):
            cx, cy = (x + w / 2) / s, (y + h / 2) / s
            if cy <= 26:
                found["left" if cx < 24 else "right"].append((x / s, y / s, w / s, h / s))
        for x, y, w, h in smile.detectMultiScale(big, 1.2, 20, minSize=(40, 20)):
            found["mouth"].append((x / s, y / s, w / s, h / s))
        out.append(found)
    return out


def _inside(p: np.ndarray, box: tuple) -> bool:
    x, y, w, h = box
    return bool(x <= p[0] <= x + w and y <= p[1] <= y + h)


def agreement(xy: np.ndarray, accepted: np.ndarray, haar: list[dict]) -> dict:
    eyes = mouths = eye_hits = mouth_hits = 0
    for i, found in enumerate(haar):
        if not accepted[i]:
            continue
        if found["left"] and found["right"]:
            for side in ("left", "right"):
                c = xy[i, list(EYES[side])].mean(axis=0)
                eyes += 1
                eye_hits += any(_inside(c, b) for b in found[side])
        if found["mouth"]:
            c = xy[i, list(MOUTH)].mean(axis=0)
            mouths += 1
            mouth_hits += any(_inside(c, b) for b in found["mouth"])
    return {"eyes_checked": eyes, "eyes_in_haar_box": round(eye_hits / max(eyes, 1), 4),
            "mouths_checked": mouths,
            "mouth_in_haar_box": round(mouth_hits / max(mouths, 1), 4)}  # fmt: skip


def run(threads: int, limit: int | None) -> dict:
    faces = load_faces(os.environ.get("EMONB_FER2013", "")).split("PublicTest")
    images = faces.images[:limit] if limit else faces.images
    print(f"{len(images)} PublicTest faces; Haar eye/smile boxes ...", flush=True)
    haar = haar_boxes(images)
    rows = []
    for scale, refine in SETTINGS:
        mesh = FaceMesh(scale=scale, refine=refine, threads=threads)
        mesh.landmarks(images[:32])  # warm-up
        t0 = time.perf_counter()
        marks = mesh.landmarks(images)
        seconds = time.perf_counter() - t0
        row = {"scale": scale, "refine": refine, "faces": len(images),
               "accepted": round(float(marks.accepted.mean()), 4),
               "median_presence": round(float(np.median(marks.presence)), 4),
               "seconds": round(seconds, 2),
               "ms_per_face": round(1000 * seconds / len(images), 3),
               **agreement(marks.xy, marks.accepted, haar)}  # fmt: skip
        print(json.dumps(row), flush=True)
        rows.append(row)
    return {"data": "FER-2013 PublicTest", "threads": threads, "settings": rows}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--limit", type=int, default=None, help="first N faces only (a quick look)")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    result = {"provenance": provenance([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
              **run(args.threads, args.limit)}  # fmt: skip
    if args.json:
        print(f"wrote {write_json(result, args.json, indent=2)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
