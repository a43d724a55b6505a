"""What TensorFlow's op determinism (``$EMONB_DETERMINISTIC``, on by default) costs.

A benchmark, not a test: run it on an otherwise idle machine::

    python benchmarks/determinism.py --json benchmarks/determinism_cpu.json

Determinism cannot be switched off in a process that turned it on, so each setting runs in
a process of its own (this script with ``--worker``, ``EMONB_DETERMINISTIC`` set to 1 or 0),
one after the other, ``--rounds`` times alternately (on, off, on, off, ...) so that a change
in the machine's load falls on both. Each worker times, on ``--batch`` seeded random images
at the mini-Xception's input size, after a warm-up call that compiles: the forward pass
(:meth:`~emonb.models.runner.Runner.scores`), the input gradients of the top class
(:meth:`~emonb.models.runner.Runner.input_gradients`, compiled) and one training step of the
seed CNN (``train_on_batch``, what the book's stand-in training runs), each ``--repeat``
times. Reported: the median images per second (wall clock) of every call of all rounds and
of each round, the median CPU milliseconds per image (all threads: the work, less disturbed
than the wall clock by other processes on a busy machine), the ratios on/off, and whether
two calls on the same input gave the same bits inside each worker.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import emonb  # noqa: F401  (the TensorFlow guard first)
from emonb._tf import ENV_DETERMINISTIC
from emonb.records import machine_info, provenance, write_json

MEASURES = ("forward", "input_gradients", "train_step")


def _rates(fn: Callable[[], np.ndarray], n: int, repeat: int) -> dict:
    """Images per second (wall clock) and CPU milliseconds per image (all of this process's
    threads) of ``repeat`` timed calls after a warm-up; and whether the first two calls
    returned the same bits."""
    first = np.asarray(fn())
    rates, cpu, same = [], [], None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = np.asarray(fn())
        rates.append(round(n / (time.perf_counter() - t0), 1))
        cpu.append(round(1000 * (time.process_time() - c0) / n, 3))
        if same is None:
            same = out.tobytes() == first.tobytes()
    return {"img_s": rates, "cpu_ms_per_img": cpu, "same_bits": bool(same)}


def worker(batch: int, repeat: int, model: str = "mini-xception") -> dict:
    """Time the three measures in this process (whatever its determinism setting)."""
    from tensorflow.python.framework import config as tf_config

    from emonb._tf import keras, tf
    from emonb.models.runner import Runner
    from emonb.models.seed_cnn import build_seed_cnn
    from emonb.models.zoo import load_model

    net = load_model(model)
    h, w = net.spec.input_size
    rng = np.random.default_rng(0)
    x = rng.uniform(0.0, 1.0, (batch, h, w, net.spec.channels)).astype(np.float32)
    runner = Runner(net)
    idx = runner.predict(x).astype(np.int32)
    grads = runner.compile(runner.input_gradients)
    xt, it = tf.constant(x), tf.constant(idx)

    keras.utils.set_random_seed(0)
    cnn = build_seed_cnn((h, w, net.spec.channels), len(net.class_names), seed=0)
    cnn.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy",
                jit_compile=False)  # fmt: skip
    y = np.eye(len(net.class_names), dtype=np.float32)[idx]
    cnn.optimizer.build(cnn.trainable_variables)
    dropout = [layer.seed_generator.state for layer in cnn.layers if hasattr(layer, "seed_generator")]
    state = [*cnn.weights, *cnn.optimizer.variables, *dropout]
    start = [v.numpy().copy() for v in state]

    def step() -> np.ndarray:  # from the same weights, optimizer and dropout state: same bits
        for v, s in zip(state, start, strict=True):
            v.assign(s)
        cnn.train_on_batch(x, y)
        return np.concatenate([v.numpy().ravel() for v in cnn.trainable_weights])

    out: dict = {"deterministic": bool(tf_config.is_op_determinism_enabled())}
    for name, fn in (("forward", lambda: runner.scores(x)),
                     ("input_gradients", lambda: grads(xt, it).numpy()),
                     ("train_step", step)):  # fmt: skip
        out[name] = _rates(fn, batch, repeat)
    # a fingerprint of the gradients, to compare the two settings' results
    out["input_gradients_sha256"] = hashlib.sha256(grads(xt, it).numpy().tobytes()).hexdigest()
    return out


def _spawn(on: bool, batch: int, repeat: int) -> dict:
    env = {**os.environ, ENV_DETERMINISTIC: "1" if on else "0"}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--batch", str(batch),
           "--repeat", str(repeat)]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"worker (determinism {'on' if on else 'off'}) failed:\n"
                           f"{proc.stderr[-3000:]}")  # fmt: skip
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if result["deterministic"] is not on:
        raise RuntimeError(f"{ENV_DETERMINISTIC}={'1' if on else '0'} did not take effect")
    return result


def run(batch: int = 64, repeat: int = 5, rounds: int = 3) -> dict:
    """Both settings, ``rounds`` alternating worker processes each."""
    runs: dict[str, list[dict]] = {"on": [], "off": []}
    load = [round(os.getloadavg()[0], 2)]
    for _ in range(rounds):
        for key, on in (("on", True), ("off", False)):
            runs[key].append(_spawn(on, batch, repeat))
    load.append(round(os.getloadavg()[0], 2))
    out: dict = {"settings": {"model": "mini-xception", "batch": batch, "repeat": repeat,
                              "rounds": rounds, "load_average": load}}  # fmt: skip
    for name in MEASURES:
        row: dict = {}
        for key in ("on", "off"):
            rates = [r for w in runs[key] for r in w[name]["img_s"]]
            cpu = [c for w in runs[key] for c in w[name]["cpu_ms_per_img"]]
            row[f"{key}_img_s"] = round(statistics.median(rates), 1)
            row[f"{key}_img_s_per_round"] = [round(statistics.median(w[name]["img_s"]), 1)
                                             for w in runs[key]]  # fmt: skip
            row[f"{key}_cpu_ms_per_img"] = round(statistics.median(cpu), 3)
            row[f"{key}_same_bits"] = all(w[name]["same_bits"] for w in runs[key])
        row["on_over_off"] = round(row["on_img_s"] / row["off_img_s"], 3)
        row["cpu_on_over_off"] = round(row["on_cpu_ms_per_img"] / row["off_cpu_ms_per_img"], 3)
        out[name] = row
    out["input_gradients_same_across_processes"] = {
        key: len({w["input_gradients_sha256"] for w in runs[key]}) == 1 for key in runs
    }
    out["machine"] = machine_info()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--quick", action="store_true",
                   help="batch 4, one timed call, one round (a check of the script)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.batch, args.repeat, args.rounds = 4, 1, 1
    if args.worker:
        print(json.dumps(worker(args.batch, args.repeat)))
        return 0
    result = run(args.batch, args.repeat, args.rounds)
    result["provenance"] = provenance(  # command, commit, date, machine
        ["benchmarks/determinism.py", *(sys.argv[1:] if argv is None else argv)])
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=1))
    if args.json:
        print(f"wrote {write_json(result, args.json, indent=2)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
