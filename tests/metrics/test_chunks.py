"""Chunks of a map evaluation: every per-face metric gives each face the same numbers
whichever faces share its chunk (the premise of running chunks on workers), and the
chunks pool back in face order."""

import numpy as np
import pytest

from emonb.metrics.chunks import ChunkScores, chunk_bounds, pool_chunks
from emonb.metrics.perturbation import Curves, faithfulness_correlation, perturbation_curves
from emonb.metrics.randomization import random_logit
from emonb.metrics.road import noisy_linear_imputation, road_curves
from emonb.metrics.robustness import max_sensitivity
from emonb.metrics.suite import chunk_samples
from emonb.records import json_leaves

RNG = np.random.default_rng(3)
N, H = 10, 12
X = RNG.random((N, H, H, 1)).astype(np.float32)
MAPS = RNG.random((N, H, H)).astype(np.float32)
MAPS[:, :4, :4] = 0.5  # ties, broken by the seeded draws
TARGETS = RNG.integers(0, 3, N)
IDS = np.array([7, 3, 12, 0, 5, 40, 41, 9, 2, 8])
CUTS = [(0, 4), (4, 5), (5, 10)]


def score(img, targets):
    """A toy class score: the mean of a target-dependent band of the image."""
    img = np.asarray(img)[..., 0]
    rows = [img[i, 2 * t : 2 * t + 5].mean() for i, t in enumerate(np.asarray(targets))]
    return np.asarray(rows, np.float32)


def explain(x, targets):
    """A toy explainer that depends on the input and the class."""
    x = np.asarray(x)[..., 0]
    return (x * (1 + np.asarray(targets))[:, None, None] % 1).astype(np.float32)


def in_chunks(fn):
    """``fn(rows)`` of the whole set, and of the chunks of CUTS concatenated."""
    return fn(np.arange(N)), np.concatenate([fn(np.arange(a, b)) for a, b in CUTS])


@pytest.mark.parametrize("mode", ["deletion", "insertion"])
def test_perturbation_curves_do_not_depend_on_the_chunk(mode):
    whole, parts = in_chunks(lambda r: perturbation_curves(
        score, X[r], MAPS[r], TARGETS[r], mode=mode, steps=6, seed=1, ids=IDS[r]).scores)
    np.testing.assert_array_equal(whole, parts)


def test_ties_break_by_the_face_id_not_its_position():
    a = perturbation_curves(score, X[:2], MAPS[:2], TARGETS[:2], steps=6, seed=1, ids=IDS[:2])
    b = perturbation_curves(score, X[1::-1], MAPS[1::-1], TARGETS[1::-1], steps=6, seed=1,
                            ids=IDS[1::-1])  # fmt: skip
    np.testing.assert_array_equal(a.scores, b.scores[::-1])
    flat = np.zeros_like(MAPS[:2])  # all ties: the removal order is the draws' alone
    c, d = (perturbation_curves(score, X[:2], flat, TARGETS[:2], steps=6, seed=1, ids=ids)
            for ids in ([0, 1], [100, 101]))  # fmt: skip
    assert not np.array_equal(c.scores, d.scores)  # other ids, other tie-breaks


def test_faithfulness_correlation_does_not_depend_on_the_chunk():
    whole, parts = in_chunks(lambda r: faithfulness_correlation(
        score, X[r], {"a": MAPS[r]}, TARGETS[r], subset=0.2, runs=8, seed=2, ids=IDS[r])["a"])
    np.testing.assert_array_equal(whole, parts)


def test_imputation_and_road_do_not_depend_on_the_chunk():
    removed = MAPS > 0.6
    whole, parts = in_chunks(lambda r: noisy_linear_imputation(X[r], removed[r], seed=[4, 1],
                                                               ids=IDS[r]))  # fmt: skip
    np.testing.assert_array_equal(whole, parts)
    whole, parts = in_chunks(lambda r: road_curves(score, X[r], MAPS[r], TARGETS[r], seed=4,
                                                   ids=IDS[r]).scores)  # fmt: skip
    np.testing.assert_array_equal(whole, parts)


def test_robustness_draws_do_not_depend_on_the_chunk():
    whole, parts = in_chunks(lambda r: max_sensitivity(explain, X[r], TARGETS[r], samples=3,
                                                       value_range=(0, 1), seed=5, ids=IDS[r]))  # fmt: skip
    np.testing.assert_array_equal(whole, parts)
    whole, parts = in_chunks(lambda r: random_logit(explain, X[r], TARGETS[r], 3, seed=5,
                                                    ids=IDS[r]))  # fmt: skip
    np.testing.assert_array_equal(whole, parts)


