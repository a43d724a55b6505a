"""Tests for texture, lighting, blur and noise (:mod:`emonb.data.synthetic.imaging`)."""

from __future__ import annotations

import numpy as np

from emonb.data.synthetic.imaging import develop, upsample_texture
from emonb.data.synthetic.variation import Lighting


def _lighting(size: int, **kw: float) -> Lighting:
    values = {"grad_dir": 0.0, "grad_amp": 0.0, "contrast": 1.0, "bright": 0.0, "blur": 0.0}
    values.update(kw)
    return Lighting(
        **{key: np.array([v]) for key, v in values.items()},
        texture=np.zeros((1, 5, 5)),
        noise_sd=np.array([0.0]),
        noise=np.zeros((1, size, size), dtype=np.float32),
    )


def test_upsample_texture_interpolates_between_grid_nodes() -> None:
    grid = np.zeros((1, 5, 5))
    grid[0, 2, 2] = 8.0
    assert np.array_equal(upsample_texture(grid, 5), grid.astype(np.float32))
    up = upsample_texture(grid, 9)[0]  # nodes at even pixels, midpoints in between
    assert up[4, 4] == 8.0 and up[4, 3] == 4.0 and up[3, 3] == 2.0 and up[2, 4] == 0.0


def test_develop_rounds_and_clips_without_lighting() -> None:
    images = np.full((1, 4, 4), 100.4, dtype=np.float32)
    images[0, 0, :2] = [300.0, -5.0]
    out = develop(images, np.ones((1, 4, 4), np.float32), _lighting(4), 1.0)
    assert out.dtype == np.uint8
    assert out[0, 0, :3].tolist() == [255, 0, 100]


def test_develop_contrast_is_about_mid_grey_and_gradient_is_linear() -> None:
    ones = np.ones((1, 48, 48), np.float32)
    out = develop(np.full((1, 48, 48), 100.0, np.float32), ones, _lighting(48, contrast=0.5), 1.0)
    assert (out == 114).all()  # 0.5 * 100 + 128 * 0.5
    lit = develop(np.full((1, 48, 48), 100.0, np.float32), ones, _lighting(48, grad_amp=0.2), 1.0)
    # x ramp from -23.5 / 24 to 23.5 / 24: 100 * (1 -+ 0.2 * 0.979) = 80.4 and 119.6.
    assert lit[0, 0, 0] == 80 and lit[0, 0, -1] == 120 and (lit[0] == lit[0, :1]).all()
