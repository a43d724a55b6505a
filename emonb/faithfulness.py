"""Do the explanations mean anything? Faithfulness metrics for explanation maps.

Every function here is batched, seeded and works on plain arrays; maps are what the
methods return, ``(N, H, W)`` in [0, 1] at the model's input size.

* **Deletion / insertion** (Petsiuk et al. 2018, RISE): pixels are removed from (or put
  back into) the model's input in the order of the map, most important first, and the
  target-class probability is recorded after each step. A faithful map makes the
  deletion curve fall fast (low AUC) and the insertion curve rise fast (high AUC).
  The *baseline* that stands in for a removed pixel is a Gaussian blur of the image
  (sigma = a tenth of the input side; ``"blur"``, the default, as in RISE's insertion)
  or the image's own mean grey (``"mean"``). Ties in a map are broken by a seeded random
  order, so flat maps do not delete the top rows first.
* **Cascading model randomization** (Adebayo et al. 2018, "Sanity checks"): the weights
  of the layers are re-drawn from the top layer down, one stage at a time, on a *copy*
  of the model; a map that stays similar (Spearman rank correlation, SSIM) to the map of
  the trained model does not depend on what the model learned.
* **Pointing game** (Zhang et al. 2016) and **mask-energy share** (Wang et al. 2020,
  Score-CAM) against ground-truth regions, e.g. the cue regions the synthetic stand-in's
  generator planted (:mod:`emonb.data.synthetic`).
* **Face regions** of aligned 48x48 faces (:data:`FACE_REGIONS`, a canonical layout
  checked against FER-2013 with OpenCV's eye and smile detectors by
  :func:`check_layout`): the share of each map's mass per region and the drop of the
  class probability when a region is occluded, with bootstrap confidence intervals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from emonb._tf import keras
from emonb.errors import EmonbError
from emonb.models import graph
from emonb.models.preprocessing import as_image_list
from emonb.models.zoo import EmotionModel

__all__ = [
    "BASELINES",
    "CLAIMS",
    "DEFAULT_METHODS",
    "REFERENCES",
    "MIN_FACES",
    "MapEvaluation",
    "POINTING_FACES",
    "by_group",
    "claims_table",
    "claims_wide",
    "evaluate_maps",
    "focus_table",
    "json_safe",
    "method_factory",
    "FACE_REGIONS",
    "Curves",
    "Randomization",
    "baseline_images",
    "bootstrap_ci",
    "cascading_randomization",
    "check_layout",
    "energy_share",
    "face_region_masks",
    "occlusion_drops",
    "perturbation_curves",
    "pointing_game",
    "Forward",
    "randomization_stages",
    "randomized_copy",
    "region_shares",
    "region_table",
    "resize_maps",
    "spearman",
    "ssim",
]

#: What replaces a removed pixel: a Gaussian blur of the image or its mean grey.
BASELINES = ("blur", "mean")

#: Canonical regions of an aligned 48x48 FER-2013 face, as boxes ``(x0, y0, x1, y1)``
#: (end exclusive), one per side for brows and eyes. FER-2013's faces are registered so
#: that the eyes sit near (14.5, 18.4) and (32.5, 18.1) and the mouth near (24.4, 36.9):
#: the medians of OpenCV's eye and smile detections on 1,500 PublicTest faces
#: (:func:`check_layout`); about 72% of eye and 74% of smile detections fall inside.
FACE_REGIONS: dict[str, tuple[tuple[int, int, int, int], ...]] = {
    "brows": ((8, 9, 23, 15), (25, 9, 40, 15)),
    "eyes": ((9, 15, 22, 24), (26, 15, 39, 24)),
    "nose": ((18, 24, 30, 32), ()),
    "mouth": ((13, 32, 36, 43), ()),
}
_LAYOUT_SIZE = 48


# ---------------------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------------------
def resize_maps(maps: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Maps (N, h, w) resized to ``size`` = (H, W) with bilinear interpolation."""
    maps = np.asarray(maps, dtype=np.float32)
    if maps.shape[1:] == tuple(size):
        return maps
    h, w = size
    return np.stack([cv2.resize(m, (w, h), interpolation=cv2.INTER_LINEAR) for m in maps])


