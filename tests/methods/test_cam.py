"""CAM family against small references, batch of one: the Keras-example Grad-CAM, Grad-CAM++
and Layer-CAM written from their papers' formulas, a naive Score-CAM loop, and closed forms
on a global-average-pooled model."""

import numpy as np
import pytest

from emonb._tf import keras, tf
from emonb.arrays import minmax
from emonb.data.synthetic import make_synthetic_faces
from emonb.methods import (
    CAM,
    GradCAM,
    GradCAMGuided,
    GradCAMPlusPlus,
    GuidedGradCAM,
    LayerCAM,
    ScoreCAM,
)

LOGITS = "global_average_pooling2d_1"  # the mini-Xception's class scores before the softmax


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


def acts_and_grads(model, image, layer, cls):
    """A^k and dS^c/dA^k (h, w, K) of one image from a Keras sub-model and a GradientTape,
    S^c the logit (as in the Keras example, independent of emonb's runner)."""
    sub = keras.Model(model.inputs, [model.get_layer(layer).output, model.get_layer(LOGITS).output])
    with tf.GradientTape() as tape:
        acts, logits = sub(image[None])
        score = logits[0, cls]
    return acts[0].numpy().astype(np.float64), tape.gradient(score, acts)[0].numpy().astype(
        np.float64
    )


def paper_gradcam_plus_plus(acts, grads):
    """Grad-CAM++ of one image (Chattopadhay et al., WACV 2018), loop by loop.

    With Y^c = exp(S^c) and S^c piecewise linear in A, the derivatives of Y^c are
    exp(S^c) g, exp(S^c) g^2 and exp(S^c) g^3 (g = dS^c/dA^k_ij), so the paper's

        alpha^kc_ij = d2Y / (2 d2Y + sum_ab A^k_ab d3Y) = g^2 / (2 g^2 + sum_ab A^k_ab g^3)
        w^c_k = sum_ij alpha^kc_ij relu(dY / dA^k_ij),   L^c = relu(sum_k w^c_k A^k)

    (exp(S^c) cancels in alpha and is one positive factor per image in w). The alphas of each
    map are normalised to sum 1, as in the authors' released code and tf-keras-vis.
    """
    h, w, k_count = acts.shape
    weights = np.zeros(k_count)
    for k in range(k_count):
        total = acts[:, :, k].sum()
        alpha = np.zeros((h, w))
        for i in range(h):
            for j in range(w):
                g = grads[i, j, k]
                denom = 2 * g**2 + total * g**3
                alpha[i, j] = g**2 / denom if denom != 0 else 0.0
        if alpha.sum() != 0:
            alpha /= alpha.sum()
        weights[k] = sum(alpha[i, j] * max(grads[i, j, k], 0.0) for i in range(h) for j in range(w))
    cam = sum(weights[k] * acts[:, :, k] for k in range(k_count))
    return np.maximum(cam, 0.0)


def paper_layercam(acts, grads):
    """Layer-CAM of one image (Jiang et al., IEEE TIP 2021, eqs. 4-5): every location of every
    map weighted by its own positive gradient, M^c = relu(sum_k relu(g^kc_ij) A^k_ij)."""
    h, w, k_count = acts.shape
    cam = np.zeros((h, w))
    for i in range(h):
        for j in range(w):
            cam[i, j] = sum(max(grads[i, j, k], 0.0) * acts[i, j, k] for k in range(k_count))
    return np.maximum(cam, 0.0)


def _scaled(m):
    return m / m.max() if m.max() > 0 else m


@pytest.mark.parametrize("layer", ["conv2d_7", "conv2d_6", "add_3"])
def test_gradcam_matches_keras_example(mini_xception, faces, layer):
    x = mini_xception.preprocess(faces)
    explainer = GradCAM(mini_xception, layer=layer)
    for i, cls in [(0, 3), (1, 0), (2, 6)]:
        ref = keras_example_gradcam(mini_xception.model, x[i : i + 1], layer, LOGITS, cls)
        raw = explainer._attribute(x[i : i + 1], np.array([cls]))[0]
        np.testing.assert_allclose(_scaled(raw), np.nan_to_num(ref), atol=1e-4)


