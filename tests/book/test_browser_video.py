"""Chapter 07's annotated video plays in a real browser, offline: Debian's Chromium, driven by
Playwright as in test_browser.py, with every request that would leave the machine blocked and
recorded. Each <source> (H.264 and VP9) is also played on its own."""

import math

from tests.book.browser import assert_offline, needs_chromium, offline_page

pytestmark = needs_chromium

STATE = """v => ({ready: v.readyState, duration: v.duration, time: v.currentTime, paused: v.paused,
             error: v.error && v.error.code, width: v.videoWidth, src: v.currentSrc.slice(0, 24)})"""


def _play(video) -> tuple[dict, dict]:
    """Play a muted <video> (a Playwright locator): its state once it has a frame, and after
    its time has moved on."""
    video.evaluate("v => { v.muted = true; v.loop = false; return v.play(); }")
    page = video.page
    handle = video.element_handle()
    page.wait_for_function("v => v.readyState >= 2 && v.currentTime > 0", arg=handle,
                           timeout=30_000)  # fmt: skip
    first = video.evaluate(STATE)
    page.wait_for_function(f"v => v.currentTime > {first['time']} + 0.3 || v.ended", arg=handle,
                           timeout=30_000)  # fmt: skip
    return first, video.evaluate(STATE)


def _check(first: dict, later: dict) -> None:
    assert first["error"] is None and first["ready"] >= 2  # HAVE_CURRENT_DATA or more
    assert math.isfinite(first["duration"]) and first["duration"] > 0
    assert first["width"] > 0 and first["src"].startswith("data:video/")
    assert later["time"] > first["time"]  # it plays


def test_chapter_07_video_plays_offline(quick_book):
    page_path = quick_book / "book" / "chapters" / "07_video.html"
    with offline_page() as (page, report):
        page.goto(page_path.as_uri(), wait_until="load")
        videos = page.locator("video")
        assert videos.count() == 1
        video = videos.first
        video.scroll_into_view_if_needed()
        types = video.evaluate("v => [...v.querySelectorAll('source')].map(s => s.type)")
        assert video.evaluate("v => v.controls && v.muted && v.hasAttribute('playsinline')")
        chosen = _play(video)
        # every source on its own: a browser without H.264 falls back to VP9, Safari to H.264
        alone = []
        for i in range(len(types)):
            video.evaluate(
                f"""v => {{ v.pause(); const s = v.querySelectorAll('source')[{i}];
                    const w = document.createElement('video'); w.id = 'emonb-alone';
                    w.muted = true; w.src = s.src; v.after(w); }}"""
            )
            alone.append(_play(page.locator("#emonb-alone")))
            page.evaluate("() => document.getElementById('emonb-alone').remove()")
    assert [t.split(";")[0] for t in types] == ["video/mp4", "video/webm"]
    assert 'codecs="avc1.' in types[0] and types[1] == 'video/webm; codecs="vp9"'
    _check(*chosen)
    for state in alone:
        _check(*state)
    assert {a[0]["src"][:15] for a in alone} == {"data:video/mp4;", "data:video/webm"}
    assert_offline(report)
