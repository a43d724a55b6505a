"""Verdicts that survive: one claim judged under every reasonable analysis, and a summary.

A *claim* is a statement with a number behind it ("happy: mouth > eyes", "fear's evidence
sits on its FACS prototype"). Each *analysis* is one combination of the choices a careful
reader could make instead (the AU map, the CAM layer, the perturbation baseline, the
grouping of faces, the model): a dict of axis -> setting. Under each analysis the claim gets
an estimate with an interval and a verdict against its null value:

* ``holds``: the whole interval lies above the null;
* ``contradicted``: the whole interval lies below it;
* ``inconclusive``: the interval holds the null;
* ``too few faces``: fewer faces than the claim needs (no verdict).

:func:`summarize` reduces a claim's verdicts to ``holds`` (holds under every analysis),
``contradicted`` (contradicted under every one), ``inconclusive`` (decided under none) or
``depends``, naming the axes that change the verdict when only they change
(:func:`deciding_axes`), or ``no verdict`` (too few faces under every analysis). The book states as findings only claims that hold in all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from emonb.errors import EmonbError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SUMMARIES", "VERDICTS", "answers", "deciding_axes", "robustness_records", "summarize",
           "verdict", "verdict_table"]  # fmt: skip

VERDICTS = ("holds", "contradicted", "inconclusive", "too few faces")
SUMMARIES = ("holds", "contradicted", "depends", "inconclusive", "no verdict")

#: Columns of a verdict table that are not analysis axes.
_VALUES = ("claim", "source", "estimate", "lo", "hi", "null", "faces", "verdict")


def verdict(lo: float, hi: float, *, null: float = 0.0, faces: int | None = None,
            min_faces: int = 0) -> str:  # fmt: skip
    """``holds`` when ``lo > null``, ``contradicted`` when ``hi < null``, ``inconclusive``
    otherwise (a NaN bound included); ``too few faces`` when ``faces < min_faces``."""
    if faces is not None and faces < min_faces:
        return "too few faces"
    if np.isfinite(lo) and lo > null:
        return "holds"
    if np.isfinite(hi) and hi < null:
        return "contradicted"
    return "inconclusive"


def verdict_table(rows: Sequence[Mapping], *, min_faces: int = 0) -> pd.DataFrame:
    """Rows of ``claim``, ``estimate``, ``lo``, ``hi`` (and optionally ``null``, default 0,
    ``faces``, ``source``) plus one key per analysis axis, as a DataFrame with a ``verdict``
    per row (:func:`verdict`). Axes a row does not use are left empty (None)."""
    import pandas as pd

    table = pd.DataFrame(list(rows))
    missing = {"claim", "estimate", "lo", "hi"} - set(table.columns)
    if missing:
        raise EmonbError(f"verdict rows need {', '.join(sorted(missing))}")
    table["null"] = table["null"].fillna(0.0) if "null" in table else 0.0
    faces = table["faces"] if "faces" in table else pd.Series([None] * len(table))
    table["verdict"] = [
        verdict(lo, hi, null=nul, faces=None if f is None or pd.isna(f) else int(f),
                min_faces=min_faces)
        for lo, hi, nul, f in zip(table["lo"], table["hi"], table["null"], faces, strict=True)
    ]
    return table


def _axes(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if c not in _VALUES]


def deciding_axes(table: pd.DataFrame) -> list[str]:
    """What changes one claim's verdict: for every two analyses with different verdicts,
    the axes set in both that differ; the minimal such sets, each named ``"a"`` or, when
    only a joint change flips the verdict, ``"a+b"``. An axis left empty in one of the two
    rows (it does not apply to that evidence) does not count as a difference. Rows with no
    verdict are left out."""
    decided = table[table["verdict"] != "too few faces"]
    axes = _axes(decided)
    values = decided[axes].to_numpy(dtype=object)
    verdicts = decided["verdict"].to_numpy()
    sets: set[tuple[str, ...]] = set()
    for i in range(len(decided)):
        for j in range(i + 1, len(decided)):
            if verdicts[i] == verdicts[j]:
                continue
            diff = tuple(a for k, a in enumerate(axes)
                         if _set(values[i, k]) and _set(values[j, k]) and values[i, k] != values[j, k])  # fmt: skip
            if diff:
                sets.add(diff)
    minimal = [d for d in sets if not any(set(o) < set(d) for o in sets)]
    return sorted(("+".join(d) for d in minimal), key=lambda d: (d.count("+"), axes.index(d.split("+")[0])))


def _set(v) -> bool:
    return v is not None and v == v and v != ""


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """One row per claim: how many analyses, the count of each verdict, ``summary`` (one of
    :data:`SUMMARIES`) and ``depends on`` (:func:`deciding_axes`, for ``depends``)."""
    import pandas as pd

    rows = []
    for claim, g in table.groupby("claim", sort=False):
        decided = g[g["verdict"] != "too few faces"]
        counts = decided["verdict"].value_counts()
        n = len(decided)
        if n == 0:
            summary = "no verdict"
        elif counts.get("holds", 0) == n:
            summary = "holds"
        elif counts.get("contradicted", 0) == n:
            summary = "contradicted"
        elif counts.get("inconclusive", 0) == n:
            summary = "inconclusive"
        else:
            summary = "depends"
        rows.append({"claim": claim,
                     "source": g["source"].iloc[0] if "source" in g else "",
                     "analyses": n,
                     **{v: int(counts.get(v, 0)) for v in VERDICTS[:3]},
                     "summary": summary,
                     "depends on": ", ".join(deciding_axes(g)) if summary == "depends" else ""})  # fmt: skip
    return pd.DataFrame(rows)


def robustness_records(table: pd.DataFrame) -> list[dict]:
    """The JSON form: a list of ``{claim, analyses: [{axis: setting, ..., estimate, lo, hi,
    verdict}], summary, depends_on}``, claims in table order."""
    summary = summarize(table).set_index("claim")
    out = []
    for claim, g in table.groupby("claim", sort=False):
        analyses = []
        for _, r in g.iterrows():
            a = {k: r[k] for k in _axes(g) if r[k] is not None and r[k] == r[k]}
            a.update({k: (None if not np.isfinite(r[k]) else float(r[k]))
                      for k in ("estimate", "lo", "hi")})  # fmt: skip
            if "faces" in g and r["faces"] == r["faces"]:
                a["faces"] = int(r["faces"])
            a["verdict"] = r["verdict"]
            analyses.append(a)
        s = summary.loc[claim]
        out.append({"claim": claim, "analyses": analyses, "summary": s["summary"],
                    "depends_on": [d for d in s["depends on"].split(", ") if d]})  # fmt: skip
    return out


def answers(summary: pd.DataFrame) -> dict[str, list[str]]:
    """The summary as plain lists of claims: ``findings`` (hold in every analysis),
    ``refuted`` (contradicted in every one), ``depends`` (``"claim (on axes)"``),
    ``open`` (inconclusive or without a verdict everywhere)."""
    out: dict[str, list[str]] = {"findings": [], "refuted": [], "depends": [], "open": []}
    for _, r in summary.iterrows():
        key = {"holds": "findings", "contradicted": "refuted", "depends": "depends"}.get(r["summary"], "open")
        out[key].append(f"{r['claim']} (on {r['depends on']})" if key == "depends" else r["claim"])
    return out
