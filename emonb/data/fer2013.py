"""FER-2013 from any of its three common layouts, and the labelled-faces container.

Layouts read by :func:`load_fer2013`:

* the original ``fer2013.csv`` (columns ``emotion``, ``pixels``, optional ``Usage``);
* the image-folder release: ``train/<class>/*.jpg`` and ``test/<class>/*.jpg``
  (the usage is taken from a ``Training_`` / ``PublicTest_`` / ``PrivateTest_`` file-name
  prefix when present, else from the folder: train -> Training, test -> PublicTest);
* an ``.npz`` with ``images`` (N, 48, 48) uint8, ``labels`` (N,) and optional ``usage``.

:func:`load_faces` resolves what a chapter asked for (a path, ``$EMONB_FER2013`` or
the synthetic stand-in) into one :class:`FaceDataset`.
"""

from __future__ import annotations

import csv
import os
import zipfile
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from emonb import config
from emonb.config import CLASS_NAMES
from emonb.data.images import decode_image
from emonb.errors import DataError

__all__ = ["FaceDataset", "load_faces", "load_fer2013", "resolve_fer2013"]

SIDE = 48
USAGES = ("Training", "PublicTest", "PrivateTest")
_FOLDER_USAGE = {
    "train": "Training",
    "training": "Training",
    "test": "PublicTest",
    "val": "PublicTest",
}
_IMAGE_EXT = {".jpg", ".jpeg", ".png", ".bmp", ".pgm"}


@dataclass(frozen=True)
class FaceDataset:
    """Labelled 48x48 grey faces.

    ``images`` uint8 (N, 48, 48); ``labels`` int64 (N,) FER-2013 codes; ``usage`` str (N,).
    ``synthetic`` is True for the stand-in, whose ``cue_masks`` (bool (N, 48, 48)) mark the
    regions that carry each face's class cue; for real data ``cue_masks`` is None.
    """

    images: np.ndarray
    labels: np.ndarray
    usage: np.ndarray
    source: str
    synthetic: bool = False
    cue_masks: np.ndarray | None = None
    class_names: tuple[str, ...] = CLASS_NAMES

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def name(self) -> str:
        return "synthetic stand-in" if self.synthetic else "FER-2013"

    def subset(self, index: np.ndarray) -> FaceDataset:
        """Rows selected by a boolean mask or integer index."""
        masks = None if self.cue_masks is None else self.cue_masks[index]
        return replace(self, images=self.images[index], labels=self.labels[index],
                       usage=self.usage[index], cue_masks=masks)  # fmt: skip

    @property
    def usages(self) -> list[str]:
        """The usages (splits) present, FER-2013's in its order first, then any others."""
        have = set(self.usage.tolist())
        return [u for u in USAGES if u in have] + sorted(have - set(USAGES))

    def split(self, usage: str) -> FaceDataset:
        """Rows of one usage (``Training``, ``PublicTest``...); error lists what exists."""
        have = self.usages
        if usage not in have:
            raise DataError(
                f"{self.source}: no rows with usage {usage!r}; it has {', '.join(have)}"
            )
        return self.subset(self.usage == usage)

    def counts(self):
        """Faces per usage (rows) and emotion (columns), with totals (pandas DataFrame)."""
        import pandas as pd

        names = np.asarray(self.class_names)[self.labels]
        table = pd.crosstab(pd.Series(self.usage, name="usage"), pd.Series(names, name="emotion"))
        table = table.reindex(columns=list(self.class_names), fill_value=0)
        order = [u for u in USAGES if u in table.index] + [
            u for u in table.index if u not in USAGES
        ]
        table = table.loc[order]
        table["total"] = table.sum(axis=1)
        table.loc["all"] = table.sum(axis=0)
        return table

    def per_class(self, k: int, seed: int = 0) -> dict[str, np.ndarray]:
        """Up to ``k`` row indices per class, drawn without replacement by a seeded generator."""
        rng = np.random.default_rng(seed)
        out = {}
        for code, name in enumerate(self.class_names):
            rows = np.flatnonzero(self.labels == code)
            out[name] = np.sort(rng.choice(rows, size=min(k, rows.size), replace=False))
        return out


