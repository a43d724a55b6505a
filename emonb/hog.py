"""Histograms of oriented gradients (Dalal & Triggs, 2005) of face patches, in NumPy.

The seed paper describes its automatically annotated face patches by HOG features. Three
pure functions:

* :func:`hog_cells` - per cell, the gradient magnitude summed into unsigned orientation
  bins (0-180 degrees; centred differences ``[-1, 0, 1]``, hard binning, as scikit-image);
* :func:`hog_descriptor` - the classic feature vector: cells grouped into overlapping
  blocks, each block L2-Hys normalised;
* :func:`orientation_histogram` - the share of a patch's gradient energy per orientation,
  the quantity compared across emotions (:func:`emotion_histograms`).

:func:`hog_image` draws the cells as the usual star glyphs. Angles follow image
coordinates: 0 degrees is a gradient pointing right (a vertical edge), 90 degrees a
gradient pointing down (a horizontal edge, such as a closed mouth or a brow).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from emonb.data.images import to_grey

__all__ = [
    "PATCH",
    "emotion_histograms",
    "hog_cells",
    "hog_descriptor",
    "hog_image",
    "orientation_histogram",
    "prepare_patch",
]

#: Side of the grey square every patch is resized to before HOG (8 x 8 cells of 8 px).
PATCH = 64


def prepare_patch(image: np.ndarray, size: int = PATCH) -> np.ndarray:
    """A face patch (grey or colour, any size, uint8 or float in [0, 1]) as float32 grey
    ``size x size`` in [0, 1] (area interpolation when shrinking)."""
    grey = to_grey(np.asarray(image))
    grey = grey.astype(np.float32) / (255.0 if grey.dtype == np.uint8 else 1.0)
    if grey.shape != (size, size):
        shrink = grey.shape[0] > size or grey.shape[1] > size
        grey = cv2.resize(grey, (size, size),
                          interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)  # fmt: skip
    return grey


def _gradients(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Magnitude and unsigned orientation in degrees [0, 180) of a 2-D float image."""
    g = np.asarray(image, dtype=np.float32)
    if g.ndim != 2:
        raise ValueError(f"expected a 2-D grey image, got shape {g.shape}")
    gx = np.zeros_like(g)
    gy = np.zeros_like(g)
    gx[:, 1:-1] = g[:, 2:] - g[:, :-2]
    gy[1:-1, :] = g[2:, :] - g[:-2, :]
    return np.hypot(gx, gy), np.rad2deg(np.arctan2(gy, gx)) % 180.0


def hog_cells(image: np.ndarray, cell: int = 8, bins: int = 9) -> np.ndarray:
    """Orientation histograms per cell, (rows, cols, bins) float32.

    ``image`` is 2-D grey; pixels beyond the last whole cell are ignored. Bin ``b`` holds
    the summed gradient magnitude of orientations in ``[b, b + 1) * 180 / bins`` degrees.
    """
    if cell < 1 or bins < 1:
        raise ValueError(f"cell and bins must be positive, got cell={cell}, bins={bins}")
    mag, ang = _gradients(image)
    rows, cols = mag.shape[0] // cell, mag.shape[1] // cell
    if rows == 0 or cols == 0:
        raise ValueError(f"image {mag.shape} is smaller than one {cell}x{cell} cell")
    mag, ang = mag[: rows * cell, : cols * cell], ang[: rows * cell, : cols * cell]
    b = np.minimum((ang * (bins / 180.0)).astype(np.intp), bins - 1)
    r = np.arange(rows * cell)[:, None] // cell
    c = np.arange(cols * cell)[None, :] // cell
    flat = ((r * cols + c) * bins + b).ravel()
    out = np.bincount(flat, weights=mag.ravel(), minlength=rows * cols * bins)
    return out.reshape(rows, cols, bins).astype(np.float32)


def hog_descriptor(image: np.ndarray, cell: int = 8, block: int = 2, bins: int = 9,
                   clip: float = 0.2) -> np.ndarray:  # fmt: skip
    """The HOG feature vector: ``block x block`` cells per block, stride one cell, each
    block L2-Hys normalised (L2, clip at ``clip``, L2 again). 1-D float32."""
    cells = hog_cells(image, cell, bins)
    rows, cols = cells.shape[0] - block + 1, cells.shape[1] - block + 1
    if rows < 1 or cols < 1:
        raise ValueError(f"{cells.shape[:2]} cells are fewer than one {block}x{block} block")
    eps = 1e-5
    out = []
    for i in range(rows):
        for j in range(cols):
            v = cells[i : i + block, j : j + block].ravel()
            v = v / np.sqrt((v**2).sum() + eps**2)
            v = np.minimum(v, clip)
            out.append(v / np.sqrt((v**2).sum() + eps**2))
    return np.concatenate(out).astype(np.float32)


def orientation_histogram(images: np.ndarray | Sequence[np.ndarray], bins: int = 9,
                          size: int = PATCH) -> np.ndarray:  # fmt: skip
    """Per patch, the share of its gradient energy in each orientation bin: (N, bins)
    float64, rows summing to 1 (a flat patch gives a uniform row)."""
    rows = []
    for img in images:
        total = hog_cells(prepare_patch(img, size), cell=size, bins=bins)[0, 0].astype(np.float64)
        s = total.sum()
        rows.append(total / s if s > 0 else np.full(bins, 1.0 / bins))
    return np.asarray(rows).reshape(-1, bins)


def emotion_histograms(hists: np.ndarray, labels: np.ndarray,
                       class_names: Sequence[str]) -> dict[str, dict[str, np.ndarray | int]]:  # fmt: skip
    """Mean and standard deviation of :func:`orientation_histogram` rows per emotion.

    Returns ``{emotion: {"n": count, "mean": (bins,), "std": (bins,)}}`` for the emotions
    that have patches, in class order.
    """
    hists, labels = np.asarray(hists, dtype=np.float64), np.asarray(labels)
    if len(hists) != len(labels):
        raise ValueError(f"{len(hists)} histograms but {len(labels)} labels")
    out = {}
    for code, name in enumerate(class_names):
        rows = hists[labels == code]
        if len(rows):
            out[name] = {"n": len(rows), "mean": rows.mean(axis=0), "std": rows.std(axis=0)}
    return out


def hog_image(cells: np.ndarray, cell: int = 8) -> np.ndarray:
    """The cells drawn as star glyphs, one line per bin across the gradient direction
    (along the edge), brightness by magnitude: float32 (rows * cell, cols * cell) in [0, 1]."""
    rows, cols, bins = cells.shape
    canvas = np.zeros((rows * cell, cols * cell), np.float32)
    peak = float(cells.max()) or 1.0
    half = cell / 2.0
    for b in range(bins):
        theta = np.deg2rad((b + 0.5) * 180.0 / bins + 90.0)  # the edge is normal to the gradient
        dx, dy = half * np.cos(theta), half * np.sin(theta)
        for i in range(rows):
            for j in range(cols):
                v = float(cells[i, j, b]) / peak
                if v <= 0:
                    continue
                cx, cy = j * cell + half, i * cell + half
                p0 = (int(round(cx - dx)), int(round(cy - dy)))
                p1 = (int(round(cx + dx)), int(round(cy + dy)))
                line = np.zeros_like(canvas)
                cv2.line(line, p0, p1, v, 1, lineType=cv2.LINE_AA)
                np.maximum(canvas, line, out=canvas)
    return canvas
