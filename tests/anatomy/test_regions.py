"""Region masks from the face mesh: the AU map as read, the anatomical grouping, and the
rasteriser against an independent point-in-triangle oracle, on real faces."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from emonb.anatomy import regions
from emonb.anatomy.regions import (
    ANATOMY_NAMES,
    AU_NAMES,
    CONTOURS,
    face_mask,
    label_image,
    rasterize,
    region_map,
    region_masks_for,
    region_names,
)
from emonb.arrays import resize_maps
from emonb.data.images import read_image
from emonb.data.manifest import image_path
from emonb.errors import EmonbError
from emonb.faces import detect_faces
from emonb.faces.mesh import FaceMesh


@pytest.fixture(scope="module")
def faces():
    """Mesh points of the astronaut and the four multi-face faces in their images, with
    each face's Haar box ``(x, y, w, h)`` and image."""
    mesh = FaceMesh(threads=1)
    out = []
    for name in ("astronaut", "multi-face"):
        image = read_image(image_path(name))
        boxes = detect_faces(image)
        marks = mesh.landmarks([image] * len(boxes), boxes)
        assert marks.accepted.all()
        out += [
            (image, b.as_tuple(), xy.astype(np.float64))
            for b, xy in zip(boxes, marks.xy, strict=True)
        ]
    return out


def _in_box(xy: np.ndarray, box) -> np.ndarray:
    """Points in the box's own coordinates (the square crop a 48x48 face is made from)."""
    return xy - np.array(box[:2], dtype=np.float64)


def test_au_map_as_read():
    rmap = region_map()
    assert rmap.triangles.shape == (898, 3)
    counts = np.bincount(rmap.au[rmap.au >= 0], minlength=19)
    assert counts.sum() == 852 and (counts > 0).all()  # 46 triangles: the openings
    assert counts[AU_NAMES.index("AU20")] == 2
    assert set(regions.AU_MUSCLES) == set(AU_NAMES)
    assert "zygomaticus_major_L" in regions.AU_MUSCLES["AU12"]
    assert regions.AU_MUSCLES["AU24"] == ("orbicularis_oris",)
    # every triangle has an anatomical region; the openings are the eyes' and the mouth's
    assert (rmap.anatomy >= 0).all()
    opening = rmap.au < 0
    assert set(rmap.anatomy[opening].tolist()) == {ANATOMY_NAMES.index("eyes"),
                                                   ANATOMY_NAMES.index("mouth")}  # fmt: skip
    # the moved triangles come from the AUs the module says they do
    moved_from = {"forehead": {"AU04"}, "nose": {"AU04"}, "mouth": {"AU15"},
                  "eyes": {"AU01", "AU02"}}  # fmt: skip
    for region, idx in regions.MOVED.items():
        assert {AU_NAMES[a] for a in rmap.au[list(idx)]} == moved_from[region]
        assert (rmap.anatomy[list(idx)] == ANATOMY_NAMES.index(region)).all()
    with pytest.raises(AttributeError):
        regions.NO_SUCH_NAME  # noqa: B018


class _Artifacts:
    """Swaps the files :func:`region_map` reads (the map is re-read on the next call);
    :meth:`restore` puts the real ones back."""

    def __init__(self, monkeypatch):
        self._monkeypatch = monkeypatch
        self._real = regions.manifest.artifact_path

    def use(self, files: dict | None = None, *, reader=None) -> None:
        """``files``: artifact name -> file to read instead; or ``reader`` replaces
        ``artifact_path`` whole."""
        real = self._real
        reader = reader or (lambda name, **kw: files[name] if name in files else real(name, **kw))
        self._monkeypatch.setattr(regions.manifest, "artifact_path", reader)
        region_map.cache_clear()

    def restore(self) -> None:
        self._monkeypatch.undo()
        region_map.cache_clear()


@pytest.fixture
def artifacts(monkeypatch):
    swap = _Artifacts(monkeypatch)
    yield swap
    swap.restore()


@pytest.mark.parametrize("artifact, content, message", [
    ("au-regions", "{not json", "unreadable"),
    ("au-regions", json.dumps({"regions": {"AU01": {"muscles": [], "triangles": [0]}}}),
     "expected the regions"),
    ("face-tessellation", json.dumps({"triangles": [[0, 1, 2]]}), "expected 898 triangles"),
])  # fmt: skip
def test_bad_artifact_is_one_clear_error(tmp_path, artifacts, artifact, content, message):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    artifacts.use({artifact: bad})
    with pytest.raises(EmonbError, match=message) as err:
        region_map()
    assert f"emonb fetch {artifact}" in str(err.value)
    artifacts.restore()
    assert region_map().au.shape == (898,)


