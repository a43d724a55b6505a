import numpy as np
import pytest

from emonb.data.fer2013 import load_faces
from emonb.errors import EmonbError
from emonb.models.evaluate import Evaluation, classification_report, confusion_matrix, evaluate


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


def test_perfect_and_random_predictions():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 7, 5000)
    assert classification_report(y, y)["macro_f1"] == 1.0
    rep = classification_report(y, rng.integers(0, 7, 5000))
    assert abs(rep["accuracy"] - 1 / 7) < 0.02


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
    cm = ev.confusion(normalize=True)
    assert cm.loc["a", "b"] == 0.5 and cm.sum(axis=1).tolist() == [1.0, 1.0, 1.0]
    table = ev.table()
    assert table.loc["macro avg", "support"] == 5
    assert set(ev.to_json()) >= {
        "accuracy",
        "macro_f1",
        "per_class",
        "confusion_matrix",
        "model",
        "split",
    }


def test_evaluate_mini_xception_on_the_stand_in(mini_xception):
    faces = load_faces("synthetic", n_synthetic=140, seed=0)
    ev = evaluate(mini_xception, faces, split="PublicTest")
    assert ev.proba.shape == (int((faces.usage == "PublicTest").sum()), 7)
    assert ev.accuracy == pytest.approx(float(np.mean(ev.predicted == ev.labels)))
    with pytest.raises(EmonbError, match="no rows with usage"):
        evaluate(mini_xception, faces, split="PrivateTest")
