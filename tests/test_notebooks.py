"""nbval over every chapter: each chapter as the suite's one execution of the book ran it
(the session fixture ``book_project``: quick mode, synthetic stand-in), with the outputs of
cells tagged ``nbval-check-output`` compared to the stored references by nbval's own
comparison in its lax mode (tests/nbval_references.py).

Refresh the references with ``python tests/nbval_references.py`` after a deliberate change.
"""

import nbformat
import pytest

from tests.nbval_references import CHECK_TAG, ROOT, compare_chapter, executed_chapter, strip

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
#: Chapters that compute nothing: they render recorded files of benchmarks/ (each under its
#: box, emonb.book.recorded), which tests/test_benchmarks.py checks instead of nbval.
RENDERS_RECORDED_ONLY = {"90_performance"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_chapter_stores_small_text_references(path):
    nb = nbformat.read(path, as_version=4)
    tags = [c.metadata.get("tags", []) for c in nb.cells if c.cell_type == "code"]
    assert sum("parameters" in t for t in tags) == 1, (
        "a chapter needs exactly one papermill parameters cell"
    )
    checked = [c for c in nb.cells if CHECK_TAG in c.metadata.get("tags", [])]
    if path.stem in RENDERS_RECORDED_ONLY:
        assert not checked and "recorded_note(" in "".join(c.source for c in nb.cells)
    else:
        assert checked and all(c.outputs for c in checked), (
            "every checked cell needs a stored reference output"
        )
    for cell in checked:  # nbval checks computed numbers, never a re-rendered recorded file
        assert "recorded_note(" not in cell.source and "benchmarks/" not in cell.source
    for cell in nb.cells:
        if cell.cell_type == "code" and CHECK_TAG not in cell.metadata.get("tags", []):
            assert not cell.outputs, "only checked cells keep outputs in git"
        for out in cell.get("outputs", []):
            assert not set(out.get("data", {})) & {"image/png", "image/jpeg"}, (
                "no images in stored notebooks"
            )
    assert path.stat().st_size < 200_000


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_chapter_nbval(path, book_project, request):
    """The chapter as the suite's one book execution ran it (``book_project``) against its
    stored references, compared as ``pytest --nbval-lax`` compares them."""
    executed = nbformat.read(executed_chapter(book_project, path.stem), as_version=4)
    failures = compare_chapter(nbformat.read(path, as_version=4), executed, config=request.config)
    assert not failures, f"nbval failed for {path.name}:\n" + "\n\n".join(failures)


# ---- the comparison itself, on constructed chapters ------------------------------------------
def _chapter(*cells):
    """A notebook of code cells ``(source, tags, outputs)``, all run."""
    nb = nbformat.v4.new_notebook()
    for n, (source, tags, outputs) in enumerate(cells, 1):
        cell = nbformat.v4.new_code_cell(source, metadata={"tags": list(tags)}, execution_count=n)
        cell.outputs = [nbformat.from_dict(o) for o in outputs]
        nb.cells.append(cell)
    return nb


def _result(text, html=None):
    data = {"text/plain": text, **({"text/html": html} if html else {})}
    return {"output_type": "execute_result", "data": data, "metadata": {}, "execution_count": 1}


def _stream(text, name="stdout"):
    return {"output_type": "stream", "name": name, "text": text}


def _pair(ref_outputs, run_outputs, tags=(CHECK_TAG,), source="accuracy()"):
    ref = _chapter(("import emonb", (), ()), (source, tags, ref_outputs))
    run = _chapter(("import emonb", (), [_stream("noise")]), (source, tags, run_outputs))
    return ref, run


def test_comparison_passes_equal_and_sanitised_outputs():
    ref, run = _pair([_stream("trained in 12.5 s at 0x7f3a2b1c9d\n"), _result("0.61", "<b>0.61</b>")],
                     [_stream("trained in 3.1 s "), _stream("at 0x55d0e4f1a2\n"),
                      _result("0.61", "<b>0.61</b>")])  # fmt: skip
    assert compare_chapter(ref, run) == []  # timing, address and split streams sanitised
    from collections import OrderedDict

    assert len(compare_chapter(ref, run, patterns=OrderedDict())) == 1  # unsanitised: differ


def test_comparison_fails_a_changed_number_in_a_checked_cell_only():
    ref, run = _pair([_result("accuracy 0.61")], [_result("accuracy 0.62")])
    (failure,) = compare_chapter(ref, run)
    assert failure.startswith("cell 1 (code cells from 0), which begins 'accuracy()'")
    assert "Cell outputs differ" in failure and "0.61" in failure and "0.62" in failure
    ref, run = _pair([_result("accuracy 0.61")], [_result("accuracy 0.62")], tags=())
    assert compare_chapter(ref, run) == []  # lax: an unchecked cell is never compared
    ref, run = _pair([_result("accuracy 0.61")], [_result("accuracy 0.62")],
                     source="# NBVAL_CHECK_OUTPUT\naccuracy()", tags=())  # fmt: skip
    assert len(compare_chapter(ref, run)) == 1  # nbval's comment marker counts as the tag


def test_comparison_fails_missing_or_extra_outputs_and_an_unrun_reference_with_outputs():
    ref, run = _pair([_result("0.61", "<b>0.61</b>")], [_result("0.61")])
    assert "Missing output fields" in compare_chapter(ref, run)[0]
    ref, run = _pair([_result("0.61")], [_result("0.61"), _stream("warning\n", "stderr")])
    assert "Unexpected output fields" in compare_chapter(ref, run)[0]
    ref, run = _pair([_result("0.61")], [_result("0.61"), _result("0.62")])
    assert "dissimilar number of outputs" in compare_chapter(ref, run)[0]
    ref, run = _pair([_result("0.61")], [_result("0.61", "<b>0.61</b>")])
    ref.cells[1].execution_count = None
    assert "Unrun reference cell has outputs" in compare_chapter(ref, run)[0]
    ref.cells[1].outputs = []
    assert compare_chapter(ref, run) == []  # an unrun reference is not compared


def test_comparison_ignores_images_and_papermills_parameters_but_not_other_cells():
    png = {"output_type": "display_data", "metadata": {},
           "data": {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}}  # fmt: skip
    ref, run = _pair([{**png, "data": {"text/plain": "<Figure>"}}], [png])
    injected = nbformat.v4.new_code_cell("quick = 1", metadata={"tags": ["injected-parameters"]})
    run.cells.insert(0, injected)
    assert compare_chapter(ref, run) == []
    run.cells[1].source = "import emonb as e"
    with pytest.raises(ValueError, match="does not hold the stored notebook's cells"):
        compare_chapter(ref, run)


def test_refreshed_references_pass_against_the_execution_they_came_from():
    """The refresher's strip keeps exactly what the comparison needs: text outputs of
    checked cells (images and widget views dropped), nothing in unchecked cells."""
    png = {"output_type": "display_data", "metadata": {"image/png": {"width": 9}},
           "data": {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}}  # fmt: skip
    image_only = {"output_type": "display_data", "metadata": {}, "data": {"image/png": "iVBO"}}
    run = _chapter(("plot()", (), [png]),
                   ("table()", (CHECK_TAG,), [_stream("took 2.0 s\n"), png, image_only,
                                              _result("0.61", "<b>0.61</b>")]))  # fmt: skip
    stored = _chapter(("plot()", (), ()), ("table()", (CHECK_TAG,), ()))
    ref = strip(stored, run)
    assert ref.cells[0].outputs == [] and ref.cells[0].execution_count is None
    assert [o.get("data", {}).keys() - {"text/plain", "text/html"} for o in ref.cells[1].outputs] == [
        set(), set(), set()]  # fmt: skip
    assert compare_chapter(ref, run) == []
    run.cells[1].outputs[-1]["data"]["text/plain"] = "0.6"
    assert len(compare_chapter(ref, run)) == 1
