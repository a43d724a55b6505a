"""Training histories, epoch curves, the confusion matrix and the speed benchmark."""

from __future__ import annotations

import numpy as np

from emonb.plotting.training import (
    plot_benchmark,
    plot_confusion,
    plot_epoch_curves,
    plot_training_history,
)

EPOCHS = [
    {"epoch": e, "loss": 1 / e, "val_loss": 2 / e, "accuracy": e / 10, "val_accuracy": e / 20,
     "lr": 0.1 / e, "test_accuracy": e / 5}
    for e in (1, 2, 3)
]  # fmt: skip


def test_confusion_is_row_normalised():
    ax = plot_confusion(np.array([[3, 1], [0, 0]]), ["x", "y"], title="t")
    assert [t.get_text() for t in ax.texts] == ["0.75", "0.25", "0.00", "0.00"]  # empty row: 0
    np.testing.assert_allclose(ax.images[0].get_array(), [[0.75, 0.25], [0.0, 0.0]])
    assert len(ax.figure.axes) == 2 and ax.figure.axes[1].get_ylabel() == "share of the true class"


def test_training_history_marks_the_best_epoch():
    fig = plot_training_history({"epochs": EPOCHS, "best_epoch": 2})
    loss, acc, lr = fig.axes
    np.testing.assert_allclose(loss.lines[1].get_ydata(), [2.0, 1.0, 2 / 3])  # validation loss
    assert loss.lines[-1].get_xdata()[0] == 2 and acc.lines[-1].get_xdata()[0] == 2
    assert lr.get_yscale() == "log"


def test_epoch_curves_and_target():
    ax = plot_epoch_curves({"run": {"epochs": EPOCHS}}, target=0.5)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [0.2, 0.4, 0.6])
    assert ax.lines[1].get_ydata()[0] == 0.5 and ax.get_ylabel() == "test accuracy"


def test_benchmark_bars_side_by_side():
    rows = [{"method": "gradcam", "layer": "conv", "emonb_img_s": 100.0, "tkv_img_s": 10.0},
            {"method": "saliency", "emonb_img_s": 50.0}]  # fmt: skip
    ax = plot_benchmark({"batch": 8, "rows": rows})
    assert [p.get_width() for p in ax.patches] == [100.0, 50.0, 10.0, 0]  # missing: 0
    assert [t.get_text() for t in ax.get_yticklabels()] == ["gradcam @ conv", "saliency"]
    assert ax.get_xscale() == "log"
