"""The appearance-based action-unit map and the map switch, on real faces: the data as written,
membership against a brute-force geometric oracle, the rasteriser against the muscle map's,
and the regions' places on the face (AU12 on the lip corners, where py-feat's has nothing)."""

from __future__ import annotations

import numpy as np
import pytest

from emonb.anatomy import appearance
from emonb.anatomy.appearance import (
    APPEARANCE,
    APPEARANCE_NAMES,
    AREAS,
    LOWER_LIP,
    UPPER_LIP,
    membership,
    rasterize,
)
from emonb.anatomy.au_maps import (
    AU_MAPS,
    au_masks,
    au_masks_for,
    au_names,
    check_au_map,
    map_of,
    maps_of,
    overlapping,
)
from emonb.anatomy.regions import ANATOMY_NAMES, AU_NAMES, face_mask, region_map, region_masks_for
from emonb.anatomy.regions import rasterize as muscle_rasterize
from emonb.errors import EmonbError


@pytest.fixture(scope="module")
def xy() -> np.ndarray:
    """Mesh points of real 48x48 face crops (the photos' faces, frames of the clip, and
    their mirror images), in the crops' pixels."""
    from emonb.faces.mesh import FaceMesh
    from tests.metrics.test_action_units import real_face_crops

    marks = FaceMesh().landmarks(real_face_crops())
    assert marks.accepted.all()
    return marks.xy.astype(np.float64)


def test_the_map_as_written():
    assert len(APPEARANCE_NAMES) == 22 and set(AU_NAMES) < set(APPEARANCE_NAMES)
    assert sorted(set(APPEARANCE_NAMES) - set(AU_NAMES)) == ["AU23", "AU25", "AU27"]
    assert list(APPEARANCE_NAMES) == sorted(APPEARANCE_NAMES)  # AU order, like py-feat's
    assert "Ekman, Friesen & Hager (2002)" in appearance.__doc__
    for name, region in APPEARANCE.items():
        assert region.action and region.muscles and region.shows, name
        assert region.chains or region.areas, name
        assert set(region.areas) <= set(AREAS), name
        for chain, radius in region.chains:
            assert 0 < radius <= 0.2 and all(0 <= v < 468 for v in chain), name
    assert APPEARANCE["AU12"].action == "Lip Corner Puller"
    assert ((61,), 0.10) in APPEARANCE["AU12"].chains and ((291,), 0.10) in APPEARANCE["AU12"].chains


def test_topological_areas():
    """The lips' 120 triangles split into 60 upper and 60 lower; the mouth opening is the 18
    triangles py-feat's map leaves out at the mouth."""
    rmap = region_map()
    areas = appearance._areas(rmap.triangles)
    assert {k: int(v.sum()) for k, v in areas.items()} == {"lips": 120, "upper lip": 60,
                                                           "lower lip": 60, "mouth": 18}  # fmt: skip
    assert not (areas["upper lip"] & areas["lower lip"]).any()
    assert np.array_equal(areas["upper lip"] | areas["lower lip"], areas["lips"])
    assert not (areas["lips"] & areas["mouth"]).any()
    opening = (rmap.au < 0) & (rmap.anatomy == ANATOMY_NAMES.index("mouth"))
    np.testing.assert_array_equal(areas["mouth"], opening)
    upper = set(rmap.triangles[areas["upper lip"]].ravel())
    assert not upper & set(LOWER_LIP) and set(UPPER_LIP) <= upper


