"""Choose the seed CNN's training settings on validation data, across seeds: chapter 01's study.

A study, not part of the book build. Each setting is trained once per seed on a stratified
sample of FER-2013's *Training* rows (``--max-train``) for a short budget (``--epochs``);
every run picks its epoch by validation accuracy (the seeded tenth of the sample that
:func:`emonb.models.train.validation_split` holds out), and its validation accuracy,
macro-F1 and per-class recall at that epoch are recorded. PublicTest is never loaded.
The settings answer chapter 01's two questions:

1. How should class imbalance be handled? (``none`` / ``sqrt`` / ``balanced`` weights)
2. Does the seed's recipe, without batch normalisation after the dense layers, train?

Runs are sequential (a 2-core CPU has no room for two) and resumable: each run's files
stay in ``--out`` and a finished run is not trained again::

    nice python benchmarks/train_study.py --data FER2013 --out study/ \
        --json benchmarks/seed_cnn_study_cpu.json

(the defaults: 4 settings x seeds 0, 1, 2, 8,000 faces, 4 epochs; about half an hour on an
idle 2-core CPU). The combined file holds every run and the command, commit, date and
machine that made it; chapter 01 computes the seed intervals and the choice from it with
:mod:`emonb.models.selection`.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

_NO_BN = {"order": "conv-bn-relu", "dense_bn": False}

#: Named settings, in the book's words: TrainConfig arguments (seed, epochs and sample aside).
SETTINGS: dict[str, dict] = {
    "weights none": {"class_weight": "none"},
    "weights sqrt": {"class_weight": "sqrt"},
    "weights balanced": {"class_weight": "balanced"},
    "seed recipe (no dense BN), weights sqrt": {"class_weight": "sqrt", "model": _NO_BN},
}
#: What a run keeps of its training history in the combined file.
RUN_KEYS = ("config", "best_epoch", "epochs_run", "stopped_early", "seconds", "epochs")


def slug(name: str) -> str:
    """A setting's file name: ``"weights sqrt"`` -> ``"weights-sqrt"``."""
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


def config(setting: str, seed: int, epochs: int, max_train: int):
    """The run's :class:`~emonb.models.train.TrainConfig`."""
    from emonb.models.train import TrainConfig

    return TrainConfig(epochs=epochs, seed=seed, max_train=max_train, **SETTINGS[setting])


def run_one(faces, out: Path, setting: str, seed: int, epochs: int, max_train: int) -> dict:
    """Train one setting with one seed (resuming its files in ``out``) and score it on its
    validation rows: the run's record for the study file."""
    import keras
    import numpy as np

    from emonb.models.evaluate import classification_report
    from emonb.models.train import train, training_rows

    cfg = config(setting, seed, epochs, max_train)
    path = out / f"{slug(setting)}-seed{seed}.keras"
    result = train(faces, path, cfg, log=lambda line: print(f"[{setting}, seed {seed}] {line}",
                                                            flush=True))  # fmt: skip
    images, labels, _, va = training_rows(faces, cfg)
    best = keras.models.load_model(result.model_path, compile=False)
    x = (images[va].astype(np.float32) / 255.0)[..., None]
    pred = np.concatenate([np.asarray(best.predict_on_batch(x[s : s + 512])).argmax(1)
                           for s in range(0, len(x), 512)])  # fmt: skip
    report = classification_report(labels[va], pred, n_classes=len(faces.class_names))
    hist = result.history
    return {k: hist[k] for k in RUN_KEYS} | {
        "seed": seed,
        "data": hist["data"],
        "validation": {
            "accuracy": report["accuracy"],
            "macro_f1": report["macro_f1"],
            "recall": {c: report["per_class"][c]["recall"] for c in faces.class_names},
            "predicted_classes": int(np.unique(pred).size),
        },
    }


def study(data: str | None, out: Path, names: list[str], seeds: list[int], epochs: int,
          max_train: int, argv: list[str] | None = None) -> dict:
    """Every named setting with every seed, then the study file (not yet written)."""
    import emonb  # noqa: F401  (environment guard before Keras)
    from emonb import records
    from emonb.data.fer2013 import load_faces

    faces = load_faces(data)
    out.mkdir(parents=True, exist_ok=True)
    runs = {name: {str(seed): run_one(faces, out, name, seed, epochs, max_train) for seed in seeds}
            for name in names}  # fmt: skip
    first = next(iter(next(iter(runs.values())).values()))["data"]
    return {
        "what": f"benchmarks/train_study.py on a stratified sample of {first['train'] + first['validation']:,} "
                f"{first['name']} Training faces ({first['train']:,} train / {first['validation']:,} "
                f"validation), {epochs} epochs, seeds {', '.join(map(str, seeds))}; every score is on "
                "the validation rows, PublicTest is never loaded",
        "settings": {name: SETTINGS[name] for name in names},
        "seeds": seeds,
        "epochs": epochs,
        "max_train": max_train,
        "runs": runs,
        "provenance": records.provenance(argv),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None, help="FER-2013 (default: $EMONB_FER2013)")
    ap.add_argument("--out", type=Path, required=True, help="folder for each run's files")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--max-train", type=int, default=8000, help="Training faces sampled")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--settings", default="all",
                    help=f"'all' or comma-separated from {', '.join(map(slug, SETTINGS))}")
    ap.add_argument("--json", type=Path, required=True, help="the combined study file")
    args = ap.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    command = ["benchmarks/train_study.py", *(sys.argv[1:] if argv is None else argv)]
    result = study(args.data, args.out, pick(args.settings), seeds, args.epochs, args.max_train,
                   command)  # fmt: skip
    from emonb import records

    records.write_json(result, args.json, indent=2)
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
