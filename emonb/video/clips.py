"""Test clips made from a video: the same frames at another size, cached.

A benchmark that asks how the pipeline scales with the frame size needs the same content at
each size. :func:`upscaled_clip` re-encodes a video at ``size`` with the ffmpeg binary of the
``imageio-ffmpeg`` wheel (:func:`emonb.video.writers.ffmpeg_exe`): bicubic scaling, H.264 (x264
``veryfast``, CRF 20, 4:2:0), no audio, every frame at its source time stamp (so the same
frame rate and frame count). :func:`cached_clip` puts it in the user cache
(:func:`emonb.config.cache_dir` ``/derived``), never in the working tree, and reuses it while
the source's SHA-256 and the settings are those it was made from.

For example::

    from emonb.data.manifest import media_path
    from emonb.video.clips import cached_clip

    clip = cached_clip(media_path("pexels-video", "video"), (1920, 1080), name="pexels-video")
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from emonb.errors import EmonbError
from emonb.records import write_json

__all__ = ["UPSCALE_CODEC", "cached_clip", "upscaled_clip"]

#: The encoder settings of every clip :func:`upscaled_clip` writes (after ``-c:v``).
UPSCALE_CODEC: tuple[str, ...] = ("libx264", "-preset", "veryfast", "-crf", "20",
                                  "-pix_fmt", "yuv420p", "-movflags", "+faststart")  # fmt: skip


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_size(size: Sequence[int]) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in size)
    except (TypeError, ValueError):
        raise EmonbError(f"a clip's size is (width, height), got {size!r}") from None
    if width < 2 or height < 2 or width % 2 or height % 2:
        raise EmonbError(f"a clip's width and height must be even and at least 2 (H.264 4:2:0), "
                         f"got {width}x{height}")  # fmt: skip
    return width, height


def _sidecar(dest: Path) -> Path:
    return dest.with_name(dest.name + ".json")


def upscaled_clip(source: str | os.PathLike[str], size: Sequence[int],
                  dest: str | os.PathLike[str], *, frames: int | None = None) -> Path:  # fmt: skip
    """``source`` re-encoded at ``size`` (width, height) into ``dest``; returns ``dest``.

    Parameters
    ----------
    source
        A video file ffmpeg reads.
    size
        The new (width, height), both even (H.264 4:2:0). Any size: larger (the use this is
        named for) or smaller; the aspect ratio is the caller's choice.
    dest
        The clip to write (its suffix picks the container; ``.mp4`` for H.264). Written
        whole: to a temporary file beside it, then renamed over it.
    frames
        Only the first ``frames`` frames (default: all).

    Returns
    -------
    Path
        ``dest``. A file ``dest + ".json"`` beside it records what it was made from (the
        source's SHA-256 and size in bytes, ``size``, ``frames``, the encoder settings);
        while that still holds, a second call returns ``dest`` at once without encoding.

    Raises
    ------
    EmonbError
        If there is no ffmpeg (``pip install imageio-ffmpeg``), the source is missing, the
        size is odd, or ffmpeg fails (with the end of its message).
    """
    from emonb.video.writers import ffmpeg_exe

    source, dest = Path(source), Path(dest)
    width, height = _check_size(size)
    if frames is not None and frames < 1:
        raise EmonbError(f"frames must be at least 1, got {frames}")
    if not source.is_file():
        raise EmonbError(f"{source}: no such video file")
    made_from = {
        "source_sha256": _sha256(source), "source_bytes": source.stat().st_size,
        "size": [width, height], "frames": frames, "codec": list(UPSCALE_CODEC),
    }  # fmt: skip
    sidecar = _sidecar(dest)
    try:
        if dest.is_file() and json.loads(sidecar.read_text(encoding="utf-8")) == made_from:
            return dest
    except (OSError, ValueError):
        pass
    exe = ffmpeg_exe()
    if exe is None:
        raise EmonbError("no ffmpeg to make a clip with (pip install imageio-ffmpeg)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    sidecar.unlink(missing_ok=True)
    tmp = dest.with_name(f".{dest.stem}.partial{dest.suffix}")
    cmd = [exe, "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i", str(source),
           "-map", "0:v:0", "-an", "-sn", "-dn",
           *(["-frames:v", str(frames)] if frames is not None else []),
           "-vf", f"scale={width}:{height}:flags=bicubic,setsar=1", "-fps_mode", "passthrough",
           "-c:v", *UPSCALE_CODEC, str(tmp)]  # fmt: skip
    try:
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            tail = " ".join(done.stderr.strip().splitlines()[-3:])
            tail = tail or f"exit status {done.returncode}"
            raise EmonbError(f"{dest}: ffmpeg failed making a {width}x{height} clip of "
                             f"{source.name}: {tail}")  # fmt: skip
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    write_json(made_from, sidecar)
    return dest


def cached_clip(source: str | os.PathLike[str], size: Sequence[int], *, name: str | None = None,
                frames: int | None = None, cache: str | os.PathLike[str] | None = None
                ) -> Path:  # fmt: skip
    """:func:`upscaled_clip` of ``source`` at ``size``, kept in the user cache.

    The clip is ``<cache>/derived/<name>-<W>x<H>.mp4`` (``-first<N>`` before ``.mp4`` with
    ``frames``), ``name`` defaulting to the source's file stem and ``cache`` to
    :func:`emonb.config.cache_dir`. It is made on the first call and reused while its
    source and settings are unchanged; a changed source replaces it.
    """
    from emonb import config

    width, height = _check_size(size)
    stem = name or Path(source).stem
    first = f"-first{frames}" if frames is not None else ""
    root = Path(cache) if cache is not None else config.cache_dir()
    dest = root / "derived" / f"{stem}-{width}x{height}{first}.mp4"
    return upscaled_clip(source, (width, height), dest, frames=frames)