@pytest.mark.parametrize(
    ("method", "layer", "cls", "rows"),
    [("gradcam_plus_plus", "conv2d_6", 3, slice(0, 2)), ("gradcam_plus_plus", "conv2d_6", 0, slice(0, 2)),
     ("gradcam_plus_plus", "add_2", 4, slice(0, 2)), ("layercam", "conv2d_6", 3, slice(2, 4)),
     ("layercam", "conv2d_3", 5, slice(2, 4))],
)  # fmt: skip
def test_cams_match_the_papers(mini_xception, faces, method, layer, cls, rows):
    cls_, oracle = {"gradcam_plus_plus": (GradCAMPlusPlus, paper_gradcam_plus_plus),
                    "layercam": (LayerCAM, paper_layercam)}[method]  # fmt: skip
    x = mini_xception.preprocess(faces[rows])
    explainer = cls_(mini_xception, layer=layer)
    for i in range(len(x)):
        ref = oracle(*acts_and_grads(mini_xception.model, x[i], layer, cls))
        assert ref.max() > 0
        ours = explainer._attribute(x[i : i + 1], np.array([cls]))[0]
        np.testing.assert_allclose(_scaled(ours), _scaled(ref), atol=1e-4)


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
        minmax(GradCAM(mini_xception, layer="conv2d_7")._attribute(x, idx)), minmax(expected),
        atol=1e-4,
    )


def _gap_dense_model():
    keras.utils.set_random_seed(0)
    inp = keras.Input((12, 12, 1))
    feats = keras.layers.Conv2D(5, 3, activation="relu", name="feats")(inp)
    out = keras.layers.Dense(7, activation="softmax", name="head")(
        keras.layers.GlobalAveragePooling2D()(feats)
    )
    return keras.Model(inp, out), keras.Model(inp, feats)


