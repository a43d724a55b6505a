"""Anatomy figures: mesh points, region colours, AU heatmaps with prototype outlines,
agreement intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.patches import Rectangle

from emonb.plotting.anatomy import (
    heatmap_span,
    plot_agreement,
    plot_au_heatmap,
    plot_mesh,
    plot_regions,
)


def test_mesh_points_at_pixel_centres():
    xy = np.array([[0.5, 0.5], [10.5, 4.5]] * 234, np.float32)
    ax = plot_mesh(np.zeros((20, 30), np.uint8), xy)
    offsets = ax.collections[0].get_offsets()
    # a point at pixel centre (x + 0.5) is drawn at imshow's integer pixel coordinate
    np.testing.assert_allclose(offsets[:2], [[0, 0], [10, 4]])
    assert ax.get_xlim() == (-0.5, 29.5)


def test_regions_coloured_by_label_and_named():
    labels = np.full((10, 10), -1, np.int16)
    labels[:5, :5], labels[6:, 6:] = 0, 1
    ax = plot_regions(np.zeros((10, 10), np.uint8), labels, ["AU01", "AU12"])
    rgba = ax.images[-1].get_array()
    assert rgba[0, 0, 3] > 0 and rgba[5, 5, 3] == 0
    assert not np.allclose(rgba[0, 0, :3], rgba[9, 9, :3])  # two colours
    texts = {t.get_text(): t.get_position() for t in ax.texts}
    assert texts == {"01": (2.0, 2.0), "12": (7.5, 7.5)}


def test_heatmap_outlines_prototype_cells_and_centres_colours():
    table = pd.DataFrame([[1.0, 2.0, 0.5], [1.0, 1.0, 1.0]], index=["happy", "sad"],
                         columns=["AU06", "AU12", "AU15"])  # fmt: skip
    ax = plot_au_heatmap(table, prototypes={"happy": ("AU06", "AU12"), "sad": ("AU15",)})
    boxes = sorted(p.get_xy() for p in ax.patches if isinstance(p, Rectangle))
    assert boxes == [(-0.5, -0.5), (0.5, -0.5), (1.5, 0.5)]
    norm = ax.images[0].norm
    assert norm.vcenter == 1.0 and norm.vmin == 0.0 and norm.vmax == 2.0
    assert [t.get_text() for t in ax.get_xticklabels()] == ["06", "12", "15"]


def test_heatmap_span_shares_one_scale_between_tables():
    a = pd.DataFrame([[0.1, -0.3]])
    b = np.array([[0.2, np.nan]])
    assert heatmap_span([a, b], centre=0.0) == 0.3
    assert heatmap_span([a, b], centre=1.0) == 1.3
    assert heatmap_span([np.full((2, 2), np.nan)]) == 1.0  # nothing finite: a unit span
    ax = plot_au_heatmap(pd.DataFrame([[0.1]], columns=["AU12"]), centre=0.0, vmax=heatmap_span([a, b], 0.0))
    assert ax.images[0].norm.vmax == 0.3


def test_agreement_intervals():
    df = pd.DataFrame({"evidence": ["gradcam", "gradcam"], "emotion": ["happy", "sad"],
                       "score": [0.9, 0.4], "lo": [0.8, 0.2], "hi": [0.95, 0.6]})  # fmt: skip
    ax = plot_agreement(df)
    segs = ax.containers[0].lines[2][0].get_segments()
    np.testing.assert_allclose(segs[0], [[0.8, 0.0], [0.95, 0.0]])
    np.testing.assert_allclose(segs[1], [[0.2, 1.0], [0.6, 1.0]])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["happy", "sad"]


def test_au_map_fills_outlines_and_names_each_region():
    """Either map on a real face: one filled layer per region (its alpha the region's
    fraction of each pixel), an outline where a region covers half a pixel, a legend entry
    per region with its FACS name."""
    import pytest

    from emonb.anatomy.au_maps import au_masks_for, au_names
    from emonb.faces.mesh import FaceMesh
    from emonb.plotting.anatomy import plot_au_map
    from emonb.video.real_faces import real_faces

    crop = real_faces(("single-face",)).images[:1]
    xy = FaceMesh().landmarks(crop).xy[0]
    for au_map in ("appearance", "muscle"):
        ax = plot_au_map(crop[0], xy, au_map, alpha=0.5)
        names = au_names(au_map)
        assert len(ax.images) == 1 + len(names)  # the face, then a layer per region
        masks = au_masks_for(xy[None], 48, 48, au_map)[0]
        r = names.index("AU12")
        np.testing.assert_allclose(ax.images[1 + r].get_array()[..., 3], 0.5 * masks[r])
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert len(labels) == len(names) and "AU12 Lip Corner Puller" in labels
        assert ax.get_xlim() == (-0.5, 47.5)
    ax = plot_au_map(crop[0], xy, aus=["AU12", "AU25"], legend=False)
    assert len(ax.images) == 3 and ax.get_legend() is None
    with pytest.raises(ValueError, match="AU25 not in the muscle map"):
        plot_au_map(crop[0], xy, "muscle", aus=["AU25"])
