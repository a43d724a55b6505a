"""Both sanity checks run every method of the registry, on the faces they are given."""

import numpy as np
import pytest

from emonb.methods import METHODS
from emonb.metrics import sanity
from emonb.metrics.evaluate import REFERENCES
from emonb.metrics.settings import EvaluationSettings


def test_every_registry_method_is_checked():
    names = sanity.sanity_methods()
    assert names == [*METHODS, *REFERENCES]
    assert "guided_backprop" in names and "cam" in names and "au_shap" in names
    assert sanity.sanity_methods(synthetic=True) == [m for m in names if m != "au_shap"]


@pytest.fixture
def captured(monkeypatch):
    """The checks' calls of the randomization functions, without running any method."""
    calls = {}

    def cascade(net, images, factories, **kw):
        calls["cascade"] = (images, factories, kw)
        from emonb.metrics.randomization import Randomization

        return Randomization(stages=["none"], spearman=None, ssim=None)

    def data(net, permuted, images, factories, **kw):
        calls["data"] = (images, factories, kw)
        from emonb.metrics.randomization import DataRandomization

        return DataRandomization(table=None, targets=None, images=images, maps={}, permuted_maps={})

    monkeypatch.setattr(sanity, "cascading_randomization", cascade)
    monkeypatch.setattr(sanity, "data_randomization", data)
    return calls


def test_checks_pass_every_method_with_its_settings_and_the_chosen_faces(captured, mini_xception):
    from emonb.video.real_faces import RealFaces

    real = RealFaces(np.full((20, 48, 48), 7, np.uint8), [f"clip@{i}" for i in range(19)] + ["photo"])
    s = EvaluationSettings(n_random=5, stages=3, seed=2).capped(quick=True)
    r = sanity.model_randomization_check(mini_xception, real, settings=s)
    images, factories, kw = captured["cascade"]
    assert list(factories) == [*METHODS, *REFERENCES] and len(images) == 5
    assert kw == {"stages": 2, "seed": 2}  # quick mode caps the stages at 2
    assert r.faces == "5 faces of the manifest's media (clip 4, photo 1)"  # evenly spread picks
    smooth = factories["smoothgrad"](mini_xception)
    assert type(smooth) is METHODS["smoothgrad"] and smooth.samples == 3  # quick settings
    assert type(factories["guided_backprop"](mini_xception)) is METHODS["guided_backprop"]
    d = sanity.data_randomization_check(mini_xception, mini_xception, real, settings=s, n=4,
                                        n_boot=50)  # fmt: skip
    images, factories, kw = captured["data"]
    assert list(factories) == [*METHODS, *REFERENCES] and len(images) == 4
    assert kw["clusters"].tolist() == ["clip", "clip", "clip", "photo"] and kw["n_boot"] == 50
    assert d.faces == "4 faces of the manifest's media (clip 3, photo 1)"
    sanity.model_randomization_check(mini_xception, real, methods=["saliency"], settings=s)
    assert list(captured["cascade"][1]) == ["saliency"]


def test_a_method_that_cannot_be_built_is_left_out_with_its_reason(captured):
    from tests.metrics.test_randomization import _small_net

    net = _small_net()  # Flatten + Dense: no global average pooling for CAM
    r = sanity.model_randomization_check(net, np.zeros((3, 16, 16), np.uint8),
                                         methods=["cam", "saliency"])  # fmt: skip
    assert list(captured["cascade"][1]) == ["saliency"]
    assert list(r.left_out) == ["cam"] and "GlobalAveragePooling2D" in r.left_out["cam"]
    made = captured["cascade"][1]["saliency"]
    assert made(net) is made(net)  # built once for the model itself, reused
    with pytest.raises(Exception, match="no method could be built"):
        sanity.data_randomization_check(net, net, np.zeros((3, 16, 16), np.uint8), methods=["cam"])
