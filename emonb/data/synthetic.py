"""Seeded synthetic "expression faces": a labelled stand-in for FER-2013.

When the real FER-2013 data is not configured, the chapters train and probe the
network on these instead. Every face is a grey 48x48 (by default) cartoon face --
oval lighter than a textured background, optional hair, dark brows, eyes (white,
dark iris and pupil, lid line), a nose hint and a mouth -- whose *facial action
cues* encode one of the seven FER-2013 classes, in FER-2013 order
(:data:`emonb.config.CLASS_NAMES`).

Class cues
----------
Each cue is applied with a random intensity ``a`` in [0.6, 1.0] (0 = neutral face,
1 = full cue), so classes overlap a little and the task is learnable but not trivial.

=========  ===================================================================  =====================
class      cue (what differs from the neutral face)                             cue regions (mask)
=========  ===================================================================  =====================
angry      brows lowered and slanted down towards the centre (V), drawn         brows, mouth
           together and thicker; lips pressed into a thin, narrower flat line
disgust    nose wrinkle (short lines across the nose bridge), flared            nose, mouth
           nostrils; upper lip raised on one side (sneer, showing teeth),
           mouth corners slightly down
fear       brows raised, flat and drawn together; eyes wide open (white         brows, eyes, mouth
           visible above and below the iris); mouth stretched horizontally,
           slightly open
happy      smile: corners curved up, mouth often open showing teeth; eyes       eyes, mouth
           narrowed into upward crescents (cheek raise)
sad        inner brow corners raised, outer ends lowered (inverted V); mouth    brows, mouth
           corners down (frown), fuller lower lip
surprise   brows high and arched; eyes wide open; mouth an open O               brows, eyes, mouth
neutral    relaxed default features; its cue regions are the brows and the      brows, mouth
           mouth, whose resting shape is what tells it apart from the others
=========  ===================================================================  =====================

Per-face variation (all from one ``numpy.random.default_rng(seed)``):

* identity: face width, height and taper, eye spacing and height, eye/iris/brow/nose/
  mouth sizes, resting brow and mouth shape, skin, hair, brow and background
  tones, hair style (none, or back hair with a fringe);
* pose: in-plane rotation within +-10 degrees, shift within +-2 px, scale
  0.9-1.1 (about the face centre), applied with :func:`cv2.warpAffine` to the
  image and to the masks alike;
* lighting: a random linear brightness gradient, global contrast (0.7-1.15) and
  brightness (+-25 grey levels); low-frequency background texture;
* blur (Gaussian, sigma 0-0.8 px) and sensor noise (Gaussian, sigma 1.5-7).

Faces are drawn 4x supersampled with anti-aliased OpenCV primitives on a canvas
with a margin, box-filtered down (``INTER_AREA``) and then warped to ``size`` px.
Geometry is specified in pixels of a 48x48 face and scales with ``size``.

Masks
-----
``region_masks[r]`` marks, for every face, the pixels of region ``r`` (one of
:data:`REGIONS`) that a cue can change: the union of the face's own feature and
of the *neutral* feature of the same identity (so a lowered brow covers both
where the brow is and where it would rest). The nose region is the nostrils and
the tip, plus the wrinkles when drawn (the bridge shadow never changes and is
left out). Masks are drawn 2x supersampled, box-filtered down, warped with the
image's affine transform (bilinear), kept where the feature covers at least half
a pixel, then dilated by 2 px (3x3 steps; scaled with ``size``), which absorbs
the blur. ``cue_masks`` is the union of the label's :data:`CUE_REGIONS`; for the
neutral class, the brows and the mouth. ``face_masks`` is the (egg-shaped) face
outline under the same transform; every region mask lies inside it.

Because the random stream does not depend on the labels when ``classes`` is
given, ``make_synthetic_faces(n, seed, classes=[c] * n)`` for different ``c``
gives the *same* faces (identity, pose, lighting, noise) with different
expressions: paired differences isolate the cue exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral

import cv2
import numpy as np

from emonb.config import CLASS_NAMES

__all__ = ["CUE_REGIONS", "REGIONS", "SyntheticFaces", "make_synthetic_faces"]

#: Facial regions that carry cues; ``region_masks`` keys, in this order.
REGIONS: tuple[str, ...] = ("brows", "eyes", "nose", "mouth")

#: Class name -> the regions whose appearance carries its cue.
CUE_REGIONS: dict[str, tuple[str, ...]] = {
    "angry": ("brows", "mouth"),
    "disgust": ("nose", "mouth"),
    "fear": ("brows", "eyes", "mouth"),
    "happy": ("eyes", "mouth"),
    "sad": ("brows", "mouth"),
    "surprise": ("brows", "eyes", "mouth"),
    "neutral": ("brows", "mouth"),
}

_SS = 4  # supersampling factor of the image canvas
_SS_MASK = 2  # supersampling factor of the mask canvas
_SHIFT = 4  # fractional bits for cv2 drawing coordinates
_ONE = 1 << _SHIFT
_MIN_SIZE = 24
_MASK_THRESHOLD = 128  # of 255: feature coverage of a pixel after downsampling and warping
_DILATE = 2  # px (at 48x48) of 3x3 dilation of the thresholded masks
_TEST_EVERY = 9  # every 9th face is "PublicTest"

# Action parameters of the neutral face (deltas added to identity), and each
# class's values at full cue intensity. Units: px at 48x48, y grows downwards.
_NEUTRAL: dict[str, float] = {
    "brow_in": 0.0,  # inner-end vertical offset (+ = lower)
    "brow_mid": -0.6,  # middle (- = arched up)
    "brow_out": 0.2,  # outer end
    "brow_dx": 0.0,  # shift towards the face midline (drawn together)
    "brow_th": 1.0,  # thickness factor
    "eye_up": 1.0,  # upper-lid opening factor
    "eye_lo": 1.0,  # lower-lid opening factor
    "eye_lift": 0.0,  # lower lid pushed up in the middle (cheek raise), px
    "mouth_c": 0.3,  # corner lift (+ = smile, - = frown), px
    "mouth_w": 1.0,  # width factor
    "mouth_dy": 0.0,  # vertical shift of the mouth
    "mouth_ou": 0.0,  # opening above the lip line, px
    "mouth_ol": 0.0,  # opening below the lip line, px
    "mouth_round": 0.0,  # 0 = parabolic opening, 1 = elliptic (O)
    "mouth_lu": 0.8,  # upper-lip fullness, px
    "mouth_ll": 1.1,  # lower-lip fullness, px
    "mouth_sneer": 0.0,  # one-sided upper-lip raise, px
    "mouth_line": 1.0,  # lip-line thickness factor
    "mouth_teeth": 0.0,  # teeth show when the mouth opens (0..1)
    "nose_wrinkle": 0.0,  # wrinkle darkness (0..1)
    "nose_flare": 0.0,  # nostril flare/raise (0..1)
}

_EXPRESSIONS: dict[str, dict[str, float]] = {
    "angry": {
        "brow_in": 3.1,
        "brow_mid": 1.3,
        "brow_out": -0.3,
        "brow_dx": 0.8,
        "brow_th": 1.4,
        "mouth_c": -0.2,
        "mouth_w": 0.75,
        "mouth_lu": 0.0,
        "mouth_ll": 0.0,
        "mouth_line": 1.9,
    },
    "disgust": {
        "nose_wrinkle": 1.0,
        "nose_flare": 1.0,
        "mouth_c": -0.8,
        "mouth_dy": -0.6,
        "mouth_sneer": 2.4,
        "mouth_teeth": 1.0,
        "mouth_lu": 0.5,
        "mouth_ll": 1.5,
    },
    "fear": {
        "brow_in": -2.9,
        "brow_mid": -2.5,
        "brow_out": -1.5,
        "brow_dx": 1.0,
        "eye_up": 1.9,
        "eye_lo": 1.5,
        "mouth_c": -0.9,
        "mouth_w": 1.3,
        "mouth_ou": 0.4,
        "mouth_ol": 1.3,
        "mouth_teeth": 1.0,
        "mouth_lu": 0.4,
        "mouth_ll": 0.6,
    },
    "happy": {
        "eye_up": 0.6,
        "eye_lo": 0.5,
        "eye_lift": 1.0,
        "mouth_c": 2.8,
        "mouth_w": 1.2,
        "mouth_ou": 0.15,
        "mouth_ol": 1.5,  # replaced per face by a random opening (closed to wide)
        "mouth_teeth": 1.0,
        "mouth_lu": 0.45,
        "mouth_ll": 0.8,
    },
    "sad": {
        "brow_in": -3.0,
        "brow_mid": -1.0,
        "brow_out": 1.1,
        "brow_dx": 0.4,
        "mouth_c": -2.8,
        "mouth_w": 0.9,
        "mouth_lu": 0.5,
        "mouth_ll": 1.6,
    },
    "surprise": {
        "brow_in": -2.9,
        "brow_mid": -3.7,
        "brow_out": -1.8,
        "eye_up": 1.7,
        "eye_lo": 1.4,
        "mouth_c": 0.0,
        "mouth_w": 0.52,
        "mouth_dy": 0.6,
        "mouth_ou": 2.0,
        "mouth_ol": 3.0,
        "mouth_round": 1.0,
        "mouth_lu": 0.7,
        "mouth_ll": 0.9,
    },
    "neutral": {},
}


@dataclass(frozen=True)
class SyntheticFaces:
    """A labelled set of synthetic expression faces.

    Attributes
    ----------
    images : numpy.ndarray
        ``uint8`` array of shape ``(N, size, size)``.
    labels : numpy.ndarray
        ``int64`` array of shape ``(N,)``, FER-2013 emotion codes ``0..6``.
    usage : numpy.ndarray
        ``str`` array of shape ``(N,)``: ``"Training"`` or ``"PublicTest"``
        (every 9th face, by index).
    cue_masks : numpy.ndarray
        ``bool`` array of shape ``(N, size, size)``: the union of the label's
        :data:`CUE_REGIONS` region masks.
    region_masks : dict of str to numpy.ndarray
        For each name in :data:`REGIONS`, a ``bool`` array ``(N, size, size)``
        marking that region on every face (whatever the label).
    face_masks : numpy.ndarray
        ``bool`` array ``(N, size, size)``: the face outline (skin oval).
    class_names : tuple of str
        Names of the label codes (FER-2013 order).
    """

    images: np.ndarray
    labels: np.ndarray
    usage: np.ndarray
    cue_masks: np.ndarray
    region_masks: dict[str, np.ndarray]
    face_masks: np.ndarray
    class_names: tuple[str, ...] = CLASS_NAMES

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if int(value) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _check_classes(classes: Sequence[int], n: int) -> np.ndarray:
    arr = np.asarray(classes)
    if arr.ndim != 1:
        raise ValueError(f"classes must be a 1-D sequence of class codes, got shape {arr.shape}")
    if arr.shape[0] != n:
        raise ValueError(f"len(classes) must equal n={n}, got {arr.shape[0]}")
    if arr.size and not (np.issubdtype(arr.dtype, np.integer) and arr.dtype != np.bool_):
        raise ValueError(f"classes must hold integer class codes, got dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() >= len(CLASS_NAMES)):
        raise ValueError(
            f"classes must be codes in 0..{len(CLASS_NAMES) - 1} "
            f"({', '.join(CLASS_NAMES)}), got values in {arr.min()}..{arr.max()}"
        )
    return arr.astype(np.int64)


def _quad(t: np.ndarray, y0: np.ndarray, y1: np.ndarray, y2: np.ndarray) -> np.ndarray:
    """Quadratic through (0, y0), (0.5, y1), (1, y2); ``(N,)`` values, ``(K,)`` t."""
    l0 = 2 * (t - 0.5) * (t - 1)
    l1 = -4 * t * (t - 1)
    l2 = 2 * t * (t - 0.5)
    return y0[:, None] * l0 + y1[:, None] * l1 + y2[:, None] * l2


def _xy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Stack broadcast x and y into points ``(..., 2)``."""
    return np.stack(np.broadcast_arrays(x, y), axis=-1)


