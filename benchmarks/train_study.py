"""Train the seed CNN with several settings and record the test curve: chapter 01's study.

A study, not part of the book build: it answers the questions chapter 01 relies on.

1. How should class imbalance be handled? (``none`` / ``sqrt`` / ``balanced`` weights)
2. Why does the seed's network need batch normalisation after its dense layers?
3. How does PublicTest accuracy grow with the epoch budget? (read off per epoch, so the
   CPU run's budget can be chosen; the test numbers are observed by ``on_epoch`` and
   never used for training or model selection.)

Each setting runs in its own process (they run side by side on one accelerator or CPU)::

    python benchmarks/train_study.py --data FER2013 --out study/ --epochs 100 \
        --settings all --json benchmarks/seed_cnn_gpu_study.json

writes ``study/<slug>.history.json`` (with ``test_accuracy`` / ``test_macro_f1`` per
epoch) and ``study/<slug>.test.json`` (the best model's full PublicTest report) per
setting, then the combined file of every setting named, whole and with its provenance
(``--combine`` only combines what ``--out`` already holds). The book's file was made on one
GPU with ``KERAS_BACKEND=jax`` (about 5 minutes per setting); on the 2-core CPU one
epoch takes two minutes, so the 13 settings of up to 100 epochs need days there.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

_OLD = {"lr_patience": 3}  # the study ran before the default patience became 2
_NO_BN = {"order": "conv-bn-relu", "dense_bn": False}
_BN = {"order": "conv-relu-bn", "dense_bn": True}

#: Named settings, in the book's words: TrainConfig arguments (``--epochs`` aside).
SETTINGS: dict[str, dict] = {
    "no dense BN, weights none": {**_OLD, "class_weight": "none", "model": _NO_BN},
    "no dense BN, weights balanced": {**_OLD, "class_weight": "balanced", "model": _NO_BN},
    "no dense BN, weights sqrt": {**_OLD, "model": _NO_BN},
    "no dense BN, lr 3e-4": {**_OLD, "learning_rate": 3e-4, "model": _NO_BN},
    "no dense BN, conv-relu-bn": {**_OLD, "model": {**_NO_BN, "order": "conv-relu-bn"}},
    "dense BN, conv-bn-relu": {**_OLD, "model": {**_BN, "order": "conv-bn-relu"}},
    "dense BN, conv-bn-relu, lr 3e-4": {**_OLD, "learning_rate": 3e-4,
                                         "model": {**_BN, "order": "conv-bn-relu"}},
    "dense BN, conv-relu-bn (repeat)": {**_OLD, "model": _BN},
    "weights none": {**_OLD, "class_weight": "none", "model": _BN},
    "weights sqrt": {**_OLD, "model": _BN},
    "weights balanced": {**_OLD, "class_weight": "balanced", "model": _BN},
    "weights sqrt, seed 1": {**_OLD, "seed": 1, "model": _BN},
    "weights sqrt, lr patience 2": {"model": _BN},
}
#: What a run keeps of its training history in the combined file.
RUN_KEYS = ("config", "best_epoch", "epochs_run", "stopped_early", "seconds", "class_weights",
            "epochs")


def slug(name: str) -> str:
    """A setting's file name: ``"weights sqrt, seed 1"`` -> ``"weights-sqrt-seed-1"``."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def pick(settings: str) -> list[str]:
    """``all`` or comma-separated slugs -> setting names (an unknown slug is an error)."""
    by_slug = {slug(n): n for n in SETTINGS}
    if settings == "all":
        return list(SETTINGS)
    names = []
    for s in settings.split(","):
        if s.strip() not in by_slug:
            raise SystemExit(f"train_study.py: error: unknown setting {s.strip()!r}; "
                             f"known: all, {', '.join(by_slug)}")  # fmt: skip
        names.append(by_slug[s.strip()])
    return names


def combine(out: Path, names: list[str], argv: list[str] | None = None) -> dict:
    """The study file: every named setting's history and PublicTest report from ``out``."""
    import emonb  # noqa: F401  (environment guard before Keras)
    from emonb import records

    runs = {}
    for name in names:
        hist = json.loads((out / f"{slug(name)}.history.json").read_text())
        runs[name] = {k: hist[k] for k in RUN_KEYS} | {
            "test": json.loads((out / f"{slug(name)}.test.json").read_text())}
        first = hist
    return {
        "what": f"benchmarks/train_study.py on {first['data']['name']} Training "
                f"({first['data']['train']:,} train / {first['data']['validation']:,} validation); "
                "PublicTest observed per epoch, never used for selection",
        "device": _device(),
        "runs": runs,
        "provenance": records.provenance(argv),
    }


def _device() -> str:
    import keras

    backend = keras.backend.backend()
    try:
        if backend == "jax":
            import jax

            devices = sorted({d.device_kind for d in jax.devices()})
        else:
            import tensorflow as tf

            devices = [d.name for d in tf.config.list_physical_devices("GPU")] or ["CPU"]
    except Exception:  # a description only: never stop the study for it
        devices = ["unknown"]
    return f"{', '.join(devices)}; Keras {keras.__version__} on the {backend} backend"


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
    result = train(faces, out / f"{slug(setting)}.keras", cfg, restart=True, on_epoch=observe,
                   log=lambda line: print(f"[{setting}] {line}", flush=True))  # fmt: skip
    import keras

    best = keras.models.load_model(result.model_path, compile=False)
    proba = np.asarray(best.predict(x_test, batch_size=512, verbose=0))
    report = classification_report(test.labels, proba.argmax(1))
    (out / f"{slug(setting)}.test.json").write_text(json.dumps(report, indent=1))
    print(f"[{setting}] best epoch {result.best_epoch}: PublicTest accuracy "
          f"{report['accuracy']:.4f}, macro-F1 {report['macro_f1']:.4f}", flush=True)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", type=Path, required=True, help="folder for each setting's files")
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--settings", default="weights-none,weights-sqrt,weights-balanced",
                    help=f"'all' or comma-separated from {', '.join(map(slug, SETTINGS))}")
    ap.add_argument("--json", type=Path, default=None, help="write the combined study file")
    ap.add_argument("--combine", action="store_true", help="only combine the files in --out")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        args.out.mkdir(parents=True, exist_ok=True)
        run_one(args.data, args.out, args.epochs, args.one, args.seed)
        return 0
    names = pick(args.settings)
    if not args.combine:
        args.out.mkdir(parents=True, exist_ok=True)
        procs = [
            subprocess.Popen([sys.executable, __file__, "--data", args.data, "--out", str(args.out),
                              "--epochs", str(args.epochs), "--seed", str(args.seed), "--one", n])
            for n in names
        ]  # fmt: skip
        failed = max(p.wait() for p in procs)
        if failed:
            return failed
    if args.json is not None:
        from emonb import records

        command = ["benchmarks/train_study.py", *(sys.argv[1:] if argv is None else argv)]
        records.write_json(combine(args.out, names, command), args.json, indent=2)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
