import hashlib
import json
import shutil

import numpy as np
import pytest

from emonb.data.fer2013 import load_faces
from emonb.errors import EmonbError
from emonb.models import train as T
from emonb.models.runner import predict_proba
from emonb.models.sources import read_sidecar
from emonb.models.zoo import load_model

CFG = T.TrainConfig(epochs=3, batch_size=32, seed=3)


@pytest.fixture(scope="module")
def faces():
    return load_faces("synthetic", n_synthetic=350, seed=0)


@pytest.fixture(scope="module")
def runs(faces, tmp_path_factory):
    """The same 3-epoch run twice: straight through, and stopped after epoch 1 then resumed."""
    root = tmp_path_factory.mktemp("train")
    straight = T.train(faces, root / "a.keras", CFG, log=None)
    lines: list[str] = []
    T.train(faces, root / "b.keras", CFG, log=lines.append, stop_after=1)
    assert not (root / "b.keras").exists()  # nothing final before the run ends
    resumed = T.train(faces, root / "b.keras", CFG, log=lines.append)
    return straight, resumed, lines


def _weights(path):
    return load_model(path).model.get_weights()


def test_resumed_run_equals_uninterrupted_run(runs):
    straight, resumed, lines = runs
    assert any(line.startswith("resuming from") for line in lines)
    assert resumed.history["resumed_at"] == [1] and straight.history["resumed_at"] == []
    for wa, wb in zip(_weights(straight.model_path), _weights(resumed.model_path), strict=True):
        np.testing.assert_array_equal(wa, wb)
    drop = lambda recs: [{k: v for k, v in r.items() if k != "seconds"} for r in recs]  # noqa: E731
    assert drop(straight.history["epochs"]) == drop(resumed.history["epochs"])


def test_outputs_beside_the_model(runs):
    result = runs[0]
    path = result.model_path
    hist = json.loads(T.history_path(path).read_text())
    assert T.history_path(path).name == "a.history.json"
    assert hist["finished"] and hist["epochs_run"] == 3 and len(hist["epochs"]) == 3
    assert hist["config"]["seed"] == 3 and hist["machine"]["backend"] == "tensorflow"
    assert set(hist["provenance"]) >= {"command", "commit", "date", "machine"}
    assert 1 <= hist["best_epoch"] <= 3
    assert hist["best_val_accuracy"] == max(r["val_accuracy"] for r in hist["epochs"])
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "val_macro_f1", "lr", "seconds"} <= set(
        hist["epochs"][0]
    )
    net = load_model(path)  # sidecar: unit scaling, 48x48 grey, FER-2013 classes
    assert set(read_sidecar(path)["provenance"]) >= {"command", "commit", "date", "machine"}
    assert net.spec.preprocessing == "unit" and net.spec.input_size == (48, 48)
    assert predict_proba(net, np.zeros((2, 48, 48), np.uint8)).shape == (2, 7)
    assert T.load_history(path)["best_epoch"] == hist["best_epoch"]


def test_finished_run_is_reused_and_extended(runs, faces, tmp_path):
    src = runs[0].model_path
    for p in src.parent.glob("a.*"):
        (shutil.copytree if p.is_dir() else shutil.copy2)(p, tmp_path / p.name)
    out = tmp_path / "a.keras"
    lines: list[str] = []
    again = T.train(faces, out, CFG, log=lines.append)
    assert "already trained" in lines[0] and again.history["epochs_run"] == 3
    longer = T.train(faces, out, T.TrainConfig(epochs=4, batch_size=32, seed=3), log=None)
    assert longer.history["epochs_run"] == 4 and longer.history["resumed_at"] == [3]
    with pytest.raises(EmonbError, match="different run"):
        T.train(faces, out, T.TrainConfig(epochs=4, batch_size=16, seed=3), log=None)
    fresh = T.train(
        faces, out, T.TrainConfig(epochs=1, batch_size=16, seed=3), restart=True, log=None
    )
    assert fresh.history["epochs_run"] == 1


def test_unreadable_checkpoint_state_is_a_clear_error(runs, faces, tmp_path):
    ckpt = tmp_path / "a.keras.ckpt"
    shutil.copytree(runs[0].model_path.with_name("a.keras.ckpt"), ckpt)
    state = json.loads((ckpt / "state.json").read_text())
    (ckpt / "state.json").write_text(json.dumps({**state, "plateau_best": 1.0}))
    with pytest.raises(EmonbError, match="not a training state this emonb can read"):
        T.train(faces, tmp_path / "a.keras", CFG, log=None)
    assert T.train(faces, tmp_path / "a.keras", CFG, restart=True, log=None).history["finished"]


