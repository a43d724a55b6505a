"""Accuracy, per-class precision/recall/F1, confusion matrices and confident mistakes.

:func:`classification_report` is a pure NumPy function of labels; :func:`evaluate` runs
any :class:`~emonb.models.zoo.EmotionModel` (each with its own preprocessing) over a
:class:`~emonb.data.fer2013.FaceDataset` and keeps the probabilities for later questions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from emonb.config import CLASS_NAMES
from emonb.data.fer2013 import FaceDataset
from emonb.errors import EmonbError
from emonb.models.runner import predict_proba

__all__ = ["Evaluation", "classification_report", "confusion_matrix", "evaluate"]


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts (n_classes, n_classes): rows are true classes, columns predicted ones."""
    y_true, y_pred = np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} differ in shape")
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes**2).reshape(
        n_classes, n_classes
    )


def classification_report(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int = 7,
                          class_names: Sequence[str] | None = None) -> dict:  # fmt: skip
    """Accuracy, macro-F1, per-class precision/recall/F1/support and the confusion matrix.

    A class never predicted has precision 0, one absent from ``y_true`` recall 0 (as
    scikit-learn's ``zero_division=0``); macro-F1 averages over the classes present in
    ``y_true``.
    """
    names = list(
        class_names or (CLASS_NAMES if n_classes == len(CLASS_NAMES) else range(n_classes))
    )
    cm = confusion_matrix(y_true, y_pred, n_classes)
    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    present = support > 0
    return {
        "n": int(support.sum()),
        "accuracy": float(tp.sum() / max(support.sum(), 1)),
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "per_class": {
            str(name): {
                "precision": float(p),
                "recall": float(r),
                "f1": float(f),
                "support": int(s),
            }
            for name, p, r, f, s in zip(names, precision, recall, f1, support, strict=True)
        },
        "class_names": [str(n) for n in names],
        "confusion_matrix": cm.tolist(),
    }


@dataclass(frozen=True)
class Evaluation:
    """One model on one set of faces: probabilities kept, metrics derived."""

    model: str
    data: str
    split: str | None
    labels: np.ndarray
    proba: np.ndarray
    class_names: tuple[str, ...]

    @property
    def predicted(self) -> np.ndarray:
        return self.proba.argmax(axis=1)

    @cached_property
    def report(self) -> dict:
        return classification_report(
            self.labels, self.predicted, len(self.class_names), self.class_names
        )

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.predicted == self.labels))

    @property
    def macro_f1(self) -> float:
        return self.report["macro_f1"]

    def to_json(self) -> dict:
        """What ``emonb evaluate --json`` writes."""
        return {"model": self.model, "data": self.data, "split": self.split, **self.report}

    def table(self):
        """Per-class precision, recall (= per-class accuracy), F1 and support (DataFrame)."""
        import pandas as pd

        rep = self.report
        df = pd.DataFrame(rep["per_class"]).T
        df["support"] = df["support"].astype(int)
        df.loc["macro avg"] = [
            df["precision"].mean(),
            df["recall"].mean(),
            rep["macro_f1"],
            rep["n"],
        ]
        df["support"] = df["support"].astype(int)
        return df

    def confusion(self, normalize: bool = False):
        """Confusion matrix as a DataFrame (rows true, columns predicted); rows sum to 1 if normalized."""
        import pandas as pd

        cm = np.asarray(self.report["confusion_matrix"], dtype=np.float64)
        if normalize:
            cm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
        else:
            cm = cm.astype(int)
        names = list(self.class_names)
        return pd.DataFrame(
            cm, index=pd.Index(names, name="true"), columns=pd.Index(names, name="predicted")
        )

    def confident_mistakes(self, k: int = 12, true: str | None = None,
                           predicted: str | None = None) -> np.ndarray:  # fmt: skip
        """Row indices of the ``k`` wrong predictions made with the highest probability.

        ``true`` / ``predicted`` restrict to one confusion (e.g. ``happy`` -> ``neutral``).
        Ties are broken by row index, so the result is deterministic.
        """
        wrong = self.predicted != self.labels
        if true is not None:
            wrong &= self.labels == self.class_names.index(true)
        if predicted is not None:
            wrong &= self.predicted == self.class_names.index(predicted)
        rows = np.flatnonzero(wrong)
        score = self.proba[rows, self.predicted[rows]]
        return rows[np.lexsort((rows, -score))][:k]


def evaluate(
    model, dataset: FaceDataset, split: str | None = None, batch_size: int = 256
) -> Evaluation:
    """Run ``model`` (an :class:`~emonb.models.zoo.EmotionModel`) over ``dataset``.

    ``split`` selects one usage (``PublicTest``...); None uses every row. The model's own
    :class:`~emonb.models.ModelSpec` prepares the 48x48 faces (resized, scaled).
    """
    faces = dataset.split(split) if split else dataset
    if tuple(model.class_names) != tuple(faces.class_names):
        raise EmonbError(
            f"model {model.name} predicts {', '.join(model.class_names)}; the data has "
            f"{', '.join(faces.class_names)}"
        )
    proba = predict_proba(model, faces.images, batch_size=batch_size)
    return Evaluation(model=model.name, data=faces.source, split=split, labels=faces.labels,
                      proba=proba, class_names=tuple(faces.class_names))  # fmt: skip
