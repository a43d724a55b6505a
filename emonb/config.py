"""Paths, seeds, the quick-settings table and the TensorFlow environment guard.

This module must stay importable without TensorFlow: :func:`guard_tensorflow`
runs when :mod:`emonb` is imported and has to set environment variables
*before* TensorFlow is first imported.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "CLASS_NAMES",
    "DPI",
    "ENV_CACHE",
    "ENV_FER2013",
    "ENV_MAX_STEPS",
    "ENV_QUICK",
    "cache_dir",
    "fer2013_path",
    "guard_tensorflow",
    "ITERATIVE",
    "QUICK",
    "capped",
    "is_quick",
    "seed_everything",
]

#: FER-2013 label order (the ``emotion`` codes of ``fer2013.csv``).
CLASS_NAMES: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
#: Resolution of every saved figure: the plotting helpers' default and the book's 300-dpi files.
DPI = 300

ENV_CACHE = "EMONB_CACHE_DIR"
ENV_FER2013 = "EMONB_FER2013"
ENV_QUICK = "EMONB_QUICK"
ENV_MAX_STEPS = "EMONB_MAX_STEPS"

#: Environment set before TensorFlow is imported (only where the user has not set it).
TF_ENV_DEFAULTS: dict[str, str] = {
    # TF 2.21 double-frees / segfaults on backprop through a strided 1x1 Conv2D when
    # oneDNN uses AVX-512 kernels; capping the ISA at AVX2 avoids it (mini-Xception has one).
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    # Keep notebook stderr free of C++ INFO/WARNING lines (nbval compares it).
    "TF_CPP_MIN_LOG_LEVEL": "2",
}


def guard_tensorflow() -> None:
    """Make TensorFlow safe and quiet on this machine; call before TF is imported.

    Sets each variable of :data:`TF_ENV_DEFAULTS` unless the user already set it.
    If TensorFlow was imported earlier the ISA cap cannot take effect any more, so
    a warning says so (gradients through strided 1x1 convolutions may crash).
    """
    tf_loaded = "tensorflow" in sys.modules
    for key, value in TF_ENV_DEFAULTS.items():
        os.environ.setdefault(key, value)
    if (
        tf_loaded
        and os.environ.get("ONEDNN_MAX_CPU_ISA")
        and "TF_ENABLE_ONEDNN_OPTS" not in os.environ
    ):
        warnings.warn(
            "TensorFlow was imported before emonb, so ONEDNN_MAX_CPU_ISA=AVX2 may not apply; "
            "import emonb first (TF 2.21 can crash on AVX-512 CPUs during backprop).",
            RuntimeWarning,
            stacklevel=3,
        )


#: TensorFlow's intra-op threads in the book's kernels (``emonb book``, set unless the user
#: set it). How an op splits a sum between threads decides the last bits of its result, so
#: the book pins the count instead of taking one thread per CPU: a 2-core laptop and a
#: 4-core CI runner then compute the same numbers. Measured (the stand-in CNN of chapters 01
#: and 08, quick mode): 1 or 2 threads train the same weights, 4 threads others, whether op
#: determinism is on or off. Two, since the book runs two chapters side by side.
BOOK_TF_ENV = {"TF_NUM_INTRAOP_THREADS": "2"}


#: TensorFlow's thread pools for a video run (``emonb video``, ``benchmarks/video_pipeline.py``):
#: one thread each. The pipeline's own threads (decoding, the model, encoding) keep both
#: cores busy; TensorFlow's idle pool threads spin between the small per-frame ops and take
#: CPU from them (1080p without the mesh on this 2-core CPU: 26-27 frames/s with the
#: default pools, 32-33 with one thread).
VIDEO_TF_ENV = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}


def video_threads() -> bool:
    """Set :data:`VIDEO_TF_ENV` (unless the user set a variable) before TensorFlow starts;
    returns False, changing nothing, when TensorFlow is already imported (a notebook)."""
    if "tensorflow" in sys.modules:
        return False
    for key, value in VIDEO_TF_ENV.items():
        os.environ.setdefault(key, value)
    return True


def cache_dir() -> Path:
    """Where fetched artifacts live: ``$EMONB_CACHE_DIR`` or the user's cache dir."""
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("emonb"))


def fer2013_path() -> Path | None:
    """The user-given FER-2013 location (``$EMONB_FER2013``), or None when unset.

    The special value ``synthetic`` also returns None: it asks for the stand-in.
    """
    env = os.environ.get(ENV_FER2013, "").strip()
    if not env or env.lower() == "synthetic":
        return None
    return Path(env).expanduser()


