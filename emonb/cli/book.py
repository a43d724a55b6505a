"""``emonb book``: execute every chapter with papermill and build the HTML book."""

from __future__ import annotations

import argparse
from pathlib import Path

from emonb.cli.argtypes import add_scheduler, whole
from emonb.errors import EmonbError


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("book", help="execute every chapter with papermill and build the HTML book")
    # build_book checks --jobs with --scheduler, and the scheduler's address, before any work
    p.add_argument("--quick", action="store_true",
                   help="cap every iterative step (EMONB_QUICK=1), as CI does")  # fmt: skip
    p.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="set a chapter parameter (passed to every chapter that declares it)")  # fmt: skip
    p.add_argument("--chapter", action="append", metavar="NAME",
                   help="execute only this chapter (repeatable)")  # fmt: skip
    p.add_argument("--no-html", action="store_true",
                   help="execute chapters but skip jupyter-book build")  # fmt: skip
    p.add_argument("--root", type=Path, default=None,
                   help="project root (default: found from the cwd)")  # fmt: skip
    p.add_argument("--jobs", type=whole(1), default=None,
                   help="chapters executed side by side (default: one per CPU core, at most 2); "
                        "not with --scheduler")  # fmt: skip
    add_scheduler(p, "each chapter is one task on a worker (01_train first, the chapters after "
                     "it once it is done); the HTML is built here. Workers on other machines "
                     "need this checkout, its data and its cache at the same paths")  # fmt: skip
    return p


def parse_value(text: str):
    """A ``-p`` value: YAML scalar/list parsing, so 3 -> int, true -> bool, 'a' -> str."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def run(args: argparse.Namespace) -> int:
    from emonb.book.build import build_book

    if args.root is not None and not args.root.is_dir():
        raise EmonbError(f"{args.root}: no such folder (--root)")
    params = {k: parse_value(v) for k, v in args.param}
    build_book(args.root, quick=args.quick, parameters=params, only=args.chapter,
               html=not args.no_html, jobs=args.jobs, scheduler=args.scheduler)  # fmt: skip
    return 0