def test_a_corrupt_cache_says_which_fetch_repairs_it(artifacts):
    from emonb.errors import ChecksumError

    def corrupt(name, **kw):
        raise ChecksumError(f"{name}: sha256 mismatch")

    artifacts.use(reader=corrupt)
    with pytest.raises(EmonbError, match="mismatch; run `emonb fetch face-tessellation`"):
        region_map()


def test_overlapping_au_triangles_are_an_error(tmp_path, artifacts):
    data = {"regions": {a: {"muscles": ["m"], "triangles": [7]} for a in AU_NAMES}}
    bad = tmp_path / "au.json"
    bad.write_text(json.dumps(data))
    artifacts.use({"au-regions": bad})
    with pytest.raises(EmonbError, match="overlap"):
        region_map()


def test_region_names_and_bad_arguments():
    assert region_names("au") == AU_NAMES and len(AU_NAMES) == 19
    assert region_names("anatomy") == ANATOMY_NAMES
    with pytest.raises(EmonbError, match="unknown region kind"):
        region_names("muscles")
    with pytest.raises(ValueError, match="468"):
        rasterize(np.zeros((1, 10, 2)), 48)
    with pytest.raises(ValueError, match="finite"):
        rasterize(np.full((1, 468, 2), np.nan), 48)


@pytest.mark.parametrize("kind", ["au", "anatomy"])
def test_masks_are_disjoint_fractions_inside_the_face(faces, kind):
    pts = np.stack([_in_box(xy, box) * 48 / box[2] for _, box, xy in faces])
    masks = rasterize(pts, 48, kind)
    assert masks.shape == (len(faces), len(region_names(kind)), 48, 48)
    assert masks.dtype == np.float32
    assert masks.min() >= 0 and masks.max() <= 1
    total = masks.sum(axis=1)
    assert total.max() <= 1 + 1e-6
    cover = face_mask(pts, 48)
    assert (total <= cover + 1e-6).all()  # no region mass outside the mesh
    # AU regions leave the openings of the eyes and the mouth out; anatomy fills them
    gap = (cover - total).sum(axis=(1, 2))
    assert ((gap > 5) if kind == "au" else (gap < 1e-3)).all(), gap
    assert np.array_equal(masks, rasterize(pts, 48, kind))  # deterministic


def test_masks_lie_inside_the_grown_haar_box(faces):
    image, (x, y, w, h), xy = faces[0]
    masks = rasterize(xy[None], image.shape[:2], "anatomy", supersample=1)[0]
    inside = np.zeros(image.shape[:2], bool)
    dx, dy = round(0.2 * w), round(0.2 * h)
    inside[y - dy : y + h + dy, x - dx : x + w + dx] = True
    assert masks[:, ~inside].sum() == 0
    assert masks[:, inside].sum() > 0.6 * w * h  # and the face fills much of the box


def _oracle(points: np.ndarray, size: int, s: int, labels: np.ndarray) -> np.ndarray:
    """Sub-pixel labels by a point-in-triangle test at sub-pixel centres ((k + 0.5) / s in
    map pixels), triangles painted in index order (-1: no triangle)."""
    c = (np.arange(size * s) + 0.5) / s
    gx, gy = np.meshgrid(c, c)
    out = np.full((size * s, size * s), -1)
    for tri, lab in zip(region_map().triangles, labels, strict=True):
        p = points[tri]
        x0, y0 = np.maximum(np.floor(p.min(axis=0) * s).astype(int), 0)
        x1, y1 = np.ceil(p.max(axis=0) * s).astype(int) + 1
        xs, ys = gx[y0:y1, x0:x1], gy[y0:y1, x0:x1]
        e = [(b[0] - a[0]) * (ys - a[1]) - (b[1] - a[1]) * (xs - a[0])
             for a, b in ((p[0], p[1]), (p[1], p[2]), (p[2], p[0]))]  # fmt: skip
        inside = ((e[0] >= 0) & (e[1] >= 0) & (e[2] >= 0)) | (
            (e[0] <= 0) & (e[1] <= 0) & (e[2] <= 0)
        )
        out[y0:y1, x0:x1][inside] = lab
    return out


def test_rasterisation_matches_a_point_in_triangle_oracle(faces):
    """Per-pixel region fractions (the openings and the background included) agree with
    the oracle's except along edges (OpenCV also fills the sub-pixels an edge touches):
    97.8% of the map measured. Points off by half a map pixel (a wrong pixel-centre
    convention) agree on 91.6% only."""
    _, box, xy = faces[1]
    pts = _in_box(xy, box) * 40 / box[2] + 4  # the whole face inside the 48x48 map
    au = region_map().au
    ref = _oracle(pts, 48, 4, np.where(au >= 0, au, 19))

    def agreement(shift: float) -> float:
        masks = rasterize((pts + shift)[None], 48, supersample=4)[0]
        frac = np.concatenate([masks, face_mask((pts + shift)[None], 48)[0][None]
                               - masks.sum(axis=0, keepdims=True)])  # fmt: skip
        ref_frac = np.stack([(ref == r).reshape(48, 4, 48, 4).mean(axis=(1, 3)) for r in range(20)])
        return 1 - 0.5 * np.abs(frac - ref_frac).sum() / (48 * 48)

    assert agreement(0.0) > 0.96
    assert agreement(0.5) < 0.93


