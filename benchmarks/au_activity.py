"""The AUs each FER-2013 face shows, measured on its mesh, against the emotion humans gave it:
per emotion and AU, the AUC of the AU's activity separating the emotion's faces from the
rest, on PublicTest, with bootstrap 95% intervals.

A benchmark, not a test: it meshes every face of both splits (about 3 minutes of CPU for
Training's 28,709). With FER-2013 given::

    EMONB_FER2013=... python benchmarks/au_activity.py --json benchmarks/au_activity_cpu.json

Steps:

1. :class:`emonb.faces.mesh.FaceMesh` (its defaults) meshes Training and PublicTest; faces it
   rejects (face presence < 0.5) are counted and left out.
2. **On Training only**: the one setting, which eye points define the face frame (the outer
   corners or the eye centres, :data:`emonb.anatomy.activity.EYE_REFERENCES`), is chosen by
   the mean Training AUC over the EMFACS prototype cells (:data:`PROTOTYPES`: each emotion
   with the measured AUs of its prototype), and :class:`~emonb.anatomy.activity.AUActivity`
   is fitted (z-scores) on Training's accepted faces.
3. **On PublicTest** (faces used for no choice): :func:`emonb.metrics.activity.activity_auc`,
   AU -> emotion -> {auc, lo, hi}.
4. The issue's two simple reference measures on PublicTest, for comparison: the lip-corner
   raise for happy (the issue reports AUC 0.81) and the brow height for surprise (0.70),
   both in the crop's pixels with no roll removed (:func:`simple_measures`), beside the
   activity measures that refine them.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from emonb.anatomy.activity import AU_MEASURES, EYE_REFERENCES, VERTICES, AUActivity
from emonb.config import CLASS_NAMES
from emonb.data.fer2013 import load_faces
from emonb.errors import EmonbError
from emonb.faces.mesh import EYE_POINTS, FaceMesh
from emonb.metrics.activity import activity_auc, auc_nested, weighted_auc
from emonb.metrics.facs import EMFACS
from emonb.records import provenance, write_json

#: EMFACS prototypes (emonb.metrics.facs.EMFACS) restricted to the AUs measured; AU06 and
#: AU07 are one measure.
PROTOTYPES: dict[str, tuple[str, ...]] = {
    emotion: tuple(dict.fromkeys(
        "AU06/07" if au in ("AU06", "AU07") else au
        for au in aus if au in AU_MEASURES or au in ("AU06", "AU07")))
    for emotion, aus in EMFACS.items()
}  # fmt: skip
#: The issue's AUCs for its simple measures (PublicTest), for comparison.
ISSUE_AUC = {"lip_corner_raise": ("happy", 0.81), "brow_height": ("surprise", 0.70)}
SIMPLE_DEFINITIONS = {
    "lip_corner_raise": "lip centre y (mean of 13, 14) minus the lip corners' mean y (61, "
                        "291), crop pixels, no roll removed",
    "brow_height": "eye centres' mean y (33, 133, 159, 145, 263, 362, 386, 374) minus the "
                   "brows' upper outline mean y (70, 63, 105, 66, 107, 300, 293, 334, 296, "
                   "336), crop pixels, no roll removed",
}  # fmt: skip
#: The upper outline of each brow (MediaPipe), image-left then image-right.
BROW_UPPER = ((70, 63, 105, 66, 107), (300, 293, 334, 296, 336))


def simple_measures(xy: np.ndarray) -> dict[str, np.ndarray]:
    """The issue's simple measures, in the image's pixels, no roll removed, no scale:
    ``lip_corner_raise`` the lip centre's y (mean of 13, 14) minus the corners' mean y
    (61, 291); ``brow_height`` the eye centres' mean y (:data:`EYE_POINTS`) minus the
    brows' upper outline's mean y (:data:`BROW_UPPER`). Higher = corners or brows higher."""
    y = xy[..., 1].astype(np.float64)
    lips = y[:, list(VERTICES["inner_lips"])].mean(axis=1)
    corners = y[:, list(VERTICES["lip_corners"])].mean(axis=1)
    eyes = y[:, [*EYE_POINTS["left"], *EYE_POINTS["right"]]].mean(axis=1)
    brows = y[:, [*BROW_UPPER[0], *BROW_UPPER[1]]].mean(axis=1)
    return {"lip_corner_raise": lips - corners, "brow_height": eyes - brows}


def mesh_split(mesh: FaceMesh, faces, n: int | None) -> tuple[np.ndarray, np.ndarray, dict]:
    """Mesh points (N, 468, 2) with NaN for rejected faces, labels, and the split's counts."""
    images, labels = faces.images[:n], faces.labels[:n]
    t0 = time.perf_counter()
    marks = mesh.landmarks(images)
    seconds = time.perf_counter() - t0
    xy = marks.xy.astype(np.float64)
    xy[~marks.accepted] = np.nan
    info = {"faces": len(images), "accepted": int(marks.accepted.sum()),
            "rejected": marks.rejected, "seconds": round(seconds, 1),
            "ms_per_face": round(1000 * seconds / max(len(images), 1), 2)}  # fmt: skip
    return xy, labels, info


def training_auc(activity: np.ndarray, labels: np.ndarray) -> dict[str, dict[str, float]]:
    """Point AUCs (no intervals) AU -> emotion on the accepted faces."""
    ok = np.isfinite(activity).all(axis=1)
    out: dict = {}
    for j, au in enumerate(AU_MEASURES):
        for g, emotion in enumerate(CLASS_NAMES):
            pos = labels[ok] == g
            value = weighted_auc(activity[ok, j], pos, np.ones(int(ok.sum())))[0]
            out.setdefault(au, {})[emotion] = round(float(value), 4)
    return out


