"""The book's claims under every reasonable analysis: the robustness table.

Four families of claims, each measured on real faces (their mesh accepted) for each model:

* **regions**: the seed paper's and human observers' region contrasts
  (:data:`emonb.metrics.regions.CLAIMS`, "happy: mouth > eyes", ...), the per-face difference
  of the two regions' evidence;
* **FACS agreement**: per emotion with an EMFACS prototype, the score of
  :func:`emonb.metrics.facs.agreement` (null 0.5: the prototype's AUs rank no higher than the
  others);
* **AU use**: per emotion and each measured AU of its prototype, the occlusion drop of the AU's
  region on faces showing the AU minus faces not showing it (:func:`emonb.metrics.au_use.au_use`);
* **ranking**: Grad-CAM against a centred Gaussian and against plain saliency, the per-face
  difference of insertion minus deletion (Petsiuk et al. 2018).

The analyses are the axes of :class:`ClaimSettings`: the AU map (``appearance`` / ``muscle``),
the region layout for the region claims (each face's mesh regions / the canonical boxes), the
evidence (occlusion drop / Grad-CAM), the CAM layer (the model's default / another), the
perturbation baseline (blur / mean / noisy linear imputation for occlusion; blur / mean for the
curves), the grouping of faces (predicted / true label) and the model. An axis that does not
apply to an evidence is left empty. :func:`claim_table` returns the
:func:`emonb.metrics.verdicts.verdict_table`; :func:`emonb.metrics.verdicts.summarize` gives
each claim's summary.

The per-face values (drops, shares, enrichments, curve gaps:
:mod:`~emonb.metrics.claim_values`) are computed in chunks of faces on any executor
(:mod:`emonb.engine`: in this process by default, or on Dask workers) and joined in face
order; the rows and their bootstrap intervals are computed by the caller's process.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from emonb.anatomy.au_maps import AU_MAPS
from emonb.engine import Executor, InProcess
from emonb.errors import EmonbError
from emonb.metrics.au_use import au_use
from emonb.metrics.chunks import task_faces
from emonb.metrics.claim_values import (
    LAYOUTS,
    REFERENCE_MAPS,
    ClaimJob,
    ClaimTools,
    claim_values,
    face_chunks,
    join_values,
    region_names,
    value_key,
)
from emonb.metrics.facs import agreement, emfacs
from emonb.metrics.regions import CLAIMS, MIN_FACES
from emonb.metrics.stats import bootstrap_ci
from emonb.metrics.verdicts import verdict_table
from emonb.models.cam_layer import default_cam_layer
from emonb.models.runner import predict_proba
from emonb.models.shipping import ModelRef
from emonb.models.zoo import EmotionModel

if TYPE_CHECKING:
    import pandas as pd

    from emonb.metrics.result import MapEvaluation
    from emonb.metrics.settings import EvaluationSettings

__all__ = ["QUICK_N_BOOT", "ClaimSettings", "claim_table", "evaluation_claims"]

#: Bootstrap resamples in quick mode (:meth:`ClaimSettings.capped`).
QUICK_N_BOOT = 100


@dataclass(frozen=True)
class ClaimSettings:
    """The analyses every claim is judged under, and the statistics' knobs."""

    au_maps: tuple[str, ...] = AU_MAPS
    #: CAM layers of Grad-CAM; None is the model's default layer.
    cam_layers: tuple[str | None, ...] = (None, "conv2d_7")
    occlusion_baselines: tuple[str, ...] = ("blur", "mean", "nli")
    curve_baselines: tuple[str, ...] = ("blur", "mean")
    groupings: tuple[str, ...] = ("predicted", "true")
    layouts: tuple[str, ...] = ("mesh", "boxes")
    steps: int = 16
    n_boot: int = 1000
    seed: int = 0

    def for_model(self, net: EmotionModel) -> ClaimSettings:
        """These settings with only the CAM layers ``net`` has: a named layer it lacks
        (``conv2d_7`` is the mini-Xception's) is left out; None, the model's default, stays."""
        from emonb.models.graph import conv_layers

        have = set(conv_layers(net.model))
        have |= {n.rsplit("/", 1)[-1] for n in have}
        return replace(self, cam_layers=tuple(c for c in self.cam_layers if c is None or c in have))

    def capped(self, quick: bool | None = None) -> ClaimSettings:
        """These settings in quick mode (``quick``; None: ``$EMONB_QUICK``): the first CAM
        layer, occlusion baseline and curve baseline only, and at most
        :data:`QUICK_N_BOOT` resamples (a pipeline check, not a verdict); unchanged
        otherwise."""
        from emonb import config

        if not (config.is_quick() if quick is None else quick):
            return self
        return replace(self, cam_layers=self.cam_layers[:1],
                       occlusion_baselines=self.occlusion_baselines[:1],
                       curve_baselines=self.curve_baselines[:1],
                       n_boot=min(self.n_boot, QUICK_N_BOOT))  # fmt: skip


