"""XGrad-CAM, HiResCAM, Eigen-CAM, EigenGrad-CAM and Ablation-CAM against references written
from the papers' formulas (NumPy, batch of one, activations and gradients from a Keras
sub-model and a GradientTape, independent of emonb's runner), closed forms on
global-average-pooled models, and a naive one-channel-at-a-time ablation loop."""

import numpy as np
import pytest

from emonb._tf import keras, tf
from emonb.data.synthetic import make_synthetic_faces
from emonb.methods.cam import CAM
from emonb.methods.cam_variants import (
    AblationCAM,
    EigenCAM,
    EigenGradCAM,
    HiResCAM,
    XGradCAM,
    principal_projection,
)

LOGITS = "global_average_pooling2d_1"  # the mini-Xception's class scores before the softmax
VARIANTS = (XGradCAM, HiResCAM, EigenCAM, EigenGradCAM, AblationCAM)


@pytest.fixture(scope="module")
def faces():
    return make_synthetic_faces(n=8, seed=5).images


def acts_and_grads(model, image, layer, cls):
    """A^k and dS^c/dA^k (h, w, K) of one image from a Keras sub-model and a GradientTape,
    S^c the logit (as in the Keras Grad-CAM example, independent of emonb's runner)."""
    sub = keras.Model(model.inputs, [model.get_layer(layer).output, model.get_layer(LOGITS).output])
    with tf.GradientTape() as tape:
        acts, logits = sub(image[None])
        score = logits[0, cls]
    grads = tape.gradient(score, acts)
    return acts[0].numpy().astype(np.float64), grads[0].numpy().astype(np.float64)


# ---- the papers' formulas, one image, loop by loop ------------------------------------------
def paper_xgradcam(acts, grads):
    """XGrad-CAM (Fu et al., BMVC 2020, eq. 12): w_k = sum_ij A^k_ij / (sum_ab A^k_ab) *
    dS^c/dA^k_ij, M = relu(sum_k w_k A^k); a channel that sums to zero weighs 0."""
    h, w, k_count = acts.shape
    cam = np.zeros((h, w))
    for k in range(k_count):
        total = acts[:, :, k].sum()
        if total == 0:
            continue
        weight = sum(acts[i, j, k] / total * grads[i, j, k] for i in range(h) for j in range(w))
        cam += weight * acts[:, :, k]
    return np.maximum(cam, 0.0)


def paper_hirescam(acts, grads):
    """HiResCAM (Draelos & Carin 2020, eq. 4): M_ij = relu(sum_k dS^c/dA^k_ij A^k_ij)."""
    h, w, k_count = acts.shape
    cam = np.zeros((h, w))
    for i in range(h):
        for j in range(w):
            cam[i, j] = sum(grads[i, j, k] * acts[i, j, k] for k in range(k_count))
    return np.maximum(cam, 0.0)


def paper_eigen(maps):
    """Eigen-CAM (Muhammad & Yeasin, IJCNN 2020) of one (h, w, K) stack: positions centred,
    projected on the principal axis (here the top eigenvector of the K x K scatter matrix,
    not an SVD), signed to correlate positively with the channel sum, then relu."""
    h, w, k_count = maps.shape
    m = maps.reshape(h * w, k_count)
    m = m - m.mean(axis=0)
    _, vecs = np.linalg.eigh(m.T @ m)  # eigenvalues ascending
    proj = m @ vecs[:, -1]
    if np.corrcoef(proj, maps.sum(axis=-1).ravel())[0, 1] < 0:
        proj = -proj
    return np.maximum(proj.reshape(h, w), 0.0)


ORACLES = {
    "xgradcam": (XGradCAM, paper_xgradcam),
    "hirescam": (HiResCAM, paper_hirescam),
    "eigencam": (EigenCAM, lambda acts, grads: paper_eigen(acts)),
    "eigengradcam": (EigenGradCAM, lambda acts, grads: paper_eigen(grads * acts)),
}


@pytest.fixture(scope="module")
def explainer(mini_xception):
    """``explainer(cls, layer)``: one explainer per method and layer for this module (each
    compiles its own pass, the slow part of these tests)."""
    made = {}

    def get(cls, layer):
        if (cls, layer) not in made:
            made[cls, layer] = cls(mini_xception, layer=layer)
        return made[cls, layer]

    return get


@pytest.fixture(scope="module")
def reference(mini_xception, faces):
    """``reference(layer)``: A and dS/dA of faces 0, 1, 2 for classes 3, 0, 6 (cached)."""
    x = mini_xception.preprocess(faces[:3])
    made = {}

    def get(layer):
        if layer not in made:
            made[layer] = [acts_and_grads(mini_xception.model, x[i], layer, cls)
                           for i, cls in enumerate([3, 0, 6])]  # fmt: skip
        return x, np.array([3, 0, 6]), made[layer]

    return get


