"""Chapter parameter checks: a bad ``-p`` value fails in the first cell, naming the parameter."""

from types import SimpleNamespace

import pytest

from emonb.book import params
from emonb.book.params import ParameterError
from emonb.config import CLASS_NAMES
from emonb.errors import EmonbError


def test_check_int_bounds_and_types():
    assert params.check_int("seed", 0, minimum=0) == 0
    assert params.check_int("n", 20, minimum=1, maximum=20) == 20
    with pytest.raises(ParameterError, match=r"parameter 'n' must be <= 20, got 21"):
        params.check_int("n", 21, maximum=20)
    with pytest.raises(ParameterError, match=r"parameter 'seed' must be >= 0, got -1"):
        params.check_int("seed", -1, minimum=0)
    for bad in (True, 2.0, "3", None):  # a bool is an int to Python, not to a chapter
        with pytest.raises(ParameterError, match="must be an integer"):
            params.check_int("n", bad)
    assert issubclass(ParameterError, EmonbError) and issubclass(ParameterError, ValueError)


def test_check_choice_lists_the_choices():
    assert params.check_choice("quick", False, [True, False]) is False
    with pytest.raises(ParameterError, match=r"'method' must be one of gradcam, cam; got 'x'"):
        params.check_choice("method", "x", ["gradcam", "cam"])


def test_check_target_takes_exactly_what_the_target_parser_takes():
    assert CLASS_NAMES[3] == "happy" and len(CLASS_NAMES) == 7
    assert params.check_target("predicted", CLASS_NAMES) == "predicted"
    assert params.check_target("happy", CLASS_NAMES) == "happy"
    assert params.check_target(0, CLASS_NAMES) == 0
    assert params.check_target(6, CLASS_NAMES) == 6
    out_of_range = r"parameter 'target': class index 7 is out of range 0\.\.6"
    with pytest.raises(ParameterError, match=out_of_range):
        params.check_target(7, CLASS_NAMES)
    with pytest.raises(ParameterError, match=r"parameter 'target': class index -1"):
        params.check_target(-1, CLASS_NAMES)
    with pytest.raises(ParameterError, match=r"unknown class 'joy'.*angry, disgust"):
        params.check_target("joy", CLASS_NAMES)
    for bad in (True, None, ["happy"], 3.0):  # one target per chapter, as a name or an index
        with pytest.raises(ParameterError, match="parameter 'target'"):
            params.check_target(bad, CLASS_NAMES)


def test_check_layer_names_the_valid_layers():
    from emonb._tf import keras

    inp = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(2, 3, name="c1")(inp)
    out = keras.layers.Dense(3, name="head")(keras.layers.Flatten(name="flat")(x))
    net = SimpleNamespace(model=keras.Model(inp, out))
    assert params.check_layer(net, None) is None
    assert params.check_layer(net, "c1") == "c1"
    with pytest.raises(ParameterError, match=r"parameter 'layer': no layer 'c9'.*c1, flat, head"):
        params.check_layer(net, "c9")


def test_check_file_finds_paths_relative_to_the_project_root(root, tmp_path, monkeypatch):
    monkeypatch.chdir(root / "notebooks")  # nbval runs chapters here, papermill at the root
    assert params.check_file("toc", "_toc.yml") == root / "_toc.yml"
    here = tmp_path / "a.json"
    here.write_text("{}")
    assert params.check_file("study", str(here)) == here
    with pytest.raises(ParameterError, match=r"parameter 'study': no such file 'nope\.json'"):
        params.check_file("study", "nope.json")


class _Faces:
    def __init__(self, synthetic: bool):
        self.synthetic, self.source = synthetic, "synthetic <v1>"

    def __len__(self) -> int:
        return 12


def test_stand_in_note_only_for_the_synthetic_stand_in():
    assert params.stand_in_note(_Faces(synthetic=False)) is None
    html = params.stand_in_note(_Faces(synthetic=True)).data
    assert "12 generated 48x48 faces" in html and "synthetic &lt;v1&gt;" in html  # escaped
    assert "Numbers on this page describe the stand-in, not FER-2013." in html
    assert 'class="admonition note emonb-stand-in"' in html


def test_stand_in_note_on_a_page_that_also_shows_recorded_fer2013_results():
    html = params.stand_in_note(_Faces(synthetic=True), recorded="the study <tables>").data
    assert "Numbers on this page describe the stand-in" not in html  # it would be false here
    assert "Numbers computed on this page describe the stand-in, not FER-2013" in html
    assert "the study &lt;tables&gt;, each in a box marked <i>Recorded</i>, are FER-2013" in html


def test_recorded_default_is_optional_only_when_not_given(tmp_path):
    made = tmp_path / "made.json"
    made.write_text("{}")
    assert params.recorded_default("f", None, str(made)) == made
    assert params.recorded_default("f", None, str(tmp_path / "not-yet.json")) is None
    assert params.recorded_default("f", str(made), str(tmp_path / "other.json")) == made
    with pytest.raises(params.ParameterError, match="parameter 'f': no such file"):
        params.recorded_default("f", str(tmp_path / "typo.json"), str(made))


def test_quick_note_lists_what_quick_mode_capped(monkeypatch):
    from emonb import config
    from emonb.book.params import quick_note

    monkeypatch.setattr(config, "_APPLIED", {})
    assert quick_note(False) is None
    assert config.capped("samples", 20, quick=True) == 3
    assert config.capped("faces", None, quick=True) == config.QUICK["faces"]
    assert config.capped("steps", 2, quick=True) == 2  # under the cap: not listed
    html = quick_note(True).data
    assert "SmoothGrad samples: <b>3</b> (a full build uses 20)" in html
    assert f"faces evaluated: <b>{config.QUICK['faces']}</b> (a full build uses all)" in html
    assert "steps" not in html and "emonb-quick-note" in html


def test_stand_in_note_names_what_is_computed_on_real_faces():
    from emonb.book.params import stand_in_note

    ds = type("D", (), {"synthetic": True, "source": "s", "__len__": lambda self: 5})()
    html = stand_in_note(ds, recorded="the box", real="the randomization checks").data
    assert ("describe the stand-in, not FER-2013, except the randomization checks, computed on "
            "real faces; the box") in html
    plain = stand_in_note(ds, real="x").data
    assert "Numbers on this page describe the stand-in, not FER-2013, except x, computed on real faces." in plain
