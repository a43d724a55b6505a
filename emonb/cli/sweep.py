"""``emonb sweep``: execute one chapter once per value of a parameter and tabulate what each
execution recorded (:mod:`emonb.book.sweep`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from emonb.cli.argtypes import add_scheduler
from emonb.cli.book import parse_value
from emonb.cli.console import error
from emonb.errors import EmonbError


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "sweep", help="execute one chapter once per value of a parameter and tabulate its recorded scalars",
        description="Execute notebooks/CHAPTER.ipynb once per value of the swept parameter (the -p whose "
                    "VALUE lists values, v1,v2,...; the other -p are fixed) into book/sweeps/CHAPTER/"
                    "<value>.ipynb, and write book/sweeps/CHAPTER/summary.csv (also printed): one row per "
                    "value, one column per scalar the chapter records (emonb.book.record), and an error "
                    "column. A failed run is reported and the others go on; the exit status is 1 when "
                    "every run failed (any run, with --strict).")  # fmt: skip
    p.add_argument("chapter", metavar="CHAPTER", help="a chapter of the TOC, e.g. 02_evaluate")
    p.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="a parameter the chapter declares; exactly one lists the values to sweep, "
                        "comma-separated (a comma inside [...] or quotes does not split; one value: v1,)")  # fmt: skip
    p.add_argument("--quick", action="store_true",
                   help="cap every iterative step (EMONB_QUICK=1), as `emonb book --quick`")  # fmt: skip
    p.add_argument("--strict", action="store_true", help="exit 1 if any run fails")
    p.add_argument("--root", type=Path, default=None,
                   help="project root (default: found from the cwd)")  # fmt: skip
    add_scheduler(p, "each run is one task on a worker, the runs side by side (workers on "
                     "other machines need this checkout, its data and its cache at the same "
                     "paths)")
    return p


def swept(pairs: list[list[str]]) -> tuple[str, list, dict]:
    """``(name, values, fixed)`` from the ``-p NAME VALUE`` pairs: the one pair whose VALUE has
    a comma outside brackets and quotes is swept (each item parsed as a ``-p`` value)."""
    from emonb.book.sweep import lists_values, split_values

    lists = [(n, v) for n, v in pairs if lists_values(v)]
    if not lists:
        raise EmonbError("no parameter to sweep: give one -p NAME v1,v2,... (one value: v1,)")
    if len(lists) > 1:
        raise EmonbError(f"sweep one parameter at a time; values listed for {', '.join(n for n, _ in lists)}")
    name, text = lists[0]
    fixed = {n: parse_value(v) for n, v in pairs if n != name}
    return name, [parse_value(item) for item in split_values(text)], fixed


def run(args: argparse.Namespace) -> int:
    from emonb.book.sweep import sweep

    if args.root is not None and not args.root.is_dir():
        raise EmonbError(f"{args.root}: no such folder (--root)")
    name, values, fixed = swept(args.param)
    result = sweep(args.chapter, name, values, fixed, root=args.root, quick=args.quick,
                   scheduler=args.scheduler)  # fmt: skip
    for run_ in result.failed:
        error(run_.error or "")
    if result.failed:
        error(f"{len(result.failed)} of {len(result.runs)} runs failed (their rows in {result.folder / 'summary.csv'})")
    return 1 if result.failed and (args.strict or len(result.failed) == len(result.runs)) else 0
