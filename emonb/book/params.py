"""Chapter parameters: checks that fail in a chapter's first cell, and the stand-in note.

A chapter's first code cell validates its papermill parameters with these functions
(``from emonb.book import params``; ``params.check_int("seed", seed, minimum=0)``), so a bad
``-p`` value stops the run at once with a message naming the parameter.
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from pathlib import Path

from emonb.errors import EmonbError

__all__ = [
    "SAMPLE_IMAGES",
    "ParameterError",
    "check_choice",
    "check_file",
    "check_images",
    "check_int",
    "check_layer",
    "check_model",
    "check_target",
    "check_video",
    "quick_note",
    "recorded_default",
    "shipped_seed_cnn",
    "stand_in_note",
]

SAMPLE_IMAGES = ("single-face", "multi-face", "astronaut")


class ParameterError(EmonbError, ValueError):
    """A chapter parameter has a bad value."""


def check_int(
    name: str, value: object, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """``value`` as an int within bounds, else :class:`ParameterError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParameterError(f"parameter {name!r} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ParameterError(f"parameter {name!r} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ParameterError(f"parameter {name!r} must be <= {maximum}, got {value}")
    return value


def check_choice(name: str, value: object, choices: Sequence[object]) -> object:
    """``value`` if it is one of ``choices``, else :class:`ParameterError` listing them."""
    if value in choices:
        return value
    raise ParameterError(
        f"parameter {name!r} must be one of {', '.join(map(str, choices))}; got {value!r}"
    )


def check_target(value: object, class_names: Sequence[str]) -> str | int:
    """``value`` if it is one target: a class name, a class index or "predicted".

    It is read by :func:`emonb.models.targets.resolve_targets`, the parser every method uses,
    so a value passes here exactly when an explainer would take it for one image.
    """
    from emonb.models.targets import resolve_targets

    if isinstance(value, str) and value == "predicted":
        return value
    try:
        if isinstance(value, (str, int)):
            resolve_targets(value, 1, class_names)
            return value
    except EmonbError as err:
        raise ParameterError(f"parameter 'target': {err}") from None
    raise ParameterError(
        f"parameter 'target' must be 'predicted', a class index or a class name; got {value!r}"
    )


def check_layer(net, value: object) -> str | None:
    """None, or a layer of ``net`` (the error lists the valid names)."""
    if value is None:
        return None
    from emonb.models import graph

    try:
        return graph.find_layer(net.model, value)[0]  # type: ignore[arg-type]
    except EmonbError as err:
        raise ParameterError(f"parameter 'layer': {err}") from None


def check_model(value: object) -> str:
    """A manifest model name or an existing model file."""
    from emonb.data.manifest import load_manifest

    names = load_manifest().names("model")
    if isinstance(value, (str, os.PathLike)) and (
        str(value) in names or Path(value).expanduser().is_file()
    ):
        return str(value)
    raise ParameterError(
        f"parameter 'model' must be one of {', '.join(names)} or a model file, got {value!r}"
    )


def check_images(value: object, default: Sequence[str] = SAMPLE_IMAGES) -> list[Path]:
    """Image files to use: a path, a list of paths/manifest image names, or None for ``default``."""
    from emonb.data.manifest import image_path, load_manifest

    manifest = load_manifest()
    items = (
        list(default)
        if value is None
        else [value]
        if isinstance(value, (str, os.PathLike))
        else value
    )
    if not isinstance(items, (list, tuple)) or not items:
        raise ParameterError(
            f"parameter 'images' must be a path or a non-empty list of paths, got {value!r}"
        )
    paths = []
    for item in items:
        try:
            paths.append(image_path(item, manifest=manifest))
        except EmonbError:
            raise ParameterError(
                f"parameter 'images': {item!r} is neither a file nor a manifest image"
            ) from None
    return paths


def check_video(value: object) -> str | int:
    """A video file, a manifest video name (fetched and verified) or a camera index."""
    from emonb.data.manifest import load_manifest, media_path

    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    manifest = load_manifest()
    try:
        return str(media_path(str(value), "video", manifest=manifest))
    except EmonbError:
        raise ParameterError(
            f"parameter 'video' must be a video file, a camera index or one of "
            f"{', '.join(manifest.names('video'))}; got {value!r}"
        ) from None


def check_file(name: str, value: object) -> Path:
    """An existing file: as given, or relative to the project root (chapters run from the
    root, from notebooks/ or from anywhere else with papermill)."""
    path = Path(str(value)).expanduser()
    if path.is_file():
        return path
    if not path.is_absolute():
        from emonb.book.build import find_root

        try:
            candidate = find_root() / path
        except EmonbError:
            candidate = None
        if candidate is not None and candidate.is_file():
            return candidate
    raise ParameterError(f"parameter {name!r}: no such file {value!r}")


def recorded_default(name: str, value: object, default: str) -> Path | None:
    """An optional recorded file: ``value`` when given (it must exist, as for
    :func:`check_file`); else ``default`` if it has been recorded, else None."""
    if value is not None:
        return check_file(name, value)
    try:
        return check_file(name, default)
    except ParameterError:
        return None


def stand_in_note(dataset, *, recorded: str | None = None, real: str | None = None) -> object | None:
    """A visible note (IPython HTML) when ``dataset`` is the synthetic stand-in, else None.

    ``recorded`` names what the page also shows from FER-2013 runs recorded in
    ``benchmarks/`` (e.g. "the settings study's table"); ``real`` names what the page computes
    on real faces even without FER-2013 (the manifest's photos and clip): the note then says those are not the
    stand-in's, so that its wording is true on a page that mixes both."""
    if not getattr(dataset, "synthetic", False):
        return None
    from IPython.display import HTML

    exempt = f", except {html.escape(real)}, computed on real faces" if real else ""
    scope = (
        f"Numbers computed on this page describe the stand-in, not FER-2013{exempt}; {html.escape(recorded)}, "
        "each in a box marked <i>Recorded</i>, are FER-2013 results recorded in "
        "<code>benchmarks/</code>, not the stand-in's."
        if recorded
        else f"Numbers on this page describe the stand-in, not FER-2013{exempt}."
    )
    text = (
        "FER-2013 is not configured, so this page uses emonb's <b>synthetic stand-in</b>: "
        f"{len(dataset)} generated 48x48 faces whose expressions are drawn from facial action "
        f"cues (<code>{html.escape(dataset.source)}</code>). {scope} Set "
        "<code>EMONB_FER2013</code> (or the <code>data</code> parameter) to the dataset's CSV, "
        "image folder or .npz to see the real thing."
    )
    return HTML(
        f'<div class="admonition note emonb-stand-in"><p class="admonition-title">Stand-in</p>'
        f"<p>{text}</p></div>"
    )


def quick_note(quick: bool | None = None) -> object | None:
    """A visible note (IPython HTML) in a quick build: every setting quick mode capped on
    this page so far, the value asked for and the value used; None in a full build.

    Call it after the parameter cell's checks. Each affected figure repeats the settings
    it used in its caption's badge (:func:`emonb.book.figures.caption`)."""
    from emonb import config

    if not (config.is_quick() if quick is None else quick):
        return None
    from IPython.display import HTML

    caps = config.applied_caps()
    items = "".join(
        f"<li>{html.escape(config.QUICK_LABELS.get(n, n))}: <b>{used}</b> "
        f"(a full build uses {'all' if asked is None else asked})</li>"
        for n, (asked, used) in caps.items())  # fmt: skip
    body = ("<p>This page was built in <b>quick mode</b> (<code>EMONB_QUICK</code>): a pipeline "
            "check whose pictures and numbers are rougher than a full build's.</p>"
            + (f"<ul>{items}</ul>" if items else "<p>No setting of this page was capped.</p>"))
    return HTML(f'<div class="admonition note emonb-quick-note"><p class="admonition-title">'
                f"Quick build</p>{body}</div>")


def shipped_seed_cnn() -> Path | None:
    """The seed CNN trained on FER-2013 that emonb ships (manifest ``seed-cnn``, verified),
    or None when this checkout's manifest has none."""
    from emonb.data.manifest import artifact_path, load_manifest

    manifest = load_manifest()
    return artifact_path("seed-cnn", manifest=manifest) if "seed-cnn" in manifest else None
