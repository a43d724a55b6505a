"""FACS action-unit regions where each action *shows*: the project's appearance-based AU map on
MediaPipe's 468-point face mesh.

py-feat's map (:mod:`emonb.anatomy.regions`, ``au="muscle"``) gives each triangle of the mesh
to the action unit whose muscle lies under it. The FACS Manual describes each action unit
by its **appearance changes** instead, and those often lie elsewhere: zygomaticus major
runs from the cheekbone down to the mouth, while AU12 shows at the lip corners and in the
nasolabial furrow (py-feat's AU12 region lies on the outer cheek). This module writes each
region from the Manual's description of where the action unit changes the face
(:data:`APPEARANCE`; the Manual's text paraphrased in each entry's ``shows``), so the
regions of several action units may overlap (FACS: the lips change under AU23, AU24 and
AU25 alike).

**Regions on each face.** A region is the union of

* *chains*: paths along the mesh's edges (one vertex: a disk) with a radius in
  inter-ocular distances (IOD, the distance between the outer eye corners, vertices 33
  and 263, measured on each face): the triangles on either side of each of the chain's
  edges, and every triangle whose centroid lies within the radius of the chain, belong to
  the region (so the chain lies inside its region). The radius scales with each face, the
  chain follows its vertices, so a region follows each face's shape and expression;
* *areas* (:data:`AREAS`): sets of triangles fixed by the mesh's topology, the lips' red
  parts (enclosed by MediaPipe's outer lip line and not by the inner one; upper and lower
  lip: the triangles off the other lip's vertex lines, :data:`UPPER_LIP`,
  :data:`LOWER_LIP`) and the mouth opening (enclosed by the inner lip line, the 18
  triangles py-feat's map leaves out).

Regions are made of the mesh's triangles, so they lie inside the face mesh. Vertex indices
are MediaPipe's; each chain is listed for the image-left side (the subject's right) and
then mirrored (the mirror vertex found on the mean mesh of FER-2013 Training faces and
checked against MediaPipe's symmetric pairs such as 61/291, 33/263, 129/358). The chains
and radii were drawn and checked on the mean face and on FER-2013 faces; the radii are
this project's choices, not FACS's.

**Rasterisation** (:func:`rasterize`): each face's triangles are painted by index into a
label image ``supersample`` times finer than the map (the painting and pixel convention of
:func:`emonb.anatomy.regions.rasterize`), and each map pixel gets, per region, the fraction
of its sub-pixels whose triangle belongs to that region. Each region is measured
independently: a pixel's fractions may sum to more than 1 where regions overlap. Choosing
a face's triangles (:func:`membership`) prunes the centroid-to-chain distances with each
chain piece's bounding box (exact); on 578 FER-2013 faces on a loaded 2-core machine it
took about 2 ms of CPU per face, and painting 22 regions about 1.9 ms per face at 48x48 and
1 ms at 8x8 or 4x4 (py-feat's 19 disjoint regions: 1.5 and 0.7 ms); ``benchmarks/au_maps.py``
records the timings.

References: Ekman, Friesen & Hager (2002), *Facial Action Coding System: The Manual* and
*Investigator's Guide* (each action unit's appearance changes); Ekman & Friesen (1978),
*Facial Action Coding System*; Kartynnik et al. (2019), "Real-time facial surface geometry
from monocular video on mobile GPUs" (the mesh and its contours).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from emonb.anatomy.regions import _LIPS_OUTER, _enclosed, _fixed, _hw, region_map

__all__ = [
    "APPEARANCE",
    "APPEARANCE_NAMES",
    "AREAS",
    "LIPS_INNER",
    "LOWER_LIP",
    "UPPER_LIP",
    "AppearanceRegion",
    "membership",
    "rasterize",
]


@dataclass(frozen=True)
class AppearanceRegion:
    """One action unit's region: its FACS name and muscles, where the Manual says it shows
    (``shows``, paraphrased), and the mesh geometry: ``chains`` ((vertex, ...), radius in
    IOD) and ``areas`` (names in :data:`AREAS`)."""

    action: str
    muscles: str
    shows: str
    chains: tuple[tuple[tuple[int, ...], float], ...] = ()
    areas: tuple[str, ...] = ()


def _pair(left: tuple[int, ...], right: tuple[int, ...], radius: float):
    """A chain on the image-left side and its mirror image."""
    return ((left, radius), (right, radius))


#: MediaPipe's inner lip line (FACEMESH_LIPS, Apache-2.0), a closed loop.
LIPS_INNER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87,
              178, 88, 95)  # fmt: skip
#: The upper lip's vertex lines, outer to inner (image left to right), corners excluded.
UPPER_LIP = (185, 40, 39, 37, 0, 267, 269, 270, 409,  184, 74, 73, 72, 11, 302, 303, 304, 408,
             183, 42, 41, 38, 12, 268, 271, 272, 407,  191, 80, 81, 82, 13, 312, 311, 310, 415)  # fmt: skip
#: The lower lip's vertex lines, outer to inner, corners excluded.
LOWER_LIP = (146, 91, 181, 84, 17, 314, 405, 321, 375,  77, 90, 180, 85, 16, 315, 404, 320, 307,
             96, 89, 179, 86, 15, 316, 403, 319, 325,  95, 88, 178, 87, 14, 317, 402, 318, 324)  # fmt: skip
#: The triangle sets fixed by the mesh's topology: ``lips`` (the red parts: enclosed by the
#: outer lip line, not by the inner), ``upper lip`` and ``lower lip`` (the lips' triangles
#: with no vertex on the other lip's lines; together exactly the lips: 60 + 60 triangles),
#: and ``mouth`` (the opening, enclosed by the inner lip line: 18 triangles).
AREAS = ("lips", "upper lip", "lower lip", "mouth")

_BROW_UPPER = ((70, 63, 105, 66, 107), (300, 293, 334, 296, 336))
_BROW_LOWER = ((46, 53, 52, 65, 55), (276, 283, 282, 295, 285))
_UPPER_LID = ((33, 246, 161, 160, 159, 158, 157, 173, 133),
              (263, 466, 388, 387, 386, 385, 384, 398, 362))  # fmt: skip
_LOWER_LID = ((33, 7, 163, 144, 145, 153, 154, 155, 133),
              (263, 249, 390, 373, 374, 380, 381, 382, 362))  # fmt: skip
_NASOLABIAL = ((129, 203, 206, 216, 212, 202), (358, 423, 426, 436, 432, 422))
_CORNERS = ((61,), (291,))
_CHIN = (18, 200, 199, 175)

#: Each action unit's region (keys: :data:`APPEARANCE_NAMES`). ``shows`` paraphrases the
#: appearance changes of the FACS Manual (Ekman, Friesen & Hager 2002, ch. 2-4 and 7-8;
#: Ekman & Friesen 1978); the geometry places them on the mesh.
APPEARANCE: dict[str, AppearanceRegion] = {
    "AU01": AppearanceRegion(
        "Inner Brow Raiser", "frontalis, pars medialis",
        "raises the inner ends of the eyebrows (an oblique brow); horizontal wrinkles in the "
        "centre of the forehead, not across it",
        (*_pair((66, 107), (296, 336), 0.07), *_pair((65, 55), (295, 285), 0.07),
         *_pair((107, 108), (336, 337), 0.08), ((9, 151), 0.16))),
    "AU02": AppearanceRegion(
        "Outer Brow Raiser", "frontalis, pars lateralis",
        "raises the outer part of the eyebrows (an arched brow); wrinkles in the lateral "
        "forehead; stretches the lateral eye cover fold upwards",
        (*_pair((70, 63, 105), (300, 293, 334), 0.07), *_pair((46, 53, 52), (276, 283, 282), 0.07),
         *_pair((71, 68, 104, 69), (301, 298, 333, 299), 0.08),
         *_pair((63, 68), (293, 298), 0.07), *_pair((105, 104), (334, 333), 0.07),
         *_pair((113, 225, 224), (342, 445, 444), 0.05))),
    "AU04": AppearanceRegion(
        "Brow Lowerer", "corrugator supercilii, depressor supercilii, procerus",
        "lowers the eyebrows and draws them together; vertical or oblique wrinkles between "
        "the brows (the glabella) and a bulge above the inner brows; wrinkles across the root "
        "of the nose; pushes the eye cover fold down",
        (((9, 8, 168), 0.10), *_pair((107, 9), (336, 9), 0.06), *_pair((55, 8), (285, 8), 0.06),
         *_pair(*_BROW_UPPER, 0.06), *_pair(*_BROW_LOWER, 0.06))),
    "AU05": AppearanceRegion(
        "Upper Lid Raiser", "levator palpebrae superioris",
        "raises the upper lid, widening the eye opening: more of the eyeball shows above the "
        "iris, less of the upper lid and its cover fold",
        (*_pair(*_UPPER_LID, 0.05),
         *_pair((247, 30, 29, 27, 28, 56, 190), (467, 260, 259, 257, 258, 286, 414), 0.04))),
    "AU06": AppearanceRegion(
        "Cheek Raiser", "orbicularis oculi, pars orbitalis",
        "draws skin from the temples and cheeks towards the eye: raises the infraorbital "
        "triangle and the cheeks, deepens the furrow below the eye (bags, wrinkles), narrows "
        "the eye from below; crow's-feet wrinkles at the outer eye corner",
        (*_pair((31, 228, 229, 230, 231), (261, 448, 449, 450, 451), 0.05),
         *_pair((117, 118, 119, 120), (346, 347, 348, 349), 0.08),
         *_pair((50, 101, 100), (280, 330, 329), 0.08),
         *_pair((130, 226, 35, 143), (359, 446, 265, 372), 0.07))),
    "AU07": AppearanceRegion(
        "Lid Tightener", "orbicularis oculi, pars palpebralis",
        "raises and tightens the lower lid: it straightens or bulges and covers more of the "
        "iris, narrowing the eye opening",
        (*_pair(*_LOWER_LID, 0.05),
         *_pair((25, 110, 24, 23, 22, 26, 112), (255, 339, 254, 253, 252, 256, 341), 0.04))),
    "AU09": AppearanceRegion(
        "Nose Wrinkler", "levator labii superioris alaeque nasi",
        "wrinkles the skin along the sides and across the root of the nose; pulls the "
        "infraorbital triangle and the centre of the upper lip up; deepens the upper part of "
        "the nasolabial furrow",
        (((168, 6, 197, 195), 0.10), *_pair((174, 217, 126, 209, 129), (399, 437, 355, 429, 358), 0.05),
         *_pair((129, 203), (358, 423), 0.05))),
    "AU10": AppearanceRegion(
        "Upper Lip Raiser", "levator labii superioris",
        "raises the upper lip, its centre most; deepens the nasolabial furrow and raises its "
        "upper part; widens and raises the nostril wings",
        (*_pair((92, 165, 167, 164), (322, 391, 393, 164), 0.06),
         *_pair((129, 203, 206), (358, 423, 426), 0.05), *_pair((48, 64, 98), (278, 294, 327), 0.04)),
        ("upper lip",)),
    "AU11": AppearanceRegion(
        "Nasolabial Furrow Deepener", "zygomaticus minor",
        "deepens the middle of the nasolabial furrow and raises it; may raise the upper lip "
        "beside the corners",
        _pair((203, 206, 216), (423, 426, 436), 0.06)),
    "AU12": AppearanceRegion(
        "Lip Corner Puller", "zygomaticus major",
        "pulls the lip corners back and up; deepens the nasolabial furrow and pulls it "
        "laterally and up (strong actions also raise the infraorbital triangle: AU06's "
        "region)",
        (*_pair(*_CORNERS, 0.10), *_pair(*_NASOLABIAL, 0.05))),
    "AU13": AppearanceRegion(
        "Sharp Lip Puller", "levator anguli oris (caninus)",
        "pulls the lip corners up sharply, the corners narrow; the cheeks puff out above and "
        "beside the corners",
        (*_pair(*_CORNERS, 0.08), *_pair((61, 185, 186, 216), (291, 409, 410, 436), 0.06))),
    "AU14": AppearanceRegion(
        "Dimpler", "buccinator",
        "tightens the lip corners and draws them inwards; a dimple or wrinkle beyond the "
        "corners, where the skin bulges",
        (*_pair(*_CORNERS, 0.08), *_pair((61, 57, 212), (291, 287, 432), 0.06))),
    "AU15": AppearanceRegion(
        "Lip Corner Depressor", "depressor anguli oris (triangularis)",
        "pulls the lip corners down, angling the lips down; bagging or wrinkles below the "
        "corners; may flatten or wrinkle the chin boss",
        (*_pair(*_CORNERS, 0.08),
         *_pair((61, 146, 43, 106, 204, 211), (291, 375, 273, 335, 424, 431), 0.07))),
    "AU16": AppearanceRegion(
        "Lower Lip Depressor", "depressor labii inferioris",
        "pulls the lower lip down and stretches it sideways; the lower lip may turn out; "
        "wrinkles on the skin below it",
        (*_pair((146, 91, 181, 84, 17), (375, 321, 405, 314, 17), 0.06),),
        ("lower lip",)),
    "AU17": AppearanceRegion(
        "Chin Raiser", "mentalis",
        "pushes the chin boss and the lower lip up; wrinkles the chin boss; a furrow may "
        "appear below the lower lip",
        ((_CHIN, 0.13), *_pair((83, 18), (313, 18), 0.05))),
    "AU20": AppearanceRegion(
        "Lip Stretcher", "risorius with platysma",
        "pulls the lip corners sideways, elongating and flattening the mouth; stretches the "
        "skin beyond the corners, which may wrinkle; pulls the lower nasolabial furrow "
        "laterally",
        (*_pair((61, 57, 212, 214), (291, 287, 432, 434), 0.07),
         *_pair((43, 202, 210), (273, 422, 430), 0.05))),
    "AU23": AppearanceRegion(
        "Lip Tightener", "orbicularis oris",
        "tightens the lips: their red parts narrow and roll in, the lips may look thin",
        (), ("lips",)),
    "AU24": AppearanceRegion(
        "Lip Presser", "orbicularis oris",
        "presses the lips together: their red parts narrow, the skin above and below them "
        "bulges",
        ((_LIPS_OUTER + (61,), 0.06),), ("lips",)),
    "AU25": AppearanceRegion(
        "Lips Part", "depressor labii inferioris, or relaxed mentalis or orbicularis oris",
        "parts the lips: the inner lips, teeth or gums may show between them",
        (), ("lips", "mouth")),
    "AU26": AppearanceRegion(
        "Jaw Drop", "masseter and temporalis relaxed",
        "lowers the jaw: the lips part, the teeth come apart, the chin moves down",
        ((_CHIN + (152,), 0.12), *_pair((136, 150, 149, 176, 148, 152), (365, 379, 378, 400, 377, 152), 0.05)),
        ("mouth",)),
    "AU27": AppearanceRegion(
        "Mouth Stretch", "pterygoids, digastric",
        "pulls the jaw far down: the mouth is stretched open, the lips stretched, the corners "
        "drawn in",
        _pair(*_CORNERS, 0.08), ("lips", "mouth")),
    "AU38": AppearanceRegion(
        "Nostril Dilator", "nasalis, pars alaris",
        "widens the nostrils: the nostril wings flare",
        _pair((48, 64, 98), (278, 294, 327), 0.05)),
}  # fmt: skip

#: The appearance map's action units: py-feat's 19 and the three whose appearance has a
#: place of its own on the mesh (AU23 lip tightener, AU25 lips part, AU27 mouth stretch).
APPEARANCE_NAMES: tuple[str, ...] = tuple(APPEARANCE)

_N_TRIANGLES = 898
_EYE_CORNERS = (33, 263)
_FACES_PER_BLOCK = 32  # faces whose centroids are tested at once
_PIECE = 3  # segments per piece of a chain (each piece's box prunes the distances)
_SUBPIXELS = 1 << 21  # sub-pixels labelled at once


@dataclass(frozen=True)
class _Geometry:
    """The map in arrays. The chains cut into *pieces* of at most :data:`_PIECE` segments:
    ``ends`` (K, _PIECE, 2) each piece's segments as vertex pairs (a disk: the same vertex
    twice; a short piece repeats its last segment), ``radius`` (K,) in IOD, ``region``
    (K,) the region it belongs to; ``fixed`` (898, R) the triangles each region has
    whatever the face's shape: its areas, and the triangles on its chains' edges."""

    ends: np.ndarray
    radius: np.ndarray
    region: np.ndarray
    fixed: np.ndarray


def _areas(triangles: np.ndarray) -> dict[str, np.ndarray]:
    """Each of :data:`AREAS` as (898,) bool over the mesh's triangles."""
    mouth = _enclosed(triangles, LIPS_INNER)
    lips = _enclosed(triangles, _LIPS_OUTER) & ~mouth
    touches = {name: np.isin(triangles, list(v)).any(axis=1)
               for name, v in (("upper", UPPER_LIP), ("lower", LOWER_LIP))}  # fmt: skip
    return {"lips": lips, "upper lip": lips & ~touches["lower"],
            "lower lip": lips & ~touches["upper"], "mouth": mouth}  # fmt: skip


