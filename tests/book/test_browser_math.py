"""The trimmed MathJax of the built book still typesets, offline, in Debian's Chromium:
core TeX, and a macro whose extension MathJax loads on demand from the book's folder."""

import shutil

import pytest

from emonb.book.build import MATHJAX_KEEP

CHROMIUM = next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser")) if p), None)


def test_mathjax_is_trimmed_to_what_the_pages_load(quick_book):
    folder = quick_book / "_static" / "mathjax"
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert size < 4_000_000, size  # all of MathJax 3 is about 24 MB
    assert all((folder / k).exists() for k in MATHJAX_KEEP)
    assert not (folder / "sre").exists() and not (folder / "tex-svg.js").exists()


@pytest.mark.skipif(CHROMIUM is None, reason="no system Chromium (Debian: apt install chromium)")
def test_trimmed_mathjax_typesets_offline(quick_book):
    from playwright.sync_api import sync_playwright

    page_path = quick_book / "book" / "chapters" / "04_saliency.html"
    remote, failed = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--no-sandbox", "--proxy-server=http://127.0.0.1:9"])  # fmt: skip
        try:
            page = browser.new_page()
            page.on("requestfailed", lambda r: failed.append(r.url))

            def route(r):
                if r.request.url.startswith(("file:", "data:", "blob:", "about:")):
                    r.continue_()
                else:
                    remote.append(r.request.url)
                    r.abort()

            page.route("**/*", route)
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
        finally:
            browser.close()
    assert found["math"] == 1 and found["error"] == 0, found
    assert found["bold"] >= 1, found  # the on-demand extension loaded and rendered bold
    assert not remote and not failed, (remote, failed)
