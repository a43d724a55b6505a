"""Tests for the synthetic FER-2013 stand-in as a whole (:mod:`emonb.data.synthetic`)."""

from __future__ import annotations

import numpy as np
import pytest

from emonb.config import CLASS_NAMES
from emonb.data.synthetic import (
    CUE_REGIONS,
    REGIONS,
    SyntheticFaces,
    make_synthetic_faces,
)

NEUTRAL = CLASS_NAMES.index("neutral")


@pytest.fixture(scope="module")
def faces() -> SyntheticFaces:
    return make_synthetic_faces(700, seed=0)


@pytest.fixture(scope="module")
def paired() -> dict[int, SyntheticFaces]:
    """The same 300 faces (identity, pose, lighting, noise) in each of the 7 classes."""
    n = 300
    return {c: make_synthetic_faces(n, seed=3, classes=[c] * n) for c in range(len(CLASS_NAMES))}


def test_shapes_and_dtypes(faces: SyntheticFaces) -> None:
    n = 700
    assert len(faces) == n
    assert faces.images.shape == (n, 48, 48) and faces.images.dtype == np.uint8
    assert faces.labels.shape == (n,) and faces.labels.dtype == np.int64
    assert faces.usage.shape == (n,) and faces.usage.dtype.kind == "U"
    assert set(faces.usage.tolist()) == {"Training", "PublicTest"}
    test = np.flatnonzero(faces.usage == "PublicTest")
    assert test[:3].tolist() == [8, 17, 26] and len(test) == 77  # every 9th face
    assert faces.cue_masks.shape == (n, 48, 48) and faces.cue_masks.dtype == np.bool_
    assert faces.face_masks.shape == (n, 48, 48) and faces.face_masks.dtype == np.bool_
    assert tuple(faces.region_masks) == REGIONS
    for mask in faces.region_masks.values():
        assert mask.shape == (n, 48, 48) and mask.dtype == np.bool_
    assert faces.class_names == CLASS_NAMES
    # The images use the grey range and are not blank.
    assert faces.images.std() > 20
    assert np.all(faces.images.reshape(n, -1).std(axis=1) > 5)


def test_same_seed_is_bit_identical_other_seed_differs() -> None:
    a = make_synthetic_faces(60, seed=7)
    b = make_synthetic_faces(60, seed=7)
    c = make_synthetic_faces(60, seed=8)
    for field in ("images", "labels", "usage", "cue_masks", "face_masks"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field
    for region in REGIONS:
        assert np.array_equal(a.region_masks[region], b.region_masks[region])
    assert not np.array_equal(a.images, c.images)
    assert not np.array_equal(a.labels, c.labels)


@pytest.mark.parametrize("n", [7, 700, 703])
def test_labels_are_balanced_and_shuffled(n: int) -> None:
    labels = make_synthetic_faces(n, seed=1).labels
    counts = np.bincount(labels, minlength=len(CLASS_NAMES))
    assert counts.max() - counts.min() <= 1
    assert counts.sum() == n
    if n > 7:
        assert not np.array_equal(labels, np.arange(n) % len(CLASS_NAMES))


def test_classes_are_honoured() -> None:
    classes = [3, 3, 0, 6, 1, 5, 2, 4, 4]
    data = make_synthetic_faces(len(classes), seed=2, classes=classes)
    assert data.labels.tolist() == classes
    data = make_synthetic_faces(4, seed=2, classes=np.array([1, 1, 1, 1], dtype=np.int32))
    assert data.labels.tolist() == [1, 1, 1, 1] and data.labels.dtype == np.int64


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n": 0}, "n must be >= 1"),
        ({"n": -5}, "n must be >= 1"),
        ({"n": 2.5}, "n must be an integer"),
        ({"n": True}, "n must be an integer"),
        ({"size": 8}, "size must be >= 24"),
        ({"size": 48.0}, "size must be an integer"),
        ({"n": 3, "classes": [0, 1]}, "len\\(classes\\) must equal n=3"),
        ({"n": 2, "classes": [0, 7]}, "codes in 0..6"),
        ({"n": 2, "classes": [-1, 0]}, "codes in 0..6"),
        ({"n": 2, "classes": [0.0, 1.0]}, "integer class codes"),
        ({"n": 2, "classes": [[0], [1]]}, "1-D"),
    ],
)
def test_bad_arguments_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_synthetic_faces(**kwargs)


def test_masks_are_non_empty_and_inside_the_face(faces: SyntheticFaces) -> None:
    n = len(faces)
    assert faces.cue_masks.reshape(n, -1).any(axis=1).all()
    for region, mask in faces.region_masks.items():
        assert mask.reshape(n, -1).any(axis=1).all(), region
        assert not (mask & ~faces.face_masks).any(), region
    # The face covers a sensible part of the image and does not fill it.
    face_share = faces.face_masks.reshape(n, -1).mean(axis=1)
    assert face_share.min() > 0.25 and face_share.max() < 0.65


def test_cue_masks_cover_a_small_part_of_the_image(faces: SyntheticFaces) -> None:
    share = faces.cue_masks.reshape(len(faces), -1).mean(axis=1)
    assert share.min() > 0.05, share.min()
    assert share.max() < 0.40, share.max()
    # ... and clearly less than the whole face.
    of_face = faces.cue_masks.sum(axis=(1, 2)) / faces.face_masks.sum(axis=(1, 2))
    assert of_face.max() < 0.6, of_face.max()


