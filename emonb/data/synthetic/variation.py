"""Everything random about the synthetic faces except their labels, drawn from one generator.

:func:`draw_variation` draws, for ``n`` faces, the identity (feature sizes and positions,
resting shape, hair), the cue intensity, the grey tones, the pose and the lighting, blur
and noise. The *order* of the draws is part of the seed contract: the same seed must
give bit-identical faces, so a new draw goes at the end, never in between.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["Lighting", "Pose", "Variation", "draw_variation"]

_Uniform = Callable[[float, float], np.ndarray]


@dataclass(frozen=True)
class Pose:
    """In-plane pose of every face: ``(N,)`` degrees and scale, ``(N, 2)`` shift in px at 48."""

    angle: np.ndarray
    scale: np.ndarray
    shift: np.ndarray


@dataclass(frozen=True)
class Lighting:
    """What happens to every face after it is drawn (arrays of length N along axis 0).

    ``grad_dir``/``grad_amp``: direction (radians) and strength of a linear brightness
    gradient; ``contrast`` and ``bright``: global contrast and brightness (grey levels);
    ``texture``: ``(N, 5, 5)`` low-frequency background texture (grey levels); ``blur``:
    Gaussian sigma in px at 48; ``noise_sd`` and ``noise``: sensor noise sigma and its
    ``(N, size, size)`` standard-normal ``float32`` draw.
    """

    grad_dir: np.ndarray
    grad_amp: np.ndarray
    contrast: np.ndarray
    bright: np.ndarray
    texture: np.ndarray
    blur: np.ndarray
    noise_sd: np.ndarray
    noise: np.ndarray


@dataclass(frozen=True)
class Variation:
    """The random draws of ``N`` faces (see :func:`draw_variation`).

    ``identity``: feature sizes and positions in face-centred px at 48 (y down);
    ``rest``: resting offsets of the brow and mouth action parameters; ``amp``: cue
    intensity; ``happy_open``: mouth opening of a happy face; ``tones``: grey levels of
    the parts of the face (all but the expression-dependent ``"wrinkle"``);
    ``has_hair`` and ``fringe``: hair style (``fringe`` as a fraction of the face height).
    """

    identity: dict[str, np.ndarray]
    rest: dict[str, np.ndarray]
    amp: np.ndarray
    happy_open: np.ndarray
    tones: dict[str, np.ndarray]
    has_hair: np.ndarray
    fringe: np.ndarray
    pose: Pose
    lighting: Lighting


def draw_variation(rng: np.random.Generator, n: int, size: int) -> Variation:
    """Draw the identity, cue intensity, tones, pose and lighting of ``n`` faces.

    Parameters
    ----------
    rng : numpy.random.Generator
        The generator; this call advances it by a fixed sequence of draws.
    n : int
        Number of faces.
    size : int
        Side of the output images in pixels (the shape of the noise draw).

    Returns
    -------
    Variation
    """

    def u(lo: float, hi: float) -> np.ndarray:
        return rng.uniform(lo, hi, n)

    identity, rest = _identity(rng, u, n)
    amp = u(0.6, 1.0)  # cue intensity
    happy_open = u(0.0, 2.8)
    skin = u(140.0, 215.0)
    bg = np.clip(skin - u(45.0, 110.0), 15.0, None)
    hair = u(15.0, 85.0)
    has_hair = rng.random(n) < 0.85
    fringe = u(0.12, 0.2)
    tones = _tones(u, skin, bg, hair)
    pose = Pose(angle=u(-10.0, 10.0), scale=u(0.9, 1.1), shift=rng.uniform(-2.0, 2.0, (n, 2)))
    lighting = Lighting(
        grad_dir=u(0.0, 2 * np.pi),
        grad_amp=u(0.0, 0.35),
        contrast=u(0.7, 1.15),
        bright=u(-25.0, 25.0),
        texture=rng.standard_normal((n, 5, 5)) * u(4.0, 14.0)[:, None, None],
        blur=u(0.0, 0.8),
        noise_sd=u(1.5, 7.0),
        noise=rng.standard_normal((n, size, size), dtype=np.float32),
    )
    return Variation(identity, rest, amp, happy_open, tones, has_hair, fringe, pose, lighting)


def _identity(
    rng: np.random.Generator, u: _Uniform, n: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Feature sizes and positions (px at 48, face-centred, y down), and the resting shape."""
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
    return ident, rest


def _tones(
    u: _Uniform, skin: np.ndarray, bg: np.ndarray, hair: np.ndarray
) -> dict[str, np.ndarray]:
    """Grey levels of the face's parts, drawn around the skin tone."""
    tones = {
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
    }
    tones["tip"] = tones["nose"] + 15.0
    return tones
