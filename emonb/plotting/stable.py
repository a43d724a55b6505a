"""Figure files that are the same bytes each time the same figure is saved.

matplotlib writes, beside the drawing, the date (SVG ``Date``, PDF ``CreationDate``) and its
own version (PNG ``Software``, SVG and PDF ``Creator``, PDF ``Producer``), and it names the
elements of an SVG by hashes salted with a random UUID. :data:`STABLE_METADATA` and
:data:`STABLE_RC` leave all of that out: :func:`emonb.plotting.images.save_figure` saves
under them, and the book's kernels (:mod:`emonb.book.figures`) show and save figures under
them. Nothing here imports matplotlib.
"""

from __future__ import annotations

__all__ = ["STABLE_METADATA", "STABLE_RC", "stable_metadata"]

#: ``savefig(metadata=...)`` per file format; ``None`` removes a key matplotlib would write.
STABLE_METADATA: dict[str, dict[str, None]] = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None},
    "pdf": {"CreationDate": None, "Creator": None, "Producer": None},
}
#: rcParams to save under: SVG ids hashed with a fixed salt instead of a random one.
STABLE_RC: dict[str, str] = {"svg.hashsalt": "emonb"}
#: IPython's names of figure formats that are PNG files.
_PNG = {"png", "png2x", "retina"}


def stable_metadata(fmt: str) -> dict[str, None] | None:
    """:data:`STABLE_METADATA` for a file format or suffix (``"png"``, ``".svg"``, IPython's
    ``"retina"``); None for a format without such metadata (matplotlib's defaults apply)."""
    fmt = fmt.lower().lstrip(".")
    meta = STABLE_METADATA.get("png" if fmt in _PNG else fmt)
    return dict(meta) if meta is not None else None
