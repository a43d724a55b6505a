"""``emonb evaluate``: accuracy, macro-F1, per-class report and confusion matrix."""

from __future__ import annotations

import argparse
from pathlib import Path

from emonb import records
from emonb.cli.argtypes import add_data, add_model
from emonb.cli.checks import check_model, check_output, pick_split


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("evaluate", help="accuracy, macro-F1, per-class report and confusion matrix")
    add_data(p)
    add_model(p)
    p.add_argument("--split", default=None,
                   help="usage to evaluate (Training, PublicTest, ...; default: all rows)")  # fmt: skip
    p.add_argument("--json", type=Path, default=None, help="write the full report as JSON")
    return p


def run(args: argparse.Namespace) -> int:
    from emonb.data.fer2013 import load_faces

    check_output(args.json, "--json")
    check_model(args.model)
    faces = load_faces(args.data)
    pick_split(faces, args.split, None)
    from emonb.models.evaluate import evaluate
    from emonb.models.zoo import load_model

    net = load_model(args.model)
    result = evaluate(net, faces, split=args.split)
    rep = result.report
    where = f"{faces.name}{' ' + args.split if args.split else ''}"
    print(f"{net.name} on {where} ({rep['n']:,} faces): accuracy {rep['accuracy']:.4f}, "
          f"macro-F1 {rep['macro_f1']:.4f}")  # fmt: skip
    print(result.table().round(3).to_string())
    if args.json:
        records.write_json({**result.to_json(), "provenance": records.provenance()}, args.json,
                           indent=2)  # fmt: skip
        print(f"wrote {args.json}")
    return 0
