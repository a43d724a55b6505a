"""The built book in a real browser: Debian's Chromium, driven by Playwright (no browser
download), with every request that would leave the machine blocked and recorded."""

from tests.book.browser import assert_offline, needs_chromium, offline_page, serve_under

pytestmark = needs_chromium

#: The largest page a chapter with a static explorer may be (its maps are inlined).
MAX_PAGE = 8_000_000


def test_static_explorer_scrubs_offline(quick_book):
    page_path = quick_book / "book" / "chapters" / "03_feature_maps.html"
    explorer = '.emonb-explorer[data-kind="features"]'
    with offline_page() as (page, report):
        page.goto(page_path.as_uri(), wait_until="load")
        canvas = page.locator(f"{explorer} canvas").first
        shown = f"document.querySelector('{explorer} canvas').dataset.shown"
        page.wait_for_function(f"() => {shown}")
        shown0 = canvas.get_attribute("data-shown")
        pixels0 = canvas.evaluate("c => c.toDataURL()")
        slider = page.locator(f"{explorer} .emonb-layer").first
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
    assert shown1.split("/")[1] != shown0.split("/")[1]  # another layer is shown
    assert pixels1 != pixels0  # and the drawn image changed
    assert_offline(report)
    assert mathjax.startswith("3.")


def test_static_map_explorer_switches_method_and_emotion_offline(quick_book):
    page_path = quick_book / "book" / "chapters" / "05_class_activation_maps.html"
    assert page_path.stat().st_size < MAX_PAGE
    explorer = '.emonb-explorer[data-kind="maps"]'
    shown = f"document.querySelector('{explorer} canvas').dataset.shown"
    with offline_page() as (page, report):
        page.goto(page_path.as_uri(), wait_until="load")
        root = page.locator(explorer)
        assert root.count() == 1
        canvas = root.locator("canvas")
        page.wait_for_function(f"() => {shown}")

        def state():
            return canvas.get_attribute("data-shown"), canvas.evaluate("c => c.toDataURL()")

        shown0, pixels0 = state()
        face0, method0, emotion0, _ = shown0.split("/")
        methods = root.locator(".emonb-method option").all_text_contents()
        assert method0 == methods[0] and len(methods) >= 2
        root.locator(".emonb-method").focus()
        page.keyboard.press("ArrowDown")  # a reader picking the next method
        page.wait_for_function(f"() => {shown}.split('/')[1] !== {method0!r}")
        shown1, pixels1 = state()
        emotions = root.locator(".emonb-emotion option").all_text_contents()
        other = next(e for e in emotions if e != emotion0)
        root.locator(".emonb-emotion").select_option(label=other)  # ... and another emotion
        page.wait_for_function(f"() => {shown}.split('/')[2] === {other!r}")
        shown2, pixels2 = state()
        caption = root.locator(".emonb-caption").text_content()
        layer_disabled = root.locator(".emonb-layer").is_disabled()
    face1, method1, emotion1, layer1 = shown1.split("/")
    assert (face1, method1, emotion1) == (face0, methods[1], emotion0) and pixels1 != pixels0
    assert shown2 == "/".join([face0, method1, other, layer1]) and pixels2 != pixels1
    # a method without a layer shows layer "-" with the layer control disabled
    assert layer_disabled is (layer1 == "-") and (layer1 == "-" or f"at {layer1}" in caption)
    assert f"{method1}" in caption and f"for {other} (p = " in caption
    assert_offline(report)


