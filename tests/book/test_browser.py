"""The built book in a real browser: Debian's Chromium, driven by Playwright (no browser
download), with every request that would leave the machine blocked and recorded."""

import shutil

import pytest

CHROMIUM = next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser")) if p), None)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no system Chromium (Debian: apt install chromium) to drive"
)


def _local(url: str) -> bool:
    return url.startswith(("file:", "data:", "blob:", "about:"))


def test_static_explorer_scrubs_offline(quick_book):
    from playwright.sync_api import sync_playwright

    page_path = quick_book / "book" / "chapters" / "03_feature_maps.html"
    remote, failed, errors = [], [], []
    with sync_playwright() as p:
        # a dead proxy: anything that is not a local file could not load even if allowed
        args = ["--no-sandbox", "--proxy-server=http://127.0.0.1:9"]
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            page = browser.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            # Jupyter Book 1 inlines sphinx-thebe's settings twice per page; the second
            # `const THEBE_JS_URL` throws. Known and harmless (Thebe is never launched).
            known = "Identifier 'THEBE_JS_URL' has already been declared"
            page.on("requestfailed", lambda r: failed.append(r.url))

            def route(r):
                if _local(r.request.url):
                    r.continue_()
                else:
                    remote.append(r.request.url)
                    r.abort()

            page.route("**/*", route)
            page.goto(page_path.as_uri(), wait_until="load")
            canvas = page.locator(".emonb-explorer canvas").first
            shown = "document.querySelector('.emonb-explorer canvas').dataset.shown"
            page.wait_for_function(f"() => {shown}")
            shown0 = canvas.get_attribute("data-shown")
            pixels0 = canvas.evaluate("c => c.toDataURL()")
            slider = page.locator(".emonb-explorer .emonb-layer").first
            slider.focus()
            for _ in range(3):
                page.keyboard.press("ArrowRight")  # a reader moving the layer slider
            page.wait_for_function(f"() => {shown} !== {shown0!r}")
            shown1 = canvas.get_attribute("data-shown")
            pixels1 = canvas.evaluate("c => c.toDataURL()")
            # notebook pages load MathJax for formulas in outputs: it comes from the book itself
            page.goto((quick_book / "book" / "chapters" / "04_saliency.html").as_uri())
            page.wait_for_function("() => window.MathJax && window.MathJax.version", timeout=20_000)
            mathjax = page.evaluate("() => window.MathJax.version")
        finally:
            browser.close()
    assert shown1.split("/")[1] != shown0.split("/")[1]  # another layer is shown
    assert pixels1 != pixels0  # and the drawn image changed
    assert not remote, f"requests that would leave the machine: {remote}"
    assert not failed and all(e == known for e in errors), (failed, errors)
    assert mathjax.startswith("3.")
