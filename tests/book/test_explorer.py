import base64
import json
import re

import cv2
import numpy as np
import pytest

from emonb.book.explorer import sprite, static_explorer


def test_sprite_tiles_and_scales_each_map():
    ramp = np.arange(6.0).reshape(2, 3)
    maps = np.stack([np.full((2, 3), 5.0), ramp, -ramp], -1)
    sheet, cols = sprite(maps)
    assert cols == 2 and sheet.shape == (4, 6) and sheet.dtype == np.uint8
    assert (sheet[:2, :3] == 0).all()  # a constant map is black
    assert sheet[0, 3] == 0 and sheet[1, 5] == 255  # the ramp spans 0..255
    assert sheet[2, 0] == 255 and sheet[3, 2] == 0  # the negative ramp, flipped


def test_static_explorer_embeds_every_map_and_no_url():
    rng = np.random.default_rng(0)
    acts = {"a": rng.random((2, 6, 6, 5)).astype(np.float32), "b": rng.random((2, 3, 3, 2)),
            "dense": rng.random((2, 4))}  # fmt: skip
    faces = rng.integers(0, 256, (2, 8, 8), dtype=np.uint8)
    page = static_explorer(acts, faces, uid="x1")
    data = json.loads(re.search(r'<script type="application/json">(.*?)</script>', page, re.S)[1])
    assert [layer["name"] for layer in data["layers"]] == ["a", "b"]  # non-spatial left out
    a = data["layers"][0]
    assert (a["h"], a["w"], a["c"], a["cols"]) == (6, 6, 5, 3) and len(a["sprites"]) == 2
    png = base64.b64decode(a["sprites"][1].split(",", 1)[1])
    sheet = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(sheet, sprite(acts["a"][1])[0])  # lossless
    assert len(data["lut"]) == 256 and 'id="x1"' in page
    assert "http" not in page  # nothing to fetch
    assert len(static_explorer(acts, faces, max_filters=1)) < len(page)
    with pytest.raises(ValueError):
        static_explorer(acts, faces.astype(float))
