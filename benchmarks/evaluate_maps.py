"""How long ``emonb evaluate-maps`` takes, stage by stage, at every method's default, on
FER-2013 PublicTest faces, in one process on this machine.

A benchmark, not a test: on a 2-core CPU the default run takes minutes (its stages:
the face mesh, each method's maps and metrics, faithfulness correlation, cascading
randomization, the pointing game, face regions, action units). With FER-2013 given::

    EMONB_FER2013=... python benchmarks/evaluate_maps.py --n 500 \\
        --json benchmarks/evaluate_maps_cpu.json

Steps:

1. ``emonb evaluate-maps --n N`` (FER-2013 from $EMONB_FER2013, the command's default;
   every other option at its default: every method of
   :data:`emonb.metrics.evaluate.DEFAULT_METHODS` with its own settings, the pointing game
   with chapter 01's seed CNN, trained first if it is not in the cache) runs in this
   process, writing its JSON to a temporary file; ``--scheduler`` is passed on when given
   (for an ``evaluate-maps`` that has that option).
2. The file written holds the command's ``provenance``, ``wall_seconds`` (the whole command
   in this process: loading the models and data included), ``evaluation_seconds`` (the
   command's own clock, :func:`~emonb.metrics.evaluate.evaluate_maps` alone), the
   evaluation's ``seconds`` per stage (per method: ``maps``, ``curves``, ``road``,
   ``robustness``), the ``faces`` explained and the ``methods``.

``--quick`` (the test's): the command's own ``--quick`` (one method per family, two
stages, capped sizes) on ``--n`` at most :data:`QUICK_N` faces, on the synthetic stand-in
when $EMONB_FER2013 does not give FER-2013: a pipeline check, not a timing.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from emonb.errors import EmonbError
from emonb.records import json_safe, load_json, provenance, write_json

#: Faces at most in quick mode.
QUICK_N = 8


def fer_given() -> str | None:
    """$EMONB_FER2013 when it names FER-2013 (not unset, not ``synthetic``)."""
    env = os.environ.get("EMONB_FER2013", "").strip()
    return env if env and env.lower() != "synthetic" else None


def has_option(option: str) -> bool:
    """Whether this emonb's ``evaluate-maps`` takes ``option``."""
    from emonb.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return option in sub.choices["evaluate-maps"]._option_string_actions


def command(n: int, quick: bool, scheduler: str | None, out: Path) -> list[str]:
    """The ``emonb`` arguments run: ``evaluate-maps`` on ``n`` faces, writing ``out``."""
    data = fer_given()
    if data is None and not quick:
        raise EmonbError("the timings are of FER-2013 faces: set $EMONB_FER2013 to FER-2013 "
                         "(--quick runs on the synthetic stand-in without it)")  # fmt: skip
    # FER-2013: the command's default data ($EMONB_FER2013), so no local path is recorded
    argv = ["evaluate-maps", *([] if data else ["--data", "synthetic"]), "--n", str(n)]
    if quick:
        argv.append("--quick")
    if scheduler is not None:
        if not has_option("--scheduler"):
            raise EmonbError("this emonb's evaluate-maps has no --scheduler option")
        argv += ["--scheduler", scheduler]
    return [*argv, "--json", str(out)]


def run(n: int, quick: bool, scheduler: str | None) -> dict:
    """Run the command once and read what it wrote: the timings, faces and methods."""
    from emonb.cli import main as emonb

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "evaluate_maps.json"
        argv = command(n, quick, scheduler, out)
        print("emonb " + " ".join(argv), flush=True)
        t0 = time.perf_counter()
        code = emonb(argv)
        wall = time.perf_counter() - t0
        if code != 0:
            raise EmonbError(f"emonb evaluate-maps exited with {code}")
        doc = load_json(out, "evaluate-maps result")
    s = doc["settings"]
    return {"emonb": "emonb " + " ".join(argv[:-2]), "data": s["data"], "split": s["split"],
            "quick": quick, "faces": s["n"], "methods": s["methods"],
            "wall_seconds": round(wall, 1), "evaluation_seconds": round(doc["wall_seconds"], 1),
            "seconds": json_safe(doc["seconds"])}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=500, help="faces of PublicTest (500)")
    p.add_argument("--scheduler", default=None,
                   help="passed on to evaluate-maps (when it has that option)")  # fmt: skip
    p.add_argument("--quick", action="store_true",
                   help=f"evaluate-maps --quick on at most {QUICK_N} faces (a pipeline check)")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    if args.n < 1:
        p.error("--n must be at least 1")
    n = min(args.n, QUICK_N) if args.quick else args.n
    result = {"provenance": provenance(["benchmarks/evaluate_maps.py", *argv]),
              **run(n, args.quick, args.scheduler)}  # fmt: skip
    stages = {k: v for k, v in result["seconds"].items() if not isinstance(v, dict)}
    print(f"wall {result['wall_seconds']} s, evaluation {result['evaluation_seconds']} s; "
          f"stages: {stages}")  # fmt: skip
    if args.json:
        print(f"wrote {write_json(result, args.json, indent=2)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