@pytest.mark.parametrize(
    ("method", "layer"),
    [("xgradcam", "activation_6"), ("hirescam", "conv2d_6"), ("eigencam", "conv2d_6"),
     ("eigencam", "activation_6"), ("eigengradcam", "activation_6")],
)  # fmt: skip
def test_cams_match_the_papers(mini_xception, explainer, reference, unchanged, method, layer):
    """Batched code (three images, three classes) against the one-image formulas."""
    cls_, oracle = ORACLES[method]
    x, idx, acts_grads = reference(layer)
    check = unchanged(mini_xception.model)
    ours = explainer(cls_, layer)._attribute(x, idx)
    check()
    for i in range(len(x)):
        ref = oracle(*acts_grads[i])
        assert ref.max() > 0 and (ref == 0).any()  # a real map, with a clipped part
        np.testing.assert_allclose(ours[i], ref, rtol=1e-3, atol=1e-4 * ref.max())


def test_principal_projection_sign_by_hand():
    """Rank one, A_ijk = s_ij v_k: the centred matrix is (s - mean s) v^T, its first right
    singular vector +-v/|v|, the projection +-(s - mean s)|v|; the channel sum is
    s * sum(v), so the sign must follow sum(v) (mixed-sign v included)."""
    s = np.arange(12, dtype=np.float64).reshape(3, 4) ** 1.5
    centred = s - s.mean()
    for v in ([1.0, 2.0, 0.5], [3.0, -1.0, 0.5], [-2.0, 1.0, -0.5], [-1.0, -1.0, -3.0]):
        v = np.asarray(v)
        maps = (s[:, :, None] * v)[None]
        expected = np.sign(v.sum()) * centred * np.linalg.norm(v)
        np.testing.assert_allclose(principal_projection(maps)[0], expected, atol=1e-9)
        np.testing.assert_allclose(principal_projection(-maps)[0], -expected, atol=1e-9)


def test_eigencam_ignores_targets_and_eigengradcam_does_not(explainer, faces):
    x = faces[:4]
    eigen = explainer(EigenCAM, "activation_6")
    a, b = eigen.explain(x, 0), eigen.explain(x, ["happy", "sad", 6, "predicted"])
    np.testing.assert_array_equal(a, b)
    grad = explainer(EigenGradCAM, "activation_6")
    assert np.abs(grad.explain(x, 0) - grad.explain(x, 3)).max() > 1e-2


# ---- closed forms on a global-average-pooled model ------------------------------------------
def _gap_dense_model():
    keras.utils.set_random_seed(0)
    inp = keras.Input((12, 12, 1))
    feats = keras.layers.Conv2D(5, 3, activation="relu", name="feats")(inp)
    out = keras.layers.Dense(7, activation="softmax", name="head")(
        keras.layers.GlobalAveragePooling2D()(feats)
    )
    model = keras.Model(inp, out)
    kernel = model.get_layer("head").get_weights()[0]
    model.get_layer("head").set_weights([kernel, np.linspace(-0.3, 0.3, 7)])  # non-zero biases
    return model, keras.Model(inp, feats)


