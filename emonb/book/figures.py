"""Save every matplotlib figure a chapter shows at 300 dpi (``emonb book`` turns this on).

:func:`emonb.book.build.execute_chapter` starts each chapter's kernel with this module as
an IPython extension (``--ext=emonb.book.figures``) and ``EMONB_FIGURE_DIR`` naming the
chapter's folder. :func:`load_ipython_extension` then registers a ``post_execute``
callback that saves each new open figure as ``fig01.png``, ``fig02.png``, ... in that
folder. It runs before the inline backend shows and closes the figures, so it sees every
figure of the cell. Nothing happens on ``import emonb`` and nothing outside ``emonb book``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from emonb.config import DPI

__all__ = ["ENV_FIGURE_DIR", "KERNEL_ARGUMENTS", "load_ipython_extension",
           "save_open_figures"]  # fmt: skip

ENV_FIGURE_DIR = "EMONB_FIGURE_DIR"
#: Kernel command-line arguments that load this module as an IPython extension.
KERNEL_ARGUMENTS = (f"--ext={__name__}",)
_SAVER = "_emonb_figure_saver"  # marks the callback, so loading twice registers it once


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


def load_ipython_extension(ipython) -> None:
    """Register the saving callback in ``ipython`` (the kernel's shell) when
    ``EMONB_FIGURE_DIR`` is set; a second load changes nothing."""
    folder = os.environ.get(ENV_FIGURE_DIR)
    callbacks = ipython.events.callbacks["post_execute"]
    if not folder or any(getattr(cb, _SAVER, False) for cb in callbacks):
        return
    state = {"next": 1}

    def save() -> None:
        state["next"] = save_open_figures(Path(folder), state["next"])

    setattr(save, _SAVER, True)
    callbacks.insert(0, save)  # before the inline backend's flush
