"""Face regions: which parts of an aligned face do the maps and the model rely on?

Regions are either one canonical layout shared by every aligned 48x48 face
(:data:`emonb.anatomy.layout.FACE_REGIONS`: brows, eyes, nose, mouth; checked against FER-2013 with
OpenCV's eye and smile detectors by :func:`check_layout`), given as (H, W) masks, or each
face's own regions, given as (N, H, W) masks (boolean, or soft per-pixel fractions), such
as the anatomical regions of its face mesh
(:func:`emonb.metrics.action_units.anatomy_masks`). Two kinds of evidence per face:

* :func:`region_shares`: the share of a map's mass in each region (what the *map* says);
* :func:`occlusion_drops`: the drop of the class probability when a region is replaced
  by a blurred copy (what the *model* says; occlusion as in Zeiler & Fergus 2014).

:func:`claims_table` tests region contrasts (:data:`CLAIMS`: the seed paper's and human
observers' "mouth for happiness, eyes for fear") with bootstrap intervals; the tables
(:func:`region_table`, :func:`claims_wide`, :func:`focus_table`) format them for the book.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np

from emonb.anatomy.layout import LAYOUT_SIZE, region_masks
from emonb.arrays import resize_maps
from emonb.metrics.occlusion import occlusion
from emonb.metrics.stats import bootstrap_ci
from emonb.models.runner import Runner, class_probability
from emonb.models.zoo import EmotionModel

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CLAIMS",
    "MIN_FACES",
    "check_layout",
    "claims_table",
    "claims_wide",
    "focus_table",
    "occlusion_drops",
    "region_shares",
    "region_table",
]

#: Fewer faces than this in a group give no verdict.
MIN_FACES = 10

#: Region contrasts to test, ``(emotion, region that should matter more, the other
#: region, who says so)``: the seed paper's observations from its maps, and what eye-
#: tracking and masking studies of human observers report (eyes for fear and sadness,
#: mouth for happiness and disgust; e.g. Smith et al. 2005, Eisenbarth & Alpers 2011).
CLAIMS: tuple[tuple[str, str, str, str], ...] = (
    ("happy", "mouth", "eyes", "seed paper; human studies"),
    ("disgust", "mouth", "eyes", "seed paper; human studies"),
    ("neutral", "mouth", "eyes", "seed paper"),
    ("surprise", "eyes", "mouth", "seed paper"),
    ("fear", "eyes", "mouth", "human studies"),
    ("sad", "eyes", "mouth", "human studies"),
)


# ---- measures per face -------------------------------------------------------------------
def region_shares(maps: np.ndarray,
                  regions: Mapping[str, np.ndarray] | None = None) -> pd.DataFrame:  # fmt: skip
    """Share of each map's mass per region: DataFrame (N x region), NaN for an all-zero
    map, plus ``"area"`` in ``.attrs`` (each region's share of the image, what a flat map
    would give; averaged over faces for per-face masks). ``regions``: masks at the maps'
    size, each either one (H, W) mask for every face (default: the canonical face regions,
    :func:`emonb.anatomy.layout.region_masks`) or one per face (N, H, W), e.g. each face's own
    anatomy (:func:`emonb.metrics.action_units.anatomy_masks`); boolean, or soft fractions
    in [0, 1] that weight each pixel.

    References: Wang et al. (2020), "Score-CAM" (the energy-based pointing game, per region).
    """
    import pandas as pd

    maps = np.asarray(maps, dtype=np.float32)
    regions = region_masks(maps.shape[1:]) if regions is None else regions
    for name, m in regions.items():
        if np.shape(m) not in (maps.shape[1:], maps.shape):
            raise ValueError(f"region {name!r}: mask of shape {np.shape(m)} for maps of shape "
                             f"{maps.shape}; give (H, W) or (N, H, W)")  # fmt: skip
    total = maps.sum(axis=(1, 2))
    safe = np.where(total > 0, total, 1.0)
    df = pd.DataFrame({r: np.where(total > 0, (maps * m).sum(axis=(1, 2)) / safe, np.nan)
                       for r, m in regions.items()})  # fmt: skip
    df.attrs["area"] = {r: float(np.mean(m)) for r, m in regions.items()}
    return df


def occlusion_drops(
    net: EmotionModel,
    images,
    targets: np.ndarray,
    regions: Mapping[str, np.ndarray] | None = None,
    *,
    baseline: str = "blur",
    runner: Runner | None = None,
) -> pd.DataFrame:
    """Drop of the target probability when each region is replaced by the baseline
    (:func:`~emonb.methods.baselines.baseline_images`): DataFrame (N x region) of
    ``p(original) - p(occluded)``; ``.attrs["p"]`` holds the original probabilities.
    ``runner``: a :class:`~emonb.models.runner.Runner` of ``net`` to reuse (one with
    BatchNorm folding is built otherwise).

    ``regions`` (default: the canonical face regions) are masks at any size, resized to the
    input: one (H, W) mask for every face (resized nearest; a pixel is occluded or kept),
    or one per face (N, H, W), boolean (resized nearest) or soft fractions ``m`` in [0, 1]
    (resized by area or bilinearly), which blend each pixel as ``x * (1 - m) + baseline * m``.

    References: Zeiler & Fergus (2014), "Visualizing and understanding convolutional
    networks" (occlusion sensitivity).
    """
    import pandas as pd

    x = net.preprocess(images)
    h, w = x.shape[1:3]
    regions = region_masks((h, w)) if regions is None else regions
    runner = runner or Runner(net, batch_size=256)
    targets = np.asarray(targets)
    p0 = class_probability(runner)(x, targets)
    drops = {}
    for name, m in regions.items():
        m = np.asarray(m)
        if m.ndim == 2:  # one mask for every face: a pixel is occluded or kept
            m = (m.astype(np.float32) > 0.5)[None]
        elif not (m.ndim == 3 and len(m) == len(x)):
            raise ValueError(f"region {name!r}: mask of shape {m.shape} for {len(x)} faces; "
                             "give (H, W) or (N, H, W)")  # fmt: skip
        else:
            m = m[:, None]
        drops[name] = occlusion(runner, x, targets, m, baseline=baseline, reference=p0)[:, 0]
    df = pd.DataFrame(drops)
    df.attrs["p"] = p0
    return df


def check_layout(images: np.ndarray, *, upscale: int = 4) -> pd.DataFrame:
    """Where OpenCV's Haar eye and smile detectors find eyes and mouths on aligned
    48x48 faces, against :data:`emonb.anatomy.layout.FACE_REGIONS`: DataFrame with, per feature
    (left eye, right eye, mouth; "left" in the image), the number of detections, their
    median centre (x, y) at 48x48, and the share of detection centres inside the canonical
    region. Faces are upscaled ``upscale`` times for the detectors. Eye detections below
    the nose line (y > 26, mostly nostrils) are dropped; the smile detector runs on every
    face.

    References: Viola & Jones (2001), "Rapid object detection using a boosted cascade of
    simple features".
    """
    import pandas as pd

    base = cv2.data.haarcascades
    eye = cv2.CascadeClassifier(base + "haarcascade_eye.xml")
    smile = cv2.CascadeClassifier(base + "haarcascade_smile.xml")
    masks = region_masks(LAYOUT_SIZE)
    found: dict[str, list[tuple[float, float]]] = {"left eye": [], "right eye": [], "mouth": []}
    s = float(upscale)
    for im in np.asarray(images):
        im = cv2.resize(np.asarray(im, np.uint8), (LAYOUT_SIZE, LAYOUT_SIZE))
        big = cv2.resize(im, None, fx=s, fy=s, interpolation=cv2.INTER_CUBIC)
        for x, y, w, h in eye.detectMultiScale(big, 1.1, 5, minSize=(20, 20)):
            c = ((x + w / 2) / s, (y + h / 2) / s)
            if c[1] <= 26:
                found["left eye" if c[0] < LAYOUT_SIZE / 2 else "right eye"].append(c)
        for x, y, w, h in smile.detectMultiScale(big, 1.2, 20, minSize=(40, 20)):
            found["mouth"].append(((x + w / 2) / s, (y + h / 2) / s))
    last = LAYOUT_SIZE - 1
    rows = {}
    for name, pts in found.items():
        p = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
        region = masks["mouth" if name == "mouth" else "eyes"]
        inside = [region[min(int(y), last), min(int(x), last)] for x, y in p]
        rows[name] = {"detections": len(p),
                      "median x": float(np.median(p[:, 0])) if len(p) else np.nan,
                      "median y": float(np.median(p[:, 1])) if len(p) else np.nan,
                      "inside region": float(np.mean(inside)) if len(p) else np.nan}  # fmt: skip
    return pd.DataFrame(rows).T


# ---- claims and tables --------------------------------------------------------------------
def _verdict(n: int, lo: float, hi: float) -> str:
    if n < MIN_FACES:
        return f"too few faces (< {MIN_FACES})"
    return "holds" if lo > 0 else ("contradicted" if hi < 0 else "inconclusive")


def claims_table(values: pd.DataFrame, groups: np.ndarray, class_names: Sequence[str], *,
                 evidence: str, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:  # fmt: skip
    """Each of :data:`CLAIMS` tested on per-face region values (occlusion drops or map
    shares, DataFrame N x region) of the faces in ``groups`` (class index per face):
    the mean difference (first region minus second) with its 95% bootstrap interval, and
    a verdict: *holds* (interval above 0), *contradicted* (below 0), *inconclusive*, or
    no verdict under :data:`MIN_FACES` faces. ``evidence`` names the kind of values.

    References: Efron & Tibshirani (1993) (the bootstrap); the claims: Arriaga et al.
    (2017), Smith et al. (2005), Eisenbarth & Alpers (2011).
    """
    import pandas as pd

    groups = np.asarray(groups)
    rows = []
    for k, (emotion, first, second, source) in enumerate(CLAIMS):
        sel = groups == list(class_names).index(emotion)
        diff = values[first].to_numpy()[sel] - values[second].to_numpy()[sel]
        faces = int(np.isfinite(diff).sum())
        mean, lo, hi = bootstrap_ci(diff, n_boot=n_boot, seed=seed + k)
        rows.append({"claim": f"{emotion}: {first} > {second}", "source": source,
                     "evidence": evidence, "faces": faces, "difference": mean, "lo": lo,
                     "hi": hi, "verdict": _verdict(faces, lo, hi)})  # fmt: skip
    return pd.DataFrame(rows)


def claims_wide(claims: pd.DataFrame, decimals: int = 3) -> pd.DataFrame:
    """:func:`claims_table` rows side by side: one row per claim, and per kind of evidence
    the difference ``"mean [lo, hi]"`` and the verdict."""
    import pandas as pd

    rows: dict[str, dict] = {}
    for _, r in claims.iterrows():
        row = rows.setdefault(r["claim"], {"source": r["source"], "faces": int(r["faces"])})
        d = decimals
        row[r["evidence"]] = (f"{r['difference']:+.{d}f} [{r['lo']:+.{d}f}, {r['hi']:+.{d}f}]"
                              if np.isfinite(r["difference"]) else "")  # fmt: skip
        row[f"{r['evidence']}: verdict"] = r["verdict"]
    out = pd.DataFrame(rows).T
    out.index.name = "claim"
    return out


def region_table(regions: pd.DataFrame, measure: str, class_names: Sequence[str],
                 decimals: int = 2) -> pd.DataFrame:  # fmt: skip
    """The long table of :func:`emonb.metrics.stats.by_group` (with a ``measure`` column)
    for one ``measure`` as emotion x region, each cell ``"mean [lo, hi]"`` (empty for an
    emotion with no faces), plus a face count."""
    import pandas as pd

    df = regions[regions["measure"] == measure]
    cols = list(dict.fromkeys(df["column"]))
    out = pd.DataFrame(index=list(class_names), columns=[*cols, "faces"], dtype=object)
    for _, r in df.iterrows():
        if r["n"] and np.isfinite(r["mean"]):
            out.loc[r["group"], r["column"]] = (
                f"{r['mean']:.{decimals}f} [{r['lo']:.{decimals}f}, {r['hi']:.{decimals}f}]"
            )
        out.loc[r["group"], "faces"] = int(r["n"])
    out.index.name = "predicted"
    return out.fillna("")


def focus_table(maps: Mapping[str, np.ndarray], regions: Sequence[str] = ("eyes", "mouth"), *,
                masks: Mapping[str, np.ndarray] | None = None, seed: int = 0) -> pd.DataFrame:  # fmt: skip
    """The seed paper's "the network focuses on the eyes and the mouth", per method: the
    mean share of map mass in ``regions`` (95% bootstrap interval) against their share of
    the face's area (what a flat map gives), and the ratio of the two. ``maps``: method
    name -> maps (N, H, W), resized to the 48x48 layout. ``masks``: the regions of each
    face on that layout, name -> (N, 48, 48) fractions (e.g. each face's own anatomy,
    :func:`emonb.metrics.action_units.anatomy_masks`); default: the canonical boxes.

    References: Arriaga et al. (2017) (the claim); Efron & Tibshirani (1993).
    """
    import pandas as pd

    if masks is None:
        union = np.any(list(region_masks(LAYOUT_SIZE, regions).values()), axis=0)
    else:
        union = np.clip(np.sum([np.asarray(masks[r], np.float32) for r in regions], axis=0), 0, 1)
    area = float(union.mean())
    rows = {}
    for k, (m, mp) in enumerate(maps.items()):
        share = region_shares(resize_maps(mp, (LAYOUT_SIZE, LAYOUT_SIZE)), {"focus": union})
        mean, lo, hi = bootstrap_ci(share["focus"].to_numpy(), seed=seed + k)
        rows[m] = {"share": mean, "lo": lo, "hi": hi, "area share": area, "ratio": mean / area}
    df = pd.DataFrame(rows).T
    df.index.name = "method"
    return df
