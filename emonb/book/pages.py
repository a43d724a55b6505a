"""After ``jupyter-book build``: each captioned figure's image links to its 300-dpi file.

myst-nb writes a figure output as ``<img alt="<its path>" src="...">`` right before the
output that holds its caption (:func:`emonb.book.figures.caption_html`). :func:`link_figures`
wraps that image in a link to the 300-dpi file the caption names and gives it the caption's
text as alt text, in the HTML itself (no script, the same bytes on every build).
"""

from __future__ import annotations

import html
import re
from pathlib import Path

__all__ = ["link_figure_pages", "link_figures"]

_FIGURE = re.compile(
    r'<img alt="[^"]*" (src="[^"]+") />(\s*<div class="output text_html">'
    r'<div class="emonb-caption [^"]*" data-figure="[^"]+">(.*?)</div>)',
    re.S,
)
_HIRES = re.compile(r'<a class="emonb-hires" href="([^"]+)">')


def _alt(caption: str) -> str:
    text = re.sub(r"<[^>]+>", "", caption.split('<a class="emonb-hires"')[0])
    return html.escape(" ".join(html.unescape(text).split()), quote=True)


def link_figures(page: str) -> tuple[str, int]:
    """``page`` with every captioned figure's image linked to its 300-dpi file and its
    caption as alt text; returns the page and the number of figures linked."""
    count = 0

    def link(m: re.Match) -> str:
        nonlocal count
        src, rest, caption = m.groups()
        hires = _HIRES.search(caption)
        img = f'<img alt="{_alt(caption)}" {src} />'
        if hires is None:
            return img + rest
        count += 1
        return f'<a class="emonb-figure" href="{hires.group(1)}" title="open at 300 dpi">{img}</a>{rest}'

    return _FIGURE.sub(link, page), count


def link_figure_pages(folder: Path) -> int:
    """:func:`link_figures` on every page under ``folder``; returns the figures linked."""
    total = 0
    for path in sorted(Path(folder).glob("**/*.html")):
        text = path.read_text(encoding="utf-8")
        new, n = link_figures(text)
        if n:
            path.write_text(new, encoding="utf-8")
            total += n
    return total
