"""Drawing the synthetic faces and their region masks with OpenCV.

:func:`render` draws every face 4x supersampled and anti-aliased, and its region masks
2x supersampled, both on the :class:`~emonb.data.synthetic.canvas.Canvas`; it box-filters
them down (``INTER_AREA``) and warps them to the output with the face's pose.
:func:`grow_masks` turns the warped mask coverage into the ``bool`` region masks.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from emonb.data.synthetic.canvas import SHIFT, SS, SS_MASK, Canvas
from emonb.data.synthetic.expressions import REGIONS

__all__ = ["DILATE", "MASK_THRESHOLD", "Drawing", "grow_masks", "render"]

MASK_THRESHOLD = 128  #: of 255: feature coverage of a pixel after downsampling and warping
DILATE = 2  #: px (at 48x48) of 3x3 dilation of the thresholded masks

#: The polygon features (keys of :func:`~emonb.data.synthetic.geometry.feature_outlines`).
_POLYGONS = (
    "brows", "eye_white", "lid_up", "lid_lo", "nostrils", "nose_tip", "bridge",
    "wrinkles", "lips", "opening", "teeth", "mouth_u", "mouth_l",
)  # fmt: skip

_AA, _L8 = cv2.LINE_AA, cv2.LINE_8


@dataclass(frozen=True)
class Drawing:
    """What to draw for every face: cv2-ready fixed-point shapes, grey levels and switches.

    ``pts`` are the feature polygons on the image canvas (:data:`SS`-x), ``mask_pts`` and
    ``neutral_pts`` the face's own and its identity's neutral features on the mask canvas
    (:data:`SS_MASK`-x). Ellipses are ``(centres, axes)`` nested lists, ``tone`` maps a part
    to one grey level (int) per face, and the flags are one bool per face.
    """

    pts: dict[str, np.ndarray]
    mask_pts: dict[str, np.ndarray]
    neutral_pts: dict[str, np.ndarray]
    iris: tuple[list, list]
    pupil: tuple[list, list]
    face: np.ndarray
    neck: np.ndarray
    hair: tuple[list, list]
    fringe: tuple[list, list]
    tone: dict[str, list[int]]
    has_hair: list[bool]
    has_wrinkle: list[bool]
    is_open: list[bool]
    show_teeth: list[bool]

    @classmethod
    def build(
        cls,
        canvas: Canvas,
        geo: dict[str, np.ndarray],
        geo_neutral: dict[str, np.ndarray],
        head: dict[str, np.ndarray],
        tones: dict[str, np.ndarray],
        has_hair: np.ndarray,
        params: dict[str, np.ndarray],
    ) -> Drawing:
        """Convert float outlines (face px at 48) and tones to what cv2 draws.

        ``geo`` and ``geo_neutral`` come from
        :func:`~emonb.data.synthetic.geometry.feature_outlines` for the expressed and the
        neutral action parameters, ``head`` from
        :func:`~emonb.data.synthetic.geometry.head_outlines`; ``params`` (the expressed
        action parameters) switch the wrinkles and the teeth on.
        """
        fixed = canvas.fixed
        return cls(
            pts={key: fixed(geo[key], SS) for key in _POLYGONS},
            mask_pts={key: fixed(geo[key], SS_MASK) for key in _POLYGONS},
            neutral_pts={key: fixed(geo_neutral[key], SS_MASK) for key in _POLYGONS},
            iris=canvas.ellipse(geo["iris"]),
            pupil=canvas.ellipse(geo["pupil"]),
            face=fixed(head["face"], SS),
            neck=fixed(head["neck"], SS),
            hair=canvas.ellipse(head["hair"]),
            fringe=canvas.ellipse(head["fringe"]),
            tone={
                name: np.clip(np.rint(v), 0, 255).astype(int).tolist() for name, v in tones.items()
            },
            has_hair=has_hair.tolist(),
            has_wrinkle=(params["nose_wrinkle"] > 0.05).tolist(),
            is_open=(geo["open_h"] > 0.25).tolist(),
            show_teeth=((geo["open_h"] > 0.6) & (params["mouth_teeth"] > 0.3)).tolist(),
        )


def _ellipse(img: np.ndarray, shape: tuple[list, list], i: int, j: int | None, tone: int) -> None:
    centre, axes = (shape[0][i], shape[1][i]) if j is None else (shape[0][i][j], shape[1][i][j])
    cv2.ellipse(img, centre, axes, 0, 0, 360, tone, -1, _AA, SHIFT)


def _draw_face(img: np.ndarray, d: Drawing, i: int) -> None:
    """Draw face ``i`` on the image canvas ``img``, back to front.

    Non-overlapping shapes only share a fillPoly call (it fills with the even-odd rule).
    """
    tone, pts = {name: v[i] for name, v in d.tone.items()}, d.pts

    def fill(polygons: list, grey: int) -> None:
        cv2.fillPoly(img, polygons, grey, _AA, SHIFT)

    img.fill(tone["bg"])
    if d.has_hair[i]:
        _ellipse(img, d.hair, i, None, tone["hair"])
    fill([d.neck[i]], tone["neck"])
    fill([d.face[i]], tone["skin"])
    if d.has_hair[i]:
        _ellipse(img, d.fringe, i, None, tone["hair"])
    fill(list(pts["brows"][i]), tone["brow"])
    fill(list(pts["eye_white"][i]), tone["white"])
    for j in range(2):
        _ellipse(img, d.iris, i, j, tone["iris"])
        _ellipse(img, d.pupil, i, j, 8)
    fill(list(pts["lid_up"][i]), tone["lid"])
    fill(list(pts["lid_lo"][i]), tone["lid_lo"])
    fill([pts["bridge"][i]], tone["bridge"])
    fill([pts["nose_tip"][i]], tone["tip"])
    fill(list(pts["nostrils"][i]), tone["nose"])
    if d.has_wrinkle[i]:
        fill(list(pts["wrinkles"][i]), tone["wrinkle"])
    fill([pts["lips"][i]], tone["lip"])
    if d.is_open[i]:
        fill([pts["opening"][i]], tone["dark"])
        if d.show_teeth[i]:
            fill([pts["teeth"][i]], tone["teeth"])
        fill([pts["mouth_l"][i]], tone["dark"])
    fill([pts["mouth_u"][i]], tone["dark"])


def _draw_masks(planes: np.ndarray, d: Drawing, i: int) -> None:
    """Draw the region masks of face ``i``: its own features U the neutral features.

    ``planes`` is ``(len(REGIONS), H, W)``, one contiguous plane per region: cv2 drawing
    writes every channel of a pixel, so regions drawn into one multi-channel canvas would
    erase each other. Shapes are filled one by one, as they may overlap.
    """
    brows, eyes, nose, mouth = planes

    def fill(plane: np.ndarray, polygons: list) -> None:
        cv2.fillPoly(plane, polygons, 255, _L8, SHIFT)

    planes.fill(0)
    for src in (d.mask_pts, d.neutral_pts):
        for shape in src["brows"][i]:
            fill(brows, [shape])
        for shape in (*src["eye_white"][i], *src["lid_up"][i]):
            fill(eyes, [shape])
        for shape in (*src["nostrils"][i], src["nose_tip"][i]):
            fill(nose, [shape])
        for key in ("lips", "opening", "mouth_u", "mouth_l"):
            fill(mouth, [src[key][i]])
    if d.has_wrinkle[i]:
        fill(nose, list(d.mask_pts["wrinkles"][i]))


def render(canvas: Canvas, d: Drawing, mats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Draw every face and its region masks, downsample them and warp them to the output.

    Parameters
    ----------
    canvas : Canvas
        The canvas the shapes of ``d`` are on.
    d : Drawing
        The shapes and tones of ``N`` faces.
    mats : numpy.ndarray
        ``(N, 2, 3)`` canvas -> output affine maps (:meth:`Canvas.warp_matrices`).

    Returns
    -------
    images : numpy.ndarray
        ``float32`` ``(N, size, size)`` grey levels (border replicated).
    coverage : numpy.ndarray
        ``uint8`` ``(N, size, size, len(REGIONS))``: 255 times the share of each output
        pixel that each region covers (zero outside the canvas).
    """
    n, size, low = mats.shape[0], canvas.size, canvas.low
    images = np.empty((n, size, size), dtype=np.float32)
    coverage = np.empty((n, size, size, len(REGIONS)), dtype=np.uint8)
    img = np.empty((low * SS, low * SS), dtype=np.uint8)
    planes = np.empty((len(REGIONS), low * SS_MASK, low * SS_MASK), dtype=np.uint8)
    plane_list = list(planes)
    half_size, low_size, out_size = (low * SS // 2,) * 2, (low, low), (size, size)
    area, linear = cv2.INTER_AREA, cv2.INTER_LINEAR
    for i in range(n):
        _draw_face(img, d, i)
        _draw_masks(planes, d, i)
        # Box-filter down (factor-2 INTER_AREA steps are OpenCV's fast path), then warp.
        small = cv2.resize(
            cv2.resize(img, half_size, interpolation=area), low_size, interpolation=area
        )
        small_m = cv2.resize(cv2.merge(plane_list), low_size, interpolation=area)
        images[i] = cv2.warpAffine(
            small, mats[i], out_size, flags=linear, borderMode=cv2.BORDER_REPLICATE
        )
        coverage[i] = cv2.warpAffine(
            small_m, mats[i], out_size, flags=linear, borderMode=cv2.BORDER_CONSTANT
        )
    return images, coverage


def grow_masks(coverage: np.ndarray, k: float) -> dict[str, np.ndarray]:
    """Region masks from warped coverage: threshold, then dilate by :data:`DILATE` px at 48.

    Parameters
    ----------
    coverage : numpy.ndarray
        ``uint8`` ``(N, H, W, len(REGIONS))`` from :func:`render`.
    k : float
        Output px per px at 48; the dilation takes ``max(1, round(DILATE * k))`` 3x3 steps.

    Returns
    -------
    dict of str to numpy.ndarray
        For each name in :data:`~emonb.data.synthetic.expressions.REGIONS`, ``bool``
        ``(N, H, W)``: pixels within the dilation distance (in the chessboard metric) of one
        covered at least :data:`MASK_THRESHOLD` / 255.
    """
    grown = coverage >= MASK_THRESHOLD
    for _ in range(max(1, round(DILATE * k))):
        prev = grown.copy()
        grown[:, 1:] |= prev[:, :-1]
        grown[:, :-1] |= prev[:, 1:]
        prev = grown.copy()
        grown[:, :, 1:] |= prev[:, :, :-1]
        grown[:, :, :-1] |= prev[:, :, 1:]
    return {name: np.ascontiguousarray(grown[..., j]) for j, name in enumerate(REGIONS)}
