import numpy as np

from emonb.faces import Box, crop, detect_faces, largest_face


def test_astronaut_has_one_face(astronaut):
    boxes = detect_faces(astronaut)
    assert len(boxes) == 1
    b = boxes[0]
    # the face is in the upper middle of the 512x512 portrait
    assert 150 < b.x + b.w / 2 < 300 and 60 < b.y + b.h / 2 < 180 and 60 < b.w < 160
    assert largest_face(astronaut) == b
    assert detect_faces(astronaut) == boxes  # deterministic


def test_no_face_in_flat_image():
    assert detect_faces(np.full((200, 200), 128, np.uint8)) == []
    assert largest_face(np.full((200, 200, 3), 128, np.uint8)) is None


def test_crop_margin_clips():
    img = np.arange(100 * 100).reshape(100, 100)
    assert crop(img, Box(10, 20, 30, 40)).shape == (40, 30)
    assert crop(img, Box(0, 0, 50, 50), margin=0.5).shape == (75, 75)


def test_detect_width_searches_a_smaller_copy(astronaut):
    from emonb.video.tracking import iou

    (full,) = detect_faces(astronaut)
    (small,) = detect_faces(astronaut, detect_width=256)  # half size; boxes in full pixels
    assert iou(full, small) > 0.7
    assert detect_faces(astronaut, detect_width=1024) == [full]  # never upscaled
    assert detect_faces(astronaut, detect_width=256, min_size=300) == []


def test_boxes_found_on_a_smaller_copy_stay_inside_the_image(monkeypatch):
    from emonb.faces import haar

    class EdgeCascade:  # "finds" a face touching the small copy's right and bottom edges
        def detectMultiScale(self, grey, **_):
            h, w = grey.shape
            return np.array([[w - 50, h - 40, 50, 40]])

    monkeypatch.setattr(haar, "_cascade", lambda: EdgeCascade())
    frame = np.zeros((357, 1001), np.uint8)
    (b,) = detect_faces(frame, detect_width=320, min_size=10)
    assert b.x + b.w == 1001 and b.y + b.h == 357  # the border, in frame pixels
    # 361 rows * 0.32 = 115.5 -> a 116-row copy, whose last row maps to 362.5: past the end
    frame = np.zeros((361, 1000), np.uint8)
    (b,) = detect_faces(frame, detect_width=320, min_size=10)
    assert b.y + b.h == 361 and b.y >= 0
