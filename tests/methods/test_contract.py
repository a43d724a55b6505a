"""Every registered method honours the one contract, on real and on awkward models."""

import numpy as np
import pytest

from emonb.data.synthetic import make_synthetic_faces
from emonb.errors import EmonbError
from emonb.methods import METHODS, Explainer, get_method
from emonb.models.substitutions import batchnorm_folds

NAMES = sorted(METHODS)
#: The iterative methods' settings, given explicitly (small, for speed).
SETTINGS = {"smoothgrad": {"samples": 4}, "squaregrad": {"samples": 4}, "vargrad": {"samples": 4},
            "integrated_gradients": {"steps": 4}, "scorecam": {"max_channels": 4},
            "ablationcam": {"max_channels": 4}, "rise": {"masks": 100},
            "au_shap": {"coalitions": 40}}  # fmt: skip
#: Methods that need a face in the image (the action-unit regions come from its mesh).
NEEDS_FACES = frozenset({"au_shap"})
#: Methods whose map ignores the target class (documented caveats).
CLASS_AGNOSTIC = frozenset({"activation", "eigencam"})
#: Methods whose map is blank for some faces at the default layer (separable_conv2d_8, its
#: signed output before BatchNorm) because the channel-weighted sum is nowhere positive
#: there: Grad-CAM++ (10% of 300 FER-2013 PublicTest faces, 4 of these 16).
SIGNED_LAYER_BLANKS = frozenset({"gradcam_plus_plus"})


@pytest.fixture(scope="module")
def faces():
    return make_synthetic_faces(n=16, seed=3).images


@pytest.mark.parametrize("name", NAMES)
def test_contract_on_mini_xception(name, mini_xception, faces, unchanged):
    check = unchanged(mini_xception.model)
    explainer = METHODS[name](mini_xception, **SETTINGS.get(name, {}))
    assert isinstance(explainer, Explainer) and explainer.name == name
    maps = explainer.explain(faces, "predicted")
    assert maps.shape == (16, 64, 64) and maps.dtype == np.float32
    assert np.isfinite(maps).all()
    peak = maps.reshape(16, -1).max(axis=1)
    if name in SIGNED_LAYER_BLANKS:  # a blank map is the formula's, not a bug: check it
        x = mini_xception.preprocess(faces[peak == 0])
        idx = explainer.runner.targets("predicted", x)
        acts, grads = explainer.activations_and_gradients(x, idx)
        w = explainer.weights(acts, grads, x, idx)
        assert len(x) and (np.einsum("nhwk,nk->nhw", acts, w) <= 0).all()
        peak = peak[peak > 0]
    assert (peak == 1.0).sum() >= max(len(peak) - 2, 12), "maps should not be blank"
    np.testing.assert_array_equal(explainer.explain(faces, "predicted"), maps)  # deterministic
    i = 5 if maps[5].max() > 0 else int(np.flatnonzero(maps.reshape(16, -1).max(axis=1))[0])
    x = mini_xception.preprocess(faces[i : i + 1])
    single = explainer.explain(faces[i : i + 1], int(explainer.runner.predict(x)[0]))
    # oneDNN picks batch-size-dependent kernels, so float32 rounding differs slightly (and
    # min-max normalisation spreads a change of the maximum over the map): same map, not bitwise
    diff = np.abs(single[0] - maps[i])
    corr = np.corrcoef(single[0].ravel(), maps[i].ravel())[0, 1]
    assert diff.max() < 1e-2 and corr > 0.9999, (diff.max(), corr)
    # the target is honoured: another class gives another map (activation maps and
    # Eigen-CAM ignore it)
    other = explainer.explain(faces[:4], 0)
    changed = np.abs(explainer.explain(faces[:4], 3) - other).max()
    assert changed == 0.0 if name in CLASS_AGNOSTIC else changed > 1e-2, changed
    check()
    doc = type(explainer).__doc__ or ""
    assert "References" in doc, f"{name} lacks a References line"
    if "guided" in name or name == "deconvnet":
        assert "Adebayo" in doc, f"{name} must carry the sanity-check caveat"


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kind", ["sequential_no_input", "nested"])
def test_methods_on_awkward_models(name, kind, toy_models, unchanged):
    model = toy_models[kind]()
    check = unchanged(model)
    images = np.random.default_rng(0).integers(0, 256, (3, 20, 20), dtype=np.uint8)
    explainer = METHODS[name](model, **SETTINGS.get(name, {}))
    if name in NEEDS_FACES:  # random pixels hold no face to mesh: every map left empty
        maps = explainer.explain(images, [0, "happy", "predicted"])
        assert maps.shape == (3, 20, 20) and not maps.any() and explainer.last_rejected == 3
        check()
        return
    maps = explainer.explain(images, [0, "happy", "predicted"])
    assert maps.shape == (3, 20, 20) and maps.dtype == np.float32
    assert (maps.reshape(3, -1).max(axis=1) == 1.0).all(), "blank map on a toy model"
    x = explainer.net.preprocess(images)
    same = explainer.explain_inputs(x, [0, 3, int(explainer.runner.predict(x)[2])])
    np.testing.assert_array_equal(same, maps)  # "happy" is class 3
    check()


