"""Where a happy face's evidence lies: the appearance map's AU12 against py-feat's, on FER-2013
Training faces the mini-Xception calls happy.

A benchmark, not a test. With FER-2013 given::

    EMONB_FER2013=... python benchmarks/au_maps.py --json benchmarks/au_maps_cpu.json

Steps (Training faces only: nothing here is measured on PublicTest):

1. The mini-Xception's p(happy) for every Training face (``predict_proba``); the faces above
   ``--threshold`` (0.5), a seeded sample of at most ``--max-faces`` of them.
2. :class:`emonb.faces.mesh.FaceMesh` (its defaults) meshes them; rejected faces are counted
   and left out.
3. The occlusion drop of p(happy) (:func:`emonb.metrics.occlusion.occlusion`, blur
   baseline, masks at the model's input size) for every region of both maps
   (:mod:`emonb.anatomy.au_maps`), and for the issue's comparison: two disks on the lip
   corners (mesh points 61 and 291) whose total area equals py-feat's AU12 region on each
   face. Each: the mean over faces with a 95% percentile bootstrap interval; the paired
   difference, appearance AU12 minus muscle AU12; and each AU12 region's drop per share of
   the image it covers (per face, then averaged): the appearance region is larger.
4. Each region's area on both maps: its mean share of the 48x48 crop over the faces.
5. Rasterisation cost per face (process CPU time and wall time, on the faces of step 2):
   both maps at 48x48 and at the 8x8 and 4x4 grids of the models' last feature maps; for
   the appearance map, choosing its triangles (``membership``, once per face) apart from
   painting them.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from emonb.anatomy import appearance
from emonb.anatomy.au_maps import AU_MAPS, au_masks_for, au_names
from emonb.data.fer2013 import load_faces
from emonb.faces.mesh import FaceMesh
from emonb.metrics.occlusion import occlusion
from emonb.metrics.stats import bootstrap_ci
from emonb.models.runner import Runner, predict_proba
from emonb.models.zoo import load_model
from emonb.records import provenance, write_json

CORNERS = (61, 291)
SIZES = (48, 8, 4)


def corner_disks(xy: np.ndarray, area: np.ndarray, size: tuple[int, int], s: int = 4) -> np.ndarray:
    """Soft masks (N, 1, H, W) of two disks centred on each face's lip corners (``xy`` in
    the map's pixels), of total area ``area`` (N,) map pixels, by ``s`` x ``s`` sub-pixels."""
    h, w = size
    radius = np.sqrt(np.asarray(area, np.float64) / (2 * np.pi))
    gy, gx = np.mgrid[0 : h * s, 0 : w * s]
    gx, gy = (gx + 0.5) / s, (gy + 0.5) / s
    out = np.zeros((len(xy), 1, h, w), np.float32)
    for i in range(len(xy)):
        inside = np.zeros((h * s, w * s), bool)
        for v in CORNERS:
            inside |= (gx - xy[i, v, 0]) ** 2 + (gy - xy[i, v, 1]) ** 2 <= radius[i] ** 2
        out[i, 0] = inside.reshape(h, s, w, s).mean(axis=(1, 3))
    return out


def summary(values: np.ndarray, n_boot: int, seed: int) -> dict:
    mean, lo, hi = bootstrap_ci(values, n_boot=n_boot, seed=seed)
    return {"mean": round(mean, 5), "lo": round(lo, 5), "hi": round(hi, 5)}


def timings(xy: np.ndarray) -> dict:
    """ms per face (CPU process time and wall time): choosing the appearance map's triangles
    (once per face, as au_evidence does), then painting each map's masks at each size."""
    out: dict = {}

    def clock(key, fn):
        c0, w0 = time.process_time(), time.perf_counter()
        result = fn()
        out[key] = {"cpu_ms": round(1e3 * (time.process_time() - c0) / len(xy), 3),
                    "wall_ms": round(1e3 * (time.perf_counter() - w0) / len(xy), 3)}  # fmt: skip
        return result

    member = clock("appearance membership", lambda: appearance.membership(xy))
    for size in SIZES:
        clock(f"appearance {size}x{size}",
              lambda size=size: au_masks_for(xy, 48, size, membership=member))  # fmt: skip
        clock(f"muscle {size}x{size}", lambda size=size: au_masks_for(xy, 48, size, "muscle"))
    return out


