"""What the video shows: annotated frames and the frames of the map animation.

:func:`annotate_frame` draws each face's heatmap, box, smoothed label and score on a BGR
frame (the annotated video), and with the face mesh the outline of the action-unit region
holding most of the map for its size (the highest enrichment; nothing says the face shows
that action) or the mesh's points; :func:`animation_frames` shows faces as the model sees them
with their maps and a caption (the chapter's GIF, :func:`emonb.video.export.write_animation`).
Both return new arrays and leave their inputs alone (the video pipeline draws on its own
decoded frames in place: ``annotate_frame(..., inplace=True)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import cv2
import numpy as np

from emonb.faces.draw import mark_points
from emonb.models.preprocessing import model_view
from emonb.models.zoo import EmotionModel
from emonb.video.tracking import TrackedFace

__all__ = ["COLOURS", "OVERLAYS", "animation_frames", "annotate_frame", "au_outline",
           "blend_heatmap", "region_label"]  # fmt: skip

#: What :func:`annotate_frame` draws from a face's mesh: the action-unit region holding most
#: of the map for its size (outline and name), the mesh's points, both, or nothing.
OVERLAYS = ("au", "mesh", "both", "none")
_SHIFT = 4  # fractional bits of the outline's coordinates handed to OpenCV

#: BGR colours of the seven FER-2013 classes' boxes (others cycle through them).
COLOURS = ((0, 0, 230), (0, 140, 0), (160, 0, 160), (0, 200, 255), (200, 80, 0),
           (255, 200, 0), (180, 180, 180))  # fmt: skip


@lru_cache(maxsize=32)
def _outline_edges(au: str) -> np.ndarray:
    """The edges (E, 2) of an action unit's region (vertex pairs) that bound it: those of
    its triangles not shared by two of them."""
    from emonb.anatomy.regions import AU_NAMES, region_map

    rmap = region_map()
    tri = rmap.triangles[rmap.au == AU_NAMES.index(au)]
    edges = np.sort(np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]]), axis=1)
    unique, counts = np.unique(edges, axis=0, return_counts=True)
    return unique[counts == 1]


def au_outline(points: np.ndarray, au: str) -> np.ndarray:
    """The outline of action unit ``au``'s region on a face: segments (E, 2, 2) in the
    pixels of ``points`` (468, 2), the mesh's points."""
    return np.asarray(points, np.float64)[_outline_edges(au)]


def _draw_mesh(out: np.ndarray, face: TrackedFace, overlay: str, colour) -> None:
    """The face's mesh points (one pixel each) and/or the outline of the AU region holding
    most of its map for its size."""
    if face.points is None:
        return
    if overlay in ("mesh", "both"):
        mark_points(out, face.points)
    if overlay in ("au", "both") and face.top_au is not None:
        # pixel centres at integer + 0.5 -> OpenCV's at integer, in fixed point
        seg = np.round((au_outline(face.points, face.top_au) - 0.5) * (1 << _SHIFT))
        cv2.polylines(out, list(seg.astype(np.int32)), False, colour, 1, cv2.LINE_AA, _SHIFT)


