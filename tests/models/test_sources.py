"""Which model a name or a file is, and its sidecar, decided without TensorFlow."""

import json
import subprocess
import sys

import pytest

from emonb.config import CLASS_NAMES
from emonb.errors import EmonbError
from emonb.models.sources import find_model, read_sidecar, sidecar_path


def test_manifest_model_and_file_with_sidecar(tmp_path):
    m = find_model("mini-xception")
    assert m.name == "mini-xception" and m.path is None and m.class_names == CLASS_NAMES
    path = tmp_path / "m.keras"
    path.write_bytes(b"not loaded here")
    assert find_model(path).class_names == CLASS_NAMES and read_sidecar(path) == {}
    assert sidecar_path(path) == tmp_path / "m.keras.emonb.json"
    sidecar_path(path).write_text(json.dumps({"class_names": ["a", "b"]}))
    assert find_model(str(path)).class_names == ("a", "b") and find_model(path).name == "m"


@pytest.mark.parametrize(("text", "says"), [("{", "not valid JSON"), ("[1]", "not valid JSON"),
                                            ('{"class_names": "ab"}', "must be a list of names")])  # fmt: skip
def test_bad_sidecar_and_missing_file(tmp_path, text, says):
    path = tmp_path / "m.keras"
    path.write_bytes(b"")
    sidecar_path(path).write_text(text)
    with pytest.raises(EmonbError, match=says):
        find_model(path)
    with pytest.raises(EmonbError, match="no such model file .*mini-xception"):
        find_model(tmp_path / "none.keras")


def test_no_tensorflow():
    code = "import sys, emonb.models.sources, emonb.models.targets; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
