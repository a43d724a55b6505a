"""A live preview of the video pipeline in the browser: the annotated stream and a bar chart
of the main face's emotion probabilities, served over HTTP from the pipeline's process.

Usage::

    from emonb.video.pipeline import analyse_video
    from emonb.video.serve import PreviewServer

    with PreviewServer(port=8765) as server:        # port 0: any free port
        print("open", server.url)
        analyse_video("clip.mp4", net, on_frame=server.publish)
        server.end()                                 # the page says "stream ended"

or from the shell, ``emonb video clip.mp4 --serve`` (``--serve PORT``, ``--serve 0`` for any
free port; ``--host ADDR --allow-remote`` to serve beyond this machine). The command closes
the server when the source ends (after ``--serve-linger SECONDS``, default 0) or on Ctrl-C.

What is served (stdlib :class:`~http.server.ThreadingHTTPServer`, one thread per request):

=====================  ================================================================
path                   what
=====================  ================================================================
``/``                  the page: the frames, the main (largest) face's seven
                       probabilities as bars, its smoothed label; self-contained (no
                       external URL: it works offline)
``/frame.jpg``         the latest frame as JPEG; ``?after=SEQ`` waits (up to 10 s) for
                       a frame newer than ``SEQ``, else answers 204 (with
                       ``X-Stream-Ended: 1`` once the source has ended). Headers:
                       ``X-Frame-Seq``, ``X-Frame-Index``, ``X-Frame-Captured`` (the
                       ``time.time()`` at which the frame was read),
                       ``X-Frame-Published`` (when :meth:`~PreviewServer.publish` got
                       it), ``X-Frame-Sent``
``/stream.mjpg``       the frames as MJPEG (``multipart/x-mixed-replace``), for an
                       ``<img>``, VLC or ffplay; ends when the source ends
``/events``            Server-Sent Events, one JSON per frame: ``seq``, ``index``,
                       ``captured``, ``published``, ``sent``, ``class_names``, ``width``,
                       ``height``, ``faces`` (``track``, ``box`` [x, y, w, h], ``proba``,
                       ``smoothed``, ``emotion``, ``predicted``); then ``event: end``
``/state.json``        the latest of those JSONs at once (``index`` null before the first
                       frame), with ``ended``
=====================  ================================================================

The page fetches ``/frame.jpg?after=SEQ`` in a loop (one request at a time; each answer is
the newest frame, decoded with ``createImageBitmap`` and drawn on a canvas) and draws the
chart from ``/events``. The canvas carries ``data-index``, ``data-captured`` (ms) and
``data-shown`` (the ``Date.now()`` when it was drawn), and ``window.emonbPreview.log``
the last 2000 frames shown, so the latency of the preview (shown - captured) can be
measured. The page is package data, ``emonb/video/preview/``: ``index.html``, with
``preview.css`` and ``preview.js`` inlined into it when it is first served.

Slow viewers cost nothing: :meth:`PreviewServer.publish` keeps one frame (the latest, a
copy downscaled to ``max_width``) and returns in well under a millisecond; a viewer always
gets the newest frame and skips the others; each frame is encoded to JPEG at most once, in
a server thread, when a viewer first asks for it. A viewer that disconnects (or never
reads) stops nobody, and nothing is printed for it.
"""

from __future__ import annotations

import errno
import functools
import ipaddress
import json
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

import cv2
import numpy as np

from emonb.config import CLASS_NAMES
from emonb.errors import EmonbError

__all__ = ["DEFAULT_PORT", "PreviewServer", "check_host", "is_loopback"]

#: The port of ``emonb video --serve`` without a number.
DEFAULT_PORT = 8765
#: Seconds a ``/frame.jpg?after=`` request waits for a new frame before answering 204.
LONG_POLL_S = 10.0
#: Seconds between keep-alive comments on an idle event stream.
KEEPALIVE_S = 10.0
#: Seconds :meth:`PreviewServer.close` lets open streams say "end" before cutting them.
CLOSE_GRACE_S = 1.0
#: Frames kept in ``window.emonbPreview.log`` by the page.
PAGE_LOG = 2000

#: What a viewer that goes away raises in a request thread (BrokenPipeError,
#: ConnectionResetError, a timeout: all OSError).
_CUT = OSError


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine only: ``localhost``, 127.0.0.0/8 or ::1."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name, or "" (every interface)


def check_host(host: str, *, allow_remote: bool = False) -> None:
    """Raise :class:`~emonb.errors.EmonbError` (one line) if ``host`` is not a loopback
    address and ``allow_remote`` is false: the preview shows a camera's frames to anyone
    who can reach the port."""
    if not allow_remote and not is_loopback(host):
        shown = repr(host) if not host.strip() else host
        raise EmonbError(f"host {shown} is not a loopback address, so other machines could "
                         f"watch the preview; serve on 127.0.0.1 (the default) or allow it "
                         f"(--allow-remote, allow_remote=True)")  # fmt: skip


