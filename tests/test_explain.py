"""`emonb explain`, Figure 1 and the benchmark's plumbing (not its timings)."""

import numpy as np
import pytest

from emonb.cli import main
from emonb.data.manifest import artifact_path
from emonb.explain import FIGURE1_METHODS, explain_files, figure1_maps, map_summary
from emonb.methods import METHODS


def test_explain_list(capsys):
    assert main(["explain", "--list"]) == 0
    assert capsys.readouterr().out.split() == list(METHODS)


def test_explain_writes_npy_and_png(tmp_path, capsys, mini_xception):
    out = tmp_path / "out"
    assert (
        main(["explain", "astronaut", "single-face", "--method", "gradcam", "--out", str(out)]) == 0
    )
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "astronaut_gradcam.npy",
        "astronaut_gradcam.png",
        "single_face_gradcam.npy",
        "single_face_gradcam.png",
    ]
    m = np.load(out / "astronaut_gradcam.npy")
    assert m.dtype == np.float32
    from emonb.explain import face_from_file

    face = face_from_file(artifact_path("astronaut"))  # the file holds the CLI's map itself
    ref = METHODS["gradcam"](mini_xception).explain(face)[0]  # alone, not in the CLI's batch of 2
    np.testing.assert_allclose(m, ref, atol=1e-5)
    from PIL import Image

    with Image.open(out / "astronaut_gradcam.png") as im:
        dpi = im.info.get("dpi", (0, 0))[0]
    assert round(dpi) == 300


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--method", "nope"], "unknown method 'nope'; choose one of: saliency"),
        (["--method", "gradcam", "--layer", "conv99"], "valid names: conv2d_1"),
        (["--method", "gradcam", "--target", "joy"], "unknown class 'joy'"),
        (
            ["--method", "activation", "--layer", "conv2d_1", "--filter", "8"],
            "has 8 filters (0..7)",
        ),
        (["--method", "saliency", "--layer", "conv2d_1"], "does not take a layer"),
    ],
)
def test_explain_bad_choices_write_nothing(tmp_path, capsys, args, message):
    out = tmp_path / "out"
    assert main(["explain", "astronaut", *args, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("emonb: error:") and message in err and err.count("\n") == 1
    assert not out.exists() or not any(out.iterdir())


def test_explain_unreadable_image_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"nope")
    out = tmp_path / "out"
    assert main(["explain", "astronaut", str(bad), "--method", "cam", "--strict",
                 "--out", str(out)]) == 1  # fmt: skip
    assert "bad.png: not a readable image" in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())


def test_explain_files_targets(mini_xception):
    path = artifact_path("astronaut")
    (res,) = explain_files(mini_xception, [path], "gradcam")
    assert res.target == "happy" and res.face.shape == (64, 64) and res.face.dtype == np.uint8
    (fear,) = explain_files(mini_xception, [path], "gradcam", target="2")
    assert fear.target == "fear" and not np.allclose(fear.heatmap, res.heatmap)  # class 2


def test_figure1_maps(mini_xception, astronaut):
    maps = figure1_maps(mini_xception, astronaut[60:170, 170:280])
    assert maps["predicted"] == "happy"
    assert tuple(maps["row1"]) == FIGURE1_METHODS
    assert tuple(maps["cams"]) == mini_xception.class_names == tuple(maps["saliency"])
    # the CAM of each emotion is that emotion's explanation, not the same map seven times
    assert np.abs(maps["cams"]["happy"] - maps["cams"]["angry"]).max() > 0.2


def test_map_summary_known_answers():
    m = np.zeros((11, 11), np.float32)
    m[0, 10] = 1.0
    table = map_summary({"corner": m, "flat": np.ones((11, 11))})
    assert table.loc["corner", "centre y"] == 0.0 and table.loc["corner", "centre x"] == 1.0
    assert table.loc["corner", "top-10% mass"] == 1.0
    assert table.loc["flat", "centre y"] == 0.5 and table.loc[
        "flat", "top-10% mass"
    ] == pytest.approx(12 / 121, abs=0.005)  # top 12 of 121 pixels


def test_benchmark_plumbing(mini_xception):
    from emonb.bench import format_table, run_benchmark

    images = np.random.default_rng(0).integers(0, 256, (4, 48, 48), dtype=np.uint8)
    result = run_benchmark(
        mini_xception,
        images,
        methods=["saliency", "cam"],
        repeat=1,
        compare=False,
        log=lambda _m: None,
    )
    assert [r["method"] for r in result["rows"]] == ["saliency", "cam"]
    assert all(r["emonb_img_s"] > 0 for r in result["rows"])
    assert result["batch"] == 4 and "tensorflow" in result["machine"]
    assert format_table(result).count("\n") == 3