@lru_cache(maxsize=1)
def _geometry() -> _Geometry:
    triangles = region_map().triangles
    areas = _areas(triangles)
    sides: dict[frozenset, list[int]] = {}  # the triangles on each edge of the mesh
    for t, (a, b, c) in enumerate(triangles.tolist()):
        for e in ((a, b), (b, c), (a, c)):
            sides.setdefault(frozenset(e), []).append(t)
    pieces, radius, owner = [], [], []
    fixed = np.zeros((_N_TRIANGLES, len(APPEARANCE)), bool)
    for r, (name, region) in enumerate(APPEARANCE.items()):
        for chain, rad in region.chains:
            ends = chain if len(chain) > 1 else chain * 2  # a disk: one zero-length segment
            pairs = list(zip(ends[:-1], ends[1:], strict=True))
            for start in range(0, len(pairs), _PIECE):
                piece = pairs[start : start + _PIECE]
                pieces.append(piece + piece[-1:] * (_PIECE - len(piece)))
                radius.append(rad)
                owner.append(r)
            for pair in pairs[: len(chain) - 1]:
                if frozenset(pair) not in sides:
                    raise ValueError(f"{name}: chain step {pair} is not an edge of the mesh")
                fixed[sides[frozenset(pair)], r] = True
        for area in region.areas:
            fixed[:, r] |= areas[area]
    return _Geometry(np.asarray(pieces, np.int64), np.asarray(radius, np.float32),
                     np.asarray(owner, np.int64), fixed)  # fmt: skip


