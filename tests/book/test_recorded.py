"""Recorded results: the box a page shows above one, and the registry the intro lists."""

import json
import re

import nbformat
import pytest

from emonb.book.recorded import RECORDED, load_recorded, provenance_of, recorded_note
from emonb.errors import EmonbError
from tests.nbval_references import NBVAL_ENV, ROOT

#: Files under benchmarks/ without a provenance: none (the last two, the seed CNN's history
#: and a GPU study, were re-run or retired). The test below keeps it so.
WITHOUT_PROVENANCE: set[str] = set()

PROV = {"command": "emonb bench --json b.json", "commit": "0123456789abcdef", "dirty": False,
        "date": "2026-12-03T09:00:00+00:00", "machine": {"cpus": 2, "python": "3.11.7",
                                                       "tensorflow": "2.21.0"}}  # fmt: skip


def test_note_names_file_command_commit_date_and_machine():
    html = recorded_note("benchmarks/b.json", {"provenance": PROV, "x": 1}).data
    assert 'class="admonition note emonb-recorded" data-file="benchmarks/b.json"' in html
    assert "not computed while this book was built" in html
    assert "<code>emonb bench --json b.json</code> at commit 0123456 on 2026-12-03T09:00:00+00:00" in html
    assert "(2 CPUs, Python 3.11.7, TensorFlow 2.21.0)" in html and "uncommitted" not in html
    dirty = recorded_note("b.json", {"provenance": {**PROV, "dirty": True}}).data
    assert "at commit 0123456 with uncommitted changes" in dirty


def test_note_escapes_and_reads_the_file(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"provenance": {**PROV, "command": "run <x> & y"}}))
    html = recorded_note(path, name="benchmarks/<r>.json").data
    assert "run &lt;x&gt; &amp; y" in html and 'data-file="benchmarks/&lt;r&gt;.json"' in html


@pytest.mark.parametrize("missing", ["command", "commit", "date", "machine"])
def test_incomplete_provenance_is_a_warning_never_a_note(missing):
    prov = {k: v for k, v in PROV.items() if k != missing}
    assert provenance_of({"provenance": prov}) is None
    html = recorded_note("benchmarks/seed_cnn_study_cpu.json", {"provenance": prov}).data
    assert 'class="admonition warning emonb-recorded"' in html
    assert "Recorded result without provenance" in html
    # a registered file names the command that now writes it whole
    assert "benchmarks/train_study.py" in html and "it has not been re-run" in html
    assert "has not been re-run" not in recorded_note("other.json", {}).data


def test_load_recorded_fails_in_one_line(tmp_path):
    with pytest.raises(EmonbError, match="no such recorded result"):
        load_recorded(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(EmonbError, match="not a readable recorded result"):
        load_recorded(tmp_path / "bad.json")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(EmonbError, match="a JSON object, got list"):
        load_recorded(tmp_path / "list.json")


def test_every_benchmark_file_carries_its_provenance():
    files = sorted((ROOT / "benchmarks").glob("*.json"))
    assert files
    lacking = {p.name for p in files if provenance_of(load_recorded(p)) is None}
    assert lacking == WITHOUT_PROVENANCE, (
        "every file under benchmarks/ is written whole by one committed command, with its "
        f"provenance (emonb.records.provenance); lacking: {sorted(lacking)}"
    )


def _notebook_text(chapter: str) -> str:
    nb = nbformat.read(ROOT / "notebooks" / f"{chapter}.ipynb", as_version=4)
    return "\n".join(c.source for c in nb.cells)


def test_registry_matches_the_chapters_and_the_intro():
    shown = set()
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        shown |= {(m, path.stem) for m in re.findall(r"benchmarks/[\w.]+\.json", path.read_text())}
    registered = {(r.path, c) for r in RECORDED for c in r.chapters}
    # every recorded file a chapter names is registered for it, and each registered chapter
    # names its file and shows the recorded box
    assert shown <= registered, sorted(shown - registered)
    for r in RECORDED:
        for chapter in r.chapters:
            assert r.path in _notebook_text(chapter), (r.path, chapter)
            assert "recorded_note(" in _notebook_text(chapter), chapter
    intro = (ROOT / "book" / "intro.md").read_text()
    rows = dict(re.findall(r"^\| `(benchmarks/[\w.]+)` \| .* \| ([\d, ]+|—) \|$", intro, re.M))
    assert rows == {r.path: ", ".join(c[:2] for c in r.chapters) or "—" for r in RECORDED}


def test_built_pages_say_what_is_recorded_and_what_is_the_stand_in(quick_book):
    """In the quick book, built on the stand-in (NBVAL_ENV) whatever $EMONB_FER2013 says:
    each recorded file's page shows its box, and every page whose chapter loads the data
    carries the stand-in note once, worded for what it shows (without the stand-in no page
    carries it: tests/book/test_params.py)."""
    assert NBVAL_ENV["EMONB_FER2013"] == "synthetic"  # what the quick book's chapters loaded
    pages = quick_book / "book" / "chapters"
    for r in RECORDED:
        for chapter in r.chapters:
            if (ROOT / r.path).is_file():
                assert f'data-file="{r.path}"' in (pages / f"{chapter}.html").read_text(), (
                    r.path, chapter)
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        page = (pages / f"{path.stem}.html").read_text()
        if "stand_in_note(" not in _notebook_text(path.stem):
            assert "emonb-stand-in" not in page, path.stem
            continue
        assert page.count('class="admonition note emonb-stand-in"') == 1, path.stem
        if "emonb-recorded" in page:  # mixed: the note must not claim every number
            assert "Numbers computed on this page describe the stand-in" in page, path.stem
        else:
            assert re.search(r"Numbers on this page describe the stand-in, not FER-2013(\.|, except .+?, "
                             r"computed on real faces\.)", page), path.stem
