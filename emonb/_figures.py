"""Save every matplotlib figure a chapter shows at 300 dpi (``emonb book`` turns this on).

``emonb book`` sets ``EMONB_FIGURE_DIR`` for each chapter's kernel; when :mod:`emonb` is
imported in such a kernel, :func:`install` registers a ``post_execute`` callback that saves
each new open figure as ``fig01.png``, ``fig02.png``, ... in that folder. It runs before
the inline backend shows and closes the figures, so it sees every figure of the cell.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ENV_FIGURE_DIR = "EMONB_FIGURE_DIR"
DPI = 300
_installed = False


def save_open_figures(folder: Path, start: int, dpi: int = DPI) -> int:
    """Save the open figures not saved before into ``folder``; returns the next number."""
    if "matplotlib.pyplot" not in sys.modules:
        return start
    import matplotlib.pyplot as plt

    n = start
    for num in plt.get_fignums():
        fig = plt.figure(num)
        if getattr(fig, "_emonb_saved", False) or not fig.axes:
            continue
        folder.mkdir(parents=True, exist_ok=True)
        fig.savefig(folder / f"fig{n:02d}.png", dpi=dpi, bbox_inches="tight")
        fig._emonb_saved = True
        n += 1
    return n


def install() -> bool:
    """Register the saving callback in the running IPython kernel if ``EMONB_FIGURE_DIR``
    is set; returns whether it is (once) installed."""
    global _installed
    folder = os.environ.get(ENV_FIGURE_DIR)
    if _installed or not folder or "IPython" not in sys.modules:
        return _installed
    from IPython import get_ipython

    ip = get_ipython()
    if ip is None:
        return False
    state = {"next": 1}

    def save() -> None:
        state["next"] = save_open_figures(Path(folder), state["next"])

    ip.events.callbacks["post_execute"].insert(0, save)  # before the inline backend's flush
    _installed = True
    return True
