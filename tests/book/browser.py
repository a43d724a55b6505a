"""Debian's Chromium driven by Playwright (no browser download), offline: the helpers every
browser test of the built book shares."""

import shutil
from contextlib import contextmanager

import pytest

CHROMIUM = next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser")) if p), None)

#: Mark a test (or a module) that drives the browser.
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no system Chromium (Debian: apt install chromium) to drive"
)

# Jupyter Book 1 inlines sphinx-thebe's settings twice per page; the second
# `const THEBE_JS_URL` throws. Known and harmless (Thebe is never launched).
KNOWN_ERROR = "Identifier 'THEBE_JS_URL' has already been declared"


def local(url: str) -> bool:
    return url.startswith(("file:", "data:", "blob:", "about:"))


@contextmanager
def offline_page():
    """A Chromium page behind a dead proxy whose every non-local request is aborted; yields
    ``(page, report)``, ``report`` holding the remote and failed requests and page errors."""
    from playwright.sync_api import sync_playwright

    report = {"remote": [], "failed": [], "errors": []}
    with sync_playwright() as p:
        # a dead proxy: anything that is not a local file could not load even if allowed
        args = ["--no-sandbox", "--proxy-server=http://127.0.0.1:9"]
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            page = browser.new_page()
            page.on("pageerror", lambda e: report["errors"].append(str(e)))
            page.on("requestfailed", lambda r: report["failed"].append(r.url))

            def route(r):
                if local(r.request.url):
                    r.continue_()
                else:
                    report["remote"].append(r.request.url)
                    r.abort()

            page.route("**/*", route)
            yield page, report
        finally:
            browser.close()


def assert_offline(report: dict) -> None:
    """Nothing left the machine, nothing failed to load, no page error but the known one."""
    assert not report["remote"], f"requests that would leave the machine: {report['remote']}"
    assert not report["failed"] and all(e == KNOWN_ERROR for e in report["errors"]), report
