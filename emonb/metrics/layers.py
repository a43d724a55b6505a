"""Which layer should a CAM read? Measured, not assumed: deletion/insertion (and ROAD) of
the CAM-family methods at every convolutional layer with a spatial output.

:func:`layer_sweep` scores each method of :func:`layered_methods` (the registry's methods
that take ``layer=``) at every layer of :func:`sweep_layers`, with the faces, targets and
per-face metric objects of :func:`~emonb.metrics.evaluate.evaluate_maps` (its sample,
:func:`~emonb.metrics.evaluate.explained_sample`; :class:`~emonb.metrics.suite.DeletionInsertion`
and :class:`~emonb.metrics.suite.Road` built by :func:`~emonb.metrics.suite.per_face_metrics`
from the same :class:`~emonb.metrics.settings.EvaluationSettings`) and its bootstrap
(:func:`~emonb.metrics.stats.bootstrap_ci`, seeded as the ranked table seeds the first
method's columns). So a row is exactly what ``evaluate_maps(methods=[method], settings=...)``
reports for that method with ``method_settings={method: {"layer": layer}}``.

:func:`choose_cam_layer` picks the layer with the highest mean insertion minus deletion;
:func:`layer_comparison` sets the layers side by side, one column each (with, optionally,
the column of the layer an :func:`~emonb.metrics.evaluate.evaluate_maps` table used).
Choose on one split and report on another (``benchmarks/cam_layers.py``: Training, then
PublicTest): the maximum of many noisy means is biased upwards on the faces it was chosen on.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from emonb.errors import EmonbError
from emonb.methods import METHODS
from emonb.metrics.evaluate import explained_sample, method_factory
from emonb.metrics.ranking import METRICS
from emonb.metrics.settings import EvaluationSettings
from emonb.metrics.stats import bootstrap_ci
from emonb.metrics.suite import Context, DeletionInsertion, Explained, Road, per_face_metrics
from emonb.models import graph
from emonb.models.runner import Runner, class_probability

if TYPE_CHECKING:
    import pandas as pd

    from emonb.models.zoo import EmotionModel

__all__ = ["SWEEP_METHODS", "choose_cam_layer", "layer_comparison", "layer_sweep", "layer_table",
           "layered_methods", "sweep_layers"]  # fmt: skip

#: The methods swept when none are named: Grad-CAM, Grad-CAM++ and Layer-CAM (one
#: backward pass each; Score-CAM and Ablation-CAM run the model once per channel).
SWEEP_METHODS = ("gradcam", "gradcam_plus_plus", "layercam")
#: The ranked table's columns a row reports, and the keys they take in a row.
_COLUMNS = {"insertion - deletion": "insertion_minus_deletion", "ROAD (LeRF - MoRF)": "road_gap"}


def layered_methods() -> tuple[str, ...]:
    """The registry's CAM-family methods: those whose explainer takes ``layer=``
    (``uses_layer``: every :class:`~emonb.methods.cam.BaseCAM` and guided Grad-CAM), in
    registry order."""
    return tuple(name for name, cls in METHODS.items() if cls.uses_layer)


def sweep_layers(net: EmotionModel, layers: str | Sequence[str] = "all",
                 runner: Runner | None = None) -> list[str]:  # fmt: skip
    """The layers a sweep visits, input to output: ``"all"``, every convolutional layer with
    a spatial output (:func:`emonb.models.graph.spatial_conv_layers`), or the named ones
    (qualified names, or unique bare names), in the order given. A name that is not such a
    layer is an error listing the valid ones."""
    runner = runner or Runner(net)
    spatial = graph.spatial_conv_layers(net.model, runner.output_shapes)
    if not spatial:
        raise EmonbError(f"model {net.name!r} has no convolutional layer with a spatial output")
    if isinstance(layers, str) and layers == "all":
        return spatial
    names = [layers] if isinstance(layers, str) else list(layers)
    if not names:
        raise EmonbError("no layers named for the layer sweep")
    bare: dict[str, list[str]] = {}
    for n in spatial:
        bare.setdefault(n.rsplit("/", 1)[-1], []).append(n)
    out = []
    for name in names:
        if name in spatial:
            out.append(name)
        elif len(bare.get(name, ())) == 1:
            out.append(bare[name][0])
        else:
            raise EmonbError(f"unknown layer {name!r}: the convolutional layers of {net.name} "
                             f"with a spatial output are {', '.join(spatial)} (or 'all')")  # fmt: skip
    return list(dict.fromkeys(out))


def layer_sweep(
    net: EmotionModel,
    faces_or_images,
    *,
    methods: Sequence[str] = SWEEP_METHODS,
    layers: str | Sequence[str] = "all",
    settings: EvaluationSettings | None = None,
    road: bool = True,
    references: Sequence[str] = (),
    log: Callable[[str], None] | None = print,
) -> list[dict]:
    """Each CAM-family method of ``methods`` at each layer of ``layers``, scored on faces.

    ``faces_or_images``: a FaceDataset, sampled as :func:`~emonb.metrics.evaluate.evaluate_maps`
    samples it (``settings.n`` faces of ``settings.split``, stratified, seeded), or images
    (N, H, W[, C]), all of them, labelled by their prediction (for ROAD's stratified
    sample). Faces are explained for their predicted class. ``settings`` (default: its
    defaults; quick mode: :meth:`~emonb.metrics.settings.EvaluationSettings.capped`) gives
    the sample, ``steps``, ``baseline``, ``n_road``, ``road_fractions``, ``road_noise``, the
    ``seed`` and each method's constructor arguments (``method_settings``; ``layer`` is set
    by the sweep). ``road=False`` leaves ROAD out (its imputation is the costly part).
    ``references``: methods that take no layer (e.g. ``"centre"``, ``"occlusion"``), scored
    once each on the same faces for comparison, after the sweep (rows with ``layer`` and
    ``shape`` None).

    A method that takes no layer is an error (:func:`layered_methods` lists those that do).
    Returns one row per (method, layer), methods in the order given, layers input to output:
    ``{method, layer, shape (h, w, channels), faces, insertion_minus_deletion: {mean, lo,
    hi}, deletion_auc, insertion_auc, road_gap: {mean, lo, hi} or None, road_faces,
    seconds}``; intervals are 95% bootstrap intervals over faces.
    """
    s = settings if settings is not None else EvaluationSettings()
    say = log or (lambda _msg: None)
    cams = layered_methods()
    wrong = [m for m in methods if m not in cams]
    for m in references:
        method_factory(m)  # an unknown name is an error listing the valid ones
        if m in cams:
            raise EmonbError(f"reference {m!r} takes a layer: sweep it (methods=) instead")
    if wrong or not methods:
        raise EmonbError(f"the layer sweep takes CAM-family methods (their explainers take "
                         f"layer=), not {', '.join(map(repr, wrong)) or 'none'}; choose from "
                         f"{', '.join(cams)}")  # fmt: skip
    if isinstance(faces_or_images, np.ndarray):
        images = faces_or_images
        runner = Runner(net, batch_size=256)
        x = net.preprocess(images)
        predicted = runner.probabilities(x).argmax(axis=1)
        context = Context(net, x, predicted, predicted, class_probability(runner), s.seed)
        what = f"{len(images)} images"
    else:
        pool, rows, runner, context = explained_sample(net, faces_or_images, s)
        images = pool.subset(rows).images
        what = f"{len(images)} {faces_or_images.name} faces ({s.split or 'all rows'})"
    names = sweep_layers(net, layers, runner)
    metrics = [m for m in per_face_metrics(s)
               if isinstance(m, DeletionInsertion) or (road and isinstance(m, Road))]  # fmt: skip
    say(f"layer sweep: {', '.join(methods)} at {len(names)} layers on {what}; "
        f"{s.steps} deletion/insertion steps, baseline {s.baseline}"
        + (f", ROAD on {len(context.sample(s.n_road))} faces" if road else ""))  # fmt: skip
    settings_of = dict(s.method_settings or {})
    seeds = {metric.name: j for j, metric in enumerate(METRICS)}
    runs = [(m, layer) for m in methods for layer in names]
    runs += [(m, None) for m in references]
    out = []
    for m, layer in runs:
        t0 = time.perf_counter()
        kwargs = dict(settings_of.get(m, {}), **({} if layer is None else {"layer": layer}))
        explainer = method_factory(m, s.seed, kwargs)(net)
        maps = np.asarray(explainer.explain(images, context.targets), dtype=np.float32)
        explained = Explained(m, maps, explainer)
        values: dict[str, np.ndarray] = {}
        for metric in metrics:
            values.update(metric(context, explained).values)
        shape = None if layer is None else list(runner.output_shape(layer))
        row = {"method": m, "layer": layer, "shape": shape, "faces": len(images)}
        for column, key in _COLUMNS.items():
            if column in values:
                # the seed the ranked table gives this column of its first method
                mean, lo, hi = bootstrap_ci(values[column], seed=s.seed + seeds[column])
                row[key] = {"mean": mean, "lo": lo, "hi": hi}
            else:
                row[key] = None
        row["deletion_auc"] = float(np.nanmean(values["deletion AUC"]))
        row["insertion_auc"] = float(np.nanmean(values["insertion AUC"]))
        row["road_faces"] = len(context.sample(s.n_road)) if road else 0
        row["seconds"] = round(time.perf_counter() - t0, 2)
        out.append(row)
        d = row["insertion_minus_deletion"]
        where = "" if layer is None else f" at {layer} {tuple(shape)}"
        say(f"  {m}{where}: insertion - deletion {d['mean']:.3f} [{d['lo']:.3f}, {d['hi']:.3f}], "
            f"{row['seconds']:.1f} s")  # fmt: skip
    return out


def choose_cam_layer(rows: Sequence[dict], method: str = "gradcam") -> str:
    """The layer at which ``method`` scores the highest mean insertion minus deletion among
    ``rows`` (:func:`layer_sweep`'s). The rule: highest mean (not the interval); a tie goes
    to the later layer, the one nearer the output (rows are taken in the sweep's order,
    input to output). Rows with no finite mean are ignored; no row of ``method`` is an error."""
    best, best_mean = None, -math.inf
    mine = [r for r in rows if r["method"] == method and r.get("layer") is not None]
    for r in mine:
        mean = r["insertion_minus_deletion"]["mean"]
        if mean is not None and math.isfinite(mean) and mean >= best_mean:
            best, best_mean = r["layer"], mean
    if best is None:
        have = sorted({r["method"] for r in rows})
        raise EmonbError(f"no layer-sweep scores for {method!r}"
                         + (f" ({len(mine)} rows, none finite)" if mine else
                            f"; the sweep has {', '.join(have) or 'no methods'}"))  # fmt: skip
    return best


def layer_table(rows: Sequence[dict]) -> pd.DataFrame:
    """The sweep as a table, one row per (method, layer): the shape, insertion minus deletion
    with its interval, the two AUCs, and ROAD with its interval where measured."""
    import pandas as pd

    table = []
    for r in rows:
        d, g = r["insertion_minus_deletion"], r.get("road_gap")
        shape = "" if r["shape"] is None else "x".join(map(str, r["shape"]))
        row = {"method": r["method"], "layer": r["layer"] or "", "shape": shape,
               "ins - del": d["mean"], "lo": d["lo"], "hi": d["hi"],
               "deletion": r["deletion_auc"], "insertion": r["insertion_auc"]}  # fmt: skip
        if g is not None:
            row.update({"ROAD": g["mean"], "ROAD lo": g["lo"], "ROAD hi": g["hi"]})
        table.append(row)
    return pd.DataFrame(table)


def layer_comparison(rows: Sequence[dict], table: pd.DataFrame | None = None,
                     layer: str | None = None, *, value: str = "insertion_minus_deletion",
                     decimals: int = 3) -> pd.DataFrame:  # fmt: skip
    """Each method's score at each layer, side by side: one row per method (in the order
    met), one column per layer (likewise; a method without a layer, a reference, goes in
    the column ``"no layer"``), each cell ``"mean [lo, hi]"`` of ``value`` (a key of
    :func:`layer_sweep`'s rows: ``"insertion_minus_deletion"`` or ``"road_gap"``) rounded to
    ``decimals``; empty where not measured.

    ``table`` and ``layer``: an :func:`~emonb.metrics.evaluate.evaluate_maps` ranked table
    and the layer its CAM-family methods read (its ``settings["cam_layer"]``): that layer's
    column comes first, from the table, for the methods of ``rows`` (the same means as a
    sweep at that layer gives; the intervals are the table's bootstrap, seeded per row)."""
    import pandas as pd

    column = {"insertion_minus_deletion": "insertion - deletion",
              "road_gap": "ROAD (LeRF - MoRF)"}  # fmt: skip
    if value not in column:
        raise EmonbError(f"value must be one of {', '.join(column)}, not {value!r}")

    def cell(mean: float, lo: float, hi: float) -> str:
        return f"{mean:.{decimals}f} [{lo:.{decimals}f}, {hi:.{decimals}f}]"

    cells: dict[str, dict[str, str]] = {}
    if (table is None) != (layer is None):
        raise EmonbError("give both the evaluate_maps table and the layer its methods read, or neither")
    if table is not None:
        name = column[value]
        lo, hi = ("lo", "hi") if value == "insertion_minus_deletion" else (f"{name} lo", f"{name} hi")
        for r in rows:
            m = r["method"]
            if r.get("layer") is not None and m in table.index and name in table:
                t = table.loc[m]
                cells.setdefault(m, {})[layer] = cell(t[name], t[lo], t[hi])
    for r in rows:
        d = r.get(value)
        if d is not None:
            cells.setdefault(r["method"], {})[r.get("layer") or "no layer"] = cell(
                d["mean"], d["lo"], d["hi"])
    out = pd.DataFrame.from_dict(cells, orient="index").fillna("")
    out.index.name, out.columns.name = "method", value.replace("_", " ")
    return out
