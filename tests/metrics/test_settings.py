"""The settings of a map evaluation: defaults, checks, quick mode; and the metric objects."""

from dataclasses import fields, replace

import numpy as np
import pytest

from emonb import config
from emonb.errors import EmonbError
from emonb.methods import ITERATION_SETTINGS
from emonb.metrics.ranking import METRICS
from emonb.metrics.settings import CAPPED, EvaluationSettings
from emonb.metrics.suite import per_face_metrics, shared_metrics


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv(config.ENV_MAX_STEPS, raising=False)
    monkeypatch.delenv(config.ENV_QUICK, raising=False)


def test_quick_mode_caps_every_size_to_the_quick_table(no_env):
    quick = EvaluationSettings().capped(True)
    for name, entry in CAPPED.items():
        assert getattr(quick, name) == config.QUICK[entry], name
    assert set(CAPPED.values()) <= set(config.QUICK)
    assert quick.method_settings["smoothgrad"] == {"samples": config.QUICK["samples"]}
    assert quick.method_settings["scorecam"] == {"max_channels": config.QUICK["channels"]}
    # the uncapped fields are left alone, smaller sizes are kept
    untouched = [f.name for f in fields(EvaluationSettings) if f.name not in CAPPED]
    base = EvaluationSettings()
    assert all(getattr(quick, f) == getattr(base, f) for f in untouched if f != "method_settings")
    assert EvaluationSettings(n=5, n_regions=7).capped(True).n == 5
    assert EvaluationSettings(n_regions=7).capped(True).n_regions == 7


def test_not_quick_keeps_sizes_and_fills_the_methods_defaults(no_env):
    full = EvaluationSettings(method_settings={"smoothgrad": {"samples": 7}}).capped(False)
    assert {f: getattr(full, f) for f in CAPPED} == {f: getattr(EvaluationSettings(), f) for f in CAPPED}
    assert full.n_regions is None  # every face of the split
    assert full.method_settings["smoothgrad"] == {"samples": 7}  # given: kept
    steps = ITERATION_SETTINGS["integrated_gradients"][1]
    assert full.method_settings["integrated_gradients"] == {"steps": steps}  # the default
    assert full.method_settings["saliency"] == {}  # no iterations
    quick = EvaluationSettings(method_settings={"smoothgrad": {"samples": 7}}).capped(True)
    assert quick.method_settings["smoothgrad"] == {"samples": config.QUICK["samples"]}


def test_settings_are_frozen_and_copied():
    given = {"smoothgrad": {"samples": 2}}
    s = EvaluationSettings(road_fractions=[0.2, 0.4], method_settings=given)
    given["smoothgrad"]["samples"] = 9
    assert s.method_settings == {"smoothgrad": {"samples": 2}} and s.road_fractions == (0.2, 0.4)
    with pytest.raises(AttributeError):
        s.n = 3
    assert replace(s, n=3).n == 3 and s == EvaluationSettings(road_fractions=(0.2, 0.4),
                                                              method_settings={"smoothgrad": {"samples": 2}})  # fmt: skip


@pytest.mark.parametrize(
    ("arg", "value", "message"),
    [("n", 0, "n must be at least 1, got 0"), ("steps", 1, "steps must be at least 2, got 1"),
     ("stages", 0, "stages must be at least 1, got 0"),
     ("n_random", 0, "n_random must be at least 1, got 0"),
     ("n_regions", -1, "n_regions must be at least 1, got -1"),
     ("correlation_runs", 1, "correlation_runs must be at least 2, got 1"),
     ("n_robust", 0, "n_robust must be at least 1, got 0"),
     ("n_road", 0, "n_road must be at least 1, got 0"),
     ("sensitivity_samples", 0, "sensitivity_samples must be at least 1, got 0"),
     ("n_pointing", -2, "n_pointing must be at least 1, got -2"),
     ("correlation_subset", 1.0, "correlation_subset and road_fractions must lie strictly "
                                 "between 0 and 1"),
     ("road_fractions", (0.5, 0.0), "correlation_subset and road_fractions must lie strictly "
                                    "between 0 and 1"),
     ("regions", "boxes", "unknown face regions 'boxes'; choose one of mesh, canonical"),
     ("au_maps", ("muscles",), "unknown action-unit map 'muscles'; choose one of appearance, "
                               "muscle"),
     ("au_maps", (), "au_maps must name one map or more, each once; got ()"),
     ("au_maps", ("muscle", "muscle"), "au_maps must name one map or more, each once; got "
                                       "('muscle', 'muscle')")],
)  # fmt: skip
def test_invalid_settings_raise_one_line_errors(arg, value, message):
    with pytest.raises(EmonbError) as err:
        EvaluationSettings(**{arg: value})
    assert str(err.value) == message


def test_metric_objects_cover_the_table_columns():
    s = EvaluationSettings(steps=4, n_road=3, n_robust=2, correlation_runs=5, seed=7)
    per_face, shared = per_face_metrics(s), shared_metrics(s)
    assert [m.name for m in per_face] == ["deletion/insertion", "ROAD", "max-sensitivity",
                                          "random-logit", "sparseness", "complexity"]  # fmt: skip
    assert per_face[0].steps == 4 and per_face[1].faces == 3 and per_face[2].faces == 2
    assert all(m.seed == 7 for m in (*per_face[:4], *shared))
    assert [m.name for m in shared] == ["faithfulness correlation"]
    # the columns the objects fill are exactly those of the ranked table (and the AUCs)
    from emonb.metrics.suite import Context, Explained

    class Net:
        class spec:  # noqa: N801
            value_range = (-1.0, 1.0)

    maps = np.random.default_rng(0).random((4, 8, 8)).astype(np.float32)
    ctx = Context(Net, np.zeros((4, 8, 8, 1), np.float32), np.arange(4) % 2, np.zeros(4, int),
                  lambda x, t: np.ones(len(x), np.float32))  # fmt: skip
    columns = set()
    for metric in per_face:
        if metric.name not in ("max-sensitivity", "random-logit"):  # they explain again
            columns |= set(metric(ctx, Explained("m", maps, None)).values)
    columns |= {"max-sensitivity", "random-logit SSIM", *(m.name for m in shared)}
    assert columns == {m.name for m in METRICS} | {"deletion AUC", "insertion AUC"}
