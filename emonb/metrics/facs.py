"""FACS analysis of maps and models: how much of the evidence for an emotion lies on the
action units that, by Ekman & Friesen's EMFACS prototypes, express it?

Per face and region (masks from :mod:`emonb.anatomy.regions`):

* :func:`mass_share` and :func:`enrichment`: what the *map* says (its mass in a region, and
  that share over the region's share of the image: 1 = as much as a flat map gives);
* :func:`emonb.metrics.occlusion.occlusion`: what the *model* says (the drop of the target probability when the
  region alone is replaced by a blurred copy, Zeiler & Fergus 2014).

Per emotion: :func:`au_table` (means with bootstrap intervals) and :func:`au_wide` (the
emotion x AU matrix for heatmaps), :func:`top_regions`, and :func:`agreement`, a score of how
far the emotion's evidence ranks its :data:`EMFACS` prototype action units above the others.

References: Ekman & Friesen (1978), *Facial Action Coding System*; Friesen & Ekman (1983),
EMFACS-7; Ekman, Friesen & Hager (2002), *FACS Investigator's Guide* (the EMFACS table).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from emonb.errors import EmonbError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "EMFACS",
    "EMFACS_APPEARANCE",
    "agreement",
    "au_table",
    "au_wide",
    "auc",
    "emfacs",
    "enrichment",
    "area_bins",
    "mass_share",
    "size_matched",
    "top_regions",
]

#: Prototype action units per emotion (EMFACS; Ekman & Friesen 1978, the Investigator's
#: Guide's prototype table), restricted to the 19 AU regions of py-feat's muscle map
#: (:func:`emfacs`; the appearance map: :data:`EMFACS_APPEARANCE`). Substitutions: anger's lip
#: tightener AU23 has no region of its own; its muscle, orbicularis oris, is AU24's region
#: (lip pressor), which stands for both. Disgust is AU09 *or* AU10, with AU15/AU16 (and
#: AU17, AU25, AU26 in some variants): both alternatives count as prototype regions. Fear's
#: AU25 (lips part) has no region; AU26 (jaw drop) does. Neutral has no prototype and is
#: left out of :func:`agreement`.
EMFACS: dict[str, tuple[str, ...]] = {
    "happy": ("AU06", "AU12"),
    "sad": ("AU01", "AU04", "AU15"),
    "surprise": ("AU01", "AU02", "AU05", "AU26"),
    "fear": ("AU01", "AU02", "AU04", "AU05", "AU07", "AU20", "AU26"),
    "angry": ("AU04", "AU05", "AU07", "AU24"),
    "disgust": ("AU09", "AU10", "AU15", "AU16"),
}

#: The prototypes on the appearance map (:mod:`emonb.anatomy.appearance`), which has
#: regions for the action units :data:`EMFACS` substitutes: anger's lip tightener AU23 (with
#: AU24, the lip presser of the Guide's variant with AU17), and the open mouth of surprise
#: and fear, which the Investigator's Guide lists as AU25, AU26 or AU27 (all three count).
#: On the muscle map's regions the extra action units are absent, so where both maps have
#: a region the two tables agree.
EMFACS_APPEARANCE: dict[str, tuple[str, ...]] = {
    "happy": ("AU06", "AU12"),
    "sad": ("AU01", "AU04", "AU15"),
    "surprise": ("AU01", "AU02", "AU05", "AU25", "AU26", "AU27"),
    "fear": ("AU01", "AU02", "AU04", "AU05", "AU07", "AU20", "AU25", "AU26", "AU27"),
    "angry": ("AU04", "AU05", "AU07", "AU23", "AU24"),
    "disgust": ("AU09", "AU10", "AU15", "AU16"),
}


def emfacs(au_map: str = "appearance") -> dict[str, tuple[str, ...]]:
    """The EMFACS prototypes on the regions of ``au_map``
    (:data:`emonb.anatomy.au_maps.AU_MAPS`): :data:`EMFACS_APPEARANCE` or :data:`EMFACS`."""
    from emonb.anatomy.au_maps import check_au_map

    return EMFACS_APPEARANCE if check_au_map(au_map) == "appearance" else EMFACS




# ---- per face ---------------------------------------------------------------------------
def _check(maps, masks) -> tuple[np.ndarray, np.ndarray]:
    maps = np.clip(np.asarray(maps, dtype=np.float64), 0.0, None)
    masks = np.asarray(masks, dtype=np.float64)
    if maps.ndim != 3 or masks.ndim != 4 or masks.shape[:1] + masks.shape[2:] != maps.shape:
        raise ValueError(f"expected maps (N, H, W) and masks (N, R, H, W) of the same N, H, W; "
                         f"got {maps.shape} and {masks.shape} (rasterise the masks at the "
                         "maps' size: emonb.anatomy.regions.region_masks_for)")  # fmt: skip
    return maps, masks


def mass_share(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Share of each map's mass in each region: (N, R) float64; NaN for an all-zero map.
    ``maps`` (N, H, W), negative values clipped to 0 (maps in emonb are non-negative after
    min-max normalisation); ``masks`` (N, R, H, W) soft region masks at the maps' size."""
    maps, masks = _check(maps, masks)
    total = maps.sum(axis=(1, 2))
    mass = np.einsum("nhw,nrhw->nr", maps, masks)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total[:, None] > 0, mass / total[:, None], np.nan)


