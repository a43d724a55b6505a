import contextlib
import io
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from emonb.cli import main
from emonb.config import CLASS_NAMES
from emonb.faces.mesh import EYE_POINTS
from tests.test_benchmarks import assert_same_keys


def emonb(capsys, monkeypatch, *args: str) -> tuple[int, str, str]:
    """``emonb ARGS`` in this process (``sys.argv`` as the console script sets it, which
    provenance records): ``(exit status, stdout, stderr)``."""
    monkeypatch.setattr(sys, "argv", ["emonb", *args])
    capsys.readouterr()
    try:
        code = main(list(args))
    except SystemExit as stop:  # argparse's usage errors
        code = stop.code
    out, err = capsys.readouterr()
    return code, out, err


def test_python_m_emonb_runs(tmp_path):
    """The one test through a new process: ``python -m emonb`` (the console script's entry
    point, emonb.cli:main) answers --help and a usage error, without TensorFlow."""
    proc = subprocess.run([sys.executable, "-m", "emonb", "--help"], capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0 and proc.stderr == ""
    assert all(c in proc.stdout for c in ("predict", "landmarks", "evaluate-maps", "book"))
    proc = subprocess.run([sys.executable, "-m", "emonb", "bench", "--batch", "0"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 2 and proc.stdout == "" and proc.stderr.count("\n") == 1


def test_predict_astronaut_says_happy(capsys, monkeypatch):
    code, out, err = emonb(capsys, monkeypatch, "predict", "astronaut", "--json")
    assert code == 0, err
    (result,) = json.loads(out)
    assert result["emotion"] == "happy" and result["score"] > 0.9 and result["accepted"]
    assert result["face"] is not None and abs(sum(result["probabilities"].values()) - 1) < 1e-3
    assert err == ""


def test_predict_file_text_and_no_detect(tmp_path, astronaut, capsys, monkeypatch):
    path = tmp_path / "face.png"
    cv2.imwrite(str(path), astronaut[..., ::-1])
    code, out, err = emonb(capsys, monkeypatch, "predict", str(path), "--no-detect")
    assert code == 0, err
    assert "whole image" in out and "happy" in out


def test_predict_bad_inputs_one_line_each(tmp_path, capsys, monkeypatch):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"nope")
    flat = tmp_path / "flat.png"  # larger than a face crop (emonb.faces.is_face_crop): searched
    cv2.imwrite(str(flat), np.full((150, 150), 128, np.uint8))
    code, out, err = emonb(capsys, monkeypatch, "predict", str(bad), str(flat),
                           str(tmp_path / "missing.png"))  # fmt: skip
    assert code == 1 and out == ""  # every input failed
    lines = err.strip().splitlines()
    assert len(lines) == 3 and all(ln.startswith("emonb: error: ") for ln in lines), err
    # every file is read before the model loads; faces are searched for after
    assert (
        "not a readable image" in lines[0]
        and "no such image" in lines[1]
        and "no face found" in lines[2]
    )
    assert "Traceback" not in err


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


def test_train_quick_then_evaluate_it_and_its_maps(tmp_path, capsys, monkeypatch):
    out = tmp_path / "seed.keras"
    monkeypatch.setenv("EMONB_MAX_STEPS", "1")
    code, stdout, err = emonb(capsys, monkeypatch, "train", "--data", "synthetic", "--quick",
                              "--batch-size", "32", "--out", str(out))  # fmt: skip
    assert code == 0, err
    assert "note: training on the synthetic stand-in" in stdout
    assert "epoch   1/1" in stdout and f"wrote {out}" in stdout
    assert (tmp_path / "seed.history.json").is_file() and err == ""
    # the command behind benchmarks/seed_cnn_cpu.history.json writes that file's keys
    assert_same_keys(tmp_path / "seed.history.json", "seed_cnn_cpu.history.json")
    monkeypatch.delenv("EMONB_MAX_STEPS")
    report = tmp_path / "eval.json"
    code, stdout, err = emonb(capsys, monkeypatch, "evaluate", "--data", "synthetic", "--model",
                              str(out), "--split", "PublicTest", "--json", str(report))  # fmt: skip
    assert code == 0, err
    from emonb.data.fer2013 import load_faces

    n = int((load_faces("synthetic").usage == "PublicTest").sum())  # the CLI's default stand-in
    assert stdout.startswith(f"seed on synthetic stand-in PublicTest ({n} faces): accuracy ")
    data = json.loads(report.read_text())
    assert data["n"] == n and data["split"] == "PublicTest" and len(data["confusion_matrix"]) == 7
    assert list(data["per_class"]) == list(CLASS_NAMES)
    assert sum(map(sum, data["confusion_matrix"])) == n
    assert data["provenance"]["command"].endswith(f"--json {report}")  # written whole, stamped
    # the trained stand-in model plays the pointing game of evaluate-maps
    maps_json = tmp_path / "maps.json"
    code, stdout, err = emonb(capsys, monkeypatch, "evaluate-maps", "--data", "synthetic",
                              "--quick", "--methods", "saliency,gradcam", "--pointing-model",
                              str(out), "--json", str(maps_json))  # fmt: skip
    assert code == 0, err
    assert "mini-xception on 48 synthetic stand-in faces (PublicTest; accuracy" in stdout
    assert "pointing game: seed on the synthetic stand-in's PublicTest faces" in stdout
    doc = json.loads(maps_json.read_text())
    methods = [row["method"] for row in doc["table"]]
    assert sorted(methods) == ["centre", "gradcam", "random", "saliency"]
    assert len(doc["settings"]["randomization_stages"]) == 2 and doc["wall_seconds"] > 0
    assert {row["claim"] for row in doc["claims"]} >= {"happy: mouth > eyes", "fear: eyes > mouth"}
    # the AU activity and use are measured on meshed faces: the stand-in has none
    assert_same_keys(maps_json, "faithfulness_mini_xception.json",
                     real_only=frozenset({"au_activity", "au_use"}))


def test_evaluate_maps_au_map_both_writes_each_map(tmp_path, capsys, monkeypatch):
    """Real faces (the manifest's photos and clip): --au-map both puts each map's occlusion
    by predicted emotion under its name in action_units, beside the first map's tables;
    au_activity scores the faces' AU activity against their labels, au_use each map's
    occlusion where the faces show each AU, and --robustness (quick) the claims on both maps."""
    import pandas as pd

    from emonb.anatomy.activity import AU_MEASURES, reference_activity
    from emonb.anatomy.au_maps import au_names
    from emonb.faces.mesh import FaceMesh
    from emonb.metrics.activity import activity_auc
    from emonb.metrics.au_use import regions_of
    from tests.metrics.test_action_units import real_face_crops

    images = real_face_crops()
    data, out = tmp_path / "faces.npz", tmp_path / "maps.json"
    np.savez(data, images=images, labels=np.arange(len(images)) % 7,
             usage=np.full(len(images), "PublicTest"))  # fmt: skip
    code, stdout, err = emonb(capsys, monkeypatch, "evaluate-maps", "--data", str(data), "--quick",
                              "--methods", "saliency", "--pointing-model", "none", "--n-random",
                              "2", "--n-robust", "2", "--n-road", "2", "--au-map", "both",
                              "--robustness", "--json", str(out))  # fmt: skip
    assert code == 0, err
    assert stdout.count("FACS agreement (action units (") == 2
    assert "the claims under every analysis" in stdout
    doc = json.loads(out.read_text())
    au = doc["action_units"]
    assert au["au_map"] == "appearance" and au["action_units"] == list(au_names("appearance"))
    assert {"enrichment", "occlusion", "agreement"} <= set(au)  # the tables as before
    for m in ("appearance", "muscle"):
        assert au[m]["action_units"] == list(au_names(m))
        cells = next(iter(au[m]["occlusion"].values()))
        assert list(cells) == list(au_names(m)) and set(cells["AU12"]) == {"mean", "lo", "hi"}
    # every face is explained (48 or fewer): the AUC of AU12 for each emotion, recomputed
    marks = FaceMesh().landmarks(images)
    ok, labels = marks.accepted, (np.arange(len(images)) % 7)
    assert au["faces_analysed"] == int(ok.sum()) > 20
    activity = pd.DataFrame(reference_activity().transform(marks.xy[ok]), columns=AU_MEASURES)
    expect = activity_auc(activity, labels[ok], CLASS_NAMES)
    assert list(doc["au_activity"]) == list(AU_MEASURES)
    for e in CLASS_NAMES:
        assert doc["au_activity"]["AU12"][e]["auc"] == pytest.approx(expect.loc[("AU12", e), "auc"], abs=1e-4)
        lo, hi = doc["au_activity"]["AU12"][e]["lo"], doc["au_activity"]["AU12"][e]["hi"]
        assert lo <= doc["au_activity"]["AU12"][e]["auc"] <= hi
    # au_use: by map, each region of a measured AU, the difference of its two sides
    assert set(doc["au_use"]) == {"appearance", "muscle"}
    for m in ("appearance", "muscle"):
        regions = [r for rs in regions_of(m).values() for r in rs]
        assert set(doc["au_use"][m]) <= set(regions) and "AU12" in doc["au_use"][m]
        for cell in doc["au_use"][m]["AU12"].values():
            if cell["active"] is not None and cell["inactive"] is not None:
                assert cell["difference"] == pytest.approx(cell["active"] - cell["inactive"], abs=2e-5)
    assert "AU25" in doc["au_use"]["appearance"] and "AU25" not in doc["au_use"]["muscle"]
    # the claims, on both maps, one CAM layer and one baseline each (quick)
    claims = {c["claim"]: c for c in doc["robustness"]}
    agree = claims["happy: evidence on its FACS prototype"]["analyses"]
    assert {a["au_map"] for a in agree if "au_map" in a} == {"appearance", "muscle"}
    assert {a.get("baseline") for a in agree if a["evidence"] == "occlusion"} == {"blur"}
    rank = claims["Grad-CAM is more faithful than saliency"]["analyses"]
    assert len(rank) == 1 and rank[0]["faces"] == int(ok.sum()) and doc["robustness_seconds"] > 0
    code, _, err = emonb(capsys, monkeypatch, "evaluate-maps", "--au-map", "muscles")
    assert code == 2 and "invalid choice: 'muscles'" in err


def test_evaluate_and_train_errors(capsys, tmp_path):
    assert main(["evaluate", "--data", "synthetic", "--split", "PrivateTest"]) == 1
    assert "no rows with usage 'PrivateTest'" in capsys.readouterr().err
    assert main(["evaluate", "--data", str(tmp_path / "missing.csv")]) == 1
    assert "FER-2013 not found" in capsys.readouterr().err
    assert main(["train", "--data", "synthetic", "--out", str(tmp_path / "m.h5"), "--quick"]) == 1
    assert "must end in .keras" in capsys.readouterr().err
    assert main(["evaluate-maps", "--data", "synthetic", "--methods", "saliency,nope"]) == 1
    assert "unknown method 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:  # a bad number is a usage error, before any work
        main(["evaluate-maps", "--data", "synthetic", "--n", "0", "--pointing-model", "none"])
    assert stop.value.code == 2
    assert "argument --n: must be at least 1, got 0" in capsys.readouterr().err


def test_video_writes_annotated_video_patches_and_json(tmp_path, capsys, monkeypatch):
    out, faces, doc = tmp_path / "a.mp4", tmp_path / "faces", tmp_path / "v.json"
    code, stdout, err = emonb(capsys, monkeypatch, "video", "single-face-video", "--out", str(out),
                              "--export-faces", str(faces), "--json", str(doc), "--max-frames",
                              "6")  # fmt: skip
    assert code == 0, err
    summary = json.loads(doc.read_text())
    assert summary["frames"] == 6 and summary["fps"] > 0
    n_faces = summary["faces"]
    assert n_faces >= 6 and "6 frames of" in stdout and "frames/s" in stdout
    assert len((faces / "index.csv").read_text().splitlines()) == n_faces + 1
    assert out.stat().st_size > 0
    assert "6/6" in err  # the progress bar


def test_video_errors(capsys):
    assert main(["video", "7"]) == 1
    assert "camera 7 could not be opened" in capsys.readouterr().err
    assert main(["video", "no-such.mp4"]) == 1
    assert "no such video file" in capsys.readouterr().err


# ---- landmarks ------------------------------------------------------------------------------
EYES = tuple(EYE_POINTS.values())  # MediaPipe's corners and lid midpoints, per eye


@pytest.fixture(scope="module")
def astronaut_marks(tmp_path_factory):
    """``emonb landmarks astronaut --json --out``: ((stdout, stderr), JSON document, overlay
    folder)."""
    tmp = tmp_path_factory.mktemp("landmarks")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["landmarks", "astronaut", "--json", str(tmp / "m.json"), "--out", str(tmp / "ov")])
    assert code == 0, err.getvalue()
    return (out.getvalue(), err.getvalue()), json.loads((tmp / "m.json").read_text()), tmp / "ov"


def test_landmarks_astronaut_points_in_the_face(astronaut_marks, astronaut):
    from emonb.data.images import to_grey
    from emonb.faces import DEFAULT_DETECTOR

    (out, err), doc, _ = astronaut_marks
    assert err == "" and len(out) < 300  # one line per image, no point dumps
    assert out.startswith(f"astronaut: 1 face(s) found by {DEFAULT_DETECTOR}, 1 accepted")
    assert doc["detector"] == DEFAULT_DETECTOR and doc["rejected"] == 0
    (image,) = doc["images"]
    assert image["accepted"]
    assert (image["width"], image["height"]) == (512, 512) and image["image"].endswith(".png")
    (face,) = image["faces"]
    assert face["accepted"] and face["presence"] > 0.9
    xy = np.array(face["points"])
    x, y, w, h = face["box"]
    assert xy.shape == (468, 2)
    assert (xy >= [x - 0.3 * w, y - 0.3 * h]).all() and (xy <= [x + 1.3 * w, y + 1.3 * h]).all()
    # each eye centre of the mesh inside an eye box that OpenCV's Haar eye cascade finds
    grey = to_grey(astronaut)[y : y + h // 2, x : x + w]
    clf = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_eye.xml")
    eyes = np.asarray(clf.detectMultiScale(grey, 1.1, 5, minSize=(w // 8, w // 8))).reshape(-1, 4)
    assert len(eyes) == 2
    for idx in EYES:
        cx, cy = xy[list(idx)].mean(axis=0) - [x, y]
        assert any(ex <= cx <= ex + ew and ey <= cy <= ey + eh for ex, ey, ew, eh in eyes)


def test_landmarks_json_holds_each_face_au_activity(astronaut_marks, root):
    """Each accepted face's AU activity: its mesh measured (here AU12 by hand: the lip corners'
    height above the lip centre across the eye line, in eye-corner distances) as a z-score
    against the shipped Training reference."""
    import json

    from emonb.anatomy.activity import AU_MEASURES

    _, doc, _ = astronaut_marks
    ref = json.loads((root / "emonb" / "anatomy" / "au_reference.json").read_text())
    assert doc["au_activity_reference"]["faces"] == ref["faces"] > 20_000
    (face,) = doc["images"][0]["faces"]
    activity = face["au_activity"]
    assert list(activity) == list(AU_MEASURES)
    xy = np.array(face["points"], dtype=np.float64)
    iod = np.linalg.norm(xy[263] - xy[33])
    u = (xy[263] - xy[33]) / iod
    down = np.array([-u[1], u[0]])  # perpendicular to the eye line, down the face
    centre = xy[[13, 14]].mean(axis=0)
    raw = np.mean([-(xy[c] - centre) @ down / iod for c in (61, 291)])
    assert activity["AU12"] == pytest.approx((raw - ref["mean"]["AU12"]) / ref["std"]["AU12"],
                                             rel=2e-3)  # the JSON's points are rounded  # fmt: skip
    assert activity["AU12"] > 1  # the astronaut smiles: more lip-corner raise than most faces


def test_landmarks_overlay_draws_on_the_face_only(astronaut_marks, astronaut):
    _, doc, out = astronaut_marks
    (path,) = list(out.iterdir())
    assert path.name == "astronaut_landmarks.png"
    drawn = cv2.imread(str(path))[..., ::-1].astype(int)
    assert drawn.shape == astronaut.shape
    ys, xs = np.nonzero(np.abs(drawn - astronaut).sum(axis=2))
    x, y, w, h = doc["images"][0]["faces"][0]["box"]
    assert len(xs) > 1000  # the box and 468 points
    assert xs.min() >= x - 0.3 * w and xs.max() <= x + 1.3 * w
    assert ys.min() >= y - 0.3 * h and ys.max() <= y + 1.3 * h


def test_landmarks_no_detect_on_a_fer_like_crop(tmp_path, astronaut_marks, astronaut, capsys,
                                                monkeypatch):
    """The detected face cut out, grey, 48x48 (FER-2013's layout), meshed whole: its points,
    scaled back to the photo, land within 4% of the face's size of the photo's points."""
    from emonb.data.images import to_grey

    face = astronaut_marks[1]["images"][0]["faces"][0]
    x, y, w, h = face["box"]
    crop = cv2.resize(to_grey(astronaut[y : y + h, x : x + w]), (48, 48), interpolation=cv2.INTER_AREA)
    png, doc_path = tmp_path / "crop48.png", tmp_path / "crop.json"
    cv2.imwrite(str(png), crop)
    code, out, err = emonb(capsys, monkeypatch, "landmarks", str(png), "--no-detect", "--json",
                           str(doc_path))  # fmt: skip
    assert code == 0, err
    assert out.startswith(f"{png}: whole image, 1 accepted")
    doc = json.loads(doc_path.read_text())
    assert doc["detector"] is None
    (small,) = doc["images"][0]["faces"]
    assert small["box"] == [0, 0, 48, 48] and small["accepted"]
    back = np.array(small["points"]) * [w / 48, h / 48] + [x, y]
    error = np.linalg.norm(back - np.array(face["points"]), axis=1)
    assert np.median(error) < 0.04 * w, np.median(error)


def test_landmarks_non_face_image_fails_and_writes_nothing(tmp_path, capsys, monkeypatch):
    flat = tmp_path / "flat.png"
    cv2.imwrite(str(flat), np.full((120, 120), 128, np.uint8))
    doc, out = tmp_path / "m.json", tmp_path / "ov"
    for extra, why in (((), "no face found by"),
                       (("--no-detect",), "the face mesh finds no face in the whole image")):  # fmt: skip
        code, stdout, err = emonb(capsys, monkeypatch, "landmarks", str(flat), *extra, "--json",
                                  str(doc), "--out", str(out))  # fmt: skip
        assert code == 1 and stdout == ""
        assert err.count("\n") == 1 and err.startswith(f"emonb: error: {flat}: ")
        assert why in err
    # with a face beside it, --strict: still an error (every image must have a face), nothing
    # written
    code, stdout, err = emonb(capsys, monkeypatch, "landmarks", "astronaut", str(flat), "--strict",
                              "--json", str(doc), "--out", str(out))  # fmt: skip
    assert code == 1 and stdout.startswith("astronaut: 1 face(s)")
    assert err.count("\n") == 1 and str(flat) in err
    assert not doc.exists() and not out.exists() and list(tmp_path.iterdir()) == [flat]


def test_landmarks_bad_inputs_one_line_each(tmp_path, capsys, monkeypatch):
    text, empty, tiny = tmp_path / "text.png", tmp_path / "empty.png", tmp_path / "tiny.png"
    text.write_text("not an image")
    empty.write_bytes(b"")
    cv2.imwrite(str(tiny), np.zeros((1, 1, 3), np.uint8))
    args = [str(tmp_path / "missing.png"), str(tmp_path), str(text), str(empty), str(tiny)]
    for extra in ((), ("--no-detect",)):
        code, _, err = emonb(capsys, monkeypatch, "landmarks", *args, *extra, "--json",
                             str(tmp_path / "m.json"))  # fmt: skip
        lines = err.splitlines()
        assert code == 1 and len(lines) == 5, err
        assert all(ln.startswith("emonb: error: ") for ln in lines) and "Traceback" not in err
        assert "no such image" in lines[0] and "no such image" in lines[1]
        assert "not a readable image" in lines[2] and "not a readable image" in lines[3]
        assert str(tiny) in lines[4]
    assert not (tmp_path / "m.json").exists()
    code, _, err = emonb(capsys, monkeypatch, "landmarks", "astronaut", "--detector", "x" * 5000)
    assert code == 2 and "invalid choice" in err and "Traceback" not in err


# ---- many inputs: the ones that succeed are written ----------------------------------------
@pytest.fixture
def batch_files(tmp_path, astronaut):
    """``(bad, good)``: an unreadable image and a copy of the astronaut photo."""
    bad, good = tmp_path / "bad.png", tmp_path / "face.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n damaged")
    cv2.imwrite(str(good), astronaut[..., ::-1])
    return bad, good


def test_landmarks_keeps_the_good_inputs(tmp_path, batch_files, capsys, monkeypatch):
    bad, good = batch_files
    doc, out = tmp_path / "m.json", tmp_path / "ov"
    code, stdout, err = emonb(capsys, monkeypatch, "landmarks", "astronaut", str(bad), str(good),
                              "--json", str(doc), "--out", str(out))  # fmt: skip
    assert code == 0, err
    lines = err.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"emonb: error: {bad}: not a readable image")
    assert lines[1].startswith("emonb: 1 of 3 inputs failed (see ")
    rows = json.loads(doc.read_text())["images"]
    assert [r["accepted"] for r in rows] == [True, False, True]
    assert rows[1]["image"] == str(bad) and "not a readable image" in rows[1]["reason"]
    assert len(rows[0]["faces"]) == len(rows[2]["faces"]) == 1
    assert sorted(p.name for p in out.iterdir()) == ["astronaut_landmarks.png", "face_landmarks.png"]
    assert f"wrote {doc}" in stdout


def test_landmarks_strict_or_all_failed_writes_nothing(tmp_path, batch_files, capsys, monkeypatch):
    bad, good = batch_files
    doc, out = tmp_path / "m.json", tmp_path / "ov"
    code, _, err = emonb(capsys, monkeypatch, "landmarks", "astronaut", str(bad), str(good),
                         "--strict", "--json", str(doc), "--out", str(out))  # fmt: skip
    assert code == 1 and err.count("\n") == 1 and "not a readable image" in err
    assert not doc.exists() and not out.exists()
    code, _, err = emonb(capsys, monkeypatch, "landmarks", str(bad), str(tmp_path / "none.png"),
                         "--json", str(doc))  # fmt: skip
    assert code == 1 and err.count("\n") == 2 and "inputs failed" not in err
    assert not doc.exists()


def test_predict_and_explain_keep_the_good_inputs(tmp_path, batch_files, capsys, monkeypatch):
    bad, good = batch_files
    code, out, err = emonb(capsys, monkeypatch, "predict", "astronaut", str(bad), str(good),
                           "--json")  # fmt: skip
    assert code == 0, err
    rows = json.loads(out)
    assert [r["accepted"] for r in rows] == [True, False, True] and len(rows) == 3
    assert rows[1] == {"image": str(bad), "accepted": False, "reason": rows[1]["reason"]}
    assert "not a readable image" in rows[1]["reason"] and rows[2]["emotion"] == "happy"
    assert err.splitlines()[-1].startswith("emonb: 1 of 3 inputs failed")
    code, out, err = emonb(capsys, monkeypatch, "predict", "astronaut", str(bad), "--json",
                           "--strict")  # fmt: skip
    assert code == 1 and out == "" and err.count("\n") == 1
    maps = tmp_path / "maps"
    code, out, err = emonb(capsys, monkeypatch, "explain", str(bad), str(good), "--method",
                           "gradcam", "--out", str(maps))  # fmt: skip
    assert code == 0, err
    assert sorted(p.name for p in maps.iterdir()) == ["face_gradcam.npy", "face_gradcam.png"]
    assert err.splitlines()[-1].startswith("emonb: 1 of 2 inputs failed (see the errors above)")
    code, out, err = emonb(capsys, monkeypatch, "explain", str(bad), str(good), "--method",
                           "gradcam", "--strict", "--out", str(tmp_path / "none"))  # fmt: skip
    assert code == 1 and out == "" and not (tmp_path / "none").exists()


@pytest.mark.parametrize("content", [b"not a model", bytes(1_242_398)])
def test_corrupt_face_mesh_model_names_the_fetch(tmp_path, monkeypatch, capsys, content):
    """A corrupt cached face-mesh file (wrong size; right size, wrong bytes): one line that
    says which ``emonb fetch`` repairs it."""
    from emonb.data.manifest import _cache_file, load_manifest

    path = _cache_file(load_manifest()["face-mesh"], tmp_path / "cache")
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    png = tmp_path / "face.png"
    cv2.imwrite(str(png), np.full((48, 48), 128, np.uint8))
    monkeypatch.setenv("EMONB_CACHE_DIR", str(tmp_path / "cache"))
    assert main(["landmarks", str(png), "--no-detect", "--json", str(tmp_path / "m.json")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("emonb: error: face-mesh: ")
    assert "mismatch" in err and err.rstrip().endswith("run `emonb fetch face-mesh`")
    assert not (tmp_path / "m.json").exists()


def test_evaluate_maps_uses_the_only_split_of_a_file_and_says_so(tmp_path, capsys):
    """A file with PrivateTest rows only: evaluate-maps samples them (the default split,
    PublicTest, is absent), says so in one line, and checks --methods before any model
    loads or trains (the unknown name stops it here)."""
    rng = np.random.default_rng(0)
    path = tmp_path / "private.npz"
    np.savez(path, images=rng.integers(0, 256, (14, 48, 48), dtype=np.uint8),
             labels=np.arange(14) % 7, usage=np.full(14, "PrivateTest"))  # fmt: skip
    assert main(["evaluate-maps", "--data", str(path), "--methods", "nope"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (f"emonb: note: {path} holds only PrivateTest faces: using them "
                      "(--split PrivateTest)")  # fmt: skip
    assert err[1].startswith("emonb: error: unknown method 'nope'") and len(err) == 2
    assert main(["evaluate-maps", "--data", str(path), "--split", "PublicTest"]) == 1
    err = capsys.readouterr().err
    assert "no rows with usage 'PublicTest'; it has PrivateTest" in err and err.count("\n") == 1


def test_usage_errors_are_one_line(capsys):
    for argv, says in ((["evaluate-maps", "--n", "-3"], "evaluate-maps: argument --n: must be at "
                        "least 1, got -3 (see `emonb evaluate-maps --help`)"),
                       (["bench", "--batch", "abc"], "bench: argument --batch: expected a whole "
                        "number, got 'abc'"), ([], "the following arguments are required: COMMAND")):  # fmt: skip
        with pytest.raises(SystemExit) as stop:
            main(argv)
        err = capsys.readouterr().err
        assert stop.value.code == 2 and err.count("\n") == 1
        assert err.startswith("emonb: error: ") and says in err, err


# ---- images at the model's input size are face crops --------------------------------------
def test_face_crop_rule():
    from emonb.faces import is_face_crop

    assert is_face_crop((48, 48), (64, 64)) and is_face_crop((48, 48, 3), (48, 48))
    assert is_face_crop((128, 128), (64, 64)) and is_face_crop((32, 40), (64, 64))
    assert not is_face_crop((129, 128), (64, 64))  # more than twice the input side
    assert not is_face_crop((31, 31), (64, 64))  # less than half of it
    assert not is_face_crop((48, 64), (64, 64))  # not roughly square (1.33 > 1.25)
    assert not is_face_crop((512, 512), (64, 64))


def test_predict_and_explain_take_a_fer_face_whole(tmp_path, capsys, astronaut):
    """A 48x48 grey face (FER-2013's format) is classified and explained whole, with one
    note line on stderr, where detection used to find no face."""
    from emonb.data.images import to_grey
    from emonb.faces import find_faces

    x, y, w, h = find_faces(astronaut)[0].as_tuple()
    face = cv2.resize(to_grey(astronaut[y : y + h, x : x + w]), (48, 48), interpolation=cv2.INTER_AREA)
    png = tmp_path / "fer_face.png"
    cv2.imwrite(str(png), face)
    note = (f"emonb: note: {png}: 48x48, about the model's input size (64x64): used whole as "
            "a face crop, no face detection\n")  # fmt: skip
    assert main(["predict", str(png), "--json"]) == 0
    out, err = capsys.readouterr()
    (result,) = json.loads(out)
    assert result["face"] is None and result["emotion"] == "happy" and err == note
    assert main(["explain", str(png), "--method", "gradcam", "--out", str(tmp_path / "maps")]) == 0
    out, err = capsys.readouterr()
    assert err == note and (tmp_path / "maps" / "fer_face_gradcam.npy").is_file()
    assert main(["predict", str(png), "--no-detect"]) == 0  # asked for: no note
    assert capsys.readouterr().err == ""


def test_explain_checks_the_target_before_reading_images(tmp_path, capsys):
    flat = tmp_path / "flat.png"
    cv2.imwrite(str(flat), np.full((120, 120), 128, np.uint8))
    for target, says in (("joy", "--target: unknown class 'joy'"), ("7", "out of range 0..6")):
        assert main(["explain", str(flat), str(tmp_path / "missing.png"), "--method", "gradcam",
                     "--target", target, "--out", str(tmp_path / "o")]) == 1  # fmt: skip
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and says in err and "no face" not in err
    assert not (tmp_path / "o").exists()


def test_evaluate_maps_regions_checked_before_any_work(capsys):
    with pytest.raises(SystemExit) as err:
        main(["evaluate-maps", "--data", "no-such.npz", "--regions", "boxes"])
    assert err.value.code == 2
    assert "--regions: invalid choice: 'boxes' (choose from" in capsys.readouterr().err
    # --robustness needs each face's mesh, so real faces: refused before data or a model loads
    assert main(["evaluate-maps", "--data", "no-such.npz", "--regions", "canonical",
                 "--robustness"]) == 1  # fmt: skip
    assert "--robustness needs each face's mesh: use --regions mesh" in capsys.readouterr().err
    assert main(["evaluate-maps", "--data", "synthetic", "--robustness"]) == 1
    assert "--robustness judges claims about real faces" in capsys.readouterr().err


# ---- --detector on the commands that find faces -------------------------------------------
@pytest.mark.parametrize("detector", ["haar", "blazeface"])
def test_predict_and_explain_use_the_chosen_detector(tmp_path, capsys, astronaut, detector):
    from emonb.faces import find_faces
    from emonb.methods import get_method
    from emonb.models.zoo import load_model

    box = find_faces(astronaut, detector=detector)[0]
    assert main(["predict", "astronaut", "--json", "--detector", detector]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert result["face"] == list(box.as_tuple())
    assert main(["explain", "astronaut", "--method", "gradcam", "--detector", detector,
                 "--out", str(tmp_path)]) == 0  # fmt: skip
    saved = np.load(tmp_path / "astronaut_gradcam.npy")
    x, y, w, h = box.as_tuple()
    net = load_model("mini-xception")
    face = astronaut[y : y + h, x : x + w]
    expected = get_method("gradcam")(net).explain(face[None])[0]
    np.testing.assert_allclose(saved, expected, atol=1e-5)


def test_video_detector_option(tmp_path):
    doc = tmp_path / "v.json"
    assert main(["video", "single-face-video", "--detector", "haar", "--method", "none",
                 "--max-frames", "2", "--no-progress", "--json", str(doc)]) == 0  # fmt: skip
    summary = json.loads(doc.read_text())
    assert summary["detector"] == "haar" and summary["frames"] == 2


def test_video_overlay_choices_are_the_pipelines():
    from emonb.cli import build_parser
    from emonb.video.draw import OVERLAYS

    video = build_parser()._subparsers._group_actions[0].choices["video"]
    overlay = next(a for a in video._actions if a.dest == "overlay")
    assert tuple(overlay.choices) == OVERLAYS and overlay.default == "au"


def test_an_interrupted_evaluation_on_a_cluster_writes_nothing_and_leaves_no_worker(tmp_path):
    """Ctrl-C while the chunks run on a local cluster: the command stops, no JSON (whole
    or half) is left, and the cluster's worker processes are gone."""
    import signal
    import time

    import psutil

    out = tmp_path / "maps.json"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "emonb", "evaluate-maps", "--data", "synthetic",
                             "--quick", "--methods", "saliency,gradcam", "--n", "24",
                             "--pointing-model", "none", "--scheduler", "local:2", "--chunk", "4",
                             "--json", str(out)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)  # fmt: skip
    seen = []
    for line in proc.stdout:  # wait until the chunks are under way
        seen.append(line)
        if line.startswith("explaining"):
            break
    time.sleep(2)
    children = psutil.Process(proc.pid).children(recursive=True)
    assert len(children) >= 2, "".join(seen)  # the two workers (and their nannies' helpers)
    proc.send_signal(signal.SIGINT)
    rest = proc.communicate(timeout=120)[0]
    assert proc.returncode != 0, rest[-2000:]
    assert not out.exists() and not list(tmp_path.glob("*.tmp")) and not list(tmp_path.iterdir())
    gone, alive = psutil.wait_procs(children, timeout=30)
    assert not alive, [p.pid for p in alive]