def _points(points) -> np.ndarray:
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 3 or p.shape[1:] != (468, 2):
        raise ValueError(f"expected mesh points (N, 468, 2), got shape {p.shape}")
    if not np.isfinite(p).all():
        raise ValueError("mesh points must be finite")
    return p


def membership(points: np.ndarray) -> np.ndarray:
    """Which triangles of each face belong to each region: bool (N, 898, R), R =
    :data:`APPEARANCE_NAMES`. ``points``: mesh points (N, 468, 2) in any pixel units (the
    chains' radii are in each face's own inter-ocular distance)."""
    p = _points(points)
    geo = _geometry()
    tri = region_map().triangles
    out = np.empty((len(p), _N_TRIANGLES, len(APPEARANCE)), bool)
    for s in range(0, len(p), _FACES_PER_BLOCK):
        block = p[s : s + _FACES_PER_BLOCK]
        q = (block - block.mean(axis=1, keepdims=True)).astype(np.float32)
        iod = np.linalg.norm(q[:, _EYE_CORNERS[1]] - q[:, _EYE_CORNERS[0]], axis=-1)
        c = q[:, tri].mean(axis=2)  # (n, 898, 2) centroids
        # candidates: centroids inside a piece's box grown by its radius (exact pruning: a
        # point within the radius of a segment lies in the segment's grown box)
        reach = geo.radius[None] * iod[:, None]  # (n, K)
        corners = q[:, geo.ends.reshape(len(geo.ends), -1)]  # (n, K, 2 * _PIECE, 2)
        grow = (reach * 1.001 + 1e-6)[..., None]
        lo, hi = corners.min(axis=2) - grow, corners.max(axis=2) + grow  # (n, K, 2)
        cx, cy = c[:, :, None, 0], c[:, :, None, 1]
        cand = (cx >= lo[:, None, :, 0]) & (cx <= hi[:, None, :, 0])
        cand &= (cy >= lo[:, None, :, 1]) & (cy <= hi[:, None, :, 1])
        f, t, k = np.nonzero(cand)  # (P,) face, triangle, piece
        a = q[f[:, None], geo.ends[k, :, 0]]  # (P, _PIECE, 2)
        ab = q[f[:, None], geo.ends[k, :, 1]] - a
        inv = (ab**2).sum(-1)
        inv = np.divide(1.0, inv, out=np.zeros_like(inv), where=inv > 0)  # disks: 0
        d = c[f, t][:, None] - a
        along = np.clip((d * ab).sum(-1) * inv, 0.0, 1.0)  # the nearest point's position
        d -= along[..., None] * ab
        near = ((d**2).sum(-1) <= (reach[f, k] ** 2)[:, None]).any(axis=1)
        part = np.zeros((len(q), _N_TRIANGLES, len(APPEARANCE)), bool)
        part[f[near], t[near], geo.region[k[near]]] = True
        out[s : s + len(q)] = part | geo.fixed
    return out


