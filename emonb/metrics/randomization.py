"""Randomization: do the maps depend on what the model learned?

**Cascading model randomization** (Adebayo et al. 2018, "Sanity checks for saliency
maps"): the weights of the layers are re-drawn from the top layer down, one stage at a
time, on a *copy* of the model; a map that stays similar (Spearman rank correlation,
SSIM: :mod:`emonb.metrics.stats`) to the map of the trained model does not depend on
what the model learned.

**Data randomization** (Adebayo et al. 2018): the same architecture trained, with the
same code and settings, on labels permuted among the training faces
(:attr:`emonb.models.train.TrainConfig.permute_labels`); a method whose maps of the two
models stay similar (:func:`map_similarity`) shows something other than what the labels
taught.

**Random logit** (Sixt et al. 2020): the map for the target class against the map for a
random other class of the same image; a map that stays similar does not depend on the
class it is said to explain.

:func:`check_faces` picks the faces of a check from a face set, keeping where each comes
from (for a cluster bootstrap: :func:`emonb.metrics.stats.bootstrap_ci`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from emonb._tf import keras
from emonb.arrays import face_draws, face_ids
from emonb.errors import EmonbError
from emonb.metrics.stats import bootstrap_ci, spearman, ssim
from emonb.models import graph
from emonb.models.runner import Runner, reload_weights
from emonb.models.zoo import EmotionModel

if TYPE_CHECKING:
    import pandas as pd

#: ``(stops, images, targets) -> [method -> maps, one per stop]``: how
#: :func:`cascading_randomization` gets the stages' maps when not in this process.
StageMaps = Callable[[Sequence[str], np.ndarray, np.ndarray], Sequence[Mapping[str, np.ndarray]]]

__all__ = [
    "randomization_stops",
    "Cascade",
    "CheckFaces",
    "DataRandomization",
    "Randomization",
    "cascading_randomization",
    "check_faces",
    "data_randomization",
    "map_similarity",
    "random_logit",
    "randomization_stages",
    "randomized_copy",
    "StageMaps",
]

_WEIGHTED = (keras.layers.Conv2D, keras.layers.SeparableConv2D, keras.layers.DepthwiseConv2D,
             keras.layers.Dense)  # fmt: skip


def randomization_stages(model: keras.Model) -> list[str]:
    """Layers with learned filters (convolutions and dense layers), output to input: the
    order in which cascading randomization re-draws them (Adebayo et al. 2018)."""
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
    """A copy of ``net`` whose ``layers`` (qualified names) have re-drawn weights, each from
    a normal with that weight tensor's own mean and standard deviation (seeded per layer:
    ``[seed, k]`` for the k-th name); the caller's model is untouched.

    References: Adebayo et al. (2018), "Sanity checks for saliency maps".
    """
    copy = _clone(net.model)
    found = dict(graph.iter_layers(copy))
    for k, name in enumerate(layers):
        if name not in found:
            raise EmonbError(f"no layer {name!r} in {net.name}")
        _redraw(found[name], np.random.default_rng([seed, k]))
    return _randomized_net(net, copy)


def _randomized_net(net: EmotionModel, copy: keras.Model) -> EmotionModel:
    return EmotionModel(model=copy, spec=net.spec, name=f"{net.name} (randomized)",
                        recorded_cam_layer=net.recorded_cam_layer)  # the same layers, re-drawn


class Cascade:
    """One copy of ``net`` whose weights are set to those of :func:`randomized_copy` for
    each stage in turn, in place: explainers made of :attr:`net` once are reused at every
    stage (their compiled functions are not traced again, :func:`reload_weights`), and
    compute what explainers of a new :func:`randomized_copy` would. The caller's model is
    untouched."""

    def __init__(self, net: EmotionModel, order: Sequence[str], seed: int):
        self.order, self.seed = list(order), seed
        self._trained = dict(graph.iter_layers(net.model))
        copy = _clone(net.model)
        self._layers = dict(graph.iter_layers(copy))
        self._drawn = 0  # order[:_drawn] hold re-drawn weights, the rest the trained ones
        self.net = _randomized_net(net, copy)

    def stage(self, stop: str) -> EmotionModel:
        """:attr:`net` with ``order`` re-drawn up to ``stop`` (included), as
        ``randomized_copy(net, order[: order.index(stop) + 1], seed)``: the k-th layer of
        ``order`` is always drawn with ``[seed, k]`` from the trained weights' mean and
        standard deviation, so each stage re-draws only the layers it adds (and puts back
        the trained weights of layers it drops)."""
        upto = self.order.index(stop) + 1
        for k in range(upto, self._drawn):
            name = self.order[k]
            self._layers[name].set_weights(self._trained[name].get_weights())
        for k in range(self._drawn, upto):
            _redraw(self._layers[self.order[k]], np.random.default_rng([self.seed, k]))
        self._drawn = upto
        reload_weights(self.net)
        return self.net


@dataclass
class Randomization:
    """Cascading randomization results.

    ``stages[k]`` is the layer re-drawn at stage k (k = 0 is the trained model, marked
    ``"none"``); ``spearman`` and ``ssim`` are DataFrames (stage x method) of the mean
    similarity between each method's maps on the trained model and at that stage;
    ``maps[method][k]`` holds the maps of the first images at stage k, for figures, and
    ``images`` those images; ``faces`` says which faces they are and ``left_out`` which
    methods were not run, with the reason (both set by the caller,
    :func:`emonb.metrics.sanity.model_randomization_check`).
    """

    stages: list[str]
    spearman: pd.DataFrame
    ssim: pd.DataFrame
    maps: dict[str, list[np.ndarray]] = field(default_factory=dict)
    images: np.ndarray | None = None
    faces: str = ""
    left_out: dict[str, str] = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
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


def _stops(order: list[str], stages: int | Sequence[str] | None) -> list[str]:
    """The layers after which the cascade is measured."""
    if stages is None:
        return order
    if isinstance(stages, int):
        picks = np.unique(np.linspace(0, len(order) - 1, max(1, min(stages, len(order)))).round())
        return [order[int(i)] for i in picks]
    stops = list(stages)
    unknown = [s for s in stops if s not in order]
    if unknown:
        raise EmonbError(f"unknown stage layer(s) {unknown}; choose from: {', '.join(order)}")
    return stops


def randomization_stops(net: EmotionModel, stages: int | Sequence[str] | None = 6) -> list[str]:
    """The layers after which :func:`cascading_randomization` measures ``net``'s maps for
    ``stages`` (a number of stages spread over :func:`randomization_stages`, the layer
    names, or None for every layer)."""
    return _stops(_order(net), stages)


def _order(net: EmotionModel) -> list[str]:
    """:func:`randomization_stages` of ``net``, none being an error."""
    order = randomization_stages(net.model)
    if not order:
        raise EmonbError(f"{net.name} has no convolutional or dense layer to randomize")
    return order


def cascading_randomization(
    net: EmotionModel,
    images,
    methods: Mapping[str, Callable[[EmotionModel], object]],
    *,
    targets: np.ndarray | None = None,
    stages: int | Sequence[str] | None = 6,
    seed: int = 0,
    keep: int = 4,
    stage_maps: StageMaps | None = None,
) -> Randomization:
    """Re-draw the weights from the top layer down and compare each method's maps.

    ``methods`` maps a name to a factory ``net -> explainer`` (anything with
    ``explain(images, targets)``). The maps explain ``targets`` (default: the trained
    model's predictions) at every stage, so only the weights change. ``stages`` is the
    number of cumulative stages (spread evenly over :func:`randomization_stages`, always
    ending with every layer randomized), or the layer names to stop after (None: every
    layer). ``keep`` maps per stage and method are kept for figures.

    ``stage_maps`` computes the stages' maps elsewhere (:data:`StageMaps`, e.g. one task
    per stage on a cluster's workers, each with a :class:`Cascade` of its own). By
    default every stage runs here, on one copy of the model whose weights are re-assigned in place, and
    each method's explainer of it is made once: its compiled functions are traced once,
    not once per stage, and its maps are those of an explainer of the stage's
    :func:`randomized_copy`.

    References: Adebayo, Gilmer, Muelly, Goodfellow, Hardt & Kim (2018), "Sanity checks
    for saliency maps" (cascading randomization; Spearman and SSIM similarity).
    """
    import pandas as pd

    order = _order(net)
    stops = _stops(order, stages)
    if targets is None:
        targets = Runner(net, batch_size=256).probabilities(net.preprocess(images)).argmax(axis=1)
    targets = np.asarray(targets)
    reference = {m: np.asarray(f(net).explain(images, targets)) for m, f in methods.items()}
    rows_s, rows_ssim = [], []
    kept = {m: [reference[m][:keep]] for m in methods}
    rows_s.append({m: 1.0 for m in methods})
    rows_ssim.append({m: 1.0 for m in methods})
    if stage_maps is None:
        staged = _stage_maps(Cascade(net, order, seed), methods, images, targets, stops)
    else:  # e.g. one task per stage on a cluster's workers
        staged = stage_maps(stops, images, targets)
    for _, by_method in zip(stops, staged, strict=True):
        s_row, ssim_row = {}, {}
        for m in methods:
            maps = np.asarray(by_method[m])
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
        images=np.asarray(images)[:keep],
    )


def _stage_maps(cascade: Cascade, methods: Mapping[str, Callable[[EmotionModel], object]],
                images, targets: np.ndarray, stops: Sequence[str]) -> Iterator[dict[str, np.ndarray]]:  # fmt: skip
    """Each stage's maps (method -> maps), from one explainer per method of the cascade's
    copy, made once for every stage."""
    explainers = {m: f(cascade.net) for m, f in methods.items()}
    for stop in stops:
        cascade.stage(stop)
        yield {m: np.asarray(e.explain(images, targets)) for m, e in explainers.items()}


@dataclass
class CheckFaces:
    """The faces of a sanity check: ``images`` (N, H, W) uint8, their cluster ids
    (``clusters``: the clip or photo each comes from, None: independent faces), what they
    are (``name``), and whether they are the synthetic stand-in (no anatomy to mesh)."""

    images: np.ndarray
    clusters: np.ndarray | None
    name: str
    synthetic: bool = False

    def __len__(self) -> int:
        return len(self.images)


def _spread(size: int, k: int) -> np.ndarray:
    """``k`` evenly spaced indices of ``range(size)``, both ends included (k <= size)."""
    return np.unique(np.linspace(0, size - 1, max(1, k)).round().astype(int))


def _pick_rows(n_rows: int, n: int, clusters: np.ndarray | None) -> np.ndarray:
    """Sorted rows: ``n`` evenly spaced ones; with ``clusters``, the ``n`` shared out among
    the clusters in turn (each in order of first appearance takes one more while it has
    rows left), and each cluster's share evenly spaced over its rows."""
    if clusters is None:
        return _spread(n_rows, n)
    ids, first = np.unique(clusters, return_index=True)
    ids = ids[np.argsort(first)]
    members = [np.flatnonzero(clusters == c) for c in ids]
    quota = [0] * len(members)
    while sum(quota) < n:
        for i, rows in enumerate(members):
            if quota[i] < len(rows) and sum(quota) < n:
                quota[i] += 1
    return np.sort(np.concatenate([rows[_spread(len(rows), q)]
                                   for rows, q in zip(members, quota, strict=True) if q]))  # fmt: skip


def check_faces(faces, n: int | None = None, *, name: str | None = None) -> CheckFaces:
    """``n`` faces of ``faces`` (all of them when ``n`` is None or at least their number):
    at evenly spaced rows, or, when the faces have clusters (the clip or photo each comes
    from), shared out among the clusters in turn and evenly spaced within each, so that a
    check on the frames of a clip and a few photos sees every photo and the whole clip.
    ``faces``: a FaceDataset, :class:`emonb.video.real_faces.RealFaces` (its ``clusters``
    kept), a :class:`CheckFaces`, or an image array (N, H, W). ``name`` (what the faces
    are, after "N faces of") overrides the picked faces' own ``name``."""
    images = np.asarray(getattr(faces, "images", faces))
    if images.ndim not in (3, 4) or not len(images):
        raise EmonbError(f"expected faces (N, H, W) with N >= 1, got {images.shape}")
    clusters = getattr(faces, "clusters", None)
    rows = np.arange(len(images))
    if n is not None and n < len(images):
        rows = _pick_rows(len(images), int(n), None if clusters is None else np.asarray(clusters))
    picked = faces.subset(rows) if hasattr(faces, "subset") else None  # named by what is picked
    label = name or getattr(picked, "name", None) or "the given faces"
    return CheckFaces(images=images[rows],
                      clusters=None if clusters is None else np.asarray(clusters)[rows],
                      name=str(label), synthetic=bool(getattr(faces, "synthetic", False)))  # fmt: skip


def map_similarity(reference: Mapping[str, np.ndarray], other: Mapping[str, np.ndarray], *,
                   clusters: np.ndarray | None = None, n_boot: int = 1000,
                   seed: int = 0) -> pd.DataFrame:  # fmt: skip
    """Per method (the keys of ``reference``), how similar its maps (N, H, W) are to the
    same method's maps of the same faces in ``other``: Spearman's rank correlation and SSIM
    (:func:`~emonb.metrics.stats.spearman`, :func:`~emonb.metrics.stats.ssim`, data range
    1: the maps are in [0, 1]) per face, their means with a 95% percentile bootstrap
    interval over faces (over ``clusters``, one id per face, when given: a cluster
    bootstrap, :func:`~emonb.metrics.stats.bootstrap_ci`; seeded ``seed + k`` for the k-th
    method). Identical maps give 1 and 1; maps that share nothing, about 0.

    DataFrame indexed by method: ``faces, spearman, spearman lo, spearman hi, ssim, ssim
    lo, ssim hi``.

    References: Adebayo et al. (2018), "Sanity checks for saliency maps".
    """
    import pandas as pd

    rows = {}
    for k, m in enumerate(reference):
        a, b = np.asarray(reference[m], np.float32), np.asarray(other[m], np.float32)
        if a.shape != b.shape or a.ndim != 3:
            raise EmonbError(f"{m}: maps {a.shape} and {b.shape} are not the same faces' maps")
        row: dict[str, float] = {"faces": len(a)}
        for metric, values in (("spearman", spearman(a, b)), ("ssim", ssim(a, b))):
            mean, lo, hi = bootstrap_ci(values, n_boot=n_boot, seed=seed + k, clusters=clusters)
            row.update({metric: mean, f"{metric} lo": lo, f"{metric} hi": hi})
        rows[m] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "method"
    return table.astype({"faces": int}) if len(table) else table


@dataclass
class DataRandomization:
    """Data-randomization results: ``table`` (:func:`map_similarity` per method), the class
    each face was explained for (``targets``), and for figures the first faces
    (``images``) with each method's maps for the model trained on the true labels
    (``maps``) and for the one trained on permuted labels (``permuted_maps``); ``faces``
    says which faces they are and ``left_out`` which methods were not run, with the reason
    (set by the caller, :func:`emonb.metrics.sanity.data_randomization_check`)."""

    table: pd.DataFrame
    targets: np.ndarray
    images: np.ndarray
    maps: dict[str, np.ndarray]
    permuted_maps: dict[str, np.ndarray]
    faces: str = ""
    left_out: dict[str, str] = field(default_factory=dict)


def data_randomization(
    net: EmotionModel,
    permuted: EmotionModel,
    images,
    methods: Mapping[str, Callable[[EmotionModel], object]],
    *,
    targets: np.ndarray | None = None,
    clusters: np.ndarray | None = None,
    keep: int = 4,
    n_boot: int = 1000,
    seed: int = 0,
) -> DataRandomization:
    """Each method's maps of ``images`` for ``net`` (trained on the true labels) against
    its maps for ``permuted`` (the same architecture trained with the same settings on
    permuted labels: :attr:`emonb.models.train.TrainConfig.permute_labels`), compared per
    face by :func:`map_similarity` (bootstrap over faces, or over ``clusters``).

    ``methods`` maps a name to a factory ``net -> explainer``, as for
    :func:`cascading_randomization`. Both models explain the same class per face,
    ``targets`` (default: ``net``'s predictions), so only the labels they learned from
    differ. ``keep`` faces' maps are kept for figures. Neither model is changed.

    References: Adebayo, Gilmer, Muelly, Goodfellow, Hardt & Kim (2018), "Sanity checks
    for saliency maps" (the data randomization test).
    """
    images = np.asarray(images)
    if tuple(net.spec.input_size) != tuple(permuted.spec.input_size):
        raise EmonbError(f"{net.name} and {permuted.name} see faces of different sizes "
                         f"({net.spec.input_size}, {permuted.spec.input_size}): their maps "
                         "cannot be compared")  # fmt: skip
    if targets is None:
        targets = Runner(net, batch_size=256).probabilities(net.preprocess(images)).argmax(axis=1)
    targets = np.asarray(targets)
    ref = {m: np.asarray(f(net).explain(images, targets), np.float32) for m, f in methods.items()}
    other = {m: np.asarray(f(permuted).explain(images, targets), np.float32)
             for m, f in methods.items()}  # fmt: skip
    table = map_similarity(ref, other, clusters=clusters, n_boot=n_boot, seed=seed)
    return DataRandomization(table=table, targets=targets, images=images[:keep],
                             maps={m: v[:keep] for m, v in ref.items()},
                             permuted_maps={m: v[:keep] for m, v in other.items()})  # fmt: skip


#: How :func:`random_logit` compares two maps.
SIMILARITIES = {"ssim": ssim, "spearman": spearman}


def random_logit(
    explain: Callable[[np.ndarray, np.ndarray], np.ndarray],
    x: np.ndarray,
    targets: np.ndarray,
    n_classes: int,
    *,
    seed: int = 0,
    maps: np.ndarray | None = None,
    similarity: str = "ssim",
    ids=None,
) -> np.ndarray:
    """Per image (N,), the similarity between its map for ``targets`` and its map for a
    random other class: lower = the map depends on the class.

    ``explain(x, classes) -> (N, H, W)`` takes preprocessed images (an explainer's
    ``explain_inputs``); ``maps`` = the maps for ``targets`` if already computed (then
    ``explain`` is called once, on the other classes). The other class of each image is
    drawn uniformly from the ``n_classes - 1`` classes that are not its target, seeded by
    ``seed`` and the image's id (``ids``, default 0..N-1).
    ``similarity`` is ``"ssim"`` (:func:`~emonb.metrics.stats.ssim`, data range 1: the
    methods' maps are in [0, 1]) or ``"spearman"`` (:func:`~emonb.metrics.stats.spearman`).

    Quantus's ``RandomLogit`` also defaults to SSIM, computed by scikit-image on the
    flattened maps with the data range of each pair; emonb keeps the maps 2-D, so the
    SSIM window looks at neighbourhoods of the face, and uses the fixed range of the
    maps.

    References: Sixt, Granz & Landgraf, "When Explanations Lie: Why Many Modified BP
    Attributions Fail", ICML 2020.
    """
    from emonb.errors import check_count

    n_classes = check_count("n_classes", n_classes, minimum=2)
    if similarity not in SIMILARITIES:
        raise EmonbError(f"unknown similarity {similarity!r}; choose one of "
                         f"{', '.join(SIMILARITIES)}")  # fmt: skip
    x = np.asarray(x, dtype=np.float32)
    targets = np.asarray(targets).astype(int).reshape(-1)
    if len(targets) != len(x) or ((targets < 0) | (targets >= n_classes)).any():
        raise EmonbError(f"targets must be {len(x)} class indices in [0, {n_classes})")
    draw = face_draws(seed, "random-logit", face_ids(ids, len(x)),
                      lambda g: g.integers(0, n_classes - 1)).astype(int).reshape(-1)  # fmt: skip
    others = draw + (draw >= targets)  # skips each image's own target
    ref = np.asarray(explain(x, targets) if maps is None else maps, dtype=np.float32)
    off = np.asarray(explain(x, others), dtype=np.float32)
    if ref.shape != off.shape or ref.shape != x.shape[:3]:
        raise EmonbError(f"maps {ref.shape} do not match the images {x.shape[:3]}")
    return SIMILARITIES[similarity](ref, off).astype(np.float32)
