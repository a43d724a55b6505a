"""Which layer should the CAMs of the mini-Xception read? Chosen on FER-2013 Training faces,
reported on PublicTest faces.

A benchmark, not a test (about 8 minutes on two busy CPU cores). With FER-2013 given::

    EMONB_FER2013=... python benchmarks/cam_layers.py --json benchmarks/cam_layers_cpu.json

Steps (every number from :func:`emonb.metrics.layers.layer_sweep`: the sample, the
deletion/insertion and ROAD objects and the bootstrap of ``emonb evaluate-maps``):

1. **On Training**: Grad-CAM, Grad-CAM++ and Layer-CAM at every convolutional layer with a
   spatial output, on ``--n-train`` faces (stratified, seeded), explained for their
   predicted class; insertion minus deletion (``--steps`` steps, blur baseline) and ROAD
   (LeRF minus MoRF, on ``--n-road`` of them), with 95% bootstrap intervals. Each method's
   layer is chosen by :func:`emonb.metrics.layers.choose_cam_layer` (highest mean insertion
   minus deletion; ties to the later layer); Grad-CAM's is *the* chosen layer.
2. **On PublicTest** (faces used for no choice): each method at Grad-CAM's chosen layer, at
   its own chosen layer and at the last spatial convolution
   (:func:`emonb.models.graph.last_conv_layer`, ``conv2d_7``: the default before this
   measurement, recorded as ``default_layer``), on ``--n-test`` faces, beside the centred
   Gaussian and occlusion (model-free and model-agnostic references, no layer) on the
   same faces.

Nothing here changes a default layer: the manifest records the mini-Xception's
(``model: cam_layer``, :mod:`emonb.models.cam_layer`), from this file's ``cam_layer``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from emonb.data.fer2013 import load_faces
from emonb.errors import EmonbError
from emonb.metrics.layers import SWEEP_METHODS, choose_cam_layer, layer_sweep, layer_table
from emonb.metrics.settings import EvaluationSettings
from emonb.models import graph
from emonb.models.runner import Runner
from emonb.models.zoo import load_model
from emonb.records import provenance, write_json

#: Scored on PublicTest beside the CAMs: the centred Gaussian (no model) and occlusion.
REFERENCES = ("centre", "occlusion")
RULE = "highest mean insertion - deletion on Training; ties go to the later layer"


def run(data: str | None, model: str, methods: list[str], n_train: int, n_test: int,
        steps: int, n_road: int, seed: int) -> dict:  # fmt: skip
    faces = load_faces(data)
    for split in ("Training", "PublicTest"):
        if split not in faces.usages:
            raise EmonbError(f"{faces.source} needs Training and PublicTest faces")
    net = load_model(model)
    default = graph.last_conv_layer(net.model, Runner(net).output_shapes)
    seconds = {}

    t0 = time.perf_counter()
    train = EvaluationSettings(n=n_train, split="Training", steps=steps, n_road=n_road, seed=seed)
    sweep = layer_sweep(net, faces, methods=methods, layers="all", settings=train)
    seconds["training_sweep"] = round(time.perf_counter() - t0, 1)
    chosen = {m: choose_cam_layer(sweep, m) for m in methods}
    cam_layer = chosen["gradcam"] if "gradcam" in chosen else chosen[methods[0]]
    print(layer_table(sweep).round(3).to_string(index=False), flush=True)
    print(f"chosen on Training: {chosen}", flush=True)

    t0 = time.perf_counter()
    layers = list(dict.fromkeys([cam_layer, *chosen.values(), default]))
    test = EvaluationSettings(n=n_test, split="PublicTest", steps=steps, n_road=n_road, seed=seed)
    report = layer_sweep(net, faces, methods=methods, layers=layers, settings=test,
                         references=REFERENCES)  # fmt: skip
    seconds["publictest"] = round(time.perf_counter() - t0, 1)
    print(layer_table(report).round(3).to_string(index=False), flush=True)
    return {
        "data": {"source": faces.source, "synthetic": bool(faces.synthetic)},
        "model": net.name,
        "settings": {"methods": methods, "n_train": n_train, "n_test": n_test, "steps": steps,
                     "baseline": train.baseline, "n_road": n_road,
                     "road_fractions": list(train.road_fractions), "seed": seed,
                     "targets": "predicted class", "interval": "95% bootstrap over faces",
                     "references": list(REFERENCES)},
        "default_layer": default,
        "rule": RULE,
        "training_sweep": sweep,
        "chosen_on_training": chosen,
        "cam_layer": cam_layer,
        "publictest": report,
        "seconds": seconds,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=None, help="FER-2013 path (default: $EMONB_FER2013; "
                   "'synthetic': the stand-in)")  # fmt: skip
    p.add_argument("--model", default="mini-xception")
    p.add_argument("--methods", default=",".join(SWEEP_METHODS))
    p.add_argument("--n-train", type=int, default=200, help="Training faces of the sweep")
    p.add_argument("--n-test", type=int, default=300, help="PublicTest faces of the report")
    p.add_argument("--steps", type=int, default=16, help="deletion/insertion steps")
    p.add_argument("--n-road", type=int, default=100, help="faces of each sample scored by ROAD")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    data = args.data if args.data is not None else os.environ.get("EMONB_FER2013") or None
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    t0 = time.perf_counter()
    result = {"provenance": provenance(["benchmarks/cam_layers.py", *argv]),
              **run(data, args.model, methods, args.n_train, args.n_test, args.steps,
                    args.n_road, args.seed)}  # fmt: skip
    result["wall_seconds"] = round(time.perf_counter() - t0, 1)
    print(f"cam layer (Grad-CAM, chosen on Training): {result['cam_layer']}; "
          f"{result['wall_seconds']:.0f} s")  # fmt: skip
    if args.json:
        print(f"wrote {write_json(result, args.json, indent=2)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
