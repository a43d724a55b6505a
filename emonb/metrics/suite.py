"""The per-face metrics of a map evaluation as small configured objects.

:func:`~emonb.metrics.evaluate.evaluate_maps` builds them from its
:class:`~emonb.metrics.settings.EvaluationSettings` (:func:`per_face_metrics`,
:func:`shared_metrics`) and loops over them for every method, in the shape of Quantus'
``evaluate(metrics, methods, ...)``. A :class:`PerFaceMetric` scores one method's maps
(:class:`Explained`) on the explained faces (:class:`Context`); a :class:`SharedMetric`
scores every method's maps at once (faithfulness correlation shares its random subsets
between the methods). Each returns per-face values under the column names of
:data:`emonb.metrics.ranking.METRICS`; the metrics themselves are the functions of the
other :mod:`emonb.metrics` modules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from emonb.arrays import face_ids as _face_ids
from emonb.errors import EmonbError
from emonb.metrics.complexity import complexity, sparseness
from emonb.metrics.localisation import energy_share, pointing_game
from emonb.metrics.perturbation import Curves, faithfulness_correlation, perturbation_curves
from emonb.metrics.randomization import random_logit
from emonb.metrics.road import road_curves, road_gap
from emonb.metrics.robustness import max_sensitivity
from emonb.metrics.stats import bootstrap_ci
from emonb.models.runner import Runner

if TYPE_CHECKING:
    import pandas as pd

    from emonb.metrics.perturbation import Score
    from emonb.metrics.settings import EvaluationSettings
    from emonb.models.zoo import EmotionModel

__all__ = ["Context", "DeletionInsertion", "Explained", "FaithfulnessCorrelation",
           "MaxSensitivity", "PerFaceMetric", "RandomLogit", "Road", "Scores", "SharedMetric",
           "MapStatistic", "chunk_samples", "per_face_metrics", "pointing_sample", "pointing_table",
           "shared_metrics",
           "stratified_rows"]  # fmt: skip


def stratified_rows(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Sorted indices of exactly ``min(n, len(labels))`` rows, stratified by class."""
    from emonb.models.train import stratified_sample

    rng = np.random.default_rng(seed)
    rows = stratified_sample(labels, min(int(n), labels.size), rng)
    return rows if rows.size <= n else np.sort(rng.choice(rows, size=int(n), replace=False))


@dataclass
class Context:
    """What every metric sees: the model, the explained faces (preprocessed, ``x``), their
    labels, the classes explained (``targets``: the predictions), ``score``
    (:func:`~emonb.models.runner.class_probability`) and the faces' ``ids`` (default
    0..N-1), which seed each face's random draws (:func:`~emonb.arrays.face_draws`).

    ``samples`` fixes :meth:`sample`'s rows per size: a chunk of an evaluation's faces
    gets its rows of the whole sample's (:func:`chunk_samples`)."""

    net: EmotionModel
    x: np.ndarray
    labels: np.ndarray
    targets: np.ndarray
    score: Score
    seed: int = 0
    ids: np.ndarray | None = None
    samples: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def face_ids(self) -> np.ndarray:
        return _face_ids(self.ids, len(self.x))

    def sample(self, n: int) -> np.ndarray:
        """Rows of a seeded sample of ``n`` of the faces, stratified by label
        (:func:`stratified_rows`): the same rows for every method and metric."""
        if n not in self.samples:
            self.samples[n] = stratified_rows(self.labels, n, self.seed)
        return self.samples[n]


def chunk_samples(samples: Mapping[int, np.ndarray], start: int, stop: int) -> dict[int, np.ndarray]:
    """The rows of ``samples`` (size -> sorted rows of the whole evaluation's faces, as
    :meth:`Context.sample` drew them) that fall in the chunk ``start:stop``, counted from
    the chunk's first face."""
    return {n: rows[(rows >= start) & (rows < stop)] - start for n, rows in samples.items()}


@dataclass(frozen=True)
class Explained:
    """One method's maps of the context's faces (N, H, W), and its explainer (whose
    ``explain_inputs(x, targets)`` explains perturbed faces again)."""

    method: str
    maps: np.ndarray
    explainer: object


@dataclass
class Scores:
    """What a per-face metric measured: per-face values by column, and its curves (by
    kind, e.g. ``"deletion"``; kept in :attr:`MapEvaluation.curves`)."""

    values: dict[str, np.ndarray]
    curves: dict[str, Curves] = field(default_factory=dict)


