"""The whole evaluation of explanation maps (``emonb evaluate-maps`` and chapter 08).

:func:`evaluate_maps` only composes the metrics of :mod:`emonb.metrics`: deletion and
insertion (:mod:`~emonb.metrics.perturbation`), cascading randomization
(:mod:`~emonb.metrics.randomization`), the pointing game (:mod:`~emonb.metrics.localisation`)
and face regions (:mod:`~emonb.metrics.regions`), over the methods of the registry and
two model-free reference maps (:data:`REFERENCES`). Every size (faces, steps, stages,
the methods' own iterations) is an argument: quick mode is applied by the caller.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from emonb.arrays import minmax, resize_maps
from emonb.errors import EmonbError
from emonb.faces import LAYOUT_SIZE
from emonb.methods import get_method
from emonb.metrics.localisation import energy_share, pointing_game
from emonb.metrics.perturbation import Curves, class_probability, perturbation_curves
from emonb.metrics.randomization import Randomization, cascading_randomization
from emonb.metrics.regions import claims_table, focus_table, occlusion_drops, region_shares
from emonb.metrics.stats import bootstrap_ci, by_group
from emonb.models.preprocessing import as_image_list
from emonb.models.runner import Runner
from emonb.models.zoo import EmotionModel

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DEFAULT_METHODS",
    "POINTING_FACES",
    "REFERENCES",
    "MapEvaluation",
    "evaluate_maps",
    "json_safe",
    "method_factory",
]

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
        return np.broadcast_to(minmax(g, axes=(0, 1)), (n, h, w)).copy()


def method_factory(
    name: str, seed: int = 0, settings: Mapping[str, object] | None = None
) -> Callable[[EmotionModel], object]:
    """``net -> explainer`` for a registry method (:func:`emonb.methods.get_method`; an
    unknown name is an error listing the valid ones) built with the keyword arguments
    ``settings`` (e.g. ``{"samples": 3}`` for SmoothGrad; default: the method's defaults),
    or for a :data:`REFERENCES` map (seeded by ``seed``; ``settings`` must be empty)."""
    kwargs = dict(settings or {})
    if name in REFERENCES:
        if kwargs:
            raise EmonbError(f"the reference map {name!r} takes no settings, got {kwargs}")
        return lambda net: _Reference(name, net, seed)
    cls = get_method(name)
    return lambda net: cls(net, **kwargs)


@dataclass
class MapEvaluation:
    """Everything :func:`evaluate_maps` measured; ``table`` is the ranked summary."""

    table: pd.DataFrame
    curves: dict[str, dict[str, Curves]]
    randomization: Randomization
    regions: pd.DataFrame
    claims: pd.DataFrame
    focus: pd.DataFrame
    pointing: pd.DataFrame | None
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
    method_settings: Mapping[str, Mapping[str, object]] | None = None,
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
      :data:`~emonb.metrics.regions.CLAIMS` are tested on them.

    ``method_settings`` maps a method name to its constructor's keyword arguments, e.g.
    ``{"smoothgrad": {"samples": 20}, "integrated_gradients": {"steps": 32},
    "scorecam": {"max_channels": None}}`` (the methods' defaults, used for a method not
    listed); :func:`emonb.methods.method_settings` gives them capped for quick mode.

    The methods' and references' rows of ``table`` are ranked by insertion AUC minus
    deletion AUC (higher is better), each with a 95% bootstrap interval over faces; the
    randomization columns are the maps' similarity to the trained model's after re-drawing
    the top layer only, and averaged over the cascade (lower: the maps depend on the
    weights, as they should).

    References: Petsiuk et al. (2018) (deletion, insertion); Adebayo et al. (2018)
    (randomization); Zhang et al. (2016) (pointing game); Wang et al. (2020) (energy share).
    """
    import pandas as pd

    sizes = (("n", n, 1), ("steps", steps, 2), ("stages", stages, 1), ("n_random", n_random, 1),
             ("n_regions", n_regions or 1, 1))  # fmt: skip
    for name, value, least in sizes:
        if int(value) < least:
            raise EmonbError(f"{name} must be at least {least}, got {value}")
    say = log or (lambda _msg: None)
    settings_of = dict(method_settings or {})
    names = list(methods) + [r for r in REFERENCES if r not in methods]
    factories = {m: _reusing(net, method_factory(m, seed, settings_of.get(m))) for m in names}
    pool = faces.split(split) if split else faces
    if len(pool) == 0:
        raise EmonbError(f"no faces in split {split!r}")
    data = pool.subset(_sample(pool.labels, n, seed))
    images = data.images
    x = net.preprocess(images)
    runner = Runner(net, batch_size=256)
    score = class_probability(runner)
    predicted = runner.probabilities(x).argmax(axis=1)
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
        pointing = _pointing(pointing_net, pointing_faces, names, n, seed, settings_of)
        seconds["pointing"] = time.perf_counter() - t0
        say(f"  pointing game: {seconds['pointing']:.1f} s")

    t0 = time.perf_counter()
    region_faces = pool.subset(_sample(pool.labels, n_regions or len(pool), seed))
    region_pred = runner.probabilities(net.preprocess(region_faces.images)).argmax(axis=1)
    make = factories.get(region_method)
    make = make or method_factory(region_method, seed, settings_of.get(region_method))
    region_maps = make(net).explain(region_faces.images, region_pred)
    shares = region_shares(resize_maps(region_maps, (LAYOUT_SIZE, LAYOUT_SIZE)))
    drops = occlusion_drops(net, region_faces.images, region_pred, runner=runner)
    mass = f"{region_method} mass share"
    regions = pd.concat([
        by_group(drops, region_pred, net.class_names, seed=seed).assign(measure="occlusion drop"),
        by_group(shares, region_pred, net.class_names, seed=seed).assign(measure=mass),
    ], ignore_index=True)  # fmt: skip
    regions.attrs["area"] = shares.attrs["area"]
    claims = pd.concat([
        claims_table(drops, region_pred, net.class_names, evidence="occlusion drop", seed=seed),
        claims_table(shares, region_pred, net.class_names, evidence=mass, seed=seed),
    ], ignore_index=True)  # fmt: skip
    focus = focus_table(maps, seed=seed)
    seconds["regions"] = time.perf_counter() - t0
    say(f"  regions: {len(region_faces)} faces, {seconds['regions']:.1f} s")

    table = _summary(curves, rand, pointing, names, seed)
    used = {m: dict(settings_of[m]) for m in [*names, region_method] if settings_of.get(m)}
    settings = {"model": net.name, "data": faces.name, "split": split, "n": len(images),
                "accuracy": float(np.mean(predicted == data.labels)),
                "methods": names, "method_settings": used, "steps": steps, "baseline": baseline,
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


def _reusing(net: EmotionModel, factory: Callable[[EmotionModel], object]):
    """``factory`` that builds the explainer of ``net`` itself once and reuses it (for the
    maps, the randomization's reference and the regions; explainers keep no state between
    calls, so the maps are the same, without compiling the same model again)."""
    made = []

    def make(other: EmotionModel):
        if other is not net:
            return factory(other)
        if not made:
            made.append(factory(net))
        return made[0]

    return make


def _sample(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Sorted indices of exactly ``min(n, len(labels))`` rows, stratified by class."""
    from emonb.models.train import stratified_sample

    rng = np.random.default_rng(seed)
    rows = stratified_sample(labels, min(int(n), labels.size), rng)
    return rows if rows.size <= n else np.sort(rng.choice(rows, size=int(n), replace=False))


def _pointing(net: EmotionModel, faces, names: Sequence[str], n: int, seed: int,
              settings_of: Mapping[str, Mapping[str, object]]) -> pd.DataFrame:  # fmt: skip
    """Pointing game and energy share on synthetic faces, explaining each face's label."""
    import pandas as pd

    if getattr(faces, "cue_masks", None) is None:
        raise EmonbError("the pointing game needs faces with cue_masks (the synthetic stand-in)")
    data = faces.split("PublicTest") if "PublicTest" in set(faces.usage.tolist()) else faces
    data = data.subset(_sample(data.labels, n, seed))
    runner = Runner(net, batch_size=256)
    predicted = runner.probabilities(net.preprocess(data.images)).argmax(axis=1)
    out = {}
    for k, m in enumerate(names):
        mp = method_factory(m, seed, settings_of.get(m))(net).explain(data.images, data.labels)
        hits = pointing_game(mp, data.cue_masks).astype(np.float64)
        share = energy_share(mp, data.cue_masks)
        mean, lo, hi = bootstrap_ci(hits, seed=seed + k)
        out[m] = {"pointing game": mean, "pointing lo": lo, "pointing hi": hi,
                  "energy share": float(share.mean())}  # fmt: skip
    df = pd.DataFrame(out).T
    df.attrs["accuracy"] = float(np.mean(predicted == data.labels))
    df.attrs["cue area"] = float(np.asarray(data.cue_masks).mean())
    return df


def _summary(curves, rand: Randomization, pointing, names: Sequence[str],
             seed: int) -> pd.DataFrame:  # fmt: skip
    """The ranked table: insertion - deletion with its interval, AUCs, randomization and
    pointing columns, one row per method."""
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
