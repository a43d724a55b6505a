"""More class activation maps on :class:`~emonb.methods.cam.BaseCAM`: XGrad-CAM, HiResCAM,
Eigen-CAM, EigenGrad-CAM and Ablation-CAM.

Each overrides one hook of :class:`BaseCAM`: :meth:`~BaseCAM.weights` (channel weights,
combined as ``ReLU(sum_k w_k A_k)``) or :meth:`~BaseCAM.cam` (the whole map). Ablation-CAM
runs its channel-ablated forward passes through the runner
(:meth:`~emonb.models.runner.Runner.ablated_scores`), in large batches.
"""

from __future__ import annotations

import numpy as np

from emonb.methods.cam import BaseCAM, ChannelCAM

__all__ = [
    "AblationCAM",
    "EigenCAM",
    "EigenGradCAM",
    "HiResCAM",
    "XGradCAM",
    "principal_projection",
]

def principal_projection(maps: np.ndarray) -> np.ndarray:
    """Signed first principal component of each map stack (n, h, w, k) -> (n, h, w).

    The (h*w, k) matrix of each image is centred over positions and projected on its first
    right singular vector. A singular vector's sign is arbitrary (pytorch-grad-cam's
    ``get_2d_projection`` leaves it to the SVD routine); here it is chosen so that the
    projection correlates positively with the channel sum ``sum_k maps[..., k]``, and kept
    as the SVD gives it when that correlation is zero.
    """
    n, h, w, k = maps.shape
    m = maps.reshape(n, h * w, k).astype(np.float64)
    m = m - m.mean(axis=1, keepdims=True)
    _, _, vt = np.linalg.svd(m, full_matrices=False)
    proj = np.einsum("npk,nk->np", m, vt[:, 0, :])  # (n, h*w), mean zero
    total = maps.reshape(n, h * w, k).sum(axis=-1, dtype=np.float64)
    sign = np.where(np.einsum("np,np->n", proj, total) < 0, -1.0, 1.0)
    return (proj * sign[:, None]).reshape(n, h, w)

class XGradCAM(BaseCAM):
    """XGrad-CAM: each channel weighted by its gradient averaged with the channel's own
    normalised activation as weights, ``w_k = sum_ij (A^k_ij / sum_ab A^k_ab) dS/dA^k_ij``.

    A channel whose activations sum to zero gets weight 0.

    Caveat: the axioms assume non-negative (post-ReLU) activations; on a layer with signed
    outputs a channel whose activations nearly cancel gets an inflated weight.

    References: Fu, Hu, Dong, Li & Qiao, "Axiom-based Grad-CAM: Towards Accurate
    Visualization and Explanation of CNNs", BMVC 2020.
    """

    name = "xgradcam"

    def weights(self, acts, grads, x, idx):
        a, g = acts.astype(np.float64), grads.astype(np.float64)
        total = a.sum(axis=(1, 2))  # (n, k)
        w = (a * g).sum(axis=(1, 2)) / np.where(total != 0.0, total, 1.0)
        return np.where(total != 0.0, w, 0.0)

class HiResCAM(BaseCAM):
    """HiResCAM: the gradient multiplies the activation element-wise, without pooling,
    ``ReLU(sum_k dS/dA^k ⊙ A^k)`` (unlike Layer-CAM, negative gradients count). For a
    global-average-pooling + dense head it equals CAM up to the factor ``1 / (h w)``.

    References: Draelos & Carin, "Use HiResCAM instead of Grad-CAM for faithful
    explanations of convolutional neural networks", arXiv:2011.08891, 2020.
    """

    name = "hirescam"

    def cam(self, acts, grads, x, idx):
        return np.maximum((grads * acts).sum(axis=-1), 0.0)

