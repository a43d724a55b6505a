"""KernelSHAP and the action-unit Shapley values against references written from the
definitions: additive games (the values are the weights), small non-additive games
enumerated exactly (the permutation and subset formulas of Shapley 1953), a linear score on
real faces' action-unit regions (each region's contribution computed in NumPy), and the
mini-Xception on real faces (efficiency against probabilities computed with Keras and
OpenCV directly)."""

from __future__ import annotations

import itertools
import math

import cv2
import numpy as np
import pytest

from emonb.anatomy.au_maps import AU_MAPS, au_masks_for, au_names
from emonb.anatomy.regions import region_masks_for
from emonb.arrays import minmax
from emonb.errors import EmonbError
from emonb.faces.mesh import Landmarks
from emonb.methods.shapley import (
    REST,
    AUShapley,
    kernel_shap,
    masked_game,
    shapley_coalitions,
)


# ---- references from the definitions --------------------------------------------------------
def table_game(p: int, n: int, seed: int):
    """N random non-additive games on P players: a value per coalition, looked up by the
    coalition's bit code; returns ``(value, table)`` with ``table`` (N, 2**P)."""
    table = np.random.default_rng(seed).normal(size=(n, 2**p))

    def value(z):
        codes = (np.asarray(z, int) << np.arange(p)).sum(axis=1)
        return table[:, codes]

    return value, table


def shapley_by_permutations(table: np.ndarray, p: int) -> np.ndarray:
    """phi_j = the mean over all P! orders of j's marginal contribution when it joins."""
    phi = np.zeros((len(table), p))
    for order in itertools.permutations(range(p)):
        code = 0
        for j in order:
            phi[:, j] += table[:, code | (1 << j)] - table[:, code]
            code |= 1 << j
    return phi / math.factorial(p)


def shapley_by_subsets(table: np.ndarray, p: int) -> np.ndarray:
    """phi_j = sum over S without j of |S|! (P - |S| - 1)! / P! (v(S + j) - v(S))."""
    phi = np.zeros((len(table), p))
    for code in range(2**p):
        s = bin(code).count("1")
        for j in range(p):
            if not code >> j & 1:
                w = math.factorial(s) * math.factorial(p - s - 1) / math.factorial(p)
                phi[:, j] += w * (table[:, code | (1 << j)] - table[:, code])
    return phi


# ---- KernelSHAP, model-free --------------------------------------------------------------------
@pytest.mark.parametrize(("p", "budget"), [(5, 100), (20, 64), (20, 256)])
def test_additive_game_gives_the_weights(p, budget):
    rng = np.random.default_rng(3)
    w, b = rng.normal(size=(4, p)), rng.normal(size=4)
    phi, v_empty, v_full = kernel_shap(lambda z: b[:, None] + w @ np.asarray(z, float).T, p,
                                       coalitions=budget, seed=2)  # fmt: skip
    np.testing.assert_allclose(phi, w, atol=1e-10)
    np.testing.assert_allclose(v_empty, b, atol=1e-12)
    np.testing.assert_allclose(v_full, b + w.sum(axis=1), atol=1e-12)


@pytest.mark.parametrize(("p", "budget", "reference"), [
    (6, 62, shapley_by_permutations),  # exactly 2**6 - 2 coalitions
    (6, 5000, shapley_by_permutations),  # more than needed: still each coalition once
    (9, 510, shapley_by_subsets),
])  # fmt: skip
def test_enumerated_games_give_the_exact_shapley_values(p, budget, reference):
    value, table = table_game(p, 3, seed=p)
    phi, v_empty, v_full = kernel_shap(value, p, coalitions=budget)
    np.testing.assert_allclose(phi, reference(table, p), atol=1e-10)
    np.testing.assert_array_equal(v_empty, table[:, 0])
    np.testing.assert_array_equal(v_full, table[:, -1])


def test_enumeration_uses_the_shapley_kernel():
    z, w = shapley_coalitions(4, 14)
    assert len(z) == 14 and len({r.tobytes() for r in z}) == 14
    s = z.sum(axis=1)
    assert s.min() == 1 and s.max() == 3
    np.testing.assert_allclose(w, 3 / (np.array([0, 4, 6, 4])[s] * s * (4 - s)))


def test_sampled_coalitions_are_paired_and_within_the_budget():
    z, w = shapley_coalitions(20, 256, seed=4)
    assert len(z) == 256 and (w > 0).all()
    assert not (z.all(axis=1) | ~z.any(axis=1)).any()
    keys = {r.tobytes() for r in z}
    assert len(keys) == len(z)
    # every coalition but those of size 10 (their own complement's size) comes with its complement
    odd = [r for r in z if r.sum() != 10]
    assert all((~r).tobytes() in keys for r in odd)
    # sizes 1 and 19 fit the budget at their kernel share: all 40 are enumerated first
    assert sorted(z[:40].sum(axis=1).tolist()) == [1] * 20 + [19] * 20


