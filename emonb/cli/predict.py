"""``emonb predict``: the emotion of the largest face in each image."""

from __future__ import annotations

import argparse
import json

from emonb.cli.argtypes import BATCH_RULE, add_inputs
from emonb.cli.batch import Batch, crop_note
from emonb.cli.checks import check_model
from emonb.errors import EmonbError


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("predict", help="classify the largest face in each image",
                       description=f"Classify the largest face in each image. {BATCH_RULE}")  # fmt: skip
    add_inputs(p, "classify")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    return p


def run(args: argparse.Namespace) -> int:
    check_model(args.model)
    batch = Batch(args.images, strict=args.strict)
    items = batch.read()  # every file read before the model loads
    if batch.stop:
        return 1
    from emonb.models.zoo import load_model
    from emonb.predict import classify_faces

    model = load_model(args.model)
    rows: dict[int, dict] = {}
    held: list[str] = []  # --strict: text lines printed once every image has succeeded
    for i, arg, _, image in items:
        try:
            preds = classify_faces(model, image, detect=not args.no_detect, largest_only=True,
                                   detector=args.detector)  # fmt: skip
            if not preds:
                raise EmonbError(f"{arg}: no face found by {args.detector} (use --no-detect to "
                                 "classify the whole image)")  # fmt: skip
        except EmonbError as err:
            batch.fail(i, err)
            continue
        p = preds[0]
        if not args.no_detect and p.box is None:
            crop_note(arg, image, model.spec.input_size)
        rows[i] = row(arg, p)
        if args.strict and not args.json:
            held.append(text(arg, p))
        elif not args.json:
            print(text(arg, p))
    if batch.stop:
        return 1
    for line in held:
        print(line)
    if args.json:
        print(json.dumps([rows[i] if i in rows else batch.failed_row(i)
                          for i in range(len(args.images))], indent=2))  # fmt: skip
    batch.summary(json=args.json)
    return 0


def row(arg: str, p) -> dict:
    """The JSON row of one image's prediction ``p`` (:class:`emonb.predict.FacePrediction`)."""
    return {
        "image": str(arg),
        "accepted": True,
        "face": None if p.box is None else list(p.box.as_tuple()),
        "emotion": p.emotion,
        "score": round(p.score, 4),
        "probabilities": {c: round(float(v), 4) for c, v in zip(p.class_names, p.proba, strict=True)},
    }  # fmt: skip


def text(arg: str, p) -> str:
    """The two text lines of one image's prediction."""
    where = "whole image" if p.box is None else "face at x={} y={} w={} h={}".format(*p.box.as_tuple())
    probs = "  ".join(f"{c} {v:.3f}" for c, v in zip(p.class_names, p.proba, strict=True))
    return f"{arg}: {p.emotion} ({p.score:.3f}; {where})\n    {probs}"