def test_chunk_bounds_cover_the_faces_once():
    assert chunk_bounds(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert chunk_bounds(10, None) == [(0, 10)]
    assert chunk_bounds(3, 8) == [(0, 3)]


def test_chunk_samples_are_the_whole_samples_rows_counted_from_the_chunk():
    samples = {4: np.array([1, 4, 6, 9])}
    assert [chunk_samples(samples, a, b)[4].tolist() for a, b in CUTS] == [[1], [0], [1, 4]]


def test_pooled_chunks_are_in_face_order_and_sum_their_seconds():
    def part(lo, hi, t):
        v = np.arange(lo, hi, dtype=np.float32)
        c = Curves("deletion", np.linspace(0, 1, 3), np.stack([v, v, v], 1))
        return ChunkScores({"m": v[:, None, None]}, {"m": {"AUC": v}}, {"m": {"deletion": c}},
                           {"m": {"maps": t}, "shared": t})  # fmt: skip

    pooled = pool_chunks([part(0, 3, 1.0), part(3, 5, 2.5)])
    assert pooled.values["m"]["AUC"].tolist() == [0, 1, 2, 3, 4]
    assert pooled.maps["m"].shape == (5, 1, 1)
    assert pooled.curves["m"]["deletion"].scores[:, 0].tolist() == [0, 1, 2, 3, 4]
    assert pooled.seconds == {"m": {"maps": 3.5}, "shared": 3.5}


# -- the whole evaluation on a cluster of two worker processes ------------------------


def tiny_evaluation(net, **where):
    from emonb.data.fer2013 import load_faces
    from emonb.metrics.evaluate import evaluate_maps
    from emonb.metrics.settings import EvaluationSettings

    faces = load_faces("synthetic", n_synthetic=140, seed=0)
    settings = EvaluationSettings(n=16, steps=4, stages=1, n_random=2, n_regions=8, n_road=6,
                                  n_robust=4, sensitivity_samples=2, correlation_runs=4)
    return evaluate_maps(net, faces, methods=["saliency", "gradcam"], settings=settings,
                         pointing_net=net, pointing_faces=faces, log=None,
                         **where).to_json()  # fmt: skip


@pytest.fixture(scope="module")
def in_process(mini_xception):
    return tiny_evaluation(mini_xception)


def assert_same_numbers(a, b):
    na, nb = (json_leaves(doc, skip=("seconds", "engine")) for doc in (a, b))  # not timings
    assert na.keys() == nb.keys()
    floats = [k for k, v in na.items() if isinstance(v, float)]
    assert len(floats) > 150  # the table, the curves, the randomization, the regions
    assert {k: v for k, v in na.items() if k not in floats} == \
        {k: v for k, v in nb.items() if k not in floats}  # fmt: skip
    np.testing.assert_allclose([na[k] for k in floats], [nb[k] for k in floats],
                               rtol=1e-5, atol=1e-5)  # fmt: skip


def test_a_cluster_of_two_workers_gives_the_in_process_numbers(mini_xception, dask_client,
                                                               in_process):  # fmt: skip
    there = tiny_evaluation(mini_xception, client=dask_client, chunk=5)
    engine = there["settings"]["engine"]
    n = there["settings"]["n"]
    assert (engine["engine"], engine["workers"], engine["chunks"]) == ("dask", 2, -(-n // 5))
    assert in_process["settings"]["engine"]["engine"] == "in-process"
    assert_same_numbers(in_process, there)


def test_real_faces_action_units_and_regions_on_two_workers_equal_in_process(mini_xception,
                                                                             dask_client):  # fmt: skip
    """Real faces with their mesh (the manifest's photos and clip, and a grey square the
    mesh rejects), in chunks of 5 on two workers: each face's action-unit evidence (measured
    with its chunk) and the face regions (side tasks) give the in-process run's numbers."""
    from emonb.data.fer2013 import FaceDataset
    from emonb.metrics.evaluate import evaluate_maps
    from emonb.metrics.settings import EvaluationSettings
    from tests.metrics.test_action_units import real_face_crops

    images = np.concatenate([real_face_crops(), np.full((1, 48, 48), 128, np.uint8)])
    n = len(images)
    faces = FaceDataset(images, np.arange(n) % 7, np.full(n, "PublicTest"), source="test")
    settings = EvaluationSettings(n=n, steps=2, stages=1, n_random=2, n_robust=2, n_road=3,
                                  au_maps=("appearance", "muscle"))  # fmt: skip
    kw = {"methods": ["gradcam", "occlusion"], "settings": settings, "log": None}
    here = evaluate_maps(mini_xception, faces, **kw).to_json()
    there = evaluate_maps(mini_xception, faces, client=dask_client, chunk=5, **kw).to_json()
    engine = there["settings"]["engine"]
    assert engine["chunks"] == -(-n // 5) and engine["region_chunks"] == -(-(n - 1) // 5)
    assert len(engine["task_seconds"]["regions"]) == engine["region_chunks"]
    assert there["action_units"]["faces_analysed"] == n - 1  # the grey square left out
    assert there["action_units"]["enrichment"]["occlusion map"]  # the method's maps, renamed
    assert_same_numbers(here, there)


def test_a_worker_killed_mid_evaluation_changes_no_number(mini_xception, dask_client, in_process):
    import threading

    from tests.test_engine import kill_a_busy_worker

    dask_client.wait_for_workers(2, timeout=60)  # a worker an earlier test lost is back
    done, killed = threading.Event(), []
    killer = threading.Thread(target=lambda: killed.extend(kill_a_busy_worker(dask_client, done)))
    killer.start()
    try:
        there = tiny_evaluation(mini_xception, client=dask_client, chunk=3)
    finally:
        done.set()
        killer.join()
    assert killed, "no worker was killed while the chunks ran"
    assert_same_numbers(in_process, there)
    dask_client.wait_for_workers(2, timeout=60)
