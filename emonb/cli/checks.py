"""Checks every command runs before any costly work (loading a model, training one), and
before TensorFlow is imported: each calls the library's own rule, never a copy of it."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from emonb.cli.console import note
from emonb.errors import EmonbError

__all__ = ["check_methods", "check_model", "check_output", "check_target", "method_list",
           "pick_split"]  # fmt: skip


def check_output(path: Path | None, what: str, *, folder: bool = False) -> None:
    """Fail now, before any work, if ``path`` (a file, or a ``folder``) cannot be written:
    a folder where a file goes or the reverse, or a parent that is a file or read-only."""
    if path is None:
        return
    if folder and path.exists() and not path.is_dir():
        raise EmonbError(f"{path}: is a file; {what} needs a folder")
    if not folder and (path.is_dir() or str(path).endswith(os.sep)):
        raise EmonbError(f"{path}: is a folder; {what} needs a file name")
    parent = path if folder else path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise EmonbError(f"{parent}: is a file, so {path} cannot be written ({what})")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise EmonbError(f"{parent}: not writable, so {path} cannot be written ({what})")


def check_model(model: str) -> tuple[str, ...]:
    """The class names of the model ``--model`` names, decided as
    :func:`emonb.models.zoo.load_model` decides them (:func:`emonb.models.sources.find_model`:
    a manifest model, or a file whose sidecar, if any, is valid), without loading it."""
    from emonb.models.sources import find_model

    return find_model(model).class_names


def check_target(target: str, class_names: Sequence[str]) -> None:
    """``--target`` of ``emonb explain`` (:func:`emonb.models.targets.parse_target`, the
    rule of ``resolve_targets``), checked before the model loads."""
    from emonb.models.targets import parse_target

    try:
        parse_target(target, class_names)
    except EmonbError as err:
        raise EmonbError(f"--target: {err}") from None


def check_methods(names: Sequence[str]) -> None:
    """Every method name is registered (an error lists the valid ones)."""
    from emonb.methods import get_method

    for name in names:
        get_method(name)


def method_list(text: str | None) -> list[str] | None:
    """A ``--methods a,b`` list (None: the command's default); an empty list is an error."""
    if text is None:
        return None
    names = [m.strip() for m in text.split(",") if m.strip()]
    if not names:
        raise EmonbError(f"--methods: no method names in {text!r}")
    return names


def pick_split(faces, asked: str | None, default: str | None) -> str | None:
    """The split a command uses: ``asked`` (it must exist), else ``default`` (None: every
    row); data that holds a single split other than ``default`` uses that one, and says so."""
    have = faces.usages
    if asked is not None:
        if asked not in have:
            raise EmonbError(f"{faces.source}: no rows with usage {asked!r}; it has "
                             f"{', '.join(have)} (--split)")  # fmt: skip
        return asked
    if default is None or default in have:
        return default
    if len(have) == 1:
        note(f"{faces.source} holds only {have[0]} faces: using them (--split {have[0]})")
        return have[0]
    raise EmonbError(f"{faces.source}: no {default} rows (the default --split); it has "
                     f"{', '.join(have)}: choose one with --split")  # fmt: skip
