"""Milliseconds per slider move of emonb's live explorers (``emonb.book.widgets``).

A benchmark, not a test: run it on an otherwise idle machine::

    python benchmarks/widgets.py --json benchmarks/widgets_cpu.json

Both explorers are built on the mini-Xception and the faces of the book's three sample
images, their ipywidgets controls are moved programmatically (exactly what a slider drag
triggers: the observer renders, encodes the PNG and sets the image widget), and every move
is timed. For the map explorer, the first view of a (method, layer) pair computes its maps
once for every face and emotion; those moves are reported apart from the cached ones.
The same runs again inside an IPython kernel (``in_a_kernel``), where each move also sends
the new image over the widget's comm.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import emonb  # noqa: F401  (the TensorFlow guard first)
from emonb.book.params import check_images
from emonb.book.widgets import FeatureMapExplorer, MapExplorer
from emonb.explain import face_from_file
from emonb.models.zoo import load_model
from emonb.records import machine_info, provenance, write_json


def _timed(control, value) -> float:
    t0 = time.perf_counter()
    control.value = value
    return 1000 * (time.perf_counter() - t0)


def _stats(ms: list[float]) -> dict:
    a = np.asarray(ms)
    return {"moves": len(a), "median_ms": round(float(np.median(a)), 2),
            "p95_ms": round(float(np.percentile(a, 95)), 2),
            "max_ms": round(float(a.max()), 2)}  # fmt: skip


def run(model: str = "mini-xception", faces: int | None = None, quick: bool = False) -> dict:
    """Time the explorers' moves; ``quick``: the first ``faces`` faces, two methods, one
    layer not precomputed (a check of the script, not a benchmark)."""
    net = load_model(model)
    gallery = [face_from_file(p) for p in check_images(None)][:faces]
    out: dict = {"model": model, "faces": len(gallery)}

    t0 = time.perf_counter()
    fx = FeatureMapExplorer(net, gallery)
    setup = time.perf_counter() - t0
    box = fx.widget()
    (face, filt), layer = box.children[0].children, box.children[1]
    moves = []
    for f in range(len(gallery)):
        moves.append(_timed(face, f))
        for name in fx.layers:
            moves.append(_timed(layer, name))
            for k in range(1, min(8, fx.acts[name].shape[-1])):
                moves.append(_timed(filt, k))
    out["feature_maps"] = {"setup_s": round(setup, 2), "layers": len(fx.layers), **_stats(moves)}

    t0 = time.perf_counter()
    mx = MapExplorer(net, gallery, **({"methods": ["saliency", "gradcam"]} if quick else {}))
    setup = time.perf_counter() - t0
    box = mx.widget()
    (face, method), emotion, layer = box.children[0].children, box.children[1], box.children[2]
    cached, first = [], []
    for m in mx.methods:
        cached.append(_timed(method, m))
        for f in range(len(gallery)):
            cached.append(_timed(face, f))
            for e in net.class_names:
                cached.append(_timed(emotion, e))
    method.value = "gradcam"
    for name in mx.layers[-2:-1] if quick else mx.layers[-4:-1]:  # not precomputed: the first view computes the pair
        first.append(_timed(layer, name))
        for e in net.class_names:
            cached.append(_timed(emotion, e))
    out["explanation_maps"] = {"setup_s": round(setup, 2), "methods": mx.methods,
                               **_stats(cached),
                               "first_view_of_a_layer": _stats(first)}  # fmt: skip
    out["machine"] = machine_info()
    return out


def run_in_kernel(model: str = "mini-xception", faces: int | None = None,
                  quick: bool = False) -> dict:  # fmt: skip
    """:func:`run` inside an IPython kernel (nbclient), where every widget has a comm and
    each move also serialises the new PNG and sends it on the kernel's iopub channel."""
    import nbformat
    from nbclient import NotebookClient

    here = str(Path(__file__).resolve().parent)
    src = (f"import json, sys; sys.path.insert(0, {here!r}); import widgets; "
           f"print(json.dumps(widgets.run({model!r}, {faces!r}, {quick!r})))")  # fmt: skip
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src)])
    NotebookClient(nb, kernel_name="python3", timeout=900).execute()
    text = "".join(o.get("text", "") for o in nb.cells[0].outputs if o.output_type == "stream")
    return json.loads(text.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="mini-xception")
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--quick", action="store_true",
                   help="one face, two methods (a check of the script, not a benchmark)")
    args = p.parse_args(argv)
    faces = 1 if args.quick else None
    result = run(args.model, faces, args.quick)
    result["in_a_kernel"] = {k: v for k, v in run_in_kernel(args.model, faces, args.quick).items()
                             if k != "machine"}  # fmt: skip
    result["provenance"] = provenance()  # command, commit, date, machine
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=1))
    if args.json:
        print(f"wrote {write_json(result, args.json, indent=2)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