class PerFaceMetric(Protocol):
    """A metric of one method's maps; ``clock`` names the timing it is counted under
    (None: not timed, it is read off the maps)."""

    name: str
    clock: str | None

    def __call__(self, context: Context, explained: Explained) -> Scores: ...


class SharedMetric(Protocol):
    """A metric of every method's maps at once: method -> per-face values."""

    name: str

    def __call__(self, context: Context, maps: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]: ...


@dataclass(frozen=True)
class DeletionInsertion:
    """Deletion and insertion curves and AUCs (Petsiuk et al. 2018)."""

    steps: int = 16
    baseline: str = "blur"
    seed: int = 0
    name = "deletion/insertion"
    clock = "curves"

    def __call__(self, context: Context, explained: Explained) -> Scores:
        curves = {mode: perturbation_curves(context.score, context.x, explained.maps,
                                            context.targets, mode=mode, steps=self.steps,
                                            baseline=self.baseline, seed=self.seed,
                                            ids=context.face_ids)
                  for mode in ("deletion", "insertion")}  # fmt: skip
        deletion, insertion = curves["deletion"].auc, curves["insertion"].auc
        return Scores({"deletion AUC": deletion, "insertion AUC": insertion,
                       "insertion - deletion": insertion - deletion}, curves)  # fmt: skip


@dataclass(frozen=True)
class Road:
    """ROAD, LeRF minus MoRF (Rong et al. 2022), on ``faces`` faces of the sample."""

    faces: int = 100
    fractions: tuple[float, ...] = (0.1, 0.3, 0.5, 0.7, 0.9)
    noise: float = 0.01
    seed: int = 0
    name = "ROAD"
    clock = "road"

    def __call__(self, context: Context, explained: Explained) -> Scores:
        rows = context.sample(self.faces)
        if not len(rows):  # a chunk of the faces without any of the sample's
            fr, none = np.asarray(self.fractions, np.float64), np.empty((0, len(self.fractions)), np.float32)
            return Scores({"ROAD (LeRF - MoRF)": np.empty(0, np.float32)},
                          {f"road-{o}": Curves(f"road-{o}", fr, none) for o in ("morf", "lerf")})
        curves = {f"road-{order}": road_curves(context.score, context.x[rows], explained.maps[rows],
                                               context.targets[rows], order=order,
                                               fractions=self.fractions, noise=self.noise,
                                               seed=self.seed, ids=context.face_ids[rows])
                  for order in ("morf", "lerf")}  # fmt: skip
        return Scores({"ROAD (LeRF - MoRF)": road_gap(curves["road-morf"], curves["road-lerf"])},
                      curves)  # fmt: skip


@dataclass(frozen=True)
class MaxSensitivity:
    """Max-sensitivity (Yeh et al. 2019) on ``faces`` faces of the sample, explained again."""

    faces: int = 16
    samples: int = 5
    radius: float = 0.05
    seed: int = 0
    name = "max-sensitivity"
    clock = "robustness"

    def __call__(self, context: Context, explained: Explained) -> Scores:
        rows = context.sample(self.faces)
        if not len(rows):
            return Scores({"max-sensitivity": np.empty(0, np.float32)})
        values = max_sensitivity(explained.explainer.explain_inputs, context.x[rows],
                                 context.targets[rows], radius=self.radius,
                                 value_range=context.net.spec.value_range, samples=self.samples,
                                 seed=self.seed, maps=explained.maps[rows],
                                 ids=context.face_ids[rows])  # fmt: skip
        return Scores({"max-sensitivity": values})


@dataclass(frozen=True)
class RandomLogit:
    """Random-logit SSIM (Sixt et al. 2020) on ``faces`` faces of the sample, explained again."""

    faces: int = 16
    seed: int = 0
    name = "random-logit"
    clock = "robustness"

    def __call__(self, context: Context, explained: Explained) -> Scores:
        rows = context.sample(self.faces)
        if not len(rows):
            return Scores({"random-logit SSIM": np.empty(0, np.float32)})
        values = random_logit(explained.explainer.explain_inputs, context.x[rows],
                              context.targets[rows], len(context.net.class_names), seed=self.seed,
                              maps=explained.maps[rows], ids=context.face_ids[rows])  # fmt: skip
        return Scores({"random-logit SSIM": values})


