"""Stand-ins for one run: ReLU backward rules, BatchNorm folding, the softmax bypass —
each against a hand-computed value."""

import numpy as np
import pytest

from emonb._tf import keras, tf
from emonb.errors import EmonbError
from emonb.models import substitutions as S
from tests.models.helpers import bn_model, dense_head_case


def test_modified_relu_backward_rules_by_hand():
    x = tf.constant([-2.0, -0.5, 0.0, 0.5, 3.0])
    dy = tf.constant([1.0, -1.0, 1.0, -1.0, 2.0])
    expected = {
        "guided": [0.0, 0.0, 0.0, 0.0, 2.0],  # positive dy, where x > 0
        "relu": [1.0, 0.0, 1.0, 0.0, 2.0],  # positive dy, anywhere (deconvnet)
    }
    for rule, want in expected.items():
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = S.modified_relu(rule)(x)
            loss = tf.reduce_sum(y * dy)
        np.testing.assert_array_equal(y.numpy(), [0.0, 0.0, 0.0, 0.5, 3.0])
        np.testing.assert_array_equal(tape.gradient(loss, x).numpy(), want, err_msg=rule)


def test_folded_copy_by_hand():
    inp = keras.Input((2, 2, 1))
    conv = keras.layers.Conv2D(1, 1)
    bn = keras.layers.BatchNormalization(epsilon=1e-3)
    keras.Model(inp, bn(conv(inp)))
    conv.set_weights([np.full((1, 1, 1, 1), 2.0), np.array([1.0])])
    # gamma 3, beta 0.5, mean 1, var 4 - eps: bn(conv(x)) = 3 * (2x + 1 - 1) / 2 + 0.5
    bn.set_weights([np.array([3.0]), np.array([0.5]), np.array([1.0]), np.array([4.0 - 1e-3])])
    folded = S.folded_copy(conv, bn, (None, 2, 2, 1))
    kernel, bias = folded.get_weights()
    np.testing.assert_allclose(kernel.ravel(), [3.0], rtol=1e-6)
    np.testing.assert_allclose(bias, [0.5], rtol=1e-6)
    x = np.arange(4, dtype=np.float32).reshape(1, 2, 2, 1)
    np.testing.assert_allclose(folded(x), 3 * x + 0.5, rtol=1e-6)
    np.testing.assert_array_equal(conv.get_weights()[0].ravel(), [2.0])  # original untouched


def test_batchnorm_folds_which_pairs():
    assert S.batchnorm_folds(bn_model()) == {"conv": "bn", "sep": "bn2"}
    inp = keras.Input((8, 8, 2))
    a = keras.layers.Conv2D(2, 3, activation="relu", name="relu_conv")(inp)
    a = keras.layers.BatchNormalization(name="bn_a")(a)  # conv is not linear
    b = keras.layers.Conv2D(2, 3, name="shared")(inp)
    b = keras.layers.Add(name="add")([b, keras.layers.BatchNormalization(name="bn_b")(b)])
    d = keras.layers.DepthwiseConv2D(3, name="dw")(inp)
    d = keras.layers.BatchNormalization(name="bn_d")(d)  # depthwise: not folded
    out = keras.layers.Concatenate()([a, b, d])
    assert S.batchnorm_folds(keras.Model(inp, out)) == {}


@pytest.mark.parametrize(("kind", "dense"), [("sequential_no_input", "out"), ("nested", "head")])
def test_softmax_bypass_stand_ins(toy_models, kind, dense):
    model = toy_models[kind]()
    x, pooled, logits = dense_head_case(model, dense)
    np.testing.assert_array_equal(S.softmax_bypass(keras.layers.Softmax())(tf.constant(x)), x)
    stand_in = S.softmax_bypass(model.get_layer(dense))
    np.testing.assert_allclose(stand_in(tf.constant(pooled)), logits, rtol=1e-5, atol=1e-6)
    assert S.softmax_bypass(keras.layers.GlobalAveragePooling2D()) is None


def test_relu_rules_and_is_relu():
    assert [S.check_relu_rule(r) for r in S.RELU_RULES] == ["none", "relu", "guided"]
    with pytest.raises(EmonbError, match="unknown ReLU rule 'leaky'; choose one of none, relu"):
        S.check_relu_rule("leaky")
    assert S.is_relu(keras.activations.relu) and not S.is_relu(keras.activations.linear)
    assert not S.is_relu(None)
