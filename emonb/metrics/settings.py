"""Every size and knob of :func:`emonb.metrics.evaluate.evaluate_maps`, in one checked object.

The CLI and chapter 08 build an :class:`EvaluationSettings` from their arguments and
apply quick mode once, by :meth:`EvaluationSettings.capped`; the evaluation itself never
reads the environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from emonb.errors import EmonbError

__all__ = ["CAPPED", "REGION_KINDS", "EvaluationSettings"]

#: Where the face regions come from: each face's own mesh (``"mesh"``), or the canonical
#: 48x48 boxes of :data:`emonb.anatomy.layout.FACE_REGIONS` (``"canonical"``).
REGION_KINDS = ("mesh", "canonical")
#: The fields quick mode caps, and their entries of :data:`emonb.config.QUICK`.
CAPPED = {"n": "faces", "stages": "stages", "n_regions": "region_faces",
          "n_random": "random_faces", "n_robust": "robust_faces", "n_road": "road_faces",
          "n_pointing": "pointing_faces"}  # fmt: skip


@dataclass(frozen=True)
class EvaluationSettings:
    """The sizes and knobs of a map evaluation (see :func:`~emonb.metrics.evaluate.evaluate_maps`
    for what each one does), checked when made: a size below its least value, a fraction
    outside (0, 1) or unknown face regions raise :class:`~emonb.errors.EmonbError`.

    ``method_settings`` maps a method name to its constructor's keyword arguments, e.g.
    ``{"smoothgrad": {"samples": 20}}`` (None: every method's defaults). ``n_regions=None``
    means every face of ``split``; ``n_pointing=None`` means ``n``. ``au_maps``: the maps of
    action-unit regions the evidence per action unit is measured on
    (:data:`emonb.anatomy.au_maps.AU_MAPS`, the first also the ``au_shap`` method's unless
    its settings name one).
    """

    n: int = 500
    split: str | None = "PublicTest"
    steps: int = 16
    baseline: str = "blur"
    stages: int = 6
    n_random: int = 16
    region_method: str = "gradcam"
    n_regions: int | None = None
    regions: str = "mesh"
    road_fractions: tuple[float, ...] = (0.1, 0.3, 0.5, 0.7, 0.9)
    road_noise: float = 0.01
    correlation_runs: int = 50
    correlation_subset: float = 0.1
    n_road: int = 100
    n_robust: int = 16
    sensitivity_samples: int = 5
    sensitivity_radius: float = 0.05
    n_pointing: int | None = 100
    seed: int = 0
    au_maps: tuple[str, ...] = ("appearance",)
    method_settings: Mapping[str, Mapping[str, object]] | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "road_fractions", tuple(self.road_fractions))
        object.__setattr__(self, "au_maps", tuple(self.au_maps))
        from emonb.anatomy.au_maps import check_au_map

        if not self.au_maps or len(set(self.au_maps)) < len(self.au_maps):
            raise EmonbError(f"au_maps must name one map or more, each once; got {self.au_maps}")
        for m in self.au_maps:
            check_au_map(m)
        if self.method_settings is not None:
            copied = {m: dict(kw) for m, kw in self.method_settings.items()}
            object.__setattr__(self, "method_settings", copied)
        if self.regions not in REGION_KINDS:
            raise EmonbError(f"unknown face regions {self.regions!r}; choose one of "
                             f"{', '.join(REGION_KINDS)}")  # fmt: skip
        sizes = (("n", self.n, 1), ("steps", self.steps, 2), ("stages", self.stages, 1),
                 ("n_random", self.n_random, 1), ("n_regions", self.n_regions or 1, 1),
                 ("correlation_runs", self.correlation_runs, 2), ("n_robust", self.n_robust, 1),
                 ("n_road", self.n_road, 1), ("sensitivity_samples", self.sensitivity_samples, 1),
                 ("n_pointing", self.n_pointing or 1, 1))  # fmt: skip
        for name, value, least in sizes:
            if int(value) < least:
                raise EmonbError(f"{name} must be at least {least}, got {value}")
        if not 0 < self.correlation_subset < 1 or not all(0 < f < 1 for f in self.road_fractions):
            raise EmonbError("correlation_subset and road_fractions must lie strictly between 0 and 1")

    def capped(self, quick: bool | None = None) -> EvaluationSettings:
        """These settings with quick mode applied (``quick``; None: ``$EMONB_QUICK``): the
        sizes of :data:`CAPPED` by :func:`emonb.config.capped`, and every registry method's
        iteration setting by :func:`emonb.methods.method_settings` (the ones given here,
        or the method's default, capped)."""
        from emonb import config
        from emonb.methods import METHODS, method_settings

        given = dict(self.method_settings or {})
        methods = {m: method_settings(m, quick=quick, **given.get(m, {})) for m in METHODS}
        methods.update((m, kw) for m, kw in given.items() if m not in METHODS)
        sizes = {f: config.capped(entry, getattr(self, f), quick=quick) for f, entry in CAPPED.items()}
        return replace(self, method_settings=methods, **sizes)