def test_book_works_under_a_sub_path(quick_book):
    """Served at /emonb/ over HTTP, as GitHub Pages serves a project's site: the root
    redirects to the intro, and the intro and a chapter load every stylesheet, script, image
    and MathJax (its on-demand extension and fonts included) from inside /emonb/."""
    with serve_under(quick_book, "/emonb/") as (base, served):
        with offline_page(allow=(base,)) as (page, report):
            page.goto(base, wait_until="load")  # index.html -> book/intro.html
            page.wait_for_url(f"{base}book/intro.html", timeout=10_000)
            intro = page.evaluate(LOADED)
            page.goto(f"{base}book/chapters/04_saliency.html", wait_until="load")
            chapter = page.evaluate(LOADED)
            page.wait_for_function("() => window.MathJax && window.MathJax.typesetPromise",
                                   timeout=20_000)  # fmt: skip
            math = page.evaluate(TYPESET)
    for loaded in (intro, chapter):
        assert loaded["sheets"] >= 3 and not loaded["unloaded_sheets"], loaded
        assert loaded["scripts"] >= 3 and loaded["sphinx_js"], loaded
        assert not loaded["broken_images"], loaded
    assert chapter["images"] >= 3, chapter
    assert math == {"math": 1, "bold": True, "error": 0}, math
    assert_offline(report)  # nothing left /emonb/, nothing failed, no page error
    paths = [path for path, _ in served]
    assert all(p.startswith("/emonb/") for p in paths), paths
    assert not [(p, code) for p, code in served if code >= 400]
    assert any("/_static/mathjax/input/tex/extensions/" in p for p in paths)  # boldsymbol.js
    assert any("/_static/mathjax/output/chtml/fonts/woff-v2/" in p for p in paths)


#: What a page loaded: every stylesheet parsed, its scripts (Sphinx's options script ran),
#: every image decoded (lazy ones scrolled into view first).
LOADED = """async () => {
    window.scrollTo(0, document.body.scrollHeight);
    const imgs = Array.from(document.images);
    await Promise.all(imgs.map(i => i.decode().catch(() => null)));
    const sheets = Array.from(document.querySelectorAll('link[rel="stylesheet"]'));
    return {
        sheets: sheets.length,
        unloaded_sheets: sheets.filter(l => {
            try { return !l.sheet.cssRules.length; } catch (e) { return true; }
        }).map(l => l.href),
        scripts: document.querySelectorAll("script[src]").length,
        sphinx_js: typeof DOCUMENTATION_OPTIONS === "object",
        images: imgs.length,
        broken_images: imgs.filter(i => !i.complete || !i.naturalWidth).map(i => i.src),
    };
}"""

#: Typeset a formula whose \\boldsymbol MathJax loads from its extensions on demand.
TYPESET = """async () => {
    const div = document.createElement("div");
    div.textContent = "\\\\(\\\\frac{a}{b} + \\\\boldsymbol{w}\\\\)";
    document.body.appendChild(div);
    await MathJax.typesetPromise([div]);
    await document.fonts.ready;
    return {math: div.querySelectorAll("mjx-container mjx-mfrac").length,
            bold: div.querySelectorAll("mjx-container [class*='TEX-B']").length > 0,
            error: div.querySelectorAll("mjx-merror").length};
}"""


def test_each_figure_links_its_300_dpi_file_and_carries_its_caption(quick_book):
    """Every captioned figure's image is a link to its 300-dpi file (which exists) and has
    its caption as alt text, instead of the image's path (emonb.book.pages, at build time)."""
    page_path = quick_book / "book" / "chapters" / "04_saliency.html"
    with offline_page() as (page, report):
        page.goto(page_path.as_uri(), wait_until="load")
        found = page.evaluate("""() => Array.from(document.querySelectorAll(
            '.emonb-caption[data-figure]')).map(c => {
              const out = c.closest('.output') || c.parentElement, prev = out.previousElementSibling;
              const img = prev && (prev.tagName === 'IMG' ? prev : prev.querySelector('img'));
              return img && [img.parentElement.getAttribute('href'), img.alt]; })""")
        assert_offline(report)
    assert found and all(found), found
    for i, (href, alt) in enumerate(found, start=1):
        assert href == f"../../figures/04_saliency/fig{i:02d}.png", href
        assert (page_path.parent / href).resolve().is_file()
        assert f"Figure 4.{i}." in alt and ".png" not in alt
