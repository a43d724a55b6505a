"""How long ``emonb evaluate-maps`` takes, stage by stage, at every method's default, on
FER-2013 PublicTest faces: in one process, and on a local Dask cluster of worker
processes, with the numbers of the two compared.

A benchmark, not a test: on a 2-core CPU the default run takes minutes (its stages:
the face mesh, each method's maps and metrics, faithfulness correlation, cascading
randomization, the pointing game, face regions, action units). With FER-2013 given::

    EMONB_FER2013=... python benchmarks/evaluate_maps.py --n 500 \\
        --engines in-process,local:2 --result benchmarks/faithfulness_mini_xception.json \\
        --json benchmarks/evaluate_maps_cpu.json

Steps:

1. For each engine of ``--engines`` in turn, ``emonb evaluate-maps --n N`` (every other
   option at its default: every method of :data:`emonb.metrics.evaluate.DEFAULT_METHODS`
   with its own settings, the pointing game with chapter 01's seed CNN, trained first if
   it is not in the cache; ``--scheduler ENGINE`` unless ``in-process``) runs in this
   process, writing its JSON to a temporary file. ``--result`` writes the first run's JSON
   whole (chapter 08's recorded evaluation) once every run has finished.
2. Each run (``runs``) records its ``engine`` (``settings.engine`` of the command's JSON:
   in-process or the scheduler, workers, tasks, chunks and each task's seconds),
   ``wall_seconds`` (the whole command in this process: the models and data loaded,
   the cluster started), ``evaluation_seconds`` (the command's own clock,
   :func:`~emonb.metrics.evaluate.evaluate_maps` alone) and the per-stage ``seconds``.
   The top-level ``wall_seconds``, ``evaluation_seconds`` and ``seconds`` are the first
   run's.
3. ``equality``: every number of each later run's JSON against the first run's (timings
   and the engine aside): how many, and the largest absolute difference.
4. ``estimate``: the evaluation's seconds on N workers from the cluster run's task times,
   ``serial + max(work / N, longest task)``: ``work`` the seconds of all its tasks (each
   worker's model loading and compiling included), ``serial`` what the first (in-process)
   run spent outside the work that becomes tasks (the chunks of faces, each face's
   action-unit evidence with them, the face mesh, and its wait for the randomization
   stages, the pointing game and the face regions, which run in a background thread
   beside the chunks): the randomization's reference maps, pooling, the bootstrap tables.

``--quick`` (the test's): the command's own ``--quick`` (one method per family, two
stages, capped sizes) on ``--n`` at most :data:`QUICK_N` faces, on the synthetic stand-in
when $EMONB_FER2013 does not give FER-2013: a pipeline check, not a timing.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

from emonb.errors import EmonbError
from emonb.records import json_leaves, json_safe, load_json, provenance, write_json

#: Faces at most in quick mode.
QUICK_N = 8
#: The stages of an in-process run, besides the chunks of faces (``faces_seconds``) and the
#: wait for the side tasks (the randomization stages, the pointing game and the face
#: regions: ``side_wait_seconds``), that become tasks on a cluster.
TASK_STAGES = ("mesh",)
#: Workers the estimate is given for.
ESTIMATE_WORKERS = (1, 2, 4, 8, 16, 32)


def fer_given() -> str | None:
    """$EMONB_FER2013 when it names FER-2013 (not unset, not ``synthetic``)."""
    env = os.environ.get("EMONB_FER2013", "").strip()
    return env if env and env.lower() != "synthetic" else None


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
        argv += ["--scheduler", scheduler]
    return [*argv, "--json", str(out)]


def run(n: int, quick: bool, engine: str) -> tuple[dict, dict]:
    """Run the command once on ``engine`` (``in-process`` or a ``--scheduler`` value); the
    run's record, and the command's JSON."""
    from emonb.cli import main as emonb

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "evaluate_maps.json"
        argv = command(n, quick, None if engine == "in-process" else engine, out)
        print("emonb " + " ".join(argv), flush=True)
        t0 = time.perf_counter()
        code = emonb(argv)
        wall = time.perf_counter() - t0
        if code != 0:
            raise EmonbError(f"emonb evaluate-maps exited with {code}")
        doc = load_json(out, "evaluate-maps result")
    s = doc["settings"]
    record = {"emonb": "emonb " + " ".join(argv[:-2]), "engine": s["engine"],
              "data": s["data"], "split": s["split"], "quick": quick, "faces": s["n"],
              "methods": s["methods"], "wall_seconds": round(wall, 1),
              "evaluation_seconds": round(doc["wall_seconds"], 1),
              "seconds": json_safe(doc["seconds"])}  # fmt: skip
    return record, doc


#: Keys of a command's JSON that are not its results (timings, the engine, provenance).
NOT_RESULTS = ("seconds", "engine", "wall_seconds", "provenance", "robustness_seconds")


def numbers(doc) -> dict[str, float]:
    """Every number of a command's JSON by its path, timings, engine and provenance aside."""
    return {k: float(v) for k, v in json_leaves(doc, NOT_RESULTS).items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)}  # fmt: skip


