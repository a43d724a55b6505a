"""``emonb explain``: an explanation map (.npy) and its overlay (.png) per image."""

from __future__ import annotations

import argparse
from pathlib import Path

from emonb.cli.argtypes import BATCH_RULE, add_inputs, whole
from emonb.cli.batch import Batch, crop_note
from emonb.cli.checks import check_model, check_output, check_target
from emonb.errors import EmonbError


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("explain", help="write explanation maps (.npy) and overlays (.png) per image",
                       description="Write an explanation map (.npy) and its overlay (.png) per "
                                   f"image into --out. {BATCH_RULE}")  # fmt: skip
    add_inputs(p, "explain", nargs="*")
    p.add_argument("--list", action="store_true", help="print the registered method names and exit")
    p.add_argument("--method", help="method name (see --list)")
    p.add_argument("--target", default="predicted",
                   help="class name, index or 'predicted' (default)")  # fmt: skip
    p.add_argument("--layer", default=None,
                   help="layer name for layer-based methods (default: the model's CAM layer, "
                        "recorded with it, else the deepest spatial convolution that is not "
                        "a class-per-channel head)")  # fmt: skip
    p.add_argument("--filter", type=whole(0), default=None,
                   help="one filter of --layer (method 'activation')")  # fmt: skip
    p.add_argument("--out", type=Path, default=None, help="output folder")
    return p


def run(args: argparse.Namespace) -> int:
    if args.list:
        from emonb.methods import METHODS

        print("\n".join(METHODS))
        return 0
    if not args.images:
        raise EmonbError("give at least one IMAGE (or --list)")
    if not args.method:
        raise EmonbError("--method is required (`emonb explain --list` names them)")
    if args.out is None:
        raise EmonbError("--out DIR is required")
    # every argument is checked before an image is read or the model loads
    check_output(args.out, "--out", folder=True)
    check_target(args.target, check_model(args.model))
    if args.filter is not None and args.method != "activation":
        raise EmonbError("--filter applies to the 'activation' method only")
    from emonb.methods import get_method, method_settings

    if args.layer is not None and not get_method(args.method).uses_layer:
        raise EmonbError(f"method {args.method!r} does not take a layer (--layer)")
    batch = Batch(args.images, strict=args.strict)
    items = batch.read()
    if batch.stop:
        return 1
    from emonb.explain import explain_faces, face_of, write_explanations
    from emonb.faces import is_face_crop
    from emonb.models.zoo import load_model

    net = load_model(args.model)
    paths, faces = [], []
    for i, arg, path, image in items:
        if not args.no_detect and is_face_crop(image.shape, net.spec.input_size):
            crop_note(arg, image, net.spec.input_size)
        try:  # the face each image gives, by explain_files' own rule
            faces.append(face_of(image, not args.no_detect, args.detector, net.spec.input_size,
                                 name=str(path)))  # fmt: skip
        except EmonbError as err:
            batch.fail(i, err)
            continue
        paths.append(path)
    if batch.stop:
        return 1
    results = explain_faces(net, paths, faces, args.method, target=args.target, layer=args.layer,
                            filter=args.filter, options=method_settings(args.method))  # fmt: skip
    for path in write_explanations(results, args.method, args.out):
        print(path)
    batch.summary()
    return 0