def test_targets_and_errors(mini_xception, faces):
    grad = get_method("gradcam")(mini_xception)
    by_name = grad.explain(faces[:2], "surprise")
    np.testing.assert_array_equal(by_name, grad.explain(faces[:2], 5))
    np.testing.assert_array_equal(by_name, grad.explain(faces[:2], ["surprise", 5]))
    with pytest.raises(EmonbError, match="unknown class 'joy'.*angry, disgust"):
        grad.explain(faces[:1], "joy")
    with pytest.raises(EmonbError, match="out of range 0..6"):
        grad.explain(faces[:1], 9)
    with pytest.raises(EmonbError, match="got 3 targets for 2 images"):
        grad.explain(faces[:2], [1, 2, 3])
    with pytest.raises(EmonbError, match="unknown method 'nope'; choose one of: saliency"):
        get_method("nope")
    with pytest.raises(EmonbError, match="valid names: conv2d_1"):
        get_method("gradcam")(mini_xception, layer="no_layer")
    with pytest.warns(UserWarning, match="softmax"):
        get_method("saliency")(mini_xception, score="probability")


def test_default_layer_is_the_models_cam_layer(mini_xception):
    """Every method that reads a layer defaults to the one recorded with the model."""
    for name, cls in METHODS.items():
        if cls.uses_layer:
            assert cls(mini_xception, **SETTINGS.get(name, {})).layer == "separable_conv2d_8", name
    assert get_method("layercam")(mini_xception, layer="conv2d_3").layer == "conv2d_3"


def test_batchnorm_folding_is_the_same_function(mini_xception, faces):
    """Every conv -> BatchNorm pair of the mini-Xception is folded for speed, except a layer
    whose own output a method reads; maps agree with the unfolded model to float rounding."""
    folds = batchnorm_folds(mini_xception.model)
    assert (
        len(folds) == 14
        and folds["conv2d_1"] == "batch_normalization_1"
        and "conv2d_7" not in folds
    )
    for name in ("saliency", "guided_backprop", "gradcam", "scorecam"):
        fast = METHODS[name](mini_xception).explain(faces, 3)
        slow = METHODS[name](mini_xception, fold_batchnorm=False).explain(faces, 3)
        # rounding differs, and at a ReLU kink a gradient can flip locally: same maps, not bitwise
        corr = np.corrcoef(fast.ravel(), slow.ravel())[0, 1]
        assert np.abs(fast - slow).max() < 1e-2 and corr > 0.9999, (
            name,
            np.abs(fast - slow).max(),
            corr,
        )
    # a CAM at a folded conv reads that conv's own (pre-BatchNorm) output
    layer = METHODS["layercam"](mini_xception, layer="conv2d_6")
    unfolded = METHODS["layercam"](mini_xception, layer="conv2d_6", fold_batchnorm=False)
    x = mini_xception.preprocess(faces[:2])
    a, _ = layer.activations_and_gradients(x, np.array([3, 3]))
    b, _ = unfolded.activations_and_gradients(x, np.array([3, 3]))
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_runner_probabilities_and_preprocessed_inputs(mini_xception, faces):
    grad = get_method("gradcam")(mini_xception)  # its runner folds BatchNorm
    x = mini_xception.preprocess(faces)
    reference = mini_xception.model(x, training=False).numpy()
    np.testing.assert_allclose(grad.runner.probabilities(x), reference, atol=1e-5)
    np.testing.assert_array_equal(grad.runner.predict(x), reference.argmax(axis=1))
    np.testing.assert_array_equal(grad.explain_inputs(x, 3), grad.explain(faces, 3))


@pytest.mark.parametrize(
    ("method", "kwargs"), [("saliency", {}), ("gradcam", {"layer": "conv2d_7"})]
)
def test_explain_unscaled_minmax_scaled_is_explain(mini_xception, astronaut, method, kwargs):
    from emonb.arrays import minmax
    from emonb.methods import METHODS

    explainer = METHODS[method](mini_xception, **kwargs)
    raw = explainer.explain_unscaled([astronaut] * 2, [3, 0])
    assert raw.shape == (2, *mini_xception.spec.input_size) and raw.min() >= 0
    np.testing.assert_allclose(minmax(raw), explainer.explain([astronaut] * 2, [3, 0]), atol=1e-5)