@lru_cache(maxsize=4)
def _lut_bgr(cmap: str) -> np.ndarray:
    """A colormap's 256 colours as an OpenCV colour-map table: BGR uint8 (256, 1, 3)."""
    from emonb.plotting.colours import colour_lut

    lut = np.clip(np.rint(colour_lut(cmap)[:, ::-1]), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(lut.reshape(256, 1, 3))


def blend_heatmap(patch: np.ndarray, heatmap: np.ndarray, alpha: float = 0.4,
                  cmap: str = "jet") -> np.ndarray:  # fmt: skip
    """Blend a heatmap (any size, values in [0, 1], NaN as 0) over a BGR uint8 ``patch``, in
    place, and return it: the map resized bicubically to the patch, coloured by ``cmap``'s
    256 entries (the entry matplotlib picks, as :func:`emonb.plotting.images.overlay`
    does), and ``(1 - alpha) * patch + alpha * colour`` rounded. The colours are rounded
    to whole levels first, so a pixel can differ by one level from the float blend; the
    whole runs in OpenCV on uint8 (a 792x792 face: about 3 ms, against 27 in float)."""
    from emonb.plotting.colours import lut_index

    h, w = patch.shape[:2]
    if h == 0 or w == 0:
        return patch
    heat = np.nan_to_num(np.asarray(heatmap, dtype=np.float32))
    heat = cv2.resize(heat, (w, h), interpolation=cv2.INTER_CUBIC)
    colour = cv2.applyColorMap(lut_index(heat), _lut_bgr(cmap))
    cv2.addWeighted(patch, 1.0 - float(alpha), colour, float(alpha), 0.0, dst=patch)
    return patch


def annotate_frame(frame: np.ndarray, faces: Sequence[TrackedFace], maps: np.ndarray | None,
                   alpha: float = 0.4, overlay: str = "au", *,
                   inplace: bool = False) -> np.ndarray:  # fmt: skip
    """A BGR copy of ``frame`` (BGR or grey; with ``inplace`` a BGR frame itself, drawn on
    only inside and around the faces' boxes) with each face's heatmap (``maps[i]``, any
    size, values in [0, 1], blended at opacity ``alpha``; none when ``maps`` is None), its
    box in its label's colour (:data:`COLOURS`), and ``"<emotion> <probability>"`` of the
    smoothed label on the box's top edge. Faces with mesh points also get ``overlay``
    (:data:`OVERLAYS`): the outline of the action-unit region holding most of the map for
    its size (:attr:`~emonb.video.tracking.TrackedFace.top_au`, in the box's colour), named
    under the box as ``"map densest on AU12 region"`` (:func:`region_label`: shorter on a
    small box; a statement about the map, not a detected action unit), and/or the 468
    points (white pixels). Heatmaps are blended by
    :func:`blend_heatmap`."""
    if frame.ndim != 3:
        out = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    else:
        out = frame if inplace else frame.copy()
    for i, f in enumerate(faces):
        b = f.box
        if maps is not None:
            blend_heatmap(out[b.y : b.y + b.h, b.x : b.x + b.w], maps[i], alpha)
        colour = COLOURS[f.label % len(COLOURS)]
        _draw_mesh(out, f, overlay, colour)
        cv2.rectangle(out, (b.x, b.y), (b.x + b.w, b.y + b.h), colour, 2)
        _label(out, f"{f.emotion} {f.proba[f.label]:.2f}", b.x, b.y, colour, 0.6, above=True)
        if overlay in ("au", "both") and f.top_au is not None:
            text, scale = region_label(f.top_au, b.w)
            _label(out, text, b.x, b.y + b.h, colour, scale, above=False)
    return out


def region_label(au: str, width: int) -> tuple[str, float]:
    """The text and font scale that name the AU region holding most of the map under a face
    box ``width`` pixels wide: ``"map densest on AU12 region"``, or shorter (``"map
    densest: AU12"``, ``"map: AU12"``) and smaller until it fits; the shortest when none does."""
    texts = (f"map densest on {au} region", f"map densest: {au}", f"map: {au}")
    for text in texts:
        for scale in (0.45, 0.35, 0.3):
            if cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0] + 4 <= width:
                return text, scale
    return texts[-1], 0.3


def _label(out: np.ndarray, text: str, x: int, y: int, colour, scale: float, *,
           above: bool) -> None:  # fmt: skip
    """White ``text`` on a ``colour`` band whose bottom (``above``) or top edge is at row
    ``y``, starting at column ``x``; kept inside the frame's rows."""
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    bottom = y if above else y + th + base + 2
    bottom = min(max(bottom, th + base + 2), out.shape[0] - 1)
    cv2.rectangle(out, (x, bottom - th - base - 2), (x + tw + 4, bottom), colour, cv2.FILLED)
    cv2.putText(out, text, (x + 2, bottom - base), cv2.FONT_HERSHEY_SIMPLEX, scale,
                (255, 255, 255), 1, cv2.LINE_AA)  # fmt: skip


def animation_frames(net: EmotionModel, inputs: np.ndarray, maps: np.ndarray,
                     captions: Sequence[str], *, size: int = 192,
                     alpha: float = 0.45) -> list[np.ndarray]:  # fmt: skip
    """RGB frames (size x size) of ``net``'s preprocessed faces (N, H, W, C), shown as the
    model sees them (:func:`emonb.models.preprocessing.model_view`), with their maps
    overlaid and a caption, for :func:`emonb.video.export.write_animation`."""
    from emonb.plotting.images import overlay

    frames = []
    for g, m, text in zip(model_view(net, inputs, preprocessed=True), maps, captions, strict=True):
        img = overlay(cv2.resize(g, (size, size), interpolation=cv2.INTER_CUBIC), m, alpha=alpha)
        cv2.rectangle(img, (0, size - 22), (size, size), (0, 0, 0), cv2.FILLED)
        cv2.putText(img, text, (4, size - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1,
                    cv2.LINE_AA)  # fmt: skip
        frames.append(img)
    return frames
