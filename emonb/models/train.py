"""Train the seed CNN on FER-2013 (or the stand-in): seeded, deterministic, resumable.

One epoch is a pure function of ``(seed, epoch)`` and the state left by the epoch before:
the shuffle order and every augmentation draw come from
``numpy.random.default_rng([seed, epoch])``, so a run interrupted after epoch *k* and
resumed from its checkpoint takes exactly the steps the uninterrupted run takes.

The seed project's Keras callbacks are kept as rules (same meaning and defaults), their
state in a JSON file beside the checkpoint to survive an interruption:

* ModelCheckpoint(monitor="val_accuracy", save_best_only=True): the best epoch's weights
  become the final model;
* ReduceLROnPlateau(monitor="val_loss", factor, patience, min_lr);
* EarlyStopping(monitor="val_loss", patience).

Validation is a stratified, seeded hold-out of the *Training* rows; PublicTest is never
seen during training or model selection, so its accuracy is an honest test figure.

Class imbalance (disgust is 1.5% of FER-2013 Training): class weights in the loss
(:func:`class_weights`; chapter 01).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from emonb import config
from emonb._tf import keras, tf
from emonb.data.fer2013 import FaceDataset
from emonb.errors import EmonbError
from emonb.models.evaluate import classification_report
from emonb.models.seed_cnn import SEED_SPEC, build_seed_cnn
from emonb.models.sources import sidecar_path
from emonb.records import numerics, provenance, write_json

__all__ = [
    "Augment",
    "TrainConfig",
    "TrainResult",
    "augment",
    "book_model",
    "class_weights",
    "default_model_path",
    "fingerprint",
    "history_path",
    "load_history",
    "permuted_labels",
    "train",
    "train_config",
    "training_rows",
    "validation_split",
]

CLASS_WEIGHTS = ("none", "sqrt", "balanced")


@dataclass(frozen=True)
class Augment:
    """Random affine augmentation, as Keras' ImageDataGenerator arguments of the seed.

    ``rotation`` in degrees (uniform in ±rotation), ``shift`` and ``zoom`` as fractions
    (uniform in ±), ``flip`` a horizontal flip with probability 1/2. Borders repeat the
    nearest pixel (``fill_mode="nearest"``).
    """

    rotation: float = 10.0
    shift: float = 0.1
    zoom: float = 0.1
    flip: bool = True


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides the trained weights (with the data and the machine)."""

    epochs: int = 30
    batch_size: int = 64
    learning_rate: float = 1e-3
    seed: int = 0
    val_fraction: float = 0.1
    class_weight: str = "sqrt"
    augment: Augment = field(default_factory=Augment)
    lr_factor: float = 0.5
    lr_patience: int = 2
    min_lr: float = 1e-5
    early_stopping_patience: int = 8
    max_train: int | None = None
    #: Labels permuted among the Training rows (:func:`permuted_labels`): data randomization.
    permute_labels: bool = False
    #: Arguments of :func:`emonb.models.seed_cnn.build_seed_cnn` (architecture variants).
    model: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.class_weight not in CLASS_WEIGHTS:
            raise EmonbError(
                f"class_weight must be one of {', '.join(CLASS_WEIGHTS)}, not {self.class_weight!r}"
            )
        if self.epochs < 1 or self.batch_size < 1:
            raise EmonbError(
                f"epochs and batch_size must be >= 1 (got {self.epochs}, {self.batch_size})"
            )
        if not 0 < self.val_fraction < 0.5:
            raise EmonbError(f"val_fraction must be in (0, 0.5), got {self.val_fraction}")

    def key(self) -> str:
        """Hash of everything but ``epochs``: a run may be resumed with more epochs
        (``permute_labels`` enters only when set, so earlier runs keep their keys)."""
        d = asdict(self)
        d.pop("epochs")
        if not d["permute_labels"]:
            d.pop("permute_labels")
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def train_config(epochs: int = 30, *, quick: bool = False, **kwargs) -> TrainConfig:
    """A :class:`TrainConfig` for the boundary (CLI, chapters), quick mode applied.

    ``quick=True`` trains at most ``QUICK["epochs"]`` epochs on ``QUICK["train_faces"]``
    faces (:data:`emonb.config.QUICK`); ``$EMONB_MAX_STEPS`` caps the epochs in any mode
    (:func:`emonb.config.capped`).
    """
    epochs = config.capped("epochs", int(epochs), quick=quick)
    if quick:
        kwargs["max_train"] = config.capped("train_faces", kwargs.get("max_train"), quick=True)
    return TrainConfig(epochs=epochs, **kwargs)


