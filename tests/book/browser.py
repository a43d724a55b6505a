"""Debian's Chromium driven by Playwright (no browser download), offline: the helpers every
browser test of the built book shares."""

import shutil
import threading
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

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
def offline_page(allow: tuple[str, ...] = ()):
    """A Chromium page behind a dead proxy whose every non-local request is aborted; yields
    ``(page, report)``, ``report`` holding the remote and failed requests (an HTTP status of
    400 or more counts as failed) and page errors. URLs starting with one of ``allow`` (a
    server of the test's own on 127.0.0.1) count as local."""
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

            def response(r):
                if r.url.startswith("http") and r.status >= 400:
                    report["failed"].append(f"{r.url} ({r.status})")

            page.on("response", response)

            def route(r):
                if local(r.request.url) or r.request.url.startswith(allow):
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


@contextmanager
def serve_under(folder: Path, prefix: str = "/emonb/"):
    """Serve ``folder`` at ``http://127.0.0.1:<port><prefix>`` (as GitHub Pages serves a
    project's site under /<repository>/), on the loopback only, from a daemon thread, for the
    ``with`` block; yields ``(base_url, log)``, ``log`` the ``(path, status)`` of every
    request. A path outside ``prefix`` is answered 404 (and logged)."""
    log: list[tuple[str, int]] = []

    class Handler(SimpleHTTPRequestHandler):
        timeout = 10  # a stuck connection cannot hold the test
        path_asked, outside = "", True

        def send_response(self, code, message=None):
            log.append((self.path_asked, code))
            super().send_response(code, message)

        def parse_request(self):
            ok = super().parse_request()
            self.path_asked = self.path
            self.outside = ok and not self.path.startswith(prefix)
            if ok and not self.outside:
                self.path = "/" + self.path[len(prefix):]
            return ok

        def send_head(self):
            if self.outside:
                self.send_error(404, "outside the site's sub-path")
                return None
            return super().send_head()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(folder)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)  # fmt: skip
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{prefix}", log
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
