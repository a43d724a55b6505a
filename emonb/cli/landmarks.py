"""``emonb landmarks``: the 468-point face mesh of every face (or of each whole image)."""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from emonb import records
from emonb.cli.argtypes import BATCH_RULE, add_inputs
from emonb.cli.batch import Batch
from emonb.cli.checks import check_output
from emonb.errors import EmonbError


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("landmarks",
                       help="the 468-point face mesh of every face (MediaPipe order, image pixels)",
                       description="The 468-point face mesh of every face (MediaPipe order, image "
                                   "pixels). An image with no detected face, or only faces the "
                                   "mesh rejects, fails; faces the mesh rejects beside accepted "
                                   f"ones are kept in the JSON, flagged and counted. {BATCH_RULE}")  # fmt: skip
    add_inputs(p, "mesh", model=False)
    p.add_argument("--json", type=Path, default=None,
                   help="write boxes, presence scores, points and action-unit activity "
                        "(z-scores against FER-2013's Training faces) of every face as JSON")  # fmt: skip
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="write an overlay per image, DIR/<stem>_landmarks.png")  # fmt: skip
    return p


def run(args: argparse.Namespace) -> int:
    from emonb.faces.mesh import FaceMesh

    check_output(args.json, "--json")
    check_output(args.out, "--out", folder=True)
    mesh = FaceMesh()  # a missing or corrupt model fails here, before any image
    batch = Batch(args.images, strict=args.strict)
    items: dict[int, tuple] = {}
    for i, arg in enumerate(args.images):
        try:
            items[i] = mesh_image(mesh, arg, args.no_detect, args.detector)
        except EmonbError as err:
            batch.fail(i, err)
            continue
        boxes, marks = items[i][2:]
        how = "whole image" if args.no_detect else f"{len(boxes)} face(s) found by {args.detector}"
        print(f"{arg}: {how}, {int(marks.accepted.sum())} accepted by the face mesh")
    if batch.stop:
        return 1
    from emonb.anatomy.activity import reference_activity

    reference = reference_activity()
    doc = {"detector": None if args.no_detect else args.detector,
           "rejected": sum(m.rejected for *_, m in items.values()),
           "au_activity_reference": {"faces": reference.n_fit_, "eyes": reference.eyes,
                                     "file": "emonb/anatomy/au_reference.json"},
           "images": [image_row(*items[i], reference) if i in items else batch.failed_row(i)
                      for i in range(len(args.images))]}  # fmt: skip
    with records.json_writer(doc, args.json) as commit:  # the JSON is moved in place last
        if args.out is not None:
            written = write_overlays(list(items.values()), args.out)
        commit()
    if args.out is not None:
        print(f"wrote {len(written)} overlay(s) to {args.out}")
    if args.json is not None:
        print(f"wrote {args.json}")
    batch.summary(json=args.json is not None)
    return 0


def image_row(path, image, boxes, marks, reference) -> dict:
    """The JSON row of one image: its size and every face's box, presence, points and
    ``au_activity`` (AU -> z-score against ``reference``, an
    :class:`~emonb.anatomy.activity.AUActivity`; None for a face the mesh rejects)."""
    z = reference.transform(marks.xy)
    activity = [dict(zip(reference.names, map(float, z[i]), strict=True)) if ok else None
                for i, ok in enumerate(marks.accepted)]  # fmt: skip
    return {"image": str(path), "accepted": True,
            "width": int(image.shape[1]), "height": int(image.shape[0]),
            "faces": [{"box": list(b.as_tuple()), **marks.to_json(i), "au_activity": activity[i]}
                      for i, b in enumerate(boxes)]}  # fmt: skip


def mesh_image(mesh, arg: str, whole: bool, detector: str):
    """``(path, image, boxes, landmarks)`` of one ``emonb landmarks`` input; an image with
    no face the mesh accepts is an error."""
    from emonb.data.images import read_image
    from emonb.data.manifest import image_path
    from emonb.faces import Box, find_faces

    path = image_path(arg)
    image = read_image(path)
    h, w = image.shape[:2]
    boxes = [Box(0, 0, w, h)] if whole else find_faces(image, detector=detector)
    if not boxes:
        raise EmonbError(f"{arg}: no face found by {detector} "
                         "(use --no-detect to mesh the whole image)")  # fmt: skip
    marks = mesh.landmarks([image] * len(boxes), boxes)
    if not marks.accepted.any():
        where = "the whole image" if whole else f"any of {len(boxes)} face box(es)"
        raise EmonbError(f"{arg}: the face mesh finds no face in {where} (presence "
                         f"{marks.presence.max():.2f} < {mesh.min_presence:g})")  # fmt: skip
    return path, image, boxes, marks


def write_overlays(items, out: Path) -> list[Path]:
    """``<stem>_landmarks.png`` per image (:func:`emonb.faces.draw.draw_landmarks`), all or
    nothing (written in a temporary folder inside ``out``, then moved)."""
    import cv2

    from emonb.faces.draw import draw_landmarks

    stems = [f"{Path(path).stem}_landmarks" for path, *_ in items]
    if len(set(stems)) != len(stems):
        raise EmonbError("two input images share a file name; their overlays would collide")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".emonb-landmarks-", dir=out) as tmp:
            for stem, (_, image, boxes, marks) in zip(stems, items, strict=True):
                if not cv2.imwrite(str(Path(tmp) / f"{stem}.png"),
                                   draw_landmarks(image, boxes, marks)):  # fmt: skip
                    raise EmonbError(f"could not write {out / stem}.png")
            for stem in stems:
                os.replace(Path(tmp) / f"{stem}.png", out / f"{stem}.png")
    except OSError as err:
        raise EmonbError(f"{out}: cannot write the overlays ({err.strerror or err})") from err
    return [out / f"{stem}.png" for stem in stems]
