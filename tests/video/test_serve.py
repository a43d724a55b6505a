"""The live preview (:mod:`emonb.video.serve`): the server on synthetic frames (no model),
the ``emonb video --serve`` options, and the book's clip through the pipeline into two
Chromium pages, with the preview's latency (shown - captured) measured."""

from __future__ import annotations

import gc
import http.client
import json
import signal
import socket
import struct
import threading
import time
import tracemalloc
import urllib.request
import warnings

import cv2
import numpy as np
import pytest

from emonb.cli import main
from emonb.config import CLASS_NAMES
from emonb.errors import EmonbError
from emonb.faces import Box
from emonb.video.serve import PreviewServer, check_host, is_loopback
from emonb.video.tracking import TrackedFace
from tests.book.browser import CHROMIUM, needs_chromium

FRAME = np.full((360, 640, 3), 90, np.uint8)


def _face(i: int) -> TrackedFace:
    """A face whose top class is ``i % 7``."""
    p = np.full(7, 0.02)
    p[i % 7] = 0.88
    return TrackedFace(i, i / 24, 0, Box(40, 30, 120 + i % 3, 120), p, i % 7, CLASS_NAMES)


def _publish(server: PreviewServer, i: int, frame: np.ndarray = FRAME) -> None:
    f = _face(i)
    server.publish(i, frame, [f], [f.proba * 0.5 + 0.5 / 7], time.time())


def _get(server: PreviewServer, path: str, timeout: float = 5):
    return urllib.request.urlopen(server.url + path.lstrip("/"), timeout=timeout)


def _events(response, n: int) -> list[dict]:
    """The next ``n`` messages of an event stream (``end`` events as ``{"end": True}``)."""
    out, event, data = [], "message", None
    while len(out) < n:
        line = response.readline().decode()
        if not line:
            break
        line = line.rstrip("\n")
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            data = json.loads(line[6:])
        elif line == "" and data is not None:
            out.append({"end": True} if event == "end" else data)
            event, data = "message", None
    return out


def _mjpeg_part(response) -> np.ndarray | None:
    """The next JPEG of a multipart MJPEG stream, decoded (None at the end)."""
    line = b""
    while not line.startswith(b"--frame"):
        line = response.readline()
        if not line:
            return None
    if line.startswith(b"--frame--"):
        return None
    headers = {}
    while (line := response.readline().strip()) != b"":
        key, value = line.decode().split(":", 1)
        headers[key.lower()] = value.strip()
    body = response.read(int(headers["content-length"]))
    return cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)


def _raw_request(server: PreviewServer, path: str, rcvbuf: int | None = None) -> socket.socket:
    sock = socket.socket()
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect((server.host, server.port))
    sock.sendall(f"GET {path} HTTP/1.0\r\n\r\n".encode())
    return sock