def _closed(upper: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """Outline from an upper curve (left to right) and a lower curve sharing its ends."""
    return np.concatenate([upper, lower[..., -2:0:-1, :]], axis=-2)


def _ribbon(curve: np.ndarray, half: np.ndarray | float) -> np.ndarray:
    """A stroke of half-width ``half`` along ``curve`` ``(..., K, 2)`` as a polygon.

    Filled polygons draw much faster than thick anti-aliased polylines in OpenCV.
    """
    d = np.gradient(curve, axis=-2)
    d /= np.maximum(np.hypot(d[..., 0], d[..., 1]), 1e-9)[..., None]
    normal = np.stack([-d[..., 1], d[..., 0]], axis=-1)
    off = normal * np.asarray(half)[..., None, None]
    return np.concatenate([curve + off, (curve - off)[..., ::-1, :]], axis=-2)


def _geometry(p: dict[str, np.ndarray], ident: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Feature outlines of all faces as float polygons, in face-centred px at 48x48."""
    g: dict[str, np.ndarray] = {}
    col = {key: v[:, None] for key, v in ident.items()}
    pc = {key: v[:, None] for key, v in p.items()}
    ey = col["eye_y"]

    # Brows: tapered quadratic bands from the inner to the outer end. (N, 2, 18, 2)
    t = np.linspace(0.0, 1.0, 9)
    x_in = col["eye_dx"] - 3.3
    x_out = col["eye_dx"] + 2.7
    xmag = x_in + (x_out - x_in) * t - pc["brow_dx"] * (1.0 - 0.5 * t)
    yb = ident["eye_y"] - ident["brow_gap"]
    yc = _quad(t, yb + p["brow_in"], yb + p["brow_mid"], yb + p["brow_out"])
    half = 0.5 * col["brow_th"] * pc["brow_th"] * (1.15 - 0.55 * t)
    g["brows"] = np.stack(
        [
            np.concatenate([_xy(s * xmag, yc - half), _xy(s * xmag, yc + half)[:, ::-1]], axis=1)
            for s in (-1.0, 1.0)
        ],
        axis=1,
    )

    # Eyes: almond between an upper and a lower lid curve; iris and pupil ellipses.
    t = np.linspace(-1.0, 1.0, 11)
    prof = (1.0 - t**2) ** 0.6
    hu = col["eye_h"] * pc["eye_up"]
    hl = 0.85 * col["eye_h"] * pc["eye_lo"]
    yu = ey - hu * prof
    yl = np.maximum(ey + hl * prof - pc["eye_lift"] * (1.0 - t**2), yu + 0.08)
    yu0 = ident["eye_y"] - hu[:, 0]
    yl0 = np.maximum(ident["eye_y"] + hl[:, 0] - p["eye_lift"], yu0 + 0.08)
    cy = 0.5 * (yu0 + yl0)
    r = ident["iris_r"]
    ry = np.minimum(r, 0.5 * (yl0 - yu0))
    up, lo, iris, pupil = [], [], [], []
    for s in (-1.0, 1.0):
        x = s * col["eye_dx"] + col["eye_w"] * t
        up.append(_xy(x, yu))
        lo.append(_xy(x, yl))
        cx = s * ident["eye_dx"] + ident["gaze"]
        iris.append(np.stack([cx, cy, r, ry], axis=-1))
        pupil.append(np.stack([cx, cy, 0.45 * r, np.minimum(0.45 * r, ry)], axis=-1))
    up_a, lo_a = np.stack(up, axis=1), np.stack(lo, axis=1)
    g["eye_white"] = _closed(up_a, lo_a)
    g["lid_up"] = _ribbon(up_a, 0.35)
    g["lid_lo"] = _ribbon(lo_a, 0.2)
    g["iris"] = np.stack(iris, axis=1)  # (N, 2, 4): cx, cy, rx, ry
    g["pupil"] = np.stack(pupil, axis=1)

    # Nose: nostrils, a cup under the tip, a bridge shadow, optional wrinkles.
    phi = np.linspace(0.0, 2 * np.pi, 10, endpoint=False)
    yn = col["nose_y"]
    nw = col["nose_w"]
    flare = pc["nose_flare"]
    nost = []
    for s in (-1.0, 1.0):
        nx = s * 0.75 * nw * (1.0 + 0.25 * flare)
        ny = yn - 0.3 - 0.45 * flare
        ax = 0.65 * (1.0 + 0.3 * flare)
        nost.append(_xy(nx + ax * np.cos(phi), ny + 0.4 * np.sin(phi)))
    g["nostrils"] = np.stack(nost, axis=1)
    phi = np.deg2rad(np.linspace(15.0, 165.0, 9))
    tip = _xy(nw * (1.05 + 0.2 * flare) * np.cos(phi), yn - 0.9 - 0.3 * flare + 0.95 * np.sin(phi))
    g["nose_tip"] = _ribbon(tip, 0.25)
    side = col["shade_side"]
    bridge = _xy(side * np.linspace(1.0, 1.5, 4), ey + 0.8 + (yn - 2.5 - ey) * np.linspace(0, 1, 4))
    g["bridge"] = _ribbon(bridge, 0.45)
    t = np.linspace(-1.0, 1.0, 7)
    wr = [_xy(1.7 * t, ey - 0.4 + 1.2 * j + 0.35 * t**2 - 0.1 * j) for j in range(3)]
    g["wrinkles"] = _ribbon(np.stack(wr, axis=1), 0.25)

    # Mouth: inner lip curves (the opening lies between them) and outer lip outlines.
    t = np.linspace(-1.0, 1.0, 15)
    x = col["mouth_w"] * pc["mouth_w"] * t
    base = col["mouth_y"] + pc["mouth_dy"] - pc["mouth_c"] * t**2
    prof = (1.0 - t**2) ** (1.0 - 0.5 * pc["mouth_round"])
    sneer = pc["mouth_sneer"]
    bump = np.exp(-(((t - 0.45 * col["sneer_side"]) / 0.35) ** 2))
    corner_up = 0.35 * sneer * np.clip(col["sneer_side"] * t, 0.0, None) ** 2
    inner_u = base - pc["mouth_ou"] * prof - sneer * bump - corner_up
    inner_l = np.maximum(base + pc["mouth_ol"] * prof - corner_up, inner_u)
    lip_prof = (1.0 - t**2) ** 0.5
    outer_u = inner_u - pc["mouth_lu"] * lip_prof
    outer_l = inner_l + pc["mouth_ll"] * lip_prof
    teeth_l = np.minimum(inner_u + 0.55 * (inner_l - inner_u) + 0.25, inner_l)
    g["lips"] = _closed(_xy(x, outer_u), _xy(x, outer_l))
    g["opening"] = _closed(_xy(x, inner_u), _xy(x, inner_l))
    g["teeth"] = _closed(_xy(x, inner_u), _xy(x, teeth_l))
    g["open_h"] = (inner_l - inner_u).max(axis=1)
    is_open = g["open_h"] > 0.25
    line_half = np.where(is_open, 0.25, 0.35 * p["mouth_line"])
    g["mouth_u"] = _ribbon(_xy(x, inner_u), line_half)
    g["mouth_l"] = _ribbon(_xy(x, inner_l), line_half)
    return g


def _fixed_point(a: np.ndarray, scale: float, offset_x: float, offset_y: float) -> np.ndarray:
    """Face px -> fixed-point canvas coordinates (int32 with ``_SHIFT`` fraction bits)."""
    out = np.empty(a.shape, dtype=np.float64)
    out[..., 0] = a[..., 0] * scale + offset_x
    out[..., 1] = a[..., 1] * scale + offset_y
    return np.rint(out * _ONE).astype(np.int32)


def make_synthetic_faces(
    n: int = 700,
    seed: int = 0,
    size: int = 48,
    classes: Sequence[int] | None = None,
) -> SyntheticFaces:
    """Generate ``n`` seeded synthetic expression faces with cue masks.

    Parameters
    ----------
    n : int, default 700
        Number of faces (>= 1).
    seed : int, default 0
        Seed of the single :func:`numpy.random.default_rng` used for everything;
        the same seed gives bit-identical output.
    size : int, default 48
        Side of the square images in pixels (>= 24); the geometry scales with it.
    classes : sequence of int, optional
        The label (FER-2013 code 0..6) of each face; its length must equal ``n``.
        By default the labels are balanced (round-robin, then shuffled).

    Returns
    -------
    SyntheticFaces
        Images, labels, usage split, cue masks, per-region masks and face masks.

    Raises
    ------
    ValueError
        If ``n`` or ``size`` is not an integer in range, or ``classes`` has the
        wrong length, type or values.

    Examples
    --------
    >>> data = make_synthetic_faces(14, seed=1)
    >>> data.images.shape, data.images.dtype, sorted(set(data.labels.tolist()))
    ((14, 48, 48), dtype('uint8'), [0, 1, 2, 3, 4, 5, 6])
    """
    n = _check_int("n", n, 1)
    size = _check_int("size", size, _MIN_SIZE)
    rng = np.random.default_rng(seed)
    n_cls = len(CLASS_NAMES)
    if classes is None:
        labels = rng.permutation(np.arange(n, dtype=np.int64) % n_cls)
    else:
        labels = _check_classes(classes, n)

    def u(lo: float, hi: float) -> np.ndarray:
        return rng.uniform(lo, hi, n)

    # Identity, in px at 48x48 and face-centred coordinates (y down).
    ident = {
        "face_a": u(15.6, 17.2),
        "face_b": u(18.5, 20.5),
        "face_egg": u(0.04, 0.12),  # forehead wider than the chin
        "eye_dx": u(5.9, 6.9),
        "eye_y": u(-4.6, -3.6),
        "eye_w": u(2.8, 3.4),
        "eye_h": u(1.25, 1.65),
        "iris_r": u(1.05, 1.35),
        "gaze": u(-0.4, 0.4),
        "brow_gap": u(3.1, 3.7),
        "brow_th": u(1.0, 1.5),
        "nose_w": u(1.6, 2.2),
        "mouth_w": u(4.4, 5.4),
        "sneer_side": np.where(rng.random(n) < 0.5, -1.0, 1.0),
        "shade_side": np.where(rng.random(n) < 0.5, -1.0, 1.0),
    }
    ident["nose_y"] = ident["eye_y"] + u(8.3, 9.4)
    ident["mouth_y"] = ident["nose_y"] + u(5.0, 6.2)
    rest = {  # resting shape of brows and mouth (identity: the same for every class)
        "brow_in": u(-0.3, 0.3),
        "brow_mid": u(-0.3, 0.3),
        "brow_out": u(-0.3, 0.3),
        "mouth_c": u(-0.3, 0.3),
    }
    amp = u(0.6, 1.0)  # cue intensity
    happy_open = u(0.0, 2.8)

    neutral = {key: np.full(n, v) + rest.get(key, 0.0) for key, v in _NEUTRAL.items()}
    params = {key: v.copy() for key, v in neutral.items()}
    for code, name in enumerate(CLASS_NAMES):
        sel = labels == code
        for key, target in _EXPRESSIONS[name].items():
            goal = happy_open[sel] if (name, key) == ("happy", "mouth_ol") else target
            params[key][sel] += amp[sel] * (goal - _NEUTRAL[key])

    # Tones (grey levels).
    skin = u(140.0, 215.0)
    bg = np.clip(skin - u(45.0, 110.0), 15.0, None)
    hair = u(15.0, 85.0)
    has_hair = rng.random(n) < 0.85
    fringe = u(0.12, 0.2)
    tone_arrays = {
        "skin": skin,
        "neck": skin - 25.0,
        "bg": bg,
        "hair": hair,
        "brow": u(20.0, 75.0),
        "white": np.clip(skin + u(15.0, 40.0), 185.0, 245.0),
        "iris": u(25.0, 95.0),
        "lid": u(15.0, 55.0),
        "lid_lo": skin - 30.0,
        "lip": skin - u(30.0, 55.0),
        "dark": u(10.0, 45.0),
        "teeth": u(185.0, 235.0),
        "nose": skin - u(40.0, 65.0),
        "bridge": skin - u(8.0, 20.0),
        "wrinkle": skin - 80.0 * params["nose_wrinkle"],
    }
    tone_arrays["tip"] = tone_arrays["nose"] + 15.0
    # Pose.
    angle = u(-10.0, 10.0)
    scale = u(0.9, 1.1)
    shift = rng.uniform(-2.0, 2.0, (n, 2))
    # Lighting, background texture, blur, noise.
    grad_dir = u(0.0, 2 * np.pi)
    grad_amp = u(0.0, 0.35)
    contrast = u(0.7, 1.15)
    bright = u(-25.0, 25.0)
    tex = rng.standard_normal((n, 5, 5)) * u(4.0, 14.0)[:, None, None]
    blur = u(0.0, 0.8)
    noise_sd = u(1.5, 7.0)
    noise = rng.standard_normal((n, size, size), dtype=np.float32)

    # Geometry (vectorised), then fixed-point coordinates on the supersampled canvases.
    k = size / 48.0
    margin = math.ceil(size / 6)
    low = size + 2 * margin  # canvas side before the warp (face centred, with margin)
    dyc = 1.0  # the face centre sits 1 px (at 48) below the image centre
    cx_low = (low - 1) / 2.0
    cy_low = cx_low + dyc * k

    def fixed(a: np.ndarray, ss: int) -> np.ndarray:
        return _fixed_point(a, k * ss, cx_low * ss + (ss - 1) / 2, cy_low * ss + (ss - 1) / 2)

    def ellipse_args(e: np.ndarray) -> tuple[list, list]:
        """(..., 4) centre x, centre y, semi-axes -> cv2.ellipse centre and axes lists."""
        axes = np.maximum(np.rint(e[..., 2:] * (k * _SS * _ONE)), 1).astype(np.int32)
        return fixed(e[..., :2], _SS).tolist(), axes.tolist()

    geo = _geometry(params, ident)
    geo_n = _geometry(neutral, ident)
    keys = ("brows", "eye_white", "lid_up", "lid_lo", "nostrils", "nose_tip", "bridge")
    keys += ("wrinkles", "lips", "opening", "teeth", "mouth_u", "mouth_l")
    pts = {key: fixed(geo[key], _SS) for key in keys}
    mpts = {key: fixed(geo[key], _SS_MASK) for key in keys}
    mpts_n = {key: fixed(geo_n[key], _SS_MASK) for key in keys}

    iris_c, iris_ax = ellipse_args(geo["iris"])
    pupil_c, pupil_ax = ellipse_args(geo["pupil"])
    fa, fb = ident["face_a"], ident["face_b"]
    zeros = np.zeros(n)
    phi = np.linspace(0.0, 2 * np.pi, 48, endpoint=False)
    egg = ident["face_egg"][:, None]
    face_outline = fixed(
        _xy(fa[:, None] * np.cos(phi) * (1.0 - egg * np.sin(phi)), fb[:, None] * np.sin(phi)), _SS
    )
    hair_c, hair_ax = ellipse_args(np.stack([zeros, -0.22 * fb, 1.12 * fa, 0.98 * fb], axis=-1))
    fringe_c, fringe_ax = ellipse_args(np.stack([zeros, -fb, 0.97 * fa, fringe * fb], axis=-1))
    bottom = np.full(n, 30.0 + margin / k)
    neck = fixed(
        np.stack(
            [
                _xy(-0.5 * fa, 0.5 * fb),
                _xy(0.5 * fa, 0.5 * fb),
                _xy(0.62 * fa, bottom),
                _xy(-0.62 * fa, bottom),
            ],
            axis=1,
        ),
        _SS,
    )

    has_wrinkle = (params["nose_wrinkle"] > 0.05).tolist()
    is_open = (geo["open_h"] > 0.25).tolist()
    show_teeth = ((geo["open_h"] > 0.6) & (params["mouth_teeth"] > 0.3)).tolist()
    has_hair_l = has_hair.tolist()
    tone = {
        name: np.clip(np.rint(v), 0, 255).astype(int).tolist() for name, v in tone_arrays.items()
    }

    # Affine transforms: canvas (low-res) -> output, about the face centre.
    theta = np.deg2rad(angle)
    cos, sin = scale * np.cos(theta), scale * np.sin(theta)
    out_cx = (size - 1) / 2.0 + shift[:, 0] * k
    out_cy = (size - 1) / 2.0 + dyc * k + shift[:, 1] * k
    mats = np.empty((n, 2, 3))
    mats[:, 0, 0], mats[:, 0, 1] = cos, -sin
    mats[:, 1, 0], mats[:, 1, 1] = sin, cos
    mats[:, 0, 2] = out_cx - (cos * cx_low - sin * cy_low)
    mats[:, 1, 2] = out_cy - (sin * cx_low + cos * cy_low)

    images = np.empty((n, size, size), dtype=np.float32)
    masks = np.empty((n, size, size, len(REGIONS)), dtype=np.uint8)
    img = np.empty((low * _SS, low * _SS), dtype=np.uint8)
    # One contiguous plane per region: cv2 drawing writes every channel of a pixel,
    # so regions drawn into one multi-channel canvas would erase each other.
    planes = np.empty((len(REGIONS), low * _SS_MASK, low * _SS_MASK), dtype=np.uint8)
    brows_m, eyes_m, nose_m, mouth_m = planes
    plane_list = list(planes)
    half_size, low_size, out_size = (low * _SS // 2,) * 2, (low, low), (size, size)
    aa, l8, sh, area, linear = cv2.LINE_AA, cv2.LINE_8, _SHIFT, cv2.INTER_AREA, cv2.INTER_LINEAR
    fill, ellipse = cv2.fillPoly, cv2.ellipse

    for i in range(n):
        # The image, 4x supersampled and anti-aliased. Non-overlapping shapes only
        # share a fillPoly call (it fills with the even-odd rule).
        img.fill(tone["bg"][i])
        if has_hair_l[i]:
            ellipse(img, hair_c[i], hair_ax[i], 0, 0, 360, tone["hair"][i], -1, aa, sh)
        fill(img, [neck[i]], tone["neck"][i], aa, sh)
        fill(img, [face_outline[i]], tone["skin"][i], aa, sh)
        if has_hair_l[i]:
            ellipse(img, fringe_c[i], fringe_ax[i], 0, 0, 360, tone["hair"][i], -1, aa, sh)
        fill(img, list(pts["brows"][i]), tone["brow"][i], aa, sh)
        fill(img, list(pts["eye_white"][i]), tone["white"][i], aa, sh)
        for j in range(2):
            ellipse(img, iris_c[i][j], iris_ax[i][j], 0, 0, 360, tone["iris"][i], -1, aa, sh)
            ellipse(img, pupil_c[i][j], pupil_ax[i][j], 0, 0, 360, 8, -1, aa, sh)
        fill(img, list(pts["lid_up"][i]), tone["lid"][i], aa, sh)
        fill(img, list(pts["lid_lo"][i]), tone["lid_lo"][i], aa, sh)
        fill(img, [pts["bridge"][i]], tone["bridge"][i], aa, sh)
        fill(img, [pts["nose_tip"][i]], tone["tip"][i], aa, sh)
        fill(img, list(pts["nostrils"][i]), tone["nose"][i], aa, sh)
        if has_wrinkle[i]:
            fill(img, list(pts["wrinkles"][i]), tone["wrinkle"][i], aa, sh)
        fill(img, [pts["lips"][i]], tone["lip"][i], aa, sh)
        if is_open[i]:
            fill(img, [pts["opening"][i]], tone["dark"][i], aa, sh)
            if show_teeth[i]:
                fill(img, [pts["teeth"][i]], tone["teeth"][i], aa, sh)
            fill(img, [pts["mouth_l"][i]], tone["dark"][i], aa, sh)
        fill(img, [pts["mouth_u"][i]], tone["dark"][i], aa, sh)

        # Region masks, 2x: the face's own feature U the neutral feature.
        planes.fill(0)
        for src in (mpts, mpts_n):
            for shape in src["brows"][i]:
                fill(brows_m, [shape], 255, l8, sh)
            for shape in (*src["eye_white"][i], *src["lid_up"][i]):
                fill(eyes_m, [shape], 255, l8, sh)
            for shape in (*src["nostrils"][i], src["nose_tip"][i]):
                fill(nose_m, [shape], 255, l8, sh)
            for key in ("lips", "opening", "mouth_u", "mouth_l"):
                fill(mouth_m, [src[key][i]], 255, l8, sh)
        if has_wrinkle[i]:
            fill(nose_m, list(mpts["wrinkles"][i]), 255, l8, sh)

        # Box-filter down (factor-2 INTER_AREA steps are OpenCV's fast path), then warp.
        small = cv2.resize(
            cv2.resize(img, half_size, interpolation=area), low_size, interpolation=area
        )
        small_m = cv2.resize(cv2.merge(plane_list), low_size, interpolation=area)
        images[i] = cv2.warpAffine(
            small, mats[i], out_size, flags=linear, borderMode=cv2.BORDER_REPLICATE
        )
        masks[i] = cv2.warpAffine(
            small_m, mats[i], out_size, flags=linear, borderMode=cv2.BORDER_CONSTANT
        )

    # Face oval in output pixels: map every pixel back to face coordinates.
    grid = np.arange(size, dtype=np.float64)
    dx = grid[None, None, :] - out_cx[:, None, None]
    dy = grid[None, :, None] - out_cy[:, None, None]
    c_, s_ = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
    inv = (1.0 / (scale * k))[:, None, None]
    fx = (c_ * dx + s_ * dy) * inv
    fy = (-s_ * dx + c_ * dy) * inv
    fy_rel = np.clip(fy / fb[:, None, None], -1.0, 1.0)
    half_width = fa[:, None, None] * (1.0 - ident["face_egg"][:, None, None] * fy_rel)
    radius = np.sqrt((fx / half_width) ** 2 + (fy / fb[:, None, None]) ** 2)
    face_masks = radius <= 1.0
    # Soft coverage (a ramp about 1 px wide) for blending the background texture.
    edge_px = (1.0 - radius) * (np.minimum(fa, fb) * k * scale)[:, None, None]
    face_alpha = np.clip(edge_px + 0.5, 0.0, 1.0).astype(np.float32)

    # Background texture (outside the face), lighting, blur, noise.
    coords = np.linspace(0.0, 4.0, size)
    lo_i = np.minimum(coords.astype(int), 3)
    frac = coords - lo_i
    interp = np.zeros((size, 5))
    interp[np.arange(size), lo_i] = 1.0 - frac
    interp[np.arange(size), lo_i + 1] += frac
    texture = (interp @ tex @ interp.T).astype(np.float32)
    images += texture * (1.0 - face_alpha)
    ramp = (np.arange(size, dtype=np.float32) - (size - 1) / 2.0) / (size / 2.0)
    gx = (grad_amp * np.cos(grad_dir)).astype(np.float32)[:, None, None]
    gy = (grad_amp * np.sin(grad_dir)).astype(np.float32)[:, None, None]
    images *= 1.0 + gx * ramp[None, None, :] + gy * ramp[None, :, None]
    images *= contrast.astype(np.float32)[:, None, None]
    images += (bright + 128.0 * (1.0 - contrast)).astype(np.float32)[:, None, None]
    sigmas = blur * k
    for i in np.flatnonzero(sigmas > 0.25).tolist():
        cv2.GaussianBlur(images[i], (0, 0), float(sigmas[i]), dst=images[i])
    images += noise * noise_sd.astype(np.float32)[:, None, None]
    images = np.clip(np.rint(images), 0, 255).astype(np.uint8)

    # Threshold the warped coverage, then dilate every region mask by `_DILATE` px at 48.
    grown = masks >= _MASK_THRESHOLD
    for _ in range(max(1, round(_DILATE * k))):
        prev = grown.copy()
        grown[:, 1:] |= prev[:, :-1]
        grown[:, :-1] |= prev[:, 1:]
        prev = grown.copy()
        grown[:, :, 1:] |= prev[:, :, :-1]
        grown[:, :, :-1] |= prev[:, :, 1:]
    region_masks = {name: np.ascontiguousarray(grown[..., j]) for j, name in enumerate(REGIONS)}
    cue_masks = np.zeros((n, size, size), dtype=bool)
    for code, name in enumerate(CLASS_NAMES):
        sel = labels == code
        for region in CUE_REGIONS[name]:
            cue_masks[sel] |= region_masks[region][sel]
    usage = np.where(np.arange(n) % _TEST_EVERY == _TEST_EVERY - 1, "PublicTest", "Training")
    return SyntheticFaces(
        images=images,
        labels=labels,
        usage=usage,
        cue_masks=cue_masks,
        region_masks=region_masks,
        face_masks=face_masks,
    )
