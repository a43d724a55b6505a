"""The book's kernels: figures the same bytes on every build, and every figure saved at 300 dpi.

:func:`emonb.book.build.execute_chapter` starts each chapter's kernel with this module as an
IPython extension (``--ext=emonb.book.figures``). :func:`load_ipython_extension` then

* makes the figures a chapter shows the same bytes on every execution: the inline backend's
  files carry no matplotlib version or date and SVG ids a fixed salt
  (:mod:`emonb.plotting.stable`);
* registers a ``post_execute`` callback (:func:`show_open_figures`) that shows each new
  open figure with its caption; when ``EMONB_FIGURE_DIR`` names the chapter's folder
  (``emonb book``) it first saves the figure there as ``fig01.png``, ``fig02.png``, ...
  (:func:`emonb.plotting.images.save_figure`: 300 dpi, no date). It runs before the inline
  backend, so it sees every figure of the cell.

Every figure is numbered (``Figure 4.2``: chapter 4, second figure) and followed by its
caption, set with :func:`caption` in the cell that draws it: what is shown, on which data,
with which settings, a tag saying whether the result is *computed* while the book builds,
*recorded* in ``benchmarks/`` or drawn from the *stand-in*, a badge with the quick settings
the figure actually used in a quick build, and a link to the 300-dpi file. The callback
displays each figure and its caption itself (the inline backend then finds nothing left to
show), so the caption sits under its figure.

Nothing happens on ``import emonb`` and nothing outside a kernel started so (or one where
:func:`caption` was called: it loads this extension into the running kernel).
"""

from __future__ import annotations

import html
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from emonb import config
from emonb.config import DPI
from emonb.plotting.stable import STABLE_RC, stable_metadata

__all__ = ["ENV_FIGURE_DIR", "KERNEL_ARGUMENTS", "Caption", "caption", "caption_html",
           "load_ipython_extension", "quick_badge", "settings_note", "show_open_figures",
           "stable_inline_figures"]  # fmt: skip

ENV_FIGURE_DIR = "EMONB_FIGURE_DIR"
#: Kernel command-line arguments that load this module as an IPython extension.
KERNEL_ARGUMENTS = (f"--ext={__name__}",)
_SAVER = "_emonb_figure_saver"  # marks the callback, so loading twice registers it once


@dataclass(frozen=True)
class Caption:
    """What a figure's caption says: ``text``, the kind of result (``computed``,
    ``recorded`` or ``stand-in``), the recorded file, and the quick caps it used."""

    text: str
    kind: str = "computed"
    recorded: str | None = None
    caps: tuple[tuple[str, int | None, int], ...] = ()


def _figure(target):
    fig = getattr(target, "figure", target)  # an Axes, an array of Axes or a Figure
    if hasattr(target, "flat") and not hasattr(target, "savefig"):
        fig = next(iter(target.flat)).figure
    if not hasattr(fig, "savefig"):
        raise TypeError(f"caption() needs a Figure or Axes, got {type(target).__name__}")
    return fig


def caption(target, text: str, *, data: object = None, recorded: str | os.PathLike | None = None,
            uses: Sequence[str] = ()) -> None:
    """Give the figure of ``target`` (Figure, Axes or array of Axes) its caption.

    ``data`` is the dataset the figure shows (a synthetic stand-in makes the tag
    *stand-in*); ``recorded`` the file in ``benchmarks/`` it shows (tag *recorded*);
    otherwise the tag is *computed*. ``uses`` names the :data:`emonb.config.QUICK` settings
    the figure depends on: those quick mode capped are listed in a badge with the value
    asked for and the value used. In a kernel the figure and caption are shown together
    when the cell ends (the extension is loaded if it was not)."""
    fig = _figure(target)
    kind = "recorded" if recorded else ("stand-in" if getattr(data, "synthetic", False) else "computed")
    fig._emonb_caption = Caption(str(text), kind, None if recorded is None else str(recorded),
                                 _caps(uses))
    ip = _ipython()
    if ip is not None:
        load_ipython_extension(ip)


def _ipython():
    ip = sys.modules.get("IPython")
    return ip.get_ipython() if ip is not None else None


def _caps(names: Sequence[str]) -> tuple[tuple[str, int | None, int], ...]:
    """``(setting, asked, used)`` for those of ``names`` quick mode capped in this process."""
    return tuple((n, asked, used) for n, (asked, used) in config.applied_caps(names).items())


