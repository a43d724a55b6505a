"""The ``emonb`` command: fetch, predict, explain, landmarks, bench, train, evaluate,
evaluate-maps, video, book.

Every expected failure (bad input, missing file, checksum mismatch, failed chapter) is
one line on stderr, ``emonb: error: ...``, and a non-zero exit status (2 for a bad
argument, 1 for bad input); no traceback, and no output file left behind. Every command
checks its arguments, its output paths and its data before any costly work (loading a
model, training one): see ``tests/test_cli_fuzz.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from emonb import __version__, records
from emonb.errors import EmonbError

__all__ = ["main"]


def _fail(message: str, code: int = 1) -> int:
    print(f"emonb: error: {' '.join(message.split())}", file=sys.stderr)
    return code


def _note(message: str) -> None:
    """One line on stderr that says what emonb decided for the user (stdout may be JSON)."""
    print(f"emonb: note: {message}", file=sys.stderr)


class _Parser(argparse.ArgumentParser):
    """argparse with a usage error as one line, ``emonb: error: COMMAND: problem (see
    `emonb COMMAND --help`)``, exit status 2 (argparse prints the usage and the error)."""

    def error(self, message: str):
        command = self.prog.removeprefix("emonb").strip()
        where = f"{command}: " if command else ""
        self.exit(2, f"emonb: error: {where}{' '.join(message.split())} "
                     f"(see `emonb {command + ' ' if command else ''}--help`)\n")  # fmt: skip


def _whole(least: int, most: int | None = None, zero: bool = False) -> Callable[[str], int]:
    """An argparse type: a whole number >= ``least`` (and <= ``most``; 0 also allowed with
    ``zero``), so ``--n -3``, ``--n abc`` or ``--batch 0`` fail before any work."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text[:40]!r}") from None
        if value < least and not (zero and value == 0):
            raise argparse.ArgumentTypeError(
                f"must be {'0 or ' if zero else ''}at least {least}, got {value}"
            )
        if most is not None and value > most:
            raise argparse.ArgumentTypeError(f"must be at most {most}, got {value}")
        return value

    parse.__name__ = "whole number"
    return parse


