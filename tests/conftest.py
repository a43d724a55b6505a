"""Shared fixtures. Importing emonb first applies the TensorFlow guard for the test process."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import emonb  # noqa: F401  (guard before anything imports TensorFlow)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


def _sequential_without_input():
    """A Sequential model saved without an Input, built by a call (as the seed project did)."""
    from emonb._tf import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.layers.Conv2D(4, 3, activation="relu", name="c1"),
        keras.layers.MaxPooling2D(name="pool"),
        keras.layers.Conv2D(6, 3, activation="relu", name="c2"),
        keras.layers.GlobalAveragePooling2D(name="gap"),
        keras.layers.Dense(7, activation="softmax", name="out"),
    ], name="seq")  # fmt: skip
    model(np.zeros((1, 20, 20, 1), np.float32))
    return model


def _nested():
    """A functional model around a nested Sequential and a nested functional block;
    returns ``(model, inner, block)``."""
    from emonb._tf import keras

    keras.utils.set_random_seed(1)
    inner = keras.Sequential(
        [keras.layers.Conv2D(4, 3, name="ic1"), keras.layers.ReLU(name="irelu")], name="inner"
    )
    inner.build((None, 20, 20, 1))
    block_in = keras.Input((18, 18, 4))
    block_out = keras.layers.Conv2D(5, 3, name="bc1")(block_in)
    block = keras.Model(block_in, block_out, name="block")
    inp = keras.Input((20, 20, 1))
    x = block(inner(inp))
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    out = keras.layers.Dense(7, activation="softmax", name="head")(x)
    return keras.Model(inp, out, name="outer"), inner, block


#: Fresh toy models by kind, for tests parametrised over model structures (the commonest
#: user complaint in every peer's tracker): ``toy_models[kind]()`` returns a keras.Model.
TOY_MODELS = {
    "sequential_no_input": _sequential_without_input,
    "nested": lambda: _nested()[0],
}


@pytest.fixture
def toy_models() -> dict:
    """``{"sequential_no_input": factory, "nested": factory}`` (see :data:`TOY_MODELS`)."""
    return TOY_MODELS


@pytest.fixture
def nested_models():
    """A fresh ``(model, inner, block)``: a functional model with nested sub-models."""
    return _nested()


@pytest.fixture
def snapshot():
    """``snapshot(model) -> (weights, json)``, to assert a model was not modified."""

    def take(model):
        return [w.copy() for w in model.get_weights()], model.to_json()

    return take


@pytest.fixture
def unchanged(snapshot):
    """``check = unchanged(model)`` ... ``check()``: weights, config, and how many times each
    layer was wired into a graph (probing must not leave symbolic nodes on the caller's layers;
    ``graph_nodes=False`` skips that for code that builds a feature model on purpose)."""

    def take(model, graph_nodes: bool = True):
        nodes = [len(layer._inbound_nodes) for layer in model.layers]
        weights, config = snapshot(model)

        def check():
            if graph_nodes:
                assert [len(layer._inbound_nodes) for layer in model.layers] == nodes
            after, after_config = snapshot(model)
            assert after_config == config
            for a, b in zip(after, weights, strict=True):
                np.testing.assert_array_equal(a, b)

        return check

    return take


@pytest.fixture(scope="session")
def mini_xception():
    """The pretrained model from the manifest (fetched into the user's cache once)."""
    from emonb.models.zoo import load_model

    return load_model("mini-xception")


@pytest.fixture(scope="session")
def dask_client():
    """A Dask cluster of 2 spawned worker processes on 127.0.0.1 (emonb's worker
    environment: one TensorFlow thread each), shared by the tests that need one."""
    from distributed import Client, LocalCluster

    from emonb.engine import WORKER_ENV

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0", env=dict(WORKER_ENV)) as cluster, \
            Client(cluster) as client:  # fmt: skip
        yield client


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    from emonb.data.images import read_image
    from emonb.data.manifest import artifact_path

    return read_image(artifact_path("astronaut"))


@pytest.fixture(scope="session")
def book_project(tmp_path_factory) -> Path:
    """The suite's one execution of the book: every chapter run with papermill and the HTML
    built (jupyter-book -W), ``emonb book --quick --scheduler local:2`` in a copy of the
    project (each chapter a task on a Dask worker process), on the synthetic stand-in the
    chapters' stored references were made on (NBVAL_ENV in tests/nbval_references.py).
    Returns the copy; its executed chapters are in book/chapters/, which
    tests/test_notebooks.py compares with the references (made in-process) and
    tests/book/test_rebuild.py byte for byte with chapters 04 and 08 executed again in
    this process."""
    from tests.nbval_references import copy_project, execute_book

    project = copy_project(tmp_path_factory.mktemp("book"))
    execute_book(project, log=print, scheduler="local:2")  # per-chapter times: -s or a failure
    return project


@pytest.fixture(scope="session")
def quick_book(book_project) -> Path:
    """The HTML folder of :func:`book_project`. Shared by the book, offline and browser tests."""
    return book_project / "book" / "_build" / "html"
