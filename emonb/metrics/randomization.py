"""Randomization: do the maps depend on what the model learned?

**Cascading model randomization** (Adebayo et al. 2018, "Sanity checks for saliency
maps"): the weights of the layers are re-drawn from the top layer down, one stage at a
time, on a *copy* of the model; a map that stays similar (Spearman rank correlation,
SSIM: :mod:`emonb.metrics.stats`) to the map of the trained model does not depend on
what the model learned.

**Random logit** (Sixt et al. 2020): the map for the target class against the map for a
random other class of the same image; a map that stays similar does not depend on the
class it is said to explain.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from emonb._tf import keras
from emonb.errors import EmonbError
from emonb.metrics.stats import spearman, ssim
from emonb.models import graph
from emonb.models.runner import Runner
from emonb.models.zoo import EmotionModel

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Randomization",
    "cascading_randomization",
    "random_logit",
    "randomization_stages",
    "randomized_copy",
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
    spearman: pd.DataFrame
    ssim: pd.DataFrame
    maps: dict[str, list[np.ndarray]] = field(default_factory=dict)

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
    ending with every layer randomized), or the layer names to stop after (None: every
    layer). ``keep`` maps per stage and method are kept for figures.

    References: Adebayo, Gilmer, Muelly, Goodfellow, Hardt & Kim (2018), "Sanity checks
    for saliency maps" (cascading randomization; Spearman and SSIM similarity).
    """
    import pandas as pd

    order = randomization_stages(net.model)
    if not order:
        raise EmonbError(f"{net.name} has no convolutional or dense layer to randomize")
    stops = _stops(order, stages)
    if targets is None:
        targets = Runner(net, batch_size=256).probabilities(net.preprocess(images)).argmax(axis=1)
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
) -> np.ndarray:
    """Per image (N,), the similarity between its map for ``targets`` and its map for a
    random other class: lower = the map depends on the class.

    ``explain(x, classes) -> (N, H, W)`` takes preprocessed images (an explainer's
    ``explain_inputs``); ``maps`` = the maps for ``targets`` if already computed (then
    ``explain`` is called once, on the other classes). The other class of each image is
    drawn uniformly from the ``n_classes - 1`` classes that are not its target, seeded.
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
    draw = np.random.default_rng(seed).integers(0, n_classes - 1, size=len(x))
    others = draw + (draw >= targets)  # skips each image's own target
    ref = np.asarray(explain(x, targets) if maps is None else maps, dtype=np.float32)
    off = np.asarray(explain(x, others), dtype=np.float32)
    if ref.shape != off.shape or ref.shape != x.shape[:3]:
        raise EmonbError(f"maps {ref.shape} do not match the images {x.shape[:3]}")
    return SIMILARITIES[similarity](ref, off).astype(np.float32)
