import os
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


def test_warns_when_tensorflow_came_first():
    proc = _run_clean("import warnings; warnings.simplefilter('always'); import tensorflow, emonb")
    assert proc.returncode == 0, proc.stderr
    assert "TensorFlow was imported before emonb" in proc.stderr


def test_keras_import_is_quiet():
    proc = _run_clean("import emonb._tf as t; print(t.keras.__version__)")
    assert proc.returncode == 0, proc.stderr
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


def test_max_steps(monkeypatch):
    monkeypatch.delenv(config.ENV_MAX_STEPS, raising=False)
    monkeypatch.delenv(config.ENV_QUICK, raising=False)
    assert config.max_steps(50) == 50
    monkeypatch.setenv(config.ENV_QUICK, "1")
    assert config.is_quick()
    assert config.max_steps(50) == 3
    assert config.max_steps(2) == 2
    monkeypatch.setenv(config.ENV_MAX_STEPS, "7")
    assert config.max_steps(50) == 7
    monkeypatch.setenv(config.ENV_MAX_STEPS, "zero")
    with pytest.raises(ValueError, match="EMONB_MAX_STEPS"):
        config.max_steps(50)


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
