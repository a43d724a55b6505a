"""Drawing on frames, checked pixel by pixel on a flat grey frame."""

import numpy as np
import pytest

from emonb.faces import Box
from emonb.video.draw import COLOURS, animation_frames, annotate_frame
from emonb.video.tracking import TrackedFace

BOX = Box(40, 50, 60, 50)


@pytest.fixture
def grey():
    return np.full((120, 160), 100, np.uint8)


def one_face(label=1):
    return [TrackedFace(0, 0.0, 0, BOX, np.array([0.1, 0.7, 0.2]), label, ("a", "b", "c"))]


def test_heatmap_blend_inside_the_box(grey):
    centre = (BOX.y + BOX.h // 2, BOX.x + BOX.w // 2)
    # jet(1) is RGB (127.5, 0, 0), jet(0) is (0, 0, 127.5); BGR blend 0.6 * 100 + 0.4 * colour
    hot = annotate_frame(grey, one_face(), np.ones((1, 8, 8)), alpha=0.4)
    cold = annotate_frame(grey, one_face(), np.zeros((1, 8, 8)), alpha=0.4)
    assert hot.shape == (120, 160, 3) and hot.dtype == np.uint8
    assert hot[centre].tolist() == [60, 60, 111] and cold[centre].tolist() == [111, 60, 60]
    assert annotate_frame(grey, one_face(), None)[centre].tolist() == [100, 100, 100]
    assert (grey == 100).all()  # the input is left alone


def test_box_and_label_in_the_label_colour_and_nothing_else(grey):
    out = annotate_frame(grey, one_face(label=2), None)
    assert out[BOX.y, BOX.x + BOX.w // 2].tolist() == list(COLOURS[2])  # top edge
    assert out[BOX.y + BOX.h, BOX.x + 5].tolist() == list(COLOURS[2])  # bottom edge
    label = np.zeros(grey.shape, bool)
    label[BOX.y - 30 : BOX.y + 1, BOX.x : BOX.x + 100] = True  # "c 0.20" on the top edge
    assert (out[label] == COLOURS[2]).all(axis=1).any()  # the label's background
    assert (out[label].min(axis=1) > 240).any()  # its white (antialiased) text
    box = np.zeros(grey.shape, bool)
    box[BOX.y - 1 : BOX.y + BOX.h + 2, BOX.x - 1 : BOX.x + BOX.w + 2] = True
    assert (out[~(box | label)] == 100).all()
    assert annotate_frame(grey, [], None).tolist() == np.dstack([grey] * 3).tolist()


def test_animation_frames(mini_xception):
    inputs = np.random.default_rng(0).uniform(-1, 1, (3, 64, 64, 1)).astype(np.float32)
    frames = animation_frames(mini_xception, inputs, np.zeros((3, 64, 64)), ["a", "b", "c"],
                              size=96)  # fmt: skip
    assert len(frames) == 3 and frames[0].shape == (96, 96, 3) and frames[0].dtype == np.uint8
    strip = frames[0][96 - 22 :]
    assert (strip[:, -20:] == 0).all() and (strip.min(axis=2) > 200).any()  # white on black
    with pytest.raises(ValueError):
        animation_frames(mini_xception, inputs, np.zeros((2, 64, 64)), ["a", "b", "c"])


def face_with_mesh(label=1):
    """A face whose 468 'mesh points' are spread over the inside of the box (seeded), with
    AU12 the top action unit."""
    rng = np.random.default_rng(0)
    pts = rng.uniform((BOX.x + 4, BOX.y + 4), (BOX.x + BOX.w - 4, BOX.y + BOX.h - 4), (468, 2))
    au = np.ones(19)
    au[9] = 3.0  # AU12
    return TrackedFace(0, 0.0, 0, BOX, np.array([0.1, 0.7, 0.2]), label, ("a", "b", "c"),
                       pts.astype(np.float32), 0.99, au)  # fmt: skip


def test_mesh_points_are_white_pixels(grey):
    f = face_with_mesh()
    out = annotate_frame(grey, [f], None, overlay="mesh")
    ij = np.floor(f.points).astype(int)
    assert (out[ij[:, 1], ij[:, 0]] == 255).all()
    changed = (out != np.dstack([grey] * 3)).any(axis=2)
    plain = (annotate_frame(grey, one_face(), None) != np.dstack([grey] * 3)).any(axis=2)
    points = np.zeros_like(changed)
    points[ij[:, 1], ij[:, 0]] = True
    assert (changed == (plain | points)).all()  # nothing else drawn


def test_top_action_unit_outline_and_name(grey):
    from emonb.video.draw import au_outline

    f = face_with_mesh(label=2)
    assert f.top_au == "AU12"
    with_au, without = (annotate_frame(grey, [f], None, overlay=o) for o in ("au", "none"))
    inside = np.zeros(grey.shape, bool)
    inside[BOX.y + 3 : BOX.y + BOX.h - 2, BOX.x + 3 : BOX.x + BOX.w - 2] = True
    drawn = (with_au != without).any(axis=2) & inside
    seg = au_outline(f.points, "AU12")  # (E, 2, 2) segments in frame pixels
    assert seg.shape == (10, 2, 2)  # AU12: 6 triangles, 10 boundary edges
    # every changed pixel inside the box lies on a segment (antialiased: within 2 px)
    yy, xx = np.nonzero(drawn)
    p = np.stack([xx + 0.5, yy + 0.5], axis=1)[:, None]
    a, b = seg[None, :, 0], seg[None, :, 1]
    t = np.clip(((p - a) * (b - a)).sum(-1) / ((b - a) ** 2).sum(-1), 0, 1)
    dist = np.linalg.norm(p - (a + t[..., None] * (b - a)), axis=-1).min(axis=1)
    assert drawn.sum() > 20 and dist.max() < 2
    # the label above the box is the same; a second band under the box names the region
    assert (with_au[: BOX.y] == without[: BOX.y]).all()
    band = slice(BOX.y + BOX.h + 2, BOX.y + BOX.h + 14)
    below = [(out[band] == COLOURS[2]).all(axis=2).sum() for out in (with_au, without)]
    assert below[0] > 200 and below[1] == 0
    assert (with_au[band].min(axis=2) > 240).any()  # its white text
    assert (with_au[band, BOX.x + BOX.w + 1 :] == without[band, BOX.x + BOX.w + 1 :]).all()  # fits


def test_region_label_shortens_to_fit_the_box():
    import cv2

    from emonb.video.draw import region_label

    assert region_label("AU12", 400) == ("map densest on AU12 region", 0.45)
    text, scale = region_label("AU12", 120)
    assert text.startswith("map densest") and "AU12" in text
    assert cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0] + 4 <= 120
    assert region_label("AU12", 60) == ("map: AU12", 0.3)
    assert region_label("AU12", 10) == ("map: AU12", 0.3)  # nothing fits: the shortest


def test_blend_heatmap_matches_the_float_blend_within_one_level():
    """The uint8 blend against the float recipe (bicubic map, matplotlib's LUT entry,
    (1 - a) * patch + a * colour, rounded) on a random patch and map."""
    from emonb.plotting.images import _heat_colours
    from emonb.video.draw import blend_heatmap

    rng = np.random.default_rng(3)
    patch = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    heat = rng.random((6, 6)).astype(np.float32)
    heat[0, 0] = np.nan
    want = np.rint(0.6 * patch + 0.4 * _heat_colours(heat, (37, 53), bgr=True))
    got = blend_heatmap(patch.copy(), heat, 0.4)
    assert got.dtype == np.uint8
    diff = np.abs(got.astype(int) - want.astype(int))
    assert diff.max() <= 1 and (diff == 0).mean() > 0.5


def test_inplace_draws_on_the_frame_only_around_the_box():
    frame = np.full((120, 160, 3), 100, np.uint8)
    out = annotate_frame(frame, one_face(), np.ones((1, 8, 8)), inplace=True)
    assert out is frame
    changed = np.argwhere((frame != 100).any(axis=2))
    (y0, x0), (y1, _) = changed.min(axis=0), changed.max(axis=0)
    # the box (2-pixel outline) and the label above it, nothing else
    assert x0 >= BOX.x - 1 and y1 <= BOX.y + BOX.h + 1 and y0 >= BOX.y - 30
    fresh = np.full((120, 160, 3), 100, np.uint8)
    copy = annotate_frame(fresh, one_face(), np.ones((1, 8, 8)))
    assert copy is not fresh and (fresh == 100).all()  # without inplace: a copy
    np.testing.assert_array_equal(copy, frame)
