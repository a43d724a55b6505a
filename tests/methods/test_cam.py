"""CAM family against small references: the Keras-example Grad-CAM, a naive Score-CAM loop."""

import numpy as np
import pytest

from emonb._tf import keras, tf
from emonb.data.synthetic import make_synthetic_faces
from emonb.methods import CAM, GradCAM, GradCAMGuided, GradCAMPlusPlus, LayerCAM, ScoreCAM
from emonb.methods.base import normalize_maps


@pytest.fixture(scope="module")
def faces():
    return make_synthetic_faces(n=8, seed=5).images


def keras_example_gradcam(model, img_array, last_conv_layer_name, logits_layer_name, pred_index):
    """The Keras example's Grad-CAM (keras.io/examples/vision/grad_cam), for batch size 1,
    reading the logits from a layer instead of editing the model's last activation."""
    grad_model = keras.models.Model(
        model.inputs,
        [model.get_layer(last_conv_layer_name).output, model.get_layer(logits_layer_name).output],
    )
    with tf.GradientTape() as tape:
        last_conv_layer_output, preds = grad_model(img_array)
        class_channel = preds[:, pred_index]
    grads = tape.gradient(class_channel, last_conv_layer_output)
    pooled_grads = tf.reduce_mean(grads, axis=(0, 1, 2))
    last_conv_layer_output = last_conv_layer_output[0]
    heatmap = last_conv_layer_output @ pooled_grads[..., tf.newaxis]
    heatmap = tf.squeeze(heatmap)
    heatmap = tf.maximum(heatmap, 0) / tf.math.reduce_max(heatmap)
    return heatmap.numpy()


@pytest.mark.parametrize("layer", ["conv2d_7", "conv2d_6", "add_3"])
def test_gradcam_matches_keras_example(mini_xception, faces, layer):
    x = mini_xception.preprocess(faces)
    explainer = GradCAM(mini_xception, layer=layer)
    for i, cls in [(0, 3), (1, 0), (2, 6)]:
        ref = keras_example_gradcam(
            mini_xception.model, x[i : i + 1], layer, "global_average_pooling2d_1", cls
        )
        raw = explainer._attribute(x[i : i + 1], np.array([cls]))[0]
        ours = raw / raw.max() if raw.max() > 0 else raw
        np.testing.assert_allclose(ours, np.nan_to_num(ref), atol=1e-4)