def _seconds(text: str) -> float:
    """An argparse type: a number of seconds >= 0 (``--serve-linger``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text[:40]!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be 0 or more seconds, got {text[:40]}")
    return value


_seconds.__name__ = "seconds"


def _check_output(path: Path | None, what: str, *, folder: bool = False) -> None:
    """Fail now, before any work, if ``path`` (a file, or a ``folder``) cannot be written:
    a folder where a file goes or the reverse, or a parent that is a file or read-only."""
    if path is None:
        return
    if folder and path.exists() and not path.is_dir():
        raise EmonbError(f"{path}: is a file; {what} needs a folder")
    if not folder and (path.is_dir() or str(path).endswith(os.sep)):
        raise EmonbError(f"{path}: is a folder; {what} needs a file name")
    parent = path if folder else path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise EmonbError(f"{parent}: is a file, so {path} cannot be written ({what})")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise EmonbError(f"{parent}: not writable, so {path} cannot be written ({what})")


def _check_model(model: str) -> tuple[str, ...]:
    """The class names of the model ``--model`` names, checked without loading it (no
    TensorFlow): a manifest model, or a file whose sidecar, if any, is valid JSON. As
    :func:`emonb.models.zoo.load_model` decides them: the manifest's or the sidecar's
    ``class_names``, else FER-2013's (a model with another number of outputs then fails
    to load)."""
    from emonb.config import CLASS_NAMES
    from emonb.data.manifest import load_manifest

    manifest = load_manifest()
    if model in manifest and manifest[model].kind == "model":
        names = (manifest[model].model or {}).get("class_names")
        return tuple(names) if names else CLASS_NAMES
    path = Path(model).expanduser()
    if not path.is_file():
        valid = ", ".join(manifest.names("model"))
        raise EmonbError(f"{path}: no such model file (or use a model name: {valid})")
    side = path.with_name(path.name + ".emonb.json")  # emonb.models.zoo.SIDECAR_SUFFIX
    if not side.exists():
        return CLASS_NAMES
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
        names = meta.get("class_names") if isinstance(meta, dict) else None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise EmonbError(f"{side}: not valid JSON ({err})") from None
    if names is not None and (not isinstance(names, list) or not all(isinstance(n, str) for n in names)):
        raise EmonbError(f"{side}: 'class_names' must be a list of names")
    return tuple(names) if names else CLASS_NAMES


def _check_target(target: str, class_names: Sequence[str]) -> None:
    """``--target`` of ``emonb explain``: 'predicted', a class index or a class name (the
    rule of :func:`emonb.models.runner.resolve_targets`, checked before the model loads)."""
    last = len(class_names) - 1
    if target == "predicted" or target in class_names:
        return
    if target.lstrip("-").isdigit():
        if 0 <= int(target) <= last:
            return
        raise EmonbError(f"--target: class index {target} is out of range 0..{last}")
    raise EmonbError(f"--target: unknown class {target[:40]!r}; use an index 0..{last}, "
                     f"'predicted' or one of: {', '.join(class_names)}")  # fmt: skip


def _check_methods(names: Sequence[str]) -> None:
    """Every method name is registered (an error lists the valid ones)."""
    from emonb.methods import get_method

    for name in names:
        get_method(name)


def _method_list(text: str | None) -> list[str] | None:
    """A ``--methods a,b`` list (None: the command's default); an empty list is an error."""
    if text is None:
        return None
    names = [m.strip() for m in text.split(",") if m.strip()]
    if not names:
        raise EmonbError(f"--methods: no method names in {text!r}")
    return names


def _pick_split(faces, asked: str | None, default: str | None) -> str | None:
    """The split a command uses: ``asked`` (it must exist), else ``default`` (None: every
    row); data that holds a single split other than ``default`` uses that one, and says so."""
    have = faces.usages
    if asked is not None:
        if asked not in have:
            raise EmonbError(f"{faces.source}: no rows with usage {asked!r}; it has "
                             f"{', '.join(have)} (--split)")  # fmt: skip
        return asked
    if default is None or default in have:
        return default
    if len(have) == 1:
        _note(f"{faces.source} holds only {have[0]} faces: using them (--split {have[0]})")
        return have[0]
    raise EmonbError(f"{faces.source}: no {default} rows (the default --split); it has "
                     f"{', '.join(have)}: choose one with --split")  # fmt: skip


def _read_images(args_images: Sequence[str]) -> tuple[list, int]:
    """``([(arg, path, image)...], errors)``: every image read (not yet searched for faces),
    one error line per image that cannot be."""
    from emonb.data.images import read_image
    from emonb.data.manifest import image_path

    items, errors = [], 0
    for arg in args_images:
        try:
            path = image_path(arg)
            items.append((arg, path, read_image(path)))
        except EmonbError as err:
            errors += 1
            print(f"emonb: error: {' '.join(str(err).split())}", file=sys.stderr)
    return items, errors


def _crop_note(arg: str, image: np.ndarray, input_size: tuple[int, int]) -> None:
    h, w = image.shape[:2]
    _note(f"{arg}: {w}x{h}, about the model's input size ({input_size[1]}x{input_size[0]}): "
          "used whole as a face crop, no face detection")  # fmt: skip


def cmd_fetch(args: argparse.Namespace) -> int:
    from emonb.data.manifest import fetch

    _check_output(args.cache, "--cache", folder=True)
    t0 = time.perf_counter()
    paths = fetch(args.names or None, cache=args.cache, repair=True)
    print(f"{len(paths)} artifact(s) verified in {time.perf_counter() - t0:.1f} s")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    _check_model(args.model)
    items, errors = _read_images(args.images)  # every file read before the model loads
    if not items:
        return 1
    from emonb.models.zoo import load_model
    from emonb.predict import classify_faces

    model = load_model(args.model)
    results = []
    for arg, _, image in items:
        try:
            preds = classify_faces(model, image, detect=not args.no_detect, largest_only=True,
                                   detector=args.detector)  # fmt: skip
            if not preds:
                raise EmonbError(
                    f"{arg}: no face found by {args.detector} (use --no-detect to classify the "
                    "whole image)"
                )
        except EmonbError as err:
            errors += 1
            print(f"emonb: error: {err}", file=sys.stderr)
            continue
        if not args.no_detect and preds[0].box is None:
            _crop_note(arg, image, model.spec.input_size)
        p = preds[0]
        results.append({
            "image": str(arg),
            "face": None if p.box is None else list(p.box.as_tuple()),
            "emotion": p.emotion,
            "score": round(p.score, 4),
            "probabilities": {c: round(float(v), 4) for c, v in zip(p.class_names, p.proba, strict=True)},
        })  # fmt: skip
        if not args.json:
            where = (
                "whole image"
                if p.box is None
                else "face at x={} y={} w={} h={}".format(*p.box.as_tuple())
            )
            probs = "  ".join(f"{c} {v:.3f}" for c, v in zip(p.class_names, p.proba, strict=True))
            print(f"{arg}: {p.emotion} ({p.score:.3f}; {where})\n    {probs}")
    if args.json:
        print(json.dumps(results, indent=2))
    return 1 if errors else 0


def cmd_explain(args: argparse.Namespace) -> int:
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
    _check_output(args.out, "--out", folder=True)
    _check_target(args.target, _check_model(args.model))
    if args.filter is not None and args.method != "activation":
        raise EmonbError("--filter applies to the 'activation' method only")
    from emonb.methods import get_method, method_settings

    if args.layer is not None and not get_method(args.method).uses_layer:
        raise EmonbError(f"method {args.method!r} does not take a layer (--layer)")
    items, errors = _read_images(args.images)
    if errors:
        return 1
    from emonb.explain import explain_files, write_explanations
    from emonb.faces import is_face_crop
    from emonb.models.zoo import load_model

    net = load_model(args.model)
    if not args.no_detect:
        for arg, _, image in items:
            if is_face_crop(image.shape, net.spec.input_size):
                _crop_note(arg, image, net.spec.input_size)
    results = explain_files(net, [path for _, path, _ in items], args.method,
                            target=args.target, layer=args.layer, filter=args.filter,
                            detect=not args.no_detect, detector=args.detector,
                            options=method_settings(args.method))  # fmt: skip
    for path in write_explanations(results, args.method, args.out):
        print(path)
    return 0


def cmd_landmarks(args: argparse.Namespace) -> int:
    """The face mesh of every face (or, ``--no-detect``, of each whole image).

    Every image must give at least one face the mesh accepts: an image that cannot be read,
    has no detected face, or only faces the mesh rejects is one error line, the command
    then exits 1 after reporting every image and writes no file (``--json``, ``--out``);
    faces the mesh rejects beside accepted ones are kept in the JSON, flagged and counted.
    """
    from emonb.faces.mesh import FaceMesh

    _check_output(args.json, "--json")
    _check_output(args.out, "--out", folder=True)
    mesh = FaceMesh()  # a missing or corrupt model fails here, before any image
    items, errors = [], 0
    for arg in args.images:
        try:
            path, image, boxes, marks = _mesh_image(mesh, arg, args.no_detect, args.detector)
        except EmonbError as err:
            errors += 1
            print(f"emonb: error: {err}", file=sys.stderr)
            continue
        items.append((path, image, boxes, marks))
        how = "whole image" if args.no_detect else f"{len(boxes)} face(s) found by {args.detector}"
        print(f"{arg}: {how}, {int(marks.accepted.sum())} accepted by the face mesh")
    if errors:
        return 1
    doc = {"detector": None if args.no_detect else args.detector,
           "rejected": sum(m.rejected for *_, m in items),
           "images": [{"image": str(path), "width": int(im.shape[1]), "height": int(im.shape[0]),
                       "faces": [{"box": list(b.as_tuple()), **m.to_json(i)}
                                 for i, b in enumerate(boxes)]}
                      for path, im, boxes, m in items]}  # fmt: skip
    with records.json_writer(doc, args.json) as commit:  # the JSON is moved in place last
        if args.out is not None:
            written = _write_overlays(items, args.out)
        commit()
    if args.out is not None:
        print(f"wrote {len(written)} overlay(s) to {args.out}")
    if args.json is not None:
        print(f"wrote {args.json}")
    return 0


def _mesh_image(mesh, arg: str, whole: bool, detector: str):
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


def _draw_landmarks(image: np.ndarray, boxes, marks) -> np.ndarray:
    """BGR copy of ``image`` (RGB or grey) with each face's box and mesh points (green:
    accepted, red: rejected by the mesh), for ``emonb landmarks --out``."""
    import cv2

    bgr = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR if image.ndim == 2 else cv2.COLOR_RGB2BGR)
    r = max(1, round(max(bgr.shape[:2]) / 400))
    for i, b in enumerate(boxes):
        colour = (0, 200, 0) if marks.accepted[i] else (0, 0, 230)
        x, y, w, h = b.as_tuple()
        cv2.rectangle(bgr, (x, y), (x + w - 1, y + h - 1), colour, r)
        for px, py in marks.xy[i]:  # pixel centres: +0.5 in the mesh, integers in OpenCV
            cv2.circle(bgr, (round(px - 0.5), round(py - 0.5)), r, colour, -1, cv2.LINE_AA)
    return bgr


