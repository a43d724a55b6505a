"""The licences page (chapter 92): the terms of everything the book and emonb use, generated.

:func:`artifacts_html` tabulates every artifact of ``data_manifest.yaml`` with its
licence and the package it is taken from; :func:`ffmpeg_markdown` describes the ffmpeg
binary emonb runs as a separate program (the one the ``imageio-ffmpeg`` wheel ships,
:func:`emonb.video.writers.ffmpeg_exe`), its licence read from the binary's own build
configuration; :func:`software_html` tabulates installed packages with the licence each declares.
"""

from __future__ import annotations

import html
import re
import subprocess
from importlib import metadata

from emonb.data.manifest import Manifest

__all__ = ["artifacts_html", "distribution_licence", "ffmpeg_licence", "ffmpeg_markdown",
           "software_html"]


def _table(header: list[str], rows: list[list[str]]) -> str:
    """An HTML table (the pages render a notebook's Markdown output as CommonMark, which has
    no tables); cells are escaped, text in backticks becomes code."""
    def cell(text: str) -> str:
        parts = html.escape(" ".join(str(text).split())).split("`")
        return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))

    head = "".join(f"<th>{cell(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(c)}</td>" for c in row) + "</tr>\n"
                   for row in rows)  # fmt: skip
    return f'<table class="table">\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>'


def artifacts_html(manifest: Manifest) -> str:
    """Every artifact as a row: name, kind, licence / terms, and where it comes from (the
    package and version it is extracted from, or the environment variable for data that is
    never downloaded)."""
    rows = []
    for a in manifest:
        if a.fetchable:
            source = f"`{a.source.requirement}`"
        elif a.source.kind == "local":
            source = f"committed with emonb: `{a.source.path}`"
        else:
            source = f"none: your own copy in `${a.source.variable}`"
        rows.append([a.name, a.kind, a.license, source])
    return _table(["artifact", "kind", "licence / terms", "source package"], rows)


def distribution_licence(name: str) -> str:
    """An installed distribution's declared licence: its ``License-Expression``, a short
    ``License`` field, or its licence classifiers; ``"not installed"`` or ``"not declared"``."""
    try:
        meta = metadata.metadata(name)
    except metadata.PackageNotFoundError:
        return "not installed"
    expression = meta.get("License-Expression")
    if expression:
        return expression.strip()
    field = (meta.get("License") or "").strip()
    if field and "\n" not in field and len(field) <= 60 and field.upper() != "UNKNOWN":
        return field
    classifiers = [c.split(" :: ")[-1] for c in meta.get_all("Classifier") or []
                   if c.startswith("License ::")]  # fmt: skip
    return ", ".join(classifiers) or "not declared"


def software_html(names: list[str] | tuple[str, ...]) -> str:
    """The installed distributions ``names`` as rows: package, version, declared licence."""
    rows = []
    for name in names:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "not installed"
        rows.append([f"`{name}`", version, distribution_licence(name)])
    return _table(["package", "version", "licence (as the package declares it)"], rows)


#: ffmpeg's configure flags -> the licence of the resulting binary (FFmpeg's LICENSE.md).
_FFMPEG_LICENCES = {
    (True, True): "GPL-3.0-or-later",
    (True, False): "GPL-2.0-or-later",
    (False, True): "LGPL-3.0-or-later",
    (False, False): "LGPL-2.1-or-later",
}


def ffmpeg_licence(version_text: str) -> tuple[str, str]:
    """``(version, licence)`` of an ffmpeg binary from its ``ffmpeg -version`` output: the
    licence follows from ``--enable-gpl`` and ``--enable-version3`` in its configuration."""
    first = version_text.splitlines()[0] if version_text.strip() else ""
    match = re.match(r"ffmpeg version (\S+)", first)
    version = match.group(1) if match else "unknown"
    configuration = next((ln for ln in version_text.splitlines()
                          if ln.startswith("configuration:")), "")  # fmt: skip
    flags = set(configuration.split())
    return version, _FFMPEG_LICENCES["--enable-gpl" in flags, "--enable-version3" in flags]


def ffmpeg_markdown() -> str:
    """What emonb runs as ffmpeg, its licence, and how emonb uses it (a separate process)."""
    from emonb.video.writers import ffmpeg_exe

    exe = ffmpeg_exe()
    wheel = "imageio-ffmpeg"
    try:
        wheel_version = metadata.version(wheel)
    except metadata.PackageNotFoundError:
        wheel_version = None
    use = ("emonb runs it as a separate program, in a process of its own, and pipes raw video "
           "frames to its standard input (`emonb.video.writers`); emonb never links against "
           "it or imports it, and neither emonb nor this book redistributes it.")  # fmt: skip
    if exe is None:
        return (f"No ffmpeg binary is installed here (`pip install {wheel}`): emonb then writes "
                f"video through OpenCV. When there is one, {use}")  # fmt: skip
    try:
        out = subprocess.run([exe, "-version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    version, licence = ffmpeg_licence(out)
    flags = [f for f in ("--enable-gpl", "--enable-version3") if f in out.split()]
    why = f"built with {' and '.join(f'`{f}`' for f in flags)}" if flags else "its build"
    origin = (f"the binary shipped in the `{wheel}` {wheel_version} wheel (the Python wrapper "
              f"itself is {distribution_licence(wheel)})" if wheel_version
              else "the system's ffmpeg")  # fmt: skip
    return f"**ffmpeg {version}**, {origin}, is **{licence}** ({why}). {use}"