def test_cam_on_mini_xception_is_the_class_channel(mini_xception, faces):
    """The mini-Xception pools a 7-channel conv: CAM for class c is that channel, ReLU'd,
    and Grad-CAM at that layer reduces to the same map (gradient = 1/16 for channel c)."""
    x = mini_xception.preprocess(faces)
    idx = np.array([0, 1, 2, 3, 4, 5, 6, 3])
    cam = CAM(mini_xception)
    assert cam.layer == "conv2d_7"
    acts = keras.Model(
        mini_xception.model.inputs, mini_xception.model.get_layer("conv2d_7").output
    )(x).numpy()
    expected = np.maximum(acts[np.arange(8), :, :, idx], 0)
    # BatchNorm folding (on by default) changes float rounding, not the function
    np.testing.assert_allclose(cam._attribute(x, idx), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(
        CAM(mini_xception, fold_batchnorm=False)._attribute(x, idx), expected, atol=1e-5
    )
    np.testing.assert_allclose(
        normalize_maps(GradCAM(mini_xception)._attribute(x, idx)),
        normalize_maps(expected),
        atol=1e-4,
    )


def test_cam_with_dense_head_matches_weights():
    keras.utils.set_random_seed(0)
    inp = keras.Input((12, 12, 1))
    feats = keras.layers.Conv2D(5, 3, activation="relu", name="feats")(inp)
    out = keras.layers.Dense(7, activation="softmax", name="head")(
        keras.layers.GlobalAveragePooling2D()(feats)
    )
    model = keras.Model(inp, out)
    x = np.random.default_rng(0).random((2, 12, 12, 1)).astype(np.float32)
    cam = CAM(model)
    acts = keras.Model(inp, feats)(x).numpy()
    w = model.get_layer("head").get_weights()[0]
    expected = np.maximum(np.einsum("nhwk,k->nhw", acts, w[:, 4]), 0)
    np.testing.assert_allclose(cam._attribute(x, np.array([4, 4])), expected, atol=1e-5)
    # and Grad-CAM of the logit at the pooled layer is CAM up to a positive factor
    np.testing.assert_allclose(
        normalize_maps(GradCAM(model, layer="feats")._attribute(x, np.array([4, 4]))),
        normalize_maps(expected),
        atol=1e-4,
    )


def naive_scorecam(model, x, layer, cls):
    """Score-CAM one image, one channel at a time (Wang et al. 2020, Alg. 1)."""
    feat = keras.Model(model.inputs, model.get_layer(layer).output)
    logits = keras.Model(model.inputs, model.get_layer("global_average_pooling2d_1").output)
    acts = feat(x).numpy()[0]
    H, W = x.shape[1:3]
    cam = np.zeros(acts.shape[:2], np.float32)
    for k in range(acts.shape[-1]):
        up = tf.image.resize(acts[None, :, :, k : k + 1], (H, W), method="bilinear").numpy()[
            0, :, :, 0
        ]
        span = up.max() - up.min()
        mask = (up - up.min()) / span if span > 0 else np.zeros_like(up)
        p = tf.nn.softmax(logits(x * mask[None, :, :, None])).numpy()[0, cls]
        cam += p * acts[:, :, k]
    return np.maximum(cam, 0)


def test_scorecam_matches_naive_loop(mini_xception, faces, monkeypatch):
    monkeypatch.delenv("EMONB_MAX_STEPS", raising=False)
    monkeypatch.delenv("EMONB_QUICK", raising=False)
    x = mini_xception.preprocess(faces[:2])
    explainer = ScoreCAM(mini_xception, layer="conv2d_6", chunk=100)  # 128 channels, several chunks
    ours = explainer._attribute(x, np.array([3, 6]))
    for i, cls in enumerate([3, 6]):
        ref = naive_scorecam(mini_xception.model, x[i : i + 1], "conv2d_6", cls)
        np.testing.assert_allclose(ours[i], ref, rtol=1e-3, atol=1e-4)


def test_scorecam_channel_cap_keeps_strongest(mini_xception, faces, monkeypatch):
    monkeypatch.setenv("EMONB_MAX_STEPS", "4")
    x = mini_xception.preprocess(faces[:1])
    capped = ScoreCAM(mini_xception, layer="conv2d_6")._attribute(x, np.array([3]))
    monkeypatch.delenv("EMONB_MAX_STEPS")
    full = ScoreCAM(mini_xception, layer="conv2d_6", max_channels=4)._attribute(x, np.array([3]))
    np.testing.assert_allclose(capped, full, atol=1e-6)


def test_gradcam_plus_plus_and_layercam_formulas(mini_xception, faces):
    x = mini_xception.preprocess(faces[:2])
    idx = np.array([3, 4])
    gc = GradCAMPlusPlus(mini_xception, layer="conv2d_6")
    acts, grads = gc.activations_and_gradients(x, idx)
    g2, g3 = grads**2, grads**3
    a = g2 / np.where(
        2 * g2 + acts.sum((1, 2), keepdims=True) * g3 != 0,
        2 * g2 + acts.sum((1, 2), keepdims=True) * g3,
        1,
    )
    a = a / np.where(a.sum((1, 2), keepdims=True) != 0, a.sum((1, 2), keepdims=True), 1)
    w = (a * np.maximum(grads, 0)).sum((1, 2))
    np.testing.assert_allclose(
        gc._attribute(x, idx),
        np.maximum(np.einsum("nhwk,nk->nhw", acts, w), 0),
        rtol=1e-5,
        atol=1e-7,
    )
    lc = LayerCAM(mini_xception, layer="conv2d_6")
    expected = np.maximum((np.maximum(grads, 0) * acts).sum(-1), 0)
    np.testing.assert_allclose(lc._attribute(x, idx), expected, rtol=1e-5, atol=1e-7)


def test_relu_rule_variants_differ_only_through_relus(mini_xception, faces):
    """Above conv2d_7 there is no ReLU, so the seed's guided/relu variants equal Grad-CAM
    there; at an earlier layer, ReLUs lie above it and the guided variant differs."""
    x = mini_xception.preprocess(faces[:4])
    idx = np.array([3, 3, 0, 6])
    np.testing.assert_allclose(
        GradCAMGuided(mini_xception)._attribute(x, idx),
        GradCAM(mini_xception)._attribute(x, idx),
        atol=1e-6,
    )
    a = GradCAMGuided(mini_xception, layer="conv2d_3")._attribute(x, idx)
    b = GradCAM(mini_xception, layer="conv2d_3")._attribute(x, idx)
    assert np.abs(a - b).max() > 1e-3
