"""Scalars a chapter records for machines to read: what ``emonb sweep`` tabulates.

A chapter calls :func:`scalars` once where it has computed the numbers a sweep should
compare (``record.scalars(accuracy=0.412, macro_f1=0.298)``); :func:`read_scalars` reads
them back from the executed notebook, in the order they were recorded.

Each scalar is one display output holding ``{"name", "type", "value"}`` under the MIME type
:data:`MIME` (``application/vnd.emonb.scalar+json``). It is written in the on-disk form of
myst-nb's ``glue(name, value, display=False)``: the MIME type carries the prefix
:data:`GLUE_PREFIX` and the output's metadata names it (``"scrapbook": {"name",
"mime_prefix"}``), so Jupyter Book takes the output out of the page before it renders it:
the book shows nothing and warns about no unknown MIME type. A name may be recorded once
per notebook (Jupyter Book's glue keys are unique per page; :func:`read_scalars` refuses
a notebook that records one twice). Values are booleans, whole numbers, floats (``nan``
and the infinities too) or text; a NumPy scalar is stored as its Python value.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from emonb.errors import EmonbError

__all__ = ["GLUE_PREFIX", "MIME", "read_scalars", "scalar", "scalar_output", "scalars"]

#: The MIME type of a recorded scalar (under :data:`GLUE_PREFIX` in the notebook).
MIME = "application/vnd.emonb.scalar+json"
#: myst-nb's prefix for glued outputs that are not displayed (``myst_nb.glue`` ``display=False``).
GLUE_PREFIX = "application/papermill.record/"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _typed(name: str, value: Any) -> tuple[str, bool | int | float | str]:
    """``(type, JSON value)`` of a scalar; EmonbError for anything else."""
    if hasattr(value, "item") and getattr(value, "shape", None) == ():  # a NumPy scalar
        value = value.item()
    if isinstance(value, bool):
        return "bool", value
    if isinstance(value, numbers.Integral):
        return "int", int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return "float", value if math.isfinite(value) else repr(value)  # nan, inf, -inf as text
    if isinstance(value, str):
        return "str", value
    raise EmonbError(f"scalar {name!r}: a bool, number or text, not {type(value).__name__}")


def scalar_output(name: str, value: Any) -> dict[str, Any]:
    """The display output (``output_type``, ``data``, ``metadata``) recording ``name`` =
    ``value``; ``name`` is a Python identifier (it becomes a column of a sweep's table)."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise EmonbError(f"scalar name {name!r}: use letters, digits and _ (a Python identifier)")
    kind, stored = _typed(name, value)
    return {"output_type": "display_data",
            "data": {GLUE_PREFIX + MIME: {"name": name, "type": kind, "value": stored}},
            "metadata": {"scrapbook": {"name": name, "mime_prefix": GLUE_PREFIX}}}  # fmt: skip


def scalar(name: str, value: Any) -> None:
    """Record ``name`` = ``value`` in the notebook being executed (nothing is shown; outside
    IPython, nothing happens)."""
    out = scalar_output(name, value)
    from IPython.core.interactiveshell import InteractiveShell

    if not InteractiveShell.initialized():
        return
    from IPython.display import publish_display_data

    publish_display_data(out["data"], metadata=out["metadata"])


def scalars(**values: Any) -> None:
    """Record each keyword as a scalar (:func:`scalar`), in the order given; every value is
    checked before any is recorded."""
    for name, value in values.items():
        scalar_output(name, value)
    for name, value in values.items():
        scalar(name, value)


def _value(name: str, record: Mapping[str, Any]) -> bool | int | float | str:
    kind, value = record.get("type"), record.get("value")
    if kind == "float" and isinstance(value, str):
        if value not in _FLOATS:
            raise EmonbError(f"scalar {name!r}: not a float, {value!r}")
        return _FLOATS[value]
    casts = {"bool": bool, "int": int, "float": float, "str": str}
    if kind not in casts:
        raise EmonbError(f"scalar {name!r}: unknown type {kind!r}")
    return casts[kind](value)


def read_scalars(notebook: Any) -> dict[str, bool | int | float | str]:
    """The scalars recorded in an executed notebook (an nbformat node or a path), by name in
    the order recorded; EmonbError when a name is recorded twice."""
    if isinstance(notebook, (str, Path)):
        import nbformat

        notebook = nbformat.read(notebook, as_version=4)
    found: dict[str, bool | int | float | str] = {}
    where: dict[str, int] = {}
    for number, cell in enumerate(notebook.cells):
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            record = out.get("data", {}).get(GLUE_PREFIX + MIME)
            if record is None:
                continue
            name = record.get("name")
            if name in found:
                raise EmonbError(f"scalar {name!r} is recorded twice (cells {where[name]} and "
                                 f"{number}); record each name once")  # fmt: skip
            found[name], where[name] = _value(name, record), number
    return found
