"""The book's kernels: figures the same bytes on every build, and every figure saved at 300 dpi.

:func:`emonb.book.build.execute_chapter` starts each chapter's kernel with this module as an
IPython extension (``--ext=emonb.book.figures``). :func:`load_ipython_extension` then

* makes the figures a chapter shows the same bytes on every execution: the inline backend's
  files carry no matplotlib version or date and SVG ids a fixed salt
  (:mod:`emonb.plotting.stable`);
* when ``EMONB_FIGURE_DIR`` names the chapter's folder (``emonb book``), registers a
  ``post_execute`` callback that saves each new open figure as ``fig01.png``,
  ``fig02.png``, ... in that folder (:func:`emonb.plotting.images.save_figure`: 300 dpi, no
  date). It runs before the inline backend shows and closes the figures, so it sees every
  figure of the cell.

Nothing happens on ``import emonb`` and nothing outside a kernel started so.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from emonb.config import DPI
from emonb.plotting.stable import STABLE_RC, stable_metadata

__all__ = ["ENV_FIGURE_DIR", "KERNEL_ARGUMENTS", "load_ipython_extension",
           "save_open_figures", "stable_inline_figures"]  # fmt: skip

ENV_FIGURE_DIR = "EMONB_FIGURE_DIR"
#: Kernel command-line arguments that load this module as an IPython extension.
KERNEL_ARGUMENTS = (f"--ext={__name__}",)
_SAVER = "_emonb_figure_saver"  # marks the callback, so loading twice registers it once


def save_open_figures(folder: Path, start: int, dpi: int = DPI) -> int:
    """Save the open figures not saved before into ``folder``; returns the next number."""
    if "matplotlib.pyplot" not in sys.modules:
        return start
    import matplotlib.pyplot as plt

    from emonb.plotting.images import save_figure

    n = start
    for num in plt.get_fignums():
        fig = plt.figure(num)
        if getattr(fig, "_emonb_saved", False) or not fig.axes:
            continue
        save_figure(fig, folder / f"fig{n:02d}.png", dpi=dpi)
        fig._emonb_saved = True
        n += 1
    return n


def stable_inline_figures(ipython) -> dict:
    """Make the figures the kernel shows the same bytes on every execution: the
    :data:`~emonb.plotting.stable.STABLE_RC` rcParams, and the inline backend's
    ``print_figure_kwargs`` with the :func:`~emonb.plotting.stable.stable_metadata` of its
    format (when it shows one format). Returns those keyword arguments (none outside an
    IPython shell)."""
    import matplotlib
    from traitlets.config import Configurable

    matplotlib.rcParams.update(STABLE_RC)
    try:
        from matplotlib_inline.config import InlineBackend
    except ImportError:  # no inline backend: nothing shows figures inline
        return {}
    if not isinstance(ipython, Configurable):  # not an IPython shell
        return {}
    cfg = InlineBackend.instance(parent=ipython)
    formats = {cfg.figure_formats} if isinstance(cfg.figure_formats, str) else set(cfg.figure_formats)
    meta = stable_metadata(next(iter(formats))) if len(formats) == 1 else None
    if meta is not None:
        cfg.print_figure_kwargs = {**cfg.print_figure_kwargs, "metadata": meta}
    return dict(cfg.print_figure_kwargs)


def load_ipython_extension(ipython) -> None:
    """Show figures without dates or versions (:func:`stable_inline_figures`) and, when
    ``EMONB_FIGURE_DIR`` is set, register the saving callback in ``ipython`` (the kernel's
    shell); a second load changes nothing."""
    stable_inline_figures(ipython)
    folder = os.environ.get(ENV_FIGURE_DIR)
    callbacks = ipython.events.callbacks["post_execute"]
    if not folder or any(getattr(cb, _SAVER, False) for cb in callbacks):
        return
    state = {"next": 1}

    def save() -> None:
        state["next"] = save_open_figures(Path(folder), state["next"])

    setattr(save, _SAVER, True)
    callbacks.insert(0, save)  # before the inline backend's flush
