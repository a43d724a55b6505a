"""Video in, files out: opening a file or camera, reading frames, and everything written.

:func:`open_video` and :func:`iter_frames` read a source; :func:`read_frames` picks
frames by index; :class:`FaceExporter` saves the auto-annotated face patches and their
index, read back by :func:`exported_patches`; :func:`write_animation` writes a GIF and
:func:`write_json` the JSON summary of a run.

:func:`open_writer` writes a video in a codec browsers play, chosen by the file's suffix
(:data:`SUFFIXES`): ``.mp4`` H.264 and ``.webm`` VP9, both through the ffmpeg binary of the
``imageio-ffmpeg`` wheel (frames piped to it raw). Without that binary, ``.webm`` is VP9
through OpenCV (slower) and ``.mp4`` falls back to OpenCV's MPEG-4 part 2 (``mp4v``, which
browsers do not play) with a one-line notice. :func:`web_videos` re-encodes a video for a
page and :func:`video_html` embeds the files in a ``<video>`` element.
"""

from __future__ import annotations

import base64
import csv
import functools
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from emonb.errors import EmonbError
from emonb.video.tracking import TrackedFace

if TYPE_CHECKING:
    from emonb.video.pipeline import VideoResult

# FFmpeg's own log inside OpenCV (a truncated file: "[h264 @ 0x...] Invalid NAL unit size",
# line after line) would bury emonb's one-line message about the same fault
# (emonb.video.stages.FrameReader.reason); read when OpenCV first opens a video
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

__all__ = [
    "ENCODERS",
    "REALTIME",
    "SUFFIXES",
    "FFmpegWriter",
    "FaceExporter",
    "OpenCVWriter",
    "VideoWriter",
    "encoder_available",
    "encoder_for",
    "exported_patches",
    "ffmpeg_exe",
    "is_camera",
    "iter_frames",
    "open_video",
    "open_writer",
    "read_frames",
    "video_html",
    "web_videos",
    "write_animation",
    "write_json",
]


def is_camera(name: str) -> bool:
    """Whether :func:`open_video`'s description ``name`` is a camera's (``"camera 0"``)."""
    return name.startswith("camera ")


def open_video(source: str | int | os.PathLike[str]) -> tuple[cv2.VideoCapture, str]:
    """An opened capture and a description: ``source`` is a video file, a manifest video
    name, or a camera index (an int or a string of digits). A camera that is missing or
    busy, or a file that is missing or unreadable, is an :class:`EmonbError`."""
    if isinstance(source, int) or (isinstance(source, str) and source.isdigit()):
        index = int(source)
        level = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # our message says it
        try:
            cap = cv2.VideoCapture(index)
        finally:
            cv2.utils.logging.setLogLevel(level)
        if not cap.isOpened():
            raise EmonbError(f"camera {index} could not be opened: no such camera on this "
                             "machine, or it is in use (give a video file instead)")  # fmt: skip
        return cap, f"camera {index}"
    from emonb.data.manifest import media_path

    path = media_path(source, "video")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise EmonbError(f"{path}: OpenCV cannot read this video")
    return cap, str(path)


def iter_frames(
    cap: cv2.VideoCapture, limit: int | None, seconds: dict[str, float] | None = None
) -> Iterator[tuple[int, np.ndarray]]:
    """``(index, BGR frame)`` of an opened capture, up to ``limit`` frames (None: until
    the source ends); reading time is added to ``seconds["read"]`` when given."""
    i = 0
    while limit is None or i < limit:
        t0 = time.perf_counter()
        ok, frame = cap.read()
        if seconds is not None:
            seconds["read"] += time.perf_counter() - t0
        if not ok:
            return
        yield i, frame
        i += 1


def read_frames(source: str | int | os.PathLike[str], indices: Sequence[int]) -> list[np.ndarray]:
    """Frames at ``indices`` of a video (RGB), read in one sequential pass (seeking in MPEG-4
    part 2 files is not frame-exact)."""
    wanted = sorted({int(i) for i in indices})
    cap, name = open_video(source)
    found: dict[int, np.ndarray] = {}
    try:
        for i, frame in iter_frames(cap, wanted[-1] + 1 if wanted else 0):
            if i in wanted:
                found[i] = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()
    missing = [i for i in wanted if i not in found]
    if missing:
        raise EmonbError(f"{name} has no frame {missing[0]}")
    return [found[int(i)] for i in indices]


