"""Outlines of the synthetic faces' features, as float polygons in face-centred px at 48x48.

Coordinates are ``(x, y)`` pixels of a 48x48 face, centred on the face (y grows
downwards). Every function is vectorised over the ``N`` faces: identity and action
parameters are ``(N,)`` arrays (see :mod:`~emonb.data.synthetic.variation` and
:mod:`~emonb.data.synthetic.expressions`), outlines ``(N, ..., K, 2)`` point arrays.
"""

from __future__ import annotations

import numpy as np

__all__ = ["feature_outlines", "head_outlines"]

_Arrays = dict[str, np.ndarray]


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


def feature_outlines(params: _Arrays, ident: _Arrays) -> _Arrays:
    """Feature outlines of all faces as float polygons, in face-centred px at 48x48.

    Parameters
    ----------
    params : dict of str to numpy.ndarray
        ``(N,)`` action parameters (the keys of
        :data:`~emonb.data.synthetic.expressions.NEUTRAL`).
    ident : dict of str to numpy.ndarray
        ``(N,)`` identity parameters (see :func:`~emonb.data.synthetic.variation.draw_variation`).

    Returns
    -------
    dict of str to numpy.ndarray
        Polygons ``(N, [parts,] K, 2)``: ``brows`` and ``eye_white``, ``lid_up``, ``lid_lo``,
        ``nostrils`` (two parts each, left then right), ``nose_tip``, ``bridge``,
        ``wrinkles`` (three parts), ``lips``, ``opening``, ``teeth``, ``mouth_u`` and
        ``mouth_l`` (the inner lip lines); ``iris`` and ``pupil`` as ``(N, 2, 4)`` ellipses
        (centre x, centre y, semi-axes); ``open_h`` the ``(N,)`` mouth opening height.
    """
    col = {key: v[:, None] for key, v in ident.items()}
    pc = {key: v[:, None] for key, v in params.items()}
    return {
        **_brows(params, ident, col, pc),
        **_eyes(params, ident, col, pc),
        **_nose(col, pc),
        **_mouth(params, col, pc),
    }


def _brows(p: _Arrays, ident: _Arrays, col: _Arrays, pc: _Arrays) -> _Arrays:
    """Brows: tapered quadratic bands from the inner to the outer end. (N, 2, 18, 2)"""
    t = np.linspace(0.0, 1.0, 9)
    x_in = col["eye_dx"] - 3.3
    x_out = col["eye_dx"] + 2.7
    xmag = x_in + (x_out - x_in) * t - pc["brow_dx"] * (1.0 - 0.5 * t)
    yb = ident["eye_y"] - ident["brow_gap"]
    yc = _quad(t, yb + p["brow_in"], yb + p["brow_mid"], yb + p["brow_out"])
    half = 0.5 * col["brow_th"] * pc["brow_th"] * (1.15 - 0.55 * t)
    brows = [
        np.concatenate([_xy(s * xmag, yc - half), _xy(s * xmag, yc + half)[:, ::-1]], axis=1)
        for s in (-1.0, 1.0)
    ]
    return {"brows": np.stack(brows, axis=1)}


def _eyes(p: _Arrays, ident: _Arrays, col: _Arrays, pc: _Arrays) -> _Arrays:
    """Eyes: almond between an upper and a lower lid curve; iris and pupil ellipses."""
    ey = col["eye_y"]
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
    return {
        "eye_white": _closed(up_a, lo_a),
        "lid_up": _ribbon(up_a, 0.35),
        "lid_lo": _ribbon(lo_a, 0.2),
        "iris": np.stack(iris, axis=1),  # (N, 2, 4): cx, cy, rx, ry
        "pupil": np.stack(pupil, axis=1),
    }


def _nose(col: _Arrays, pc: _Arrays) -> _Arrays:
    """Nose: nostrils, a cup under the tip, a bridge shadow, optional wrinkles."""
    ey = col["eye_y"]
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
    phi = np.deg2rad(np.linspace(15.0, 165.0, 9))
    tip = _xy(nw * (1.05 + 0.2 * flare) * np.cos(phi), yn - 0.9 - 0.3 * flare + 0.95 * np.sin(phi))
    side = col["shade_side"]
    bridge = _xy(side * np.linspace(1.0, 1.5, 4), ey + 0.8 + (yn - 2.5 - ey) * np.linspace(0, 1, 4))
    t = np.linspace(-1.0, 1.0, 7)
    wr = [_xy(1.7 * t, ey - 0.4 + 1.2 * j + 0.35 * t**2 - 0.1 * j) for j in range(3)]
    return {
        "nostrils": np.stack(nost, axis=1),
        "nose_tip": _ribbon(tip, 0.25),
        "bridge": _ribbon(bridge, 0.45),
        "wrinkles": _ribbon(np.stack(wr, axis=1), 0.25),
    }


def _mouth(p: _Arrays, col: _Arrays, pc: _Arrays) -> _Arrays:
    """Mouth: inner lip curves (the opening lies between them) and outer lip outlines."""
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
    open_h = (inner_l - inner_u).max(axis=1)
    line_half = np.where(open_h > 0.25, 0.25, 0.35 * p["mouth_line"])
    return {
        "lips": _closed(_xy(x, outer_u), _xy(x, outer_l)),
        "opening": _closed(_xy(x, inner_u), _xy(x, inner_l)),
        "teeth": _closed(_xy(x, inner_u), _xy(x, teeth_l)),
        "open_h": open_h,
        "mouth_u": _ribbon(_xy(x, inner_u), line_half),
        "mouth_l": _ribbon(_xy(x, inner_l), line_half),
    }


def head_outlines(ident: _Arrays, fringe: np.ndarray, neck_bottom: float) -> _Arrays:
    """The head of every face: the face, the hair and fringe ellipses, and the neck.

    Parameters
    ----------
    ident : dict of str to numpy.ndarray
        ``(N,)`` identity parameters; uses the face semi-axes ``face_a`` (half width),
        ``face_b`` (half height) and taper ``face_egg``.
    fringe : numpy.ndarray
        ``(N,)`` fringe height as a fraction of ``face_b``.
    neck_bottom : float
        y of the neck's lower edge (px at 48, face-centred): below the canvas.

    Returns
    -------
    dict of str to numpy.ndarray
        ``face`` ``(N, 48, 2)`` egg-shaped outline (wider at the forehead), ``neck``
        ``(N, 4, 2)`` quadrilateral, ``hair`` and ``fringe`` ``(N, 4)`` ellipses
        (centre x, centre y, semi-axes).
    """
    fa, fb = ident["face_a"], ident["face_b"]
    n = fa.shape[0]
    zeros = np.zeros(n)
    phi = np.linspace(0.0, 2 * np.pi, 48, endpoint=False)
    egg = ident["face_egg"][:, None]
    bottom = np.full(n, neck_bottom)
    neck = [
        _xy(-0.5 * fa, 0.5 * fb),
        _xy(0.5 * fa, 0.5 * fb),
        _xy(0.62 * fa, bottom),
        _xy(-0.62 * fa, bottom),
    ]
    return {
        "face": _xy(
            fa[:, None] * np.cos(phi) * (1.0 - egg * np.sin(phi)), fb[:, None] * np.sin(phi)
        ),
        "neck": np.stack(neck, axis=1),
        "hair": np.stack([zeros, -0.22 * fb, 1.12 * fa, 0.98 * fb], axis=-1),
        "fringe": np.stack([zeros, -fb, 0.97 * fa, fringe * fb], axis=-1),
    }