def _oracle(points: np.ndarray) -> np.ndarray:
    """Membership written from the definition, one face, region and segment at a time in
    float64: a triangle is in a region if its centroid lies within radius x IOD of one of
    the region's chain segments, if it lies on one of the chain's edges, or if it is in one
    of the region's areas. Also returns each (triangle, region)'s distance margin."""
    rmap = region_map()
    tri = rmap.triangles
    areas = appearance._areas(tri)
    out = np.zeros((len(points), 898, len(APPEARANCE)), bool)
    margin = np.full(out.shape, np.inf)
    for i, p in enumerate(points):
        iod = np.hypot(*(p[263] - p[33]))
        c = p[tri].mean(axis=1)
        for r, region in enumerate(APPEARANCE.values()):
            for area in region.areas:
                out[i, :, r] |= areas[area]
            for chain, radius in region.chains:
                steps = zip(chain[:-1], chain[1:], strict=True) if len(chain) > 1 else [chain * 2]
                for a, b in steps:
                    pa, pb = p[a], p[b]
                    d = pb - pa
                    t = np.clip(((c - pa) @ d) / max(d @ d, 1e-300), 0, 1) if a != b else 0.0
                    dist = np.hypot(*(c - pa - np.multiply.outer(t, d)).T)
                    out[i, :, r] |= dist <= radius * iod
                    margin[i, :, r] = np.minimum(margin[i, :, r], np.abs(dist - radius * iod) / iod)
                    if a != b:
                        out[i, (tri == a).any(1) & (tri == b).any(1), r] = True
    return out, margin


def test_membership_matches_the_definition(xy):
    """Equal to the oracle wherever a centroid is not within 1e-5 IOD of a radius (float32
    against float64 rounding)."""
    some = xy[::4]  # 8 faces: the oracle is slow
    got = membership(some)
    ref, margin = _oracle(some)
    differ = got != ref
    assert (margin[differ] < 1e-5).all() and differ.sum() <= 2, differ.sum()
    assert got.any(axis=1).all()  # every region has triangles on every face


def test_membership_follows_the_face(xy):
    """Radii in each face's own IOD: a similarity transform (scale, rotation, shift) of the
    points changes no triangle's membership."""
    angle = np.deg2rad(20)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = 3.7 * xy @ rot.T + [11.0, -5.0]
    got, ref = membership(moved), membership(xy)
    margin = _oracle(xy[:4])[1]
    assert (got != ref).sum() <= 2
    assert np.array_equal(got[:4] != ref[:4], (got[:4] != ref[:4]) & (margin < 1e-5))


def test_rasteriser_reproduces_the_muscle_map(xy):
    """Given py-feat's disjoint labels as membership, the appearance rasteriser gives exactly
    the masks of emonb.anatomy.regions.rasterize: the same painting, the same fractions."""
    au = region_map().au
    labels = np.zeros((len(xy), 898, 19), bool)
    labels[:, au >= 0, au[au >= 0]] = True
    for size, s in ((48, 4), (8, 4), (4, 4), (7, 3), (96, 1), ((48, 64), 2)):
        h, w = (size, size) if np.ndim(size) == 0 else size
        p = xy * [w / 48, h / 48]
        np.testing.assert_array_equal(rasterize(p, size, supersample=s, membership=labels),
                                      muscle_rasterize(p, size, "au", supersample=s))  # fmt: skip


def test_regions_overlap_inside_the_face(xy):
    masks, union = rasterize(xy, 48, union=True)
    assert masks.shape == (len(xy), 22, 48, 48) and masks.dtype == np.float32
    assert masks.min() >= 0 and masks.max() <= 1
    cover = face_mask(xy, 48)
    assert (masks <= cover[:, None] + 1e-6).all() and (union <= cover + 1e-6).all()
    assert (union >= masks.max(axis=1) - 1e-6).all() and (union <= masks.sum(axis=1) + 1e-6).all()
    assert masks.sum(axis=1).max() > 2  # the lips: AU23, AU24, AU25 and AU27 at once
    lips = masks[:, [APPEARANCE_NAMES.index(a) for a in ("AU23", "AU25")]]
    assert (lips[:, 0] <= lips[:, 1] + 1e-6).all()  # AU25 = AU23's lips and the opening
    assert np.array_equal(masks, rasterize(xy, 48))  # deterministic


