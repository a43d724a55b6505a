"""The trimmed MathJax of the built book still typesets, offline, in Debian's Chromium:
core TeX, and a macro whose extension MathJax loads on demand from the book's folder."""

from emonb.book.build import MATHJAX_KEEP
from tests.book.browser import assert_offline, needs_chromium, offline_page


def test_mathjax_is_trimmed_to_what_the_pages_load(quick_book):
    folder = quick_book / "_static" / "mathjax"
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert size < 4_000_000, size  # all of MathJax 3 is about 24 MB
    assert all((folder / k).exists() for k in MATHJAX_KEEP)
    assert not (folder / "sre").exists() and not (folder / "tex-svg.js").exists()


@needs_chromium
def test_trimmed_mathjax_typesets_offline(quick_book):
    page_path = quick_book / "book" / "chapters" / "04_saliency.html"
    with offline_page() as (page, report):
        page.goto(page_path.as_uri(), wait_until="load")
        page.wait_for_function("() => window.MathJax && window.MathJax.typesetPromise",
                               timeout=20_000)  # fmt: skip
        # \boldsymbol is not in tex-chtml.js's core: MathJax fetches its extension
        found = page.evaluate("""async () => {
            const div = document.createElement("div");
            div.id = "emonb-math-check";
            div.textContent = "\\\\(\\\\frac{\\\\partial y_c}{\\\\partial x} + \\\\boldsymbol{w}\\\\)";
            document.body.appendChild(div);
            await MathJax.typesetPromise([div]);
            await document.fonts.ready;
            return {math: div.querySelectorAll("mjx-container mjx-mfrac").length,
                    bold: div.querySelectorAll("mjx-container [class*='TEX-B']").length,
                    error: div.querySelectorAll("mjx-merror").length};
        }""")
    assert found["math"] == 1 and found["error"] == 0, found
    assert found["bold"] >= 1, found  # the on-demand extension loaded and rendered bold
    assert_offline(report)
