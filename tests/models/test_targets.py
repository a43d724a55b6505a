"""Target parsing (the one parser of class targets) and the differentiable score pick."""

import re

import numpy as np
import pytest

from emonb._tf import tf
from emonb.config import CLASS_NAMES
from emonb.errors import EmonbError
from emonb.models import targets as T

NAMES = ("angry", "happy", "sad")


def _never():
    raise AssertionError("predictions were computed although no target asked for them")


@pytest.mark.parametrize(
    ("targets", "expected"),
    [
        (2, [2, 2, 2]),
        (np.int64(1), [1, 1, 1]),
        ("happy", [1, 1, 1]),
        ([0, "sad", 1], [0, 2, 1]),
        (np.array([2, 0, 1]), [2, 0, 1]),
    ],
)
def test_resolve_targets_without_predictions(targets, expected):
    out = T.resolve_targets(targets, 3, NAMES, predicted=_never)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, expected)


def test_resolve_targets_predicted():
    calls = []

    def predicted():
        calls.append(1)
        return np.array([2, 2, 0])

    np.testing.assert_array_equal(T.resolve_targets("predicted", 3, NAMES, predicted), [2, 2, 0])
    np.testing.assert_array_equal(T.resolve_targets(None, 3, NAMES, predicted), [2, 2, 0])
    mixed = T.resolve_targets(["happy", "predicted", 0], 3, NAMES, predicted)
    np.testing.assert_array_equal(mixed, [1, 2, 0])
    assert len(calls) == 3
    with pytest.raises(EmonbError, match="'predicted' needs the model's predictions"):
        T.resolve_targets("predicted", 3, NAMES)


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        (
            "joy",
            r"unknown class 'joy'; use an index 0\.\.2, 'predicted' or one of: angry, happy, sad",
        ),
        (3, r"class index 3 is out of range 0\.\.2"),
        (-1, r"class index -1 is out of range 0\.\.2"),
        (True, r"unknown class True"),
        ([0, "joy", 1], r"unknown class 'joy'.*angry, happy, sad"),
        ([0, 1], r"got 2 targets for 3 images"),
        ([0, 1, 2, 0], r"got 4 targets for 3 images"),
    ],
)
def test_resolve_targets_errors(targets, message):
    with pytest.raises(EmonbError, match=message):
        T.resolve_targets(targets, 3, NAMES, predicted=_never)


def test_select_picks_each_rows_target_differentiably():
    scores = tf.constant([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    with tf.GradientTape() as tape:
        tape.watch(scores)
        picked = T.select(scores, tf.constant([2, 0]))
    np.testing.assert_array_equal(picked.numpy(), [3.0, 4.0])
    np.testing.assert_array_equal(tape.gradient(picked, scores).numpy(), [[0, 0, 1], [1, 0, 0]])


def test_parse_target_is_resolve_targets_rule():
    parse_target = T.parse_target
    assert parse_target("predicted", CLASS_NAMES) == "predicted"
    assert parse_target("happy", CLASS_NAMES) == "happy" and parse_target("3", CLASS_NAMES) == 3
    for text, says in (("7", "class index 7 is out of range 0..6"), ("-1", "class index -1"),
                       ("joy", "unknown class 'joy'"), ("--3", "unknown class '--3'"),
                       ("x" * 500, "unknown class '" + "x" * 40 + "'")):  # fmt: skip
        with pytest.raises(EmonbError, match=re.escape(says)):
            parse_target(text, CLASS_NAMES)