def test_rejects_bad_settings(faces, tmp_path):
    with pytest.raises(EmonbError, match=r"\.keras"):
        T.train(faces, tmp_path / "model.h5", CFG, log=None)
    with pytest.raises(EmonbError, match="class_weight"):
        T.TrainConfig(class_weight="inverse")
    with pytest.raises(EmonbError, match="val_fraction"):
        T.TrainConfig(val_fraction=0.7)


def test_train_config_quick_is_an_argument(monkeypatch):
    monkeypatch.delenv("EMONB_MAX_STEPS", raising=False)
    monkeypatch.setenv("EMONB_QUICK", "1")  # the boundary passes quick=...; the env is not read
    assert T.train_config(30).epochs == 30 and T.train_config(30).max_train is None
    quick = T.train_config(30, quick=True)
    assert (quick.epochs, quick.max_train) == (2, 2000)  # config.QUICK epochs, train_faces
    assert T.train_config(1, quick=True).epochs == 1
    assert T.train_config(30, quick=True, max_train=500).max_train == 500
    monkeypatch.setenv("EMONB_MAX_STEPS", "5")  # caps epochs in any mode
    assert T.train_config(30).epochs == 5 and T.train_config(30, quick=True).epochs == 2


def test_class_weights():
    labels = np.repeat(np.arange(7), [400, 10, 100, 800, 300, 200, 400])
    counts = np.bincount(labels)
    for mode in T.CLASS_WEIGHTS:
        w = T.class_weights(labels, mode)
        assert w.shape == (7,) and np.isclose((w[labels]).mean(), 1.0)  # mean weight per face is 1
    np.testing.assert_allclose(T.class_weights(labels, "none"), 1.0)
    bal = T.class_weights(labels, "balanced")
    np.testing.assert_allclose(bal * counts, (bal * counts)[0])  # every class weighs the same
    sq = T.class_weights(labels, "sqrt")
    np.testing.assert_allclose(sq / sq[0], np.sqrt(bal / bal[0]), rtol=1e-6)
    assert T.class_weights(np.array([0, 0, 2]), "balanced")[1] == 0.0  # absent class
    with pytest.raises(EmonbError, match="class_weight"):
        T.class_weights(labels, "inverse")


def test_validation_split_is_stratified_disjoint_and_seeded():
    labels = np.repeat(np.arange(7), [400, 10, 100, 800, 300, 200, 400])
    tr, va = T.validation_split(labels, 0.1, seed=0)
    assert np.intersect1d(tr, va).size == 0 and np.union1d(tr, va).size == labels.size
    share = np.bincount(labels[va], minlength=7) / np.bincount(labels)
    assert np.all(np.abs(share - 0.1) <= 0.051)  # at most one face off per class
    np.testing.assert_array_equal(va, T.validation_split(labels, 0.1, seed=0)[1])
    assert not np.array_equal(va, T.validation_split(labels, 0.1, seed=1)[1])


