"""Faithfulness figures: ranking, perturbation curves, randomization, regions."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from emonb.plotting.metrics import (
    plot_data_randomization,
    plot_face_regions,
    plot_map_similarity,
    plot_perturbation_curves,
    plot_randomization,
    plot_randomization_similarity,
    plot_ranking,
    plot_region_importance,
)


def test_ranking_greys_the_references():
    table = pd.DataFrame({"insertion - deletion": [0.3, 0.0], "lo": [0.1, -0.1],
                          "hi": [0.4, 0.2]}, index=["gradcam", "random"])  # fmt: skip
    ax = plot_ranking(table)
    points = [c.lines[0] for c in ax.containers]
    assert points[0].get_color() == "tab:blue" and points[1].get_color() == "0.55"
    segs = ax.containers[0].lines[2][0].get_segments()
    np.testing.assert_allclose(segs[0], [[0.1, 0.0], [0.4, 0.0]])  # lo..hi of gradcam


def test_perturbation_curves_mean_and_reference_style():
    c = SimpleNamespace(fractions=np.array([0.0, 1.0]), scores=np.array([[1.0, 0.0], [0.0, 0.0]]))
    ax = plot_perturbation_curves({"gradcam": {"deletion": c}, "centre": {"deletion": c}})
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [0.5, 0.0])
    assert ax.lines[0].get_linestyle() == "-" and ax.lines[1].get_linestyle() == "--"


def test_randomization_grid_and_similarity():
    stages = ["none", "dense", "separable_conv2d_3"]
    similarity = pd.DataFrame({"gradcam": [1.0, 0.5, 0.1]}, index=stages)
    rz = SimpleNamespace(stages=stages, maps={"gradcam": [np.zeros((2, 4, 4))] * 3},
                         spearman=similarity)  # fmt: skip
    fig = plot_randomization(np.zeros((4, 4), np.uint8), rz)
    *panels, bar = fig.axes  # the last axes: one colour bar for all maps, [0, 1]
    assert [ax.get_title() for ax in panels] == ["trained", "+ dense", "+ sepconv2d_3"]
    assert bar.get_ylim() == (0.0, 1.0) and "[0, 1]" in bar.get_ylabel()
    ax = plot_randomization_similarity(rz)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["trained", "+dense", "+sepconv2d_3"]
    rz.spearman = similarity.assign(centre=1.0, saliency=0.2)
    ax = plot_randomization_similarity(rz, methods=["saliency", "centre"])
    assert [line.get_label() for line in ax.lines[:2]] == ["saliency", "centre"]
    assert ax.lines[1].get_linestyle() == "--"  # the reference, grey and dashed


def test_region_importance_groups_and_counts():
    rows = [{"measure": "drop", "column": col, "group": g, "mean": m, "lo": m - 0.1,
             "hi": m + 0.1, "n": n} for col, m in (("eyes", 0.2), ("mouth", 0.4))
            for g, n in (("happy", 3), ("sad", 5))]  # fmt: skip
    ax = plot_region_importance(pd.DataFrame(rows), "drop", ["happy", "sad"])
    assert [p.get_height() for p in ax.patches] == [0.2, 0.2, 0.4, 0.4]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["happy\n(n=3)", "sad\n(n=5)"]


def test_face_regions_labels_at_the_masks():
    mask = np.zeros((48, 48), bool)
    mask[10:20, 8:40] = True
    ax = plot_face_regions(np.zeros((48, 48), np.uint8), {"eyes": mask})
    assert ax.texts[0].get_text() == "eyes" and ax.texts[0].get_position() == (39.5, 9.5)


def test_data_randomization_grid_pairs_the_two_models_per_face():
    maps = {m: np.zeros((3, 4, 4)) for m in ("a", "b", "c", "d", "e")}
    permuted = {m: np.ones((3, 4, 4)) for m in maps}
    result = SimpleNamespace(images=np.zeros((3, 4, 4), np.uint8), maps=maps, permuted_maps=permuted)
    fig = plot_data_randomization(result, n_faces=2, blocks=2, title="two models")
    assert fig._suptitle.get_text() == "two models"
    # 5 methods in 2 blocks of 3 rows; each block: face 1 true, permuted, face 2 true, permuted
    assert len(fig.axes) == 3 * 2 * 4 + 1  # and one colour bar on the maps' shared [0, 1] scale
    assert fig.axes[-1].get_ylim() == (0.0, 1.0) and "one scale" in fig.axes[-1].get_ylabel()
    titles = [ax.get_title() for ax in fig.axes[:8]]
    assert titles == ["face 1\ntrue", "face 1\npermuted", "face 2\ntrue", "face 2\npermuted"] * 2
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 5 * 4  # the sixth row slot of the second block stays empty
    labels = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert labels == ["a", "d", "b", "e", "c"]  # row by row: a b c down block 1, d e down block 2
    # the same face under both maps, coloured by its own map: true (0) and permuted (1) differ
    true, perm = fig.axes[0].images[0].get_array(), fig.axes[1].images[0].get_array()
    assert not np.array_equal(true, perm)


def test_map_similarity_points_and_intervals():
    table = pd.DataFrame({"spearman": [0.9, 0.1], "spearman lo": [0.8, -0.1],
                          "spearman hi": [1.0, 0.3], "ssim": [0.7, 0.0], "ssim lo": [0.6, -0.05],
                          "ssim hi": [0.8, 0.05]}, index=["guided_backprop", "random"])  # fmt: skip
    ax = plot_map_similarity(table)
    sp, ss = ax.containers
    np.testing.assert_allclose(sp.lines[0].get_xdata(), [0.9, 0.1])
    np.testing.assert_allclose(sp.lines[2][0].get_segments()[1], [[-0.1, 1 - 0.17], [0.3, 1 - 0.17]])
    np.testing.assert_allclose(ss.lines[0].get_ydata(), [0.17, 1.17])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["guided_backprop", "random (ref.)"]