def test_cams_of_a_gap_dense_model_in_closed_form():
    """Score = sum_k W[k, c] mean(A_k) + b_c, so dS/dA_k = W[k, c] / (h w) everywhere:
    CAM is sum_k W[k, c] A_k (Zhou et al.), Grad-CAM the same up to the factor 1 / (h w);
    Grad-CAM++'s alphas are uniform, so its weights are relu(W[k, c]) / (h w); Layer-CAM
    weighs each A_k by relu(W[k, c]) / (h w) at every location."""
    model, features = _gap_dense_model()
    x = np.random.default_rng(0).random((2, 12, 12, 1)).astype(np.float32)
    idx = np.array([4, 1])
    acts = features(x).numpy()  # (2, 10, 10, 5)
    w = model.get_layer("head").get_weights()[0][:, idx].T  # (2, 5): W[k, c] per image
    assert (w > 0).any() and (w < 0).any()  # both signs, so relu(W) differs from W
    cam = np.maximum(np.einsum("nhwk,nk->nhw", acts, w), 0)
    positive = np.maximum(np.einsum("nhwk,nk->nhw", acts, np.maximum(w, 0)), 0)
    np.testing.assert_allclose(CAM(model)._attribute(x, idx), cam, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(GradCAM(model, layer="feats")._attribute(x, idx), cam / 100,
                               rtol=1e-4, atol=1e-7)  # fmt: skip
    np.testing.assert_allclose(GradCAMPlusPlus(model, layer="feats")._attribute(x, idx),
                               positive / 100, rtol=1e-4, atol=1e-7)  # fmt: skip
    np.testing.assert_allclose(LayerCAM(model, layer="feats")._attribute(x, idx), positive / 100,
                               rtol=1e-4, atol=1e-7)  # fmt: skip


def naive_scorecam(model, x, layer, cls, channels=None):
    """Score-CAM of one image, one channel at a time (Wang et al. 2020, Alg. 1), over
    ``channels`` (default: all); the masked images go through the model in one call."""
    feat = keras.Model(model.inputs, model.get_layer(layer).output)
    logits = keras.Model(model.inputs, model.get_layer(LOGITS).output)
    acts = feat(x).numpy()[0]
    H, W = x.shape[1:3]
    channels = range(acts.shape[-1]) if channels is None else channels
    masked = []
    for k in channels:
        up = tf.image.resize(acts[None, :, :, k : k + 1], (H, W), method="bilinear").numpy()
        up = up[0, :, :, 0]
        span = up.max() - up.min()
        mask = (up - up.min()) / span if span > 0 else np.zeros_like(up)
        masked.append(x[0] * mask[:, :, None])
    p = tf.nn.softmax(logits(np.stack(masked))).numpy()[:, cls]
    cam = sum(p_k * acts[:, :, k] for p_k, k in zip(p, channels, strict=True))
    return np.maximum(cam, 0)


def test_scorecam_matches_naive_loop_whatever_the_environment(mini_xception, faces, monkeypatch):
    monkeypatch.setenv("EMONB_QUICK", "1")  # settings are arguments: neither changes a thing
    monkeypatch.setenv("EMONB_MAX_STEPS", "2")
    x = mini_xception.preprocess(faces[:2])
    # max_channels=None: all 128 channels, in several chunks of 100 masked images
    explainer = ScoreCAM(mini_xception, layer="conv2d_6", max_channels=None, chunk=100)
    ours = explainer._attribute(x, np.array([3, 6]))
    for i, cls in enumerate([3, 6]):
        ref = naive_scorecam(mini_xception.model, x[i : i + 1], "conv2d_6", cls)
        np.testing.assert_allclose(ours[i], ref, rtol=1e-3, atol=1e-4)


def test_scorecam_channel_cap_keeps_the_strongest_channels(mini_xception, faces):
    x = mini_xception.preprocess(faces[:1])
    acts = keras.Model(mini_xception.model.inputs,
                       mini_xception.model.get_layer("conv2d_6").output)(x).numpy()  # fmt: skip
    strongest = np.argsort(-acts[0].mean(axis=(0, 1)))[:4]
    ours = ScoreCAM(mini_xception, layer="conv2d_6", max_channels=4)._attribute(x, np.array([3]))
    ref = naive_scorecam(mini_xception.model, x, "conv2d_6", 3, channels=strongest)
    np.testing.assert_allclose(ours[0], ref, rtol=1e-3, atol=1e-4)
    everything = ScoreCAM(mini_xception, layer="conv2d_6")._attribute(x, np.array([3]))
    assert np.abs(everything - ours).max() > 1e-3  # four channels are not all of them


def test_relu_rule_variants_differ_only_through_relus(mini_xception, faces):
    """Above conv2d_7 there is no ReLU, so the seed's guided/relu variants equal Grad-CAM
    there; at an earlier layer, ReLUs lie above it and the guided variant differs."""
    x = mini_xception.preprocess(faces[:4])
    idx = np.array([3, 3, 0, 6])
    np.testing.assert_allclose(
        GradCAMGuided(mini_xception, layer="conv2d_7")._attribute(x, idx),
        GradCAM(mini_xception, layer="conv2d_7")._attribute(x, idx),
        atol=1e-6,
    )
    a = GradCAMGuided(mini_xception, layer="conv2d_3")._attribute(x, idx)
    b = GradCAM(mini_xception, layer="conv2d_3")._attribute(x, idx)
    assert np.abs(a - b).max() > 1e-3


@pytest.mark.parametrize("method", [GradCAM, GradCAMPlusPlus, LayerCAM, ScoreCAM, CAM])
def test_predict_and_explain_is_probabilities_and_the_predicted_class_map(
        mini_xception, faces, method):  # fmt: skip
    """The video pipeline's step: one fused pass for the gradient CAMs, two otherwise; the
    same numbers as the two public calls."""
    e = method(mini_xception)
    x = mini_xception.preprocess(faces)
    proba, maps = e.predict_and_explain(x)
    want = e.runner.probabilities(x)
    np.testing.assert_allclose(proba, want, atol=1e-5)
    np.testing.assert_array_equal(proba.argmax(axis=1), want.argmax(axis=1))
    np.testing.assert_allclose(maps, e.explain_inputs(x, want.argmax(axis=1)), atol=1e-5)
    empty = e.predict_and_explain(x[:0])
    assert empty[0].shape == (0, 7) and empty[1].shape[0] == 0


@pytest.mark.parametrize("method", [GradCAM, LayerCAM, GuidedGradCAM])
def test_the_default_layer_gives_the_explicit_layers_maps(mini_xception, faces, method):
    """Unasked, a layered method reads the model's CAM layer (recorded for the
    mini-Xception): the same maps as naming it, and not conv2d_7's."""
    default = method(mini_xception)
    assert default.layer == mini_xception.recorded_cam_layer == "separable_conv2d_8"
    maps = default.explain(faces[:4], 3)
    np.testing.assert_array_equal(maps, method(mini_xception, layer="separable_conv2d_8")
                                  .explain(faces[:4], 3))  # fmt: skip
    assert np.abs(maps - method(mini_xception, layer="conv2d_7").explain(faces[:4], 3)).max() > 0.1


def test_the_default_layer_on_a_bare_model_is_the_rules(toy_models, faces):
    """A bare Keras model has no record: the rule's layer (c2, its last spatial conv; six
    channels for seven classes is no class head), the same maps as naming it."""
    import warnings

    from emonb.models.cam_layer import CamLayerNotice

    model = toy_models["sequential_no_input"]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CamLayerNotice)
        cam = GradCAM(model)
    assert cam.layer == "c2"
    np.testing.assert_array_equal(cam.explain(faces[:3], 0),
                                  GradCAM(model, layer="c2").explain(faces[:3], 0))  # fmt: skip
