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
from emonb.metrics.stats import cluster_sums, enough_clusters

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["APPEARANCE_REGIONS", "REGIONS", "au_use", "au_use_nested", "au_use_wide", "regions_of"]

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


def _side_means(v: np.ndarray, ids: np.ndarray | None, n_boot: int,
                rng: np.random.Generator) -> np.ndarray:  # fmt: skip
    """Means of ``n_boot`` resamples of ``v``: of its values, or (``ids``) of whole clusters."""
    if ids is None:
        return v[rng.integers(0, len(v), (n_boot, len(v)))].mean(axis=1)
    sums, counts = cluster_sums(v, ids)
    idx = rng.integers(0, len(sums), (n_boot, len(sums)))
    return sums[idx].sum(axis=1) / counts[idx].sum(axis=1)


def _interval(active: np.ndarray, inactive: np.ndarray, n_boot: int, level: float,
              rng: np.random.Generator, clusters: tuple | None = None) -> tuple[float, float]:  # fmt: skip
    on, off = (None, None) if clusters is None else clusters
    if clusters is not None and not (enough_clusters(on) and enough_clusters(off)):
        return float("nan"), float("nan")
    a = _side_means(active, on, n_boot, rng)
    b = _side_means(inactive, off, n_boot, rng)
    lo, hi = np.quantile(a - b, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def au_use(evidence: pd.DataFrame, activity: pd.DataFrame, groups, class_names: Sequence[str],
           *, quantile: float = 0.25, min_faces: int = 5, n_boot: int = 1000,
           level: float = 0.95, seed: int = 0, au_map: str = "appearance",
           clusters: np.ndarray | None = None) -> pd.DataFrame:  # fmt: skip
    """Evidence in each AU's region on faces that show the AU against faces that do not.

    ``evidence``: per-face values (N faces x AU regions of ``au_map``, e.g.
    :class:`AUEvidence.values`'s ``"occlusion"``; regions it lacks are skipped); ``activity``: the same N faces x measured AUs (z-scores, NaN: not
    measured); ``groups``: (N,) class index per face (the predicted emotion). The active and
    inactive faces of an AU are those in the top and bottom ``quantile`` of its activity over
    all N faces; then, per emotion, the means of each side and their difference with a
    bootstrap interval (NaN where a side has no face; the interval NaN too where a side has
    fewer than ``min_faces``: a resample of one face has no spread to show). ``clusters``:
    one id per face (the clip or photo it comes from) for a cluster bootstrap: each side
    resamples its clusters, not its faces (None: faces). Returns a long DataFrame: ``au,
    region, emotion, active, inactive, difference, lo, hi, n_active, n_inactive``.
    """
    import pandas as pd

    if not 0 < quantile <= 0.5:
        raise EmonbError(f"quantile must be in (0, 0.5], got {quantile}")
    n_boot = check_count("n_boot", n_boot)
    table = regions_of(au_map)
    min_faces = check_count("min_faces", min_faces)
    groups = np.asarray(groups)
    ids = None if clusters is None else np.asarray(clusters)
    sizes = [len(evidence), len(activity), len(groups)] + ([] if ids is None else [len(ids)])
    if len(set(sizes)) > 1:
        raise EmonbError(f"evidence ({len(evidence)}), activity ({len(activity)}), groups "
                         f"({len(groups)}) and clusters must hold the same faces")  # fmt: skip
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
                sel_on, sel_off = active & (groups == g), inactive & (groups == g)
                sel_on &= np.isfinite(v)
                sel_off &= np.isfinite(v)
                on, off = v[sel_on], v[sel_off]
                sides = None if ids is None else (ids[sel_on], ids[sel_off])
                nan = float("nan")
                mean_on = float(on.mean()) if len(on) else nan
                mean_off = float(off.mean()) if len(off) else nan
                lo = hi = nan
                if min(len(on), len(off)) >= min_faces:
                    rng = np.random.default_rng([seed, g, len(rows)])
                    lo, hi = _interval(on, off, n_boot, level, rng, sides)
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


def au_use_nested(table: pd.DataFrame, decimals: int = 5) -> dict:
    """:func:`au_use`'s rows as plain JSON: region -> emotion -> ``{"active", "inactive",
    "difference", "lo", "hi", "n_active", "n_inactive"}``, regions in the table's order.
    Each region is an AU's region on the map; AU06 and AU07 are both judged by the one
    AU06/07 measure. NaN (a side without faces, or too few for an interval) becomes null."""
    from emonb.records import json_safe

    out: dict = {}
    for r in table.itertuples(index=False):
        cell = {k: round(float(getattr(r, k)), decimals)
                for k in ("active", "inactive", "difference", "lo", "hi")}  # fmt: skip
        cell.update(n_active=int(r.n_active), n_inactive=int(r.n_inactive))
        out.setdefault(r.region, {})[r.emotion] = cell
    return json_safe(out)