def quick_badge(caps: Sequence[tuple[str, int | None, int]]) -> str:
    """The quick-build badge (HTML) for ``caps`` of ``(setting, asked, used)``; '' if none."""
    if not caps:
        return ""
    items = ", ".join(
        f"{html.escape(config.QUICK_LABELS.get(n, n))} {used}"
        + (f" (full build: {asked})" if asked is not None else " (full build: all)")
        for n, asked, used in caps)  # fmt: skip
    return f'<span class="emonb-quick" title="quick build (EMONB_QUICK)">quick build: {items}</span>'


def settings_note(*names: str) -> None:
    """Under a results table: display the quick-build badge of the settings ``names`` it
    used, as quick mode capped them (nothing in a full build, or when none was capped)."""
    badge = quick_badge(_caps(names))
    if badge:
        from IPython.display import HTML, display

        display(HTML(f"<p>{badge}</p>"))


TAGS = {"computed": "computed while this book was built",
        "recorded": "recorded in benchmarks/, not computed in this build",
        "stand-in": "computed on the synthetic stand-in, not on FER-2013"}  # fmt: skip


def caption_html(cap: Caption | None, number: str, hires: str | None = None) -> str:
    """A figure's caption block: number, tag, text, quick badge and 300-dpi link."""
    kind = cap.kind if cap else "computed"
    text = html.escape(cap.text) if cap else "<i>(no caption)</i>"
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    extra = ""
    if cap and cap.recorded:
        extra += f" Recorded file: <code>{html.escape(cap.recorded)}</code>."
    badge = quick_badge(cap.caps) if cap else ""
    link = f' <a class="emonb-hires" href="{html.escape(hires)}">300 dpi</a>' if hires else ""
    return (f'<div class="emonb-caption emonb-{kind}" data-figure="{html.escape(number)}">'
            f'<span class="emonb-tag" title="{html.escape(TAGS[kind])}">{kind}</span> '
            f"<b>Figure {html.escape(number)}.</b> {text}{extra} {badge}{link}</div>")


def _chapter_number(folder: str | None) -> str | None:
    m = re.match(r"(\d+)_", Path(folder).name) if folder else None
    return str(int(m.group(1))) if m else None


def show_open_figures(folder: Path | None, state: dict, dpi: int = DPI) -> None:
    """Display each open figure not shown yet, then its caption, and close it; with
    ``folder``, save it there at 300 dpi first (``figNN.png``). ``state["next"]`` is the
    chapter's next figure number."""
    if "matplotlib.pyplot" not in sys.modules:
        return
    import matplotlib.pyplot as plt
    from IPython.display import HTML, display

    try:
        from matplotlib_inline.backend_inline import _fetch_figure_metadata
    except ImportError:  # pragma: no cover - the inline backend ships with ipykernel
        def _fetch_figure_metadata(_fig):
            return {}
    chapter = _chapter_number(str(folder) if folder else None)
    for num in plt.get_fignums():
        fig = plt.figure(num)
        if not fig.axes:
            continue
        n = state["next"]
        hires = None
        if folder is not None:
            from emonb.plotting.images import save_figure

            save_figure(fig, Path(folder) / f"fig{n:02d}.png", dpi=dpi)
            hires = f"../../figures/{Path(folder).name}/fig{n:02d}.png"
        cap = getattr(fig, "_emonb_caption", None)
        display(fig, metadata=_fetch_figure_metadata(fig))
        number = f"{chapter}.{n}" if chapter else str(n)
        display(HTML(caption_html(cap, number, hires)))
        state["next"] = n + 1
        plt.close(fig)


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
    """Show figures without dates or versions (:func:`stable_inline_figures`) and register
    in ``ipython`` (the kernel's shell) the callback that shows each figure with its caption,
    saving it at 300 dpi when ``EMONB_FIGURE_DIR`` is set; a second load changes nothing."""
    stable_inline_figures(ipython)
    callbacks = ipython.events.callbacks["post_execute"]
    if any(getattr(cb, _SAVER, False) for cb in callbacks):
        return
    state = {"next": 1}

    def show() -> None:
        folder = os.environ.get(ENV_FIGURE_DIR)  # read when it runs: set before or after loading
        show_open_figures(Path(folder) if folder else None, state)

    setattr(show, _SAVER, True)
    callbacks.insert(0, show)  # before the inline backend's flush
