"""``emonb bench``: images per second of every explanation method."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from emonb import records
from emonb.cli.argtypes import add_model, whole
from emonb.cli.checks import check_methods, check_model, check_output, method_list
from emonb.errors import EmonbError


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("bench",
                       help="images per second of every method (and tf-keras-vis where comparable)")  # fmt: skip
    add_model(p)
    p.add_argument("--data", default=None,
                   help="faces to use (FER-2013 path; default $EMONB_FER2013 or stand-in)")  # fmt: skip
    p.add_argument("--batch", type=whole(1, 4096), default=64,
                   help="images per timed call, at most 4096 (default 64)")  # fmt: skip
    p.add_argument("--repeat", type=whole(1), default=5, help="timed repeats, best kept (default 5)")
    p.add_argument("--methods", default=None, help="comma-separated method names (default: all)")
    p.add_argument("--no-compare", action="store_true", help="skip tf-keras-vis even if installed")
    p.add_argument("--json", type=Path, default=None, help="write the results as JSON")
    return p


def run(args: argparse.Namespace) -> int:
    from emonb.data.fer2013 import load_faces

    check_output(args.json, "--json")
    check_model(args.model)
    methods = method_list(args.methods)
    faces = load_faces(args.data, n_synthetic=max(args.batch, 70), seed=0)
    if args.batch > len(faces):
        raise EmonbError(f"--batch {args.batch} is more than the {len(faces)} faces of "
                         f"{faces.source}")  # fmt: skip
    check_methods(methods or ())
    from emonb.bench import format_table, run_benchmark
    from emonb.methods import METHODS, method_settings
    from emonb.models.zoo import load_model

    net = load_model(args.model)
    images = faces.images[np.random.default_rng(0).choice(len(faces), args.batch, replace=False)]
    print(f"benchmark: {net.name}, batch {args.batch} of {faces.name} faces, best of {args.repeat}")
    settings = {m: method_settings(m) for m in METHODS}  # quick mode applies here
    result = run_benchmark(net, images, methods=methods, repeat=args.repeat,
                           compare=not args.no_compare, settings=settings)  # fmt: skip
    result["data"] = faces.name
    result["provenance"] = records.provenance()
    print()
    print(format_table(result))
    if args.json:
        print(f"wrote {records.write_json(result, args.json, indent=2)}")
    return 0
