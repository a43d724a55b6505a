"""The action units each face shows, measured on its 468-point MediaPipe mesh: geometry only.

:func:`au_geometry` turns mesh points (N, 468, 2) in image pixels (MediaPipe's vertex
order, x right, y down, as :class:`emonb.faces.mesh.Landmarks` gives them) into one raw
measure per action unit (AU) the mesh's outline can show, signed so that **higher means more
of that AU**. :class:`AUActivity` z-scores the measures against a reference set of faces
(the *activity*: 0 is the reference faces' average, +1 one standard deviation more of the
AU). No AU detector is trained here: these are the displacements the FACS Manual describes,
read off the mesh, and nothing more.

**The face frame** (:func:`face_frame`). Each face is put in its own frame before anything is
measured: origin midway between its two eye reference points, x along the eye line (from
the image-left eye to the image-right eye), y perpendicular to it pointing down the face,
and the distance between the eye reference points (the inter-ocular distance, IOD) as
unit. Head roll, image scale and position therefore change no measure (a similarity
transform of the points leaves the frame coordinates unchanged). The eye reference points
are the outer eye corners 33 and 263 by default (``eyes="corners"``), which no AU measured
here moves; ``eyes="centres"`` uses each eye's centre (mean of its corners and lid
midpoints, :data:`emonb.faces.mesh.EYE_POINTS`), which moves a little when the lids do.
``benchmarks/au_activity.py`` compares them on FER-2013's Training faces: the corners,
by a hair (mean AUC over the EMFACS prototype cells 0.576 against 0.575). Pitch and
yaw are not removed: a face tilted down shortens every vertical distance; the z-scores
treat that as one more source of variation between faces.

**The measures** (vertex indices in MediaPipe's order, image-left/image-right; "height"
is distance up the face in the face frame, in IODs; both sides averaged). Each follows the
appearance changes the FACS Manual gives for the AU (Ekman, Friesen & Hager 2002),
paraphrased:

* ``AU01`` inner brow raiser (frontalis, pars medialis; pulls the inner part of the
  eyebrows up): height of the inner brow ends (mean of 107 and 55; 336 and 285) above
  the inner eye corners (133; 362).
* ``AU02`` outer brow raiser (frontalis, pars lateralis; pulls the lateral part of the
  eyebrows up): height of the brow's outer third (mean of 70, 63, 46, 53; 300, 293,
  276, 283) above the outer eye corners (33; 263).
* ``AU04`` brow lowerer (corrugator, depressor supercilii, procerus; lowers the eyebrows
  and draws them together): minus the sum of the inner brows' height (the ``AU01``
  measure) and the gap between the two inner brow ends along the eye line: lower and closer
  brows both raise it, one IOD of either by one.
* ``AU05`` upper lid raiser (levator palpebrae superioris; widens the eye aperture, more
  of the eyeball shows above the iris): height of the upper lid midpoint (159; 386) above
  the line through the eye's corners (33 and 133; 263 and 362).
* ``AU06/07`` cheek raiser and lid tightener (orbicularis oculi, orbital and palpebral
  parts; both narrow the eye aperture, the lower lid pushed or pulled up): minus the
  aperture, the distance from the upper (159; 386) to the lower lid midpoint (145; 374)
  across the eye line. **One measure for both AUs**: the mesh has no cheek bulge or crow's
  feet to tell them apart.
* ``AU12`` lip corner puller (zygomaticus major; pulls the lip corners back and up):
  height of the lip corners (61; 291) above the lip centre (mean of the inner-lip midpoints
  13 and 14).
* ``AU15`` lip corner depressor (depressor anguli oris; pulls the lip corners
  down): **the negative of** ``AU12``, the depth of the lip corners below the lip centre.
  Measures of its own were tried on FER-2013's Training faces and separated its EMFACS
  emotions (sad, disgust) less well: the corners' depth below the upper lip's outer
  midpoint 0 (AUC for sad 0.48, disgust 0.51; an open mouth lowers the corners and reads as
  AU15, surprise 0.70) or below the eye line (0.59, 0.51), against 0.60 and 0.55 here.
* ``AU20`` lip stretcher (risorius; pulls the lip corners sideways, the mouth
  elongated): the mouth's width, corner 61 to corner 291.
* ``AU25`` lips part (the lips part, teeth may show): the gap between the inner-lip
  midpoints 13 and 14 across the eye line.
* ``AU26`` jaw drop (masseter and temporalis relaxed; the mandible is lowered): the
  distance from the nose tip 1 down to the lower lip's outer midpoint 17, which rides on
  the jaw. The chin 152 would be the jaw itself, but on FER-2013's tight crops it often
  lies at or beyond the image edge, where the mesh extrapolates: on the Training faces the
  nose-to-chin distance separated surprise from the rest with AUC 0.55, nose to lower lip
  0.68.

The vertex sets were checked by drawing them, numbered, on a photograph and on FER-2013
faces. The references of ``AU15`` and ``AU26`` and the lip centre of ``AU12`` (against
the upper lip: AUC for happy 0.64 on Training instead of 0.81) were chosen on FER-2013's
Training faces only; ``benchmarks/au_activity.py`` reports on PublicTest.

References: Ekman, Friesen & Hager (2002), *Facial Action Coding System: The Manual* and
*Investigator's Guide* (the AUs, their muscles and appearance changes); Kartynnik et al.
(2019), "Real-time facial surface geometry from monocular video on mobile GPUs" (the mesh).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from emonb.errors import EmonbError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["AU_MEASURES", "EYE_REFERENCES", "REFERENCE_FILE", "VERTICES", "AUActivity",
           "au_geometry", "face_activity", "face_frame", "reference_activity"]  # fmt: skip

#: The measures :func:`au_geometry` returns, in its columns' order.
AU_MEASURES: tuple[str, ...] = (
    "AU01", "AU02", "AU04", "AU05", "AU06/07", "AU12", "AU15", "AU20", "AU25", "AU26",
)  # fmt: skip

#: Mesh vertices each measure reads, (image-left, image-right) for paired features.
VERTICES: dict[str, tuple] = {
    "inner_brow": ((107, 55), (336, 285)),
    "outer_brow": ((70, 63, 46, 53), (300, 293, 276, 283)),
    "eye_outer": (33, 263),
    "eye_inner": (133, 362),
    "upper_lid": (159, 386),
    "lower_lid": (145, 374),
    "lip_corners": (61, 291),
    "inner_lips": (13, 14),
    "lower_lip": 17,
    "nose_tip": 1,
}

#: The points whose mean is each eye's reference point, (image-left, image-right).
EYE_REFERENCES: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "corners": ((33,), (263,)),
    "centres": ((33, 133, 159, 145), (263, 362, 386, 374)),
}

N_POINTS = 468


def _check_points(points) -> np.ndarray:
    p = np.asarray(points, dtype=np.float64)
    if p.ndim == 2:
        p = p[None]
    if p.ndim != 3 or p.shape[1] != N_POINTS or p.shape[2] not in (2, 3):
        raise EmonbError(f"expected mesh points (N, {N_POINTS}, 2) or (N, {N_POINTS}, 3), "
                         f"got shape {np.shape(points)}")  # fmt: skip
    return p[..., :2]


def face_frame(points, eyes: str = "corners") -> np.ndarray:
    """Points (N, 468, 2) (or (468, 2), or with z) in each face's own frame: origin midway
    between the eye reference points (:data:`EYE_REFERENCES`), x along the eye line, y
    perpendicular and down the face, in inter-ocular distances. (N, 468, 2) float64; a face
    whose eye reference points coincide (or hold NaN) is all NaN."""
    if eyes not in EYE_REFERENCES:
        raise EmonbError(f"eyes must be one of {', '.join(EYE_REFERENCES)}, got {eyes!r}")
    p = _check_points(points)
    left_idx, right_idx = EYE_REFERENCES[eyes]
    left = p[:, list(left_idx)].mean(axis=1)
    right = p[:, list(right_idx)].mean(axis=1)
    axis = right - left
    iod = np.hypot(axis[:, 0], axis[:, 1])
    ok = np.isfinite(iod) & (iod > 0)
    safe = np.where(ok, iod, 1.0)[:, None]
    ex = axis / safe  # unit vector along the eye line
    ey = np.stack([-ex[:, 1], ex[:, 0]], axis=1)  # x right -> y down: rotate +90 degrees
    rel = p - ((left + right) / 2)[:, None, :]
    out = np.stack([(rel * ex[:, None]).sum(-1), (rel * ey[:, None]).sum(-1)], axis=-1)
    out /= safe[:, None]
    out[~ok] = np.nan
    return out


def _mean(q: np.ndarray, idx) -> np.ndarray:
    """Mean point (N, 2) of the vertices ``idx`` (int or tuple)."""
    return q[:, list(np.atleast_1d(idx))].mean(axis=1)


def _paired(q: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    left, right = VERTICES[name]
    return _mean(q, left), _mean(q, right)


def au_geometry(points, eyes: str = "corners") -> np.ndarray:
    """Raw AU measures (N, K) float64 of mesh points (N, 468, 2) in image pixels, columns
    :data:`AU_MEASURES`, in inter-ocular distances, higher = more of the AU (the module
    docstring defines each). ``eyes`` picks the eye reference points of the face frame
    (:func:`face_frame`). Faces with NaN points get NaN measures."""
    q = face_frame(points, eyes)
    y = q[..., 1]
    brow_l, brow_r = _paired(q, "inner_brow")
    outer_l, outer_r = _paired(q, "outer_brow")
    v = VERTICES
    inner_height = ((y[:, v["eye_inner"][0]] - brow_l[:, 1])
                    + (y[:, v["eye_inner"][1]] - brow_r[:, 1])) / 2  # fmt: skip
    outer_height = ((y[:, v["eye_outer"][0]] - outer_l[:, 1])
                    + (y[:, v["eye_outer"][1]] - outer_r[:, 1])) / 2  # fmt: skip
    brow_gap = brow_r[:, 0] - brow_l[:, 0]
    lid_height = [(y[:, v["eye_outer"][s]] + y[:, v["eye_inner"][s]]) / 2
                  - y[:, v["upper_lid"][s]] for s in (0, 1)]  # fmt: skip
    aperture = [y[:, v["lower_lid"][s]] - y[:, v["upper_lid"][s]] for s in (0, 1)]
    corners_y = y[:, list(v["lip_corners"])].mean(axis=1)
    lip_centre_y = y[:, list(v["inner_lips"])].mean(axis=1)
    c0, c1 = q[:, v["lip_corners"][0]], q[:, v["lip_corners"][1]]
    columns = {
        "AU01": inner_height,
        "AU02": outer_height,
        "AU04": -(inner_height + brow_gap),
        "AU05": (lid_height[0] + lid_height[1]) / 2,
        "AU06/07": -(aperture[0] + aperture[1]) / 2,
        "AU12": lip_centre_y - corners_y,
        "AU15": corners_y - lip_centre_y,
        "AU20": np.hypot(*(c1 - c0).T),
        "AU25": y[:, v["inner_lips"][1]] - y[:, v["inner_lips"][0]],
        "AU26": y[:, v["lower_lip"]] - y[:, v["nose_tip"]],
    }
    return np.stack([columns[name] for name in AU_MEASURES], axis=1)


@dataclass
class AUActivity:
    """Per-face AU activity: :func:`au_geometry`'s measures as z-scores against reference
    faces. ``fit(points)`` stores each measure's mean and standard deviation over the
    reference faces (NaN faces left out; needs two faces with finite measures);
    ``transform(points)`` gives (N, K) z-scores, columns :attr:`names`, higher = more of
    that AU than the reference faces show on average."""

    eyes: str = "corners"
    mean_: np.ndarray | None = None
    std_: np.ndarray | None = None
    n_fit_: int = 0

    @property
    def names(self) -> tuple[str, ...]:
        return AU_MEASURES

    def fit(self, points) -> AUActivity:
        raw = au_geometry(points, self.eyes)
        finite = np.isfinite(raw).all(axis=1)
        if finite.sum() < 2:
            raise EmonbError(f"AUActivity.fit needs at least 2 faces with finite measures, "
                             f"got {int(finite.sum())} of {len(raw)}")  # fmt: skip
        ref = raw[finite]
        std = ref.std(axis=0, ddof=1)
        if not (std > 0).all():
            flat = [n for n, s in zip(AU_MEASURES, std, strict=True) if not s > 0]
            raise EmonbError(f"AUActivity.fit: no spread in {', '.join(flat)} over the "
                             "reference faces")  # fmt: skip
        self.mean_, self.std_, self.n_fit_ = ref.mean(axis=0), std, int(finite.sum())
        return self

    def transform(self, points) -> np.ndarray:
        if self.mean_ is None or self.std_ is None:
            raise EmonbError("AUActivity is not fitted: call fit(points) on reference faces")
        return (au_geometry(points, self.eyes) - self.mean_) / self.std_

    def fit_transform(self, points) -> np.ndarray:
        return self.fit(points).transform(points)

    @classmethod
    def from_json(cls, doc: dict) -> AUActivity:
        """The fitted reference :meth:`to_json` wrote (extra keys, e.g. provenance, ignored)."""
        try:
            mean = np.array([doc["mean"][n] for n in AU_MEASURES], dtype=np.float64)
            std = np.array([doc["std"][n] for n in AU_MEASURES], dtype=np.float64)
            return cls(eyes=doc["eyes"], mean_=mean, std_=std, n_fit_=int(doc["faces"]))
        except (KeyError, TypeError, ValueError) as err:
            raise EmonbError(f"not an AU activity reference: missing or bad {err}") from None

    def to_json(self, decimals: int = 5) -> dict:
        """The fitted reference: eye points, faces, and each measure's mean and std."""
        if self.mean_ is None or self.std_ is None:
            raise EmonbError("AUActivity is not fitted")
        return {"eyes": self.eyes, "faces": self.n_fit_,
                "mean": {n: round(float(m), decimals) for n, m in zip(AU_MEASURES, self.mean_,
                                                                      strict=True)},
                "std": {n: round(float(s), decimals) for n, s in zip(AU_MEASURES, self.std_,
                                                                     strict=True)}}  # fmt: skip


#: The reference faces :func:`reference_activity` scores against: the fit on FER-2013's
#: Training faces that ``benchmarks/au_activity.py --reference`` writes (with its provenance).
REFERENCE_FILE = Path(__file__).with_name("au_reference.json")


@lru_cache(maxsize=1)
def reference_activity() -> AUActivity:
    """:class:`AUActivity` fitted on FER-2013's Training faces (:data:`REFERENCE_FILE`): an
    activity of 0 is those faces' average, +1 one of their standard deviations more."""
    from emonb.records import load_json

    return AUActivity.from_json(load_json(REFERENCE_FILE, "AU activity reference"))


def face_activity(points) -> pd.DataFrame:
    """Each face's AU activity against the reference faces (:func:`reference_activity`) as
    a DataFrame: one row per face of ``points`` (N, 468, 2), columns :data:`AU_MEASURES`
    (what :func:`emonb.metrics.au_use.au_use` and
    :func:`emonb.metrics.activity.activity_auc` take)."""
    import pandas as pd

    return pd.DataFrame(reference_activity().transform(points), columns=list(AU_MEASURES))