class FaceExporter:
    """Saves face patches as ``root/<emotion>/f<frame>_t<track>.png`` (colour, as cropped)
    under the smoothed label, and an index, ``root/index.csv``: file, frame, time, track,
    box, emotion, its smoothed score, and the frame's own top class and score.

    ``every`` saves the faces of one frame in ``every`` (frames 0, every, 2 * every, ...).
    """

    COLUMNS = ("file", "frame", "time_s", "track", "x", "y", "w", "h", "emotion", "score",
               "predicted", "predicted_score")  # fmt: skip

    def __init__(self, root: str | os.PathLike[str], class_names: Sequence[str], every: int = 1):
        self.root = Path(root)
        self.every = int(every)
        if self.every < 1:
            raise EmonbError(f"export every must be >= 1 frame, got {every}")
        for name in class_names:
            (self.root / name).mkdir(parents=True, exist_ok=True)
        self._file = (self.root / "index.csv").open("w", newline="", encoding="utf-8")
        self._csv = csv.writer(self._file)
        self._csv.writerow(self.COLUMNS)
        self.count = 0

    def wants(self, frame: int) -> bool:
        """Whether the faces of frame number ``frame`` are saved (one frame in ``every``)."""
        return frame % self.every == 0

    def save(self, frame_bgr: np.ndarray, face: TrackedFace, smoothed: np.ndarray) -> None:
        """Save ``face``'s patch of the BGR frame and its index row; ``smoothed`` are its
        averaged probabilities (the score of the label)."""
        b = face.box
        self.save_patch(frame_bgr[b.y : b.y + b.h, b.x : b.x + b.w], face, smoothed)

    def save_patch(self, patch: np.ndarray, face: TrackedFace, smoothed: np.ndarray) -> None:
        """:meth:`save` of a patch already cut out of its frame (the video pipeline cuts it
        before drawing and saves it on its writer thread). The PNG is written at zlib level
        1: lossless, about half the time of OpenCV's default level, a tenth larger."""
        if not self.wants(face.frame):
            return
        rel = f"{face.emotion}/f{face.frame:06d}_t{face.track}.png"
        if not cv2.imwrite(str(self.root / rel), patch, [cv2.IMWRITE_PNG_COMPRESSION, 1]):
            raise EmonbError(f"could not write {self.root / rel}")
        self._csv.writerow([rel, face.frame, f"{face.time:.3f}", face.track,
                            *face.box.as_tuple(), face.emotion, f"{smoothed[face.label]:.4f}",
                            face.predicted, f"{face.proba.max():.4f}"])  # fmt: skip
        self._file.flush()  # the index is complete up to the last saved patch, whatever ends the run
        self.count += 1

    def close(self) -> None:
        """Close the index file."""
        self._file.close()


def exported_patches(root: str | os.PathLike[str], per_emotion: int | None = 8
                     ) -> dict[str, list[np.ndarray]]:  # fmt: skip
    """Exported patches (RGB) per emotion, read back through ``root/index.csv``
    (:class:`FaceExporter`): up to ``per_emotion`` evenly spread over the video, or all."""
    import pandas as pd

    index = pd.read_csv(Path(root) / "index.csv")
    out: dict[str, list[np.ndarray]] = {}
    for emotion, rows in index.groupby("emotion", sort=False):
        n = len(rows) if per_emotion is None else min(per_emotion, len(rows))
        pick = np.unique(np.linspace(0, len(rows) - 1, n).round()).astype(int)
        files = rows["file"].to_numpy()[pick]
        out[str(emotion)] = [cv2.cvtColor(cv2.imread(str(Path(root) / f)), cv2.COLOR_BGR2RGB)
                             for f in files]  # fmt: skip
    return out


def write_animation(frames: Sequence[np.ndarray], path: str | os.PathLike[str],
                    fps: float = 12.0) -> Path:  # fmt: skip
    """An endlessly looping GIF of RGB uint8 frames."""
    from PIL import Image

    if not frames:
        raise EmonbError("no frames to animate")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images = [Image.fromarray(np.asarray(f, dtype=np.uint8)) for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:], loop=0,
                   duration=int(round(1000 / fps)), optimize=False)  # fmt: skip
    return path


def write_json(result: VideoResult, path: str | os.PathLike[str]) -> Path:
    """The JSON summary (:meth:`VideoResult.to_json`) to ``path``."""
    from emonb.records import write_json as write_record

    return write_record(result.to_json(), path)


# --- writing video -----------------------------------------------------------------------

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
