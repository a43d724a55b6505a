"""What the video shows: annotated frames and the frames of the map animation.

:func:`annotate_frame` draws each face's heatmap, box, smoothed label and score on a BGR
frame (the annotated video); :func:`animation_frames` shows faces as the model sees them
with their maps and a caption (the chapter's GIF, :func:`emonb.video.io.write_animation`).
Both return new arrays and leave their inputs alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from emonb.models.zoo import EmotionModel
from emonb.video.tracking import TrackedFace

__all__ = ["COLOURS", "animation_frames", "annotate_frame"]

#: BGR colours of the seven FER-2013 classes' boxes (others cycle through them).
COLOURS = ((0, 0, 230), (0, 140, 0), (160, 0, 160), (0, 200, 255), (200, 80, 0),
           (255, 200, 0), (180, 180, 180))  # fmt: skip


def annotate_frame(frame: np.ndarray, faces: Sequence[TrackedFace], maps: np.ndarray | None,
                   alpha: float = 0.4) -> np.ndarray:  # fmt: skip
    """A BGR copy of ``frame`` (BGR or grey) with each face's heatmap (``maps[i]``, any
    size, values in [0, 1], blended at opacity ``alpha``; none when ``maps`` is None), its
    box in its label's colour (:data:`COLOURS`), and ``"<emotion> <probability>"`` of the
    smoothed label on the box's top edge."""
    from emonb.plotting.images import _heat_colours

    out = frame.copy() if frame.ndim == 3 else cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    for i, f in enumerate(faces):
        b = f.box
        if maps is not None:
            colour = _heat_colours(maps[i], (b.h, b.w), bgr=True)
            patch = out[b.y : b.y + b.h, b.x : b.x + b.w].astype(np.float32)
            blend = (1 - alpha) * patch + alpha * colour
            out[b.y : b.y + b.h, b.x : b.x + b.w] = np.clip(np.rint(blend), 0, 255)
        colour = COLOURS[f.label % len(COLOURS)]
        cv2.rectangle(out, (b.x, b.y), (b.x + b.w, b.y + b.h), colour, 2)
        text = f"{f.emotion} {f.proba[f.label]:.2f}"
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.6, 1)
        y = max(b.y, th + base + 2)
        cv2.rectangle(out, (b.x, y - th - base - 2), (b.x + tw + 4, y), colour, cv2.FILLED)
        cv2.putText(out, text, (b.x + 2, y - base), cv2.FONT_HERSHEY_SIMPLEX, 0.6,
                    (255, 255, 255), 1, cv2.LINE_AA)  # fmt: skip
    return out


def animation_frames(net: EmotionModel, inputs: np.ndarray, maps: np.ndarray,
                     captions: Sequence[str], *, size: int = 192,
                     alpha: float = 0.45) -> list[np.ndarray]:  # fmt: skip
    """RGB frames (size x size) of ``net``'s preprocessed faces (N, H, W, C), shown as the
    model sees them (:func:`emonb.explain.model_view`), with their maps overlaid and a
    caption, for :func:`emonb.video.io.write_animation`."""
    from emonb.explain import model_view
    from emonb.plotting.images import overlay

    frames = []
    for g, m, text in zip(model_view(net, inputs, preprocessed=True), maps, captions, strict=True):
        img = overlay(cv2.resize(g, (size, size), interpolation=cv2.INTER_CUBIC), m, alpha=alpha)
        cv2.rectangle(img, (0, size - 22), (size, size), (0, 0, 0), cv2.FILLED)
        cv2.putText(img, text, (4, size - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1,
                    cv2.LINE_AA)  # fmt: skip
        frames.append(img)
    return frames