def _write_overlays(items, out: Path) -> list[Path]:
    """``<stem>_landmarks.png`` per image, all or nothing (written in a temporary folder
    inside ``out``, then moved)."""
    import cv2

    stems = [f"{Path(path).stem}_landmarks" for path, *_ in items]
    if len(set(stems)) != len(stems):
        raise EmonbError("two input images share a file name; their overlays would collide")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".emonb-landmarks-", dir=out) as tmp:
            for stem, (_, image, boxes, marks) in zip(stems, items, strict=True):
                if not cv2.imwrite(str(Path(tmp) / f"{stem}.png"),
                                   _draw_landmarks(image, boxes, marks)):  # fmt: skip
                    raise EmonbError(f"could not write {out / stem}.png")
            for stem in stems:
                os.replace(Path(tmp) / f"{stem}.png", out / f"{stem}.png")
    except OSError as err:
        raise EmonbError(f"{out}: cannot write the overlays ({err.strerror or err})") from err
    return [out / f"{stem}.png" for stem in stems]


def cmd_bench(args: argparse.Namespace) -> int:
    from emonb.data.fer2013 import load_faces

    _check_output(args.json, "--json")
    _check_model(args.model)
    methods = _method_list(args.methods)
    faces = load_faces(args.data, n_synthetic=max(args.batch, 70), seed=0)
    if args.batch > len(faces):
        raise EmonbError(f"--batch {args.batch} is more than the {len(faces)} faces of "
                         f"{faces.source}")  # fmt: skip
    _check_methods(methods or ())
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