def _boot(values: np.ndarray, clusters, n_boot: int, seed: int) -> tuple[float, float, float]:
    if clusters is None:
        return bootstrap_ci(values, n_boot=n_boot, seed=seed)
    return bootstrap_ci(values, n_boot=n_boot, seed=seed, clusters=clusters)


class _Rows:
    """The rows of one model's claims: its groupings, class names and clusters, bound once."""

    def __init__(self, base: dict, groups: dict[str, np.ndarray], names: list[str],
                 clusters: np.ndarray | None, s: ClaimSettings) -> None:  # fmt: skip
        self.base, self.groups, self.names, self.clusters, self.s = base, groups, names, clusters, s
        self.rows: list[dict] = []

    def _cl(self, sel: np.ndarray | None = None) -> dict:
        if self.clusters is None:
            return {}
        return {"clusters": self.clusters if sel is None else self.clusters[sel]}

    def regions(self, values: Mapping[str, np.ndarray], axes: dict) -> None:
        """The region contrasts of :data:`~emonb.metrics.regions.CLAIMS`."""
        s = self.s
        for grouping, g in self.groups.items():
            for k, (emotion, first, second, source) in enumerate(CLAIMS):
                if emotion not in self.names:
                    continue
                sel = g == self.names.index(emotion)
                diff = values[first][sel] - values[second][sel]
                mean, lo, hi = bootstrap_ci(diff, n_boot=s.n_boot, seed=s.seed + k, **self._cl(sel))
                self.rows.append({"claim": f"{emotion}: {first} > {second}", "source": source,
                                  "family": "regions", **self.base, **axes, "grouping": grouping,
                                  "estimate": mean, "lo": lo, "hi": hi,
                                  "faces": int(np.isfinite(diff).sum())})  # fmt: skip

    def agreement(self, values: np.ndarray, regions: Sequence[str], axes: dict) -> None:
        """Each emotion's FACS agreement (the map's own EMFACS prototypes)."""
        for grouping, g in self.groups.items():
            table = agreement(values, g, self.names, names=regions, n_boot=self.s.n_boot,
                              seed=self.s.seed, **self._cl())  # fmt: skip
            for _, r in table.iterrows():
                self.rows.append({"claim": f"{r['emotion']}: evidence on its FACS prototype",
                                  "source": "EMFACS (Friesen & Ekman 1983)",
                                  "family": "FACS agreement", **self.base, **axes,
                                  "grouping": grouping, "estimate": r["score"], "lo": r["lo"],
                                  "hi": r["hi"], "null": 0.5, "faces": int(r["faces"])})  # fmt: skip

    def use(self, drops: np.ndarray, regions: Sequence[str], activity, au_map: str, axes: dict) -> None:
        """Per emotion and measured AU of its prototype: evidence where the face shows it
        minus where it does not."""
        import pandas as pd

        evidence = pd.DataFrame(drops, columns=list(regions))
        proto = emfacs(au_map)
        for grouping, g in self.groups.items():
            use = au_use(evidence, activity, g, self.names, n_boot=self.s.n_boot,
                         seed=self.s.seed, au_map=au_map, **self._cl())  # fmt: skip
            for _, r in use.iterrows():
                if r["region"] not in proto.get(r["emotion"], ()):
                    continue
                self.rows.append({"claim": f"{r['emotion']}: uses {r['region']} where the face shows {r['au']}",
                                  "source": "FACS; AU activity from the mesh", "family": "AU use",
                                  **self.base, **axes, "grouping": grouping,
                                  "estimate": r["difference"], "lo": r["lo"], "hi": r["hi"],
                                  "faces": int(min(r["n_active"], r["n_inactive"]))})  # fmt: skip

    def ranking(self, other: str, diff: np.ndarray, axes: dict) -> None:
        mean, lo, hi = bootstrap_ci(diff, n_boot=self.s.n_boot, seed=self.s.seed, **self._cl())
        self.rows.append({"claim": f"Grad-CAM is more faithful than {other}",
                          "source": "chapter 08's ranking", "family": "ranking", **self.base,
                          "evidence": "insertion - deletion", **axes, "estimate": mean,
                          "lo": lo, "hi": hi, "faces": int(np.isfinite(diff).sum())})  # fmt: skip


