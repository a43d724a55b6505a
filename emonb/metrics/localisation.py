"""Localisation: does a map point at a known region?

* **Pointing game** (Zhang et al. 2016): a hit when the map's maximum lies inside the
  ground-truth region;
* **energy share** (the energy-based pointing game of Wang et al. 2020, Score-CAM): the
  share of the map's mass inside the region.

The ground truth is any boolean mask per image, e.g. the cue regions the synthetic
stand-in's generator planted (:mod:`emonb.data.synthetic`). Maps are resized (bilinearly,
:func:`emonb.arrays.resize_maps`) to the masks' size.
"""

from __future__ import annotations

import numpy as np

from emonb.arrays import resize_maps

__all__ = ["energy_share", "pointing_game"]


def pointing_game(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Hits (N,) bool: whether each map's maximum (resized to the masks' size; the
    first maximum in row-major order) lies inside its mask (N, H, W).

    References: Zhang et al. (ECCV 2016), "Top-down neural attention by excitation
    backprop" (the pointing game).
    """
    masks = np.asarray(masks, dtype=bool)
    m = resize_maps(maps, masks.shape[1:]).reshape(len(masks), -1)
    peak = m.argmax(axis=1)
    return masks.reshape(len(masks), -1)[np.arange(len(masks)), peak]


def energy_share(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Share (N,) of each map's mass inside its mask (N, H, W); an all-zero map gets the
    mask's area share, what a flat map would.

    References: Wang et al. (2020), "Score-CAM: score-weighted visual explanations for
    convolutional neural networks" (the energy-based pointing game).
    """
    masks = np.asarray(masks, dtype=np.float32)
    m = resize_maps(maps, masks.shape[1:])
    total = m.sum(axis=(1, 2))
    inside = (m * masks).sum(axis=(1, 2))
    area = masks.mean(axis=(1, 2))
    return np.where(total > 0, inside / np.where(total > 0, total, 1), area).astype(np.float32)
