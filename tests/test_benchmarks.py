"""Each recorded file under benchmarks/ is what its committed command writes.

The book renders these files instead of computing them (emonb.book.recorded), so nbval does
not check their numbers. Instead each command runs here in a quick mode into a temporary
file, which must hold the same keys as the committed one, with a complete provenance.
(``emonb train``, ``emonb evaluate`` and ``emonb evaluate-maps`` are checked the same way
in tests/test_cli.py, beside their own quick runs.)
"""

import importlib.util
import json
import sys

import pytest

from emonb.book.recorded import load_recorded, provenance_of
from tests.nbval_references import ROOT

BENCH = ROOT / "benchmarks"
#: Top-level keys that files recorded before provenance existed may carry beside it.
OLD_METADATA = {"date", "machine"}


def _script(name: str):
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def assert_same_keys(written, committed_name: str, real_only: frozenset[str] = frozenset()) -> dict:
    """The quick run's file has the committed file's keys and a complete provenance
    (``real_only``: keys the committed file holds from real faces that a run on the
    synthetic stand-in cannot write)."""
    new = load_recorded(written)
    old = load_recorded(BENCH / committed_name)
    assert provenance_of(new) is not None, new.get("provenance")
    if provenance_of(old) is None:  # recorded before provenance: compare what both hold
        assert set(new) - {"provenance"} - OLD_METADATA == set(old) - OLD_METADATA
    else:
        assert set(new) == set(old) - real_only, (sorted(set(new) ^ (set(old) - real_only)))
    return new


def test_bench_quick(tmp_path):
    from emonb.cli import main

    out = tmp_path / "bench.json"
    assert main(["bench", "--data", "synthetic", "--batch", "4", "--repeat", "1", "--no-compare",
                 "--methods", "saliency", "--json", str(out)]) == 0  # fmt: skip
    new = assert_same_keys(out, "mini_xception_cpu.json")
    assert [r["method"] for r in new["rows"]] == ["saliency"]


def test_detectors_quick(tmp_path):
    out = tmp_path / "detectors.json"
    assert _script("detectors").main(["--quick", "--out", str(out)]) == 0
    new = assert_same_keys(out, "detectors_cpu.json")
    assert new["video"]["haar"]["frames"] == 24 and len(new["small_faces"]["rows"]) == 6
    assert new["provenance"]["command"].endswith(f"detectors.py --quick --out {out}")


def test_landmarks_quick(tmp_path, monkeypatch):
    monkeypatch.setenv("EMONB_FER2013", "synthetic")
    out = tmp_path / "landmarks.json"
    assert _script("landmarks").main(["--limit", "8", "--json", str(out)]) == 0
    new = assert_same_keys(out, "landmarks_cpu.json")
    assert {row["faces"] for row in new["settings"]} == {8}


def test_determinism_quick(tmp_path):
    """Both settings, each in its own process (``--quick``: batch 4, one timed call): the
    workers confirm the setting took effect, and each setting gives the same bits twice."""
    out = tmp_path / "determinism.json"
    assert _script("determinism").main(["--quick", "--json", str(out)]) == 0
    new = assert_same_keys(out, "determinism_cpu.json")
    assert new["settings"]["batch"] == 4 and new["settings"]["rounds"] == 1
    for measure in ("forward", "input_gradients", "train_step"):
        row = new[measure]
        assert row["on_img_s"] > 0 and row["off_img_s"] > 0
        assert row["on_over_off"] == round(row["on_img_s"] / row["off_img_s"], 3)
        assert row["on_same_bits"] is True
    assert new["provenance"]["command"] == f"benchmarks/determinism.py --quick --json {out}"


def test_widgets_quick(tmp_path):
    out = tmp_path / "widgets.json"
    assert _script("widgets").main(["--quick", "--json", str(out)]) == 0
    new = assert_same_keys(out, "widgets_cpu.json")
    assert new["faces"] == 1 and new["in_a_kernel"]["faces"] == 1


