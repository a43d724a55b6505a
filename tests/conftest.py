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


@pytest.fixture(scope="session")
def mini_xception():
    """The pretrained model from the manifest (fetched into the user's cache once)."""
    from emonb.models.zoo import load_model

    return load_model("mini-xception")


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    from emonb.data.images import read_image
    from emonb.data.manifest import artifact_path

    return read_image(artifact_path("astronaut"))


@pytest.fixture(scope="session")
def quick_book(tmp_path_factory) -> Path:
    """The whole book built in quick mode in a copy of the project (papermill + jupyter-book
    -W); returns its HTML folder. Shared by the book, offline and browser tests."""
    import shutil

    from emonb.book import build_book

    copy = tmp_path_factory.mktemp("book")
    for name in ("_config.yml", "_toc.yml", "notebooks", "book/intro.md", "book/references.md",
                 "benchmarks"):  # fmt: skip
        src, dst = ROOT / name, copy / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src, dst) if src.is_dir() else shutil.copy(src, dst)
    return build_book(copy, quick=True, log=lambda _m: None)
