"""Chapter 00's figures: class samples, preprocessing stages, boxes and probabilities."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from emonb.faces import Box
from emonb.plotting.data import (
    plot_boxes,
    plot_class_samples,
    plot_face_predictions,
    plot_preprocessing_steps,
    plot_probabilities,
)

NAMES = ["a", "b", "c"]


def test_class_samples_rows_and_white_padding():
    images = np.zeros((5, 4, 4), np.uint8)
    labels = np.array([0, 0, 0, 2, 0])  # class 1 has none, class 2 one
    fig = plot_class_samples(images, labels, NAMES, per_class=2)
    axes = fig.axes
    assert [axes[r * 2].get_ylabel() for r in range(3)] == ["a (4)", "b (0)", "c (1)"]
    assert axes[2].images[0].get_array().min() == 255  # class b: white padding only
    assert axes[4].images[0].get_array().max() == 0 and axes[5].images[0].get_array().min() == 255


def test_preprocessing_steps_last_panel_on_value_range():
    face = np.zeros((4, 4), np.uint8)
    fig = plot_preprocessing_steps([("raw", face), ("input", face / 127.5 - 1.0)], (-1.0, 1.0))
    assert [ax.get_title() for ax in fig.axes[:2]] == ["raw", "input"]
    assert fig.axes[1].images[0].get_clim() == (-1.0, 1.0)
    assert len(fig.axes) == 3  # two panels and the colour bar
    assert fig.axes[2].get_ylabel() == "model input value"


def test_probabilities_highlight_the_top_class():
    ax = plot_probabilities([0.2, 0.7, 0.1], NAMES, title="t")
    colours = [tuple(p.get_facecolor()) for p in ax.patches]
    assert colours[1] != colours[0] == colours[2]
    assert [p.get_width() for p in ax.patches] == [0.2, 0.7, 0.1]
    assert [t.get_text() for t in ax.get_yticklabels()] == NAMES and ax.get_xlim() == (0, 1)


def test_boxes_and_face_predictions():
    photo = np.zeros((40, 40, 3), np.uint8)
    ax = plot_boxes(photo, [Box(3, 4, 10, 12)], ["happy 0.9"])
    rect = ax.patches[0]
    assert (rect.get_x(), rect.get_y(), rect.get_width(), rect.get_height()) == (3, 4, 10, 12)
    assert ax.texts[0].get_text() == "happy 0.9"
    pred = SimpleNamespace(box=None, emotion="b", score=0.7, proba=np.array([0.2, 0.7, 0.1]),
                           class_names=NAMES)  # fmt: skip
    fig = plot_face_predictions({"one": photo, "none": photo}, {"one": [pred], "none": []})
    assert [ax.get_title() for ax in fig.axes] == ["one", "none", "whole image", "no face found"]
