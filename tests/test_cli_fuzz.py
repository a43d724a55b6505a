"""Bad input of every kind, to every loader and every command: each ends in one clear line.

Two tables. ``LOADERS`` feeds damaged, truncated, empty, huge, wrong-typed and wrong-shaped
files to the loaders of :mod:`emonb.data` (FER-2013 CSV / npz / folders, images, the
manifest): each must raise one :class:`~emonb.errors.EmonbError` whose message is one
line naming the file. ``COMMANDS`` runs ``emonb`` in-process (``main``) with bad files,
bad numbers, bad names and bad output paths: each must exit non-zero with exactly one
line on stderr, ``emonb: error: ...``, nothing on stdout, no traceback, no output file
left behind, and within seconds: every case fails before a model loads or trains (and
before TensorFlow is imported, which a fresh interpreter checks), which is what the commands
promise.
"""

from __future__ import annotations

import struct
import time
import zipfile
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from emonb.cli import main
from emonb.data.fer2013 import load_fer2013
from emonb.data.images import read_image
from emonb.data.manifest import load_manifest
from emonb.errors import EmonbError

PIXELS = " ".join(["0"] * 2304)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_header_only(w: int, h: int) -> bytes:
    """A PNG whose header declares w x h pixels, with almost no pixel data."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
            + _png_chunk(b"IDAT", zlib.compress(b"\0" * 64)) + _png_chunk(b"IEND", b""))  # fmt: skip


def _jpeg_header_only(w: int, h: int) -> bytes:
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, h, w, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + sof + b"\xff\xd9"


def _bmp_header_only(w: int, h: int) -> bytes:
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, 0, 0, 0, 0, 0)
    return b"BM" + struct.pack("<IHHI", 54 + len(info), 0, 0, 54) + info


def _npy_bytes(header: str) -> bytes:
    """A .npy with a hand-written header dict (a claimed shape) and 16 bytes of data."""
    text = header.encode("latin1")
    pad = 64 - (10 + len(text) + 1) % 64
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text) + pad + 1) + text + b" " * pad + b"\n" + bytes(16)


def _npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _faces(n: int = 4, usage: str | list[str] = "Training") -> dict:
    rng = np.random.default_rng(0)
    use = [usage] * n if isinstance(usage, str) else usage
    return {"images": rng.integers(0, 256, (n, 48, 48), dtype=np.uint8),
            "labels": np.arange(n) % 7, "usage": np.array(use)}  # fmt: skip


def _image_files(d: Path) -> None:
    rng = np.random.default_rng(1)
    photo = cv2.resize(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8), (300, 200))
    cv2.imwrite(str(d / "photo.png"), photo)
    cv2.imwrite(str(d / "photo.jpg"), photo)
    png, jpg = (d / "photo.png").read_bytes(), (d / "photo.jpg").read_bytes()
    (d / "trunc.png").write_bytes(png[: len(png) // 2])
    (d / "trunc.jpg").write_bytes(jpg[: len(jpg) // 2])
    b = bytearray(png)
    b[len(b) // 3 : len(b) // 3 + 50] = bytes(range(50))
    (d / "corrupt.png").write_bytes(bytes(b))
    (d / "corrupt.jpg").write_bytes(jpg[:-2] + bytes(43) + b"\xff\xd9")  # junk before the end
    (d / "text.png").write_text("not an image")
    (d / "empty.png").write_bytes(b"")
    (d / "huge.png").write_bytes(_png_header_only(60_000, 60_000))
    (d / "zero.png").write_bytes(_png_header_only(0, 0))
    (d / "huge.jpg").write_bytes(_jpeg_header_only(65_000, 65_000))
    (d / "huge.bmp").write_bytes(_bmp_header_only(100_000, -100_000))
    (d / "folder.png").mkdir()
    cv2.imwrite(str(d / "flat.png"), np.full((200, 200), 128, np.uint8))  # no face


def _fer_files(d: Path) -> None:
    # CSV
    (d / "letters.csv").write_text("emotion,pixels,Usage\n3," + " ".join(["ab"] * 2304) + ",Training\n")
    (d / "nan.csv").write_text("emotion,pixels\n3," + " ".join(["nan"] * 2304) + "\n")
    (d / "float.csv").write_text("emotion,pixels\n3," + " ".join(["1.5"] * 2304) + "\n")
    (d / "negative.csv").write_text("emotion,pixels\n3," + " ".join(["-1"] * 2304) + "\n")
    (d / "bignum.csv").write_text("emotion,pixels\n3," + " ".join(["9" * 30] * 2304) + "\n")
    (d / "short.csv").write_text("emotion,pixels\n3,1 2 3\n")
    (d / "nopixels.csv").write_text("emotion,Usage\n3,Training\n")
    (d / "empty.csv").write_bytes(b"")
    (d / "header.csv").write_text("emotion,pixels,Usage\n")
    (d / "binary.csv").write_bytes(bytes(range(256)) * 4)
    (d / "nul.csv").write_bytes(b"emotion,pixels\n3,\x00" + PIXELS.encode() + b"\n")
    (d / "bigcode.csv").write_text(f"emotion,pixels\n{'9' * 30},{PIXELS}\n")
    (d / "negcode.csv").write_text(f"emotion,pixels\n-1,{PIXELS}\n")
    (d / "nancode.csv").write_text(f"emotion,pixels\nnan,{PIXELS}\n")
    (d / "missingfield.csv").write_text("emotion,pixels\n3\n")
    (d / "hugefield.csv").write_text("emotion,pixels\n3,\"" + "1" * 200_000 + "\"\n")
    (d / "folder.csv").mkdir()
    # npz
    good = _npz(d / "good.npz", **_faces(4))
    (d / "text.npz").write_text("not a zip")
    (d / "empty.npz").write_bytes(b"")
    np.save(d / "array.npy", np.zeros((2, 48, 48), np.uint8))
    (d / "array.npy").rename(d / "array.npz")
    (d / "trunc.npz").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    f = _faces(4)
    _npz(d / "nolabels.npz", images=f["images"])
    _npz(d / "shape.npz", images=np.zeros((4, 32, 32), np.uint8), labels=f["labels"])
    _npz(d / "floatimg.npz", images=f["images"].astype(np.float32), labels=f["labels"])
    _zip(d / "object.npz", {"images.npy": _npy_bytes("{'descr': '|O', 'fortran_order': False, 'shape': (2, 48, 48), }"),
                            "labels.npy": _npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }")})  # fmt: skip
    _npz(d / "strlabels.npz", images=f["images"], labels=np.array(["a", "b", "c", "d"]))
    _npz(d / "nanlabels.npz", images=f["images"], labels=np.array([0, 1, np.nan, 3]))
    _npz(d / "biglabels.npz", images=f["images"], labels=np.array([0, 1, 7, 3]))
    _npz(d / "2dlabels.npz", images=f["images"], labels=np.zeros((4, 2), int))
    _npz(d / "mismatch.npz", images=f["images"], labels=np.arange(3))
    _zip(d / "claims.npz", {"images.npy": _npy_bytes("{'descr': '|u1', 'fortran_order': False, 'shape': (1000000000, 48, 48), }"),
                            "labels.npy": _npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (1000000000,), }")})  # fmt: skip
    _zip(d / "negshape.npz", {"images.npy": _npy_bytes("{'descr': '|u1', 'fortran_order': False, 'shape': (-5, 48, 48), }"),
                              "labels.npy": _npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (-5,), }")})  # fmt: skip
    with zipfile.ZipFile(good) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    raw = bytearray(_zip(d / "crc.npz", members).read_bytes())
    at = raw.index(b"images.npy") + 400
    raw[at : at + 8] = b"\xff" * 8  # pixel bytes of a stored member: the CRC no longer holds
    (d / "crc.npz").write_bytes(bytes(raw))
    _npz(d / "intusage.npz", images=f["images"], labels=f["labels"], usage=np.arange(4))
    _npz(d / "nofaces.npz", images=np.zeros((0, 48, 48), np.uint8), labels=np.zeros(0, int))
    _npz(d / "private.npz", **_faces(8, "PrivateTest"))
    _npz(d / "two.npz", **_faces(8, ["Training"] * 4 + ["PrivateTest"] * 4))
    # image folders
    for name in ("badimage", "truncimage", "wrongsize", "unknownclass"):
        (d / name / "train" / ("joy" if name == "unknownclass" else "happy")).mkdir(parents=True)
    (d / "badimage" / "train" / "happy" / "a.png").write_text("garbage")
    cv2.imwrite(str(d / "wrongsize" / "train" / "happy" / "a.png"), np.zeros((64, 64), np.uint8))
    cv2.imwrite(str(d / "truncimage" / "train" / "happy" / "a.png"),
                np.random.default_rng(0).integers(0, 256, (48, 48), dtype=np.uint8))  # fmt: skip
    t = d / "truncimage" / "train" / "happy" / "a.png"
    t.write_bytes(t.read_bytes()[:300])
    (d / "emptydir").mkdir()
    # manifests
    (d / "notyaml.yaml").write_text("artifacts: [unclosed\n")
    (d / "strings.yaml").write_text("artifacts: [a, b]\n")
    (d / "badsize.yaml").write_text(
        "artifacts:\n  - {name: m, kind: model, source: {kind: package, requirement: x, member: a.h5},"
        f" sha256: '{'0' * 64}', size: big, license: x, citation: x}}\n"
    )
    (d / "badsource.yaml").write_text(
        "artifacts:\n  - {name: m, kind: model, source: pip, license: x, citation: x}\n"
    )
    (d / "binary.yaml").write_bytes(b"\xff\xfe\x00bad")
    (d / "folder.yaml").mkdir()
    # other inputs for commands
    (d / "afile").write_text("x")
    (d / "model.keras").mkdir()  # a folder where a model file should be


@pytest.fixture(scope="module")
def d(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    _image_files(root)
    _fer_files(root)
    return root


# ---- loaders ---------------------------------------------------------------------------------
FER = load_fer2013
LOADERS = [  # (id, loader, file name, what the message must say)
    ("csv-pixels-letters", FER, "letters.csv", "line 2: 'pixels' must be whole numbers 0..255, found 'ab'"),
    ("csv-pixels-nan", FER, "nan.csv", "must be whole numbers 0..255, found 'nan'"),
    ("csv-pixels-float", FER, "float.csv", "found '1.5'"),
    ("csv-pixels-negative", FER, "negative.csv", "pixel values must be 0..255, found -1"),
    ("csv-pixels-huge-number", FER, "bignum.csv", "whole numbers 0..255"),
    ("csv-too-few-pixels", FER, "short.csv", "must hold 2304 values, got 3"),
    ("csv-missing-column", FER, "nopixels.csv", "lacks column(s) pixels"),
    ("csv-empty-file", FER, "empty.csv", "lacks column(s) emotion, pixels; has none"),
    ("csv-header-only", FER, "header.csv", "holds no faces"),
    ("csv-binary", FER, "binary.csv", "not a UTF-8 text CSV"),
    ("csv-nul-byte", FER, "nul.csv", "must be whole numbers 0..255, found '\\x000'"),
    ("csv-emotion-huge", FER, "bigcode.csv", "codes 0..6"),
    ("csv-emotion-negative", FER, "negcode.csv", "codes 0..6, found -1"),
    ("csv-emotion-nan", FER, "nancode.csv", "bad emotion code 'nan'"),
    ("csv-missing-field", FER, "missingfield.csv", "must hold 2304 values, got 0"),
    ("csv-field-over-limit", FER, "hugefield.csv", "not a readable CSV"),
    ("csv-is-a-folder", FER, "folder.csv", "not exactly one .csv or .npz inside"),
    ("npz-not-zip", FER, "text.npz", "not a readable .npz"),
    ("npz-empty-file", FER, "empty.npz", "not a readable .npz"),
    ("npz-is-one-npy", FER, "array.npz", "one .npy array, not a zip archive"),
    ("npz-truncated", FER, "trunc.npz", "not a readable .npz"),
    ("npz-missing-labels", FER, "nolabels.npz", "lacks key(s) labels"),
    ("npz-wrong-shape", FER, "shape.npz", "images must be (N, 48, 48), got (4, 32, 32)"),
    ("npz-float-images", FER, "floatimg.npz", "'images' has dtype float32; expected uint8"),
    ("npz-object-images", FER, "object.npz", "'images' has dtype object"),
    ("npz-string-labels", FER, "strlabels.npz", "'labels' has dtype <U1; expected integers"),
    ("npz-nan-labels", FER, "nanlabels.npz", "found nan"),
    ("npz-labels-out-of-range", FER, "biglabels.npz", "codes 0..6"),
    ("npz-2d-labels", FER, "2dlabels.npz", "labels must be (N,), got (4, 2)"),
    ("npz-length-mismatch", FER, "mismatch.npz", "4 images but 3 labels"),
    ("npz-header-claims-huge", FER, "claims.npz", "claims shape (1000000000, 48, 48)"),
    ("npz-negative-shape", FER, "negshape.npz", "claims a negative shape (-5, 48, 48)"),
    ("npz-crc-error", FER, "crc.npz", "not a readable .npz"),
    ("npz-int-usage", FER, "intusage.npz", "'usage' has dtype int64; expected strings"),
    ("npz-no-faces", FER, "nofaces.npz", "holds no faces"),
    ("folder-bad-image", FER, "badimage", "a.png: not a readable image"),
    ("folder-truncated-image", FER, "truncimage", "a.png: not a readable image"),
    ("folder-wrong-size", FER, "wrongsize", "expected a 48x48 face, got 64x64"),
    ("folder-unknown-emotion", FER, "unknownclass", "unknown emotion folder"),
    ("folder-empty", FER, "emptydir", "not exactly one .csv or .npz inside"),
    ("fer-missing", FER, "nothing.npz", "FER-2013 not found"),
    ("fer-wrong-type", FER, "afile", "unsupported file type"),
    ("image-text", read_image, "text.png", "not a readable image"),
    ("image-empty", read_image, "empty.png", "not a readable image (empty file)"),
    ("image-truncated-png", read_image, "trunc.png", "not a readable image"),
    ("image-truncated-jpg", read_image, "trunc.jpg", "not a readable image"),
    ("image-corrupt-png", read_image, "corrupt.png", "not a readable image (libpng error"),
    ("image-corrupt-jpg", read_image, "corrupt.jpg", "damaged or truncated (Corrupt JPEG data"),
    ("image-huge-png-header", read_image, "huge.png", "declares 60000x60000 pixels, more than"),
    ("image-huge-jpg-header", read_image, "huge.jpg", "declares 65000x65000 pixels"),
    ("image-huge-bmp-header", read_image, "huge.bmp", "declares 100000x100000 pixels"),
    ("image-zero-size-header", read_image, "zero.png", "declares 0x0 pixels"),
    ("image-folder", read_image, "folder.png", "no such image file"),
    ("image-missing", read_image, "nothing.png", "no such image file"),
    ("manifest-not-yaml", load_manifest, "notyaml.yaml", "not valid YAML"),
    ("manifest-entries-not-mappings", load_manifest, "strings.yaml", "is str 'a', not a mapping"),
    ("manifest-bad-size", load_manifest, "badsize.yaml", "malformed size 'big'"),
    ("manifest-source-not-mapping", load_manifest, "badsource.yaml", "'source' that is not a mapping"),
    ("manifest-binary", load_manifest, "binary.yaml", "cannot read the manifest (not UTF-8"),
    ("manifest-folder", load_manifest, "folder.yaml", "cannot read the manifest"),
]  # fmt: skip


@pytest.mark.parametrize(("loader", "name", "says"), [c[1:] for c in LOADERS],
                         ids=[c[0] for c in LOADERS])  # fmt: skip
def test_loader_fails_in_one_line(d, capfd, loader, name, says):
    t0 = time.perf_counter()
    with pytest.raises(EmonbError) as err:
        loader(d / name)
    message = str(err.value)
    assert "\n" not in message and says in message, message
    assert name in message
    assert capfd.readouterr() == ("", "")  # nothing of OpenCV's, libpng's or libjpeg's
    assert time.perf_counter() - t0 < 5


# ---- commands --------------------------------------------------------------------------------
# (id, argv with {d} for the fixture folder, what the line must say, paths that must not
# exist afterwards). "usage" cases are argparse's (exit 2); the others exit 1.
COMMANDS = [
    # predict
    ("predict-truncated-png", "predict {d}/trunc.png", "trunc.png: not a readable image", ()),
    ("predict-corrupt-jpg", "predict {d}/corrupt.jpg --json", "Corrupt JPEG data", ()),
    ("predict-huge-header", "predict {d}/huge.png", "more than emonb reads", ()),
    ("predict-folder", "predict {d}/folder.png", "no such image file", ()),
    ("predict-missing", "predict {d}/nothing.png", "no such image file", ()),
    ("predict-empty-image", "predict {d}/empty.png", "empty file", ()),
    ("predict-unknown-model", "predict {d}/photo.png --model nope", "no such model file", ()),
    ("predict-model-is-folder", "predict {d}/photo.png --model {d}/model.keras", "no such model file", ()),
    ("predict-unknown-detector", "predict {d}/photo.png --detector dlib", "invalid choice: 'dlib'", ()),
    ("predict-no-image", "predict", "the following arguments are required: IMAGE", ()),
    # explain
    ("explain-unknown-target-no-face", "explain {d}/flat.png --method gradcam --target joy --out {d}/x1",
     "--target: unknown class 'joy'", ("x1",)),
    ("explain-target-out-of-range", "explain {d}/flat.png --method gradcam --target 9 --out {d}/x2",
     "class index 9 is out of range 0..6", ("x2",)),
    ("explain-target-negative", "explain {d}/flat.png --method gradcam --target -1 --out {d}/x3",
     "class index -1 is out of range", ("x3",)),
    ("explain-filter-wrong-method", "explain {d}/flat.png --method gradcam --filter 3 --out {d}/x4",
     "--filter applies to the 'activation' method only", ("x4",)),
    ("explain-filter-negative", "explain {d}/flat.png --method activation --filter -2 --out {d}/x5",
     "argument --filter: must be at least 0, got -2", ("x5",)),
    ("explain-filter-not-number", "explain {d}/flat.png --method activation --filter abc --out {d}/x6",
     "argument --filter: expected a whole number, got 'abc'", ("x6",)),
    ("explain-out-is-file", "explain {d}/flat.png --method gradcam --out {d}/afile", "afile: is a file", ()),
    ("explain-no-method", "explain {d}/flat.png --out {d}/x7", "--method is required", ("x7",)),
    ("explain-no-out", "explain {d}/flat.png --method gradcam", "--out DIR is required", ()),
    ("explain-unknown-model", "explain {d}/flat.png --method gradcam --model {d}/m.h5 --out {d}/x8",
     "m.h5: no such model file", ("x8",)),
    # landmarks
    ("landmarks-json-is-folder", "landmarks {d}/photo.png --json {d}/emptydir", "is a folder; --json", ()),
    ("landmarks-out-is-file", "landmarks {d}/photo.png --out {d}/afile", "afile: is a file; --out", ()),
    ("landmarks-json-under-a-file", "landmarks {d}/photo.png --json {d}/afile/m.json", "afile: is a file", ()),
    ("landmarks-truncated", "landmarks {d}/trunc.jpg --json {d}/m1.json --out {d}/ov1",
     "trunc.jpg: not a readable image", ("m1.json", "ov1")),
    # bench
    ("bench-batch-zero", "bench --batch 0", "argument --batch: must be at least 1, got 0", ()),
    ("bench-batch-not-number", "bench --batch abc", "expected a whole number, got 'abc'", ()),
    ("bench-batch-huge", "bench --batch 1000000000", "must be at most 4096", ()),
    ("bench-repeat-negative", "bench --repeat -3", "argument --repeat: must be at least 1, got -3", ()),
    ("bench-data-not-zip", "bench --data {d}/text.npz --json {d}/b1.json", "not a readable .npz", ("b1.json",)),
    ("bench-batch-over-data", "bench --data {d}/good.npz --batch 5", "--batch 5 is more than the 4 faces", ()),
    ("bench-json-is-folder", "bench --json {d}/emptydir", "is a folder; --json", ()),
    ("bench-methods-empty", "bench --methods , --data {d}/good.npz", "--methods: no method names", ()),
    # train
    ("train-epochs-zero", "train --data synthetic --out {d}/t1.keras --epochs 0", "--epochs: must be at least 1", ("t1.keras",)),
    ("train-batch-size-negative", "train --data synthetic --out {d}/t2.keras --batch-size -64",
     "--batch-size: must be at least 1, got -64", ("t2.keras",)),
    ("train-seed-negative", "train --data synthetic --out {d}/t3.keras --seed -1", "--seed: must be at least 0", ("t3.keras",)),
    ("train-out-not-keras", "train --data synthetic --out {d}/t4.h5", "must end in .keras", ("t4.h5",)),
    ("train-out-is-folder", "train --data synthetic --out {d}/model.keras", "is a folder; --out", ()),
    ("train-csv-not-numbers", "train --data {d}/letters.csv --out {d}/t5.keras", "must be whole numbers", ("t5.keras",)),
    ("train-no-training-rows", "train --data {d}/private.npz --out {d}/t6.keras", "no rows with usage 'Training'", ("t6.keras",)),
    ("train-bad-class-weight", "train --data synthetic --out {d}/t7.keras --class-weight heavy", "invalid choice: 'heavy'", ("t7.keras",)),
    ("train-no-out", "train --data synthetic", "the following arguments are required: --out", ()),
    # evaluate
    ("evaluate-split-missing", "evaluate --data {d}/private.npz --split PublicTest --json {d}/e1.json",
     "no rows with usage 'PublicTest'; it has PrivateTest", ("e1.json",)),
    ("evaluate-npz-not-zip", "evaluate --data {d}/text.npz --json {d}/e2.json", "not a readable .npz", ("e2.json",)),
    ("evaluate-data-missing", "evaluate --data {d}/nothing.csv", "FER-2013 not found", ()),
    ("evaluate-json-under-a-file", "evaluate --data {d}/good.npz --json {d}/afile/e.json", "afile: is a file", ()),
    ("evaluate-data-empty-folder", "evaluate --data {d}/emptydir", "not exactly one .csv or .npz", ()),
    ("evaluate-unknown-model", "evaluate --data {d}/good.npz --model nope", "no such model file", ()),
    # evaluate-maps
    ("maps-n-negative", "evaluate-maps --data {d}/private.npz --n -3", "argument --n: must be at least 1, got -3", ()),
    ("maps-n-not-number", "evaluate-maps --data {d}/private.npz --n abc", "argument --n: expected a whole number", ()),
    ("maps-steps-one", "evaluate-maps --steps 1", "argument --steps: must be at least 2, got 1", ()),
    ("maps-n-regions-zero", "evaluate-maps --n-regions 0", "argument --n-regions: must be at least 1", ()),
    ("maps-seed-negative", "evaluate-maps --seed -5", "argument --seed: must be at least 0", ()),
    ("maps-regions-unknown", "evaluate-maps --regions boxes", "invalid choice: 'boxes'", ()),
    ("maps-split-missing", "evaluate-maps --data {d}/private.npz --split PublicTest --json {d}/m2.json",
     "no rows with usage 'PublicTest'; it has PrivateTest", ("m2.json",)),
    ("maps-default-split-missing", "evaluate-maps --data {d}/two.npz --pointing-model none",
     "no PublicTest rows (the default --split); it has Training, PrivateTest", ()),
    ("maps-npz-truncated", "evaluate-maps --data {d}/trunc.npz --json {d}/m3.json", "not a readable .npz", ("m3.json",)),
    ("maps-npz-claims-huge", "evaluate-maps --data {d}/claims.npz", "claims shape", ()),
    ("maps-pointing-model-missing", "evaluate-maps --data {d}/private.npz --pointing-model {d}/p.keras",
     "p.keras: no such model file", ()),
    ("maps-json-is-folder", "evaluate-maps --data {d}/private.npz --json {d}/emptydir", "is a folder; --json", ()),
    ("maps-methods-empty", "evaluate-maps --data {d}/private.npz --methods ' , '", "--methods: no method names", ()),
    # video
    ("video-max-frames-zero", "video {d}/nothing.mp4 --max-frames 0", "--max-frames: must be at least 1", ()),
    ("video-detect-width-small", "video {d}/nothing.mp4 --detect-width 10", "--detect-width: must be 0 or at least 24", ()),
    ("video-export-every-not-number", "video {d}/nothing.mp4 --export-every x", "expected a whole number, got 'x'", ()),
    ("video-window-zero", "video {d}/nothing.mp4 --window 0", "--window: must be at least 1", ()),
    ("video-out-is-folder", "video {d}/nothing.mp4 --out {d}/emptydir", "is a folder; --out", ()),
    ("video-export-faces-is-file", "video {d}/nothing.mp4 --export-faces {d}/afile", "afile: is a file", ()),
    ("video-missing-file", "video {d}/nothing.mp4 --method none --json {d}/v1.json", "no such video file", ("v1.json",)),
    ("video-unknown-model", "video {d}/nothing.mp4 --model nope", "no such model file", ()),
    # fetch, book, top level
    ("fetch-unknown-name", "fetch nothing", "unknown artifact 'nothing'", ()),
    ("fetch-cache-is-file", "fetch --cache {d}/afile", "afile: is a file; --cache", ()),
    ("book-root-missing", "book --root {d}/noroot --no-html", "noroot: no such folder (--root)", ()),
    ("book-param-one-value", "book -p quick", "argument -p/--param: expected 2 arguments", ()),
    ("no-command", "", "the following arguments are required: COMMAND", ()),
    ("unknown-command", "explode", "invalid choice: 'explode'", ()),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "says", "absent"), [c[1:] for c in COMMANDS],
                         ids=[c[0] for c in COMMANDS])  # fmt: skip
def test_command_fails_in_one_line(d, capfd, monkeypatch, argv, says, absent):
    import shlex

    monkeypatch.delenv("EMONB_FER2013", raising=False)
    t0 = time.perf_counter()
    try:
        code = main(shlex.split(argv.format(d=d)))
    except SystemExit as stop:  # argparse's usage errors
        code = stop.code
    seconds = time.perf_counter() - t0
    out, err = capfd.readouterr()
    assert code in (1, 2), (code, err)
    assert err.count("\n") == 1 and err.startswith("emonb: error: "), err
    assert says in err, err
    assert "Traceback" not in err and out == "", out
    for name in absent:
        assert not (d / name).exists(), name
    assert seconds < 10, f"{seconds:.1f} s: the command did work before failing"


#: Run in a fresh interpreter after every command case, in table order: the first case that
#: imports TensorFlow is named (each case runs ``main`` as the test above does).
_NO_TENSORFLOW = """
import contextlib, io, json, shlex, sys
from emonb.cli import main
for case_id, argv in json.loads(sys.argv[1]):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            main(shlex.split(argv))
        except SystemExit:
            pass
    if "tensorflow" in sys.modules:
        sys.exit(f"{case_id} imported TensorFlow before failing")
print(len(json.loads(sys.argv[1])), "cases, no TensorFlow")
"""


def test_every_command_case_fails_before_tensorflow_is_imported(d, root):
    import json
    import os
    import subprocess
    import sys

    cases = [(c[0], c[1].format(d=d)) for c in COMMANDS]
    env = {k: v for k, v in os.environ.items() if k != "EMONB_FER2013"}
    env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-c", _NO_TENSORFLOW, json.dumps(cases)], cwd=d,
                          env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == f"{len(COMMANDS)} cases, no TensorFlow"
