"""``emonb video``: detect, classify and explain the faces of a video or camera, with its
``--serve`` live preview."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from emonb.cli.argtypes import add_detector, add_model, seconds, whole
from emonb.cli.checks import check_methods, check_model, check_output
from emonb.cli.console import fail, note
from emonb.errors import EmonbError


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("video", help="detect, classify and explain the faces of a video or camera")
    p.add_argument("input", metavar="INPUT",
                   help="video file, manifest video name (pexels-video) or camera index (0)")  # fmt: skip
    p.add_argument("--out", type=Path, default=None,
                   help="annotated video to write (.mp4: H.264, .webm: VP9)")  # fmt: skip
    add_model(p)
    p.add_argument("--method", default="gradcam",
                   help="map overlaid on each face (default gradcam; 'none' for boxes only)")  # fmt: skip
    p.add_argument("--export-faces", type=Path, default=None, metavar="DIR",
                   help="save face patches as DIR/<emotion>/*.png with DIR/index.csv")  # fmt: skip
    p.add_argument("--export-every", type=whole(1), default=1, metavar="N",
                   help="export every N-th frame's faces (default 1)")  # fmt: skip
    p.add_argument("--json", type=Path, default=None,
                   help="write per-frame detections, probabilities and timings as JSON")  # fmt: skip
    p.add_argument("--max-frames", type=whole(1), default=None, help="stop after this many frames")
    add_detector(p)
    p.add_argument("--detect-width", type=whole(24, zero=True), default=320,
                   help="width at which Haar searches frames for faces (0: full size; default 320)")  # fmt: skip
    p.add_argument("--min-face", type=whole(1), default=60,
                   help="smallest face side in frame pixels (default 60)")  # fmt: skip
    p.add_argument("--window", type=whole(1), default=5,
                   help="frames averaged by the label smoothing (default 5)")  # fmt: skip
    p.add_argument("--patience", type=whole(0), default=6,
                   help="frames a new emotion must lead before the label switches (default 6)")  # fmt: skip
    p.add_argument("--no-landmarks", action="store_true",
                   help="no face mesh and no action-unit analysis (faster)")  # fmt: skip
    p.add_argument("--overlay", choices=("au", "mesh", "both", "none"), default="au",
                   help="what the mesh adds to each face: the outline of the action unit with "
                        "the most evidence (default), the 468 points, both, or nothing")  # fmt: skip
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--serve", nargs="?", const=8765, type=whole(1, 65535, zero=True),
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
    p.add_argument("--serve-linger", type=seconds, default=None, metavar="SECONDS",
                   help="keep the preview up this long after the source ends (default "
                        "0)")  # fmt: skip
    return p


def serve_usage(args: argparse.Namespace) -> str | None:
    """What is wrong with ``--serve``, ``--host``, ``--allow-remote`` and ``--serve-linger``
    together (a usage error), or None."""
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
def preview(args: argparse.Namespace) -> Iterator:
    """``--serve``: the live preview (:class:`emonb.video.serve.PreviewServer`), bound at
    once (a port in use fails before the model loads) and closed on leaving: when the
    source has ended (after :func:`linger`), on Ctrl-C or on an error. None without
    ``--serve``."""
    if args.serve is None:
        yield None
        return
    from emonb.video.serve import PreviewServer

    with PreviewServer(args.host or "127.0.0.1", args.serve,
                       allow_remote=args.allow_remote) as server:  # fmt: skip
        print(f"serving the live preview at {server.url} (Ctrl-C stops)", file=sys.stderr)
        yield server


def linger(server, seconds: float | None) -> None:
    """The source has ended: the page says so and keeps the last frame; keep serving it for
    ``seconds`` (``--serve-linger``; Ctrl-C cuts it short)."""
    server.end()
    if seconds:
        note(f"the source has ended; the preview stays up {seconds:g} s (Ctrl-C stops)")
        try:
            time.sleep(seconds)
        except KeyboardInterrupt:
            pass


def run(args: argparse.Namespace) -> int:
    from emonb import config

    config.video_threads()  # before anything imports TensorFlow

    if (usage := serve_usage(args)) is not None:
        return fail(f"video: {usage} (see `emonb video --help`)", 2)
    check_output(args.out, "--out")
    check_output(args.json, "--json")
    check_output(args.export_faces, "--export-faces", folder=True)
    check_model(args.model)
    if args.method != "none":
        check_methods([args.method])
    from emonb.video.result import write_json
    from emonb.video.sources import open_video
    from emonb.video.writers import encoder_for

    open_video(args.input)[0].release()  # a bad input fails before the model loads
    if args.out is not None:
        encoder_for(args.out)  # so does an --out suffix with no video codec
    with preview(args) as server:  # --serve: bound now, before the model loads
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
            linger(server, args.serve_linger)  # not after Ctrl-C: that closes it at once
    report(result, net)
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


def report(result, net) -> None:
    """Frames, speed, mesh and smoothed labels of an :func:`emonb.video.pipeline.analyse_video`
    result, on stdout."""
    ms = result.timings_ms()
    print(f"{result.frames} frames of {result.source} ({result.width}x{result.height}), "
          f"{len(result.faces)} faces; {result.fps:.1f} frames/s "
          f"(warm-up {result.warmup_seconds:.1f} s not counted)")  # fmt: skip
    print("ms per frame: " + ", ".join(f"{k} {v:.1f}" for k, v in ms.items()))
    print(result.mesh_summary())
    labels = np.bincount([f.label for f in result.faces], minlength=len(net.class_names))
    print("smoothed labels: " + ", ".join(
        f"{c} {n}" for c, n in zip(net.class_names, labels, strict=True) if n))  # fmt: skip