def bootstrap_ci(
    values: np.ndarray, *, n_boot: int = 1000, level: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """Mean of ``values`` (NaNs dropped) and its percentile bootstrap interval ``(mean, lo, hi)``."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return (float("nan"),) * 3
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, v.size, size=(n_boot, v.size))].mean(axis=1)
    a = (1.0 - level) / 2
    lo, hi = np.quantile(means, [a, 1 - a])
    return float(v.mean()), float(lo), float(hi)


class Forward:
    """Class probabilities of *preprocessed* images by the explainers' compiled forward
    pass (BatchNorm folded, logits softmaxed; no Keras ``predict`` set-up per call)."""

    def __init__(self, net: EmotionModel, batch_size: int = 256):
        from emonb.methods import Saliency

        self._explainer = Saliency(net, batch_size=batch_size)

    def proba(self, x: np.ndarray) -> np.ndarray:
        """(N, n_classes) probabilities (:meth:`Explainer.probabilities`)."""
        return self._explainer.probabilities(np.asarray(x, dtype=np.float32))

    def score(self, x: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """(N,) float32: each image's probability of its target class."""
        p = self.proba(x)
        return p[np.arange(len(p)), np.asarray(targets)].astype(np.float32)


# ---------------------------------------------------------------------------------------
# deletion and insertion
# ---------------------------------------------------------------------------------------
def baseline_images(x: np.ndarray, kind: str = "blur") -> np.ndarray:
    """The stand-in for removed pixels, same shape as the preprocessed batch ``x``
    (N, H, W, C): a Gaussian blur with sigma = H/10 px (``"blur"``) or each image's mean
    value (``"mean"``)."""
    x = np.asarray(x, dtype=np.float32)
    if kind == "mean":
        return np.broadcast_to(x.mean(axis=(1, 2, 3), keepdims=True), x.shape).copy()
    if kind != "blur":
        raise EmonbError(f"unknown baseline {kind!r}; choose one of {', '.join(BASELINES)}")
    sigma = x.shape[1] / 10
    out = np.stack([cv2.GaussianBlur(im, (0, 0), sigma, borderType=cv2.BORDER_REFLECT) for im in x])
    return out.reshape(x.shape)


def _ranks(maps: np.ndarray, seed: int) -> np.ndarray:
    """Per image, each pixel's position in the removal order (0 = most important);
    ties broken by a seeded random permutation."""
    n = len(maps)
    flat = maps.reshape(n, -1)
    jitter = np.random.default_rng(seed).random(flat.shape)
    order = np.lexsort((jitter, -flat), axis=1) if flat.size else flat.astype(int)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(flat.shape[1])[None, :].repeat(n, 0), axis=1)
    return ranks


@dataclass(frozen=True)
class Curves:
    """Deletion or insertion curves: ``scores[i, k]`` is image i's target probability
    with ``fractions[k]`` of its pixels removed (deletion) or restored (insertion)."""

    mode: str
    fractions: np.ndarray
    scores: np.ndarray

    @property
    def auc(self) -> np.ndarray:
        """Area under each image's curve (trapezoid over the fraction in [0, 1])."""
        return np.trapezoid(self.scores, self.fractions, axis=1).astype(np.float32)


def perturbation_curves(
    score: Callable[[np.ndarray, np.ndarray], np.ndarray],
    x: np.ndarray,
    maps: np.ndarray,
    targets: np.ndarray,
    *,
    mode: str = "deletion",
    steps: int = 16,
    baseline: str = "blur",
    seed: int = 0,
) -> Curves:
    """Deletion (``mode="deletion"``) or insertion curves for preprocessed images ``x``
    (N, H, W, C), maps (N, H, W) at the same size and class indices ``targets``.

    ``score(x, targets)`` returns the target probabilities (see
    :meth:`Forward.score`); it is called ``steps + 1`` times on N images.
    """
    if mode not in ("deletion", "insertion"):
        raise EmonbError(f"mode must be 'deletion' or 'insertion', not {mode!r}")
    x = np.asarray(x, dtype=np.float32)
    maps = np.asarray(maps, dtype=np.float32)
    if maps.shape != x.shape[:3]:
        raise EmonbError(f"maps {maps.shape} do not match the images {x.shape[:3]}")
    targets = np.asarray(targets)
    base = baseline_images(x, baseline)
    ranks = _ranks(maps, seed).reshape(maps.shape)[..., None]
    pixels = maps.shape[1] * maps.shape[2]
    fractions = np.linspace(0.0, 1.0, int(steps) + 1)
    scores = np.empty((len(x), len(fractions)), dtype=np.float32)
    for k, f in enumerate(fractions):
        changed = ranks < int(round(f * pixels))
        img = np.where(changed, base, x) if mode == "deletion" else np.where(changed, x, base)
        scores[:, k] = score(img, targets)
    return Curves(mode=mode, fractions=fractions, scores=scores)


