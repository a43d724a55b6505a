"""A small synthetic clip shared by the video tests."""

import cv2
import numpy as np
import pytest


@pytest.fixture(scope="session")
def face_video(tmp_path_factory, astronaut):
    """A 12-frame 320x240 MP4 at 12 fps of the astronaut's face drifting right by 4 pixels a
    frame (left edge at x = 20 + 4 i), with the frame index written into a corner."""
    path = tmp_path_factory.mktemp("video") / "drift.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 12.0, (320, 240))
    face = cv2.resize(astronaut[20:300, 100:380, ::-1], (180, 180))
    for i in range(12):
        frame = np.full((240, 320, 3), 40, np.uint8)
        frame[30:210, 20 + 4 * i : 200 + 4 * i] = face
        cv2.putText(frame, str(i), (280, 230), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1)
        writer.write(frame)
    writer.release()
    return path
