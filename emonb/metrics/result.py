"""What :func:`~emonb.metrics.evaluate.evaluate_maps` returns: :class:`MapEvaluation`, and
its ranked table (:func:`ranked_table`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from emonb.metrics.ranking import summary_table
from emonb.records import json_safe

if TYPE_CHECKING:
    import pandas as pd

    from emonb.metrics.action_units import AUEvidence
    from emonb.metrics.perturbation import Curves
    from emonb.metrics.randomization import Randomization

__all__ = ["MapEvaluation", "ranked_table"]


@dataclass
class MapEvaluation:
    """Everything :func:`~emonb.metrics.evaluate.evaluate_maps` measured; ``table`` is the ranked summary.

    With mesh regions, ``regions``, ``claims`` and ``focus`` use each face's own anatomy;
    ``claims_canonical`` tests the same claims with the canonical boxes on the same faces,
    ``changes`` lists the claims whose verdict differs between the two, and ``au`` is the
    evidence per FACS action unit of the explained faces on the first map of action-unit
    regions, ``au_by_map`` on each map measured (:data:`emonb.anatomy.au_maps.AU_MAPS`).
    ``au_activity`` is :func:`~emonb.metrics.activity.activity_auc` of the explained faces'
    AU activity (:func:`emonb.anatomy.activity.face_activity`) against their true labels,
    and ``au_use`` per map :func:`~emonb.metrics.au_use.au_use` of ``au_by_map``'s
    occlusion drops by predicted emotion. With canonical regions those are None."""

    table: pd.DataFrame
    curves: dict[str, dict[str, Curves]]
    randomization: Randomization
    regions: pd.DataFrame
    claims: pd.DataFrame
    focus: pd.DataFrame
    pointing: pd.DataFrame | None
    settings: dict
    seconds: dict
    claims_canonical: pd.DataFrame | None = None
    changes: pd.DataFrame | None = None
    au: AUEvidence | None = None
    agreement: pd.DataFrame | None = None
    au_by_map: dict[str, AUEvidence] | None = None
    au_activity: pd.DataFrame | None = None
    au_use: dict[str, pd.DataFrame] | None = None

    def to_json(self) -> dict:
        """Plain-JSON form (tables as records, mean curves, settings and timings).
        ``"action_units"`` holds the first map's :meth:`AUEvidence.to_json` and, under each
        map's name (``"appearance"``, ``"muscle"``), its :meth:`AUEvidence.map_json`: the
        occlusion drops as emotion -> action unit -> ``{"mean", "lo", "hi"}`` by prediction.
        Only where the faces were meshed (they are absent otherwise): ``"au_activity"``, AU
        -> emotion -> ``{"auc", "lo", "hi"}`` (:func:`~emonb.metrics.activity.auc_nested`),
        and ``"au_use"``, map -> region -> emotion -> ``{"active", "inactive",
        "difference", "lo", "hi", ...}`` (:func:`~emonb.metrics.au_use.au_use_nested`)."""
        from emonb.metrics.activity import auc_nested
        from emonb.metrics.au_use import au_use_nested

        def records(df):
            return None if df is None else json_safe(df.reset_index().to_dict(orient="records"))

        measured = {}
        if self.au_activity is not None:
            measured["au_activity"] = json_safe(auc_nested(self.au_activity))
        if self.au_use is not None:
            measured["au_use"] = {m: au_use_nested(t) for m, t in self.au_use.items()}
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
            "claims_canonical": records(self.claims_canonical),
            "changes": records(self.changes),
            "action_units": None if self.au is None else {
                **self.au.to_json(),
                **{m: ev.map_json() for m, ev in (self.au_by_map or {}).items()}},
            "metric_agreement": records(self.agreement),
            **measured,
        }


def ranked_table(values: Mapping[str, Mapping[str, np.ndarray]], rand: Randomization, pointing,
                 names: Sequence[str], seed: int) -> pd.DataFrame:  # fmt: skip
    """The ranked table (:func:`~emonb.metrics.ranking.summary_table`): every per-face
    metric with its interval, then the randomization and pointing columns."""
    summary = rand.summary()
    extra = {}
    for m in names:
        extra[m] = {"randomization spearman (top)": float(summary.loc[m, "spearman top"]),
                    "randomization spearman (mean)": float(summary.loc[m, "spearman mean"]),
                    "randomization ssim (mean)": float(summary.loc[m, "ssim mean"])}  # fmt: skip
        if pointing is not None:
            extra[m]["pointing game (synthetic)"] = (float(pointing.loc[m, "pointing game"])
                                                     if m in pointing.index else float("nan"))  # fmt: skip
    return summary_table({m: values[m] for m in names}, extra=extra, seed=seed)