# ---------------------------------------------------------------------------------------
# map similarity
# ---------------------------------------------------------------------------------------
def _average_ranks(v: np.ndarray) -> np.ndarray:
    _, inverse, counts = np.unique(v, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return (ends - (counts - 1) / 2.0)[inverse]


def spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman rank correlation (ties averaged) between paired maps (N, H, W) -> (N,).
    A constant map carries no ranking: its correlation is 0."""
    a = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
    b = np.asarray(b, dtype=np.float64).reshape(len(b), -1)
    out = np.zeros(len(a), dtype=np.float32)
    for i in range(len(a)):
        ra, rb = _average_ranks(a[i]), _average_ranks(b[i])
        ra -= ra.mean()
        rb -= rb.mean()
        den = np.sqrt((ra * ra).sum() * (rb * rb).sum())
        out[i] = (ra * rb).sum() / den if den > 0 else 0.0
    return out


def ssim(a: np.ndarray, b: np.ndarray, *, data_range: float = 1.0) -> np.ndarray:
    """Structural similarity (Wang et al. 2004; Gaussian window sigma 1.5, K1 0.01,
    K2 0.03) between paired maps (N, H, W) -> (N,)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2

    def blur(im):
        return cv2.GaussianBlur(im, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

    out = np.empty(len(a), dtype=np.float32)
    for i in range(len(a)):
        mx, my = blur(a[i]), blur(b[i])
        vx = blur(a[i] * a[i]) - mx * mx
        vy = blur(b[i] * b[i]) - my * my
        cxy = blur(a[i] * b[i]) - mx * my
        s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
        out[i] = s.mean()
    return out


# ---------------------------------------------------------------------------------------
# cascading model randomization
# ---------------------------------------------------------------------------------------
_WEIGHTED = (keras.layers.Conv2D, keras.layers.SeparableConv2D, keras.layers.DepthwiseConv2D,
             keras.layers.Dense)  # fmt: skip


def randomization_stages(model: keras.Model) -> list[str]:
    """Layers with learned filters (convolutions and dense layers), output to input: the
    order in which cascading randomization re-draws them."""
    return [n for n, layer in graph.iter_layers(model) if isinstance(layer, _WEIGHTED)][::-1]


def _clone(model: keras.Model) -> keras.Model:
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def _redraw(layer: keras.layers.Layer, rng: np.random.Generator) -> None:
    """Each weight of ``layer`` re-drawn from a normal with that weight's own mean and
    standard deviation (scale is kept, so activations neither vanish nor explode)."""
    new = []
    for w in layer.get_weights():
        sd = float(w.std()) or 1e-3
        new.append(rng.normal(float(w.mean()), sd, size=w.shape).astype(w.dtype))
    layer.set_weights(new)


def randomized_copy(net: EmotionModel, layers: Sequence[str], seed: int = 0) -> EmotionModel:
    """A copy of ``net`` whose ``layers`` (qualified names) have re-drawn weights; the
    caller's model is untouched."""
    copy = _clone(net.model)
    found = dict(graph.iter_layers(copy))
    for k, name in enumerate(layers):
        if name not in found:
            raise EmonbError(f"no layer {name!r} in {net.name}")
        _redraw(found[name], np.random.default_rng([seed, k]))
    return EmotionModel(model=copy, spec=net.spec, name=f"{net.name} (randomized)")


@dataclass
class Randomization:
    """Cascading randomization results.

    ``stages[k]`` is the layer re-drawn at stage k (k = 0 is the trained model, marked
    ``"none"``); ``spearman`` and ``ssim`` are DataFrames (stage x method) of the mean
    similarity between each method's maps on the trained model and at that stage;
    ``maps[method][k]`` holds the maps of the first images at stage k, for figures.
    """

    stages: list[str]
    spearman: object
    ssim: object
    maps: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def summary(self) -> object:
        """Per method: Spearman and SSIM after re-drawing only the top layer (``top``), their
        mean over the randomized stages (``mean``), and after the last stage (``final``)."""
        import pandas as pd

        cols = {}
        for metric in ("spearman", "ssim"):
            df = getattr(self, metric)  # row 0: the trained model; rows 1..: the stages
            cols[f"{metric} top"] = df.iloc[1]
            cols[f"{metric} mean"] = df.iloc[1:].mean()
            cols[f"{metric} final"] = df.iloc[-1]
        return pd.DataFrame(cols)


def cascading_randomization(
    net: EmotionModel,
    images,
    methods: Mapping[str, Callable[[EmotionModel], object]],
    *,
    targets: np.ndarray | None = None,
    stages: int | Sequence[str] | None = 6,
    seed: int = 0,
    keep: int = 4,
) -> Randomization:
    """Re-draw the weights from the top layer down and compare each method's maps.

    ``methods`` maps a name to a factory ``net -> explainer`` (anything with
    ``explain(images, targets)``). The maps explain ``targets`` (default: the trained
    model's predictions) at every stage, so only the weights change. ``stages`` is the
    number of cumulative stages (spread evenly over :func:`randomization_stages`, always
    ending with every layer randomized), or the layer names to stop after.
    """
    import pandas as pd

    order = randomization_stages(net.model)
    if not order:
        raise EmonbError(f"{net.name} has no convolutional or dense layer to randomize")
    if stages is None:
        stops = order
    elif isinstance(stages, int):
        picks = np.unique(np.linspace(0, len(order) - 1, max(1, min(stages, len(order)))).round())
        stops = [order[int(i)] for i in picks]
    else:
        stops = list(stages)
        unknown = [s for s in stops if s not in order]
        if unknown:
            raise EmonbError(f"unknown stage layer(s) {unknown}; choose from: {', '.join(order)}")
    if targets is None:
        targets = Forward(net).proba(net.preprocess(images)).argmax(axis=1)
    targets = np.asarray(targets)
    reference = {m: np.asarray(f(net).explain(images, targets)) for m, f in methods.items()}
    rows_s, rows_ssim = [], []
    kept = {m: [reference[m][:keep]] for m in methods}
    rows_s.append({m: 1.0 for m in methods})
    rows_ssim.append({m: 1.0 for m in methods})
    for stop in stops:
        copy = randomized_copy(net, order[: order.index(stop) + 1], seed=seed)
        s_row, ssim_row = {}, {}
        for m, f in methods.items():
            maps = np.asarray(f(copy).explain(images, targets))
            s_row[m] = float(spearman(reference[m], maps).mean())
            ssim_row[m] = float(ssim(reference[m], maps).mean())
            kept[m].append(maps[:keep])
        rows_s.append(s_row)
        rows_ssim.append(ssim_row)
    index = ["none", *stops]
    return Randomization(
        stages=index,
        spearman=pd.DataFrame(rows_s, index=index),
        ssim=pd.DataFrame(rows_ssim, index=index),
        maps=kept,
    )


# ---------------------------------------------------------------------------------------
# ground-truth regions
# ---------------------------------------------------------------------------------------
def pointing_game(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Hits (N,) bool: whether each map's maximum (resized to the masks' size; the
    first maximum in row-major order) lies inside its mask (N, H, W)."""
    masks = np.asarray(masks, dtype=bool)
    m = resize_maps(maps, masks.shape[1:]).reshape(len(masks), -1)
    peak = m.argmax(axis=1)
    return masks.reshape(len(masks), -1)[np.arange(len(masks)), peak]


def energy_share(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Share (N,) of each map's mass inside its mask (the energy-based pointing game);
    an all-zero map gets the mask's area share, what a flat map would."""
    masks = np.asarray(masks, dtype=np.float32)
    m = resize_maps(maps, masks.shape[1:])
    total = m.sum(axis=(1, 2))
    inside = (m * masks).sum(axis=(1, 2))
    area = masks.mean(axis=(1, 2))
    return np.where(total > 0, inside / np.where(total > 0, total, 1), area).astype(np.float32)


def face_region_masks(size: int | tuple[int, int] = 48) -> dict[str, np.ndarray]:
    """The canonical :data:`FACE_REGIONS` as boolean masks (H, W), scaled to ``size``."""
    h, w = (size, size) if isinstance(size, int) else size
    out = {}
    for name, boxes in FACE_REGIONS.items():
        m = np.zeros((h, w), dtype=bool)
        for box in boxes:
            if box:
                x0, y0, x1, y1 = box
                sy, sx = h / _LAYOUT_SIZE, w / _LAYOUT_SIZE
                m[round(y0 * sy) : round(y1 * sy), round(x0 * sx) : round(x1 * sx)] = True
        out[name] = m
    return out


def region_shares(maps: np.ndarray, regions: Mapping[str, np.ndarray] | None = None):
    """Share of each map's mass per region: DataFrame (N x region), plus ``"area"`` in
    ``.attrs`` (each region's share of the image, what a flat map would give)."""
    import pandas as pd

    maps = np.asarray(maps, dtype=np.float32)
    regions = face_region_masks(maps.shape[1:]) if regions is None else regions
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
    forward: Forward | None = None,
):
    """Drop of the target probability when each region is replaced by the baseline:
    DataFrame (N x region) of ``p(original) - p(occluded)``; ``.attrs["p"]`` holds the
    original probabilities. Regions are given at any size and resized to the input.
    ``forward``: a :class:`Forward` of ``net`` to reuse (one is built otherwise)."""
    import pandas as pd

    x = net.preprocess(images)
    h, w = x.shape[1:3]
    regions = face_region_masks((h, w)) if regions is None else regions
    score = (forward or Forward(net)).score
    base = baseline_images(x, baseline)
    targets = np.asarray(targets)
    p0 = score(x, targets)
    drops = {}
    for name, m in regions.items():
        mm = cv2.resize(np.asarray(m, np.uint8), (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)
        drops[name] = p0 - score(np.where(mm[None, :, :, None], base, x), targets)
    df = pd.DataFrame(drops)
    df.attrs["p"] = p0
    return df


def check_layout(images: np.ndarray, *, upscale: int = 4) -> object:
    """Where OpenCV's Haar eye and smile detectors find eyes and mouths on aligned
    48x48 faces, against :data:`FACE_REGIONS`: DataFrame with, per feature (left eye, right
    eye, mouth; "left" in the image), the number
    of detections, their median centre (x, y) at 48x48, and the share of detection
    centres inside the canonical region. Eye detections below the nose line (y > 26,
    mostly nostrils) are dropped; the smile detector runs on every face."""
    import pandas as pd

    base = cv2.data.haarcascades
    eye = cv2.CascadeClassifier(base + "haarcascade_eye.xml")
    smile = cv2.CascadeClassifier(base + "haarcascade_smile.xml")
    masks = face_region_masks(_LAYOUT_SIZE)
    found: dict[str, list[tuple[float, float]]] = {"left eye": [], "right eye": [], "mouth": []}
    s = float(upscale)
    for im in np.asarray(images):
        im = cv2.resize(np.asarray(im, np.uint8), (_LAYOUT_SIZE, _LAYOUT_SIZE))
        big = cv2.resize(im, None, fx=s, fy=s, interpolation=cv2.INTER_CUBIC)
        for x, y, w, h in eye.detectMultiScale(big, 1.1, 5, minSize=(20, 20)):
            c = ((x + w / 2) / s, (y + h / 2) / s)
            if c[1] <= 26:
                found["left eye" if c[0] < _LAYOUT_SIZE / 2 else "right eye"].append(c)
        for x, y, w, h in smile.detectMultiScale(big, 1.2, 20, minSize=(40, 20)):
            found["mouth"].append(((x + w / 2) / s, (y + h / 2) / s))
    rows = {}
    for name, pts in found.items():
        p = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
        region = masks["mouth" if name == "mouth" else "eyes"]
        inside = [region[min(int(y), 47), min(int(x), 47)] for x, y in p]
        rows[name] = {"detections": len(p),
                      "median x": float(np.median(p[:, 0])) if len(p) else np.nan,
                      "median y": float(np.median(p[:, 1])) if len(p) else np.nan,
                      "inside region": float(np.mean(inside)) if len(p) else np.nan}  # fmt: skip
    return pd.DataFrame(rows).T


# ---------------------------------------------------------------------------------------
# claims about face regions
# ---------------------------------------------------------------------------------------
def by_group(values, groups: np.ndarray, names: Sequence[str], *, n_boot: int = 1000,
             seed: int = 0):  # fmt: skip
    """Per group and column of ``values`` (DataFrame N x columns): mean with bootstrap
    interval. Long DataFrame with ``group, column, n, mean, lo, hi``."""
    import pandas as pd

    groups = np.asarray(groups)
    rows = []
    for g, gname in enumerate(names):
        sel = groups == g
        for j, col in enumerate(values.columns):
            mean, lo, hi = bootstrap_ci(values[col].to_numpy()[sel], n_boot=n_boot,
                                        seed=seed + 1000 * g + j)  # fmt: skip
            rows.append({"group": gname, "column": col, "n": int(sel.sum()),
                         "mean": mean, "lo": lo, "hi": hi})  # fmt: skip
    return pd.DataFrame(rows)


#: Fewer faces than this in a group give no verdict.
MIN_FACES = 10


def region_table(regions, measure: str, class_names: Sequence[str], decimals: int = 2):
    """The long table of :func:`by_group` for one ``measure`` as emotion x region, each
    cell ``"mean [lo, hi]"`` (empty for an emotion with no faces), plus a face count."""
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


def _verdict(n: int, lo: float, hi: float) -> str:
    if n < MIN_FACES:
        return f"too few faces (< {MIN_FACES})"
    return "holds" if lo > 0 else ("contradicted" if hi < 0 else "inconclusive")


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


def claims_table(values, groups: np.ndarray, class_names: Sequence[str], *,
                 evidence: str, n_boot: int = 1000, seed: int = 0):  # fmt: skip
    """Each of :data:`CLAIMS` tested on per-face region values (occlusion drops or map
    shares, DataFrame N x region) of the faces in ``groups`` (class index per face):
    the mean difference (first region minus second) with its 95% bootstrap interval, and
    a verdict: *holds* (interval above 0), *contradicted* (below 0), *inconclusive*, or
    no verdict under :data:`MIN_FACES` faces."""
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


def claims_wide(claims, decimals: int = 3):
    """:func:`claims_table` rows side by side: one row per claim, and per kind of evidence
    the difference ``"mean [lo, hi]"`` and the verdict."""
    import pandas as pd

    rows: dict[str, dict] = {}
    for _, r in claims.iterrows():
        row = rows.setdefault(r["claim"], {"source": r["source"], "faces": int(r["faces"])})
        if np.isfinite(r["difference"]):
            row[r["evidence"]] = (f"{r['difference']:+.{decimals}f} "
                                  f"[{r['lo']:+.{decimals}f}, {r['hi']:+.{decimals}f}]")  # fmt: skip
        else:
            row[r["evidence"]] = ""
        row[f"{r['evidence']}: verdict"] = r["verdict"]
    out = pd.DataFrame(rows).T
    out.index.name = "claim"
    return out


def focus_table(maps: Mapping[str, np.ndarray], regions: Sequence[str] = ("eyes", "mouth"), *,
                seed: int = 0):  # fmt: skip
    """The seed paper's "the network focuses on the eyes and the mouth", per method: the
    mean share of map mass in ``regions`` (95% bootstrap interval) against their share of
    the face's area (what a flat map gives), and the ratio of the two."""
    import pandas as pd

    masks = face_region_masks(_LAYOUT_SIZE)
    union = np.any([masks[r] for r in regions], axis=0)
    area = float(union.mean())
    rows = {}
    for k, (m, mp) in enumerate(maps.items()):
        share = region_shares(resize_maps(mp, (_LAYOUT_SIZE, _LAYOUT_SIZE)), {"focus": union})
        mean, lo, hi = bootstrap_ci(share["focus"].to_numpy(), seed=seed + k)
        rows[m] = {"share": mean, "lo": lo, "hi": hi, "area share": area, "ratio": mean / area}
    df = pd.DataFrame(rows).T
    df.index.name = "method"
    return df


# ---------------------------------------------------------------------------------------
# the whole evaluation: emonb evaluate-maps and chapter 08
# ---------------------------------------------------------------------------------------
#: The methods evaluated by default (every class-specific method of the registry but CAM,
#: which needs a global-pooling head).
DEFAULT_METHODS = ("saliency", "deconvnet", "guided_backprop", "smoothgrad",
                   "integrated_gradients", "gradcam", "gradcam_plus_plus", "layercam",
                   "scorecam", "guided_gradcam")  # fmt: skip
#: Synthetic stand-in faces behind the pointing game (the chapters' stand-in size, so the
#: seed CNN chapter 01 trains on it is reused).
POINTING_FACES = 2100
#: Model-free reference maps scored beside the methods: seeded uniform noise, and a
#: centred Gaussian (sigma = a quarter of the side), the same for every face.
REFERENCES = ("random", "centre")


class _Reference:
    """A model-free "method" (see :data:`REFERENCES`) with the explainer call."""

    def __init__(self, kind: str, net: EmotionModel, seed: int = 0):
        if kind not in REFERENCES:
            raise EmonbError(f"unknown reference map {kind!r}; choose one of {REFERENCES}")
        self.kind, self.net, self.seed = kind, net, seed

    def explain(self, images, targets=None) -> np.ndarray:
        n = len(as_image_list(images))
        h, w = self.net.spec.input_size
        if self.kind == "random":
            return np.random.default_rng(self.seed).random((n, h, w), dtype=np.float32)
        yy, xx = np.mgrid[0:h, 0:w]
        g = np.exp(-(((yy - (h - 1) / 2) / (h / 4)) ** 2 + ((xx - (w - 1) / 2) / (w / 4)) ** 2) / 2)
        g = (g - g.min()) / (g.max() - g.min())
        return np.broadcast_to(g.astype(np.float32), (n, h, w)).copy()


def method_factory(name: str, seed: int = 0) -> Callable[[EmotionModel], object]:
    """``net -> explainer`` for a registry method or a :data:`REFERENCES` map."""
    if name in REFERENCES:
        return lambda net: _Reference(name, net, seed)
    from emonb.methods import get_method

    cls = get_method(name)
    return lambda net: cls(net)


@dataclass
class MapEvaluation:
    """Everything :func:`evaluate_maps` measured; ``table`` is the ranked summary."""

    table: object
    curves: dict[str, dict[str, Curves]]
    randomization: Randomization
    regions: object
    claims: object
    focus: object
    pointing: object
    settings: dict
    seconds: dict

    def to_json(self) -> dict:
        """Plain-JSON form (tables as records, mean curves, settings and timings)."""

        def records(df):
            return None if df is None else json_safe(df.reset_index().to_dict(orient="records"))

        return {
            "settings": self.settings,
            "seconds": self.seconds,
            "table": records(self.table),
            "curves": {m: {k: {"fractions": c.fractions.tolist(),
                               "mean": c.scores.mean(axis=0).round(5).tolist()}
                           for k, c in cs.items()} for m, cs in self.curves.items()},  # fmt: skip
            "randomization": {"stages": self.randomization.stages,
                              "spearman": records(self.randomization.spearman),
                              "ssim": records(self.randomization.ssim)},  # fmt: skip
            "pointing": records(self.pointing),
            "regions": records(self.regions),
            "claims": records(self.claims),
            "focus": records(self.focus),
        }


def json_safe(obj):
    """NaN -> None and NumPy scalars -> Python, recursively (strict JSON)."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return None if not np.isfinite(obj) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def evaluate_maps(
    net: EmotionModel,
    faces,
    *,
    methods: Sequence[str] = DEFAULT_METHODS,
    n: int = 500,
    split: str | None = "PublicTest",
    pointing_net: EmotionModel | None = None,
    pointing_faces=None,
    steps: int = 16,
    baseline: str = "blur",
    stages: int = 6,
    n_random: int = 16,
    region_method: str = "gradcam",
    n_regions: int | None = None,
    seed: int = 0,
    log: Callable[[str], None] | None = print,
) -> MapEvaluation:
    """Score explanation methods on ``net`` and ``faces`` (a FaceDataset).

    * ``n`` faces of ``split`` (a stratified, seeded sample) are explained for their
      predicted class; deletion and insertion AUCs use ``steps`` steps and ``baseline``;
    * cascading randomization runs on the first ``n_random`` of them over ``stages`` stages;
    * the pointing game and mask-energy share run on ``pointing_faces`` (a synthetic
      FaceDataset with ``cue_masks``; up to ``n`` faces of its PublicTest rows) with
      ``pointing_net`` (a model trained on them), explaining each face's label;
    * face regions (shares of ``region_method``'s maps, occlusion drops) are measured on
      ``n_regions`` faces of ``split`` (default: all of them; they are cheap, and rare
      classes such as disgust need many faces), grouped by predicted class, and
      :data:`CLAIMS` are tested on them.

    The methods' and references' rows of ``table`` are ranked by insertion AUC minus
    deletion AUC (higher is better), each with a 95% bootstrap interval over faces; the
    randomization columns are the maps' similarity to the trained model's after re-drawing
    the top layer only, and averaged over the cascade (lower: the maps depend on the
    weights, as they should).
    """
    import time

    import pandas as pd

    for name, value, least in (("n", n, 1), ("steps", steps, 2), ("stages", stages, 1),
                               ("n_random", n_random, 1), ("n_regions", n_regions or 1, 1)):  # fmt: skip
        if int(value) < least:
            raise EmonbError(f"{name} must be at least {least}, got {value}")
    say = log or (lambda _msg: None)
    names = list(methods) + [r for r in REFERENCES if r not in methods]
    factories = {m: method_factory(m, seed) for m in names}
    pool = faces.split(split) if split else faces
    if len(pool) == 0:
        raise EmonbError(f"no faces in split {split!r}")
    data = pool.subset(_sample(pool.labels, n, seed))
    images = data.images
    x = net.preprocess(images)
    forward = Forward(net)
    predicted = forward.proba(x).argmax(axis=1)
    score = forward.score
    seconds: dict[str, float] = {}
    curves: dict[str, dict[str, Curves]] = {}
    maps: dict[str, np.ndarray] = {}
    say(f"explaining {len(images)} {faces.name} faces ({split or 'all rows'}) with "
        f"{len(names)} methods; {steps} deletion/insertion steps, baseline {baseline}")  # fmt: skip
    for m in names:
        t0 = time.perf_counter()
        maps[m] = np.asarray(factories[m](net).explain(images, predicted), dtype=np.float32)
        t1 = time.perf_counter()
        curves[m] = {mode: perturbation_curves(score, x, maps[m], predicted, mode=mode,
                                               steps=steps, baseline=baseline, seed=seed)
                     for mode in ("deletion", "insertion")}  # fmt: skip
        seconds[m] = {"maps": t1 - t0, "curves": time.perf_counter() - t1}
        say(f"  {m}: maps {t1 - t0:.1f} s, curves {seconds[m]['curves']:.1f} s")

    t0 = time.perf_counter()
    rand = cascading_randomization(net, images[:n_random], factories, targets=predicted[:n_random],
                                   stages=stages, seed=seed)  # fmt: skip
    seconds["randomization"] = time.perf_counter() - t0
    say(f"  randomization: {len(rand.stages) - 1} stages on {min(n_random, len(images))} faces, "
        f"{seconds['randomization']:.1f} s")  # fmt: skip

    pointing = None
    if pointing_net is not None and pointing_faces is not None:
        t0 = time.perf_counter()
        pointing = _pointing(pointing_net, pointing_faces, names, n, seed)
        seconds["pointing"] = time.perf_counter() - t0
        say(f"  pointing game: {seconds['pointing']:.1f} s")

    t0 = time.perf_counter()
    region_faces = pool.subset(_sample(pool.labels, n_regions or len(pool), seed))
    region_pred = forward.proba(net.preprocess(region_faces.images)).argmax(axis=1)
    region_maps = method_factory(region_method, seed)(net).explain(region_faces.images, region_pred)
    shares = region_shares(resize_maps(region_maps, (_LAYOUT_SIZE, _LAYOUT_SIZE)))
    drops = occlusion_drops(net, region_faces.images, region_pred, forward=forward)
    regions = pd.concat([
        by_group(drops, region_pred, net.class_names, seed=seed).assign(measure="occlusion drop"),
        by_group(shares, region_pred, net.class_names, seed=seed).assign(
            measure=f"{region_method} mass share"),
    ], ignore_index=True)  # fmt: skip
    regions.attrs["area"] = shares.attrs["area"]
    claims = pd.concat([
        claims_table(drops, region_pred, net.class_names, evidence="occlusion drop", seed=seed),
        claims_table(shares, region_pred, net.class_names,
                     evidence=f"{region_method} mass share", seed=seed),
    ], ignore_index=True)  # fmt: skip
    focus = focus_table(maps, seed=seed)
    seconds["regions"] = time.perf_counter() - t0
    say(f"  regions: {len(region_faces)} faces, {seconds['regions']:.1f} s")

    table = _summary(curves, rand, pointing, names, seed)
    settings = {"model": net.name, "data": faces.name, "split": split, "n": len(images),
                "accuracy": float(np.mean(predicted == data.labels)),
                "methods": names, "steps": steps, "baseline": baseline,
                "randomization_faces": min(n_random, len(images)),
                "randomization_stages": rand.stages[1:], "region_method": region_method,
                "region_faces": len(region_faces),
                "targets": "predicted class", "seed": seed}  # fmt: skip
    if pointing is not None:
        settings["pointing_model"] = pointing_net.name
        settings["pointing_accuracy"] = pointing.attrs["accuracy"]
    return MapEvaluation(table=table, curves=curves, randomization=rand, regions=regions,
                         claims=claims, focus=focus, pointing=pointing, settings=settings,
                         seconds=json_safe(seconds))  # fmt: skip


def _sample(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Sorted indices of exactly ``min(n, len(labels))`` rows, stratified by class."""
    from emonb.models.train import stratified_sample

    rng = np.random.default_rng(seed)
    rows = stratified_sample(labels, min(int(n), labels.size), rng)
    return rows if rows.size <= n else np.sort(rng.choice(rows, size=int(n), replace=False))


def _pointing(net: EmotionModel, faces, names: Sequence[str], n: int, seed: int):
    """Pointing game and energy share on synthetic faces, explaining each face's label."""
    import pandas as pd

    if getattr(faces, "cue_masks", None) is None:
        raise EmonbError("the pointing game needs faces with cue_masks (the synthetic stand-in)")
    data = faces.split("PublicTest") if "PublicTest" in set(faces.usage.tolist()) else faces
    data = data.subset(_sample(data.labels, n, seed))
    predicted = Forward(net).proba(net.preprocess(data.images)).argmax(axis=1)
    out = {}
    for k, m in enumerate(names):
        mp = method_factory(m, seed)(net).explain(data.images, data.labels)
        hits = pointing_game(mp, data.cue_masks).astype(np.float64)
        share = energy_share(mp, data.cue_masks)
        mean, lo, hi = bootstrap_ci(hits, seed=seed + k)
        out[m] = {"pointing game": mean, "pointing lo": lo, "pointing hi": hi,
                  "energy share": float(share.mean())}  # fmt: skip
    df = pd.DataFrame(out).T
    df.attrs["accuracy"] = float(np.mean(predicted == data.labels))
    df.attrs["cue area"] = float(np.asarray(data.cue_masks).mean())
    return df


def _summary(curves, rand: Randomization, pointing, names: Sequence[str], seed: int):
    import pandas as pd

    rows = {}
    summary = rand.summary()
    for k, m in enumerate(names):
        d, i = curves[m]["deletion"].auc, curves[m]["insertion"].auc
        score, lo, hi = bootstrap_ci(i - d, seed=seed + k)
        row = {"insertion - deletion": score, "lo": lo, "hi": hi,
               "deletion AUC": float(d.mean()), "insertion AUC": float(i.mean()),
               "randomization spearman (top)": float(summary.loc[m, "spearman top"]),
               "randomization spearman (mean)": float(summary.loc[m, "spearman mean"]),
               "randomization ssim (mean)": float(summary.loc[m, "ssim mean"])}  # fmt: skip
        if pointing is not None:
            row["pointing game (synthetic)"] = float(pointing.loc[m, "pointing game"])
        rows[m] = row
    table = pd.DataFrame(rows).T.sort_values("insertion - deletion", ascending=False, kind="stable")
    table.index.name = "method"
    return table