@pytest.mark.parametrize("budget", [40, 100, 300])
def test_efficiency_holds_on_sampled_budgets(budget):
    p = 20
    rng = np.random.default_rng(7)
    a, c = rng.normal(size=(3, p)), rng.normal(size=(3, p, p)) / p

    def value(z):  # non-additive: pairwise interactions and a squashing
        zf = np.asarray(z, float)
        return np.tanh(a @ zf.T + np.einsum("mi,nij,mj->nm", zf, c, zf))

    phi, v_empty, v_full = kernel_shap(value, p, coalitions=budget, seed=1)
    np.testing.assert_allclose(phi.sum(axis=1), v_full - v_empty, atol=1e-5, rtol=0)
    np.testing.assert_allclose(v_full, np.tanh(a.sum(1) + c.sum(axis=(1, 2))), atol=1e-12)


def test_deterministic_for_a_seed():
    value, _ = table_game(12, 2, seed=0)
    one = kernel_shap(value, 12, coalitions=200, seed=5)[0]
    np.testing.assert_array_equal(one, kernel_shap(value, 12, coalitions=200, seed=5)[0])
    assert not np.allclose(one, kernel_shap(value, 12, coalitions=200, seed=6)[0])


def test_value_is_called_once_on_empty_full_and_the_coalitions():
    calls = []

    def value(z):
        calls.append(np.asarray(z))
        return np.zeros((1, len(z)))

    kernel_shap(value, 7, coalitions=50, seed=0)
    assert len(calls) == 1 and len(calls[0]) == 52
    assert not calls[0][0].any() and calls[0][1].all()


def test_errors():
    with pytest.raises(EmonbError, match="coalitions must be an integer >= 1"):
        kernel_shap(lambda z: np.zeros((1, len(z))), 3, coalitions=0)
    with pytest.raises(EmonbError, match=r"value\(z\) must return"):
        kernel_shap(lambda z: np.zeros(len(z)), 3, coalitions=10)


# ---- the game of a face ----------------------------------------------------------------------
def test_masked_game_blends_faces_and_baselines_in_chunks():
    rng = np.random.default_rng(0)
    x, base = rng.normal(size=(2, 3, 5, 4, 1)).astype(np.float32)
    masks = rng.random((3, 4, 5, 4)).astype(np.float32)
    masks /= masks.sum(axis=1, keepdims=True)
    weights = rng.normal(size=(2, 5, 4, 1))
    seen = []

    def score(images, targets):
        seen.append(len(images))
        return (images * weights[targets]).sum(axis=(1, 2, 3))

    z = rng.random((9, 4)) < 0.5
    got = masked_game(score, x, np.array([0, 1, 1]), masks, base, chunk=7)(z)
    assert max(seen) <= 7 and sum(seen) == 27
    for i, t in enumerate([0, 1, 1]):
        for k in range(9):
            img = base[i] + (x[i] - base[i]) * masks[i][z[k]].sum(axis=0)[..., None]
            assert got[i, k] == pytest.approx((img * weights[t]).sum(), abs=1e-5)


def test_overlapping_players_blur_the_union_of_the_absent():
    """overlap=True: a pixel keeps the face only where no absent player's mask lies (the
    absent masks' sum, capped at 1, is blurred); the grand coalition less one player is
    that player's occlusion, x (1 - m_j) + base m_j. For masks that sum to 1 it is the
    additive game."""
    rng = np.random.default_rng(1)
    x, base = rng.normal(size=(2, 2, 6, 5, 1)).astype(np.float32)
    masks = (rng.random((2, 3, 6, 5)) < 0.5).astype(np.float32)  # overlapping regions
    masks[:, 2] = 0.4  # and a soft one everywhere
    weights = rng.normal(size=(7, 6, 5, 1))

    def score(images, targets):
        return (images * weights[targets]).sum(axis=(1, 2, 3))

    targets = np.array([2, 5])
    z = np.array([[1, 1, 1], [0, 1, 1], [1, 0, 1], [1, 1, 0], [0, 0, 0], [1, 0, 0]], bool)
    got = masked_game(score, x, targets, masks, base, chunk=5, overlap=True)(z)
    for i, t in enumerate(targets):
        for k, row in enumerate(z):
            blurred = np.minimum(masks[i][~row].sum(axis=0), 1.0)[..., None]
            img = x[i] * (1 - blurred) + base[i] * blurred
            assert got[i, k] == pytest.approx(score(img[None], [t])[0], abs=1e-5)
        for j in range(3):  # one player absent: its region's occlusion
            occluded = x[i] * (1 - masks[i, j][..., None]) + base[i] * masks[i, j][..., None]
            assert got[i, 1 + j] == pytest.approx(score(occluded[None], [t])[0], abs=1e-5)
    partition = masks / np.maximum(masks.sum(axis=1, keepdims=True), 1e-9)
    partition[:, 0] += 1 - partition.sum(axis=1)  # soft masks summing to 1 at every pixel
    np.testing.assert_allclose(masked_game(score, x, targets, partition, base, overlap=True)(z),
                               masked_game(score, x, targets, partition, base)(z), atol=1e-5)


