"""Does the network use the action units each face shows?

For each action unit the mesh can measure (:mod:`emonb.anatomy.activity`) and each region
that holds it (:func:`regions_of` the map: :data:`APPEARANCE_REGIONS` on the appearance map
of :mod:`emonb.anatomy.appearance`, :data:`REGIONS` on py-feat's muscle map of
:mod:`emonb.anatomy.regions`),
:func:`au_use` compares the model's evidence in that region (occlusion drop or enrichment,
per face) on faces where the AU is *active* (its activity in the top quartile of the faces
analysed) with faces where it is *inactive* (bottom quartile), within each predicted
emotion: ``difference = mean(active) - mean(inactive)``, with a percentile bootstrap
interval that resamples the two sides separately. A difference whose interval lies above 0
says the network leans on that region more when the face shows the action there.

References: Ekman, Friesen & Hager (2002), *Facial Action Coding System* (the AUs and their
appearance); Efron & Tibshirani (1993), *An Introduction to the Bootstrap*.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from emonb.errors import EmonbError, check_count

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["APPEARANCE_REGIONS", "REGIONS", "au_use", "au_use_wide", "regions_of"]

#: The action-unit regions (py-feat's map, :data:`emonb.anatomy.regions.AU_NAMES`) where each
#: measured AU (:data:`emonb.anatomy.activity.AU_MEASURES`) shows. AU25 (lips part) has no
#: region of its own in that map, and AU06/07 (one measure) has two.
REGIONS: dict[str, tuple[str, ...]] = {
    "AU01": ("AU01",), "AU02": ("AU02",), "AU04": ("AU04",), "AU05": ("AU05",),
    "AU06/07": ("AU06", "AU07"), "AU12": ("AU12",), "AU15": ("AU15",), "AU20": ("AU20",),
    "AU25": (), "AU26": ("AU26",),
}  # fmt: skip
#: The same on the appearance map (:data:`emonb.anatomy.appearance.APPEARANCE_NAMES`), which
#: has a region for AU25 (the lips and the mouth opening).
APPEARANCE_REGIONS: dict[str, tuple[str, ...]] = {**REGIONS, "AU25": ("AU25",)}


def regions_of(au_map: str = "appearance") -> dict[str, tuple[str, ...]]:
    """The regions of ``au_map`` where each measured AU shows: :data:`APPEARANCE_REGIONS`
    or :data:`REGIONS`."""
    from emonb.anatomy.au_maps import check_au_map

    return APPEARANCE_REGIONS if check_au_map(au_map) == "appearance" else REGIONS


def _interval(active: np.ndarray, inactive: np.ndarray, n_boot: int, level: float,
              rng: np.random.Generator) -> tuple[float, float]:  # fmt: skip
    a = active[rng.integers(0, len(active), (n_boot, len(active)))].mean(axis=1)
    b = inactive[rng.integers(0, len(inactive), (n_boot, len(inactive)))].mean(axis=1)
    lo, hi = np.quantile(a - b, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def au_use(evidence: pd.DataFrame, activity: pd.DataFrame, groups, class_names: Sequence[str],
           *, quantile: float = 0.25, min_faces: int = 5, n_boot: int = 1000,
           level: float = 0.95, seed: int = 0, au_map: str = "appearance") -> pd.DataFrame:  # fmt: skip
    """Evidence in each AU's region on faces that show the AU against faces that do not.

    ``evidence``: per-face values (N faces x AU regions of ``au_map``, e.g.
    :class:`AUEvidence.values`'s ``"occlusion"``; regions it lacks are skipped); ``activity``: the same N faces x measured AUs (z-scores, NaN: not
    measured); ``groups``: (N,) class index per face (the predicted emotion). The active and
    inactive faces of an AU are those in the top and bottom ``quantile`` of its activity over
    all N faces; then, per emotion, the means of each side and their difference with a
    bootstrap interval (NaN where a side has no face; the interval NaN too where a side has
    fewer than ``min_faces``: a resample of one face has no spread to show). Returns a long DataFrame: ``au,
    region, emotion, active, inactive, difference, lo, hi, n_active, n_inactive``.
    """
    import pandas as pd

    if not 0 < quantile <= 0.5:
        raise EmonbError(f"quantile must be in (0, 0.5], got {quantile}")
    n_boot = check_count("n_boot", n_boot)
    table = regions_of(au_map)
    min_faces = check_count("min_faces", min_faces)
    groups = np.asarray(groups)
    if not len(evidence) == len(activity) == len(groups):
        raise EmonbError(f"evidence ({len(evidence)}), activity ({len(activity)}) and groups "
                         f"({len(groups)}) must hold the same faces")  # fmt: skip
    rows = []
    for au in activity.columns:
        a = activity[au].to_numpy(dtype=np.float64)
        finite = np.isfinite(a)
        if finite.sum() < 2:
            continue
        low, high = np.quantile(a[finite], [quantile, 1 - quantile])
        active, inactive = finite & (a >= high), finite & (a <= low)
        for region in table.get(au, ()):
            if region not in evidence.columns:
                continue
            v = evidence[region].to_numpy(dtype=np.float64)
            for g, emotion in enumerate(class_names):
                on, off = v[active & (groups == g)], v[inactive & (groups == g)]
                on, off = on[np.isfinite(on)], off[np.isfinite(off)]
                nan = float("nan")
                mean_on = float(on.mean()) if len(on) else nan
                mean_off = float(off.mean()) if len(off) else nan
                lo = hi = nan
                if min(len(on), len(off)) >= min_faces:
                    rng = np.random.default_rng([seed, g, len(rows)])
                    lo, hi = _interval(on, off, n_boot, level, rng)
                rows.append({"au": au, "region": region, "emotion": emotion,
                             "active": mean_on, "inactive": mean_off,
                             "difference": mean_on - mean_off, "lo": lo, "hi": hi,
                             "n_active": len(on), "n_inactive": len(off)})  # fmt: skip
    return pd.DataFrame(rows)


def au_use_wide(table: pd.DataFrame, decimals: int = 3) -> pd.DataFrame:
    """:func:`au_use`'s rows as a table to read: one row per (AU, region), one column per
    emotion, each cell ``"difference [lo, hi]"`` (blank without an interval)."""

    def cell(r) -> str:
        if not np.isfinite(r["lo"]):
            return ""
        return f"{r['difference']:.{decimals}f} [{r['lo']:.{decimals}f}, {r['hi']:.{decimals}f}]"

    out = table.assign(cell=table.apply(cell, axis=1))
    wide = out.pivot_table(index=["au", "region"], columns="emotion", values="cell",
                           aggfunc="first", sort=False)  # fmt: skip
    return wide.reindex(columns=list(dict.fromkeys(table["emotion"])))