def claim_table(
    models: Mapping[str, EmotionModel],
    images: np.ndarray,
    landmarks_xy: np.ndarray,
    *,
    labels: np.ndarray | None = None,
    clusters: np.ndarray | None = None,
    activity=None,
    settings: ClaimSettings = ClaimSettings(),
    log: Callable[[str], None] | None = None,
    executor: Executor | None = None,
    chunk: int | None = None,
) -> pd.DataFrame:
    """Every claim under every analysis of ``settings`` for each of ``models`` on the faces
    ``images`` (N, H, W[, C] uint8 crops, all accepted by the mesh) with mesh points
    ``landmarks_xy`` (N, 468, 2, in the pixels of ``images``).

    ``labels``: true class per face (the ``true`` grouping; without them only ``predicted``);
    ``clusters``: a source id per face (clip or photo): intervals resample sources, not
    frames; ``activity``: (N, K) AU activity z-scores (DataFrame, columns the measured AUs,
    :class:`emonb.anatomy.activity.AUActivity`) for the AU-use claims (left out when None).
    Returns :func:`emonb.metrics.verdicts.verdict_table`'s table: one row per claim and
    analysis, the axes that do not apply to its evidence left empty.

    The per-face work (:func:`~emonb.metrics.claim_values.claim_values`: drops, shares,
    enrichments, curve gaps) runs on ``executor`` (None: in this process) in chunks of
    ``chunk`` faces (None: one chunk in this process, about four per worker on a cluster),
    each face's draws seeded by its position in ``images``; the predictions, the rows and
    their bootstrap intervals are computed here. The numbers do not depend on the chunks
    (up to float rounding of other batch sizes).
    """
    images = np.asarray(images)
    n = len(images)
    if len(landmarks_xy) != n or (labels is not None and len(labels) != n) or (
            clusters is not None and len(clusters) != n) or (activity is not None and len(activity) != n):
        raise EmonbError("images, landmarks, labels, clusters and activity must hold the same faces")
    say = log or (lambda _m: None)
    executor = InProcess() if executor is None else executor
    local = isinstance(executor, InProcess)
    xy = np.asarray(landmarks_xy)
    ids = np.arange(n)
    all_rows: list[dict] = []
    for model_name, net in models.items():
        s = settings.for_model(net)  # a named CAM layer the model lacks is left out
        pred = predict_proba(net, images).argmax(axis=1)
        groups = {"predicted": pred}
        if labels is not None:
            groups["true"] = np.asarray(labels)
        groups = {g: v for g, v in groups.items() if g in s.groupings}
        rows = _Rows({"model": model_name}, groups, list(net.class_names),
                     None if clusters is None else np.asarray(clusters), s)  # fmt: skip
        job = ClaimJob(ModelRef(net), s, ClaimTools(net, s.seed) if local else None)
        parts = face_chunks(images, xy, pred, ids, task_faces(executor, chunk, n))
        layers = [_layer_label(net, layer) for layer in s.cam_layers]
        say(f"{model_name}: occlusion with the {', '.join(s.occlusion_baselines)} baseline(s)"
            + (f", Grad-CAM at {', '.join(layers)}" if layers else "")
            + f" ({n} faces in {len(parts)} chunk(s)"
            + ("" if local else f" on {executor.record()['workers']} workers") + ")")  # fmt: skip
        values = join_values(executor.map(claim_values, parts, shared=job, label="claims"))
        _model_rows(rows, values, s, activity, layers)
        all_rows += rows.rows
    return verdict_table(all_rows, min_faces=MIN_FACES)


