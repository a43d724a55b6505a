"""Adebayo et al.'s sanity checks on every method of the registry (chapter 08).

:func:`model_randomization_check` runs cascading model randomization
(:func:`~emonb.metrics.randomization.cascading_randomization`) and
:func:`data_randomization_check` compares the maps of a model with those of the same
architecture trained on permuted labels (:func:`~emonb.metrics.randomization.data_randomization`),
both over **every** method of :data:`emonb.methods.METHODS` (none skipped: guided
backpropagation, CAM and the Shapley values of the action units included) and the
model-free references, on faces the caller chooses (:func:`~emonb.metrics.randomization.check_faces`:
FER-2013, or the real faces of the manifest's media when FER-2013 is absent). The methods'
settings and the sizes come from an :class:`~emonb.metrics.settings.EvaluationSettings`
(quick mode applied by the caller, :meth:`~emonb.metrics.settings.EvaluationSettings.capped`).
On the synthetic stand-in :data:`~emonb.metrics.evaluate.ANATOMY_METHODS` are left out
(its drawn faces have no anatomy to mesh), and a method that cannot be built for the model
(CAM without a global-pooling head) is left out with its reason: the results'
``left_out`` says which and why, so nothing is skipped silently.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from emonb.errors import EmonbError
from emonb.methods import METHODS
from emonb.metrics.evaluate import ANATOMY_METHODS, REFERENCES, method_factory
from emonb.metrics.randomization import (
    CheckFaces,
    DataRandomization,
    Randomization,
    cascading_randomization,
    check_faces,
    data_randomization,
)
from emonb.metrics.settings import EvaluationSettings
from emonb.models.zoo import EmotionModel

__all__ = ["data_randomization_check", "model_randomization_check", "sanity_methods"]


def sanity_methods(synthetic: bool = False) -> list[str]:
    """Every registry method, then the model-free references; without
    :data:`~emonb.metrics.evaluate.ANATOMY_METHODS` when the faces are ``synthetic``."""
    names = [*METHODS, *REFERENCES]
    return [m for m in names if not (synthetic and m in ANATOMY_METHODS)]


def _built_once(net: EmotionModel, made: object, factory: Callable[[EmotionModel], object]):
    """``factory``, but for ``net`` the explainer already built (``made``)."""
    return lambda other: made if other is net else factory(other)


def _setup(net: EmotionModel, faces, methods: Sequence[str] | None,
           settings: EvaluationSettings | None,
           n: int | None) -> tuple[CheckFaces, dict, dict, EvaluationSettings]:  # fmt: skip
    """The faces, the factories of the methods that can be built for ``net``, the others
    with the reason (``{name: message}``), and the settings."""
    s = settings if settings is not None else EvaluationSettings()
    chosen = check_faces(faces, n if n is not None else s.n_random)
    names = list(methods) if methods is not None else sanity_methods(chosen.synthetic)
    given = dict(s.method_settings or {})
    factories, left_out = {}, {}
    for m in names:
        factory = method_factory(m, s.seed, given.get(m))
        try:
            factories[m] = _built_once(net, factory(net), factory)
        except EmonbError as err:  # e.g. CAM on a model without global average pooling
            left_out[m] = str(err)
    if not factories:
        raise EmonbError(f"no method could be built for {net.name}: {left_out}")
    return chosen, factories, left_out, s


def model_randomization_check(net: EmotionModel, faces, *, methods: Sequence[str] | None = None,
                              settings: EvaluationSettings | None = None,
                              n: int | None = None) -> Randomization:  # fmt: skip
    """Cascading randomization of ``net`` for every method (``methods``; default
    :func:`sanity_methods`) on ``n`` faces of ``faces`` (default ``settings.n_random``,
    evenly spread: :func:`~emonb.metrics.randomization.check_faces`), over
    ``settings.stages`` stages, each method built with ``settings.method_settings``; every
    map explains ``net``'s predicted class. The result's ``faces`` names the faces and
    ``left_out`` the methods that cannot be built for ``net``, with the reason.

    References: Adebayo et al. (2018), "Sanity checks for saliency maps".
    """
    chosen, factories, left_out, s = _setup(net, faces, methods, settings, n)
    result = cascading_randomization(net, chosen.images, factories, stages=s.stages, seed=s.seed)
    result.faces, result.left_out = f"{len(chosen)} faces of {chosen.name}", left_out
    return result


def data_randomization_check(net: EmotionModel, permuted: EmotionModel, faces, *,
                             methods: Sequence[str] | None = None,
                             settings: EvaluationSettings | None = None, n: int | None = None,
                             n_boot: int = 1000) -> DataRandomization:  # fmt: skip
    """Every method's maps (``methods``; default :func:`sanity_methods`) of ``n`` faces of
    ``faces`` (default ``settings.n_random``, evenly spread) for ``net`` against those for
    ``permuted``, the same architecture trained on permuted labels
    (:func:`~emonb.metrics.randomization.data_randomization`), each method built with
    ``settings.method_settings``; both explain ``net``'s predicted class. The intervals
    resample the faces' clusters when ``faces`` has them (the clips and photos of
    :class:`emonb.video.real_faces.RealFaces`), else the faces. ``left_out``: as for
    :func:`model_randomization_check` (a method must build for both models).

    References: Adebayo et al. (2018), "Sanity checks for saliency maps".
    """
    chosen, factories, left_out, s = _setup(net, faces, methods, settings, n)
    result = data_randomization(net, permuted, chosen.images, factories,
                                clusters=chosen.clusters, n_boot=n_boot, seed=s.seed)  # fmt: skip
    result.faces, result.left_out = f"{len(chosen)} faces of {chosen.name}", left_out
    return result
