"""One switch for the map of FACS action-unit regions: ``au_map="appearance"`` (the default)
or ``au_map="muscle"``.

* ``"appearance"`` (:mod:`emonb.anatomy.appearance`): where each action unit *shows*, written
  from the FACS Manual's appearance changes; 22 regions that may overlap;
* ``"muscle"`` (:mod:`emonb.anatomy.regions`, ``kind="au"``): py-feat's map, the muscle under
  each triangle; 19 disjoint regions.

Every function that builds action-unit masks for a metric or a method
(:func:`emonb.metrics.action_units.au_evidence`, :class:`emonb.methods.shapley.AUShapley`,
``emonb evaluate-maps --au-map``) takes the switch and calls :func:`au_masks_for`.

References: Ekman, Friesen & Hager (2002), *Facial Action Coding System* (the appearance
changes); Cheong et al. (2023), "Py-Feat" (the muscle map).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emonb.anatomy import appearance, regions
from emonb.errors import EmonbError

__all__ = [
    "AU_MAPS",
    "AU_MAP_CHOICES",
    "DEFAULT_AU_MAP",
    "au_masks",
    "au_masks_for",
    "au_names",
    "check_au_map",
    "map_of",
    "maps_of",
    "overlapping",
]

#: The action-unit maps, the default first.
AU_MAPS: tuple[str, ...] = ("appearance", "muscle")
#: The map used when none is named.
DEFAULT_AU_MAP = "appearance"
#: What a command line accepts: a map, or ``"both"`` (:func:`maps_of`).
AU_MAP_CHOICES: tuple[str, ...] = (*AU_MAPS, "both")


def check_au_map(au_map: str) -> str:
    """``au_map`` if it names a map of :data:`AU_MAPS`, else an :class:`EmonbError`."""
    if au_map not in AU_MAPS:
        raise EmonbError(f"unknown action-unit map {au_map!r}; choose one of {', '.join(AU_MAPS)}")
    return au_map


def maps_of(choice: str) -> tuple[str, ...]:
    """The maps a choice of :data:`AU_MAP_CHOICES` names: ``"both"`` is every map, the
    default first."""
    return AU_MAPS if choice == "both" else (check_au_map(choice),)


def au_names(au_map: str = DEFAULT_AU_MAP) -> tuple[str, ...]:
    """The action units of ``au_map``, in mask order: 22 for ``"appearance"``
    (:data:`~emonb.anatomy.appearance.APPEARANCE_NAMES`), 19 for ``"muscle"``
    (:data:`~emonb.anatomy.regions.AU_NAMES`)."""
    return appearance.APPEARANCE_NAMES if check_au_map(au_map) == "appearance" else regions.AU_NAMES


def overlapping(au_map: str = DEFAULT_AU_MAP) -> bool:
    """Whether the regions of ``au_map`` may overlap (appearance) or are disjoint (muscle)."""
    return check_au_map(au_map) == "appearance"


def map_of(names: Sequence[str]) -> str:
    """The map whose action units are exactly ``names`` (in order)."""
    names = tuple(names)
    for m in AU_MAPS:
        if names == au_names(m):
            return m
    raise EmonbError(f"no action-unit map has the regions {', '.join(names)}")


def au_masks(points: np.ndarray, size: int | tuple[int, int], au_map: str = DEFAULT_AU_MAP, *,
             supersample: int = 4, membership: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """Soft masks of each face's action-unit regions, float32 (N, R, H, W), R =
    ``len(au_names(au_map))``: :func:`emonb.anatomy.appearance.rasterize` or
    :func:`emonb.anatomy.regions.rasterize` (``kind="au"``). ``points`` (N, 468, 2) in the
    map's pixels; ``membership``: the appearance regions' triangles when already known
    (:func:`emonb.anatomy.appearance.membership`; appearance map only)."""
    if check_au_map(au_map) == "appearance":
        return appearance.rasterize(points, size, supersample=supersample, membership=membership)
    if membership is not None:
        raise EmonbError("membership belongs to the appearance map; the muscle map's regions "
                         "are fixed")  # fmt: skip
    return regions.rasterize(points, size, "au", supersample=supersample)


def au_masks_for(landmarks_xy: np.ndarray, from_size: int | tuple[int, int],
                 to_size: int | tuple[int, int], au_map: str = DEFAULT_AU_MAP, *,
                 supersample: int = 4, membership: np.ndarray | None = None,
                 union: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """:func:`au_masks` for points given in a ``from_size`` (H0, W0) image, on a map of
    ``to_size`` (H, W) covering the same image (scaled by (W / W0, H / H0), as
    :func:`emonb.anatomy.regions.region_masks_for`). The appearance regions' triangles are
    chosen on the points as given (``membership``, else computed from ``landmarks_xy``), so
    every map size rasterises the same triangles. ``union``: also return each pixel's
    fraction inside any region (N, H, W), ``(masks, union)``; for the muscle map (disjoint
    regions) that is the masks' sum."""
    h0, w0 = regions._hw(from_size)
    h, w = regions._hw(to_size)
    xy = np.asarray(landmarks_xy, dtype=np.float64)[..., :2]
    scaled = xy * np.array([w / w0, h / h0])
    if check_au_map(au_map) == "appearance":
        member = appearance.membership(xy) if membership is None else membership
        return appearance.rasterize(scaled, (h, w), supersample=supersample, membership=member,
                                    union=union)  # fmt: skip
    masks = au_masks(scaled, (h, w), "muscle", supersample=supersample, membership=membership)
    return (masks, masks.sum(axis=1)) if union else masks
