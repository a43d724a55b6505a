import cv2
import numpy as np
import pytest

from emonb.models.preprocessing import ModelSpec, as_image_list, prepare_images, preprocessing_steps

XC = ModelSpec(input_size=(64, 64), channels=1, preprocessing="symmetric")
SEED = ModelSpec(input_size=(48, 48), channels=1, preprocessing="unit")
RGB = ModelSpec(input_size=(32, 40), channels=3, preprocessing="none")


def test_batch_rules():
    assert len(as_image_list(np.zeros((48, 48)))) == 1
    assert len(as_image_list(np.zeros((48, 48, 3)))) == 1
    assert len(as_image_list(np.zeros((5, 48, 48)))) == 5
    assert len(as_image_list(np.zeros((5, 48, 48, 1)))) == 5
    assert len(as_image_list([np.zeros((10, 10)), np.zeros((20, 30, 3))])) == 2
    with pytest.raises(ValueError):
        as_image_list(np.zeros(5))


def test_shapes_and_ranges():
    rng = np.random.default_rng(0)
    colour = rng.integers(0, 256, (120, 90, 3), dtype=np.uint8)
    grey = rng.integers(0, 256, (48, 48), dtype=np.uint8)
    x = prepare_images([colour, grey, grey[..., None]], XC)
    assert x.shape == (3, 64, 64, 1) and x.dtype == np.float32
    assert x.min() >= -1 and x.max() <= 1
    y = prepare_images(grey, SEED)
    np.testing.assert_allclose(y[0, ..., 0], grey / 255.0, rtol=1e-6)
    z = prepare_images(grey, RGB)
    assert z.shape == (1, 32, 40, 3) and np.all(z[..., 0] == z[..., 1])


def test_symmetric_scaling_exact():
    img = np.array([[0, 255], [127, 128]], np.uint8)
    spec = ModelSpec(input_size=(2, 2), preprocessing="symmetric")
    np.testing.assert_allclose(
        prepare_images(img, spec)[0, ..., 0], (img / 255.0 - 0.5) * 2, atol=1e-6
    )


def test_grey_matches_opencv_and_float_input():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)
    ref = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) / 255.0
    np.testing.assert_allclose(prepare_images(img, SEED)[0, ..., 0], ref, atol=1 / 255 + 1e-6)
    as_float = prepare_images(img.astype(np.float32) / 255.0, SEED)
    np.testing.assert_allclose(as_float, prepare_images(img, SEED), atol=1 / 255 + 1e-6)
    rgba = np.dstack([img, np.zeros((48, 48), np.uint8)])
    np.testing.assert_array_equal(prepare_images(rgba, SEED), prepare_images(img, SEED))


def test_bad_float_range_and_spec():
    with pytest.raises(ValueError, match=r"float images must lie in \[0, 1\]"):
        prepare_images(np.full((4, 4), 200.0), SEED)
    with pytest.raises(ValueError, match="unknown preprocessing"):
        ModelSpec(input_size=(4, 4), preprocessing="imagenet")
    with pytest.raises(ValueError, match="1 or 3 channels"):
        ModelSpec(input_size=(4, 4), channels=2)


def test_steps_end_in_model_input():
    img = np.random.default_rng(2).integers(0, 256, (100, 80, 3), dtype=np.uint8)
    steps = preprocessing_steps(img, XC)
    assert [t.split()[0] for t, _ in steps] == ["input", "grey", "resized", "scaled"]
    np.testing.assert_array_equal(steps[-1][1], prepare_images(img, XC)[0, ..., 0])


def test_model_view_is_what_the_model_sees_back_in_grey_levels():
    from types import SimpleNamespace

    from emonb.models.preprocessing import model_view

    grey = np.arange(48 * 48, dtype=np.uint8).reshape(48, 48)
    for scaling in ("unit", "symmetric", "none"):
        net = SimpleNamespace(spec=ModelSpec((48, 48), channels=3, preprocessing=scaling))
        view = model_view(net, grey)
        assert view.shape == (1, 48, 48) and view.dtype == np.uint8
        np.testing.assert_array_equal(view[0], grey)  # 3 equal channels averaged, unscaled
        x = prepare_images(grey, net.spec)
        np.testing.assert_array_equal(model_view(net, x, preprocessed=True), view)
