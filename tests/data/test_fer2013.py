import os

import cv2
import numpy as np
import pytest

from emonb.config import CLASS_NAMES
from emonb.data.fer2013 import load_faces, load_fer2013
from emonb.errors import DataError

N = 14


@pytest.fixture(scope="module")
def tiny():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (N, 48, 48), dtype=np.uint8)
    labels = np.arange(N) % 7
    usage = np.array(["Training"] * 10 + ["PublicTest"] * 4)
    return images, labels, usage


def write_csv(path, images, labels, usage):
    with open(path, "w") as fh:
        fh.write("emotion,pixels,Usage\n")
        for img, lab, use in zip(images, labels, usage, strict=True):
            fh.write(f"{lab},{' '.join(map(str, img.ravel()))},{use}\n")


def write_folders(root, images, labels, usage):
    for i, (img, lab, use) in enumerate(zip(images, labels, usage, strict=True)):
        split = "train" if use == "Training" else "test"
        folder = root / split / CLASS_NAMES[lab]
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{use}_{i:04d}.png"), img)  # lossless, so pixels compare exactly


def _sorted(ds):
    key = np.lexsort((ds.images.reshape(len(ds), -1).sum(1), ds.labels))
    return ds.images[key], ds.labels[key], ds.usage[key]


def test_three_formats_agree(tmp_path, tiny):
    images, labels, usage = tiny
    write_csv(tmp_path / "fer2013.csv", *tiny)
    np.savez(tmp_path / "fer.npz", images=images, labels=labels, usage=usage)
    write_folders(tmp_path / "folders", *tiny)
    a = load_fer2013(tmp_path / "fer2013.csv")
    b = load_fer2013(tmp_path / "fer.npz")
    c = load_fer2013(tmp_path / "folders")
    for ds in (a, b):
        np.testing.assert_array_equal(ds.images, images)
        np.testing.assert_array_equal(ds.labels, labels)
        np.testing.assert_array_equal(ds.usage, usage)
        assert ds.images.dtype == np.uint8 and ds.labels.dtype == np.int64
    for x, y in zip(_sorted(c), _sorted(b), strict=True):
        np.testing.assert_array_equal(x, y)
    assert a.counts().loc["all", "total"] == N
    assert list(a.split("PublicTest").usage) == ["PublicTest"] * 4


def test_folder_usage_from_folder_without_prefix(tmp_path):
    img = np.zeros((48, 48), np.uint8)
    for split in ("train", "test"):
        (tmp_path / split / "happy").mkdir(parents=True)
        cv2.imwrite(str(tmp_path / split / "happy" / "a.png"), img)
    ds = load_fer2013(tmp_path)
    assert sorted(ds.usage.tolist()) == ["PublicTest", "Training"]
    assert set(ds.labels.tolist()) == {3}


def test_folder_with_npz_inside(tmp_path, tiny):
    images, labels, usage = tiny
    np.savez(tmp_path / "x.npz", images=images, labels=labels)
    ds = load_fer2013(tmp_path)
    assert len(ds) == N and set(ds.usage.tolist()) == {"Training"}


def test_csv_without_usage_column(tmp_path, tiny):
    images, labels, _ = tiny
    with open(tmp_path / "train.csv", "w") as fh:
        fh.write("emotion,pixels\n")
        for img, lab in zip(images, labels, strict=True):
            fh.write(f"{lab},{' '.join(map(str, img.ravel()))}\n")
    ds = load_fer2013(tmp_path / "train.csv")
    np.testing.assert_array_equal(ds.images, images)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("emotion,Usage\n3,Training\n", "lacks column"),
        (
            "emotion,pixels,Usage\n3,1 2 3,Training\n",
            "line 2: 'pixels' must hold 2304 values, got 3",
        ),
        (
            "emotion,pixels,Usage\nx," + " ".join(["0"] * 2304) + ",Training\n",
            "line 2: bad emotion code",
        ),
        ("emotion,pixels,Usage\n9," + " ".join(["0"] * 2304) + ",Training\n", "codes 0..6"),
        ("emotion,pixels,Usage\n1," + " ".join(["300"] * 2304) + ",Training\n", "0..255"),
    ],
)
def test_bad_csv(tmp_path, content, match):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=match) as err:
        load_fer2013(path)
    assert str(path) in str(err.value)


def test_bad_npz(tmp_path):
    np.savez(tmp_path / "a.npz", images=np.zeros((2, 48, 48), np.uint8))
    with pytest.raises(DataError, match="lacks key.*labels"):
        load_fer2013(tmp_path / "a.npz")
    np.savez(tmp_path / "b.npz", images=np.zeros((2, 32, 32), np.uint8), labels=np.zeros(2))
    with pytest.raises(DataError, match=r"\(N, 48, 48\)"):
        load_fer2013(tmp_path / "b.npz")
    (tmp_path / "c.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="c.npz: not a readable"):
        load_fer2013(tmp_path / "c.npz")


def test_bad_folders(tmp_path):
    (tmp_path / "train" / "joy").mkdir(parents=True)
    with pytest.raises(DataError, match="unknown emotion folder"):
        load_fer2013(tmp_path)
    (tmp_path / "train" / "joy").rmdir()
    (tmp_path / "train" / "sad").mkdir()
    cv2.imwrite(str(tmp_path / "train" / "sad" / "big.png"), np.zeros((64, 64), np.uint8))
    with pytest.raises(DataError, match=r"big.png: expected a 48x48 face, got 64x64"):
        load_fer2013(tmp_path)
    (tmp_path / "train" / "sad" / "big.png").write_bytes(b"garbage")
    with pytest.raises(DataError, match="big.png: not a readable image"):
        load_fer2013(tmp_path)


def test_missing_and_unsupported(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_fer2013(tmp_path / "nope.csv")
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(DataError, match="unsupported file type"):
        load_fer2013(tmp_path / "x.txt")


def test_load_faces_stand_in(monkeypatch):
    monkeypatch.delenv("EMONB_FER2013", raising=False)
    ds = load_faces(n_synthetic=70, seed=1)
    assert ds.synthetic and ds.cue_masks is not None and len(ds) == 70
    assert ds.images.shape == (70, 48, 48) and ds.images.dtype == np.uint8
    assert ds.name == "synthetic stand-in"
    sub = ds.subset(ds.labels == 3)
    assert set(sub.labels.tolist()) == {3} and sub.cue_masks.shape[0] == len(sub)
    assert load_faces("synthetic", n_synthetic=70, seed=1).images.tobytes() == ds.images.tobytes()


README_COUNTS = {  # ../shared/data/fer2013/README.md, verified counts
    "Training": [3995, 436, 4097, 7215, 4830, 3171, 4965],
    "PublicTest": [467, 56, 496, 895, 653, 415, 607],
}


@pytest.mark.fer2013
@pytest.mark.skipif(
    not os.environ.get("EMONB_FER2013"),
    reason="EMONB_FER2013 not set (real FER-2013 not available)",
)
def test_real_fer2013_counts():
    ds = load_faces()
    assert not ds.synthetic
    counts = ds.counts()
    for usage, row in README_COUNTS.items():
        assert counts.loc[usage, list(CLASS_NAMES)].tolist() == row
    assert len(ds) == 32298