class _HTTPServer(ThreadingHTTPServer):
    """The socket server: silent about clients that go away, and it knows its connections
    (so :meth:`PreviewServer.close` can end their streams)."""

    daemon_threads = True
    block_on_close = True  # server_close() joins every request thread
    allow_reuse_address = True  # a closed server's port is free at once (TIME_WAIT)
    allow_reuse_port = False  # never share a port with another server

    def __init__(self, address: tuple[str, int], preview: PreviewServer):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.preview = preview
        #: Open connections: whether each has sent its request (is being answered).
        self.connections: dict[socket.socket, bool] = {}
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request, client_address) -> None:
        """No traceback on stderr: a viewer that disconnects is no error, and anything else
        is kept (the last few) in :attr:`PreviewServer.errors`."""
        err = sys.exc_info()[1]
        if err is not None and not isinstance(err, _CUT):
            self.preview._errors.append(f"{type(err).__name__}: {err}")


class _Handler(BaseHTTPRequestHandler):
    """One request: the page, a frame, the MJPEG stream, the events or the state."""

    server: _HTTPServer
    protocol_version = "HTTP/1.0"  # one request per connection: nothing idles open
    server_version = "emonb-preview"
    timeout = 30  # seconds a silent client may hold a connection before sending a request

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections[self.connection] = False

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.pop(self.connection, None)
        try:
            super().finish()
        except _CUT:
            pass

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base's name)
        """Silent: no line per request on stderr."""

    def do_GET(self) -> None:
        with self.server.connections_lock:
            self.server.connections[self.connection] = True
        url = urlsplit(self.path)
        route = {"/": self._page, "/index.html": self._page, "/frame.jpg": self._frame,
                 "/stream.mjpg": self._mjpeg, "/events": self._events,
                 "/state.json": self._state}.get(url.path)  # fmt: skip
        try:
            if route is None:
                self._send(404, b"not found\n", "text/plain; charset=utf-8")
            else:
                route(parse_qs(url.query))
        except _CUT:
            self.close_connection = True  # the viewer went away: nothing to do

    def _send(self, code: int, body: bytes, kind: str, headers: dict | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _page(self, query: dict) -> None:
        preview = self.server.preview
        names = json.dumps(list(preview.class_names)).replace("<", "\\u003c")  # no </script>
        html = _page_template().replace("__CLASSES__", names)
        html = html.replace("__LOG__", str(PAGE_LOG))
        self._send(200, html.encode(), "text/html; charset=utf-8",
                   {"Content-Security-Policy": _PAGE_POLICY})  # fmt: skip

    def _frame(self, query: dict) -> None:
        preview = self.server.preview
        try:
            after = int(query.get("after", ["0"])[0])
        except ValueError:
            self._send(400, b"after: expected a whole number\n", "text/plain; charset=utf-8")
            return
        seq, ended = preview._wait(after, LONG_POLL_S)
        if seq <= after or seq == 0:
            self._send(204, b"", "text/plain", {"X-Stream-Ended": "1"} if ended else None)
            return
        seq, jpeg, meta = preview._encoded()
        self._send(200, jpeg, "image/jpeg", {
            "X-Frame-Seq": str(seq), "X-Frame-Index": str(meta["index"]),
            "X-Frame-Captured": f"{meta['captured']:.6f}",
            "X-Frame-Published": f"{meta['published']:.6f}",
            "X-Frame-Sent": f"{time.time():.6f}"})  # fmt: skip

    def _stream_headers(self, kind: str) -> None:
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()

    def _mjpeg(self, query: dict) -> None:
        preview = self.server.preview
        self._stream_headers("multipart/x-mixed-replace; boundary=frame")
        last = 0
        while True:
            seq, ended = preview._wait(last, KEEPALIVE_S)
            if seq > last:
                last, jpeg, meta = preview._encoded()
                head = (f"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}"
                        f"\r\nX-Frame-Index: {meta['index']}\r\nX-Frame-Captured: "
                        f"{meta['captured']:.6f}\r\n\r\n")  # fmt: skip
                self.wfile.write(head.encode() + jpeg + b"\r\n")
                self.wfile.flush()
            elif ended:
                self.wfile.write(b"--frame--\r\n")
                return

    def _events(self, query: dict) -> None:
        preview = self.server.preview
        self._stream_headers("text/event-stream; charset=utf-8")
        self.wfile.write(b"retry: 1000\n\n")
        last = 0
        while True:
            seq, ended = preview._wait(last, KEEPALIVE_S)
            if seq > last:
                last, meta = preview._latest_meta()
                data = json.dumps({**meta, "sent": round(time.time(), 6)})
                self.wfile.write(f"data: {data}\n\n".encode())
            elif ended:
                self.wfile.write(b"event: end\ndata: {}\n\n")
                self.wfile.flush()
                return
            else:
                self.wfile.write(b": keep-alive\n\n")  # finds viewers that went away
            self.wfile.flush()

    def _state(self, query: dict) -> None:
        preview = self.server.preview
        seq, meta = preview._latest_meta()
        state = meta or {"seq": 0, "index": None, "class_names": list(preview.class_names),
                         "faces": []}  # fmt: skip
        state = {**state, "ended": preview.ended, "sent": round(time.time(), 6)}
        self._send(200, json.dumps(state).encode(), "application/json")


class PreviewServer:
    """An HTTP server that shows the pipeline's annotated frames and the main face's
    probabilities live in a browser (see the module's docstring for what it serves).

    Parameters
    ----------
    host : str
        Address to listen on (default 127.0.0.1: this machine only). Anything but
        ``localhost``, 127.0.0.0/8 or ``::1`` raises :class:`~emonb.errors.EmonbError`
        unless ``allow_remote``.
    port : int
        Port; 0 takes any free one (read it from :attr:`url`). A port in use raises
        :class:`~emonb.errors.EmonbError`.
    allow_remote : bool
        Allow a non-loopback ``host`` (the preview then shows the frames to anyone who can
        reach the port; there is no authentication).
    class_names : sequence of str
        The model's class names: the chart's bars before the first frame (after it, the
        faces' own class names).
    max_width : int
        Frames wider than this are downscaled (keeping the aspect ratio) when published.
    jpeg_quality : int
        JPEG quality, 1 to 100.

    Notes
    -----
    The server runs in its own threads from construction until :meth:`close` (or the end
    of a ``with`` block); :meth:`publish` is the pipeline's ``on_frame`` callback.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, allow_remote: bool = False,
                 class_names: Sequence[str] = CLASS_NAMES, max_width: int = 960,
                 jpeg_quality: int = 80):  # fmt: skip
        check_host(host, allow_remote=allow_remote)
        if not 0 <= int(port) <= 65535:
            raise EmonbError(f"port must be 0 (any free port) to 65535, got {port}")
        if int(max_width) < 16:
            raise EmonbError(f"max_width must be at least 16, got {max_width}")
        if not 1 <= int(jpeg_quality) <= 100:
            raise EmonbError(f"jpeg_quality must be 1 to 100, got {jpeg_quality}")
        self.class_names = tuple(class_names)
        self.max_width, self.jpeg_quality = int(max_width), int(jpeg_quality)
        #: Frames published, and JPEGs encoded (at most one per frame, only those viewed).
        self.published = self.encoded = 0
        self._cond = threading.Condition()
        self._encode_lock = threading.Lock()
        self._seq = 0
        self._frame: np.ndarray | None = None  # the latest frame's pixels, until encoded
        self._meta: dict | None = None
        self._jpeg: tuple[int, bytes, dict] = (0, b"", {})
        self._ended = self._closed = False
        self._errors: deque[str] = deque(maxlen=10)
        bind = "127.0.0.1" if host.strip().lower() == "localhost" else host.strip("[]")
        try:
            self._httpd = _HTTPServer((bind, int(port)), self)
        except OSError as err:
            where = f"[{bind}]:{port}" if ":" in bind else f"{bind}:{port}"
            if err.errno == errno.EADDRINUSE:
                raise EmonbError(f"cannot serve the preview on {where}: the port is in use "
                                 f"(choose another, or 0 for any free port)") from None  # fmt: skip
            raise EmonbError(f"cannot serve the preview on {where}: "
                             f"{err.strerror or err}") from None  # fmt: skip
        self.host, self.port = bind, int(self._httpd.server_address[1])
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.1,),
                                        name=f"emonb-preview:{self.port}", daemon=True)  # fmt: skip
        self._thread.start()

    @property
    def url(self) -> str:
        """The page's address, e.g. ``http://127.0.0.1:8765/``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    @property
    def ended(self) -> bool:
        """Whether the source has ended (:meth:`end`) or the server is closed."""
        return self._ended

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has run."""
        return self._closed

    @property
    def errors(self) -> tuple[str, ...]:
        """The last few unexpected errors of request threads (a bug, not a viewer that went
        away), one line each; they are never printed."""
        return tuple(self._errors)

    def __enter__(self) -> PreviewServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "ended" if self._ended else "live"
        return f"PreviewServer({self.url!r}, {state}, {self.published} frames)"

    def publish(self, index: int, annotated: np.ndarray, faces: Sequence, smoothed: Sequence,
                captured: float) -> None:  # fmt: skip
        """Show a frame: the ``on_frame`` callback of
        :func:`~emonb.video.pipeline.analyse_video`.

        ``annotated`` (H, W, 3) uint8 BGR is copied (downscaled to ``max_width`` if wider)
        and never modified; ``faces`` are :class:`~emonb.video.tracking.TrackedFace`,
        ``smoothed`` their smoothed probabilities, ``captured`` the ``time.time()`` at which
        the frame was read. Replaces the frame before (a viewer that has not fetched it
        skips it); returns at once (the JPEG is encoded by the first viewer that asks).
        """
        if self._closed:
            return
        frame = np.asarray(annotated)
        h, w = frame.shape[:2]
        if w > self.max_width:
            size = (self.max_width, max(1, round(h * self.max_width / w)))
            frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        else:
            frame = frame.copy()
        meta = {
            "index": int(index), "captured": round(float(captured), 6),
            "published": round(time.time(), 6), "width": int(w), "height": int(h),
            "class_names": list(faces[0].class_names if faces else self.class_names),
            "faces": [{"track": int(f.track), "box": [int(v) for v in f.box.as_tuple()],
                       "proba": [round(float(p), 4) for p in f.proba],
                       "smoothed": [round(float(p), 4) for p in s],
                       "emotion": f.emotion, "predicted": f.predicted}
                      for f, s in zip(faces, smoothed, strict=True)],
        }  # fmt: skip
        with self._cond:
            self._seq += 1
            meta["seq"] = self._seq
            self._frame, self._meta, self._ended = frame, meta, False
            self.published += 1
            self._cond.notify_all()

    def end(self) -> None:
        """Say that the source has ended: the page shows "stream ended" and keeps the last
        frame; the MJPEG and event streams end. Serving goes on until :meth:`close`."""
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def close(self) -> None:
        """End every stream, stop serving and free the port (idempotent)."""
        with self._cond:
            if self._closed:
                return
            self._closed = self._ended = True
            self._cond.notify_all()
        self._httpd.shutdown()  # no new connections; serve_forever returns
        httpd = self._httpd
        deadline = time.monotonic() + CLOSE_GRACE_S
        while time.monotonic() < deadline:  # the answers in progress end (streams say "end")
            with httpd.connections_lock:
                if not any(httpd.connections.values()):
                    break
            time.sleep(0.01)
        with self._httpd.connections_lock:
            stuck = list(self._httpd.connections)
        for conn in stuck:  # idle ones, and viewers that do not read: unblock them
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._httpd.server_close()  # the listening socket; joins the request threads
        self._thread.join()
        with self._cond:
            self._frame = None

    # -- for the request threads -------------------------------------------------------

    def _wait(self, after: int, timeout: float) -> tuple[int, bool]:
        """Wait until a frame newer than ``after`` is published, the source ends or
        ``timeout`` seconds pass; returns (latest seq, ended)."""
        with self._cond:
            self._cond.wait_for(lambda: self._seq > after or self._ended, timeout)
            return self._seq, self._ended

    def _latest_meta(self) -> tuple[int, dict | None]:
        with self._cond:
            return self._seq, self._meta

    def _encoded(self) -> tuple[int, bytes, dict]:
        """(seq, JPEG, meta) of the latest frame, encoded once whoever asks first."""
        with self._encode_lock:
            with self._cond:
                seq, frame, meta = self._seq, self._frame, self._meta
            if self._jpeg[0] == seq or frame is None:
                return self._jpeg
            ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
            if not ok:  # pragma: no cover (cv2 encodes any uint8 image)
                return self._jpeg
            self._jpeg = (seq, buf.tobytes(), meta)
            self.encoded += 1
            with self._cond:
                if self._seq == seq:
                    self._frame = None  # only the JPEG is needed now
            return self._jpeg


#: The page may load nothing from elsewhere (its script and style are inline).
_PAGE_POLICY = ("default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
                "img-src 'self' data: blob:")  # fmt: skip


@functools.cache
def _page_template() -> str:
    """The page: ``preview/index.html`` with ``preview/preview.css`` and
    ``preview/preview.js`` (package data) inlined in its ``<style>`` and ``<script>``
    (``__STYLE__``, ``__SCRIPT__``), so it loads nothing else (:data:`_PAGE_POLICY`); the
    script's ``__CLASSES__`` and ``__LOG__`` are filled in per request."""
    folder = resources.files("emonb.video") / "preview"
    html, css, js = ((folder / name).read_text(encoding="utf-8")
                     for name in ("index.html", "preview.css", "preview.js"))  # fmt: skip
    return html.replace("__STYLE__", css).replace("__SCRIPT__", js)