def cmd_train(args: argparse.Namespace) -> int:
    from emonb import config
    from emonb.data.fer2013 import load_faces

    if args.out.suffix != ".keras":
        raise EmonbError(f"{args.out}: the model file must end in .keras")
    _check_output(args.out, "--out")
    faces = load_faces(args.data)
    faces.split("Training")  # the seed CNN trains on the Training rows
    from emonb.models.train import history_path, train, train_config

    cfg = train_config(args.epochs, quick=args.quick or config.is_quick(), seed=args.seed,
                       batch_size=args.batch_size, class_weight=args.class_weight)  # fmt: skip
    if faces.synthetic:
        print("note: training on the synthetic stand-in, not FER-2013")
    try:
        result = train(
            faces, args.out, cfg, restart=args.restart, log=lambda s: print(s, flush=True)
        )
    except KeyboardInterrupt:
        raise EmonbError(
            "interrupted; run the same command again to resume from the last finished epoch"
        ) from None
    h = result.history
    print(f"wrote {result.model_path} (best epoch {h['best_epoch']}, val accuracy "
          f"{h['best_val_accuracy']:.4f}; {h['epochs_run']} epochs, {h['seconds']:.0f} s of training)")  # fmt: skip
    print(f"history: {history_path(result.model_path)}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from emonb.data.fer2013 import load_faces

    _check_output(args.json, "--json")
    _check_model(args.model)
    faces = load_faces(args.data)
    _pick_split(faces, args.split, None)
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
                           indent=2)
        print(f"wrote {args.json}")
    return 0


