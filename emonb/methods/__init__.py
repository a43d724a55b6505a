"""Explanation methods: one contract, ``explain(images, targets) -> (N, H, W) in [0, 1]``.

``METHODS`` maps registry names to classes; it feeds the CLI (``emonb explain --list``),
the widgets and the parametrised tests.
"""

from __future__ import annotations

from emonb import config
from emonb.errors import EmonbError
from emonb.methods.base import Explainer
from emonb.methods.cam import (
    CAM,
    ActivationMap,
    BaseCAM,
    GradCAM,
    GradCAMGuided,
    GradCAMPlusPlus,
    GradCAMRelu,
    GuidedGradCAM,
    LayerCAM,
    ScoreCAM,
)
from emonb.methods.cam_variants import AblationCAM, EigenCAM, EigenGradCAM, HiResCAM, XGradCAM
from emonb.methods.gradients import (
    Deconvnet,
    GradientInput,
    GuidedBackprop,
    IntegratedGradients,
    Saliency,
    SmoothGrad,
    SquareGrad,
    VarGrad,
)
from emonb.methods.perturbation import RISE, Occlusion
from emonb.methods.shapley import AUShapley

__all__ = [
    "RISE",
    "AUShapley",
    "AblationCAM",
    "EigenCAM",
    "EigenGradCAM",
    "GradientInput",
    "HiResCAM",
    "Occlusion",
    "SquareGrad",
    "VarGrad",
    "XGradCAM",
    "CAM",
    "METHODS",
    "ActivationMap",
    "BaseCAM",
    "Deconvnet",
    "Explainer",
    "GradCAM",
    "GradCAMGuided",
    "GradCAMPlusPlus",
    "GradCAMRelu",
    "GuidedBackprop",
    "GuidedGradCAM",
    "IntegratedGradients",
    "LayerCAM",
    "Saliency",
    "ScoreCAM",
    "SmoothGrad",
    "ITERATION_SETTINGS",
    "get_method",
    "method_settings",
]

METHODS: dict[str, type[Explainer]] = {
    cls.name: cls
    for cls in (
        Saliency,
        Deconvnet,
        GuidedBackprop,
        GradientInput,
        SmoothGrad,
        SquareGrad,
        VarGrad,
        IntegratedGradients,
        CAM,
        GradCAM,
        GradCAMRelu,
        GradCAMGuided,
        GradCAMPlusPlus,
        XGradCAM,
        HiResCAM,
        LayerCAM,
        EigenCAM,
        EigenGradCAM,
        ScoreCAM,
        AblationCAM,
        GuidedGradCAM,
        ActivationMap,
        Occlusion,
        RISE,
        AUShapley,
    )
}


def get_method(name: str) -> type[Explainer]:
    """The method class registered as ``name``; the error lists every valid name."""
    try:
        return METHODS[name]
    except KeyError:
        raise EmonbError(f"unknown method {name!r}; choose one of: {', '.join(METHODS)}") from None


#: The iteration setting of each method that has one: ``name -> (keyword, default,
#: quick-table entry)`` (:data:`emonb.config.QUICK`).
ITERATION_SETTINGS: dict[str, tuple[str, int | None, str]] = {
    "smoothgrad": ("samples", 20, "samples"),
    "integrated_gradients": ("steps", 32, "steps"),
    "scorecam": ("max_channels", None, "channels"),
    "ablationcam": ("max_channels", None, "channels"),
    "squaregrad": ("samples", 20, "samples"),
    "vargrad": ("samples", 20, "samples"),
    "rise": ("masks", 500, "masks"),
    "au_shap": ("coalitions", 256, "coalitions"),
}


def method_settings(name: str, *, quick: bool | None = None, **overrides) -> dict:
    """Keyword arguments for method ``name``: its iteration setting at the default (or the
    value in ``overrides``), capped by :func:`emonb.config.capped` in quick mode, plus the
    other ``overrides``. For the boundary (CLI, chapters, widgets): methods themselves
    never read quick mode, e.g. ``METHODS[n](net, **method_settings(n, quick=True))``.
    """
    get_method(name)
    kwargs = dict(overrides)
    if name in ITERATION_SETTINGS:
        key, default, entry = ITERATION_SETTINGS[name]
        kwargs[key] = config.capped(entry, kwargs.get(key, default), quick=quick)
    return kwargs
