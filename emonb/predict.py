"""Classify the faces in a photograph: detection, crop, model, probabilities."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from emonb.faces import DEFAULT_DETECTOR, Box, crop, find_faces, is_face_crop
from emonb.models.runner import predict_proba
from emonb.models.zoo import EmotionModel

__all__ = ["FacePrediction", "classify_faces", "predictions_table"]


@dataclass(frozen=True)
class FacePrediction:
    """One face's box (None = the whole image: ``--no-detect``, or an image that is
    already a face crop, :func:`emonb.faces.is_face_crop`) and class probabilities."""

    box: Box | None
    proba: np.ndarray
    class_names: tuple[str, ...]

    @property
    def emotion(self) -> str:
        return self.class_names[int(self.proba.argmax())]

    @property
    def score(self) -> float:
        return float(self.proba.max())


def classify_faces(net: EmotionModel, image: np.ndarray, *, detect: bool = True,
                   largest_only: bool = False,
                   detector: str = DEFAULT_DETECTOR) -> list[FacePrediction]:  # fmt: skip
    """Predictions for every face ``detector`` finds (:func:`emonb.faces.find_faces`),
    largest first (one batch through the model).

    ``detect=False`` classifies the whole image, and so does an image that is already a
    face crop at about the model's input size (:func:`emonb.faces.is_face_crop`, e.g. a
    48x48 FER-2013 face): its prediction's ``box`` is None. An image without a detected
    face gives [].
    """
    if not detect or is_face_crop(np.shape(image), net.spec.input_size):
        return [FacePrediction(None, predict_proba(net, image)[0], net.class_names)]
    boxes = find_faces(image, detector=detector)
    if largest_only:
        boxes = boxes[:1]
    if not boxes:
        return []
    proba = predict_proba(net, [crop(image, b) for b in boxes])
    return [FacePrediction(b, p, net.class_names) for b, p in zip(boxes, proba, strict=True)]


def predictions_table(results: Mapping[str, list[FacePrediction]], decimals: int = 2):
    """One row per face (index: image, face), probabilities rounded, and the predicted class."""
    import pandas as pd

    rows = []
    for name, preds in results.items():
        for i, p in enumerate(preds):
            box = "whole image" if p.box is None else "{},{} {}x{}".format(*p.box.as_tuple())
            probs = {
                c: round(float(v), decimals) for c, v in zip(p.class_names, p.proba, strict=True)
            }
            rows.append({"image": name, "face": i, "box": box, **probs, "predicted": p.emotion})
    return pd.DataFrame(rows).set_index(["image", "face"])
