"""The parser class, the argument types and the arguments several commands share."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from emonb.errors import EmonbError

__all__ = ["Parser", "add_data", "add_detector", "add_inputs", "add_model", "seconds", "whole"]

#: The rule of the commands that take many inputs (predict, explain, landmarks), in --help.
BATCH_RULE = (
    "Every input is reported: one that cannot be read or has no usable face is one "
    "`emonb: error:` line (and, in JSON, a row with \"accepted\": false and its \"reason\"); "
    "the others are still written, and the command exits 0 if at least one input succeeded, "
    "saying on stderr how many failed. --strict makes it all or nothing: any failed input "
    "means exit 1 and nothing written."
)


class Parser(argparse.ArgumentParser):
    """argparse with a usage error as one line, ``emonb: error: COMMAND: problem (see
    `emonb COMMAND --help`)``, exit status 2 (argparse prints the usage and the error)."""

    def error(self, message: str):
        command = self.prog.removeprefix("emonb").strip()
        where = f"{command}: " if command else ""
        self.exit(2, f"emonb: error: {where}{' '.join(message.split())} "
                     f"(see `emonb {command + ' ' if command else ''}--help`)\n")  # fmt: skip


def whole(least: int, most: int | None = None, zero: bool = False) -> Callable[[str], int]:
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


def seconds(text: str) -> float:
    """An argparse type: a number of seconds >= 0 (``--serve-linger``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text[:40]!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be 0 or more seconds, got {text[:40]}")
    return value


seconds.__name__ = "seconds"


def add_model(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="mini-xception",
                   help="model name or .keras/.h5 path (default: mini-xception)")  # fmt: skip


def add_data(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default=None,
                   help="FER-2013 .csv, folder or .npz, or 'synthetic' (default: $EMONB_FER2013, else the stand-in)")  # fmt: skip


def add_detector(p: argparse.ArgumentParser) -> None:
    """--detector, for every command that finds faces (:func:`emonb.faces.find_faces`)."""
    from emonb.faces import DEFAULT_DETECTOR, DETECTORS

    p.add_argument("--detector", choices=DETECTORS, default=DEFAULT_DETECTOR,
                   help=f"face detector (default {DEFAULT_DETECTOR})")  # fmt: skip


def add_inputs(p: argparse.ArgumentParser, verb: str, nargs: str = "+", model: bool = True) -> None:
    """IMAGE..., --model, --no-detect, --detector and --strict, shared by predict, explain
    and landmarks (which takes no model)."""
    p.add_argument(
        "images", nargs=nargs, metavar="IMAGE", help="image files (or manifest image names)"
    )
    if model:
        add_model(p)
    p.add_argument(
        "--no-detect", action="store_true", help=f"{verb} the whole image, no face detection"
    )
    add_detector(p)
    p.add_argument("--strict", action="store_true",
                   help="all or nothing: if any input fails, exit 1 and write nothing (default: "
                        "write the inputs that succeed, exit 0 if one did)")  # fmt: skip


def add_scheduler(p: argparse.ArgumentParser, what: str) -> None:
    """``--scheduler ADDRESS|local[:N]``, checked when parsed
    (:func:`emonb.engine.check_scheduler`), with ``what`` the command does with it in its
    help."""
    p.add_argument("--scheduler", default=None, type=_scheduler, metavar="ADDRESS|local[:N]",
                   help=f"run on a Dask cluster: {what}. local[:N] starts N worker processes on "
                        "this machine (default: one per CPU core); an address (tcp://HOST:8786, "
                        "from `dask scheduler`, joined by `dask worker ADDRESS`) joins that "
                        "cluster; default: in this process")  # fmt: skip


def _scheduler(text: str) -> str:
    from emonb.engine import check_scheduler

    try:
        return check_scheduler(text)
    except EmonbError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