def test_gap_dense_closed_forms(unchanged):
    """S_c = sum_k W[k, c] mean(A_k) + b_c, so dS_c/dA_k = W[k, c] / (h w) everywhere:
    HiResCAM is CAM / (h w) (Draelos & Carin's theorem), and zeroing channel k drops S_c by
    W[k, c] mean(A_k), so Ablation-CAM's weights are W[k, c] mean(A_k) / S_c."""
    model, features = _gap_dense_model()
    check = unchanged(model)
    x = np.random.default_rng(0).random((3, 12, 12, 1)).astype(np.float32)
    idx = np.array([4, 1, 2])
    acts = features(x).numpy().astype(np.float64)  # (3, 10, 10, 5)
    kernel, bias = (v.astype(np.float64) for v in model.get_layer("head").get_weights())
    w = kernel[:, idx].T  # (3, 5): W[k, c] per image
    assert (w > 0).any() and (w < 0).any()
    cam = np.maximum(np.einsum("nhwk,nk->nhw", acts, w), 0)
    assert cam.max() > 0 and (cam == 0).any()
    hires = HiResCAM(model, layer="feats")
    np.testing.assert_allclose(hires._attribute(x, idx), cam / 100, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(hires.explain_inputs(x, idx), CAM(model).explain_inputs(x, idx),
                               atol=1e-5)  # fmt: skip

    drops = w * acts.mean(axis=(1, 2))  # (3, 5)
    logit = drops.sum(axis=1) + bias[idx]
    ablation = np.maximum(np.einsum("nhwk,nk->nhw", acts, drops / logit[:, None]), 0)
    np.testing.assert_allclose(AblationCAM(model, layer="feats", chunk=4)._attribute(x, idx),
                               ablation, rtol=1e-4, atol=1e-6)  # fmt: skip
    check()


# ---- Ablation-CAM on the mini-Xception --------------------------------------------------------
def test_ablationcam_at_the_class_channels_is_cam(mini_xception, faces, unchanged):
    """conv2d_7's 7 channels are averaged into the 7 logits: zeroing channel c takes logit c
    to 0 and leaves it unchanged for every other channel, so w = one-hot(c) whatever the
    sign of the logit, and the map is CAM's."""
    x = mini_xception.preprocess(faces)
    idx = np.array([0, 1, 2, 3, 4, 5, 6, 3])
    logits = keras.Model(mini_xception.model.inputs,
                         mini_xception.model.get_layer(LOGITS).output)(x).numpy()  # fmt: skip
    assert (logits[np.arange(8), idx] < 0).any() and (logits[np.arange(8), idx] > 0).any()
    check = unchanged(mini_xception.model)
    ablation = AblationCAM(mini_xception, layer="conv2d_7", chunk=20)  # 8 x (7 + 1) rows, 4 chunks
    assert ablation.layer == "conv2d_7"
    acts, grads = ablation.activations_and_gradients(x, idx)
    np.testing.assert_allclose(ablation.weights(acts, grads, x, idx), np.eye(7)[idx], atol=1e-5)
    np.testing.assert_allclose(ablation._attribute(x, idx), CAM(mini_xception)._attribute(x, idx),
                               rtol=1e-4, atol=1e-5)  # fmt: skip
    check()


def naive_ablationcam(model, image, cls, channels):
    """Ablation-CAM of one image at the mini-Xception's conv2d_6 (Desai & Ramaswamy 2020,
    eq. 3), zeroing one channel at a time: the conv's output and the other branch come from
    a Keras sub-model, and the layers above (batch_normalization_12, add_4 with the max-pool
    branch, conv2d_7, average pooling = logits) are called by hand."""
    layer = model.get_layer
    sub = keras.Model(model.inputs, [layer("conv2d_6").output, layer("max_pooling2d_4").output])
    acts, pool = (t.numpy() for t in sub(image[None]))

    def logit(a):
        z = layer("add_4")([pool, layer("batch_normalization_12")(a, training=False)])
        return float(tf.reduce_mean(layer("conv2d_7")(z), axis=(1, 2))[0, cls])

    y = logit(acts)
    cam = np.zeros(acts.shape[1:3])
    for k in channels:
        ablated = acts.copy()
        ablated[..., k] = 0.0
        cam += (y - logit(ablated)) / y * acts[0, :, :, k].astype(np.float64)
    return np.maximum(cam, 0.0)


def test_ablationcam_matches_naive_loop(mini_xception, faces, unchanged):
    """At conv2d_6 (a convolution otherwise folded into its BatchNorm): all 128 channels for
    one image, and the 6 with the largest mean activation (max_channels) for two."""
    model = mini_xception.model
    x = mini_xception.preprocess(faces[:2])
    idx = np.array([3, 6])
    check = unchanged(model)
    full = AblationCAM(mini_xception, layer="conv2d_6", chunk=100)._attribute(x[:1], idx[:1])
    capped = AblationCAM(mini_xception, layer="conv2d_6", max_channels=6)._attribute(x, idx)
    check()
    ref = naive_ablationcam(model, x[0], idx[0], range(128))
    assert ref.max() > 0
    np.testing.assert_allclose(full[0], ref, rtol=1e-3, atol=1e-4 * ref.max())
    acts = keras.Model(model.inputs, model.get_layer("conv2d_6").output)(x).numpy()
    for i in range(2):
        strongest = np.argsort(-acts[i].mean(axis=(0, 1)))[:6]
        ref = naive_ablationcam(model, x[i], idx[i], strongest)
        assert ref.max() > 0
        np.testing.assert_allclose(capped[i], ref, rtol=1e-3, atol=1e-4 * ref.max())
    assert np.abs(capped[0] - full[0]).max() > 1e-3  # six channels are not all of them


# ---- every variant on toy models ------------------------------------------------------------
@pytest.mark.parametrize("kind", ["sequential_no_input", "nested"])
@pytest.mark.parametrize("method", VARIANTS, ids=lambda c: c.name)
def test_variants_on_toy_models_batch_and_leave_them_unchanged(toy_models, unchanged, kind, method):
    model = toy_models[kind]()
    check = unchanged(model)
    x = np.random.default_rng(1).normal(size=(3, 20, 20, 1)).astype(np.float32)
    explainer = method(model, batch_size=3)
    raw = explainer._attribute(x, np.array([0, 3, 6]))
    check()
    assert raw.shape[0] == 3 and raw.max() > 0
    for i, cls in enumerate([0, 3, 6]):  # a batch is its images explained one by one
        one = explainer._attribute(x[i : i + 1], np.array([cls]))[0]
        np.testing.assert_allclose(raw[i], one, rtol=1e-4, atol=1e-6 * raw.max())


def test_settings_are_checked(mini_xception):
    from emonb.errors import EmonbError

    with pytest.raises(EmonbError, match="max_channels must be an integer >= 1"):
        AblationCAM(mini_xception, max_channels=0)
    with pytest.raises(EmonbError, match="chunk must be an integer >= 1"):
        AblationCAM(mini_xception, chunk=2.5)
    assert AblationCAM(mini_xception, layer="conv2d_7").forward_passes == 9  # A, y_c, 7 ablations
    assert AblationCAM(mini_xception).forward_passes == 130  # separable_conv2d_8: 128 channels
    assert AblationCAM(mini_xception, layer="conv2d_6", max_channels=10).forward_passes == 12