def test_augment_is_seeded_and_identity_when_off():
    images = np.random.default_rng(0).integers(0, 256, (5, 48, 48), dtype=np.uint8)
    a = T.augment(images, np.random.default_rng(1))
    b = T.augment(images, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32 and a.shape == images.shape and not np.allclose(a, images)
    off = T.augment(images, np.random.default_rng(1), T.Augment(0, 0, 0, flip=False))
    np.testing.assert_allclose(off, images, atol=1e-3)
    flips = T.augment(images, np.random.default_rng(2), T.Augment(0, 0, 0, flip=True))
    for img, out in zip(images, flips, strict=True):
        assert np.allclose(out, img, atol=1e-3) or np.allclose(out, img[:, ::-1], atol=1e-3)
    assert any(np.allclose(o, i[:, ::-1], atol=1e-3) for i, o in zip(images, flips, strict=True))


def test_balanced_sample_caps_each_class():
    from emonb.models.train import balanced_sample

    labels = np.array([0] * 10 + [1] * 3 + [2] * 6)
    rows = balanced_sample(labels, 4, np.random.default_rng(0))
    assert np.bincount(labels[rows]).tolist() == [4, 3, 4]
    assert (np.diff(rows) > 0).all()
    again = balanced_sample(labels, 4, np.random.default_rng(0))
    np.testing.assert_array_equal(rows, again)


def test_permuted_labels_are_a_seeded_permutation():
    labels = np.repeat(np.arange(7), [40, 1, 10, 80, 30, 20, 40])
    p = T.permuted_labels(labels, seed=0)
    assert np.array_equal(np.sort(p), labels)  # every class keeps its count
    np.testing.assert_array_equal(p, T.permuted_labels(labels, seed=0))  # seeded
    assert not np.array_equal(p, T.permuted_labels(labels, seed=1))
    assert (p != labels).mean() > 0.5  # most faces lose their label
    order = np.random.default_rng([0, 15485863]).permutation(labels.size)
    np.testing.assert_array_equal(p, labels[order])


def test_training_rows_permute_only_the_labels(faces):
    true = T.training_rows(faces, CFG)
    perm = T.training_rows(faces, T.TrainConfig(epochs=3, batch_size=32, seed=3, permute_labels=True))
    np.testing.assert_array_equal(perm[0], true[0])  # the same faces,
    np.testing.assert_array_equal(perm[2], true[2])  # the same training rows,
    np.testing.assert_array_equal(perm[3], true[3])  # the same validation rows
    np.testing.assert_array_equal(perm[1], T.permuted_labels(true[1], 3))


def test_permute_labels_is_part_of_the_key_and_the_cache_path(runs, faces):
    from dataclasses import asdict, replace

    plain = asdict(CFG)
    plain.pop("epochs"), plain.pop("permute_labels")
    # earlier runs (no such field) keep their key
    assert CFG.key() == hashlib.sha256(json.dumps(plain, sort_keys=True).encode()).hexdigest()[:16]
    permuted = replace(CFG, permute_labels=True)
    assert permuted.key() != CFG.key()
    assert T.train_config(2, quick=True, permute_labels=True).permute_labels
    # a finished true-label run is not taken for the permuted one
    with pytest.raises(EmonbError, match="different run"):
        T.train(faces, runs[0].model_path, permuted, log=None)
    a, b = T.default_model_path(faces, 0, quick=True), T.default_model_path(faces, 0, quick=True,
                                                                         permute_labels=True)  # fmt: skip
    assert b.name == a.name.replace(".keras", "-permuted.keras") and a.parent == b.parent


def test_cached_model_is_keyed_by_the_numerics(faces, monkeypatch, tmp_path):
    """The book's cache never hands a model trained under other numerics (another thread
    count, op determinism off, another TensorFlow) to a build that would train another."""
    monkeypatch.setenv("EMONB_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "2")
    monkeypatch.delenv("EMONB_DETERMINISTIC", raising=False)
    path = T.default_model_path(faces, 0, quick=True)
    assert path.parent == tmp_path / "trained" and path.suffix == ".keras"
    assert path.name.startswith(f"seed_cnn-synthetic-{T.fingerprint(faces)}-s0-quick-n")
    assert T.default_model_path(faces, 0, quick=True) == path  # the same numerics: the same file
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "4")
    four = T.default_model_path(faces, 0, quick=True)
    monkeypatch.setenv("EMONB_DETERMINISTIC", "0")
    off = T.default_model_path(faces, 0, quick=True)
    assert len({path, four, off}) == 3


def test_validation_logs_nothing_under_op_determinism(capfd):
    """Keras' predict builds a tf.data pipeline whose rewrite under op determinism logs a C++
    error line on fd 2 (into a chapter's outputs); validation runs the model batch by batch."""
    from tensorflow.python.framework.config import is_op_determinism_enabled

    from emonb._tf import keras
    from emonb.models.seed_cnn import build_seed_cnn

    assert is_op_determinism_enabled()
    keras.utils.set_random_seed(0)
    model = build_seed_cnn((16, 16, 1), 3, filters=(4,), convs_per_block=1)
    x = np.random.default_rng(0).uniform(0, 1, (300, 16, 16, 1)).astype(np.float32)
    y = np.arange(300) % 3
    capfd.readouterr()
    rec = T._val_metrics(model, x, y, batch_size=32)  # two batches of 256
    assert "NodeDef" not in capfd.readouterr().err
    proba = np.asarray(model(x, training=False), np.float64)
    loss = -np.mean(np.log(np.clip(proba[np.arange(300), y], 1e-7, 1.0)))
    assert rec["val_loss"] == pytest.approx(loss, rel=1e-5)
    assert rec["val_accuracy"] == pytest.approx(np.mean(proba.argmax(1) == y))