@pytest.mark.parametrize("size", [32, 64])
def test_other_sizes(size: int) -> None:
    data = make_synthetic_faces(21, seed=4, size=size)
    assert data.images.shape == (21, size, size)
    assert data.cue_masks.shape == (21, size, size)
    assert data.cue_masks.reshape(21, -1).any(axis=1).all()
    assert not (data.cue_masks & ~data.face_masks).any()


def _pixels(data: SyntheticFaces) -> np.ndarray:
    """2x2-averaged pixels (24x24 at size 48), standardised per image."""
    n, h, w = data.images.shape
    x = data.images.reshape(n, h // 2, 2, w // 2, 2).mean(axis=(2, 4)).reshape(n, -1)
    x = x - x.mean(axis=1, keepdims=True)
    return x / (x.std(axis=1, keepdims=True) + 1e-6)


def test_cues_are_learnable_by_a_linear_classifier() -> None:
    train = make_synthetic_faces(1400, seed=11)
    test = make_synthetic_faces(700, seed=12)
    x_train, x_test = _pixels(train), _pixels(test)
    mean = x_train.mean(axis=0)
    a_train = np.c_[x_train - mean, np.ones(len(x_train))]
    a_test = np.c_[x_test - mean, np.ones(len(x_test))]
    targets = np.eye(len(CLASS_NAMES))[train.labels]
    # Least squares on one-hot targets, with a small ridge penalty.
    weights = np.linalg.solve(
        a_train.T @ a_train + 30.0 * np.eye(a_train.shape[1]), a_train.T @ targets
    )
    accuracy = float(((a_test @ weights).argmax(axis=1) == test.labels).mean())
    print(f"least-squares accuracy on unseen faces: {accuracy:.3f} (chance {1 / 7:.3f})")
    assert accuracy > 0.6


@pytest.mark.parametrize("name", [c for c in CLASS_NAMES if c != "neutral"])
def test_mean_face_difference_lies_inside_the_cue_masks(
    paired: dict[int, SyntheticFaces], name: str
) -> None:
    """|mean(class) - mean(neutral)| has most of its mass inside the class's mean cue mask.

    The faces of ``paired`` differ only in expression, so the difference of the
    means is the cue itself (no identity/pose/lighting sampling noise).
    """
    code = CLASS_NAMES.index(name)
    data, neutral = paired[code], paired[NEUTRAL]
    diff = np.abs(
        data.images.astype(np.float64).mean(axis=0) - neutral.images.astype(np.float64).mean(axis=0)
    )
    inside = data.cue_masks.mean(axis=0) >= 0.5
    share = diff[inside].sum() / diff.sum()
    energy = (diff[inside] ** 2).sum() / (diff**2).sum()
    print(f"{name}: mean-face |diff| share {share:.3f}, squared-energy share {energy:.3f}")
    assert diff.sum() > 0
    assert share > 0.5
    assert energy > 0.5


@pytest.mark.parametrize("name", [c for c in CLASS_NAMES if c != "neutral"])
def test_each_face_changes_only_inside_its_cue_mask(
    paired: dict[int, SyntheticFaces], name: str
) -> None:
    code = CLASS_NAMES.index(name)
    data, neutral = paired[code], paired[NEUTRAL]
    diff = np.abs(data.images.astype(np.float64) - neutral.images.astype(np.float64))
    total = diff.sum(axis=(1, 2))
    assert (total > 0).all()  # every face shows its cue
    share = (diff * data.cue_masks).sum(axis=(1, 2)) / total
    print(f"{name}: per-face |diff| share inside the cue mask: min {share.min():.3f}")
    assert share.mean() > 0.95
    assert share.min() > 0.85
    # Outside the cue mask the faces are the same, up to the tail of the blur.
    outside = np.abs(data.images.astype(np.int16) - neutral.images.astype(np.int16))[
        ~data.cue_masks
    ]
    assert outside.max() <= 8
    assert (outside > 0).mean() < 0.01


def test_paired_faces_share_everything_but_the_expression(
    paired: dict[int, SyntheticFaces],
) -> None:
    neutral = paired[NEUTRAL]
    for code, data in paired.items():
        assert np.array_equal(data.face_masks, neutral.face_masks), CLASS_NAMES[code]
        for region in REGIONS:  # regions include the neutral feature, so they cover neutral's
            assert not (neutral.region_masks[region] & ~data.region_masks[region]).any(), region


@pytest.mark.parametrize("name", [c for c in CLASS_NAMES if c != "neutral"])
def test_cue_regions_are_the_regions_the_expression_moves(
    paired: dict[int, SyntheticFaces], name: str
) -> None:
    """A region outside the class's cue regions keeps the neutral face's mask on every face;
    a cue region's mask changes on some faces (it is the union with the moved feature)."""
    data, neutral = paired[CLASS_NAMES.index(name)], paired[NEUTRAL]
    for region in REGIONS:
        same = (data.region_masks[region] == neutral.region_masks[region]).all(axis=(1, 2))
        if region in CUE_REGIONS[name]:
            assert not same.all(), region
        else:
            assert same.all(), region
