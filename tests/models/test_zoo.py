import json

import numpy as np
import pytest

from emonb._tf import keras
from emonb.errors import EmonbError
from emonb.models.preprocessing import ModelSpec
from emonb.models.runner import predict_proba
from emonb.models.zoo import EmotionModel, as_emotion_model, load_model


def test_mini_xception(mini_xception, astronaut):
    net = mini_xception
    assert net.spec.input_size == (64, 64) and net.spec.channels == 1
    assert net.spec.preprocessing == "symmetric"
    assert net.class_names == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    assert len(net.conv_layers()) == 15 and net.conv_layers()[-1] == "conv2d_7"
    assert isinstance(net.model, keras.Model)
    proba = predict_proba(net, astronaut)
    assert proba.shape == (1, 7)
    np.testing.assert_allclose(proba.sum(), 1.0, rtol=1e-5)


def test_sequential_saved_without_input_loads(tmp_path, toy_models):
    model = toy_models["sequential_no_input"]()
    path = tmp_path / "seq.keras"
    model.save(path)
    net = load_model(path)
    assert net.spec.input_size == (20, 20) and net.spec.preprocessing == "unit"
    assert net.conv_layers() == ["c1", "c2"]
    face = np.random.default_rng(0).integers(0, 256, (48, 48, 3), dtype=np.uint8)
    expected = model(net.preprocess(face)).numpy()
    np.testing.assert_allclose(predict_proba(net, face), expected, rtol=1e-5, atol=1e-6)


def test_nested_saved_model_and_sidecar(tmp_path, toy_models):
    model = toy_models["nested"]()
    path = tmp_path / "nested.keras"
    model.save(path)
    (tmp_path / "nested.keras.emonb.json").write_text(json.dumps({"preprocessing": "symmetric"}))
    net = load_model(path)
    assert net.spec.preprocessing == "symmetric"
    assert net.conv_layers() == ["inner/ic1", "block/bc1"]
    face = np.random.default_rng(1).integers(0, 256, (20, 20), dtype=np.uint8)
    x = (face[None, :, :, None] / 255.0 - 0.5) * 2  # "symmetric": [-1, 1]
    np.testing.assert_allclose(predict_proba(net, face), model.predict(x, verbose=0), atol=1e-5)
    assert load_model(path, preprocessing="none").spec.preprocessing == "none"


def test_logits_get_softmax(tmp_path):
    inp = keras.Input((8, 8, 1))
    dense = keras.layers.Dense(7)
    out = dense(keras.layers.GlobalAveragePooling2D()(inp))
    dense.set_weights([np.zeros((1, 7), np.float32), np.log(np.arange(1, 8, dtype=np.float32))])
    path = tmp_path / "logits.keras"
    keras.Model(inp, out).save(path)
    p = predict_proba(load_model(path), np.full((8, 8), 100, np.uint8))
    # logits log(1..7): softmax (1..7) / 28
    np.testing.assert_allclose(p, [np.arange(1, 8) / 28], rtol=1e-5)


def test_as_emotion_model():
    inp = keras.Input((9, 7, 3))
    model = keras.Model(inp, keras.layers.Dense(7)(keras.layers.Flatten()(inp)))
    net = as_emotion_model(model)
    assert net.model is model and net.spec.input_size == (9, 7) and net.spec.channels == 3
    assert net.spec.preprocessing == "unit" and net.name == model.name
    wrapped = EmotionModel(model, ModelSpec(input_size=(9, 7), channels=3), "x")
    assert as_emotion_model(wrapped) is wrapped
    with pytest.raises(TypeError, match="expected an EmotionModel or a keras.Model, got str"):
        as_emotion_model("mini-xception")


def test_bad_model_inputs(tmp_path):
    with pytest.raises(EmonbError, match="no such model file.*mini-xception"):
        load_model(tmp_path / "missing.keras")
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a model")
    with pytest.raises(EmonbError, match="could not load a Keras model"):
        load_model(bad)
    inp = keras.Input((8, 8, 1))
    out = keras.layers.Dense(3)(keras.layers.Flatten()(inp))
    three = tmp_path / "three.keras"
    keras.Model(inp, out).save(three)
    with pytest.raises(EmonbError, match="3 outputs; pass class_names"):
        load_model(three)
    assert load_model(three, class_names=("a", "b", "c")).class_names == ("a", "b", "c")