def prototype_mean(table: dict) -> float:
    return float(np.mean([table[au][e] for e, aus in PROTOTYPES.items() for au in aus]))


def choose(xy: np.ndarray, labels: np.ndarray) -> tuple[str, dict]:
    """The eye reference with the higher mean Training AUC over the prototype cells."""
    candidates = {}
    for eyes in EYE_REFERENCES:
        table = training_auc(AUActivity(eyes=eyes).fit(xy).transform(xy), labels)
        candidates[eyes] = {"prototype_mean_auc": round(prototype_mean(table), 4),
                            "auc": table}  # fmt: skip
    chosen = max(candidates, key=lambda e: candidates[e]["prototype_mean_auc"])
    return chosen, candidates


def run(data: str | None, n: int | None, n_boot: int, seed: int, threads: int) -> dict:
    faces = load_faces(data)
    train, test = faces.split("Training"), faces.split("PublicTest")
    if not len(train) or not len(test):
        raise EmonbError(f"{faces.source} needs Training and PublicTest faces")
    mesh = FaceMesh(threads=threads)
    splits = {}
    print(f"meshing {min(len(train), n or len(train))} Training faces ...", flush=True)
    train_xy, train_labels, splits["Training"] = mesh_split(mesh, train, n)
    print(f"meshing {min(len(test), n or len(test))} PublicTest faces ...", flush=True)
    test_xy, test_labels, splits["PublicTest"] = mesh_split(mesh, test, n)
    print(splits, flush=True)

    eyes, candidates = choose(train_xy, train_labels)
    activity = AUActivity(eyes=eyes).fit(train_xy)
    print(f"eye reference chosen on Training: {eyes}", flush=True)
    z = activity.transform(test_xy)
    table = activity_auc(z, test_labels, CLASS_NAMES, names=AU_MEASURES, n_boot=n_boot,
                         seed=seed)  # fmt: skip
    nested = auc_nested(table)

    simple = simple_measures(test_xy)
    reference = {}
    for k, (name, (emotion, issue)) in enumerate(ISSUE_AUC.items()):
        t = activity_auc(simple[name][:, None], test_labels, CLASS_NAMES, names=[name],
                         n_boot=n_boot, seed=seed + 1 + k)  # fmt: skip
        reference[name] = {"emotion": emotion, "issue_auc": issue,
                           "definition": SIMPLE_DEFINITIONS[name],
                           **auc_nested(t)[name][emotion]}  # fmt: skip
    reference["lip_corner_raise"]["activity"] = {"AU12": nested["AU12"]["happy"]}
    reference["brow_height"]["activity"] = {au: nested[au]["surprise"]
                                            for au in ("AU01", "AU02")}  # fmt: skip
    prototype_cells = [{"emotion": e, "au": au, **nested[au][e]}
                       for e, aus in PROTOTYPES.items() for au in aus]  # fmt: skip
    return {
        "data": {"source": faces.source, "synthetic": bool(faces.synthetic),
                 "first_n_per_split": n},
        "settings": {"n_boot": n_boot, "seed": seed, "threads": threads,
                     "mesh": {"scale": mesh.scale, "refine": mesh.refine,
                              "min_presence": mesh.min_presence}},
        "splits": splits,
        "choice_on_training": {"criterion": "mean Training AUC over the prototype cells",
                               "prototypes": {e: list(a) for e, a in PROTOTYPES.items()},
                               "chosen_eyes": eyes, "candidates": candidates},
        "reference_faces": activity.to_json(),
        "publictest_auc": nested,
        "publictest_prototype_cells": prototype_cells,
        "issue_reference_measures": reference,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=None, help="FER-2013 path (default: $EMONB_FER2013; "
                   "'synthetic': the stand-in)")  # fmt: skip
    p.add_argument("--n", type=int, default=None, help="first N faces of each split (quick)")
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--reference", type=Path, default=None,
                   help="also write the Training fit (each measure's mean and std) here, the "
                        "reference emonb landmarks scores faces against "
                        "(emonb/anatomy/au_reference.json)")  # fmt: skip
    args = p.parse_args(argv)
    data = args.data if args.data is not None else os.environ.get("EMONB_FER2013") or None
    result = {"provenance": provenance(["benchmarks/au_activity.py", *argv]),
              **run(data, args.n, args.n_boot, args.seed, args.threads)}  # fmt: skip
    for e, au in (("happy", "AU12"), ("surprise", "AU01"), ("surprise", "AU02"),
                  ("surprise", "AU05"), ("surprise", "AU26"), ("angry", "AU04"),
                  ("sad", "AU15"), ("fear", "AU20"), ("fear", "AU05")):  # fmt: skip
        print(f"{e:9s} {au:8s} {result['publictest_auc'][au][e]}")
    print(result["issue_reference_measures"])
    if args.json:
        print(f"wrote {write_json(result, args.json, indent=2)}")
    if args.reference:
        fit = {"provenance": result["provenance"], "data": "FER-2013 Training faces the mesh "
               "accepts" if not result["data"]["synthetic"] else "the synthetic stand-in",
               **result["reference_faces"]}  # fmt: skip
        print(f"wrote {write_json(fit, args.reference, indent=2)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
