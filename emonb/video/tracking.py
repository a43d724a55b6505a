"""Following faces from frame to frame, and the smoothed label of each.

:func:`iou` and :class:`FaceTracker` give every face a track id; an
:class:`EmotionSmoother` per track turns the model's per-frame probabilities into the
exported label; a :class:`TrackedFace` is one face in one frame.

**The smoothing rule** (the exported label): a face's probabilities are averaged over its
last ``window`` frames (default 5, about 0.2 s at 24 fps); the label switches to the
class of highest average only after that class has led for ``patience`` consecutive
frames (default 6, a quarter of a second at 24 fps). Until then patches keep being saved
under the current emotion, so a few noisy frames never flip the label, and a real change
shows about ``patience`` frames late. (On the book's clip, patience 3 let the sad/fear
boundary flicker: 8 changes instead of 4.)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from emonb.anatomy.regions import AU_NAMES
from emonb.faces import Box

__all__ = ["EmotionSmoother", "FaceTracker", "TrackedFace", "iou", "label_changes"]


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    ix = max(0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    inter = ix * iy
    union = a.area + b.area - inter
    return inter / union if union else 0.0


class FaceTracker:
    """Gives each face a track id by matching boxes to the previous ones (greedy, by IoU).

    A box overlapping a live track by at least ``min_iou`` continues it (largest overlaps
    first); other boxes start new tracks. A track not seen for more than ``max_missed``
    frames ends, so its id is never reused.
    """

    def __init__(self, min_iou: float = 0.3, max_missed: int = 12):
        self.min_iou, self.max_missed = float(min_iou), int(max_missed)
        self._live: dict[int, tuple[Box, int]] = {}  # id -> (last box, frames since seen)
        self._next = 0

    def update(self, boxes: Sequence[Box]) -> list[int]:
        """Track ids of ``boxes``, in their order."""
        pairs = sorted(
            ((iou(b, last), i, t) for i, b in enumerate(boxes)
             for t, (last, _) in self._live.items()),
            key=lambda p: (-p[0], p[1], p[2]),
        )  # fmt: skip
        ids: list[int | None] = [None] * len(boxes)
        used: set[int] = set()
        for overlap, i, t in pairs:
            if overlap < self.min_iou:
                break
            if ids[i] is None and t not in used:
                ids[i] = t
                used.add(t)
        for i in range(len(boxes)):
            if ids[i] is None:
                ids[i] = self._next
                self._next += 1
        for t in list(self._live):
            if t not in ids:
                box, missed = self._live[t]
                if missed + 1 > self.max_missed:
                    del self._live[t]
                else:
                    self._live[t] = (box, missed + 1)
        for t, b in zip(ids, boxes, strict=True):
            self._live[t] = (b, 0)
        return [int(t) for t in ids]


class EmotionSmoother:
    """The exported label of one face: see the module's smoothing rule."""

    def __init__(self, window: int = 5, patience: int = 6):
        if window < 1 or patience < 1:
            raise ValueError(f"window and patience must be >= 1, got {window}, {patience}")
        self.window, self.patience = int(window), int(patience)
        self._recent: deque[np.ndarray] = deque(maxlen=self.window)
        self.label: int | None = None
        self._candidate: int | None = None
        self._streak = 0

    def update(self, proba: np.ndarray) -> tuple[int, np.ndarray]:
        """Feed one frame's probabilities; returns the label and the averaged probabilities."""
        self._recent.append(np.asarray(proba, dtype=np.float64))
        mean = np.mean(self._recent, axis=0)
        lead = int(mean.argmax())
        if self.label is None:
            self.label = lead
        elif lead == self.label:
            self._candidate, self._streak = None, 0
        else:
            self._streak = self._streak + 1 if lead == self._candidate else 1
            self._candidate = lead
            if self._streak >= self.patience:
                self.label, self._candidate, self._streak = lead, None, 0
        return self.label, mean


@dataclass(frozen=True)
class TrackedFace:
    """One face in one frame: where, which track, the model's probabilities, the smoothed
    label (:class:`EmotionSmoother`) and, with landmarks, the face mesh and its action units.

    ``presence``: the face mesh's face score (None without landmarks); ``points`` (468, 2)
    float32: the mesh's points in frame pixels (MediaPipe order), None without landmarks and
    for a face the mesh rejected (presence under its ``min_presence``: never analysed);
    ``au``: (19,) the enrichment of each action-unit region (:data:`AU_NAMES` order) in the
    map of the shown label, None without a map or points.
    """

    frame: int
    time: float
    track: int
    box: Box
    proba: np.ndarray
    label: int
    class_names: tuple[str, ...]
    points: np.ndarray | None = None
    presence: float | None = None
    au: np.ndarray | None = None

    @property
    def rejected(self) -> bool:
        """The mesh ran on this face and rejected it."""
        return self.presence is not None and self.points is None

    @property
    def top_au(self) -> str | None:
        """The action-unit region holding most of the map for its size (the highest
        enrichment), or None where no AU analysis was made. It says where the map lies, not
        that the face shows that action unit."""
        if self.au is None or not np.isfinite(self.au).any():
            return None
        return AU_NAMES[int(np.nanargmax(self.au))]

    @property
    def predicted(self) -> str:
        """This frame's top class (unsmoothed)."""
        return self.class_names[int(self.proba.argmax())]

    @property
    def emotion(self) -> str:
        """The smoothed label: what the exporter files the patch under."""
        return self.class_names[self.label]

    def to_json(self) -> dict:
        """This face as JSON: track, box, top class and score, smoothed label, probabilities,
        and the mesh's presence, the AU region holding most of the map and every AU's enrichment (rounded to 3
        decimals; null where not analysed)."""
        return {
            "track": self.track,
            "box": list(self.box.as_tuple()),
            "predicted": self.predicted,
            "score": round(float(self.proba.max()), 4),
            "emotion": self.emotion,
            "proba": {c: round(float(p), 4) for c, p in zip(self.class_names, self.proba,
                                                            strict=True)},
            "presence": None if self.presence is None else round(float(self.presence), 4),
            "top_au": self.top_au,
            "au_enrichment": None if self.au is None else {
                n: (round(float(v), 3) if np.isfinite(v) else None)
                for n, v in zip(AU_NAMES, self.au, strict=True)},
        }  # fmt: skip


def label_changes(labels: Sequence[int]) -> list[tuple[int, int, int]]:
    """Where a label sequence changes: ``(position, old, new)`` for each switch."""
    labels = [int(v) for v in labels]
    return [(i, labels[i - 1], labels[i]) for i in range(1, len(labels))
            if labels[i] != labels[i - 1]]  # fmt: skip
