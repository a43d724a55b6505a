"""Reading a written video back, for the video tests."""

import cv2
import numpy as np


def read_back(path) -> list[np.ndarray]:
    """Every frame OpenCV decodes from ``path`` (BGR), in order."""
    cap = cv2.VideoCapture(str(path))
    out = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        out.append(frame)
    cap.release()
    return out