def _validate(images: np.ndarray, labels: np.ndarray, usage: np.ndarray, where: str) -> None:
    if images.ndim != 3 or images.shape[1:] != (SIDE, SIDE):
        raise DataError(f"{where}: images must be (N, 48, 48), got {images.shape}")
    if images.dtype != np.uint8:
        raise DataError(f"{where}: images must be uint8, got {images.dtype}")
    if labels.shape != (images.shape[0],) or usage.shape != (images.shape[0],):
        raise DataError(
            f"{where}: {images.shape[0]} images but {labels.shape[0]} labels and {usage.shape[0]} usage values"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= len(CLASS_NAMES)):
        raise DataError(
            f"{where}: labels must be FER-2013 codes 0..6, found {labels.min()}..{labels.max()}"
        )


def _read_csv(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    labels, pixels, usage = [], [], []
    row_no = 0  # the line last read (the header is line 1)
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            fields = reader.fieldnames or []
            missing = [c for c in ("emotion", "pixels") if c not in fields]
            if missing:
                raise DataError(f"{path}: CSV lacks column(s) {', '.join(missing)}; has "
                                f"{', '.join(map(repr, fields)) or 'none'}")  # fmt: skip
            for row_no, row in enumerate(reader, start=2):
                px = row["pixels"] or ""
                if not isinstance(px, str) or len(px.split()) != SIDE * SIDE:
                    n = len(px.split()) if isinstance(px, str) else 0
                    raise DataError(
                        f"{path}, line {row_no}: 'pixels' must hold 2304 values, got {n}"
                    )
                try:
                    code = int(row["emotion"])
                except (TypeError, ValueError):
                    raise DataError(
                        f"{path}, line {row_no}: bad emotion code {row['emotion']!r}"
                    ) from None
                if not 0 <= code < len(CLASS_NAMES):
                    raise DataError(f"{path}, line {row_no}: labels must be FER-2013 codes "
                                    f"0..6, found {code}")  # fmt: skip
                labels.append(code)
                pixels.append(px)
                use = row.get("Usage")
                usage.append((use if isinstance(use, str) else "").strip() or "Training")
    except UnicodeDecodeError as err:
        raise DataError(f"{path}, line {row_no + 1}: not a UTF-8 text CSV ({err.reason} at "
                        f"byte {err.start})") from None  # fmt: skip
    except csv.Error as err:
        raise DataError(f"{path}, line {row_no + 1}: not a readable CSV ({err})") from None
    try:
        flat = np.array(" ".join(pixels).split(), dtype=np.int64) if pixels else np.zeros(0, np.int64)
    except (ValueError, OverflowError):
        for row_no, px in enumerate(pixels, start=2):
            bad = next((v for v in px.split()
                        if not (v.isascii() and v.isdigit() and int(v) <= 255)), None)
            if bad is not None:
                raise DataError(f"{path}, line {row_no}: 'pixels' must be whole numbers "
                                f"0..255, found {bad[:20]!r}") from None  # fmt: skip
        raise
    if flat.size and (flat.min() < 0 or flat.max() > 255):
        raise DataError(f"{path}: pixel values must be 0..255, found {flat.min()}..{flat.max()}")
    images = flat.astype(np.uint8).reshape(-1, SIDE, SIDE)
    return images, np.asarray(labels, dtype=np.int64), np.asarray(usage, dtype=str)


#: What each array of a FER-2013 ``.npz`` must be: its number of dimensions and the dtype
#: kinds accepted (NumPy ``dtype.kind``: u/i integers, f floats, U/S strings).
_NPZ_ARRAYS = {"images": (3, "u"), "labels": (1, "uif"), "usage": (1, "US")}


def _npz_header(zf: zipfile.ZipFile, key: str, path: Path) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype of ``key`` in an open ``.npz``, read from its header only (no data),
    checked against what :data:`_NPZ_ARRAYS` allows and against the bytes stored: a header
    that claims more than the file holds is refused before anything is allocated."""
    info = zf.getinfo(f"{key}.npy")
    with zf.open(info) as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version in ((2, 0), (3, 0)):
            shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise ValueError(f"unsupported .npy version {version}")
        offset = fh.tell()
    ndim, kinds = _NPZ_ARRAYS[key]
    if dtype.hasobject or dtype.kind not in kinds:
        raise DataError(f"{path}: '{key}' has dtype {dtype}; expected "
                        f"{'uint8' if key == 'images' else 'integers' if key == 'labels' else 'strings'}")  # fmt: skip
    if len(shape) != ndim or (key == "images" and tuple(shape[1:]) != (SIDE, SIDE)):
        want = "(N, 48, 48)" if key == "images" else "(N,)"
        raise DataError(f"{path}: {key} must be {want}, got {tuple(shape)}")
    if any(side < 0 for side in shape):
        raise DataError(f"{path}: '{key}' claims a negative shape {tuple(shape)}")
    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if nbytes != info.file_size - offset:
        raise DataError(f"{path}: '{key}' claims shape {tuple(shape)} ({nbytes:,} bytes) but "
                        f"holds {max(info.file_size - offset, 0):,} bytes (damaged or truncated)")  # fmt: skip
    return tuple(shape), dtype


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
        if magic != b"PK\x03\x04":
            what = "one .npy array, not" if magic == b"\x93NUM" else "not"
            raise DataError(f"{path}: not a readable .npz (it is {what} a zip archive of arrays)")
        with zipfile.ZipFile(path) as zf:
            keys = [n[:-4] for n in zf.namelist() if n.endswith(".npy")]
            missing = [k for k in ("images", "labels") if k not in keys]
            if missing:
                raise DataError(
                    f"{path}: .npz lacks key(s) {', '.join(missing)}; has {', '.join(keys) or 'none'}"
                )
            shapes = {k: _npz_header(zf, k, path)[0] for k in _NPZ_ARRAYS if k in keys}
            n = shapes["images"][0]
            if any(shape[0] != n for shape in shapes.values()):
                raise DataError(f"{path}: {n} images but "
                                + " and ".join(f"{shapes[k][0]} {k}" for k in shapes if k != "images"))  # fmt: skip
        with np.load(path, allow_pickle=False) as data:
            images = np.asarray(data["images"])
            labels = np.asarray(data["labels"])
            usage = np.asarray(data["usage"]).astype(str) if "usage" in shapes else None
    except DataError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as err:
        raise DataError(f"{path}: not a readable .npz ({_first_line(err)})") from None
    if labels.dtype.kind == "f":
        if not np.isfinite(labels).all() or (labels != np.round(labels)).any():
            raise DataError(f"{path}: labels must be whole FER-2013 codes 0..6, found "
                            f"{labels[~np.isfinite(labels) | (labels != np.round(labels))][0]}")  # fmt: skip
        if labels.size and (labels.min() < 0 or labels.max() >= len(CLASS_NAMES)):
            raise DataError(f"{path}: labels must be FER-2013 codes 0..6, found "
                            f"{labels.min():g}..{labels.max():g}")  # fmt: skip
    elif labels.dtype.kind == "u" and labels.size and labels.max() >= len(CLASS_NAMES):
        raise DataError(f"{path}: labels must be FER-2013 codes 0..6, found 0..{labels.max()}")
    labels = labels.astype(np.int64)
    if usage is None:
        usage = np.full(labels.shape, "Training")
    return images, labels, usage


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:200] if text else type(err).__name__


def _read_folders(root: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    splits = [d for d in sorted(root.iterdir()) if d.is_dir() and d.name.lower() in _FOLDER_USAGE]
    if not splits:
        raise DataError(
            f"{root}: expected train/ and/or test/ folders with one sub-folder per emotion"
        )
    known = {name: code for code, name in enumerate(CLASS_NAMES)}
    images, labels, usage = [], [], []
    for split in splits:
        for cls_dir in sorted(d for d in split.iterdir() if d.is_dir()):
            code = known.get(cls_dir.name.lower())
            if code is None:
                raise DataError(
                    f"{cls_dir}: unknown emotion folder; expected one of {', '.join(CLASS_NAMES)}"
                )
            for f in sorted(cls_dir.iterdir()):
                if f.suffix.lower() not in _IMAGE_EXT:
                    continue
                img = decode_image(np.fromfile(f, dtype=np.uint8), f, flags=cv2.IMREAD_GRAYSCALE)
                if img.shape != (SIDE, SIDE):
                    raise DataError(
                        f"{f}: expected a 48x48 face, got {img.shape[1]}x{img.shape[0]}"
                    )
                prefix = f.name.split("_", 1)[0]
                images.append(img)
                labels.append(code)
                usage.append(prefix if prefix in USAGES else _FOLDER_USAGE[split.name.lower()])
    if not images:
        raise DataError(f"{root}: no images found under {', '.join(s.name for s in splits)}")
    return np.stack(images), np.asarray(labels, dtype=np.int64), np.asarray(usage, dtype=str)


def load_fer2013(path: str | os.PathLike[str]) -> FaceDataset:
    """Load FER-2013 from a CSV, an image-folder tree or an ``.npz`` (see module doc).

    A folder holding ``fer2013.csv`` or exactly one ``.npz`` is also accepted. Raises
    :class:`~emonb.errors.DataError` naming the file and the problem.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(
            f"{path}: FER-2013 not found (set ${config.ENV_FER2013} to the CSV, folder or .npz)"
        )
    if path.is_dir():
        csvs, npzs = sorted(path.glob("*.csv")), sorted(path.glob("*.npz"))
        if any(d.name.lower() in _FOLDER_USAGE for d in path.iterdir() if d.is_dir()):
            reader, target = _read_folders, path
        elif len(npzs) == 1:
            reader, target = _read_npz, npzs[0]
        elif len(csvs) == 1:
            reader, target = _read_csv, csvs[0]
        else:
            raise DataError(
                f"{path}: no train/ or test/ folders and not exactly one .csv or .npz inside"
            )
    elif path.suffix.lower() == ".csv":
        reader, target = _read_csv, path
    elif path.suffix.lower() == ".npz":
        reader, target = _read_npz, path
    else:
        raise DataError(
            f"{path}: unsupported file type; expected .csv, .npz or an image-folder tree"
        )
    try:
        images, labels, usage = reader(target)
    except OSError as err:  # unreadable (permissions), a folder where a file should be...
        raise DataError(f"{err.filename or target}: cannot read ({err.strerror or err})") from None
    _validate(images, labels, usage, str(target))
    if len(labels) == 0:
        raise DataError(f"{target}: holds no faces")
    return FaceDataset(images=images, labels=labels, usage=usage, source=str(target))


def resolve_fer2013(data: str | os.PathLike[str] | None = None) -> Path | None:
    """The FER-2013 location a caller asked for: ``data``, else ``$EMONB_FER2013``; None = stand-in."""
    if data is None:
        return config.fer2013_path()
    if str(data).strip().lower() in {"", "synthetic"}:
        return None
    return Path(data).expanduser()


def load_faces(
    data: str | os.PathLike[str] | None = None, *, n_synthetic: int = 1400, seed: int = 0
) -> FaceDataset:
    """Real FER-2013 when configured (``data`` or ``$EMONB_FER2013``), else the synthetic stand-in.

    ``data="synthetic"`` forces the stand-in. The stand-in has ``n_synthetic`` faces drawn
    with ``seed``; check :attr:`FaceDataset.synthetic` and say so wherever it is shown.
    """
    path = resolve_fer2013(data)
    if path is not None:
        return load_fer2013(path)
    from emonb.data.synthetic import make_synthetic_faces

    syn = make_synthetic_faces(n=n_synthetic, seed=seed)
    return FaceDataset(
        images=syn.images, labels=syn.labels, usage=syn.usage,
        source=f"emonb.data.synthetic (n={n_synthetic}, seed={seed})",
        synthetic=True, cue_masks=syn.cue_masks,
    )  # fmt: skip