def equality(first: dict, other: dict) -> dict:
    """How far ``other``'s numbers are from ``first``'s: how many, the largest absolute
    difference and where, and whether both hold the same numbers (paths)."""
    a, b = numbers(first), numbers(other)
    worst, where = 0.0, None
    for k in a.keys() & b.keys():
        x, y = a[k], b[k]
        if math.isnan(x) and math.isnan(y):
            continue
        d = abs(x - y) if not (math.isinf(x) or math.isinf(y)) else (0.0 if x == y else math.inf)
        if d > worst:
            worst, where = d, k
    return {"numbers": len(a), "same_paths": a.keys() == b.keys(),
            "largest_difference": worst, "at": where}  # fmt: skip


def estimate(first: dict, cluster: dict) -> dict:
    """:func:`main`'s ``estimate`` (see the module's docstring): the first run's serial
    seconds, the cluster run's work and longest task, and the seconds per worker count."""
    s, e = first["seconds"], first["engine"]
    parallel = (sum(s.get(k, 0.0) for k in TASK_STAGES) + e["faces_seconds"]
                + e.get("side_wait_seconds", 0.0))  # fmt: skip
    serial = max(0.0, first["evaluation_seconds"] - parallel)
    tasks = [t for times in cluster["engine"]["task_seconds"].values() for t in times]
    work, longest = sum(tasks), max(tasks)
    return {"serial_seconds": round(serial, 1), "task_seconds": round(work, 1),
            "longest_task_seconds": round(longest, 1), "tasks": len(tasks),
            "seconds": {str(w): round(serial + max(work / w, longest), 1)
                        for w in ESTIMATE_WORKERS}}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=500, help="faces of PublicTest (500)")
    p.add_argument("--engines", default="in-process,local:2",
                   help="comma-separated: in-process and/or --scheduler values, run in turn "
                        "(default in-process,local:2)")  # fmt: skip
    p.add_argument("--quick", action="store_true",
                   help=f"evaluate-maps --quick on at most {QUICK_N} faces (a pipeline check)")
    p.add_argument("--result", type=Path, default=None,
                   help="also keep the first run's evaluate-maps JSON whole at this path")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    if args.n < 1:
        p.error("--n must be at least 1")
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if not engines:
        p.error("--engines: name at least one")
    n = min(args.n, QUICK_N) if args.quick else args.n
    runs, docs = [], []
    for engine in engines:
        record, doc = run(n, args.quick, engine)
        runs.append({"engine_given": engine, **record})
        docs.append(doc)
        print(f"{engine}: wall {record['wall_seconds']} s, evaluation "
              f"{record['evaluation_seconds']} s", flush=True)  # fmt: skip
    first = runs[0]
    result = {"provenance": provenance(["benchmarks/evaluate_maps.py", *argv]),
              **{k: first[k] for k in ("emonb", "data", "split", "quick", "faces", "methods",
                                        "wall_seconds", "evaluation_seconds", "seconds")},
              "runs": runs,
              "equality": [{"engine": r["engine_given"], **equality(docs[0], d)}
                           for r, d in zip(runs[1:], docs[1:], strict=True)],
              "estimate": next((estimate(first, r) for r in runs[1:]
                                if r["engine"]["engine"] == "dask"), None)}  # fmt: skip
    for e in result["equality"]:
        print(f"{e['engine']} vs {engines[0]}: {e['numbers']} numbers, largest difference "
              f"{e['largest_difference']:.2g} ({e['at']})")  # fmt: skip
    if result["estimate"] is not None:
        print(f"estimated evaluation seconds by workers: {result['estimate']['seconds']}")
    if args.result:  # the first run's JSON, whole, once every run has finished
        print(f"wrote {write_json(docs[0], args.result, indent=2)}")
    if args.json:
        print(f"wrote {write_json(result, args.json, indent=2)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
