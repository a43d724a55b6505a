"""Coordinate frames of the synthetic faces: face px at 48, drawing canvas, output image.

A face is drawn, centred, on a square canvas of ``size + 2 * margin`` pixels,
supersampled (:data:`SS` for the image, :data:`SS_MASK` for the masks), with OpenCV's
fixed-point coordinates (:data:`SHIFT` fraction bits). The canvas is then warped to the
``size`` x ``size`` output by the face's pose (rotation and scale about the face
centre, then a shift). :class:`Canvas` holds these maps for one ``size``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from emonb.data.synthetic.variation import Pose

__all__ = ["FACE_DY", "SHIFT", "SS", "SS_MASK", "Canvas", "fixed_point"]

SS = 4  #: supersampling factor of the image canvas
SS_MASK = 2  #: supersampling factor of the mask canvas
SHIFT = 4  #: fractional bits of cv2 drawing coordinates
FACE_DY = 1.0  #: the face centre sits this many px (at 48) below the image centre


def fixed_point(a: np.ndarray, scale: float, offset_x: float, offset_y: float) -> np.ndarray:
    """Map points to OpenCV fixed-point pixel coordinates.

    Parameters
    ----------
    a : numpy.ndarray
        Points ``(..., 2)``, ``(x, y)``.
    scale : float
        Canvas pixels per unit of ``a``.
    offset_x, offset_y : float
        Canvas position of the origin of ``a``.

    Returns
    -------
    numpy.ndarray
        ``int32`` ``(..., 2)``: ``round((a * scale + offset) * 2**SHIFT)``, the coordinates
        cv2 drawing functions take with ``shift=SHIFT``.
    """
    out = np.empty(a.shape, dtype=np.float64)
    out[..., 0] = a[..., 0] * scale + offset_x
    out[..., 1] = a[..., 1] * scale + offset_y
    return np.rint(out * (1 << SHIFT)).astype(np.int32)


@dataclass(frozen=True)
class Canvas:
    """The drawing canvas and its maps for output images of side ``size`` px.

    Attributes
    ----------
    size : int
        Side of the output images.
    k : float
        Output px per px at 48 (``size / 48``).
    margin : int
        Canvas margin around the output square, in canvas (not supersampled) px.
    low : int
        Side of the canvas before supersampling, ``size + 2 * margin``.
    cx, cy : float
        Canvas position of the face centre (before supersampling).
    """

    size: int

    @property
    def k(self) -> float:
        return self.size / 48.0

    @property
    def margin(self) -> int:
        return math.ceil(self.size / 6)

    @property
    def low(self) -> int:
        return self.size + 2 * self.margin

    @property
    def cx(self) -> float:
        return (self.low - 1) / 2.0

    @property
    def cy(self) -> float:
        return self.cx + FACE_DY * self.k

    def fixed(self, a: np.ndarray, ss: int) -> np.ndarray:
        """Face px at 48 ``(..., 2)`` -> fixed-point coordinates on the ``ss``-x canvas."""
        k, half = self.k, (ss - 1) / 2
        return fixed_point(a, k * ss, self.cx * ss + half, self.cy * ss + half)

    def ellipse(self, e: np.ndarray) -> tuple[list, list]:
        """Ellipses ``(..., 4)`` (centre x, centre y, semi-axes in face px at 48) as nested
        lists of cv2.ellipse centres and axes on the :data:`SS`-x canvas, in fixed point."""
        axes = np.maximum(np.rint(e[..., 2:] * (self.k * SS * (1 << SHIFT))), 1).astype(np.int32)
        return self.fixed(e[..., :2], SS).tolist(), axes.tolist()

    def _output_centre(self, pose: Pose) -> tuple[np.ndarray, np.ndarray]:
        """``(N,)`` x and y of the face centre in the output image."""
        k, mid = self.k, (self.size - 1) / 2.0
        return mid + pose.shift[:, 0] * k, mid + FACE_DY * k + pose.shift[:, 1] * k

    def warp_matrices(self, pose: Pose) -> np.ndarray:
        """``(N, 2, 3)`` affine maps canvas -> output (for :func:`cv2.warpAffine`)."""
        theta = np.deg2rad(pose.angle)
        cos, sin = pose.scale * np.cos(theta), pose.scale * np.sin(theta)
        out_cx, out_cy = self._output_centre(pose)
        mats = np.empty((pose.angle.shape[0], 2, 3))
        mats[:, 0, 0], mats[:, 0, 1] = cos, -sin
        mats[:, 1, 0], mats[:, 1, 1] = sin, cos
        mats[:, 0, 2] = out_cx - (cos * self.cx - sin * self.cy)
        mats[:, 1, 2] = out_cy - (sin * self.cx + cos * self.cy)
        return mats

    def face_oval(self, pose: Pose, ident: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """The egg-shaped face outline in output pixels, exactly (no drawing).

        Maps every output pixel back to face px at 48 and tests it against the outline of
        :func:`~emonb.data.synthetic.geometry.head_outlines` (semi-axes ``face_a``,
        ``face_b``, taper ``face_egg`` of ``ident``).

        Returns
        -------
        mask, alpha : numpy.ndarray
            ``(N, size, size)``: ``bool`` inside the outline, and ``float32`` soft coverage
            (a ramp about 1 px wide across the outline).
        """
        k, size = self.k, self.size
        fa, fb = ident["face_a"], ident["face_b"]
        theta, scale = np.deg2rad(pose.angle), pose.scale
        out_cx, out_cy = self._output_centre(pose)
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
        edge_px = (1.0 - radius) * (np.minimum(fa, fb) * k * scale)[:, None, None]
        return radius <= 1.0, np.clip(edge_px + 0.5, 0.0, 1.0).astype(np.float32)