def cmd_evaluate_maps(args: argparse.Namespace) -> int:
    from emonb import config
    from emonb.data.fer2013 import load_faces

    # arguments, output path and data are all checked before a model loads or trains
    _check_output(args.json, "--json")
    _check_model(args.model)
    if args.pointing_model not in (None, "none"):
        _check_model(args.pointing_model)
    methods = _method_list(args.methods)
    faces = load_faces(args.data)
    split = _pick_split(faces, args.split, "PublicTest")
    from emonb.methods import METHODS, method_settings
    from emonb.metrics.evaluate import (
        DEFAULT_METHODS,
        POINTING_FACES,
        QUICK_METHODS,
        evaluate_maps,
        method_factory,
    )
    from emonb.metrics.ranking import metric_columns
    from emonb.models.train import book_model
    from emonb.models.zoo import load_model

    for m in methods or ():
        method_factory(m)  # an unknown name is an error listing the valid ones
    quick = args.quick or config.is_quick()
    n = config.capped("faces", args.n, quick=quick)
    stages = config.capped("stages", args.stages, quick=quick)
    n_regions = config.capped("region_faces", args.n_regions, quick=quick)
    n_random = config.capped("random_faces", args.n_random, quick=quick)
    n_robust = config.capped("robust_faces", args.n_robust, quick=quick)
    n_road = config.capped("road_faces", args.n_road, quick=quick)
    n_pointing = config.capped("pointing_faces", args.n_pointing, quick=quick)
    settings = {m: method_settings(m, quick=quick) for m in METHODS}  # samples, steps, channels
    net = load_model(args.model)
    pointing_net = pointing_faces = None
    if args.pointing_model != "none":
        pointing_faces = load_faces("synthetic", n_synthetic=POINTING_FACES, seed=args.seed)
        path = args.pointing_model or book_model(pointing_faces, seed=args.seed, quick=quick)
        pointing_net = load_model(path)
    t0 = time.perf_counter()
    result = evaluate_maps(
        net, faces, methods=methods or (QUICK_METHODS if quick else DEFAULT_METHODS),
        method_settings=settings, n=n, split=split, pointing_net=pointing_net,
        pointing_faces=pointing_faces, steps=args.steps, baseline=args.baseline, stages=stages,
        n_random=n_random, n_regions=n_regions, seed=args.seed, regions=args.regions,
        n_robust=n_robust, sensitivity_samples=args.sensitivity_samples,
        correlation_runs=args.correlation_runs, n_pointing=n_pointing, n_road=n_road,
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    s = result.settings
    print(f"\n{net.name} on {s['n']:,} {faces.name} faces ({s['split'] or 'all rows'}; "
          f"accuracy {s['accuracy']:.3f}), {seconds:.0f} s")  # fmt: skip
    cols = ["insertion - deletion", "lo", "hi", "deletion AUC", "insertion AUC",
            "randomization spearman (top)", "randomization spearman (mean)",
            "randomization ssim (mean)", "pointing game (synthetic)"]  # fmt: skip
    print(result.table[[c for c in cols if c in result.table]].round(3).to_string())
    print("\nmore metrics (mean [95% interval]; higher is better for ROAD, faithfulness correlation "
          "and sparseness, lower for max-sensitivity, random-logit and complexity):")
    print(metric_columns(result.table).to_string())
    if result.agreement is not None:
        print("\nagreement of the metrics' rankings (Spearman over methods, higher-is-better "
              "oriented):")  # fmt: skip
        print(result.agreement.round(2).to_string())
    if pointing_net is not None:
        print(f"pointing game: {pointing_net.name} on the synthetic stand-in's PublicTest faces "
              f"(accuracy {s['pointing_accuracy']:.3f}; the cue covers "
              f"{result.pointing.attrs['cue area']:.0%} of a face)")  # fmt: skip
    where = ("each face's own regions (face mesh)" if s["regions"] == "mesh"
             else "the canonical 48x48 boxes")  # fmt: skip
    print(f"\nclaims (region A > region B for faces predicted as the emotion; "
          f"{s['region_faces']:,} faces; {where}):")  # fmt: skip
    print(result.claims.round(3).to_string(index=False))
    if result.changes is not None:
        print(f"\nmesh: {s['mesh_rejected']} of {s['mesh_faces']:,} faces rejected (left out); "
              f"verdicts that differ with the canonical boxes: {len(result.changes) or 'none'}")  # fmt: skip
        if len(result.changes):
            print(result.changes.round(3).to_string(index=False))
    if result.au is not None:
        a = result.au.agreement
        keep = (a["grouping"] == "predicted") & a["evidence"].isin(["occlusion", s["region_method"]])
        print(f"\nFACS agreement ({result.au.summary()}; by prediction):")
        print(a[keep].round(3).to_string(index=False))
    if args.json:
        doc = dict(result.to_json(), wall_seconds=seconds, provenance=records.provenance())
        print(f"wrote {records.write_json(doc, args.json, indent=2)}")
    return 0


def _serve_usage(args: argparse.Namespace) -> str | None:
    """What is wrong with ``video``'s ``--serve``, ``--host``, ``--allow-remote`` and
    ``--serve-linger`` together (a usage error), or None."""
    from emonb.video.serve import check_host

    if args.serve is None:
        options = (("--host", args.host), ("--serve-linger", args.serve_linger),
                   ("--allow-remote", args.allow_remote or None))  # fmt: skip
        given = [name for name, value in options if value is not None]
        verb = "apply" if len(given) > 1 else "applies"
        return f"{' and '.join(given)} {verb} only with --serve" if given else None
    try:
        check_host(args.host or "127.0.0.1", allow_remote=args.allow_remote)
    except EmonbError as err:
        return str(err)
    return None


@contextmanager
def _preview(args: argparse.Namespace) -> Iterator:
    """``video --serve``: the live preview (:class:`emonb.video.serve.PreviewServer`), bound
    at once (a port in use fails before the model loads) and closed on leaving: when the
    source has ended (after :func:`_linger`), on Ctrl-C or on an error. None without
    ``--serve``."""
    if args.serve is None:
        yield None
        return
    from emonb.video.serve import PreviewServer

    with PreviewServer(args.host or "127.0.0.1", args.serve,
                       allow_remote=args.allow_remote) as server:  # fmt: skip
        print(f"serving the live preview at {server.url} (Ctrl-C stops)", file=sys.stderr)
        yield server


def _linger(server, seconds: float | None) -> None:
    """The source has ended: the page says so and keeps the last frame; keep serving it for
    ``seconds`` (``--serve-linger``; Ctrl-C cuts it short)."""
    server.end()
    if seconds:
        _note(f"the source has ended; the preview stays up {seconds:g} s (Ctrl-C stops)")
        try:
            time.sleep(seconds)
        except KeyboardInterrupt:
            pass


def cmd_video(args: argparse.Namespace) -> int:
    from emonb import config

    config.video_threads()  # before anything imports TensorFlow

    if (usage := _serve_usage(args)) is not None:
        return _fail(f"video: {usage} (see `emonb video --help`)", 2)
    _check_output(args.out, "--out")
    _check_output(args.json, "--json")
    _check_output(args.export_faces, "--export-faces", folder=True)
    _check_model(args.model)
    if args.method != "none":
        _check_methods([args.method])
    from emonb.video.io import encoder_for, open_video, write_json

    open_video(args.input)[0].release()  # a bad input fails before the model loads
    if args.out is not None:
        encoder_for(args.out)  # so does an --out suffix with no video codec
    with _preview(args) as server:  # --serve: bound now, before the model loads
        from emonb.models.zoo import load_model
        from emonb.video.pipeline import analyse_video

        net = load_model(args.model)
        if server is not None:
            server.class_names = net.class_names
        max_frames = config.capped("frames", args.max_frames)
        result = analyse_video(
            args.input, net, out=args.out, method=args.method, max_frames=max_frames,
            export_faces=args.export_faces, export_every=args.export_every,
            progress=not args.no_progress, detect_width=args.detect_width or None,
            min_face=args.min_face, window=args.window, patience=args.patience,
            detector=args.detector, landmarks=not args.no_landmarks, overlay=args.overlay,
            on_frame=None if server is None else server.publish,
        )  # fmt: skip
        if server is not None and not result.interrupted:
            _linger(server, args.serve_linger)  # not after Ctrl-C: that closes it at once
    ms = result.timings_ms()
    print(f"{result.frames} frames of {result.source} ({result.width}x{result.height}), "
          f"{len(result.faces)} faces; {result.fps:.1f} frames/s "
          f"(warm-up {result.warmup_seconds:.1f} s not counted)")  # fmt: skip
    print("ms per frame: " + ", ".join(f"{k} {v:.1f}" for k, v in ms.items()))
    print(result.mesh_summary())
    labels = np.bincount([f.label for f in result.faces], minlength=len(net.class_names))
    print("smoothed labels: " + ", ".join(
        f"{c} {n}" for c, n in zip(net.class_names, labels, strict=True) if n))  # fmt: skip
    if args.out:
        print(f"wrote {args.out}")
    if args.export_faces:
        print(f"exported {result.exported} face patches to {args.export_faces} (index.csv)")
    if args.json:
        print(f"wrote {write_json(result, args.json)}")
    if result.stopped:  # a fault or Ctrl-C: everything above holds the frames before it
        print(f"emonb: video: {result.stopped}; wrote the {result.frames} frames before it",
              file=sys.stderr)  # fmt: skip
        return 130 if result.interrupted else 1
    return 0


def _parse_value(text: str):
    """A ``-p`` value: YAML scalar/list parsing, so 3 -> int, true -> bool, 'a' -> str."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def cmd_book(args: argparse.Namespace) -> int:
    from emonb.book.build import build_book

    if args.root is not None and not args.root.is_dir():
        raise EmonbError(f"{args.root}: no such folder (--root)")
    params = {k: _parse_value(v) for k, v in args.param}
    build_book(args.root, quick=args.quick, parameters=params, only=args.chapter,
               html=not args.no_html, jobs=args.jobs)  # fmt: skip
    return 0


def _add_model(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="mini-xception",
                   help="model name or .keras/.h5 path (default: mini-xception)")  # fmt: skip


def _add_data(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default=None,
                   help="FER-2013 .csv, folder or .npz, or 'synthetic' (default: $EMONB_FER2013, else the stand-in)")  # fmt: skip


def _add_detector(p: argparse.ArgumentParser) -> None:
    """--detector, for every command that finds faces (:func:`emonb.faces.find_faces`)."""
    from emonb.faces import DEFAULT_DETECTOR, DETECTORS

    p.add_argument("--detector", choices=DETECTORS, default=DEFAULT_DETECTOR,
                   help=f"face detector (default {DEFAULT_DETECTOR})")  # fmt: skip


def _add_inputs(p: argparse.ArgumentParser, verb: str, nargs: str = "+", model: bool = True) -> None:
    """IMAGE..., --model, --no-detect and --detector, shared by predict, explain and
    landmarks (which takes no model)."""
    p.add_argument(
        "images", nargs=nargs, metavar="IMAGE", help="image files (or manifest image names)"
    )
    if model:
        _add_model(p)
    p.add_argument(
        "--no-detect", action="store_true", help=f"{verb} the whole image, no face detection"
    )
    _add_detector(p)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="emonb", description="What a facial-emotion CNN sees.")
    parser.add_argument("--version", action="version", version=f"emonb {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("fetch", help="download and verify the manifest's artifacts into the cache")
    p.add_argument("names", nargs="*", metavar="NAME", help="artifact names (default: all)")
    p.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="cache folder (default: $EMONB_CACHE_DIR or user cache)",
    )
    p.set_defaults(func=cmd_fetch)

    p = sub.add_parser("predict", help="classify the largest face in each image")
    _add_inputs(p, "classify")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser(
        "explain", help="write explanation maps (.npy) and overlays (.png) per image"
    )
    _add_inputs(p, "explain", nargs="*")
    p.add_argument("--list", action="store_true", help="print the registered method names and exit")
    p.add_argument("--method", help="method name (see --list)")
    p.add_argument(
        "--target", default="predicted", help="class name, index or 'predicted' (default)"
    )
    p.add_argument(
        "--layer", default=None, help="layer name for layer-based methods (default: last conv)"
    )
    p.add_argument(
        "--filter", type=_whole(0), default=None, help="one filter of --layer (method 'activation')"
    )
    p.add_argument("--out", type=Path, default=None, help="output folder")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("landmarks",
                       help="the 468-point face mesh of every face (MediaPipe order, image pixels)")  # fmt: skip
    _add_inputs(p, "mesh", model=False)
    p.add_argument("--json", type=Path, default=None,
                   help="write boxes, presence scores and points of every face as JSON")  # fmt: skip
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="write an overlay per image, DIR/<stem>_landmarks.png")  # fmt: skip
    p.set_defaults(func=cmd_landmarks)

    p = sub.add_parser(
        "bench", help="images per second of every method (and tf-keras-vis where comparable)"
    )
    _add_model(p)
    p.add_argument(
        "--data",
        default=None,
        help="faces to use (FER-2013 path; default $EMONB_FER2013 or stand-in)",
    )
    p.add_argument("--batch", type=_whole(1, 4096), default=64,
                   help="images per timed call, at most 4096 (default 64)")  # fmt: skip
    p.add_argument("--repeat", type=_whole(1), default=5, help="timed repeats, best kept (default 5)")
    p.add_argument("--methods", default=None, help="comma-separated method names (default: all)")
    p.add_argument("--no-compare", action="store_true", help="skip tf-keras-vis even if installed")
    p.add_argument("--json", type=Path, default=None, help="write the results as JSON")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser(
        "train", help="train the seed CNN (resumes an interrupted run from its checkpoint)"
    )
    p.add_argument("--data", required=True,
                   help="FER-2013 .csv, image folder or .npz ('synthetic': the stand-in)")  # fmt: skip
    p.add_argument("--out", type=Path, required=True, help="model file to write (.keras)")
    p.add_argument("--epochs", type=_whole(1), default=30, help="epochs (default 30)")
    p.add_argument("--quick", action="store_true",
                   help="at most 2 epochs on 2,000 faces (a pipeline check, as CI runs it)")  # fmt: skip
    p.add_argument(
        "--seed", type=_whole(0), default=0, help="seed of weights, dropout, split, augmentation"
    )
    p.add_argument("--batch-size", type=_whole(1), default=64, help="batch size (default 64)")
    p.add_argument("--class-weight", choices=("none", "sqrt", "balanced"), default="sqrt",
                   help="class weights in the loss (default sqrt; see chapter 01)")  # fmt: skip
    p.add_argument("--restart", action="store_true", help="discard an existing checkpoint")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="accuracy, macro-F1, per-class report and confusion matrix")
    _add_data(p)
    _add_model(p)
    p.add_argument("--split", default=None,
                   help="usage to evaluate (Training, PublicTest, ...; default: all rows)")  # fmt: skip
    p.add_argument("--json", type=Path, default=None, help="write the full report as JSON")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("evaluate-maps",
                       help="score explanation maps: deletion/insertion, ROAD, faithfulness "
                            "correlation, max-sensitivity, random-logit, sparseness, complexity, "
                            "randomization, pointing game, face regions")  # fmt: skip
    _add_data(p)
    _add_model(p)
    p.add_argument("--methods", default=None,
                   help="comma-separated method names (default: every class-specific method but cam; "
                        "'random' and 'centre' reference maps are always added)")  # fmt: skip
    p.add_argument("--n", type=_whole(1), default=500,
                   help="faces, a stratified sample (default 500)")  # fmt: skip
    p.add_argument("--split", default=None,
                   help="usage to sample (default PublicTest, or the data's only usage)")  # fmt: skip
    p.add_argument("--steps", type=_whole(2), default=16,
                   help="deletion/insertion steps (default 16)")  # fmt: skip
    p.add_argument("--baseline", choices=("blur", "mean"), default="blur",
                   help="what replaces a removed pixel (default blur)")  # fmt: skip
    p.add_argument("--stages", type=_whole(1), default=6,
                   help="cascading randomization stages, top layer down (default 6)")  # fmt: skip
    p.add_argument("--n-random", type=_whole(1), default=16,
                   help="faces in the randomization check (default 16)")  # fmt: skip
    p.add_argument("--n-regions", type=_whole(1), default=None,
                   help="faces in the face-region analysis (default: every face of --split)")  # fmt: skip
    p.add_argument("--pointing-model", default=None,
                   help="model trained on the synthetic stand-in for the pointing game (default: "
                        "chapter 01's, trained if missing; 'none' skips the pointing game)")  # fmt: skip
    p.add_argument("--n-road", type=_whole(1), default=100,
                   help="faces of the sample scored by ROAD (default 100)")  # fmt: skip
    p.add_argument("--n-robust", type=_whole(1), default=16,
                   help="faces explained again for max-sensitivity and random-logit (default 16)")  # fmt: skip
    p.add_argument("--sensitivity-samples", type=_whole(1), default=5,
                   help="noisy copies per face for max-sensitivity (default 5)")  # fmt: skip
    p.add_argument("--correlation-runs", type=_whole(2), default=50,
                   help="random pixel subsets for faithfulness correlation (default 50)")  # fmt: skip
    p.add_argument("--n-pointing", type=_whole(1), default=100,
                   help="stand-in faces in the pointing game (default 100, at most --n)")  # fmt: skip
    p.add_argument("--regions", choices=("mesh", "canonical"), default="mesh",
                   help="face regions: each face's own, from the face mesh (default; with the "
                        "canonical boxes as a comparison, and evidence per FACS action unit), or "
                        "the canonical 48x48 boxes only")  # fmt: skip
    p.add_argument("--seed", type=_whole(0), default=0, help="seed of the sample and the references")
    p.add_argument("--quick", action="store_true",
                   help="one method per family unless --methods names them (QUICK_METHODS), at "
                        "most 48 faces (96 for regions, 24 for ROAD, 8 for randomization and "
                        "robustness), 2 stages and the methods' quick iterations (a pipeline "
                        "check, as CI runs it)")  # fmt: skip
    p.add_argument("--json", type=Path, default=None, help="write every result as JSON")
    p.set_defaults(func=cmd_evaluate_maps)

    p = sub.add_parser("video", help="detect, classify and explain the faces of a video or camera")
    p.add_argument("input", metavar="INPUT",
                   help="video file, manifest video name (pexels-video) or camera index (0)")  # fmt: skip
    p.add_argument("--out", type=Path, default=None,
                   help="annotated video to write (.mp4: H.264, .webm: VP9)")  # fmt: skip
    _add_model(p)
    p.add_argument("--method", default="gradcam",
                   help="map overlaid on each face (default gradcam; 'none' for boxes only)")  # fmt: skip
    p.add_argument("--export-faces", type=Path, default=None, metavar="DIR",
                   help="save face patches as DIR/<emotion>/*.png with DIR/index.csv")  # fmt: skip
    p.add_argument("--export-every", type=_whole(1), default=1, metavar="N",
                   help="export every N-th frame's faces (default 1)")  # fmt: skip
    p.add_argument("--json", type=Path, default=None,
                   help="write per-frame detections, probabilities and timings as JSON")  # fmt: skip
    p.add_argument("--max-frames", type=_whole(1), default=None, help="stop after this many frames")
    _add_detector(p)
    p.add_argument("--detect-width", type=_whole(24, zero=True), default=320,
                   help="width at which Haar searches frames for faces (0: full size; default 320)")  # fmt: skip
    p.add_argument("--min-face", type=_whole(1), default=60,
                   help="smallest face side in frame pixels (default 60)")  # fmt: skip
    p.add_argument("--window", type=_whole(1), default=5,
                   help="frames averaged by the label smoothing (default 5)")  # fmt: skip
    p.add_argument("--patience", type=_whole(0), default=6,
                   help="frames a new emotion must lead before the label switches (default 6)")  # fmt: skip
    p.add_argument("--no-landmarks", action="store_true",
                   help="no face mesh and no action-unit analysis (faster)")  # fmt: skip
    p.add_argument("--overlay", choices=("au", "mesh", "both", "none"), default="au",
                   help="what the mesh adds to each face: the outline of the action unit with "
                        "the most evidence (default), the 468 points, both, or nothing")  # fmt: skip
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--serve", nargs="?", const=8765, type=_whole(1, 65535, zero=True),
                   default=None, metavar="PORT",
                   help="show the annotated frames and the emotion bars live in a browser at "
                        "http://HOST:PORT/ (default port 8765; 0: any free port) until the "
                        "source ends or Ctrl-C")  # fmt: skip
    p.add_argument("--host", default=None, metavar="ADDR",
                   help="address --serve listens on (default 127.0.0.1: this machine "
                        "only)")  # fmt: skip
    p.add_argument("--allow-remote", action="store_true",
                   help="let --host be an address other machines reach (no "
                        "authentication)")  # fmt: skip
    p.add_argument("--serve-linger", type=_seconds, default=None, metavar="SECONDS",
                   help="keep the preview up this long after the source ends (default "
                        "0)")  # fmt: skip
    p.set_defaults(func=cmd_video)

    p = sub.add_parser("book", help="execute every chapter with papermill and build the HTML book")
    p.add_argument(
        "--quick", action="store_true", help="cap every iterative step (EMONB_QUICK=1), as CI does"
    )
    p.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="set a chapter parameter (passed to every chapter that declares it)")  # fmt: skip
    p.add_argument(
        "--chapter", action="append", metavar="NAME", help="execute only this chapter (repeatable)"
    )
    p.add_argument(
        "--no-html", action="store_true", help="execute chapters but skip jupyter-book build"
    )
    p.add_argument(
        "--root", type=Path, default=None, help="project root (default: found from the cwd)"
    )
    p.add_argument("--jobs", type=_whole(1), default=None,
                   help="chapters executed side by side (default: one per CPU core, at most 2)")  # fmt: skip
    p.set_defaults(func=cmd_book)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except EmonbError as err:
        return _fail(str(err))
    except OSError as err:  # the machine's: permissions, a full disk, a vanished file
        where = f"{err.filename}: " if err.filename else ""
        return _fail(f"{where}{err.strerror or err}")
    except MemoryError:
        return _fail("out of memory")
    except KeyboardInterrupt:
        return _fail("interrupted", 130)


if __name__ == "__main__":
    sys.exit(main())
