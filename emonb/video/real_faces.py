"""Real faces without FER-2013: the faces of the manifest's clip and photos, cropped and
aligned the way FER-2013's are (a detected face box, grey, 48x48), for analyses that must
never run on the synthetic stand-in (the action units of chapter 09). It reads photos and
video frames (:mod:`emonb.video.sources`) and finds faces (:mod:`emonb.faces`), so it lives
above both, here in ``video/``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from emonb.data.images import read_image, to_grey
from emonb.data.manifest import load_manifest, media_path
from emonb.faces import crop, find_faces
from emonb.video.sources import iter_frames, open_video

__all__ = ["DEFAULT_SOURCES", "RealFaces", "real_faces"]

#: The manifest's clip and photographs of real people.
DEFAULT_SOURCES = ("pexels-video", "single-face", "multi-face", "astronaut")


@dataclass
class RealFaces:
    """Face crops ``images`` (N, size, size) uint8 grey, and where each came from
    (``sources``: "<artifact>" for a photo of one face, "<artifact>#<k>" for the k-th face
    of a photo of several, "<artifact>@<frame>" for a video frame).

    :attr:`clusters` names each face's clip or person: the unit to resample in a bootstrap
    (``clusters=`` of :func:`emonb.metrics.stats.bootstrap_ci`, :func:`emonb.metrics.facs.au_table`,
    :func:`~emonb.metrics.facs.agreement`, :func:`emonb.metrics.au_use.au_use`), since the
    frames of one clip are not independent faces."""

    images: np.ndarray
    sources: list[str]

    def __len__(self) -> int:
        return len(self.images)

    @property
    def clusters(self) -> np.ndarray:
        """(N,) str: the clip each face comes from, or for a photo the face itself
        (``"multi-face#2"``: the people of one photo are different people)."""
        return np.array([s.split("@")[0] for s in self.sources], dtype=str).reshape(len(self.sources))

    @property
    def name(self) -> str:
        """Where the faces come from, for captions: ``"the manifest's media (pexels-video 40,
        astronaut 1)"``."""
        parts = ", ".join(f"{k} {v}" for k, v in self.counts().items())
        return f"the manifest's media ({parts or 'none'})"

    def subset(self, rows) -> RealFaces:
        """The faces at ``rows`` (indices or a boolean mask), with their sources."""
        rows = np.arange(len(self))[np.asarray(rows)]
        return RealFaces(self.images[rows], [self.sources[int(i)] for i in rows])

    def counts(self) -> dict[str, int]:
        """Faces per artifact."""
        out: dict[str, int] = {}
        for s in self.clusters:
            key = str(s).split("#")[0]
            out[key] = out.get(key, 0) + 1
        return out


def real_faces(sources: Sequence[str] = DEFAULT_SOURCES, *, every: int = 12, size: int = 48,
               max_frames: int | None = None, min_size: int = 40) -> RealFaces:  # fmt: skip
    """Every detected face (:func:`emonb.faces.find_faces`, its default detector) of the
    photos and of every ``every``-th frame of the videos among ``sources`` (manifest names
    or files; up to ``max_frames`` frames per video), cropped to its box, grey, resized to
    ``size`` (area interpolation)."""
    if every < 1 or size < 8:
        raise ValueError("every must be >= 1 and size >= 8")
    manifest = load_manifest()
    images: list[np.ndarray] = []
    names: list[str] = []

    def add(image: np.ndarray, name: str) -> None:
        boxes = find_faces(image, min_size=min_size)
        for k, box in enumerate(boxes):
            face = to_grey(crop(image, box))
            images.append(cv2.resize(face, (size, size), interpolation=cv2.INTER_AREA))
            # a photo's faces are different people; a clip's frames are one
            names.append(name if "@" in name or len(boxes) == 1 else f"{name}#{k}")

    for source in sources:
        kind = manifest[source].kind if source in manifest else None
        if kind == "video" or (
            kind is None and str(source).lower().endswith((".mp4", ".webm", ".avi", ".mov"))
        ):
            cap, _ = open_video(media_path(source, "video", manifest=manifest))
            try:
                taken = 0
                for i, frame in iter_frames(cap, None):
                    if i % every:
                        continue
                    if max_frames is not None and taken >= max_frames:
                        break
                    add(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), f"{source}@{i}")
                    taken += 1
            finally:
                cap.release()
        else:
            add(read_image(media_path(source, "image", manifest=manifest)), str(source))
    out = np.stack(images) if images else np.zeros((0, size, size), np.uint8)
    return RealFaces(out, names)
