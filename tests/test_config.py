import os
import subprocess
import sys

import pytest

from emonb import config


def _run_clean(code: str, **extra: str):
    import subprocess

    env = {k: v for k, v in os.environ.items() if k not in config.TF_ENV_DEFAULTS}
    env.update(extra)
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )


def test_import_emonb_sets_env_without_importing_tensorflow():
    proc = _run_clean(
        "import os, sys, emonb; "
        "print(os.environ['ONEDNN_MAX_CPU_ISA'], os.environ['TF_CPP_MIN_LOG_LEVEL'], 'tensorflow' in sys.modules)"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["AVX2", "2", "False"]


def test_user_setting_wins():
    proc = _run_clean(
        "import os, emonb; print(os.environ['ONEDNN_MAX_CPU_ISA'])", ONEDNN_MAX_CPU_ISA="SSE41"
    )
    assert proc.stdout.strip() == "SSE41"


def test_video_threads_take_effect_only_before_tensorflow():
    """``emonb video`` sets TensorFlow's pool sizes (read when TensorFlow starts) unless the
    user set them; once TensorFlow is loaded it changes nothing and says so."""
    clean = {k: v for k, v in os.environ.items() if k not in config.VIDEO_TF_ENV}
    code = ("import os, emonb; from emonb import config; done = config.video_threads(); "
            "env = [os.environ[k] for k in config.VIDEO_TF_ENV]; "
            "from emonb._tf import tf; os.environ.pop('TF_NUM_INTEROP_THREADS'); "
            "print(done, *env, config.video_threads(), 'TF_NUM_INTEROP_THREADS' in os.environ)")
    import subprocess

    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=clean, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "1", "1", "False", "False"]  # too late after TF
    mine = dict(clean, TF_NUM_INTRAOP_THREADS="2")  # the user's setting wins
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=mine, timeout=300)  # fmt: skip
    assert proc.stdout.split() == ["True", "2", "1", "False", "False"], proc.stderr


def test_warns_when_tensorflow_came_first():
    proc = _run_clean("import warnings; warnings.simplefilter('always'); import tensorflow, emonb")
    assert proc.returncode == 0, proc.stderr
    assert "TensorFlow was imported before emonb" in proc.stderr


def test_keras_import_is_quiet():
    """...and turns TensorFlow's op determinism on (``$EMONB_DETERMINISTIC`` unset: the
    default; benchmarks/determinism.py's test runs it off)."""
    code = ("import emonb._tf as t; from tensorflow.python.framework.config import "
            "is_op_determinism_enabled as on; print(t.keras.__version__, on())")
    env = {k: v for k, v in os.environ.items() if k != "EMONB_DETERMINISTIC"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={k: v for k, v in env.items() if k not in config.TF_ENV_DEFAULTS},
                          timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[1] == "True"
    assert "oneDNN custom operations" not in proc.stderr
    assert "absl::InitializeLog" not in proc.stderr


def test_gradient_through_pretrained_model_runs_in_subprocess(mini_xception):
    """The mini-Xception has a strided 1x1 Conv2D: backprop through it crashed TF 2.21 on
    AVX-512 CPUs before the guard. A fresh interpreter must finish with finite gradients."""
    code = """
import numpy as np
import emonb
from emonb._tf import tf
from emonb.models.zoo import load_model
net = load_model("mini-xception")
x = tf.constant(np.random.default_rng(0).uniform(-1, 1, (8, 64, 64, 1)).astype("float32"))
with tf.GradientTape() as tape:
    tape.watch(x)
    score = tf.reduce_sum(net.model(x, training=False)[:, 3])
g = tape.gradient(score, x).numpy()
assert np.isfinite(g).all() and np.abs(g).max() > 0
print("grad-ok", g.shape)
"""
    proc = _run_clean(code)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stderr[-2000:]}"
    assert "grad-ok (8, 64, 64, 1)" in proc.stdout


@pytest.fixture
def clean_env(monkeypatch):
    monkeypatch.delenv(config.ENV_MAX_STEPS, raising=False)
    monkeypatch.delenv(config.ENV_QUICK, raising=False)
    return monkeypatch


#: The README's list of the quick caps (the paragraph on `emonb book --quick`): each phrase,
#: with {} for its number, and the settings of :data:`config.QUICK` that number is.
README_QUICK = {
    "epochs {} on": ("epochs",), "on {} faces": ("train_faces",),
    "SmoothGrad samples {},": ("samples",), "optimisation steps {},": ("steps",),
    "Ablation-CAM channels {},": ("channels",), "RISE masks {},": ("masks",),
    "coalitions {},": ("coalitions",), "{} faces for the map metrics": ("faces",),
    "({} for ROAD,": ("road_faces",), "{} for randomization and robustness": ("random_faces", "robust_faces"),
    "{} in the pointing game": ("pointing_faces",), "and {} for the face regions": ("region_faces",),
    "{} randomization stages": ("stages",), "{} video frames": ("frames",),
    "{} faces per emotion in the action-unit analysis": ("per_class",),
}  # fmt: skip


