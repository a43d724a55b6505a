"""The ``emonb`` command: fetch, predict, explain, bench, train, evaluate, evaluate-maps, video,
book.

Every expected failure (bad input, missing file, checksum mismatch, failed chapter) is
one line on stderr, ``emonb: error: ...``, and a non-zero exit status; no traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from emonb import __version__
from emonb.errors import EmonbError

__all__ = ["main"]


def _fail(message: str, code: int = 1) -> int:
    print(f"emonb: error: {message}", file=sys.stderr)
    return code


def cmd_fetch(args: argparse.Namespace) -> int:
    from emonb.data.manifest import fetch

    t0 = time.perf_counter()
    paths = fetch(args.names or None, cache=args.cache)
    print(f"{len(paths)} artifact(s) verified in {time.perf_counter() - t0:.1f} s")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from emonb.data.images import read_image
    from emonb.data.manifest import image_path
    from emonb.models.zoo import load_model
    from emonb.predict import classify_faces

    model = load_model(args.model)
    results, errors = [], 0
    for arg in args.images:
        try:
            preds = classify_faces(
                model, read_image(image_path(arg)), detect=not args.no_detect, largest_only=True
            )
            if not preds:
                raise EmonbError(
                    f"{arg}: no face found (use --no-detect to classify the whole image)"
                )
        except EmonbError as err:
            errors += 1
            print(f"emonb: error: {err}", file=sys.stderr)
            continue
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
    from emonb.methods import METHODS

    if args.list:
        print("\n".join(METHODS))
        return 0
    if not args.images:
        raise EmonbError("give at least one IMAGE (or --list)")
    if not args.method:
        raise EmonbError(f"--method is required; choose one of: {', '.join(METHODS)}")
    if args.out is None:
        raise EmonbError("--out DIR is required")
    from emonb.data.manifest import image_path
    from emonb.explain import explain_files, write_explanations
    from emonb.methods import get_method, method_settings
    from emonb.models.zoo import load_model

    get_method(args.method)  # fail fast, before loading anything
    net = load_model(args.model)
    paths = [image_path(a) for a in args.images]
    results = explain_files(net, paths, args.method, target=args.target, layer=args.layer,
                            filter=args.filter, detect=not args.no_detect,
                            options=method_settings(args.method))  # fmt: skip
    for path in write_explanations(results, args.method, args.out):
        print(path)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from emonb.bench import format_table, run_benchmark, save
    from emonb.data.fer2013 import load_faces
    from emonb.models.zoo import load_model

    net = load_model(args.model)
    faces = load_faces(args.data, n_synthetic=max(args.batch, 70), seed=0)
    images = faces.images[np.random.default_rng(0).choice(len(faces), args.batch, replace=False)]
    methods = args.methods.split(",") if args.methods else None
    print(f"benchmark: {net.name}, batch {args.batch} of {faces.name} faces, best of {args.repeat}")
    from emonb.methods import METHODS, method_settings

    settings = {m: method_settings(m) for m in METHODS}  # quick mode applies here
    result = run_benchmark(net, images, methods=methods, repeat=args.repeat,
                           compare=not args.no_compare, settings=settings)  # fmt: skip
    result["data"] = faces.name
    print()
    print(format_table(result))
    if args.json:
        print(f"wrote {save(result, args.json)}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from emonb import config
    from emonb.data.fer2013 import load_faces
    from emonb.models.train import history_path, train, train_config

    cfg = train_config(args.epochs, quick=args.quick or config.is_quick(), seed=args.seed,
                       batch_size=args.batch_size, class_weight=args.class_weight)  # fmt: skip
    faces = load_faces(args.data)
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
    from emonb.models.evaluate import evaluate
    from emonb.models.zoo import load_model

    faces = load_faces(args.data)
    net = load_model(args.model)
    result = evaluate(net, faces, split=args.split)
    rep = result.report
    where = f"{faces.name}{' ' + args.split if args.split else ''}"
    print(f"{net.name} on {where} ({rep['n']:,} faces): accuracy {rep['accuracy']:.4f}, "
          f"macro-F1 {rep['macro_f1']:.4f}")  # fmt: skip
    print(result.table().round(3).to_string())
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result.to_json(), indent=1), encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


def cmd_evaluate_maps(args: argparse.Namespace) -> int:
    from emonb import config
    from emonb.data.fer2013 import load_faces
    from emonb.methods import METHODS, method_settings
    from emonb.metrics.evaluate import (
        DEFAULT_METHODS,
        POINTING_FACES,
        evaluate_maps,
        method_factory,
    )
    from emonb.models.train import book_model
    from emonb.models.zoo import load_model

    quick = args.quick or config.is_quick()
    n = config.capped("faces", args.n, quick=quick)
    stages = config.capped("stages", args.stages, quick=quick)
    n_regions = config.capped("region_faces", args.n_regions, quick=quick)
    settings = {m: method_settings(m, quick=quick) for m in METHODS}  # samples, steps, channels
    methods = [m.strip() for m in args.methods.split(",") if m.strip()] if args.methods else None
    for m in methods or ():
        method_factory(m)  # an unknown name is an error listing the valid ones
    faces = load_faces(args.data)
    net = load_model(args.model)
    pointing_net = pointing_faces = None
    if args.pointing_model != "none":
        pointing_faces = load_faces("synthetic", n_synthetic=POINTING_FACES, seed=args.seed)
        path = args.pointing_model or book_model(pointing_faces, seed=args.seed, quick=quick)
        pointing_net = load_model(path)
    t0 = time.perf_counter()
    result = evaluate_maps(
        net, faces, methods=methods or DEFAULT_METHODS, method_settings=settings, n=n,
        split=args.split, pointing_net=pointing_net, pointing_faces=pointing_faces,
        steps=args.steps, baseline=args.baseline, stages=stages, n_random=args.n_random,
        n_regions=n_regions, seed=args.seed,
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    s = result.settings
    print(f"\n{net.name} on {s['n']:,} {faces.name} faces ({s['split'] or 'all rows'}; "
          f"accuracy {s['accuracy']:.3f}), {seconds:.0f} s")  # fmt: skip
    cols = ["insertion - deletion", "lo", "hi", "deletion AUC", "insertion AUC",
            "randomization spearman (top)", "randomization spearman (mean)",
            "randomization ssim (mean)", "pointing game (synthetic)"]  # fmt: skip
    print(result.table[[c for c in cols if c in result.table]].round(3).to_string())
    if pointing_net is not None:
        print(f"pointing game: {pointing_net.name} on the synthetic stand-in's PublicTest faces "
              f"(accuracy {s['pointing_accuracy']:.3f}; the cue covers "
              f"{result.pointing.attrs['cue area']:.0%} of a face)")  # fmt: skip
    print(f"\nclaims (region A > region B for faces predicted as the emotion; "
          f"{s['region_faces']:,} faces):")  # fmt: skip
    print(result.claims.round(3).to_string(index=False))
    if args.json:
        doc = dict(result.to_json(), wall_seconds=seconds)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=1, allow_nan=False), encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


def cmd_video(args: argparse.Namespace) -> int:
    from emonb import config
    from emonb.models.zoo import load_model
    from emonb.video.io import open_video, write_json
    from emonb.video.pipeline import analyse_video

    open_video(args.input)[0].release()  # a bad input fails before the model loads
    net = load_model(args.model)
    max_frames = config.capped("frames", args.max_frames)
    result = analyse_video(
        args.input, net, out=args.out, method=args.method, max_frames=max_frames,
        export_faces=args.export_faces, export_every=args.export_every,
        progress=not args.no_progress, detect_width=args.detect_width or None,
        min_face=args.min_face, window=args.window, patience=args.patience,
    )  # fmt: skip
    ms = result.timings_ms()
    print(f"{result.frames} frames of {result.source} ({result.width}x{result.height}), "
          f"{len(result.faces)} faces; {result.fps:.1f} frames/s "
          f"(warm-up {result.warmup_seconds:.1f} s not counted)")  # fmt: skip
    print("ms per frame: " + ", ".join(f"{k} {v:.1f}" for k, v in ms.items()))
    labels = np.bincount([f.label for f in result.faces], minlength=len(net.class_names))
    print("smoothed labels: " + ", ".join(
        f"{c} {n}" for c, n in zip(net.class_names, labels, strict=True) if n))  # fmt: skip
    if args.out:
        print(f"wrote {args.out}")
    if args.export_faces:
        print(f"exported {result.exported} face patches to {args.export_faces} (index.csv)")
    if args.json:
        print(f"wrote {write_json(result, args.json)}")
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

    params = {k: _parse_value(v) for k, v in args.param}
    build_book(
        args.root, quick=args.quick, parameters=params, only=args.chapter, html=not args.no_html
    )
    return 0


def _add_model(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="mini-xception",
                   help="model name or .keras/.h5 path (default: mini-xception)")  # fmt: skip


def _add_data(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default=None,
                   help="FER-2013 .csv, folder or .npz, or 'synthetic' (default: $EMONB_FER2013, else the stand-in)")  # fmt: skip


def _add_inputs(p: argparse.ArgumentParser, verb: str, nargs: str = "+") -> None:
    """IMAGE..., --model and --no-detect, shared by predict and explain."""
    p.add_argument(
        "images", nargs=nargs, metavar="IMAGE", help="image files (or manifest image names)"
    )
    _add_model(p)
    p.add_argument(
        "--no-detect", action="store_true", help=f"{verb} the whole image, no face detection"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="emonb", description="What a facial-emotion CNN sees.")
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
        "--filter", type=int, default=None, help="one filter of --layer (method 'activation')"
    )
    p.add_argument("--out", type=Path, default=None, help="output folder")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser(
        "bench", help="images per second of every method (and tf-keras-vis where comparable)"
    )
    _add_model(p)
    p.add_argument(
        "--data",
        default=None,
        help="faces to use (FER-2013 path; default $EMONB_FER2013 or stand-in)",
    )
    p.add_argument("--batch", type=int, default=64, help="images per timed call (default 64)")
    p.add_argument("--repeat", type=int, default=5, help="timed repeats, best kept (default 5)")
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
    p.add_argument("--epochs", type=int, default=30, help="epochs (default 30)")
    p.add_argument("--quick", action="store_true",
                   help="at most 2 epochs on 2,000 faces (a pipeline check, as CI runs it)")  # fmt: skip
    p.add_argument(
        "--seed", type=int, default=0, help="seed of weights, dropout, split, augmentation"
    )
    p.add_argument("--batch-size", type=int, default=64, help="batch size (default 64)")
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
                       help="faithfulness of explanation maps: deletion/insertion, randomization, "
                            "pointing game, face regions")  # fmt: skip
    _add_data(p)
    _add_model(p)
    p.add_argument("--methods", default=None,
                   help="comma-separated method names (default: every class-specific method but cam; "
                        "'random' and 'centre' reference maps are always added)")  # fmt: skip
    p.add_argument("--n", type=int, default=500, help="faces, a stratified sample (default 500)")
    p.add_argument("--split", default="PublicTest", help="usage to sample (default PublicTest)")
    p.add_argument("--steps", type=int, default=16, help="deletion/insertion steps (default 16)")
    p.add_argument("--baseline", choices=("blur", "mean"), default="blur",
                   help="what replaces a removed pixel (default blur)")  # fmt: skip
    p.add_argument("--stages", type=int, default=6,
                   help="cascading randomization stages, top layer down (default 6)")  # fmt: skip
    p.add_argument("--n-random", type=int, default=16,
                   help="faces in the randomization check (default 16)")  # fmt: skip
    p.add_argument("--n-regions", type=int, default=None,
                   help="faces in the face-region analysis (default: every face of --split)")  # fmt: skip
    p.add_argument("--pointing-model", default=None,
                   help="model trained on the synthetic stand-in for the pointing game (default: "
                        "chapter 01's, trained if missing; 'none' skips the pointing game)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="seed of the sample and the references")
    p.add_argument("--quick", action="store_true",
                   help="at most 48 faces (96 for regions), 2 stages and the methods' quick iterations (a pipeline check, as CI runs it)")  # fmt: skip
    p.add_argument("--json", type=Path, default=None, help="write every result as JSON")
    p.set_defaults(func=cmd_evaluate_maps)

    p = sub.add_parser("video", help="detect, classify and explain the faces of a video or camera")
    p.add_argument("input", metavar="INPUT",
                   help="video file, manifest video name (pexels-video) or camera index (0)")  # fmt: skip
    p.add_argument("--out", type=Path, default=None, help="annotated video to write (.mp4)")
    _add_model(p)
    p.add_argument("--method", default="gradcam",
                   help="map overlaid on each face (default gradcam; 'none' for boxes only)")  # fmt: skip
    p.add_argument("--export-faces", type=Path, default=None, metavar="DIR",
                   help="save face patches as DIR/<emotion>/*.png with DIR/index.csv")  # fmt: skip
    p.add_argument("--export-every", type=int, default=1, metavar="N",
                   help="export every N-th frame's faces (default 1)")  # fmt: skip
    p.add_argument("--json", type=Path, default=None,
                   help="write per-frame detections, probabilities and timings as JSON")  # fmt: skip
    p.add_argument("--max-frames", type=int, default=None, help="stop after this many frames")
    p.add_argument("--detect-width", type=int, default=320,
                   help="width at which frames are searched for faces (0: full size; default 320)")  # fmt: skip
    p.add_argument("--min-face", type=int, default=60,
                   help="smallest face side in frame pixels (default 60)")  # fmt: skip
    p.add_argument("--window", type=int, default=5,
                   help="frames averaged by the label smoothing (default 5)")  # fmt: skip
    p.add_argument("--patience", type=int, default=6,
                   help="frames a new emotion must lead before the label switches (default 6)")  # fmt: skip
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
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
    p.set_defaults(func=cmd_book)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except EmonbError as err:
        return _fail(str(err))
    except KeyboardInterrupt:
        return _fail("interrupted", 130)


if __name__ == "__main__":
    sys.exit(main())
