"""Explanation methods: one contract, ``explain(images, targets) -> (N, H, W) in [0, 1]``.

``METHODS`` maps registry names to classes; it feeds the CLI (``emonb explain --list``),
the widgets and the parametrised tests.
"""

from __future__ import annotations

from emonb.errors import EmonbError
from emonb.methods.base import Explainer, normalize_maps, resolve_targets
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
from emonb.methods.gradients import (
    Deconvnet,
    GuidedBackprop,
    IntegratedGradients,
    Saliency,
    SmoothGrad,
)

__all__ = [
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
    "get_method",
    "normalize_maps",
    "resolve_targets",
]

METHODS: dict[str, type[Explainer]] = {
    cls.name: cls
    for cls in (
        Saliency,
        Deconvnet,
        GuidedBackprop,
        SmoothGrad,
        IntegratedGradients,
        CAM,
        GradCAM,
        GradCAMRelu,
        GradCAMGuided,
        GradCAMPlusPlus,
        LayerCAM,
        ScoreCAM,
        GuidedGradCAM,
        ActivationMap,
    )
}


def get_method(name: str) -> type[Explainer]:
    """The method class registered as ``name``; the error lists every valid name."""
    try:
        return METHODS[name]
    except KeyError:
        raise EmonbError(f"unknown method {name!r}; choose one of: {', '.join(METHODS)}") from None
