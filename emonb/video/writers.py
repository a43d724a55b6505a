"""Video out: frames written in a codec browsers play, chosen by the file's suffix.

:func:`open_writer` picks the encoder by the suffix (:data:`SUFFIXES`): ``.mp4`` H.264
and ``.webm`` VP9, both through the ffmpeg binary of the ``imageio-ffmpeg`` wheel
(:func:`ffmpeg_exe`; frames piped to it raw, :class:`FFmpegWriter`). Without that binary,
``.webm`` is VP9 through OpenCV (slower) and ``.mp4`` falls back to OpenCV's MPEG-4 part 2
(``mp4v``, which browsers do not play; :class:`OpenCVWriter`) with a one-line notice.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from emonb.errors import EmonbError

__all__ = [
    "ENCODERS",
    "REALTIME",
    "SUFFIXES",
    "FFmpegWriter",
    "OpenCVWriter",
    "VideoWriter",
    "encoder_available",
    "encoder_for",
    "ffmpeg_exe",
    "open_writer",
]

#: Encoder name -> (backend, its settings): ffmpeg's codec options (after ``-c:v``), or
#: OpenCV's fourcc. Speeds and sizes on the book's clip: ``benchmarks/video_codecs.py``.
ENCODERS: dict[str, tuple[str, tuple[str, ...]]] = {
    # H.264 High profile, 4:2:0 (what every browser decodes), moov atom first (plays while loading)
    "h264": ("ffmpeg", ("libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
                        "-movflags", "+faststart")),
    # the same at x264's cheapest preset: about a third of veryfast's CPU, files about 3x
    # larger (what a live pipeline writes: open_writer(..., realtime=True))
    # one encoder thread: 65 frames/s at 1080p here, and a fifth less CPU than two
    "h264-realtime": ("ffmpeg", ("libx264", "-preset", "ultrafast", "-crf", "23",
                                 "-threads", "1", "-pix_fmt", "yuv420p",
                                 "-movflags", "+faststart")),
    # VP9 at constant quality; the realtime deadline is ~40x faster than libvpx's default
    "vp9": ("ffmpeg", ("libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1",
                       "-b:v", "0", "-crf", "33", "-pix_fmt", "yuv420p")),
    "vp9-opencv": ("opencv", ("VP90",)),  # libvpx at its slow default settings
    "mp4v": ("opencv", ("mp4v",)),  # MPEG-4 part 2: players, not browsers
}  # fmt: skip

#: Output suffix -> the encoders tried, best first (the first one this machine has is used).
SUFFIXES: dict[str, tuple[str, ...]] = {
    ".mp4": ("h264", "mp4v"),
    ".m4v": ("h264", "mp4v"),
    ".mov": ("h264", "mp4v"),
    ".mkv": ("h264", "mp4v"),
    ".webm": ("vp9", "vp9-opencv"),
    ".avi": ("mp4v",),
}

#: Encoders :func:`open_writer` swaps in with ``realtime=True``.
REALTIME = {"h264": "h264-realtime"}

_CODEC_NAMES = {"h264": "H.264", "h264-realtime": "H.264", "vp9": "VP9", "vp9-opencv": "VP9",
                "mp4v": "MPEG-4 part 2"}  # fmt: skip


@functools.cache
def ffmpeg_exe() -> str | None:
    """The ffmpeg binary: ``$IMAGEIO_FFMPEG_EXE``, the one the ``imageio-ffmpeg`` wheel
    ships, or the system's; None if there is none."""
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        import shutil

        return shutil.which("ffmpeg")


@functools.cache
def _ffmpeg_encoders(exe: str) -> frozenset[str]:
    try:
        out = subprocess.run([exe, "-hide_banner", "-encoders"], capture_output=True, text=True,
                             timeout=30).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    return frozenset(line.split()[1] for line in out.splitlines() if len(line.split()) > 1)


def encoder_available(encoder: str) -> bool:
    """Whether this machine has ``encoder`` (a key of :data:`ENCODERS`): OpenCV's always,
    ffmpeg's when :func:`ffmpeg_exe` lists its library among its encoders."""
    backend, settings = ENCODERS[encoder]
    if backend == "opencv":
        return True
    exe = ffmpeg_exe()
    return exe is not None and settings[0] in _ffmpeg_encoders(exe)


def encoder_for(path: str | os.PathLike[str]) -> str:
    """The encoder (a key of :data:`ENCODERS`) :func:`open_writer` uses for ``path``: the
    first of its suffix's :data:`SUFFIXES` this machine has. An unknown suffix is an
    :class:`EmonbError`."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise EmonbError(f"{path}: cannot write a {suffix or 'suffix-less'} video; use .mp4 "
                         "(H.264) or .webm (VP9)")  # fmt: skip
    return next(e for e in SUFFIXES[suffix] if encoder_available(e) or e == SUFFIXES[suffix][-1])


@contextmanager
def _quiet_opencv() -> Iterator[None]:
    """OpenCV's log at errors only, and its FFmpeg wrapper's direct prints to stderr (the
    "tag 'VP90' is not supported ... fallback" line) dropped."""
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        cv2.utils.logging.setLogLevel(level)


class VideoWriter:
    """Frames in (BGR uint8, all of ``size``), a video file out: :meth:`write` each frame,
    then :meth:`close` (or use it as a context manager). Closing, also after an error, ends
    the file properly: it plays what was written."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int], encoder: str):
        self.path, self.fps, self.size, self.encoder = path, float(fps), size, encoder
        self.frames = 0
        self.closed = False

    def _check(self, frame: np.ndarray) -> np.ndarray:
        w, h = self.size
        if self.closed:
            raise EmonbError(f"{self.path}: the writer is closed")
        if frame.shape != (h, w, 3) or frame.dtype != np.uint8:
            raise EmonbError(f"{self.path}: frames must be {h}x{w}x3 uint8 (BGR), got "
                             f"{'x'.join(map(str, frame.shape))} {frame.dtype}")  # fmt: skip
        return frame

    def write(self, frame: np.ndarray) -> None:
        """Append one BGR uint8 frame."""
        raise NotImplementedError

    def close(self) -> None:
        """Finish the file (a second call does nothing)."""
        raise NotImplementedError

    def release(self) -> None:
        """:meth:`close`, by cv2.VideoWriter's name."""
        self.close()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r}, {self.encoder}, {self.frames} frames)"


