"""``emonb train``: train the seed CNN (resuming an interrupted run)."""

from __future__ import annotations

import argparse
from pathlib import Path

from emonb.cli.argtypes import whole
from emonb.cli.checks import check_output
from emonb.errors import EmonbError


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("train",
                       help="train the seed CNN (resumes an interrupted run from its checkpoint)")  # fmt: skip
    p.add_argument("--data", required=True,
                   help="FER-2013 .csv, image folder or .npz ('synthetic': the stand-in)")  # fmt: skip
    p.add_argument("--out", type=Path, required=True, help="model file to write (.keras)")
    p.add_argument("--epochs", type=whole(1), default=30, help="epochs (default 30)")
    p.add_argument("--quick", action="store_true",
                   help="at most 2 epochs on 2,000 faces (a pipeline check, as CI runs it)")  # fmt: skip
    p.add_argument("--seed", type=whole(0), default=0,
                   help="seed of weights, dropout, split, augmentation")  # fmt: skip
    p.add_argument("--batch-size", type=whole(1), default=64, help="batch size (default 64)")
    p.add_argument("--class-weight", choices=("none", "sqrt", "balanced"), default="sqrt",
                   help="class weights in the loss (default sqrt; see chapter 01)")  # fmt: skip
    p.add_argument("--restart", action="store_true", help="discard an existing checkpoint")
    return p


def run(args: argparse.Namespace) -> int:
    from emonb import config
    from emonb.data.fer2013 import load_faces

    if args.out.suffix != ".keras":
        raise EmonbError(f"{args.out}: the model file must end in .keras")
    check_output(args.out, "--out")
    faces = load_faces(args.data)
    faces.split("Training")  # the seed CNN trains on the Training rows
    from emonb.models.train import history_path, train, train_config

    cfg = train_config(args.epochs, quick=args.quick or config.is_quick(), seed=args.seed,
                       batch_size=args.batch_size, class_weight=args.class_weight)  # fmt: skip
    if faces.synthetic:
        print("note: training on the synthetic stand-in, not FER-2013")
    try:
        result = train(faces, args.out, cfg, restart=args.restart,
                       log=lambda s: print(s, flush=True))  # fmt: skip
    except KeyboardInterrupt:
        raise EmonbError(
            "interrupted; run the same command again to resume from the last finished epoch"
        ) from None
    h = result.history
    print(f"wrote {result.model_path} (best epoch {h['best_epoch']}, val accuracy "
          f"{h['best_val_accuracy']:.4f}; {h['epochs_run']} epochs, {h['seconds']:.0f} s of training)")  # fmt: skip
    print(f"history: {history_path(result.model_path)}")
    return 0
