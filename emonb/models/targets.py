"""Class targets: the one parser of what an explanation is for (:func:`resolve_targets`),
and :func:`select`, the differentiable pick of each image's target score.

Parsing needs no TensorFlow (the command line checks ``--target`` before a model loads);
:func:`select` imports it when called.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from emonb.errors import EmonbError

__all__ = ["Targets", "parse_target", "resolve_targets", "select"]

#: What a caller may ask an explanation for: a class index or name, ``"predicted"``/None,
#: or one of those per image.
Targets = int | str | Sequence[int | str] | np.ndarray | None


def select(scores, idx):
    """``scores[i, idx[i]]`` for each row, differentiably (one-hot product)."""
    from emonb._tf import tf  # TensorFlow only where scores are tensors

    return tf.reduce_sum(
        scores * tf.one_hot(idx, tf.shape(scores)[-1], dtype=scores.dtype), axis=-1
    )


def resolve_targets(targets: Targets, n: int, class_names: Sequence[str],
                    predicted: Callable[[], np.ndarray] | None = None) -> np.ndarray:  # fmt: skip
    """Class indices (n,) from an int, a class name, ``"predicted"``/None, or a per-image list.

    ``predicted()`` gives the predicted classes; it is called only when a target asks for
    them. Unknown names and out-of-range indices raise :class:`EmonbError` listing the
    valid ones. The one target parser of emonb.
    """

    def one(t) -> int:
        if isinstance(t, (int, np.integer)) and not isinstance(t, bool):
            if 0 <= int(t) < len(class_names):
                return int(t)
            raise EmonbError(f"class index {t} is out of range 0..{len(class_names) - 1}")
        if isinstance(t, str) and t in class_names:
            return list(class_names).index(t)
        shown = t[:40] if isinstance(t, str) else t
        raise EmonbError(f"unknown class {shown!r}; use an index 0..{len(class_names) - 1}, "
                         f"'predicted' or one of: {', '.join(class_names)}")  # fmt: skip

    def pred() -> np.ndarray:
        if predicted is None:
            raise EmonbError("'predicted' needs the model's predictions here")
        return np.asarray(predicted(), dtype=np.int32)

    if targets is None or (isinstance(targets, str) and targets == "predicted"):
        return pred()
    if isinstance(targets, (str, int, np.integer)):
        return np.full(n, one(targets), dtype=np.int32)
    items = list(targets)
    if len(items) != n:
        raise EmonbError(f"got {len(items)} targets for {n} images")
    if any(isinstance(t, str) and t == "predicted" for t in items):
        p = pred()
        return np.asarray(
            [p[i] if t == "predicted" else one(t) for i, t in enumerate(items)], dtype=np.int32
        )
    return np.asarray([one(t) for t in items], dtype=np.int32)


def parse_target(text: str, class_names: Sequence[str]) -> int | str:
    """A target written as text (``--target``): ``"predicted"``, a class name, or a class
    index (``"3"`` -> 3), checked by :func:`resolve_targets` without any prediction."""
    target: int | str = int(text) if text.removeprefix("-").isdigit() else text
    resolve_targets(target, 1, class_names, predicted=lambda: np.zeros(1, np.int32))
    return target