def test_train_study_writes_every_run_whole_and_never_loads_publictest(tmp_path, monkeypatch):
    """Two settings x two seeds, one step of one epoch each on the stand-in: the file has
    the committed study's keys, every run its validation scores and config, and the whole
    its provenance; a second call resumes the finished runs instead of training them."""
    from emonb.data import fer2013

    monkeypatch.setenv("EMONB_MAX_STEPS", "1")
    splits = []
    real_split = fer2013.FaceDataset.split
    monkeypatch.setattr(fer2013.FaceDataset, "split",
                        lambda self, usage: splits.append(usage) or real_split(self, usage))
    study = _script("train_study")
    out = tmp_path / "study.json"
    argv = ["--data", "synthetic", "--out", str(tmp_path / "runs"), "--epochs", "1",
            "--max-train", "200", "--seeds", "0,1", "--settings", "weights-none,weights-sqrt",
            "--json", str(out)]  # fmt: skip
    assert study.main(argv) == 0
    new = assert_same_keys(out, "seed_cnn_study_cpu.json")
    assert "PublicTest" not in splits
    assert list(new["runs"]) == ["weights none", "weights sqrt"] and new["seeds"] == [0, 1]
    run = new["runs"]["weights sqrt"]["1"]
    assert run["config"]["seed"] == 1 and run["config"]["max_train"] == 200
    assert run["epochs_run"] == 1 and 0 <= run["validation"]["macro_f1"] <= 1
    assert set(run["validation"]["recall"]) == set(fer2013.CLASS_NAMES)
    assert new["provenance"]["command"] == "benchmarks/train_study.py " + " ".join(argv)
    first = json.loads(out.read_text())
    assert study.main(argv) == 0  # resumed: the same runs, the same numbers
    again = json.loads(out.read_text())
    assert again["runs"] == first["runs"]


def test_train_study_settings_build_valid_configs():
    study = _script("train_study")
    committed = json.loads((BENCH / "seed_cnn_study_cpu.json").read_text())
    assert list(study.SETTINGS) == list(committed["settings"])
    for name in study.SETTINGS:
        for seed in committed["seeds"]:
            cfg = study.config(name, seed, committed["epochs"], committed["max_train"])
            assert committed["runs"][name][str(seed)]["config"]["class_weight"] == cfg.class_weight
            assert committed["runs"][name][str(seed)]["config"]["model"] == cfg.model
    with pytest.raises(SystemExit, match="unknown setting 'nope'"):
        study.pick("weights-sqrt,nope")


def test_video_codecs_quick(tmp_path):
    out = tmp_path / "codecs.json"
    assert _script("video_codecs").main(["--max-frames", "8", "--repeat", "1", "--json",
                                         str(out)]) == 0  # fmt: skip
    new = assert_same_keys(out, "video_codecs_cpu.json")
    old = load_recorded(BENCH / "video_codecs_cpu.json")
    assert set(new["encoders"]) == set(old["encoders"])
    assert {r["frames_read_back"] for r in new["encoders"].values()} == {8}


def test_video_pipeline_quick(tmp_path):
    """Both resolutions on 8 frames (the 1920x1080 clip of those 8 frames is made once into
    the user cache, in well under a second, and reused)."""
    from emonb.config import cache_dir

    out = tmp_path / "video.json"
    argv = ["--compare-detectors", "--repeat", "1", "--max-frames", "8", "--label", "quick",
            "--json", str(out)]  # fmt: skip
    assert _script("video_pipeline").main(argv) == 0
    new = assert_same_keys(out, "video_pipeline_cpu.json")
    old = load_recorded(BENCH / "video_pipeline_cpu.json")
    assert new["resolutions"] == ["640x360", "1920x1080"] == list(new["summary"])
    assert list(new["clips"]) == new["resolutions"] and new["label"] == "quick"
    assert new["clips"]["1920x1080"]["frames"] == 8 and new["target_fps"] == 30
    assert str(cache_dir()) not in out.read_text()  # the clips are described, not located
    for res in new["resolutions"]:
        # the recorded run adds --baseline's mode
        assert set(new["summary"][res]) < set(old["summary"][res])
        for mode, s in new["summary"][res].items():
            runs = new["runs"][res][mode]
            assert len(runs) == 1 and runs[0]["frames"] == 8
            assert s["ms_per_frame_of_median_run"] == runs[0]["ms_per_frame"]
            assert s["keeps_up"] == (s["fps_median"] >= 30)
    assert set(new["detectors"]) == set(old["detectors"])