_membership_of = membership  # rasterize's argument of that name hides the function


def _labels(fixed: np.ndarray, shape: tuple[int, int], scale: int) -> np.ndarray:
    """Each face's triangle index per sub-pixel (N, H*scale, W*scale) uint16, painted in
    index order (later wins), 898 outside the mesh."""
    tri = region_map().triangles
    polys = np.ascontiguousarray(fixed[:, tri])  # (N, 898, 3, 2)
    out = np.full((len(fixed), shape[0] * scale, shape[1] * scale), _N_TRIANGLES, np.uint16)
    fill, line, shift = cv2.fillConvexPoly, cv2.LINE_8, 4
    for i in range(len(fixed)):
        img = out[i]
        for t, poly in enumerate(list(polys[i])):
            fill(img, poly, t, line, shift)
    return out


def rasterize(points: np.ndarray, size: int | tuple[int, int], *, supersample: int = 4,
              membership: np.ndarray | None = None,
              union: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Soft masks of each face's appearance regions: float32 (N, R, H, W), R = 22
    (:data:`APPEARANCE_NAMES`), each pixel's fraction inside each region, regions measured
    independently (they overlap). Arguments and coordinates as
    :func:`emonb.anatomy.regions.rasterize`: ``points`` (N, 468, 2) in the map's pixels
    (pixel centres at integer + 0.5), ``size`` the map's side or (H, W), ``supersample``
    sub-pixels per map pixel along each axis.

    ``membership``: (N, 898, R) bool, the triangles of each region (default: the
    :func:`membership` of ``points``; give it to rasterise the same triangles at several
    sizes, or any other regions made of the mesh's triangles). ``union``: also return each
    pixel's fraction inside any region, (N, H, W): ``(masks, union)``.
    """
    shape = _hw(size)
    s = int(supersample)
    if s < 1:
        raise ValueError(f"supersample must be at least 1, got {supersample}")
    p = _points(points)
    member = _membership_of(p) if membership is None else np.asarray(membership, bool)
    if member.ndim != 3 or member.shape[:2] != (len(p), _N_TRIANGLES):
        raise ValueError(f"expected membership ({len(p)}, {_N_TRIANGLES}, R), got {member.shape}")
    if union:
        member = np.concatenate([member, member.any(axis=-1, keepdims=True)], axis=-1)
    masks = _fractions(p, member, shape, s)
    return (masks[:, :-1], masks[:, -1]) if union else masks


def _fractions(p: np.ndarray, member: np.ndarray, shape: tuple[int, int], s: int) -> np.ndarray:
    """Per map pixel, the fraction of its sub-pixels whose triangle is in each region."""
    h, w = shape
    r = member.shape[-1]
    # each region's membership as a field of `width` bits in 64-bit words: summing the
    # words over a pixel's s * s sub-pixels sums every region's count at once (s * s fits)
    width = int(s * s).bit_length()
    per_word = 64 // width
    words = -(-r // per_word)
    field = np.arange(r)
    shifts = ((field % per_word) * width).astype(np.uint64)
    word_of = field // per_word
    packed = np.zeros((words, len(p), _N_TRIANGLES + 1), np.uint64)  # triangle 898: outside
    for k in range(words):
        sel = word_of == k
        packed[k, :, :_N_TRIANGLES] = (member[:, :, sel].astype(np.uint64)
                                       << shifts[sel]).sum(axis=-1, dtype=np.uint64)  # fmt: skip
    packed = packed.reshape(words, -1)
    out = np.empty((len(p), r, h, w), np.float32)
    fixed = _fixed(p, s)
    mask = np.uint64((1 << width) - 1)
    chunk = max(1, _SUBPIXELS // (h * w * s * s))
    for start in range(0, len(p), chunk):
        part = slice(start, min(start + chunk, len(p)))
        n = part.stop - part.start
        labels = _labels(fixed[part], shape, s).astype(np.intp)  # (n, H*s, W*s)
        first = np.arange(part.start, part.stop, dtype=np.intp) * (_N_TRIANGLES + 1)
        labels += first[:, None, None]  # into the packed rows of each face
        for k in range(words):
            sub = np.take(packed[k], labels)  # each sub-pixel's fields
            sums = sub.reshape(-1, s).sum(axis=1).reshape(n, h, s, w).sum(axis=2)  # (n, h, w)
            for field_index in np.flatnonzero(word_of == k):
                counts = (sums >> shifts[field_index]) & mask
                out[part, field_index] = counts * (1.0 / (s * s))
    return out
