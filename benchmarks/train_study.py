"""Train the seed CNN with several class-weight settings and record the test curve.

A study, not part of the book build: it answers two questions chapter 01 relies on.

1. How should class imbalance be handled? (``none`` / ``sqrt`` / ``balanced`` weights)
2. How does PublicTest accuracy grow with the epoch budget? (read off per epoch, so the
   CPU run's budget can be chosen; the test numbers are observed by ``on_epoch`` and
   never used for training or model selection.)

Each setting runs in its own process (they run side by side on one accelerator or CPU)::

    python benchmarks/train_study.py --data FER.npz --out DIR --epochs 100 \\
        --settings none,sqrt,balanced

and writes ``DIR/<setting>.history.json`` (with ``test_accuracy`` / ``test_macro_f1``
per epoch) and ``DIR/<setting>.test.json`` (the best model's full PublicTest report).
Backend-agnostic: set ``KERAS_BACKEND=jax`` on a machine without TensorFlow.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

#: Named settings: TrainConfig arguments that differ from the defaults.
SETTINGS: dict[str, dict] = {
    "none": {"class_weight": "none"},
    "sqrt": {},
    "balanced": {"class_weight": "balanced"},
    "sqrt-seed1": {"seed": 1},
    "sqrt-patience2": {"lr_patience": 2},
    "conv-bn-relu": {"model": {"order": "conv-bn-relu"}},
    "no-dense-bn": {"model": {"dense_bn": False}},
    "no-dense-bn-lr3e-4": {"model": {"dense_bn": False}, "learning_rate": 3e-4},
}


def run_one(data: str, out: Path, epochs: int, setting: str, seed: int) -> None:
    import numpy as np

    import emonb  # noqa: F401  (environment guard before Keras)
    from emonb.data.fer2013 import load_faces
    from emonb.models.evaluate import classification_report
    from emonb.models.train import TrainConfig, train

    faces = load_faces(data)
    test = faces.split("PublicTest")
    x_test = (test.images.astype(np.float32) / 255.0)[..., None]

    def observe(model, rec: dict) -> None:
        proba = np.asarray(model.predict(x_test, batch_size=512, verbose=0))
        rep = classification_report(test.labels, proba.argmax(1))
        rec["test_accuracy"], rec["test_macro_f1"] = rep["accuracy"], rep["macro_f1"]
        rec["test_disgust_recall"] = rep["per_class"]["disgust"]["recall"]

    cfg = TrainConfig(epochs=epochs, **{"seed": seed, **SETTINGS[setting]})
    result = train(faces, out / f"{setting}.keras", cfg, restart=True, on_epoch=observe,
                   log=lambda line: print(f"[{setting}] {line}", flush=True))  # fmt: skip
    import keras

    best = keras.models.load_model(result.model_path, compile=False)
    proba = np.asarray(best.predict(x_test, batch_size=512, verbose=0))
    report = classification_report(test.labels, proba.argmax(1))
    (out / f"{setting}.test.json").write_text(json.dumps(report, indent=1))
    print(f"[{setting}] best epoch {result.best_epoch}: PublicTest accuracy "
          f"{report['accuracy']:.4f}, macro-F1 {report['macro_f1']:.4f}", flush=True)  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--settings", default="none,sqrt,balanced", help=f"from {', '.join(SETTINGS)}")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.one:
        run_one(args.data, args.out, args.epochs, args.one, args.seed)
        return 0
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--data",
                args.data,
                "--out",
                str(args.out),
                "--epochs",
                str(args.epochs),
                "--seed",
                str(args.seed),
                "--one",
                s,
            ]
        )  # fmt: skip
        for s in args.settings.split(",")
    ]
    return max(p.wait() for p in procs)


if __name__ == "__main__":
    sys.exit(main())