def _reset(sock: socket.socket) -> None:
    """Drop a connection abruptly (RST): the server's next write fails."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _preview_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("emonb-preview")]


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# -- the server, synthetic frames ------------------------------------------------------------


def test_page_is_self_contained():
    with PreviewServer() as server:
        assert server.url == f"http://127.0.0.1:{server.port}/" and server.port > 0
        response = _get(server, "/")
        html = response.read().decode()
        assert response.status == 200 and response.headers["Content-Type"].startswith("text/html")
    # works offline: no address outside the page (the favicon is an empty data: URL)
    assert "http://" not in html and "https://" not in html and "src=" not in html
    assert all(c in html for c in CLASS_NAMES) and "/frame.jpg" in html and "/events" in html
    assert "stream ended" in html and "data-captured" in html
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    # the package data (emonb/video/preview/) inlined: its style and script, no placeholder
    assert "__" not in html and "#status[data-state=" in html and "function frames()" in html
    with PreviewServer(class_names=["a</script><b>", "b"]) as server:
        html = _get(server, "/").read().decode()
    assert "</script><b>" not in html and '"a\\u003c/script>\\u003cb>"' in html


def test_a_handler_bug_is_kept_not_printed(capfd, monkeypatch):
    from emonb.video import serve

    def broken(self, query):
        raise KeyError("oops")

    monkeypatch.setattr(serve._Handler, "_state", broken)
    with PreviewServer() as server:
        with pytest.raises((urllib.error.URLError, ConnectionError, http.client.HTTPException)):
            _get(server, "/state.json")
        assert _get(server, "/").status == 200  # still serving
        assert server.errors == ("KeyError: 'oops'",)
    assert capfd.readouterr().err == ""


def test_the_commands_default_port_is_the_servers():
    from emonb.cli import build_parser
    from emonb.video.serve import DEFAULT_PORT

    video = build_parser()._subparsers._group_actions[0].choices["video"]
    assert next(a for a in video._actions if a.dest == "serve").const == DEFAULT_PORT == 8765


def test_frames_and_probabilities_arrive():
    big = np.zeros((720, 1280, 3), np.uint8)
    with PreviewServer(max_width=320, jpeg_quality=70) as server:
        assert json.load(_get(server, "/state.json"))["index"] is None
        events = _get(server, "/events")
        mjpeg = _get(server, "/stream.mjpg")
        _publish(server, 0, big)
        frame = _get(server, "/frame.jpg")
        image = cv2.imdecode(np.frombuffer(frame.read(), np.uint8), cv2.IMREAD_COLOR)
        assert image.shape == (180, 320, 3)  # downscaled to max_width, the aspect kept
        assert frame.headers["X-Frame-Index"] == "0" and frame.headers["X-Frame-Seq"] == "1"
        assert float(frame.headers["X-Frame-Sent"]) >= float(frame.headers["X-Frame-Captured"])
        assert _mjpeg_part(mjpeg).shape == (180, 320, 3)
        (first,) = _events(events, 1)
        for i in range(1, 4):
            time.sleep(0.05)  # the stream reader keeps up: every frame arrives
            _publish(server, i, big)
        later = _events(events, 3)
        state = json.load(_get(server, "/state.json"))
    assert [m["index"] for m in [first, *later]] == [0, 1, 2, 3]
    face = first["faces"][0]
    assert face["proba"] == pytest.approx(_face(0).proba, abs=1e-4)
    assert face["emotion"] == "angry" and face["box"] == [40, 30, 120, 120] and face["track"] == 0
    assert later[-1]["faces"][0]["emotion"] == "happy" and len(face["smoothed"]) == 7
    assert first["class_names"] == list(CLASS_NAMES)
    assert (first["width"], first["height"]) == (1280, 720)
    assert first["captured"] <= first["published"] <= first["sent"]
    assert state["index"] == 3 and state["ended"] is False


def test_unknown_path_and_bad_query():
    with PreviewServer() as server:
        with pytest.raises(urllib.error.HTTPError) as missing:
            _get(server, "/nope")
        with pytest.raises(urllib.error.HTTPError) as bad:
            _get(server, "/frame.jpg?after=x")
    assert missing.value.code == 404 and bad.value.code == 400


@pytest.mark.parametrize("host", ["0.0.0.0", "", "192.168.1.5", "::", "example.com", "10.0.0.1"])
def test_non_loopback_host_is_refused(host):
    with pytest.raises(EmonbError, match="not a loopback address.*allow-remote") as err:
        PreviewServer(host)
    assert "\n" not in str(err.value)
    check_host(host, allow_remote=True)  # allowed when asked


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1"])
def test_loopback_hosts_serve(host):
    assert is_loopback(host)
    try:
        server = PreviewServer(host)
    except EmonbError as err:  # a machine without IPv6
        if host == "::1" and "cannot serve" in str(err):
            pytest.skip(str(err))
        raise
    with server:
        assert _get(server, "/state.json").status == 200
    assert server.url.startswith("http://[::1]:" if host == "::1" else "http://127.0.0.")


def test_port_in_use_is_one_line():
    with PreviewServer() as first:
        with pytest.raises(EmonbError, match=f"127.0.0.1:{first.port}: the port is in use") as err:
            PreviewServer(port=first.port)
    assert "\n" not in str(err.value)
    with pytest.raises(EmonbError, match="port must be 0"):
        PreviewServer(port=70000)


def test_close_ends_streams_and_frees_the_port():
    before = len(threading.enumerate())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        server = PreviewServer()
        port = server.port
        _publish(server, 0)
        events, mjpeg = _get(server, "/events"), _get(server, "/stream.mjpg")
        poll = threading.Thread(target=lambda: _get(server, "/frame.jpg?after=1").read())
        poll.start()
        silent = socket.create_connection((server.host, port))  # never sends a request
        deaf = _raw_request(server, "/stream.mjpg", rcvbuf=4096)  # never reads
        assert _mjpeg_part(mjpeg) is not None and _events(events, 1)[0]["index"] == 0
        for i in range(1, 40):
            _publish(server, i, np.random.default_rng(i).integers(0, 255, (360, 640, 3), np.uint8))
        time.sleep(0.2)
        t0 = time.perf_counter()
        server.close()
        seconds = time.perf_counter() - t0
        poll.join(5)
        # every stream ends: the event stream says so, the MJPEG one closes its multipart
        assert {"end": True} in _events(events, 100)
        while _mjpeg_part(mjpeg) is not None:
            pass
        assert silent.recv(10) == b""
        silent.close()
        deaf.close()
        events.close()
        mjpeg.close()
        server.close()  # idempotent
        _publish(server, 99)  # ignored once closed
        gc.collect()
    assert not poll.is_alive() and seconds < 3
    assert _port_free(port) and not _preview_threads()
    assert len(threading.enumerate()) <= before
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)], caught
    assert "closed" in repr(server)


def test_slow_viewer_costs_the_publisher_nothing():
    """A viewer that never reads: 500 frames publish fast, the server keeps O(1) frames,
    and another viewer still gets the newest frame."""
    noise = [np.random.default_rng(k).integers(0, 255, (360, 640, 3), np.uint8) for k in range(2)]
    with PreviewServer() as server:
        deaf = [_raw_request(server, p, rcvbuf=4096) for p in ("/stream.mjpg", "/events")]
        _publish(server, 0, noise[0])
        time.sleep(0.3)  # the deaf MJPEG viewer's buffers fill with ~200 kB JPEGs
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            seconds = []
            for i in range(1, 501):
                t0 = time.perf_counter()
                _publish(server, i, noise[i % 2])
                seconds.append(time.perf_counter() - t0)
            held = tracemalloc.get_traced_memory()[0] - base
        finally:
            tracemalloc.stop()
        fresh = _get(server, "/frame.jpg")
        assert fresh.headers["X-Frame-Index"] == "500" and len(fresh.read()) > 10_000
        for sock in deaf:
            sock.close()
    assert server.published == 501
    assert server.encoded < 20  # lazily: only frames a viewer asked for, once each
    assert held < 4 * FRAME.nbytes, f"{held / 1e6:.1f} MB held after 500 frames"
    assert np.median(seconds) < 2e-3 and sum(seconds) < 3, (np.median(seconds), sum(seconds))


def test_each_frame_is_encoded_once_however_many_viewers():
    with PreviewServer() as server:
        for i in range(50):
            _publish(server, i)
        assert server.encoded == 0  # nobody asked
        got = []
        viewers = [threading.Thread(target=lambda: got.append(_get(server, "/frame.jpg").read()))
                   for _ in range(6)]  # fmt: skip
        for v in viewers:
            v.start()
        for v in viewers:
            v.join(5)
        assert len(got) == 6 and len(set(got)) == 1 and server.encoded == 1


def test_second_viewer_and_one_that_disconnects(capfd):
    with PreviewServer() as server:
        _publish(server, 0)
        staying = _get(server, "/events")
        leaving = [_raw_request(server, p) for p in ("/events", "/stream.mjpg", "/events")]
        poll = _raw_request(server, "/frame.jpg?after=1")
        assert _events(staying, 1)[0]["index"] == 0
        time.sleep(0.1)
        for sock in [*leaving, poll]:
            _reset(sock)  # mid-stream, abruptly: the server's writes fail
        for i in range(1, 30):
            time.sleep(0.01)
            _publish(server, i)
        seen = [m["index"] for m in _events(staying, 5)]
        assert seen[-1] > seen[0] >= 1 and seen == sorted(seen)
        assert json.load(_get(server, "/state.json"))["index"] == 29  # still serving
        server.end()
        assert _events(staying, 100)[-1] == {"end": True}
        assert not server.errors
    out, err = capfd.readouterr()
    assert "Traceback" not in err and "Error" not in err and err == "", err


def test_end_keeps_the_last_frame():
    with PreviewServer() as server:
        mjpeg = _get(server, "/stream.mjpg")
        for i in range(3):
            _publish(server, i)
        server.end()
        assert server.ended and not server.closed
        last = _get(server, "/frame.jpg?after=0")
        assert last.headers["X-Frame-Index"] == "2"
        seq = int(last.headers["X-Frame-Seq"])
        t0 = time.perf_counter()
        done = _get(server, f"/frame.jpg?after={seq}")  # no newer frame: at once, "ended"
        assert done.status == 204 and done.headers["X-Stream-Ended"] == "1"
        assert time.perf_counter() - t0 < 2
        assert json.load(_get(server, "/state.json"))["ended"] is True
        parts = 0
        while _mjpeg_part(mjpeg) is not None:
            parts += 1
        assert 1 <= parts <= 3  # the MJPEG stream ends after the last frame
        late = _events(_get(server, "/events"), 3)  # a viewer that comes after the end
        assert [m.get("index") for m in late] == [2, None] and late[-1] == {"end": True}
        _publish(server, 3)  # a new frame: live again
        assert not server.ended


# -- the command ------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "code", "says"), [
    ("--serve 70000", 2, "--serve: must be at most 65535"),
    ("--serve x", 2, "--serve: expected a whole number, got 'x'"),
    ("--serve --host 0.0.0.0", 2, "host 0.0.0.0 is not a loopback address"),
    ("--serve 0 --host example.org", 2, "allow-remote"),
    ("--host 127.0.0.1", 2, "--host applies only with --serve"),
    ("--allow-remote --serve-linger 3", 2, "--serve-linger and --allow-remote apply only with"),
    ("--serve --serve-linger -1", 2, "--serve-linger: must be 0 or more seconds"),
    ("--serve --serve-linger nan", 2, "--serve-linger: must be 0 or more seconds"),
])  # fmt: skip
def test_cli_serve_usage_errors(face_video, capfd, args, code, says):
    t0 = time.perf_counter()
    try:
        got = main(["video", str(face_video), *args.split()])
    except SystemExit as stop:  # argparse's usage errors
        got = stop.code
    out, err = capfd.readouterr()
    assert got == code and err.count("\n") == 1 and out == "", err
    assert err.startswith("emonb: error: video: ") and says in err, err
    assert time.perf_counter() - t0 < 5  # before the model loads


def test_cli_port_in_use(face_video, capfd):
    with PreviewServer() as taken:
        assert main(["video", str(face_video), "--method", "none", "--serve", str(taken.port)]) == 1
    out, err = capfd.readouterr()
    assert err == (f"emonb: error: cannot serve the preview on 127.0.0.1:{taken.port}: the port "
                   f"is in use (choose another, or 0 for any free port)\n")  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cli_serves_while_the_video_runs(tmp_path, capfd):
    """``emonb video pexels-video --serve PORT``: frames are served while the pipeline runs;
    when the source ends the server says so and lingers (``--serve-linger``) until Ctrl-C,
    which closes it (the port is free) and ends the command normally."""
    port = _free_port()
    argv = ["video", "pexels-video", "--serve", str(port), "--max-frames", "36", "--method",
            "none", "--no-landmarks", "--no-progress", "--json", str(tmp_path / "v.json"),
            "--serve-linger", "60"]  # fmt: skip
    states = []

    def watch():  # a viewer polling the state; Ctrl-C once the source has ended
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/state.json", timeout=2) as r:
                    states.append(json.load(r))
            except OSError:
                pass  # not bound yet
            if states and states[-1]["ended"]:
                time.sleep(0.3)  # still served: lingering
                signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)  # Ctrl-C
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    t0 = time.perf_counter()
    code = main(argv)
    seconds = time.perf_counter() - t0
    watcher.join(5)
    out, err = capfd.readouterr()
    assert code == 0 and seconds < 45, (code, seconds, err)  # Ctrl-C cut the 60 s linger
    url = f"http://127.0.0.1:{port}/"
    assert err.splitlines()[0] == f"serving the live preview at {url} (Ctrl-C stops)"
    assert "emonb: note: the source has ended; the preview stays up 60 s" in err
    indices = [s["index"] for s in states if s["index"] is not None]
    assert len(set(indices)) >= 2 and indices == sorted(indices) and indices[-1] == 35
    assert states[-1]["ended"] and states[-1]["faces"][0]["emotion"] in CLASS_NAMES
    assert "36 frames of" in out and (tmp_path / "v.json").is_file()
    assert _port_free(port) and not _preview_threads()


# -- end to end: the book's clip in Chromium ----------------------------------------------------

FRAMES = 192  # of pexels-video: 8 s of video at 24 fps (the pipeline runs at about 40 frames/s)

READ = """() => ({log: window.emonbPreview.log.slice(), chart: window.emonbPreview.chart,
    status: document.getElementById('status').dataset.state,
    shown: {...document.getElementById('frame').dataset},
    bars: [...document.querySelectorAll('#bars .row')].map(r => Number(r.dataset.proba))})"""


def _quantiles(values: list[float]) -> dict:
    v = np.asarray(values, np.float64)
    stats = {"median": np.median(v), "p95": np.percentile(v, 95), "min": v.min(), "max": v.max()}
    return {**{k: round(float(x), 1) for k, x in stats.items()}, "n": len(v)}


@needs_chromium
def test_live_preview_in_chromium(mini_xception, tmp_path, capfd):
    """The clip through the pipeline (``on_frame=server.publish``) into two Chromium pages: the
    frame shown and the bars move; closing one page leaves the other updating; the page says
    "stream ended"; the latency shown - captured is measured (written to a JSON)."""
    from playwright.sync_api import sync_playwright

    from emonb.video.pipeline import analyse_video

    result, failures = [], []
    with PreviewServer(class_names=mini_xception.class_names) as server, sync_playwright() as p:
        # a dead proxy: anything not on this machine could not load (loopback bypasses it)
        args = ["--no-sandbox", "--proxy-server=http://127.0.0.1:9"]
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            pages, remote, errors = [], [], []
            for _ in range(2):
                page = browser.new_page()
                page.on("request", lambda r: r.url.startswith((server.url, "data:"))
                        or remote.append(r.url))  # fmt: skip
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.goto(server.url, wait_until="load")
                pages.append(page)
            assert pages[0].evaluate(READ)["status"] == "waiting"

            def run():
                try:
                    result.append(analyse_video("pexels-video", mini_xception, max_frames=FRAMES,
                                                on_frame=server.publish))  # fmt: skip
                except BaseException as err:  # noqa: BLE001 (reported below)
                    failures.append(err)
                finally:
                    server.end()

            pipeline = threading.Thread(target=run)
            pipeline.start()
            first, second = pages
            wait = "n => window.emonbPreview.log.length >= n"
            first.wait_for_function(wait, arg=8, timeout=30_000)
            second.wait_for_function(wait, arg=8, timeout=30_000)
            closed_log = second.evaluate(READ)["log"]
            samples = [first.evaluate(READ)]
            second.close()  # mid-stream
            seen = len(samples[0]["log"])
            while pipeline.is_alive():
                samples.append(first.evaluate(READ))
                time.sleep(0.1)
            pipeline.join()
            first.wait_for_function("() => window.emonbPreview.finished", timeout=10_000)
            final = first.evaluate(READ)
        finally:
            browser.close()
    assert not failures and result[0].frames == FRAMES  # the viewers never stopped the pipeline
    assert not server.errors
    log = final["log"]
    indices = [e["index"] for e in log]
    # the frame shown advances (a frame may be skipped, none is shown twice or out of order)
    assert indices == sorted(set(indices)) and indices[-1] == FRAMES - 1
    assert len(log) - seen >= 5, "the first page stopped updating when the second closed"
    assert final["shown"]["index"] == str(FRAMES - 1) and final["status"] == "ended"
    # the bars move with the face's probabilities, and show the last frame's
    charts = [tuple(s["bars"]) for s in samples if s["chart"] and s["chart"]["proba"]]
    assert len(set(charts)) >= 3, charts
    last = result[0].faces[-1]
    assert final["chart"]["index"] == FRAMES - 1
    np.testing.assert_allclose(final["bars"], last.proba, atol=1e-3)
    assert final["chart"]["emotion"] == last.emotion
    assert not remote and not errors, (remote, errors)
    # latency: the browser's Date.now() and time.time() share this machine's clock
    shown = [e["shown"] - e["captured"] for e in log + closed_log]
    report = {"frames_published": FRAMES, "frames_shown": [len(log), len(closed_log)],
              "pipeline_fps": round(result[0].fps, 1),
              "latency_ms": _quantiles(shown),
              # where it goes: the pipeline (read to on_frame, its queues of a few frames
              # included), the server (JPEG on demand, the wait for the page's request),
              # the browser (transfer, decode, draw)
              "pipeline_ms": _quantiles([e["published"] - e["captured"] for e in log]),
              "server_ms": _quantiles([e["sent"] - e["published"] for e in log]),
              "browser_ms": _quantiles([e["shown"] - e["sent"] for e in log]),
              "preview_ms": _quantiles([e["shown"] - e["published"] for e in log])}  # fmt: skip
    (tmp_path / "preview_latency.json").write_text(json.dumps(report, indent=1))
    with capfd.disabled():
        print(f"\nlive preview latency (shown - captured): {json.dumps(report)} "
              f"-> {tmp_path / 'preview_latency.json'}")  # fmt: skip
    assert report["latency_ms"]["median"] < 1000 and report["latency_ms"]["p95"] < 3000, report
    assert min(shown) >= 0, "a frame shown before it was captured: the clocks disagree"
