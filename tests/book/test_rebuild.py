"""Identical rebuilds: two executions of chapters 04 and 08 give the same outputs, times aside.

The first execution is the suite's one execution of the book (``book_project``, quick mode on
the synthetic stand-in, each chapter a task on a worker of a local Dask cluster);
:func:`second` executes the two chapters once more, in this process (``emonb book`` without
``--scheduler``), in another copy of the project: the same notebooks whichever engine ran
them. Every output is compared (text, HTML, Markdown, images byte
for byte, their metadata), and so are the 300-dpi figure files and the notebooks' metadata
(which :mod:`emonb.book.reproducible` rids of times). Text is compared with what cells print
that is different on every run masked by the regexes of tests/nbval_sanitize.cfg (the ones
nbval masks too: durations such as "12.3 s", timestamps, memory addresses, absolute paths).
A failure names the cell and shows the diff.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import re
import time
from collections import OrderedDict
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from emonb.book.build import FIGURE_DIR
from tests.nbval_references import copy_project, execute_book, executed_chapter, sanitize_patterns

CHAPTERS = ("04_saliency", "08_faithfulness")


# ---- the comparison ---------------------------------------------------------------------------
def _masked(text: str, patterns: OrderedDict) -> str:
    for regex, replace in patterns.items():
        text = re.sub(regex, replace, text)
    return text


def _coalesced(outputs: list) -> list:
    """Consecutive stream outputs of one name joined (how they are split depends on when the
    kernel flushed, not on what the cell printed)."""
    out: list = []
    for o in copy.deepcopy(outputs):
        if o.get("output_type") == "stream" and out and out[-1].get("output_type") == "stream" \
                and out[-1].get("name") == o.get("name"):  # fmt: skip
            out[-1]["text"] += o["text"]
        else:
            out.append(o)
    return out


def _diff(a: str, b: str, limit: int = 40) -> str:
    lines = list(difflib.unified_diff(a.splitlines(), b.splitlines(), "first", "second",
                                      lineterm="", n=1))  # fmt: skip
    return "\n".join(lines[:limit] + ([f"... ({len(lines) - limit} more lines)"]
                                      if len(lines) > limit else []))  # fmt: skip


def _value_diff(key: str, a, b, patterns: OrderedDict) -> str | None:
    """None when ``a`` and ``b`` (one output's field, ``key``) agree, else what differs."""
    if isinstance(a, list) and key != "image/png":
        a = "".join(a)
    if isinstance(b, list) and key != "image/png":
        b = "".join(b)
    if key.startswith("image/") and not key.endswith("svg+xml"):  # base64 bytes: exact
        if a == b:
            return None
        sha = [hashlib.sha256(str(v).encode()).hexdigest()[:12] for v in (a, b)]
        return f"{key}: the images differ ({len(str(a))} vs {len(str(b))} base64 characters, " \
               f"sha256 {sha[0]} vs {sha[1]})"  # fmt: skip
    if isinstance(a, str) and isinstance(b, str):
        ma, mb = _masked(a, patterns), _masked(b, patterns)
        return None if ma == mb else f"{key}:\n{_diff(ma, mb)}"
    return None if a == b else f"{key}: {a!r} != {b!r}"


def output_differences(first, second, patterns: OrderedDict) -> list[str]:
    """Everything that differs between two executions of one notebook (empty: identical,
    text masked by ``patterns``); each message names the cell."""
    found = []
    if first.metadata != second.metadata:
        found.append(f"notebook metadata:\n{_diff(repr(first.metadata), repr(second.metadata))}")
    if [c.source for c in first.cells] != [c.source for c in second.cells]:
        return [*found, "the two notebooks do not hold the same cells"]
    for number, (a, b) in enumerate(zip(first.cells, second.cells, strict=True)):
        where = f"cell {number} ({a.cell_type}, begins {a.source.splitlines()[0] if a.source else ''!r})"
        if a.metadata != b.metadata:
            found.append(f"{where}: metadata {dict(a.metadata)!r} != {dict(b.metadata)!r}")
        if a.cell_type != "code":
            continue
        if a.execution_count != b.execution_count:
            found.append(f"{where}: execution count {a.execution_count} != {b.execution_count}")
        outs_a, outs_b = _coalesced(a.outputs), _coalesced(b.outputs)
        if len(outs_a) != len(outs_b):
            kinds = [[o.get("output_type") for o in outs] for outs in (outs_a, outs_b)]
            found.append(f"{where}: {len(outs_a)} outputs {kinds[0]} != {len(outs_b)} {kinds[1]}")
            continue
        for k, (oa, ob) in enumerate(zip(outs_a, outs_b, strict=True)):
            fields = {**{f: (oa.get(f), ob.get(f)) for f in set(oa) | set(ob) if f != "data"},
                      **{m: (oa.get("data", {}).get(m), ob.get("data", {}).get(m))
                         for m in set(oa.get("data", {})) | set(ob.get("data", {}))}}  # fmt: skip
            for key in sorted(fields):
                problem = _value_diff(key, *fields[key], patterns)
                if problem:
                    found.append(f"{where}, output {k}, {problem}")
    return found


def figure_differences(first: Path, second: Path) -> list[str]:
    """The 300-dpi figure files of one chapter in two builds that differ (name or bytes)."""
    files = [{p.name: p.read_bytes() for p in folder.glob("*")} if folder.is_dir() else {}
             for folder in (first, second)]  # fmt: skip
    if set(files[0]) != set(files[1]):
        return [f"figures: {sorted(files[0])} != {sorted(files[1])}"]
    return [f"figure {name}: the files differ" for name in sorted(files[0])
            if files[0][name] != files[1][name]]  # fmt: skip


# ---- two executions of the real chapters ------------------------------------------------------
@pytest.fixture(scope="module")
def second(book_project, tmp_path_factory) -> tuple[Path, float]:
    """Chapters 04 and 08 executed once more, in this process (after ``book_project``:
    chapter 08 reads the stand-in model chapter 01 trained there); returns the project and
    the seconds this took (what the comparison adds to the suite)."""
    project = copy_project(tmp_path_factory.mktemp("rebuild"))
    t0 = time.perf_counter()
    execute_book(project, only=list(CHAPTERS), html=False, log=print)
    return project, time.perf_counter() - t0


@pytest.mark.parametrize("name", CHAPTERS)
def test_two_executions_are_identical_but_for_times(name, book_project, second):
    project, seconds = second
    print(f"second execution of {', '.join(CHAPTERS)}: {seconds:.0f} s")
    first_nb = nbformat.read(executed_chapter(book_project, name), as_version=4)
    second_nb = nbformat.read(executed_chapter(project, name), as_version=4)
    found = output_differences(first_nb, second_nb, sanitize_patterns())
    found += figure_differences(book_project / FIGURE_DIR / name, project / FIGURE_DIR / name)
    assert not found, f"{name} differs between two executions:\n\n" + "\n\n".join(found)


# ---- the comparison on constructed notebooks --------------------------------------------------
def _nb(*cells):
    nb = new_notebook()
    for n, (source, outputs) in enumerate(cells, 1):
        cell = new_code_cell(source, execution_count=n)
        cell.id = f"c{n}"
        cell.outputs = [new_output(**o) for o in outputs]
        nb.cells.append(cell)
    return nb


def _stream(text, name="stdout"):
    return {"output_type": "stream", "name": name, "text": text}


def _png(b64):
    return {"output_type": "display_data", "data": {"image/png": b64, "text/plain": "<Figure>"}}


def test_times_are_masked_and_split_streams_joined():
    a = _nb(("train()", [_stream("trained in 12.3 s\n"), _stream("accuracy 0.41\n")]))
    b = _nb(("train()", [_stream("trained in 9.8 s\naccuracy 0.41\n")]))
    assert output_differences(a, b, sanitize_patterns()) == []


def test_a_changed_number_names_the_cell_and_shows_the_diff():
    a = _nb(("import emonb", []), ("accuracy()", [_stream("accuracy 0.41 in 3 s\n")]))
    b = _nb(("import emonb", []), ("accuracy()", [_stream("accuracy 0.43 in 5 s\n")]))
    (found,) = output_differences(a, b, sanitize_patterns())
    assert found.startswith("cell 1 (code, begins 'accuracy()'), output 0, text:")
    assert "-accuracy 0.41 in DURATION" in found and "+accuracy 0.43 in DURATION" in found


def test_images_are_compared_byte_for_byte():
    a, b = _nb(("plot()", [_png("iVBORw0KGgoAAAA")])), _nb(("plot()", [_png("iVBORw0KGgoAAAB")]))
    (found,) = output_differences(a, b, sanitize_patterns())
    assert "cell 0" in found and "image/png: the images differ" in found
    assert output_differences(a, copy.deepcopy(a), sanitize_patterns()) == []


def test_html_metadata_and_output_counts_are_compared():
    html = {"output_type": "execute_result", "execution_count": 1, "metadata": {},
            "data": {"text/html": "<td>0.52</td>", "text/plain": "0.52"}}  # fmt: skip
    other = copy.deepcopy(html)
    other["data"]["text/html"] = "<td>0.25</td>"
    found = output_differences(_nb(("t", [html])), _nb(("t", [other])), sanitize_patterns())
    assert len(found) == 1 and "text/html" in found[0] and "+<td>0.25</td>" in found[0]
    more = _nb(("t", [html, _stream("x\n")]))
    assert "1 outputs" in output_differences(_nb(("t", [html])), more, sanitize_patterns())[0]
    meta = _nb(("t", [html]))
    meta.metadata["papermill"] = {"duration": 3.0}
    assert output_differences(meta, _nb(("t", [html])), sanitize_patterns())[0].startswith(
        "notebook metadata")


def test_figure_files_are_compared(tmp_path):
    first, second_ = tmp_path / "a", tmp_path / "b"
    for folder, data in ((first, b"1"), (second_, b"2")):
        folder.mkdir()
        (folder / "fig01.png").write_bytes(b"same")
        (folder / "fig02.png").write_bytes(data)
    assert figure_differences(first, second_) == ["figure fig02.png: the files differ"]
    (second_ / "fig03.png").write_bytes(b"3")
    assert "fig03.png" in figure_differences(first, second_)[0]
