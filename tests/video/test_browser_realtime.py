"""The live pipeline's writer (x264's ultrafast preset, frames piped as 4:2:0 YUV) makes
files a browser plays: Debian's Chromium through Playwright, offline, as chapter 07's
video is checked (tests/book/test_browser_video.py)."""

import numpy as np

from emonb.video.web import video_html
from emonb.video.writers import open_writer
from tests.book.browser import assert_offline, needs_chromium, offline_page
from tests.book.test_browser_video import _check, _play

pytestmark = needs_chromium


def test_realtime_h264_plays_in_chromium(tmp_path):
    path = tmp_path / "live.mp4"
    with open_writer(path, 24.0, (320, 180), realtime=True) as writer:
        assert writer.encoder == "h264-realtime" and writer.yuv
        for i in range(48):  # two seconds of a square moving across a gradient
            frame = np.tile(np.linspace(0, 255, 320, dtype=np.uint8)[None, :, None], (180, 1, 3))
            frame[60:120, 4 * i : 4 * i + 60] = (0, 0, 255)
            writer.write(frame)
    page_file = tmp_path / "page.html"
    page_file.write_text(f"<!doctype html><html><body>{video_html([path])}</body></html>")
    with offline_page() as (page, report):
        page.goto(page_file.as_uri(), wait_until="load")
        first, later = _play(page.locator("video").first)
    _check(first, later)
    assert first["width"] == 320
    assert_offline(report)
