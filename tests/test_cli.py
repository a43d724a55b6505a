import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from emonb.cli import main
from emonb.config import CLASS_NAMES


def emonb(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emonb", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)  # fmt: skip


def test_predict_astronaut_says_happy():
    proc = emonb("predict", "astronaut", "--json")
    assert proc.returncode == 0, proc.stderr
    (result,) = json.loads(proc.stdout)
    assert result["emotion"] == "happy" and result["score"] > 0.9
    assert result["face"] is not None and abs(sum(result["probabilities"].values()) - 1) < 1e-3
    assert proc.stderr == ""


def test_predict_file_text_and_no_detect(tmp_path, astronaut):
    path = tmp_path / "face.png"
    cv2.imwrite(str(path), astronaut[..., ::-1])
    proc = emonb("predict", str(path), "--no-detect")
    assert proc.returncode == 0, proc.stderr
    assert "whole image" in proc.stdout and "happy" in proc.stdout


def test_predict_bad_inputs_one_line_each(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"nope")
    flat = tmp_path / "flat.png"
    cv2.imwrite(str(flat), np.full((100, 100), 128, np.uint8))
    proc = emonb("predict", str(bad), str(flat), str(tmp_path / "missing.png"))
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 3 and all(ln.startswith("emonb: error: ") for ln in lines), proc.stderr
    assert (
        "not a readable image" in lines[0]
        and "no face found" in lines[1]
        and "no such image" in lines[2]
    )
    assert "Traceback" not in proc.stderr


def test_predict_unknown_model(capsys):
    assert main(["predict", "astronaut", "--model", "no-such-model"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("emonb: error:") and "mini-xception" in err


def test_fetch_unknown_name(capsys):
    assert main(["fetch", "nothing"]) == 1
    assert "unknown artifact 'nothing'" in capsys.readouterr().err


def test_book_unknown_chapter(capsys, root, monkeypatch):
    monkeypatch.chdir(root)
    assert main(["book", "--chapter", "99_nothing", "--no-html"]) == 1
    assert "unknown chapter(s) 99_nothing" in capsys.readouterr().err


def test_usage_error_exits_2():
    with pytest.raises(SystemExit) as err:
        main(["predict"])
    assert err.value.code == 2


def test_train_quick_then_evaluate_it_and_its_maps(tmp_path):
    out = tmp_path / "seed.keras"
    proc = emonb("train", "--data", "synthetic", "--quick", "--batch-size", "32", "--out", str(out),
                 env={"EMONB_MAX_STEPS": "1"})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "note: training on the synthetic stand-in" in proc.stdout
    assert "epoch   1/1" in proc.stdout and f"wrote {out}" in proc.stdout
    assert (tmp_path / "seed.history.json").is_file() and proc.stderr == ""
    report = tmp_path / "eval.json"
    proc = emonb("evaluate", "--data", "synthetic", "--model", str(out), "--split", "PublicTest",
                 "--json", str(report))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    from emonb.data.fer2013 import load_faces

    n = int((load_faces("synthetic").usage == "PublicTest").sum())  # the CLI's default stand-in
    assert proc.stdout.startswith(f"seed on synthetic stand-in PublicTest ({n} faces): accuracy ")
    data = json.loads(report.read_text())
    assert data["n"] == n and data["split"] == "PublicTest" and len(data["confusion_matrix"]) == 7
    assert list(data["per_class"]) == list(CLASS_NAMES)
    assert sum(map(sum, data["confusion_matrix"])) == n
    # the trained stand-in model plays the pointing game of evaluate-maps
    maps_json = tmp_path / "maps.json"
    proc = emonb("evaluate-maps", "--data", "synthetic", "--quick", "--methods", "saliency,gradcam",
                 "--pointing-model", str(out), "--json", str(maps_json))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "mini-xception on 48 synthetic stand-in faces (PublicTest; accuracy" in proc.stdout
    assert "pointing game: seed on the synthetic stand-in's PublicTest faces" in proc.stdout
    doc = json.loads(maps_json.read_text())
    methods = [row["method"] for row in doc["table"]]
    assert sorted(methods) == ["centre", "gradcam", "random", "saliency"]
    assert len(doc["settings"]["randomization_stages"]) == 2 and doc["wall_seconds"] > 0
    assert {row["claim"] for row in doc["claims"]} >= {"happy: mouth > eyes", "fear: eyes > mouth"}


def test_evaluate_and_train_errors(capsys, tmp_path):
    assert main(["evaluate", "--data", "synthetic", "--split", "PrivateTest"]) == 1
    assert "no rows with usage 'PrivateTest'" in capsys.readouterr().err
    assert main(["evaluate", "--data", str(tmp_path / "missing.csv")]) == 1
    assert "FER-2013 not found" in capsys.readouterr().err
    assert main(["train", "--data", "synthetic", "--out", str(tmp_path / "m.h5"), "--quick"]) == 1
    assert "must end in .keras" in capsys.readouterr().err
    assert main(["evaluate-maps", "--data", "synthetic", "--methods", "saliency,nope"]) == 1
    assert "unknown method 'nope'" in capsys.readouterr().err
    assert main(["evaluate-maps", "--data", "synthetic", "--n", "0", "--pointing-model", "none"]) == 1
    assert "n must be at least 1, got 0" in capsys.readouterr().err


def test_video_writes_annotated_video_patches_and_json(tmp_path):
    out, faces, doc = tmp_path / "a.mp4", tmp_path / "faces", tmp_path / "v.json"
    proc = emonb("video", "single-face-video", "--out", str(out), "--export-faces", str(faces),
                 "--json", str(doc), "--max-frames", "6")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(doc.read_text())
    assert summary["frames"] == 6 and summary["fps"] > 0
    n_faces = summary["faces"]
    assert n_faces >= 6 and "6 frames of" in proc.stdout and "frames/s" in proc.stdout
    assert len((faces / "index.csv").read_text().splitlines()) == n_faces + 1
    assert out.stat().st_size > 0
    assert "6/6" in proc.stderr  # the progress bar


def test_video_errors(capsys):
    assert main(["video", "7"]) == 1
    assert "camera 7 could not be opened" in capsys.readouterr().err
    assert main(["video", "no-such.mp4"]) == 1
    assert "no such video file" in capsys.readouterr().err