#: Quick mode: the size of every iterative step in one table, applied once at the boundary
#: (the CLI, the chapters' parameter cells, the tests) by :func:`capped`; algorithms take
#: explicit settings and never read the environment.
QUICK: dict[str, int] = {
    "samples": 3,  # SmoothGrad noisy copies
    "steps": 3,  # Integrated Gradients path steps, activation-maximisation steps
    "channels": 8,  # Score-CAM and Ablation-CAM channels
    "masks": 64,  # RISE random masks
    "coalitions": 64,  # coalitions of the action-unit Shapley values (au_shap)
    "epochs": 2,  # training epochs
    "train_faces": 2000,  # training faces
    "faces": 48,  # faces whose maps are evaluated (evaluate-maps, chapter 08)
    "region_faces": 96,  # faces in the face-region analysis
    "per_class": 14,  # faces per emotion in the action-unit analysis (chapter 09)
    "stages": 2,  # cascading-randomization stages
    "random_faces": 8,  # faces in the cascading-randomization check
    "robust_faces": 8,  # faces explained again for max-sensitivity and random-logit
    "road_faces": 24,  # faces scored by ROAD
    "pointing_faces": 48,  # stand-in faces in the pointing game
    "frames": 48,  # video frames
}
#: The settings that count iterations: ``$EMONB_MAX_STEPS`` caps these too.
ITERATIVE = frozenset({"samples", "steps", "channels", "masks", "coalitions", "epochs",
                       "frames"})


def is_quick() -> bool:
    """True when ``$EMONB_QUICK`` is set to a true value (CI and ``emonb book --quick``)."""
    return os.environ.get(ENV_QUICK, "").strip().lower() in {"1", "true", "yes", "on"}


def _env_max_steps() -> int | None:
    env = os.environ.get(ENV_MAX_STEPS, "").strip()
    if not env:
        return None
    try:
        cap = int(env)
    except ValueError as err:
        raise ValueError(f"{ENV_MAX_STEPS} must be an integer, got {env!r}") from err
    if cap < 1:
        raise ValueError(f"{ENV_MAX_STEPS} must be >= 1, got {cap}")
    return cap


def capped(name: str, value: int | None, *, quick: bool | None = None) -> int | None:
    """``value`` for setting ``name``, capped by :data:`QUICK` in quick mode.

    Quick mode is ``$EMONB_QUICK`` unless ``quick`` says otherwise (a ``--quick`` flag or a
    chapter's ``quick`` parameter). ``None`` means unbounded (every frame, every face, every
    channel), so it becomes the quick value in quick mode. Iteration counts
    (:data:`ITERATIVE`) are also capped by ``$EMONB_MAX_STEPS`` when it is set.
    """
    if name not in QUICK:
        raise KeyError(f"unknown setting {name!r}; quick settings: {', '.join(QUICK)}")
    caps = [QUICK[name]] if (is_quick() if quick is None else quick) else []
    if name in ITERATIVE and (env := _env_max_steps()) is not None:
        caps.append(env)
    if not caps:
        return value
    used = min(caps) if value is None else min(value, *caps)
    if used != value:
        _APPLIED[name] = (value, used)
    return used


#: What quick mode or ``$EMONB_MAX_STEPS`` changed in this process: setting -> (asked, used).
_APPLIED: dict[str, tuple[int | None, int]] = {}
#: How the book names each quick setting (captions' quick badges).
QUICK_LABELS: dict[str, str] = {
    "samples": "SmoothGrad samples",
    "steps": "path / optimisation steps",
    "channels": "Score-CAM / Ablation-CAM channels",
    "masks": "RISE masks",
    "coalitions": "Shapley coalitions",
    "epochs": "training epochs",
    "train_faces": "training faces",
    "faces": "faces evaluated",
    "region_faces": "faces in the region analysis",
    "per_class": "faces per emotion",
    "stages": "randomization stages",
    "random_faces": "faces in the randomization check",
    "robust_faces": "faces for max-sensitivity / random-logit",
    "road_faces": "faces scored by ROAD",
    "pointing_faces": "faces in the pointing game",
    "frames": "video frames",
}


def applied_caps(names: Iterable[str] | None = None) -> dict[str, tuple[int | None, int]]:
    """The settings that :func:`capped` changed in this process, ``name -> (asked, used)``
    (``asked`` None: unbounded), limited to ``names`` when given: what a quick build's
    badges and notes report."""
    if names is None:
        return dict(_APPLIED)
    return {n: _APPLIED[n] for n in names if n in _APPLIED}


def seed_everything(seed: int = 0) -> None:
    """Seed Python's ``random``, NumPy's global generator and the Keras backend."""
    from emonb._tf import keras  # the quiet, guarded import

    keras.utils.set_random_seed(seed)
