"""Classification metrics and the evaluation of a model, against hand-computed numbers."""

import numpy as np
import pytest

from emonb._tf import keras
from emonb.config import CLASS_NAMES
from emonb.data.fer2013 import FaceDataset
from emonb.errors import EmonbError
from emonb.models.evaluate import Evaluation, classification_report, confusion_matrix, evaluate
from emonb.models.preprocessing import ModelSpec
from emonb.models.zoo import EmotionModel


def test_report_on_a_hand_checked_case():
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 0, 1, 1, 2, 2])
    rep = classification_report(y_true, y_pred, n_classes=3, class_names=["a", "b", "c"])
    assert rep["confusion_matrix"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert rep["accuracy"] == pytest.approx(4 / 6)
    a, b, c = (rep["per_class"][k] for k in "abc")
    assert (a["precision"], a["recall"], a["support"]) == (1.0, pytest.approx(2 / 3), 3)
    assert (b["precision"], b["recall"]) == (0.5, 0.5)
    assert (c["precision"], c["recall"]) == (0.5, 1.0)
    f1 = [0.8, 0.5, 2 / 3]
    assert [rep["per_class"][k]["f1"] for k in "abc"] == pytest.approx(f1)
    assert rep["macro_f1"] == pytest.approx(np.mean(f1))


def test_never_predicted_and_absent_classes():
    rep = classification_report(np.array([0, 0, 1]), np.array([0, 0, 0]), n_classes=3)
    assert rep["per_class"]["1"]["precision"] == 0.0 and rep["per_class"]["1"]["recall"] == 0.0
    assert rep["per_class"]["2"]["support"] == 0
    assert rep["macro_f1"] == pytest.approx((0.8 + 0.0) / 2)  # absent class 2 not averaged
    with pytest.raises(ValueError, match="differ in shape"):
        confusion_matrix(np.zeros(3, int), np.zeros(2, int), 3)


def test_confusion_matrix_counts_by_hand():
    cm = confusion_matrix(np.array([2, 0, 2, 1, 2]), np.array([2, 1, 0, 1, 2]), 4)
    np.testing.assert_array_equal(cm, [[0, 1, 0, 0], [0, 1, 0, 0], [1, 0, 2, 0], [0, 0, 0, 0]])


def test_perfect_and_always_wrong_predictions():
    y = np.array([0, 1, 2, 3, 4, 5, 6, 6, 3])
    perfect = classification_report(y, y)
    assert perfect["accuracy"] == 1.0 and perfect["macro_f1"] == 1.0
    assert perfect["per_class"]["sad"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0,
                                           "support": 1}  # fmt: skip
    wrong = classification_report(y, (y + 1) % 7)
    assert wrong["accuracy"] == 0.0 and wrong["macro_f1"] == 0.0
    assert wrong["confusion_matrix"][6][0] == 2 and wrong["confusion_matrix"][3][4] == 2


def _evaluation():
    proba = np.array(
        [[0.9, 0.1, 0.0], [0.2, 0.8, 0.0], [0.6, 0.3, 0.1], [0.1, 0.2, 0.7], [0.05, 0.9, 0.05]]
    )
    return Evaluation(model="m", data="d", split=None, labels=np.array([0, 0, 1, 2, 2]),
                      proba=proba, class_names=("a", "b", "c"))  # fmt: skip


def test_confident_mistakes_order_and_filters():
    ev = _evaluation()
    np.testing.assert_array_equal(ev.predicted, [0, 1, 0, 2, 1])
    np.testing.assert_array_equal(ev.confident_mistakes(), [4, 1, 2])  # 0.9, 0.8, 0.6
    np.testing.assert_array_equal(ev.confident_mistakes(1), [4])
    np.testing.assert_array_equal(ev.confident_mistakes(true="a"), [1])
    np.testing.assert_array_equal(ev.confident_mistakes(predicted="a"), [2])
    assert ev.accuracy == pytest.approx(2 / 5)
    np.testing.assert_allclose(ev.confusion(normalize=True).to_numpy(),
                               [[0.5, 0.5, 0.0], [1.0, 0.0, 0.0], [0.0, 0.5, 0.5]])  # fmt: skip
    np.testing.assert_array_equal(ev.confusion().to_numpy(), [[1, 1, 0], [1, 0, 0], [0, 1, 1]])
    table = ev.table()
    # precision a 1/2, b 0, c 1; recall a 1/2, b 0, c 1/2; F1 a 1/2, b 0, c 2/3
    np.testing.assert_allclose(table["precision"], [0.5, 0.0, 1.0, 0.5])
    np.testing.assert_allclose(table["recall"], [0.5, 0.0, 0.5, 1 / 3])
    np.testing.assert_allclose(table["f1"], [0.5, 0.0, 2 / 3, 7 / 18])
    assert table["support"].tolist() == [2, 1, 2, 5]
    assert ev.macro_f1 == pytest.approx(7 / 18)
    assert set(ev.to_json()) >= {"accuracy", "macro_f1", "per_class", "confusion_matrix",
                                 "model", "split"}  # fmt: skip


def _brightness_model(class_names=CLASS_NAMES) -> EmotionModel:
    """A 48x48 model whose logits depend on the mean grey level m in [0, 1] only:
    logits = (2 - 4m, 0, 0, 4m - 2, 0, 0, 0), so black faces are "angry", white "happy"."""
    inp = keras.Input((48, 48, 1))
    dense = keras.layers.Dense(7)
    model = keras.Model(inp, dense(keras.layers.GlobalAveragePooling2D()(inp)))
    kernel = np.zeros((1, 7), np.float32)
    kernel[0, [0, 3]] = [-4.0, 4.0]
    bias = np.zeros(7, np.float32)
    bias[[0, 3]] = [2.0, -2.0]
    dense.set_weights([kernel, bias])
    spec = ModelSpec(input_size=(48, 48), preprocessing="unit", class_names=class_names)
    return EmotionModel(model, spec, "brightness")


def _black_and_white_faces() -> FaceDataset:
    black, white = np.zeros((48, 48), np.uint8), np.full((48, 48), 255, np.uint8)
    images = np.stack([black, black, white, white, white, black, white, black])
    return FaceDataset(images=images, labels=np.array([0, 3, 3, 3, 0, 0, 0, 0]),
                       usage=np.array(["PublicTest"] * 6 + ["Training"] * 2),
                       source="hand-made")  # fmt: skip


def test_evaluate_a_tiny_model_by_hand():
    net, faces = _brightness_model(), _black_and_white_faces()
    ev = evaluate(net, faces, split="PublicTest")
    # black -> logits (2, 0, 0, -2, 0, 0, 0), white -> (-2, 0, 0, 2, 0, 0, 0)
    e = np.exp(1.0)
    black = np.array([e**2, 1, 1, e**-2, 1, 1, 1]) / (e**2 + e**-2 + 5)
    white = black[[3, 1, 2, 0, 4, 5, 6]]
    np.testing.assert_allclose(ev.proba, [black, black, white, white, white, black], rtol=1e-5)
    np.testing.assert_array_equal(ev.predicted, [0, 0, 3, 3, 3, 0])
    assert ev.accuracy == pytest.approx(4 / 6)
    rep = ev.report
    assert rep["confusion_matrix"][0] == [2, 0, 0, 1, 0, 0, 0]
    assert rep["confusion_matrix"][3] == [1, 0, 0, 2, 0, 0, 0]
    assert sum(map(sum, rep["confusion_matrix"])) == 6
    for name in ("angry", "happy"):  # 2 of 3 predicted right, 2 of 3 found
        assert rep["per_class"][name] == pytest.approx(
            {"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "support": 3}
        )
    assert rep["macro_f1"] == pytest.approx(2 / 3)  # over the two classes present
    np.testing.assert_array_equal(ev.confident_mistakes(), [1, 4])  # equal confidence: by row
    everything = evaluate(net, faces)  # + Training rows: white "angry" wrong, black right
    assert everything.accuracy == pytest.approx(5 / 8) and everything.split is None
    with pytest.raises(EmonbError, match="no rows with usage 'PrivateTest'; it has Training, PublicTest"):
        evaluate(net, faces, split="PrivateTest")
    other = _brightness_model(class_names=tuple("abcdefg"))
    with pytest.raises(EmonbError, match="predicts a, b, c, d, e, f, g; the data has angry"):
        evaluate(other, faces)
