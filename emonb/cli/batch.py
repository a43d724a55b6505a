"""Commands over many inputs (predict, explain, landmarks): every input is read before a
model loads, and each one that fails is one error line and a row with its reason.

The rule (:data:`emonb.cli.argtypes.BATCH_RULE`): the command exits 0 and writes the
inputs that succeeded if at least one did, and says on stderr how many failed; every
input failing, or any under ``--strict``, is exit 1 with nothing written.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np

from emonb.cli.console import error, note
from emonb.errors import EmonbError

__all__ = ["Batch", "crop_note"]


class Batch:
    """The outcome of each of ``inputs`` (command-line arguments), in their order."""

    def __init__(self, inputs: Sequence[str], strict: bool = False):
        self.inputs = list(inputs)
        self.strict = strict
        self.reasons: dict[int, str] = {}

    def fail(self, i: int, err: EmonbError) -> None:
        """Input ``i`` failed: one error line now, its reason kept for the rows."""
        self.reasons[i] = " ".join(str(err).split())
        error(self.reasons[i])

    def read(self) -> list[tuple[int, str, object, np.ndarray]]:
        """``[(i, arg, path, image)...]``: every input read (not yet searched for faces);
        one that cannot be read fails."""
        from emonb.data.images import read_image
        from emonb.data.manifest import image_path

        items = []
        for i, arg in enumerate(self.inputs):
            try:
                path = image_path(arg)
                items.append((i, arg, path, read_image(path)))
            except EmonbError as err:
                self.fail(i, err)
        return items

    @property
    def stop(self) -> bool:
        """Exit 1 now and write nothing: every input failed, or one did under --strict."""
        return len(self.reasons) == len(self.inputs) or (self.strict and bool(self.reasons))

    def failed_row(self, i: int, image: str | None = None) -> dict:
        """The row of a failed input: ``{"image", "accepted": false, "reason"}``."""
        return {"image": image or self.inputs[i], "accepted": False, "reason": self.reasons[i]}

    def summary(self, json: bool = False) -> None:
        """One line on stderr, after the outputs are written, if some inputs failed."""
        if self.reasons:
            where = "the errors above and the JSON's \"reason\"" if json else "the errors above"
            print(f"emonb: {len(self.reasons)} of {len(self.inputs)} inputs failed (see {where})",
                  file=sys.stderr)  # fmt: skip


def crop_note(arg: str, image: np.ndarray, input_size: tuple[int, int]) -> None:
    h, w = image.shape[:2]
    note(f"{arg}: {w}x{h}, about the model's input size ({input_size[1]}x{input_size[0]}): "
         "used whole as a face crop, no face detection")  # fmt: skip