class EigenCAM(BaseCAM):
    """Eigen-CAM: the first principal component of the layer's activations,
    ``ReLU(principal_projection(A))`` (:func:`principal_projection`: positions centred, first
    right singular vector). No gradients. The sign, arbitrary in an SVD and left so by
    pytorch-grad-cam, is chosen here so the map correlates positively with the
    channel-summed activation.

    Caveat: class-agnostic: targets are accepted and ignored, every class gets the same map.

    References: Muhammad & Yeasin, "Eigen-CAM: Class Activation Map using Principal
    Components", IJCNN 2020.
    """

    name = "eigencam"
    needs_gradients = False

    def cam(self, acts, grads, x, idx):
        return np.maximum(principal_projection(acts), 0.0)

class EigenGradCAM(BaseCAM):
    """EigenGrad-CAM: Eigen-CAM's projection applied to the gradient-weighted activations
    ``dS/dA ⊙ A``, which makes it class-dependent; sign chosen to correlate positively
    with ``sum_k dS/dA^k ⊙ A^k`` (:func:`principal_projection`).

    This variant is pytorch-grad-cam's (``EigenGradCAM``), not the paper's.

    References: Muhammad & Yeasin, "Eigen-CAM: Class Activation Map using Principal
    Components", IJCNN 2020; Gildenblat et al., pytorch-grad-cam (GitHub), 2021.
    """

    name = "eigengradcam"

    def cam(self, acts, grads, x, idx):
        return np.maximum(principal_projection(grads * acts), 0.0)

class AblationCAM(ChannelCAM):
    """Ablation-CAM: channel ``k`` weighs ``w_k = (y_c - y_c^k) / y_c``, the relative drop of
    the target score ``y_c`` (the runner's score: the logit by default) when channel ``k`` of
    the layer is set to zero; the map is ``ReLU(sum_k w_k A_k)``. No gradients.

    Every (image, channel) ablation, plus one unablated pass per image for ``y_c`` (so both
    are computed alike), goes through the model in batches of ``chunk``. With
    ``max_channels`` only the channels with the largest mean activation per image are
    ablated; the others get weight 0.

    Dividing by ``y_c`` scales an image's map by ``1 / y_c``: normalisation removes the size
    of that factor, not its sign. When ``|y_c| < 1e-6`` the drops are used undivided.

    Caveat: with logits, a negative target score (common for a class that is not predicted)
    flips every weight's sign, as in the paper's formula; each ablation is a full forward
    pass, ``k + 2`` per image.

    References: Desai & Ramaswamy, "Ablation-CAM: Visual Explanations for Deep Convolutional
    Network via Gradient-free Localization", WACV 2020.
    """

    name = "ablationcam"
    needs_gradients = False
    #: Below this ``|y_c|``, score drops are not divided by ``y_c``.
    eps = 1e-6

    @property
    def forward_passes(self) -> int:
        return 2 + self.channels_used

    def weights(self, acts, grads, x, idx):
        n, k = acts.shape[0], acts.shape[-1]
        keep = k if self.max_channels is None else min(k, self.max_channels)
        order = np.argsort(-acts.mean(axis=(1, 2)), axis=1, kind="stable")[:, :keep]  # (n, keep)
        # rows per image: one unablated, then one per ablated channel
        scale = np.ones((n, keep + 1, k), dtype=np.float32)
        rows = np.arange(n)[:, None]
        scale[rows, np.arange(1, keep + 1)[None, :], order] = 0.0
        scale = scale.reshape(n * (keep + 1), k)
        image = np.repeat(np.arange(n), keep + 1)
        scores = np.concatenate([
            self.runner.ablated_scores(x[image[s : s + self.chunk]], self.layer,
                                       scale[s : s + self.chunk], batch_size=self.chunk)
            for s in range(0, len(scale), self.chunk)
        ]).reshape(n, keep + 1, -1)  # fmt: skip
        y = scores[np.arange(n), :, idx].astype(np.float64)  # (n, keep + 1)
        base = y[:, :1]
        drops = (base - y[:, 1:]) / np.where(np.abs(base) >= self.eps, base, 1.0)
        w = np.zeros((n, k))
        np.put_along_axis(w, order, drops, axis=1)
        return w
