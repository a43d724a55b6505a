"""Video for a web page: re-encoded in the codecs browsers play, embedded in ``<video>``.

:func:`web_videos` re-encodes a video (H.264 ``.mp4`` and VP9 ``.webm`` by default,
through :func:`emonb.video.writers.open_writer`) and :func:`video_html` embeds the files
in one ``<video>`` element as data URIs.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from pathlib import Path

import cv2

from emonb.errors import EmonbError
from emonb.video.sources import iter_frames, open_video
from emonb.video.writers import encoder_for, open_writer

__all__ = ["video_html", "web_videos"]


def web_videos(source: str | os.PathLike[str], folder: str | os.PathLike[str], *,
               suffixes: Sequence[str] = (".mp4", ".webm"), max_width: int | None = None,
               max_frames: int | None = None) -> list[Path]:  # fmt: skip
    """``source`` re-encoded for a web page: ``folder/<stem><suffix>`` per suffix whose
    encoder browsers play (H.264 for Safari and most browsers, VP9 for browsers without
    H.264), at most ``max_width`` pixels wide and ``max_frames`` long. A suffix whose only
    encoder here is MPEG-4 part 2 is skipped."""
    cap, name = open_video(source)
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0) or 24.0
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    if max_width and w > max_width:
        w, h = max_width, int(round(h * max_width / w / 2)) * 2
    paths = [Path(folder) / f"{Path(name).stem}{s}" for s in suffixes]
    paths = [p for p in paths if encoder_for(p) != "mp4v"]
    writers = []
    try:
        writers = [open_writer(p, fps, (w, h)) for p in paths]
        for _, frame in iter_frames(cap, max_frames):
            if frame.shape[:2] != (h, w):
                frame = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)
            for writer in writers:
                writer.write(frame)
    finally:
        cap.release()
        for writer in writers:
            writer.close()
    return paths


def _mime(path: Path, head: bytes) -> str:
    if path.suffix.lower() == ".webm":
        return 'video/webm; codecs="vp9"' if b"V_VP9" in head else "video/webm"
    i = head.find(b"avcC")  # H.264: profile, constraints and level from its decoder config
    if i >= 0 and len(head) >= i + 8:
        return f'video/mp4; codecs="avc1.{head[i + 5 : i + 8].hex().upper()}"'
    return 'video/mp4; codecs="mp4v.20"' if b"mp4v" in head else "video/mp4"


def video_html(paths: Sequence[str | os.PathLike[str]], *, width: int | None = None,
               loop: bool = True) -> str:  # fmt: skip
    """A ``<video controls muted playsinline>`` element with one ``<source>`` per file, each
    embedded as a data URI (the page plays it offline, also from file://); the browser plays
    the first one it can. Display it in a notebook with ``IPython.display.HTML``."""
    if not paths:
        raise EmonbError("no video files to embed")
    sources = []
    for p in map(Path, paths):
        data = p.read_bytes()
        mime = _mime(p, data[: 1 << 16] + data[-(1 << 16) :]).replace('"', "&quot;")
        sources.append(f'<source src="data:{mime.split(";")[0]};base64,'
                       f'{base64.b64encode(data).decode("ascii")}" type="{mime}">')  # fmt: skip
    size = f' width="{int(width)}"' if width else ""
    return (f'<video controls muted playsinline preload="auto"{" loop" if loop else ""}{size} '
            f'style="max-width: 100%; height: auto">{"".join(sources)}'
            "Your browser plays neither H.264 nor VP9 video.</video>")  # fmt: skip