def test_readme_lists_the_quick_table(root):
    import re

    text = " ".join((root / "README.md").read_text(encoding="utf-8").split())
    listed = re.search(r"`emonb\.config\.QUICK` \((.*?)\); the whole book", text)
    assert listed, "README: the paragraph on --quick no longer lists emonb.config.QUICK's caps"
    for phrase, keys in README_QUICK.items():
        pattern = re.escape(phrase).replace(r"\{\}", r"([\d,]+)")
        found = re.search(pattern, listed.group(1))
        assert found, f"README's quick list lacks {phrase.format('N')!r}"
        number = int(found.group(1).replace(",", ""))
        for key in keys:
            assert config.QUICK[key] == number, f"README says {phrase.format(number)!r}, QUICK[{key!r}] is {config.QUICK[key]}"
    named = {k for keys in README_QUICK.values() for k in keys}
    assert set(config.QUICK) == named, "document new quick settings in README"


@pytest.mark.parametrize(("value", "truth"), [("1", True), ("true", True), (" Yes ", True),
                                              ("on", True), ("0", False), ("", False),
                                              ("no", False), ("quick", False)])  # fmt: skip
def test_is_quick(clean_env, value, truth):
    assert config.is_quick() is False
    clean_env.setenv(config.ENV_QUICK, value)
    assert config.is_quick() is truth


@pytest.mark.parametrize(("value", "truth"), [("", True), ("1", True), (" On ", True),
                                              ("yes", True), ("0", False), ("off", False),
                                              ("False", False)])  # fmt: skip
def test_deterministic_is_on_unless_switched_off(monkeypatch, value, truth):
    from emonb._tf import ENV_DETERMINISTIC, deterministic

    monkeypatch.setenv(ENV_DETERMINISTIC, value)
    assert deterministic() is truth
    monkeypatch.delenv(ENV_DETERMINISTIC)
    assert deterministic() is True


def test_deterministic_rejects_other_values(monkeypatch):
    from emonb._tf import ENV_DETERMINISTIC, deterministic

    monkeypatch.setenv(ENV_DETERMINISTIC, "sometimes")
    with pytest.raises(ValueError, match="EMONB_DETERMINISTIC must be .* got 'sometimes'"):
        deterministic()


def test_capped_quick_off_and_on(clean_env):
    assert config.capped("samples", 50) == 50
    assert config.capped("frames", None) is None  # unbounded stays unbounded
    assert config.capped("samples", 50, quick=True) == 3
    assert config.capped("samples", 2, quick=True) == 2  # below the cap: unchanged
    assert config.capped("frames", None, quick=True) == 48  # unbounded becomes the quick value
    assert config.capped("faces", 500, quick=True) == 48
    clean_env.setenv(config.ENV_QUICK, "1")
    assert config.capped("channels", None) == 8 and config.capped("epochs", 30) == 2
    assert config.capped("channels", 64, quick=False) == 64  # an explicit flag wins over the env
    assert config.capped("train_faces", 10_000) == 2000


def test_max_steps_caps_only_iteration_counts(clean_env):
    clean_env.setenv(config.ENV_MAX_STEPS, "5")
    assert config.capped("samples", 50) == 5 and config.capped("steps", 4) == 4
    assert config.capped("frames", None) == 5 and config.capped("epochs", 30) == 5
    assert config.capped("faces", 500) == 500 and config.capped("region_faces", None) is None
    assert config.capped("samples", 50, quick=True) == 3  # the smaller cap wins
    clean_env.setenv(config.ENV_MAX_STEPS, "2")
    assert config.capped("samples", 50, quick=True) == 2
    assert config.capped("faces", 500, quick=True) == 48  # quick only, not the step cap


@pytest.mark.parametrize(("value", "message"), [("zero", "must be an integer, got 'zero'"),
                                                ("0", "must be >= 1, got 0"),
                                                ("-3", "must be >= 1, got -3"),
                                                ("2.5", "must be an integer")])  # fmt: skip
def test_bad_max_steps(clean_env, value, message):
    clean_env.setenv(config.ENV_MAX_STEPS, value)
    with pytest.raises(ValueError, match=f"EMONB_MAX_STEPS {message}"):
        config.capped("samples", 50)
    assert config.capped("faces", 50) == 50  # not read for settings it does not cap


def test_unknown_setting(clean_env):
    with pytest.raises(KeyError, match="unknown setting 'sample'; quick settings: samples, steps"):
        config.capped("sample", 5)
    assert not hasattr(config, "max_steps")


def test_fer2013_path(monkeypatch, tmp_path):
    monkeypatch.delenv(config.ENV_FER2013, raising=False)
    assert config.fer2013_path() is None
    monkeypatch.setenv(config.ENV_FER2013, "synthetic")
    assert config.fer2013_path() is None
    monkeypatch.setenv(config.ENV_FER2013, str(tmp_path))
    assert config.fer2013_path() == tmp_path


def test_cache_dir_env(monkeypatch, tmp_path):
    monkeypatch.setenv(config.ENV_CACHE, str(tmp_path))
    assert config.cache_dir() == tmp_path
