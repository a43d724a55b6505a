"""The ``emonb`` command: fetch, predict, explain, landmarks, bench, train, evaluate,
evaluate-maps, video, book, sweep; one module per command (``add_parser(subparsers)``,
``run(args) -> int``), their shared argument types (:mod:`~emonb.cli.argtypes`) and
checks (:mod:`~emonb.cli.checks`, which call the library's own rules).

Every expected failure (bad input, missing file, checksum mismatch, failed chapter) is
one line on stderr, ``emonb: error: ...``, and a non-zero exit status (2 for a bad
argument, 1 for bad input); no traceback, and no output file left behind. Every command
checks its arguments, its output paths and its data before any costly work (loading a
model, training one): see ``tests/test_cli_fuzz.py``. Commands over many images
(predict, explain, landmarks) keep the inputs that succeed (:mod:`~emonb.cli.batch`).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from emonb import __version__
from emonb.cli import (
    bench,
    book,
    evaluate,
    evaluate_maps,
    explain,
    fetch,
    landmarks,
    predict,
    sweep,
    train,
    video,
)
from emonb.cli.argtypes import Parser
from emonb.cli.console import fail
from emonb.errors import EmonbError

__all__ = ["build_parser", "main"]

#: The command modules, in the order ``emonb --help`` lists them.
COMMANDS = (fetch, predict, explain, landmarks, bench, train, evaluate, evaluate_maps, video, book,
            sweep)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="emonb", description="What a facial-emotion CNN sees.")
    parser.add_argument("--version", action="version", version=f"emonb {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub).set_defaults(func=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except EmonbError as err:
        return fail(str(err))
    except OSError as err:  # the machine's: permissions, a full disk, a vanished file
        where = f"{err.filename}: " if err.filename else ""
        return fail(f"{where}{err.strerror or err}")
    except MemoryError:
        return fail("out of memory")
    except KeyboardInterrupt:
        return fail("interrupted", 130)