def run(data: str | None, n: int | None, threshold: float, max_faces: int, n_boot: int,
        seed: int) -> dict:  # fmt: skip
    faces = load_faces(data).split("Training")
    if n is not None:
        faces = faces.subset(np.arange(min(n, len(faces))))
    net = load_model("mini-xception")
    happy = net.class_names.index("happy")
    p = predict_proba(net, faces.images, batch_size=256)[:, happy]
    rows = np.flatnonzero(p > threshold)
    if len(rows) > max_faces:
        rows = np.sort(np.random.default_rng(seed).choice(rows, max_faces, replace=False))
    images = faces.images[rows]
    marks = FaceMesh().landmarks(images)
    ok = marks.accepted
    xy = marks.xy[ok].astype(np.float64)
    runner = Runner(net, batch_size=256)
    x = net.preprocess(images[ok])
    size = x.shape[1:3]
    targets = np.full(len(x), happy)
    drops, areas, share = {}, {}, {}
    for au_map in AU_MAPS:
        masks = au_masks_for(xy, 48, size, au_map)
        d = occlusion(runner, x, targets, masks, baseline="blur")
        drops[au_map] = {a: summary(d[:, r], n_boot, seed) for r, a in enumerate(au_names(au_map))}
        crop = au_masks_for(xy, 48, 48, au_map)
        mean = crop.mean(axis=(0, 2, 3), dtype=np.float64).round(5)
        areas[au_map] = dict(zip(au_names(au_map), mean.tolist(), strict=True))
        r12 = au_names(au_map).index("AU12")
        share[au_map] = masks[:, r12].mean(axis=(1, 2))  # of the model's input
        if au_map == "appearance":
            app12 = d[:, r12]
        else:
            mus12 = d[:, r12]
            area12 = masks[:, r12].sum(axis=(1, 2))
    scaled = xy * np.array([size[1] / 48, size[0] / 48])
    disks = corner_disks(scaled, area12, size)
    disk_drop = occlusion(runner, x, targets, disks, baseline="blur")[:, 0]
    share["lip_corner_disks"] = disks[:, 0].mean(axis=(1, 2))
    per_area = {k: summary(v / np.maximum(share[k], 1e-9), n_boot, seed)
                for k, v in (("appearance", app12), ("muscle", mus12), ("lip_corner_disks", disk_drop))}  # fmt: skip
    return {
        "data": {"name": faces.name, "synthetic": bool(faces.synthetic), "split": "Training",
                 "faces": len(faces), "threshold": threshold, "above_threshold": int((p > threshold).sum()),
                 "sampled": len(rows), "accepted": int(ok.sum()), "rejected": int((~ok).sum()),
                 "max_faces": max_faces, "seed": seed},  # fmt: skip
        "model": net.name,
        "baseline": "blur",
        "au12": {
            "appearance": summary(app12, n_boot, seed),
            "muscle": summary(mus12, n_boot, seed),
            "lip_corner_disks": summary(disk_drop, n_boot, seed),
            "appearance_minus_muscle": summary(app12 - mus12, n_boot, seed),
            "area_share": {k: round(float(v.mean(dtype=np.float64)), 5) for k, v in share.items()},
            "drop_per_area_share": per_area,
        },
        "drops": drops,
        "areas": areas,
        "ms_per_face": timings(xy),
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=None, help="FER-2013 path (default: $EMONB_FER2013)")
    p.add_argument("--n", type=int, default=None, help="first N Training faces (quick)")
    p.add_argument("--threshold", type=float, default=0.5, help="p(happy) above it (0.5)")
    p.add_argument("--max-faces", type=int, default=2000, help="sampled faces at most (2000)")
    p.add_argument("--n-boot", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    data = args.data if args.data is not None else os.environ.get("EMONB_FER2013") or None
    result = {"provenance": provenance(["benchmarks/au_maps.py", *argv]),
              **run(data, args.n, args.threshold, args.max_faces, args.n_boot, args.seed)}  # fmt: skip
    d = result["data"]
    print(f"{d['accepted']} of {d['sampled']} Training faces with p(happy) > {d['threshold']} "
          f"({d['above_threshold']} in all), meshed; occlusion drop of p(happy), blur:")  # fmt: skip
    for k, v in result["au12"].items():
        print(f"  {k:24s} {v}")
    for k, v in result["ms_per_face"].items():
        print(f"  {k:24s} {v}")
    if args.json:
        print(f"wrote {write_json(result, args.json, indent=2)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
