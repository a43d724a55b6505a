"""The expression cues of the synthetic faces: which action moves which feature, and how far.

A face is described by *action parameters* (brow ends, lid openings, mouth corners,
...). :data:`NEUTRAL` holds their resting values and :data:`EXPRESSIONS` each class's
values at full cue intensity; :func:`action_params` blends the two per face. The
regions a class's cue changes are :data:`CUE_REGIONS`, and :func:`cue_masks` unites
them into one mask per face.
"""

from __future__ import annotations

import numpy as np

from emonb.config import CLASS_NAMES

__all__ = ["CUE_REGIONS", "EXPRESSIONS", "NEUTRAL", "REGIONS", "action_params", "cue_masks"]

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

#: Action parameters of the neutral face (deltas added to the identity).
#: Units: px at 48x48, y grows downwards.
NEUTRAL: dict[str, float] = {
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

#: Class name -> the action parameters that differ from :data:`NEUTRAL`, at full cue
#: intensity (same units).
EXPRESSIONS: dict[str, dict[str, float]] = {
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


def action_params(
    labels: np.ndarray,
    rest: dict[str, np.ndarray],
    amp: np.ndarray,
    happy_open: np.ndarray,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The neutral and the expressed action parameters of every face.

    Parameters
    ----------
    labels : numpy.ndarray
        ``(N,)`` FER-2013 class codes.
    rest : dict of str to numpy.ndarray
        Per-face ``(N,)`` offsets of some :data:`NEUTRAL` parameters (the identity's
        resting brow and mouth shape).
    amp : numpy.ndarray
        ``(N,)`` cue intensity: 0 gives the neutral face, 1 the full :data:`EXPRESSIONS`
        values.
    happy_open : numpy.ndarray
        ``(N,)`` mouth opening of the happy faces (their ``mouth_ol`` at full intensity).

    Returns
    -------
    neutral, params : dict of str to numpy.ndarray
        ``(N,)`` values of every :data:`NEUTRAL` key: the resting face of each identity,
        and that face moved by ``amp`` of the way towards its class's expression.
    """
    n = labels.shape[0]
    neutral = {key: np.full(n, v) + rest.get(key, 0.0) for key, v in NEUTRAL.items()}
    params = {key: v.copy() for key, v in neutral.items()}
    for code, name in enumerate(CLASS_NAMES):
        sel = labels == code
        for key, target in EXPRESSIONS[name].items():
            goal = happy_open[sel] if (name, key) == ("happy", "mouth_ol") else target
            params[key][sel] += amp[sel] * (goal - NEUTRAL[key])
    return neutral, params


def cue_masks(labels: np.ndarray, region_masks: dict[str, np.ndarray]) -> np.ndarray:
    """The union of each face's :data:`CUE_REGIONS` masks.

    Parameters
    ----------
    labels : numpy.ndarray
        ``(N,)`` FER-2013 class codes.
    region_masks : dict of str to numpy.ndarray
        For each name in :data:`REGIONS`, a ``bool`` array ``(N, H, W)``.

    Returns
    -------
    numpy.ndarray
        ``bool`` array ``(N, H, W)``.
    """
    first = region_masks[REGIONS[0]]
    out = np.zeros(first.shape, dtype=bool)
    for code, name in enumerate(CLASS_NAMES):
        sel = labels == code
        for region in CUE_REGIONS[name]:
            out[sel] |= region_masks[region][sel]
    return out