# ---------------------------------------------------------------- pure array functions


def fingerprint(dataset: FaceDataset) -> str:
    """A short content hash of a dataset's images, labels and usage."""
    h = hashlib.sha256()
    for arr in (dataset.images, dataset.labels, dataset.usage.astype("U16")):
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()[:12]


def stratified_sample(labels: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of ``n`` rows keeping each class's share (at least one per class present)."""
    if n >= labels.size:
        return np.arange(labels.size)
    picks = []
    classes, counts = np.unique(labels, return_counts=True)
    for c, k in zip(classes, counts, strict=True):
        rows = np.flatnonzero(labels == c)
        take = max(1, round(n * k / labels.size))
        picks.append(rng.choice(rows, size=min(take, rows.size), replace=False))
    return np.sort(np.concatenate(picks))


def balanced_sample(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of up to ``per_class`` rows of every class (all rows of a rarer one),
    so that each class gets enough faces for its own interval."""
    if per_class < 1:
        raise ValueError(f"per_class must be at least 1, got {per_class}")
    picks = [rng.permutation(np.flatnonzero(labels == c))[:per_class] for c in np.unique(labels)]
    return np.sort(np.concatenate(picks)) if picks else np.zeros(0, np.int64)


def permuted_labels(labels: np.ndarray, seed: int) -> np.ndarray:
    """``labels`` in a seeded random order: each class keeps its count, no label its face.
    References: Adebayo et al. (2018), "Sanity checks for saliency maps"."""
    labels = np.asarray(labels)
    return labels[np.random.default_rng([seed, 15485863]).permutation(labels.size)]


def validation_split(
    labels: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified, seeded ``(train_rows, val_rows)`` split of ``labels``' rows."""
    rng = np.random.default_rng([seed, 7919])
    val = stratified_sample(labels, round(fraction * labels.size), rng)
    train = np.setdiff1d(np.arange(labels.size), val)
    return train, val


def class_weights(labels: np.ndarray, mode: str = "sqrt", n_classes: int = 7) -> np.ndarray:
    """Per-class loss weights (n_classes,), scaled so the average weight per *face* is 1.

    * ``none``: all 1; the model learns the data's priors (disgust rarely predicted);
    * ``balanced``: inversely proportional to the class count (sklearn's "balanced"),
      every class weighs the same in the loss; disgust gets ~9x;
    * ``sqrt``: the square root of ``balanced``; rare classes are up-weighted, but
      less, trading a little accuracy for much better rare-class recall.

    Keeping the mean per-face weight at 1 keeps the loss scale, so the learning rate
    means the same thing in all three modes.
    """
    if mode not in CLASS_WEIGHTS:
        raise EmonbError(f"class_weight must be one of {', '.join(CLASS_WEIGHTS)}, not {mode!r}")
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    if mode == "none":
        w = np.ones(n_classes)
    else:
        w = np.where(counts > 0, counts.sum() / (n_classes * np.maximum(counts, 1)), 0.0)
        if mode == "sqrt":
            w = np.sqrt(w)
    return (w * counts.sum() / (w * counts).sum()).astype(np.float32)


def augment(
    images: np.ndarray, rng: np.random.Generator, params: Augment = Augment()
) -> np.ndarray:
    """Randomly rotated, shifted, zoomed and flipped copies of (N, H, W) images.

    Returns float32 in the input's scale. Deterministic given ``rng``'s state; draws
    6 numbers per image (angle, zoom, dx, dy, flip, unused) whatever ``params`` say, so
    switching one augmentation off does not change the others' draws.
    """
    n, h, w = images.shape
    u = rng.uniform(-1.0, 1.0, size=(n, 6))
    out = np.empty((n, h, w), np.float32)
    centre = ((w - 1) / 2.0, (h - 1) / 2.0)
    src = images.astype(np.float32, copy=False)
    for i in range(n):
        angle = params.rotation * u[i, 0]
        scale = 1.0 + params.zoom * u[i, 1]
        m = cv2.getRotationMatrix2D(centre, angle, scale)
        m[0, 2] += params.shift * w * u[i, 2]
        m[1, 2] += params.shift * h * u[i, 3]
        if params.flip and u[i, 4] > 0:
            m[0] = -m[0]
            m[0, 2] += w - 1
        out[i] = cv2.warpAffine(src[i], m, (w, h), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    return out


def training_rows(
    dataset: FaceDataset, cfg: TrainConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The faces :func:`train` learns from: ``(images, labels, train_idx, val_idx)``.

    The *Training* rows (all rows if the data has no usage column), in quick mode a
    stratified sample of ``cfg.max_train`` of them, then split into training and
    validation indices by :func:`validation_split`; with ``cfg.permute_labels`` the labels
    of all those rows are then permuted (:func:`permuted_labels`): the same rows and split
    as with the true labels.
    """
    train_ds = dataset.split("Training") if "Training" in set(dataset.usage.tolist()) else dataset
    rows = np.arange(len(train_ds))
    if cfg.max_train is not None:
        rng = np.random.default_rng([cfg.seed, 104729])
        rows = stratified_sample(train_ds.labels, cfg.max_train, rng)
    images, labels = train_ds.images[rows], train_ds.labels[rows]
    tr, va = validation_split(labels, cfg.val_fraction, cfg.seed)
    if cfg.permute_labels:
        labels = permuted_labels(labels, cfg.seed)
    return images, labels, tr, va


# ---------------------------------------------------------------- files


def history_path(model_path: str | os.PathLike[str]) -> Path:
    """``model.keras`` -> ``model.history.json`` (written beside the model)."""
    p = Path(model_path)
    return p.with_name(p.stem + ".history.json")


def _checkpoint_dir(model_path: Path) -> Path:
    return model_path.with_name(model_path.name + ".ckpt")


def default_model_path(dataset: FaceDataset, seed: int = 0, quick: bool = False,
                       permute_labels: bool = False) -> Path:  # fmt: skip
    """Where the book keeps the seed CNN trained on ``dataset`` (on its permuted labels:
    ``-permuted``): the cache, keyed by data, seed, mode and :func:`emonb.records.numerics`
    (a model trained under other numerics, e.g. before op determinism or with another
    thread count, has other weights: it is not reused)."""
    tag = "synthetic" if dataset.synthetic else "fer2013"
    key = hashlib.sha256(json.dumps(numerics(), sort_keys=True).encode()).hexdigest()[:8]
    name = (f"seed_cnn-{tag}-{fingerprint(dataset)}-s{seed}{'-quick' if quick else ''}-n{key}"
            f"{'-permuted' if permute_labels else ''}.keras")  # fmt: skip
    return config.cache_dir() / "trained" / name


def book_model(dataset: FaceDataset, *, epochs: int = 28, seed: int = 0, quick: bool = False,
               permute_labels: bool = False,
               log: Callable[[str], None] | None = print) -> Path:  # fmt: skip
    """The seed CNN chapter 01 trains on ``dataset`` (:func:`default_model_path`); trained
    here the way chapter 01 does (:func:`train_config`) if it is not in the cache yet.
    ``permute_labels``: the same, on permuted labels (chapter 08's data randomization)."""
    path = default_model_path(dataset, seed, quick=quick, permute_labels=permute_labels)
    cfg = train_config(epochs, quick=quick, seed=seed, permute_labels=permute_labels)  # caps noted
    if not path.is_file():
        if log:
            log(f"no trained seed CNN for this data yet; training it now ({path.name})")
        train(dataset, path, cfg, log=None)
    return path


def load_history(model_path: str | os.PathLike[str]) -> dict:
    """The history JSON written beside a trained model."""
    p = history_path(model_path)
    if not p.is_file():
        raise EmonbError(f"{p}: no training history (train with `emonb train --out {model_path}`)")
    return json.loads(p.read_text(encoding="utf-8"))


def _machine() -> dict:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "tensorflow": None if tf is None else tf.__version__,
    }


# ---------------------------------------------------------------- training


@dataclass
class _State:
    """What the callbacks-as-rules carry from epoch to epoch (saved as JSON)."""

    config_key: str
    data: str
    epoch: int = 0
    lr: float = 1e-3
    best_accuracy: float = -1.0
    best_epoch: int = 0
    loss_best: float = math.inf  # best val_loss so far (both loss rules monitor it)
    plateau_wait: int = 0
    stop_wait: int = 0
    stopped_early: bool = False
    checkpoint: str | None = None
    seconds: float = 0.0
    resumed_at: list[int] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class TrainResult:
    """A finished (or resumed-and-finished) training run."""

    model_path: Path
    history: dict

    @property
    def best_epoch(self) -> int:
        return int(self.history["best_epoch"])

    @property
    def val_accuracy(self) -> float:
        return float(self.history["best_val_accuracy"])


def _seed_generators(model: keras.Model) -> list:
    """The dropout layers' random streams, whose state a resumed run must restore."""
    return [layer.seed_generator for layer in model.layers if hasattr(layer, "seed_generator")]


def _save_checkpoint(model: keras.Model, ckpt: Path, state: _State) -> None:
    name = f"epoch-{state.epoch:03d}.keras"
    model.save(ckpt / name)
    rng_state = [np.asarray(g.state.numpy() if hasattr(g.state, "numpy") else g.state).tolist()
                 for g in _seed_generators(model)]  # fmt: skip
    previous, state.checkpoint = state.checkpoint, name
    write_json({**asdict(state), "rng": rng_state}, ckpt / "state.json", strict=False)
    if previous and previous != name:
        (ckpt / previous).unlink(missing_ok=True)


def _read_state(ckpt: Path, key: str, data: str) -> tuple[_State, list] | None:
    """The saved rule state and dropout RNG state, or None without a checkpoint."""
    path = ckpt / "state.json"
    if not path.is_file():
        return None
    raw = json.loads(path.read_text(encoding="utf-8"))
    rng_state = raw.pop("rng", [])
    try:
        state = _State(**raw)
    except TypeError:  # fields this version does not know (another emonb wrote it)
        raise EmonbError(
            f"{path}: not a training state this emonb can read; delete {ckpt} or train with --restart"
        ) from None
    if state.config_key != key or state.data != data:
        raise EmonbError(
            f"{ckpt}: checkpoint of a different run (other data or settings); "
            "delete it or train with --restart"
        )
    return state, rng_state


def _load_model(ckpt: Path, state: _State, rng_state: list) -> keras.Model:
    """The checkpointed model with its optimizer and dropout streams, ready to go on."""
    model = keras.models.load_model(ckpt / state.checkpoint, compile=True)
    for gen, value in zip(_seed_generators(model), rng_state, strict=True):
        gen.state.assign(np.asarray(value, dtype=gen.state.dtype))
    return model


def _compile(model: keras.Model, lr: float) -> None:
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=lr),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
        # XLA is ~13x slower than the oneDNN path on this CPU; other backends decide.
        jit_compile=False if keras.backend.backend() == "tensorflow" else "auto",
    )


def _train_epoch(model: keras.Model, x: np.ndarray, y: np.ndarray, w: np.ndarray,
                 batch_size: int) -> tuple[float, float]:  # fmt: skip
    """One pass in order, batch by batch; returns the epoch's mean weighted loss and accuracy.

    ``train_on_batch`` rather than ``fit``: no tf.data pipeline (whose C++ warnings would
    land in notebook outputs), and the same code on every Keras backend.
    """
    total_loss = total_acc = 0.0
    for start in range(0, len(x), batch_size):
        sl = slice(start, start + batch_size)
        loss, acc = model.train_on_batch(x[sl], y[sl], sample_weight=w[sl])
        n = len(x[sl])
        total_loss += float(loss) * n
        total_acc += float(acc) * n
    return total_loss / len(x), total_acc / len(x)


def _val_metrics(model: keras.Model, x: np.ndarray, y: np.ndarray, batch_size: int) -> dict:
    # predict_on_batch per batch, not predict: predict's tf.data pipeline logs a C++ error
    # line (into notebook outputs) when op determinism is on; the same function, same values
    b = max(batch_size, 256)
    proba = np.concatenate([np.asarray(model.predict_on_batch(x[s : s + b]), np.float64)
                            for s in range(0, len(x), b)])  # fmt: skip
    loss = float(-np.mean(np.log(np.clip(proba[np.arange(y.size), y], 1e-7, 1.0))))
    rep = classification_report(y, proba.argmax(1), n_classes=proba.shape[1])
    return {"val_loss": loss, "val_accuracy": rep["accuracy"], "val_macro_f1": rep["macro_f1"]}


def _update_rules(state: _State, cfg: TrainConfig, rec: dict) -> list[str]:
    """Apply ModelCheckpoint / ReduceLROnPlateau / EarlyStopping to one epoch's record."""
    notes = []
    if rec["val_accuracy"] > state.best_accuracy:
        state.best_accuracy, state.best_epoch = rec["val_accuracy"], rec["epoch"]
        notes.append("best")
    min_delta = 1e-4  # Keras' default for both callbacks
    if rec["val_loss"] < state.loss_best - min_delta:
        state.loss_best, state.plateau_wait, state.stop_wait = rec["val_loss"], 0, 0
        return notes
    state.plateau_wait += 1
    if state.plateau_wait >= cfg.lr_patience and state.lr > cfg.min_lr:
        state.lr = max(state.lr * cfg.lr_factor, cfg.min_lr)
        state.plateau_wait = 0
        notes.append(f"lr -> {state.lr:.2e}")
    state.stop_wait += 1
    if state.stop_wait >= cfg.early_stopping_patience:
        state.stopped_early = True
        notes.append("early stop")
    return notes


def train(
    dataset: FaceDataset,
    out: str | os.PathLike[str],
    cfg: TrainConfig | None = None,
    *,
    restart: bool = False,
    log: Callable[[str], None] | None = print,
    stop_after: int | None = None,
    on_epoch: Callable[[keras.Model, dict], None] | None = None,
) -> TrainResult:
    """Train the seed CNN on ``dataset``'s Training rows and write ``out`` (``.keras``).

    Writes, beside ``out``: ``<name>.history.json`` (settings, per-epoch metrics, timings,
    provenance), the sidecar (how to prepare images; provenance) and ``<name>.keras.ckpt/``.
    An existing checkpoint of the same data and settings is resumed (``restart=True``
    discards it); a finished run returns its model and history without loading anything,
    and asking for more ``epochs`` continues it. ``stop_after`` ends this call after that many epochs (to test resuming).
    ``log`` receives one line per epoch (None: silent). ``on_epoch(model, record)`` is
    called after each epoch's validation and may add observations to the record (the
    observations are logged only; nothing here reads them, so they cannot influence
    training or model selection).
    """
    cfg = cfg or TrainConfig()
    say = log or (lambda _line: None)
    out = Path(out).expanduser()
    if out.suffix != ".keras":
        raise EmonbError(f"{out}: the model file must end in .keras")
    out.parent.mkdir(parents=True, exist_ok=True)
    ckpt = _checkpoint_dir(out)
    if restart and ckpt.exists():
        shutil.rmtree(ckpt)
    ckpt.mkdir(exist_ok=True)

    data_id = fingerprint(dataset)
    saved = _read_state(ckpt, cfg.key(), data_id)
    if saved is not None and (saved[0].epoch >= cfg.epochs or saved[0].stopped_early):
        state = saved[0]
        say(f"{out}: already trained ({state.epoch} epochs"
            f"{', stopped early' if state.stopped_early else ''}); restart=True trains afresh")  # fmt: skip
        if out.is_file() and history_path(out).is_file():
            return TrainResult(model_path=out, history=load_history(out))

    images, labels, tr, va = training_rows(dataset, cfg)
    n_classes = len(dataset.class_names)
    weights = class_weights(labels[tr], cfg.class_weight, n_classes)
    x_val = (images[va].astype(np.float32) / 255.0)[..., None]
    y_val = labels[va]
    keras.utils.set_random_seed(cfg.seed)
    if saved is None:
        state = _State(config_key=cfg.key(), data=data_id, lr=cfg.learning_rate)
        model = build_seed_cnn((*images.shape[1:], 1), n_classes, seed=cfg.seed, **cfg.model)
        _compile(model, cfg.learning_rate)
        say(f"training the seed CNN ({model.count_params():,} parameters) on {len(tr):,} "
            f"{dataset.name} faces, validating on {len(va):,}; class weights "
            f"{cfg.class_weight}: " + ", ".join(f"{c} {w:.2f}" for c, w in zip(dataset.class_names, weights, strict=True)))  # fmt: skip
    else:
        state, model = saved[0], _load_model(ckpt, *saved)
        if state.epoch < cfg.epochs and not state.stopped_early:
            state.resumed_at.append(state.epoch)
            say(f"resuming from {ckpt / str(state.checkpoint)} after epoch {state.epoch}")

    y_onehot = np.eye(n_classes, dtype=np.float32)
    done_here = 0
    while state.epoch < cfg.epochs and not state.stopped_early:
        if stop_after is not None and done_here >= stop_after:
            break
        epoch = state.epoch + 1
        t0 = time.perf_counter()
        rng = np.random.default_rng([cfg.seed, epoch])
        order = tr[rng.permutation(tr.size)]
        x = (augment(images[order], rng, cfg.augment) / 255.0)[..., None]
        y = labels[order]
        model.optimizer.learning_rate.assign(state.lr)
        loss, acc = _train_epoch(model, x, y_onehot[y], weights[y], cfg.batch_size)
        rec = {
            "epoch": epoch,
            "loss": loss,
            "accuracy": acc,
            **_val_metrics(model, x_val, y_val, cfg.batch_size),
            "lr": state.lr,
        }
        if on_epoch is not None:
            on_epoch(model, rec)
        state.epoch = epoch
        notes = _update_rules(state, cfg, rec)
        if "best" in notes:
            model.save_weights(ckpt / "best.weights.h5")
        rec["seconds"] = round(time.perf_counter() - t0, 2)
        state.seconds += rec["seconds"]
        state.history.append(rec)
        _save_checkpoint(model, ckpt, state)
        done_here += 1
        say(f"epoch {epoch:3d}/{cfg.epochs}  loss {rec['loss']:.4f}  acc {rec['accuracy']:.4f}  "
            f"val_loss {rec['val_loss']:.4f}  val_acc {rec['val_accuracy']:.4f}  "
            f"val_f1 {rec['val_macro_f1']:.4f}  lr {rec['lr']:.1e}  {rec['seconds']:.1f}s"
            + (f"  [{', '.join(notes)}]" if notes else ""))  # fmt: skip

    finished = state.epoch >= cfg.epochs or state.stopped_early
    history = {
        "model": str(out),
        "finished": finished,
        "config": asdict(cfg),
        "data": {
            "source": dataset.source,
            "name": dataset.name,
            "fingerprint": data_id,
            "train": int(tr.size),
            "validation": int(va.size),
        },  # fmt: skip
        "class_weights": dict(zip(dataset.class_names, map(float, weights), strict=True)),
        "parameters": int(model.count_params()),
        "epochs_run": state.epoch,
        "best_epoch": state.best_epoch,
        "best_val_accuracy": state.best_accuracy,
        "stopped_early": state.stopped_early,
        "resumed_at": state.resumed_at,
        "seconds": round(state.seconds, 1),
        "machine": _machine(),
        "provenance": provenance(),
        "epochs": state.history,
    }
    if finished:
        best = build_seed_cnn((*images.shape[1:], 1), n_classes, seed=cfg.seed, **cfg.model)
        best.load_weights(ckpt / "best.weights.h5")
        tmp = out.with_name(out.stem + ".tmp.keras")
        best.save(tmp)
        os.replace(tmp, out)
        spec = {**SEED_SPEC, "input_size": list(images.shape[1:]),
                "class_names": list(dataset.class_names), "provenance": history["provenance"]}  # fmt: skip
        write_json(spec, sidecar_path(out))
    write_json(history, history_path(out))
    return TrainResult(model_path=out, history=history)