def test_supersampling_is_the_same_grid_at_every_scale(faces):
    """A map at 48 with 4x4 sub-pixels and one at 96 with 2x2, averaged over 2x2 blocks,
    sample exactly the same points: equal masks."""
    _, box, xy = faces[0]
    p = _in_box(xy, box)[None] * 48 / box[2]
    fine = rasterize(2 * p, 96, "au", supersample=2)
    coarse = rasterize(p, 48, "au", supersample=4)
    np.testing.assert_allclose(fine.reshape(1, 19, 48, 2, 48, 2).mean(axis=(3, 5)), coarse,
                               atol=1e-6)  # fmt: skip
    # region_masks_for scales points given for the box's pixels
    np.testing.assert_array_equal(region_masks_for(_in_box(xy, box)[None], box[2], 48), coarse)
    rect = region_masks_for(_in_box(xy, box)[None], (box[3], box[2]), (48, 64))
    np.testing.assert_array_equal(rect, rasterize(p * [64 / 48, 1], (48, 64)))


@pytest.mark.parametrize("kind", ["au", "anatomy"])
def test_masks_at_48_and_64_agree(faces, kind):
    """Masks rasterised at 64 and area-resized to 48 against masks rasterised at 48:
    each region's share of the image within 0.005 (measured: at most 0.0013), and hard
    (> 0.5) masks of regions of at least 4 pixels overlap with mean IoU > 0.85 per face
    (measured 0.93 for AUs, 0.97 anatomy; the smallest AU regions, about 5 pixels, go
    down to 0.5)."""
    for _, box, xy in faces:
        p = _in_box(xy, box)[None]
        m48 = region_masks_for(p, box[2], 48, kind)[0]
        m64 = resize_maps(region_masks_for(p, box[2], 64, kind)[0], (48, 48), cv2.INTER_AREA)
        share = np.abs(m48.sum(axis=(1, 2)) - m64.sum(axis=(1, 2))) / 48**2
        assert share.max() < 0.005
        big = m48.sum(axis=(1, 2)) >= 4
        a, b = m48[big] > 0.5, m64[big] > 0.5
        iou = (a & b).sum(axis=(1, 2)) / np.maximum((a | b).sum(axis=(1, 2)), 1)
        assert iou.mean() > 0.85, iou


def test_anatomical_layout_on_a_photo(faces):
    """Top to bottom forehead, brows, eyes, nose, mouth, chin; the brows cover the
    eyebrows (MediaPipe's eyebrow outline), the eyes and the mouth their openings."""
    _, box, xy = faces[0]
    p = _in_box(xy, box) * 192 / box[2]
    masks = rasterize(p[None], 192, "anatomy")[0]
    rows = np.arange(192) + 0.5
    cy = {n: float((masks[i].sum(axis=1) * rows).sum() / masks[i].sum())
          for i, n in enumerate(ANATOMY_NAMES)}  # fmt: skip
    order = ["forehead", "brows", "eyes", "nose", "mouth", "chin"]
    assert [cy[n] for n in order] == sorted(cy[n] for n in order), cy
    labels = label_image(p[None], 192, "anatomy")[0]
    au_labels = label_image(p[None], 192, "au")[0]

    def at(q):
        return int(labels[int(q[1]), int(q[0])]), int(au_labels[int(q[1]), int(q[0])])

    for region, ring in CONTOURS:
        if region != "brows":  # the centre of an eye or the mouth: an opening, no AU
            assert at(p[list(ring)].mean(axis=0)) == (ANATOMY_NAMES.index(region), -1)
    # midway between the eyebrow's upper and lower lines (MediaPipe's outline): brows
    for upper, lower in ((105, 52), (66, 65), (334, 282), (296, 295)):
        assert ANATOMY_NAMES[at((p[upper] + p[lower]) / 2)[0]] == "brows"
    # the upper eyebrow line lies at the border of brows and forehead: just below it brows
    for i in (105, 334):
        assert ANATOMY_NAMES[at(p[i] + [0, 1.5])[0]] == "brows"
        assert ANATOMY_NAMES[at(p[i] - [0, 3])[0]] == "forehead"
