"""Making a labelled set of synthetic expression faces: :func:`make_synthetic_faces`.

It composes the steps of the other modules of :mod:`emonb.data.synthetic`: draw the
labels and the per-face variation, blend the action parameters, lay out the outlines,
draw and warp, develop the images and grow the masks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral

import numpy as np

from emonb.config import CLASS_NAMES
from emonb.data.synthetic.canvas import Canvas
from emonb.data.synthetic.expressions import action_params, cue_masks
from emonb.data.synthetic.geometry import feature_outlines, head_outlines
from emonb.data.synthetic.imaging import develop
from emonb.data.synthetic.render import Drawing, grow_masks, render
from emonb.data.synthetic.variation import draw_variation

__all__ = ["MIN_SIZE", "TEST_EVERY", "SyntheticFaces", "make_synthetic_faces"]

MIN_SIZE = 24  #: smallest image side, in px
TEST_EVERY = 9  #: every 9th face (by index) is "PublicTest"


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
        :data:`~emonb.data.synthetic.CUE_REGIONS` region masks.
    region_masks : dict of str to numpy.ndarray
        For each name in :data:`~emonb.data.synthetic.REGIONS`, a ``bool`` array
        ``(N, size, size)`` marking that region on every face (whatever the label).
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
    size = _check_int("size", size, MIN_SIZE)
    rng = np.random.default_rng(seed)
    if classes is None:
        labels = rng.permutation(np.arange(n, dtype=np.int64) % len(CLASS_NAMES))
    else:
        labels = _check_classes(classes, n)
    var = draw_variation(rng, n, size)
    neutral, params = action_params(labels, var.rest, var.amp, var.happy_open)
    tones = {**var.tones, "wrinkle": var.tones["skin"] - 80.0 * params["nose_wrinkle"]}

    canvas = Canvas(size)
    head = head_outlines(var.identity, var.fringe, 30.0 + canvas.margin / canvas.k)
    geo = feature_outlines(params, var.identity)
    drawing = Drawing.build(
        canvas, geo, feature_outlines(neutral, var.identity), head, tones, var.has_hair, params
    )
    images, coverage = render(canvas, drawing, canvas.warp_matrices(var.pose))
    face_masks, face_alpha = canvas.face_oval(var.pose, var.identity)
    region_masks = grow_masks(coverage, canvas.k)
    return SyntheticFaces(
        images=develop(images, face_alpha, var.lighting, canvas.k),
        labels=labels,
        usage=np.where(np.arange(n) % TEST_EVERY == TEST_EVERY - 1, "PublicTest", "Training"),
        cue_masks=cue_masks(labels, region_masks),
        region_masks=region_masks,
        face_masks=face_masks,
    )