def test_each_region_holds_the_points_that_define_it(xy):
    """Every chain vertex lies within a pixel of its region at 48x48 (its own pixel, or a
    neighbour where the region's triangles cover only a corner of it), and AU12 covers the
    lip corners 61 and 291 fully, where py-feat's AU12 (the cheek over zygomaticus major)
    has nothing."""
    import cv2

    masks = rasterize(xy, 48)
    rows = np.arange(len(xy))
    for r, region in enumerate(APPEARANCE.values()):
        grown = np.stack([cv2.dilate(m, np.ones((3, 3), np.uint8)) for m in masks[:, r]])
        for v in {v for chain, _ in region.chains for v in chain}:
            j, i = np.floor(xy[:, v]).astype(int).T
            seen = (i >= 0) & (i < 48) & (j >= 0) & (j < 48)
            assert (grown[rows[seen], i[seen], j[seen]] > 0).all(), (APPEARANCE_NAMES[r], v)
    muscle = muscle_rasterize(xy, 48, "au")[:, AU_NAMES.index("AU12")]
    for v in (61, 291):
        j, i = np.floor(xy[:, v]).astype(int).T
        assert (masks[rows, APPEARANCE_NAMES.index("AU12"), i, j] == 1).all()
        assert (muscle[rows, i, j] == 0).all()


def test_regions_lie_where_the_manual_says(xy):
    """Region centres, top to bottom of the face: brows above the eyes, the eyes' lids at the
    eyes, AU09 on the nose, the lips below the nose, the chin below the lips."""
    masks = rasterize(xy * 4, 192)
    rows = np.arange(192) + 0.5

    def height(name):  # the region's mean row, over faces
        m = masks[:, APPEARANCE_NAMES.index(name)].sum(axis=2)
        return float(((m * rows).sum(axis=1) / m.sum(axis=1)).mean())

    order = ["AU01", "AU04", "AU05", "AU07", "AU09", "AU38", "AU10", "AU23", "AU16", "AU17"]
    assert [height(a) for a in order] == sorted(height(a) for a in order)


def test_same_triangles_at_every_size(xy):
    """au_masks_for picks the appearance triangles on the points as given: a map at 96 with
    2x2 sub-pixels averaged over 2x2 blocks equals one at 48 with 4x4, exactly."""
    fine = au_masks_for(xy, 48, 96, supersample=2)
    coarse = au_masks_for(xy, 48, 48, supersample=4)
    np.testing.assert_allclose(fine.reshape(len(xy), 22, 48, 2, 48, 2).mean(axis=(3, 5)), coarse,
                               atol=1e-6)  # fmt: skip
    given = au_masks_for(xy, 48, 8, membership=membership(xy))
    np.testing.assert_array_equal(given, au_masks_for(xy, 48, 8))


def test_the_switch(xy):
    assert AU_MAPS == ("appearance", "muscle") and maps_of("both") == AU_MAPS
    assert maps_of("muscle") == ("muscle",)
    assert au_names() == APPEARANCE_NAMES and au_names("muscle") == AU_NAMES
    assert overlapping("appearance") and not overlapping("muscle")
    assert map_of(AU_NAMES) == "muscle" and map_of(APPEARANCE_NAMES) == "appearance"
    # the muscle map is py-feat's, unchanged
    np.testing.assert_array_equal(au_masks(xy, 48, "muscle"), muscle_rasterize(xy, 48, "au"))
    np.testing.assert_array_equal(au_masks_for(xy, 48, 64, "muscle"), region_masks_for(xy, 48, 64))
    masks, union = au_masks_for(xy, 48, 16, "muscle", union=True)
    np.testing.assert_allclose(union, masks.sum(axis=1))
    np.testing.assert_array_equal(au_masks(xy, 48), rasterize(xy, 48))
    with pytest.raises(EmonbError, match="unknown action-unit map 'muscles'"):
        check_au_map("muscles")
    with pytest.raises(EmonbError, match="membership belongs to the appearance map"):
        au_masks(xy, 48, "muscle", membership=membership(xy))
    with pytest.raises(EmonbError, match="no action-unit map has"):
        map_of(["AU12"])
    with pytest.raises(ValueError, match="468"):
        membership(np.zeros((1, 10, 2)))
    with pytest.raises(ValueError, match="expected membership"):
        rasterize(xy[:2], 48, membership=np.zeros((2, 898), bool))
