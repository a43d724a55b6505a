"""Image priors checked against hand-computed values."""

from __future__ import annotations

import numpy as np

from emonb._tf import tf
from emonb.featviz.regularizers import (
    L2,
    Blur,
    Jitter,
    Regularizer,
    TotalVariation,
)


def _batch(*images) -> tf.Tensor:
    return tf.constant(np.stack(images)[..., None].astype(np.float32))


def test_total_variation_of_a_hand_made_image():
    img = np.array([[0.0, 1.0, 1.0], [0.0, 0.0, 0.5]])
    # vertical |differences|: 0, 1, 0.5 (mean 0.5); horizontal: 1, 0, 0, 0.5 (mean 0.375)
    u = _batch(img, np.full((2, 3), 0.3))
    np.testing.assert_allclose(TotalVariation(weight=2.0).penalty(u), [1.75, 0.0], atol=1e-7)
    # beta 2: vertical 0, 1, 0.25 (mean 5/12); horizontal 1, 0, 0, 0.25 (mean 5/16)
    np.testing.assert_allclose(
        TotalVariation(weight=1.0, beta=2.0).penalty(u), [5 / 12 + 5 / 16, 0.0], rtol=1e-6
    )


def test_l2_pulls_towards_mid_grey():
    u = _batch(np.array([[0.0, 1.0], [0.5, 0.75]]), np.full((2, 2), 0.5))
    # squared distances from 0.5: 0.25, 0.25, 0, 0.0625 -> mean 0.140625
    np.testing.assert_allclose(L2(weight=4.0).penalty(u), [0.5625, 0.0], rtol=1e-6)


def test_jitter_is_a_seeded_reflected_shift():
    img = np.arange(30, dtype=np.float32).reshape(5, 6) / 30
    images = np.stack([img, img[::-1]])
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2)), mode="reflect")
    jit = Jitter(pixels=2)

    def shifts(seed) -> list[tuple[int, int]]:
        out = jit.transform(_batch(*images), tf.constant(seed)).numpy()[..., 0]
        return [(dy, dx) for dy in range(5) for dx in range(5)
                if np.array_equal(out, padded[:, dy : dy + 5, dx : dx + 6])]  # fmt: skip

    assert len(shifts([0, 5])) == 1  # one window of the padded batch, the same for both images
    assert shifts([0, 5]) == shifts([0, 5])  # stateless: the seed decides
    seen = {shifts([0, s])[0] for s in range(40)}
    assert len(seen) > 10  # the step part of the seed moves it over the 25 shifts
    u = _batch(img)
    assert Jitter(0).transform(u, tf.constant([0, 5])) is u


def test_blur_every_n_steps_keeps_constants_and_means():
    rng = np.random.default_rng(0)
    u = _batch(rng.uniform(0, 1, (12, 10)), rng.uniform(0, 1, (12, 10)))
    blur = Blur(sigma=1.0, every=3)
    np.testing.assert_array_equal(blur.after_step(u, tf.constant(0)), u)
    np.testing.assert_array_equal(blur.after_step(u, tf.constant(1)), u)
    smooth = blur.after_step(u, tf.constant(2)).numpy()  # the 3rd step
    assert np.abs(np.diff(smooth, axis=2)).mean() < 0.5 * np.abs(np.diff(u, axis=2)).mean()
    np.testing.assert_allclose(Blur(0.7).after_step(tf.fill((1, 8, 8, 1), 0.3), 3), 0.3)
    # a separable Gaussian with sigma 0.5 (radius 2) on a unit impulse in the middle
    impulse = np.zeros((9, 9), np.float32)
    impulse[4, 4] = 1.0
    k = np.exp(-0.5 * (np.arange(-2, 3) / 0.5) ** 2)
    k /= k.sum()
    out = Blur(sigma=0.5, every=1).after_step(_batch(impulse), tf.constant(0)).numpy()[0, ..., 0]
    expected = np.zeros((9, 9))
    expected[2:7, 2:7] = np.outer(k, k)
    np.testing.assert_allclose(out, expected, atol=1e-7)
    assert Blur(sigma=0.0).after_step(u, tf.constant(3)) is u


def test_regularizer_hooks_default_to_identity():
    u = _batch(np.full((3, 3), 0.2))
    r = Regularizer()
    assert r.penalty(u) is None
    assert r.transform(u, tf.constant([0, 0])) is u and r.after_step(u, tf.constant(0)) is u
    assert TotalVariation(1.0).transform(u, tf.constant([0, 0])) is u
