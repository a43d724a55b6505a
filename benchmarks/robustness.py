"""The book's claims under every reasonable analysis, on FER-2013 PublicTest faces: the
robustness table (:func:`emonb.metrics.claims.claim_table`) of each model, with each
claim's summary over the analyses.

A benchmark, not a test: the default analyses (:class:`emonb.metrics.claims.ClaimSettings`)
on 50 faces per class take minutes per model on a 2-core CPU. With FER-2013 given::

    EMONB_FER2013=... python benchmarks/robustness.py --data FER2013 --per-class 50 \\
        --models mini-xception,benchmarks/seed_cnn_cpu.keras --json benchmarks/robustness_cpu.json

Steps:

1. The faces: a seeded sample of ``--per-class`` faces of every class of ``--split``
   (PublicTest: faces no setting of the book was chosen on; all faces of a rarer class),
   :func:`emonb.models.train.balanced_sample`. ``--data manifest`` takes the manifest's
   real faces instead (the clip's every 40th frame and the photos,
   :func:`emonb.video.real_faces.real_faces`): no labels, so no ``true`` grouping and no
   accuracy, and intervals resample whole clips and photos (``clusters``).
2. :class:`emonb.faces.mesh.FaceMesh` (its defaults) meshes them; rejected faces are counted
   and left out of everything.
3. Each accepted face's AU activity against the Training reference
   (:func:`emonb.anatomy.activity.face_activity`).
4. Per model (``--models``: manifest names or ``.keras`` files, named in the JSON by the
   manifest name or the file's stem): its accuracy on the accepted faces, then
   :func:`~emonb.metrics.claims.claim_table` under the default analyses, timed. A named CAM
   layer the model lacks (``conv2d_7`` is the mini-Xception's) is left out for that model
   (:meth:`~emonb.metrics.claims.ClaimSettings.for_model`; ``models[name]["cam_layers"]``
   says which it got).
5. The table as records (:func:`emonb.metrics.verdicts.robustness_records`), each claim's
   summary (:func:`~emonb.metrics.verdicts.summarize`) and the plain lists of findings,
   refuted claims, claims that depend on the analysis and open ones
   (:func:`~emonb.metrics.verdicts.answers`).

``--quick`` (the test's): at most 4 faces per class and :meth:`ClaimSettings.capped`
(one CAM layer, one baseline each, 100 resamples): a pipeline check, not a verdict.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from emonb.errors import EmonbError
from emonb.records import json_safe, provenance, write_json

#: ``--data`` values that are not paths.
MANIFEST, FER2013 = "manifest", "fer2013"
#: Faces per class at most in quick mode.
QUICK_PER_CLASS = 4


def fer_given() -> str | None:
    """$EMONB_FER2013 when it names FER-2013 (not unset, not ``synthetic``)."""
    env = os.environ.get("EMONB_FER2013", "").strip()
    return env if env and env.lower() != "synthetic" else None


def model_name(spec: str) -> str:
    """The JSON's name of a ``--models`` entry: a manifest name as given, a file's stem."""
    return Path(spec).stem if Path(spec).suffix else spec


def faces_of(data: str | None, split: str, per_class: int, seed: int) -> dict:
    """The faces to judge the claims on: ``images``, ``labels`` (None for the manifest's),
    ``clusters`` (None for FER-2013), and what to record of them (``info``)."""
    if data is not None and data.strip().lower() == MANIFEST:
        from emonb.video.real_faces import real_faces

        faces = real_faces(every=40)
        return {"images": faces.images, "labels": None, "clusters": faces.clusters,
                "class_names": None,
                "info": {"source": faces.name, "split": None, "per_class": None,
                         "seed": None, "per_source": faces.counts()}}  # fmt: skip
    from emonb.data.fer2013 import load_faces
    from emonb.models.train import balanced_sample

    if data is None or data.strip().lower() == FER2013:
        data = fer_given()
        if data is None:
            raise EmonbError("the claims are about real faces: set $EMONB_FER2013 to FER-2013, "
                             "or give --data PATH or --data manifest")  # fmt: skip
    faces = load_faces(data)
    if faces.synthetic:
        raise EmonbError("the claims are about real faces; the synthetic stand-in has none")
    pool = faces.split(split)
    rows = balanced_sample(pool.labels, per_class, np.random.default_rng(seed))
    sample = pool.subset(rows)
    return {"images": sample.images, "labels": sample.labels, "clusters": None,
            "class_names": list(faces.class_names),
            "info": {"source": faces.source, "split": split, "per_class": per_class,
                     "seed": seed}}  # fmt: skip


def per_class(labels: np.ndarray, names: list[str]) -> dict[str, int]:
    return {name: int((labels == c).sum()) for c, name in enumerate(names)}


def run(data: str | None, split: str, n_per_class: int, models: list[str], n_boot: int,
        seed: int, quick: bool) -> dict:  # fmt: skip
    import pandas as pd

    from emonb.anatomy.activity import face_activity
    from emonb.faces.mesh import FaceMesh
    from emonb.metrics.claims import ClaimSettings, claim_table
    from emonb.metrics.verdicts import answers, robustness_records, summarize
    from emonb.models.cam_layer import default_cam_layer
    from emonb.models.runner import predict_proba
    from emonb.models.zoo import load_model

    names = [model_name(m) for m in models]
    if len(set(names)) < len(names):
        raise EmonbError(f"--models: two models share a name: {', '.join(names)}")
    settings = ClaimSettings(n_boot=n_boot, seed=seed).capped(quick)
    got = faces_of(data, split, n_per_class, seed)
    images, labels, clusters = got["images"], got["labels"], got["clusters"]
    if not len(images):
        raise EmonbError("no faces to judge the claims on")
    print(f"meshing {len(images)} faces ...", flush=True)
    t0 = time.perf_counter()
    marks = FaceMesh().landmarks(images)
    seconds = {"mesh": round(time.perf_counter() - t0, 1)}
    ok = np.asarray(marks.accepted, bool)
    if not ok.any():
        raise EmonbError(f"the mesh rejected all {len(images)} faces")
    faces = {"sampled": len(images), "accepted": int(ok.sum()), "rejected": int((~ok).sum())}
    if labels is not None:
        faces["per_class"] = per_class(labels, got["class_names"])
        faces["accepted_per_class"] = per_class(labels[ok], got["class_names"])
    else:
        from collections import Counter

        faces["accepted_per_source"] = dict(Counter(str(c) for c in clusters[ok]))
    print(faces, flush=True)
    images, xy = images[ok], marks.xy[ok]
    labels = None if labels is None else labels[ok]
    clusters = None if clusters is None else np.asarray(clusters)[ok]
    activity = face_activity(xy)

    tables, about = [], {}
    for spec, name in zip(models, names, strict=True):
        net = load_model(spec)
        own = settings.for_model(net)
        t0 = time.perf_counter()
        tables.append(claim_table({name: net}, images, xy, labels=labels, clusters=clusters,
                                  activity=activity, settings=own, log=print))  # fmt: skip
        seconds[name] = round(time.perf_counter() - t0, 1)
        accuracy = None
        if labels is not None:
            accuracy = round(float((predict_proba(net, images).argmax(axis=1) == labels).mean()), 4)
        default = default_cam_layer(net)
        about[name] = {"model": spec, "accuracy": accuracy,
                       "cam_layers": [f"{default.name} (default)" if c is None else c
                                      for c in own.cam_layers],
                       "cam_layer_source": default.source}  # fmt: skip
        print(f"{name}: accuracy {accuracy}, claims in {seconds[name]} s", flush=True)
    table = pd.concat(tables, ignore_index=True)
    summary = summarize(table)
    return {
        "data": got["info"],
        "faces": faces,
        "settings": {**asdict(settings), "quick": quick, "min_faces": _min_faces()},
        "models": about,
        "seconds": seconds,
        "robustness": json_safe(robustness_records(table)),
        "summary": json_safe(summary.to_dict(orient="records")),
        "answers": answers(summary),
    }


def _min_faces() -> int:
    from emonb.metrics.regions import MIN_FACES

    return MIN_FACES


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=None,
                   help="FER-2013 path, 'FER2013' ($EMONB_FER2013, the default when set), or "
                        "'manifest' (the manifest's real faces; the default otherwise)")  # fmt: skip
    p.add_argument("--split", default="PublicTest", help="FER-2013 usage (PublicTest)")
    p.add_argument("--per-class", type=int, default=50, help="faces per class (50)")
    p.add_argument("--models", default="mini-xception",
                   help="comma-separated manifest names or .keras files (mini-xception)")
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples (1000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true",
                   help=f"at most {QUICK_PER_CLASS} faces per class, one CAM layer and one "
                        "baseline each, 100 resamples (a pipeline check)")  # fmt: skip
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    if args.per_class < 1:
        p.error("--per-class must be at least 1")
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if not models:
        p.error("--models names no model")
    data = args.data or (FER2013 if fer_given() else MANIFEST)
    n = min(args.per_class, QUICK_PER_CLASS) if args.quick else args.per_class
    result = {"provenance": provenance(["benchmarks/robustness.py", *argv]),
              **run(data, args.split, n, models, args.n_boot, args.seed, args.quick)}  # fmt: skip
    for r in result["summary"]:
        on = f" (on {r['depends on']})" if r["depends on"] else ""
        print(f"  {r['summary']:12s} {r['claim']}{on}")
    print(f"seconds: {result['seconds']}")
    if args.json:
        print(f"wrote {write_json(result, args.json, indent=2)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