def test_appearance_players_are_the_regions_and_the_rest(mini_xception):
    """On the appearance map the players are its 22 overlapping regions and the rest of the
    face, one minus their union: blurring every player blurs the whole image."""
    from emonb.anatomy.appearance import rasterize
    from emonb.faces.mesh import FaceMesh
    from emonb.video.real_faces import real_faces

    crops = real_faces(("single-face",)).images
    marks = FaceMesh().landmarks(crops)
    ex = AUShapley(mini_xception)
    assert ex.au_map == "appearance" and ex.players == (*au_names("appearance"), REST)
    masks = ex._players(marks.xy, (48, 48))
    regions, union = rasterize(marks.xy * 64 / 48, 64, union=True)
    assert masks.shape == (len(crops), 23, 64, 64)
    np.testing.assert_array_equal(masks[:, :22], regions)
    np.testing.assert_allclose(masks[:, 22], 1 - union, atol=1e-6)
    assert masks[:, :22].sum(axis=1).max() > 1  # overlapping
    assert (np.minimum(masks.sum(axis=1), 1) == 1).all()  # no pixel escapes the empty coalition


# ---- real faces ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def crops() -> np.ndarray:
    """48x48 grey crops of the four faces of the manifest's photos."""
    from emonb.video.real_faces import real_faces

    return real_faces(("single-face", "astronaut", "multi-face")).images


@pytest.fixture(scope="module")
def marks(crops):
    from emonb.faces.mesh import FaceMesh

    found = FaceMesh().landmarks(crops)
    assert found.accepted.all()
    return found


def blur(x: np.ndarray) -> np.ndarray:
    """The blur baseline, with OpenCV directly: sigma a tenth of the side, reflected."""
    return np.stack([cv2.GaussianBlur(im, (0, 0), im.shape[0] / 10,
                                      borderType=cv2.BORDER_REFLECT) for im in x])[..., None]  # fmt: skip


def test_linear_score_on_action_unit_regions_gives_each_regions_contribution(
        mini_xception, crops, marks):  # fmt: skip
    """A linear score w.x: a region's Shapley value is w.((x - base) * mask_j)."""
    x = mini_xception.preprocess(crops)
    masks = AUShapley(mini_xception, au_map="muscle")._players(marks.xy, crops.shape[1:3])
    au = region_masks_for(marks.xy, crops.shape[1:3], 64)
    assert masks.shape == (len(x), 20, 64, 64)
    np.testing.assert_array_equal(masks[:, :19], au)
    np.testing.assert_allclose(masks.sum(axis=1), 1.0, atol=1e-6)
    w = np.random.default_rng(1).normal(size=(7, 64, 64, 1))
    base = blur(x[..., 0])

    def score(images, targets):
        return (images * w[targets]).sum(axis=(1, 2, 3))

    targets = np.array([3, 0, 5, 3])
    game = masked_game(score, x, targets, masks, base, chunk=100)
    phi, v_empty, v_full = kernel_shap(game, 20, coalitions=64, seed=0)
    expected = np.einsum("nhw,nrhw->nr", ((x - base) * w[targets])[..., 0], masks)
    np.testing.assert_allclose(phi, expected, atol=1e-3 * np.abs(expected).max())
    np.testing.assert_allclose(v_full, score(x, targets), rtol=1e-5)
    np.testing.assert_allclose(v_empty, score(base, targets), rtol=1e-5)


@pytest.fixture(scope="module", params=AU_MAPS)
def mini_values(mini_xception, crops, request):
    ex = AUShapley(mini_xception, coalitions=40, seed=0, au_map=request.param)
    return ex, ex.values(crops)


def test_values_sum_to_the_probability_of_the_face_minus_its_baseline(mini_xception, crops,
                                                                      mini_values):  # fmt: skip
    ex, sv = mini_values
    x = mini_xception.preprocess(crops)
    proba = np.asarray(mini_xception.model(x), np.float64)  # Keras itself, softmax output
    p_base = np.asarray(mini_xception.model(blur(x[..., 0])), np.float64)
    rows = np.arange(len(x))
    np.testing.assert_array_equal(sv.targets, proba.argmax(axis=1))
    np.testing.assert_allclose(sv.v_full, proba[rows, sv.targets], atol=1e-5)
    np.testing.assert_allclose(sv.v_empty, p_base[rows, sv.targets], atol=1e-5)
    np.testing.assert_allclose(sv.phi.sum(axis=1), proba[rows, sv.targets] - p_base[rows, sv.targets],
                               atol=1e-5)  # fmt: skip
    assert sv.efficiency_gap < 1e-9
    names = au_names(ex.au_map)
    assert sv.au_map == ex.au_map and sv.players == (*names, REST)
    assert sv.phi.shape == (len(x), len(names) + 1)
    assert sv.accepted.all() and sv.rejected == 0 and ex.last_rejected == 0
    assert sv.frame().columns.tolist() == list(sv.players)


