"""Recorded scalars: written as hidden glue outputs, read back by name and type, kept out of
the built page by myst-nb."""

import math

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from emonb.book.record import GLUE_PREFIX, MIME, read_scalars, scalar_output
from emonb.errors import EmonbError


def _nb(*outputs_per_cell):
    nb = new_notebook()
    for n, outputs in enumerate(outputs_per_cell):
        cell = new_code_cell(f"cell{n}", execution_count=n + 1)
        cell.outputs = [new_output(**o) for o in outputs]
        nb.cells.append(cell)
    return nb


def test_values_come_back_with_their_types_in_recorded_order():
    nb = _nb([scalar_output("accuracy", np.float32(0.25)), {"output_type": "stream", "name": "stdout",
                                                            "text": "x\n"}],
             [scalar_output("top_method", "gradcam"), scalar_output("n", np.int64(48)),
              scalar_output("ok", True), scalar_output("f1", float("nan")),
              scalar_output("worst", -math.inf)])  # fmt: skip
    nbformat.validate(nb)
    got = read_scalars(nb)
    assert list(got) == ["accuracy", "top_method", "n", "ok", "f1", "worst"]
    assert got["accuracy"] == 0.25 and type(got["accuracy"]) is float
    assert got["top_method"] == "gradcam" and got["n"] == 48 and type(got["n"]) is int
    assert got["ok"] is True and math.isnan(got["f1"]) and got["worst"] == -math.inf


def test_the_output_is_myst_nb_glue_that_the_page_does_not_show():
    from myst_nb.ext.glue import extract_glue_data

    out = scalar_output("accuracy", 0.5)
    assert out["data"] == {GLUE_PREFIX + MIME: {"name": "accuracy", "type": "float", "value": 0.5}}
    nb = _nb([out, {"output_type": "stream", "name": "stdout", "text": "shown\n"}])
    glued = extract_glue_data(nb, [1], None)
    assert list(glued) == ["accuracy"] and MIME in glued["accuracy"]["data"]
    assert [o["output_type"] for o in nb.cells[0].outputs] == ["stream"]  # what the page renders


def test_a_name_recorded_twice_bad_names_and_values_are_refused(tmp_path):
    nb = _nb([scalar_output("a", 1)], [scalar_output("a", 2)])
    with pytest.raises(EmonbError, match=r"'a' is recorded twice \(cells 0 and 1\)"):
        read_scalars(nb)
    with pytest.raises(EmonbError, match="Python identifier"):
        scalar_output("macro-F1", 0.1)
    with pytest.raises(EmonbError, match="scalar 'x': a bool, number or text, not list"):
        scalar_output("x", [1, 2])
    path = tmp_path / "n.ipynb"
    nbformat.write(_nb([scalar_output("b", 3)]), path)
    assert read_scalars(path) == {"b": 3}


def test_a_kernel_records_and_papermill_keeps_them(tmp_path, capsys):
    """scalars() in a real kernel (papermill), read back from the executed notebook; outside
    IPython it records nothing and prints nothing."""
    import papermill as pm

    from emonb.book import record

    source, out = tmp_path / "in.ipynb", tmp_path / "out.ipynb"
    nb = new_notebook(cells=[new_code_cell("import numpy as np\nfrom emonb.book import record\n"
                                           "record.scalars(acc=np.float64(0.75), method='saliency')\n"
                                           "print('done')")])  # fmt: skip
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, source)
    pm.execute_notebook(str(source), str(out), kernel_name="python3", progress_bar=False)
    assert read_scalars(out) == {"acc": 0.75, "method": "saliency"}
    kinds = [list(o.get("data", {"stream": 0})) for o in nbformat.read(out, as_version=4).cells[0].outputs]
    assert kinds == [[GLUE_PREFIX + MIME], [GLUE_PREFIX + MIME], ["stream"]]
    capsys.readouterr()
    record.scalars(acc=1.0)  # no IPython here: nothing happens
    assert capsys.readouterr() == ("", "")
    with pytest.raises(EmonbError):  # every value checked before any is recorded
        record.scalars(acc=1.0, bad=object())