def _layer_label(net: EmotionModel, layer: str | None) -> str:
    """A CAM layer as the table names it: the default's resolved name, "(default)"."""
    return f"{default_cam_layer(net).name} (default)" if layer is None else layer


def _model_rows(rows: _Rows, values: Mapping[tuple, np.ndarray], s: ClaimSettings, activity,
                cam_labels: Sequence[str]) -> None:  # fmt: skip
    """One model's rows from its per-face ``values``
    (:func:`~emonb.metrics.claim_values.join_values`), in the order of the analyses;
    ``cam_labels``: the table's name of each CAM layer of ``s``."""
    layouts = [lay for lay in LAYOUTS if lay in s.layouts]
    for b in s.occlusion_baselines:
        for lay in layouts:
            drops = values[value_key("occlusion", b, lay)]
            rows.regions({r: drops[:, i] for i, r in enumerate(region_names(lay))},
                         {"evidence": "occlusion", "baseline": b, "regions": lay})  # fmt: skip
        for au_map in s.au_maps:
            drops = values[value_key("occlusion", b, au_map)]
            axes = {"evidence": "occlusion", "baseline": b, "au_map": au_map}
            rows.agreement(drops, region_names(au_map), axes)
            if activity is not None:
                rows.use(drops, region_names(au_map), activity, au_map, axes)
    for layer, label in zip(s.cam_layers, cam_labels, strict=True):
        for lay in layouts:
            shares = values[value_key("Grad-CAM share", layer, lay)]
            rows.regions({r: shares[:, i] for i, r in enumerate(region_names(lay))},
                         {"evidence": "Grad-CAM share", "cam_layer": label, "regions": lay})  # fmt: skip
        for au_map in s.au_maps:
            rows.agreement(values[value_key("Grad-CAM enrichment", layer, au_map)],
                           region_names(au_map),
                           {"evidence": "Grad-CAM enrichment", "cam_layer": label, "au_map": au_map})  # fmt: skip
        for b in s.curve_baselines:
            gap = values[value_key("gap", layer, b)]
            for other in REFERENCE_MAPS:
                rows.ranking(other, gap - values[value_key("reference gap", other, b)],
                             {"cam_layer": label, "baseline": b})  # fmt: skip


def evaluation_claims(net: EmotionModel, faces, evaluation: MapEvaluation,
                      settings: EvaluationSettings, claims: ClaimSettings = ClaimSettings(),
                      log: Callable[[str], None] | None = None, *,
                      executor: Executor | None = None, chunk: int | None = None,
                      ) -> pd.DataFrame:  # fmt: skip
    """:func:`claim_table` of ``net`` alone on the faces an :func:`~emonb.metrics.evaluate.evaluate_maps`
    run explained (``evaluation``, made from ``faces`` with ``settings``) that the mesh
    accepted, with their true labels and AU activity
    (:func:`emonb.anatomy.activity.face_activity`), under ``claims`` (its AU maps those
    of ``settings``, its seed ``settings.seed``, its CAM layers those ``net`` has:
    :meth:`ClaimSettings.for_model`). The evaluation must have meshed the faces
    (``regions="mesh"``, real faces). The per-face work runs on ``executor`` in chunks of
    ``chunk`` faces, as :func:`claim_table`'s."""
    from emonb.anatomy.activity import face_activity
    from emonb.metrics.evaluate import explained_faces

    if evaluation.au is None:
        raise EmonbError("the claims need the faces' mesh: evaluate with regions='mesh' on "
                         "real faces")  # fmt: skip
    data = explained_faces(faces, settings)
    ok = np.asarray(evaluation.au.accepted, bool)
    if len(data) != len(ok):
        raise EmonbError(f"the evaluation explained {len(ok)} faces; these settings give {len(data)}")
    xy = evaluation.au.landmarks.xy[ok]
    return claim_table({net.name: net}, data.images[ok], xy, labels=data.labels[ok],
                       activity=face_activity(xy),
                       settings=replace(claims.for_model(net), au_maps=tuple(settings.au_maps),
                                        seed=settings.seed),
                       log=log, executor=executor, chunk=chunk)  # fmt: skip