def test_explain_paints_each_region_with_its_positive_value(mini_xception, crops, mini_values,
                                                           unchanged):  # fmt: skip
    ex, sv = mini_values
    check = unchanged(mini_xception.model)
    maps = ex.explain(crops)
    check()
    xy = ex._landmarks(mini_xception.preprocess(crops))[0]
    au = au_masks_for(xy, 64, 64, ex.au_map)
    expected = minmax(np.einsum("nr,nrhw->nhw", np.maximum(sv.phi[:, :-1], 0), au))
    assert maps.shape == (len(crops), 64, 64) and maps.dtype == np.float32
    np.testing.assert_allclose(maps, expected, atol=1e-5)


def test_given_landmarks_are_used_in_the_images_pixels(mini_xception, crops, marks):
    """Meshes of the 48x48 crops give the same masks as meshing here when scaled to 64."""
    ex = AUShapley(mini_xception, coalitions=40, au_map="muscle")
    sv = ex.values(crops, landmarks=marks)
    game_masks = ex._players(marks.xy, (48, 48))
    np.testing.assert_array_equal(game_masks[:, :19], region_masks_for(marks.xy, 48, 64))
    assert sv.accepted.all() and sv.efficiency_gap < 1e-9


def test_rejected_faces_take_the_mean_mesh_of_the_accepted(mini_xception, crops):
    grey = np.full((1, 48, 48), 128, np.uint8)
    ex = AUShapley(mini_xception, coalitions=40)
    # at the input size, 8-bit: the mesh sees exactly these images
    images = ex._grey(mini_xception.preprocess(np.concatenate([crops[:2], grey])))
    sv = ex.values(images)
    assert sv.accepted.tolist() == [True, True, False] and sv.rejected == 1
    assert ex.last_rejected == 1
    # the same values from explicit landmarks: the grey face's points = the mean of the others
    meshed = ex.mesh.landmarks(images)
    assert meshed.accepted.tolist() == [True, True, False]
    pts = meshed.points.copy()
    pts[2] = pts[:2].mean(axis=0)
    filled = Landmarks(pts, meshed.presence, np.ones(3, bool))
    ref = AUShapley(mini_xception, coalitions=40).values(images, landmarks=filled)
    np.testing.assert_allclose(sv.phi, ref.phi, atol=1e-9)
    assert not np.allclose(sv.phi[2], sv.phi[1], atol=1e-3)


def test_explain_leaves_a_rejected_face_unexplained_whatever_its_batch(mini_xception, crops):
    grey = np.full((1, 48, 48), 128, np.uint8)
    ex = AUShapley(mini_xception, coalitions=40)
    images = ex._grey(mini_xception.preprocess(np.concatenate([crops[:2], grey])))
    maps = ex.explain(images)
    assert ex.last_rejected == 1 and not maps[2].any() and maps[:2].max() > 0
    alone = ex.explain(images[2:])  # no accepted face in the call: no error, a zero map
    assert ex.last_rejected == 1 and not alone.any()
    np.testing.assert_allclose(ex.explain(images[1:2]), maps[1:2], atol=1e-6)  # own batch


def test_no_accepted_face_is_one_clear_error(mini_xception):
    grey = np.full((2, 48, 48), 128, np.uint8)
    with pytest.raises(EmonbError, match="rejected all 2 faces; au_shap needs at least one"):
        AUShapley(mini_xception, coalitions=40).values(grey)


def test_settings_are_checked(mini_xception):
    for kwargs, msg in [({"coalitions": 0}, "coalitions"), ({"chunk": 1.5}, "chunk"),
                        ({"baseline": "noise"}, "unknown baseline"),
                        ({"au_map": "py-feat"}, "unknown action-unit map")]:  # fmt: skip
        with pytest.raises(EmonbError, match=msg):
            AUShapley(mini_xception, **kwargs)
    assert AUShapley.name == "au_shap"
    assert AUShapley(mini_xception, coalitions=100).forward_passes == 102
    paragraphs = [part.strip() for part in AUShapley.__doc__.strip().split("\n\n")]
    assert paragraphs[-1].startswith("References:") and paragraphs[-2].startswith("Caveat:")