@dataclass(frozen=True)
class MapStatistic:
    """A statistic read off the maps alone, per face: :func:`~emonb.metrics.complexity.sparseness`
    (Gini, Chalasani et al. 2020) or :func:`~emonb.metrics.complexity.complexity` (entropy,
    Bhatt et al. 2020)."""

    name: str
    statistic: Callable[[np.ndarray], np.ndarray]
    clock = None

    def __call__(self, context: Context, explained: Explained) -> Scores:
        return Scores({self.name: self.statistic(explained.maps)})


@dataclass(frozen=True)
class FaithfulnessCorrelation:
    """Faithfulness correlation (Bhatt et al. 2020): ``runs`` random subsets of ``subset``
    of the pixels, shared by every method."""

    subset: float = 0.1
    runs: int = 50
    baseline: str = "blur"
    seed: int = 0
    name = "faithfulness correlation"

    def __call__(self, context: Context, maps: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return faithfulness_correlation(context.score, context.x, maps, context.targets,
                                        subset=self.subset, runs=self.runs,
                                        baseline=self.baseline, seed=self.seed,
                                        ids=context.face_ids)  # fmt: skip


def per_face_metrics(settings: EvaluationSettings) -> tuple[PerFaceMetric, ...]:
    """The per-face metrics of ``settings``, in the order they run (explainers that draw
    random numbers are called in this order)."""
    s = settings
    return (DeletionInsertion(s.steps, s.baseline, s.seed),
            Road(s.n_road, s.road_fractions, s.road_noise, s.seed),
            MaxSensitivity(s.n_robust, s.sensitivity_samples, s.sensitivity_radius, s.seed),
            RandomLogit(s.n_robust, s.seed), MapStatistic("sparseness", sparseness),
            MapStatistic("complexity", complexity))  # fmt: skip


def shared_metrics(settings: EvaluationSettings) -> tuple[SharedMetric, ...]:
    """The metrics of ``settings`` that score every method's maps at once."""
    s = settings
    return (FaithfulnessCorrelation(s.correlation_subset, s.correlation_runs, s.baseline, s.seed),)


def pointing_sample(faces, n: int, seed: int):
    """The faces of the pointing game: ``n`` synthetic faces with ``cue_masks`` (their
    PublicTest rows, stratified by label and seeded; all rows when there is no PublicTest)."""
    if getattr(faces, "cue_masks", None) is None:
        raise EmonbError("the pointing game needs faces with cue_masks (the synthetic stand-in)")
    data = faces.split("PublicTest") if "PublicTest" in set(faces.usage.tolist()) else faces
    return data.subset(stratified_rows(data.labels, n, seed))


def pointing_table(net: EmotionModel, data, factories: Mapping[str, Callable[[EmotionModel], object]],
                   seed: int, *, first: int = 0) -> pd.DataFrame:  # fmt: skip
    """Pointing game and energy share (Zhang et al. 2016; Wang et al. 2020) of the methods
    of ``factories`` (name -> ``net -> explainer``) on the synthetic faces ``data`` (with
    ``cue_masks``: :func:`pointing_sample`), explaining each face's label, for ``net``
    trained on them. The bootstrap of the ``k``-th method is seeded ``seed + first + k``:
    tables of one method each, ``first`` its place among all, give the whole table's rows.
    Attributes: the net's ``accuracy``, the ``faces``, the ``cue area`` (the cues' mean
    share of a face)."""
    import pandas as pd

    if getattr(data, "cue_masks", None) is None:
        raise EmonbError("the pointing game needs faces with cue_masks (the synthetic stand-in)")
    runner = Runner(net, batch_size=256)
    predicted = runner.probabilities(net.preprocess(data.images)).argmax(axis=1)
    out = {}
    for k, (m, factory) in enumerate(factories.items(), start=first):
        mp = factory(net).explain(data.images, data.labels)
        hits = pointing_game(mp, data.cue_masks).astype(np.float64)
        share = energy_share(mp, data.cue_masks)
        mean, lo, hi = bootstrap_ci(hits, seed=seed + k)
        out[m] = {"pointing game": mean, "pointing lo": lo, "pointing hi": hi,
                  "energy share": float(share.mean())}  # fmt: skip
    df = pd.DataFrame(out).T
    df.attrs["accuracy"] = float(np.mean(predicted == data.labels))
    df.attrs["faces"] = len(data)
    df.attrs["cue area"] = float(np.asarray(data.cue_masks).mean())
    return df