class OpenCVWriter(VideoWriter):
    """``cv2.VideoWriter`` with a fourcc (``mp4v``, ``VP90``)."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int], encoder: str):
        super().__init__(path, fps, size, encoder)
        with _quiet_opencv():
            self._writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*ENCODERS[encoder][1][0]),
                                           self.fps, size)  # fmt: skip
        if not self._writer.isOpened():
            raise EmonbError(f"{path}: OpenCV cannot write a {_CODEC_NAMES[encoder]} video there")

    def write(self, frame: np.ndarray) -> None:
        self._writer.write(self._check(frame))
        self.frames += 1

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._writer.release()


class FFmpegWriter(VideoWriter):
    """The ffmpeg binary (:func:`ffmpeg_exe`) encoding raw BGR frames piped to its stdin.

    It runs in its own session, so a Ctrl-C stops the caller, whose :meth:`close` then ends
    the file, rather than killing the encoder half-way. Frames of an even width and height
    go to it as 4:2:0 YUV, converted by OpenCV (BT.601, limited range: what ffmpeg's own
    conversion of BGR gives), which halves what is piped and costs a fraction of ffmpeg's
    conversion (1080p: about 1 ms per frame against 6).
    """

    def __init__(self, path: Path, fps: float, size: tuple[int, int], encoder: str):
        super().__init__(path, fps, size, encoder)
        exe = ffmpeg_exe()
        if exe is None:
            raise EmonbError("no ffmpeg binary (pip install imageio-ffmpeg)")
        w, h = size
        # 4:2:0 needs an even width and height: an odd one gets a black last column / row
        even = ["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"] if w % 2 or h % 2 else []
        settings = ENCODERS[encoder][1]
        #: Whether frames are converted to 4:2:0 YUV here (even sizes, 4:2:0 output).
        self.yuv = not even and "yuv420p" in settings
        rate = str(Fraction(self.fps).limit_denominator(1001))  # 23.976... -> 24000/1001
        cmd = [exe, "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo",
               "-pix_fmt", "yuv420p" if self.yuv else "bgr24", "-s", f"{w}x{h}", "-r", rate,
               "-i", "pipe:0",
               "-an", *even, "-c:v", *ENCODERS[encoder][1], str(path)]  # fmt: skip
        self._log = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                      stderr=self._log, start_new_session=os.name == "posix")  # fmt: skip
        self._reported = False

    def _error(self) -> str:
        self._log.seek(0)
        tail = self._log.read().decode(errors="replace").strip().splitlines()[-3:]
        return f"{self.path}: ffmpeg ({self.encoder}) failed: " + (" / ".join(tail) or
                                                                  f"exit status {self._proc.returncode}")  # fmt: skip

    def write(self, frame: np.ndarray) -> None:
        frame = np.ascontiguousarray(self._check(frame))
        if self.yuv:
            frame = cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420)
        try:
            self._proc.stdin.write(frame.data)
        except (BrokenPipeError, OSError) as err:
            self._proc.wait()
            self._reported = True
            raise EmonbError(self._error()) from err
        self.frames += 1

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self._proc.stdin.close()
        except OSError:  # the encoder has already gone: its message below says why
            pass
        try:
            rc = self._proc.wait(timeout=120)
        except BaseException:  # e.g. a second Ctrl-C while it finishes: leave no process
            self._proc.kill()
            self._proc.wait()
            raise
        finally:
            if self._proc.returncode != 0:
                message = self._error()
            self._log.close()
        if rc != 0 and not self._reported:
            raise EmonbError(message)


def open_writer(path: str | os.PathLike[str], fps: float, size: tuple[int, int], *,
                encoder: str | None = None, realtime: bool = False) -> VideoWriter:  # fmt: skip
    """A :class:`VideoWriter` for ``path`` at ``fps`` frames per second and ``size``
    (width, height), creating its folder. ``encoder`` (a key of :data:`ENCODERS`) defaults
    to :func:`encoder_for` the path's suffix, or with ``realtime`` its cheaper setting
    (:data:`REALTIME`: H.264 at x264's ultrafast preset, for a live pipeline); when that is
    the MPEG-4 part 2 fallback of a browser format, a one-line notice on stderr says so."""
    path = Path(path)
    chosen = encoder_for(path) if encoder is None else encoder
    if chosen not in ENCODERS:
        raise EmonbError(f"unknown video encoder {chosen!r}; known: {', '.join(ENCODERS)}")
    if encoder is None and chosen != SUFFIXES[path.suffix.lower()][0]:
        best = SUFFIXES[path.suffix.lower()][0]
        print(f"emonb: notice: no {_CODEC_NAMES[best]} encoder (pip install imageio-ffmpeg); "
              f"{path.name} is {_CODEC_NAMES[chosen]} through OpenCV"
              + (", which browsers do not play" if chosen == "mp4v" else ""), file=sys.stderr)  # fmt: skip
    if encoder is None and realtime:
        chosen = REALTIME.get(chosen, chosen)
    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = (int(v) for v in size)
    cls = FFmpegWriter if ENCODERS[chosen][0] == "ffmpeg" else OpenCVWriter
    return cls(path, fps, (w, h), chosen)