def enrichment(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Per face and region, the share of the map's mass in the region over the region's
    share of the image's area: (N, R) float64. 1 is what a flat map gives, above 1 the map
    concentrates on the region, 0 it avoids it. NaN where the map is all zero or the region
    has no area on that face. Arguments as :func:`mass_share` (negatives clipped to 0).

    References: Wang et al. (2020), "Score-CAM" (the energy-based pointing game, here
    normalised by area as a relevance-mass ratio; Arras, Osman & Samek 2022, "CLEVR-XAI").
    """
    maps, masks = _check(maps, masks)
    share = mass_share(maps, masks)
    area = masks.sum(axis=(2, 3)) / float(maps.shape[1] * maps.shape[2])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(area > 0, share / area, np.nan)


def area_bins(areas, bins: int = 4) -> np.ndarray:
    """Each region's size class: regions ranked by area (``areas`` (R,), e.g. the mean share
    of the face each covers) and split into ``bins`` groups of near-equal count, smallest
    first: (R,) int."""
    areas = np.asarray(areas, dtype=np.float64)
    if areas.ndim != 1 or not 1 <= bins <= len(areas):
        raise ValueError(f"expected areas (R,) and 1 <= bins <= R; got {areas.shape}, {bins}")
    rank = np.empty(len(areas), int)
    rank[np.argsort(areas, kind="stable")] = np.arange(len(areas))
    return rank * bins // len(areas)


def size_matched(values, areas, bins: int = 4):
    """Per-face evidence relative to regions of a similar size: each region's value over the
    mean value of the regions in its size class (:func:`area_bins`) on the same face.

    This is the expected value under the null that the region labels are permuted among
    regions of similar area: a region whose enrichment only reflects its size (small
    regions near the middle of the face collect a peaked map's mass) scores 1, as does
    every region of a flat map; above 1 it beats regions of its size. ``values``: (N, R)
    array or DataFrame (kept as such), e.g. :func:`enrichment`; NaN values are left out of
    the class means.
    """
    import pandas as pd

    frame = values if isinstance(values, pd.DataFrame) else None
    v = np.asarray(values, dtype=np.float64)
    cls = area_bins(areas, bins)
    if v.ndim != 2 or v.shape[1] != len(cls):
        raise ValueError(f"expected values (N, {len(cls)}), got {v.shape}")
    out = np.full_like(v, np.nan)
    for b in np.unique(cls):
        cols = cls == b
        part = v[:, cols]
        n = np.isfinite(part).sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(n > 0, np.nansum(part, axis=1, keepdims=True) / n, np.nan)
            out[:, cols] = part / mean
    return out if frame is None else pd.DataFrame(out, index=frame.index, columns=frame.columns)


# ---- per emotion --------------------------------------------------------------------------
def _names(values, names: Sequence[str] | None) -> tuple[str, ...]:
    """The regions of per-face ``values``: ``names`` when given, else a DataFrame's columns
    (in their map's order when they are exactly a map's action units), else the action
    units of the map whose width the array has (19: py-feat's muscle map, 22: the
    appearance map; :mod:`emonb.anatomy.au_maps`)."""
    import pandas as pd

    from emonb.anatomy.au_maps import AU_MAPS, au_names

    if names is not None:
        return tuple(names)
    if isinstance(values, pd.DataFrame):
        columns = tuple(values.columns)
        known = [au_names(m) for m in AU_MAPS if set(au_names(m)) == set(columns)]
        return known[0] if known else columns
    shape = np.shape(values)
    for m in AU_MAPS:
        if len(shape) == 2 and shape[1] == len(au_names(m)):
            return au_names(m)
    raise ValueError(f"expected values (N, 19) or (N, 22), one column per action unit of a "
                     f"map, got {shape}; or give names")  # fmt: skip


def _prototypes(names: Sequence[str], prototypes) -> Mapping[str, Sequence[str]]:
    """``prototypes`` when given, else the EMFACS prototypes of the map whose action units
    ``names`` are (:func:`emfacs`), else :data:`EMFACS`."""
    from emonb.anatomy.au_maps import map_of

    if prototypes is not None:
        return prototypes
    try:
        return emfacs(map_of(names))
    except EmonbError:
        return EMFACS


def _frame(values, names: Sequence[str] | None) -> pd.DataFrame:
    import pandas as pd

    names = _names(values, names)
    if isinstance(values, pd.DataFrame):
        return values.loc[:, list(names)].astype(float)
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != len(names):
        raise ValueError(
            f"expected values (N, {len(names)}) for {len(names)} regions, got {v.shape}"
        )
    return pd.DataFrame(v, columns=list(names))


def au_table(values, groups: np.ndarray, class_names: Sequence[str], *,
             names: Sequence[str] | None = None, n_boot: int = 1000, seed: int = 0,
             clusters: np.ndarray | None = None) -> pd.DataFrame:  # fmt: skip
    """Per emotion and region: the mean of per-face ``values`` (N x R, DataFrame or array
    in ``names`` order; NaN ignored; ``names`` None: a DataFrame's columns, or an array's
    map of action units by its width, 19 or 22) with its 95% bootstrap interval over faces. Long
    DataFrame ``group, column, n, mean, lo, hi`` (:func:`emonb.metrics.stats.by_group`;
    ``n`` counts the group's faces). ``groups``: class index per face into ``class_names``.
    ``clusters``: one id per face (the clip or photo it comes from) for a cluster
    bootstrap that resamples whole clips and photos (None: faces).

    References: Efron & Tibshirani (1993), *An Introduction to the Bootstrap*.
    """
    from emonb.metrics.stats import by_group

    return by_group(_frame(values, names), groups, class_names, n_boot=n_boot, seed=seed,
                    clusters=clusters)


def au_wide(table: pd.DataFrame, decimals: int = 2) -> pd.DataFrame:
    """:func:`au_table` as an emotion x region matrix of means (floats, rounded), for
    heatmaps; rows and columns in the table's order."""
    wide = table.pivot(index="group", columns="column", values="mean")
    wide = wide.loc[list(dict.fromkeys(table["group"])), list(dict.fromkeys(table["column"]))]
    wide.index.name, wide.columns.name = "emotion", None
    return wide.astype(float).round(decimals)


def auc(scores: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """The probability that a positive item outranks a negative one, ties counting 1/2
    (the ROC AUC, Mann-Whitney U / (n_pos n_neg)), over the last axis of ``scores``
    (..., R); ``positive`` (R,) bool. NaN scores are left out; NaN when a side is empty.

    References: Mann & Whitney (1947); Hanley & McNeil (1982).
    """
    s = np.asarray(scores, dtype=np.float64)
    pos = np.asarray(positive, dtype=bool)
    a, b = s[..., pos][..., :, None], s[..., ~pos][..., None, :]
    valid = np.isfinite(a) & np.isfinite(b)
    wins = np.where(valid, (a > b) + 0.5 * (a == b), 0.0).sum(axis=(-2, -1))
    pairs = valid.sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pairs > 0, wins / np.maximum(pairs, 1), np.nan)


def _nanmean(v: np.ndarray, axis: int) -> np.ndarray:
    """Mean over ``axis`` of the finite values; NaN where there are none (no warning)."""
    finite = np.isfinite(v)
    count = finite.sum(axis=axis)
    total = np.where(finite, v, 0.0).sum(axis=axis)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _boot_means(v: np.ndarray, n_boot: int, seed: int, clusters=None) -> np.ndarray:
    """Per-region means (NaN ignored) of ``n_boot`` resamples of the rows of ``v`` (n, R);
    with ``clusters`` (one id per row), of resamples of whole clusters, their rows pooled."""
    rng = np.random.default_rng(seed)
    if clusters is not None:
        from emonb.metrics.stats import cluster_sums

        sums, counts = cluster_sums(v, clusters)
        idx = rng.integers(0, len(sums), size=(n_boot, len(sums)))
        total, count = sums[idx].sum(axis=1), counts[idx].sum(axis=1)
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)
    out = np.empty((n_boot, v.shape[1]))
    step = max(1, (1 << 22) // max(1, v.size))
    for s in range(0, n_boot, step):
        idx = rng.integers(0, len(v), size=(min(step, n_boot - s), len(v)))
        out[s : s + len(idx)] = _nanmean(v[idx], axis=1)
    return out


def _score_interval(v: np.ndarray, proto: np.ndarray, n_boot: int, level: float,
                    seed: int, clusters=None) -> tuple[float, float, float]:  # fmt: skip
    """The AUC of the faces' (rows of ``v``) mean per region, prototype vs the rest, with
    its percentile bootstrap interval over faces (or over ``clusters``; NaN with fewer than
    :data:`~emonb.metrics.stats.MIN_CLUSTERS`); NaNs without faces."""
    from emonb.metrics.stats import enough_clusters

    if not len(v):
        return (float("nan"),) * 3
    score = float(auc(_nanmean(v, axis=0), proto))
    if clusters is not None and not enough_clusters(clusters):
        return score, float("nan"), float("nan")
    boot = auc(_boot_means(v, n_boot, seed, clusters), proto)
    boot = boot[np.isfinite(boot)]
    if not boot.size:
        return score, float("nan"), float("nan")
    lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return score, float(lo), float(hi)


def _verdict(faces: int, lo: float, hi: float) -> str:
    from emonb.metrics.regions import MIN_FACES

    if faces < MIN_FACES:
        return f"too few faces (< {MIN_FACES})"
    return "agrees" if lo > 0.5 else ("disagrees" if hi < 0.5 else "inconclusive")


def agreement(values, groups: np.ndarray, class_names: Sequence[str], *,
              names: Sequence[str] | None = None,
              prototypes: Mapping[str, Sequence[str]] | None = None, n_boot: int = 1000,
              level: float = 0.95, seed: int = 0,
              clusters: np.ndarray | None = None) -> pd.DataFrame:  # fmt: skip
    """Does the evidence for each emotion sit on its prototype action units? One row per
    emotion of ``class_names`` with a prototype: ``emotion, prototype, faces, score, lo,
    hi, verdict``.

    ``score``: the probability that a prototype region ranks above a non-prototype region
    on the emotion's mean evidence (:func:`auc` of the R per-region means over the
    emotion's faces, prototype vs the rest, ties 1/2): 0.5 is no agreement beyond chance, 1
    every prototype region above every other. ``lo, hi``: percentile bootstrap interval
    (faces resampled, means and AUC recomputed; with ``clusters``, one id per face such as
    its clip or photo, whole clusters are resampled and their faces pooled). ``verdict``: *agrees* (interval above
    0.5), *disagrees* (below), *inconclusive*, or no verdict with fewer than
    :data:`emonb.metrics.regions.MIN_FACES` faces (those with any finite value).
    ``names``: as :func:`au_table`; ``prototypes``: default, the EMFACS prototypes of the
    values' map (:func:`emfacs`; :data:`EMFACS` for other regions).

    References: Ekman & Friesen (1978) (the prototypes); Hanley & McNeil (1982) (the AUC);
    Efron & Tibshirani (1993) (the bootstrap).
    """
    import pandas as pd

    names = _names(values, names)
    prototypes = _prototypes(names, prototypes)
    v = _frame(values, names).to_numpy()
    groups = np.asarray(groups)
    ids = None if clusters is None else np.asarray(clusters)
    if ids is not None and len(ids) != len(v):
        raise EmonbError(f"clusters must hold one id per face: {len(ids)} ids for {len(v)} faces")
    unknown = sorted({a for p in prototypes.values() for a in p} - set(names))
    if unknown:
        raise EmonbError(f"prototype regions {', '.join(unknown)} are not among the values' "
                         f"regions ({', '.join(names)})")  # fmt: skip
    rows = []
    for g, emotion in enumerate(class_names):
        if emotion not in prototypes:
            continue
        proto = np.isin(list(names), list(prototypes[emotion]))
        sel = v[groups == g]
        seen = np.isfinite(sel).any(axis=1)
        cl = None if ids is None else ids[groups == g][seen]
        sel = sel[seen]
        score, lo, hi = _score_interval(sel, proto, n_boot, level, seed + g, cl)
        rows.append({"emotion": emotion, "prototype": "+".join(np.asarray(names)[proto]),
                     "faces": len(sel), "score": score, "lo": lo, "hi": hi,
                     "verdict": _verdict(len(sel), lo, hi)})  # fmt: skip
    return pd.DataFrame(rows, columns=["emotion", "prototype", "faces", "score", "lo", "hi",
                                       "verdict"])  # fmt: skip


def top_regions(values, groups: np.ndarray, class_names: Sequence[str], k: int = 3, *,
                names: Sequence[str] | None = None,
                prototypes: Mapping[str, Sequence[str]] | None = None) -> pd.DataFrame:  # fmt: skip
    """Per emotion, the ``k`` regions with the highest mean evidence (NaN ignored; ties in
    ``names`` order): ``emotion, faces, top`` (e.g. ``"AU12, AU06, AU14"``), ``means``
    (theirs, in that order) and ``in prototype`` (how many of them are in the emotion's
    prototype, e.g. ``"2 of 3"``; empty without one). ``names`` and ``prototypes`` as
    :func:`agreement`."""
    import pandas as pd

    names = _names(values, names)
    prototypes = _prototypes(names, prototypes)
    v = _frame(values, names).to_numpy()
    groups = np.asarray(groups)
    rows = []
    for g, emotion in enumerate(class_names):
        sel = v[groups == g]
        sel = sel[np.isfinite(sel).any(axis=1)]
        means = _nanmean(sel, axis=0) if len(sel) else np.full(len(names), np.nan)
        ranked = [i for i in np.argsort(-np.nan_to_num(means, nan=-np.inf), kind="stable")
                  if np.isfinite(means[i])][:k]  # fmt: skip
        top = [names[i] for i in ranked]
        proto = prototypes.get(emotion)
        rows.append({"emotion": emotion, "faces": len(sel), "top": ", ".join(top),
                     "means": tuple(float(means[i]) for i in ranked),
                     "in prototype": "" if proto is None else
                     f"{sum(t in proto for t in top)} of {len(top)}"})  # fmt: skip
    return pd.DataFrame(rows)
