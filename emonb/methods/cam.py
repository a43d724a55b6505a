"""Class activation maps: CAM, Grad-CAM (+ the seed's ReLU-rule variants), Grad-CAM++,
Layer-CAM, Score-CAM, guided Grad-CAM, and plain layer activation maps.

:class:`BaseCAM` reads the target layer's activation ``A`` (n, h, w, k) and, when the
method needs them, the gradients of the class score with respect to it, in one compiled
pass; a method overrides :meth:`BaseCAM._weights` (channel weights, Grad-CAM style) or
:meth:`BaseCAM._cam` (the whole combination, Layer-CAM). The map is
``ReLU(sum_k w_k A_k)``, upsampled bilinearly and normalised by the base class.
"""

from __future__ import annotations

import cv2
import numpy as np

from emonb._tf import keras, tf
from emonb.arrays import minmax
from emonb.errors import EmonbError, check_count
from emonb.methods.base import Explainer
from emonb.methods.gradients import GuidedBackprop
from emonb.models import graph
from emonb.models.cam_layer import default_cam_layer

__all__ = [
    "CAM",
    "ActivationMap",
    "BaseCAM",
    "ChannelCAM",
    "GradCAM",
    "GradCAMPlusPlus",
    "GuidedGradCAM",
    "LayerCAM",
    "ScoreCAM",
]


class BaseCAM(Explainer):
    """Forward to the target layer, score, backward, weight channels, ReLU.

    ``layer`` (name or index) defaults to the model's CAM layer
    (:func:`emonb.models.cam_layer.default_cam_layer`: the one recorded with the model,
    else the deepest spatial convolution that is not a class-per-channel head feeding
    global pooling). ``relu_rule`` ("none", "relu", "guided") changes the backward rule of the ReLUs
    *between the layer and the output* (keras-vis' ``backprop_modifier``).
    """

    uses_layer = True
    needs_gradients = True

    def __init__(
        self, model, *, layer: str | int | None = None, relu_rule: str | None = None, **kwargs
    ):
        super().__init__(model, **kwargs)
        self.layer = (graph.find_layer(self.net.model, layer)[0] if layer is not None
                      else default_cam_layer(self.net).name)  # fmt: skip
        self._use_relu_rule(relu_rule)
        self._fused = None

    def predict_and_explain(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`Explainer.predict_and_explain` in one compiled pass per batch: the
        forward pass to the scores, the predicted class taken in the graph
        (``tf.argmax`` of the scores), its gradient to the layer. The probabilities equal
        ``runner.probabilities(x)`` up to float rounding (the target layer is not folded
        into its BatchNorm here); the maps equal :meth:`explain_inputs` of the predicted
        classes. Methods that replace :meth:`_attribute` (Score-CAM) take two passes."""
        if type(self)._attribute is not BaseCAM._attribute:
            return super().predict_and_explain(x)
        if self._fused is None:
            self._fused = self.runner.compile(
                lambda z: self.runner.scored_layer_gradients(
                    z, None, self.layer, relu_rule=self.relu_rule,
                    gradients=self.needs_gradients),
                with_targets=False)  # fmt: skip
        scores, maps = [], []
        for start in range(0, len(x), self.batch_size):
            chunk = x[start : start + self.batch_size]
            s, idx, acts, grads = (t.numpy() for t in self._fused(tf.constant(chunk, tf.float32)))
            self._check_spatial(acts)
            scores.append(s)
            maps.append(np.asarray(self.cam(acts, grads, chunk, idx), dtype=np.float32))
        if not scores:
            h, w = self.net.spec.input_size
            return (np.zeros((0, len(self.class_names)), np.float32),
                    np.zeros((0, h, w), np.float32))  # fmt: skip
        proba = self.runner.to_probabilities(np.concatenate(scores))
        return proba, minmax(self._resize(np.concatenate(maps)))

    def activations_and_gradients(
        self, x: np.ndarray, idx: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Target-layer activations and d score / d activations, each (n, h, w, k)."""
        fn = self.runner.layer_gradients_fn(self.layer, self.relu_rule, self.needs_gradients)
        acts, grads = fn(tf.constant(x, tf.float32), tf.constant(idx, tf.int32))
        return acts.numpy(), grads.numpy()

    def weights(
        self, acts: np.ndarray, grads: np.ndarray, x: np.ndarray, idx: np.ndarray
    ) -> np.ndarray:
        """Channel weights (n, k) from activations and gradients (n, h, w, k), the hook most
        CAMs override. Grad-CAM: the spatial mean of the gradients."""
        return grads.mean(axis=(1, 2))

    def cam(self, acts: np.ndarray, grads: np.ndarray, x: np.ndarray,
            idx: np.ndarray) -> np.ndarray:  # fmt: skip
        """Raw maps (n, h, w): ``ReLU(sum_k weights_k * A_k)``; Layer-CAM and plain
        activation maps override this hook instead of :meth:`weights`."""
        w = self.weights(acts, grads, x, idx)
        return np.maximum(np.einsum("nhwk,nk->nhw", acts, w), 0.0)

    def _check_spatial(self, acts: np.ndarray) -> None:
        if acts.ndim != 4:
            raise EmonbError(
                f"layer {self.layer!r} has output shape {acts.shape[1:]}; CAMs need (h, w, channels)"
            )

    def _attribute(self, x, idx):
        acts, grads = self.activations_and_gradients(x, idx)
        self._check_spatial(acts)
        return self.cam(acts, grads, x, idx)


class GradCAM(BaseCAM):
    """Grad-CAM: channels weighted by the spatially averaged gradient of the class score.

    References: Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via
    Gradient-based Localization", ICCV 2017.
    """

    name = "gradcam"


class GradCAMRelu(GradCAM):
    """Grad-CAM with the deconvnet ("relu") backward rule above the layer — the seed paper's
    "relu" activation map (keras-vis ``visualize_cam(backprop_modifier="relu")``).

    Caveat: modified backward rules make maps less dependent on the weights (Adebayo et
    al., 2018).

    References: Selvaraju et al., ICCV 2017; Zeiler & Fergus, ECCV 2014.
    """

    name = "gradcam_relu"
    relu_rule = "relu"


class GradCAMGuided(GradCAM):
    """Grad-CAM with the guided-backprop backward rule above the layer — the seed paper's
    "guided" activation map (keras-vis ``visualize_cam(backprop_modifier="guided")``).

    Caveat: guided rules fail the model-randomization sanity check (Adebayo et al., "Sanity
    Checks for Saliency Maps", NeurIPS 2018).

    References: Selvaraju et al., ICCV 2017; Springenberg et al., ICLR workshop 2015.
    """

    name = "gradcam_guided"
    relu_rule = "guided"


class GradCAMPlusPlus(GradCAM):
    """Grad-CAM++: pixel-wise weighted positive gradients, with the closed-form alphas of
    the exponential-score derivation (the ``exp(score)`` factor is one positive number per
    image and drops out in normalisation). Each channel's alphas are scaled to sum to 1, as
    in the authors' released code and tf-keras-vis (the paper's equations do not).

    References: Chattopadhay, Sarkar, Howlader & Balasubramanian, "Grad-CAM++: Improved
    Visual Explanations for Deep Convolutional Networks", WACV 2018.
    """

    name = "gradcam_plus_plus"

    def weights(self, acts, grads, x, idx):
        g2, g3 = grads**2, grads**3
        denom = 2.0 * g2 + acts.sum(axis=(1, 2), keepdims=True) * g3
        alphas = g2 / np.where(denom != 0.0, denom, 1.0)
        norm = alphas.sum(axis=(1, 2), keepdims=True)
        alphas = alphas / np.where(norm != 0.0, norm, 1.0)
        return (alphas * np.maximum(grads, 0.0)).sum(axis=(1, 2))


class LayerCAM(BaseCAM):
    """Layer-CAM: every location weighted by its own positive gradient,
    ``ReLU(sum_k ReLU(g_k) * A_k)``; works on shallow layers too.

    References: Jiang, Zhang, Hou, Cheng & Wei, "LayerCAM: Exploring Hierarchical Class
    Activation Maps for Localization", IEEE TIP 2021.
    """

    name = "layercam"

    def cam(self, acts, grads, x, idx):
        return np.maximum((np.maximum(grads, 0.0) * acts).sum(axis=-1), 0.0)


class ChannelCAM(BaseCAM):
    """A CAM that runs the model once per channel of the layer (Score-CAM, Ablation-CAM):
    ``max_channels`` limits it to the channels with the largest mean activation per image,
    and ``chunk`` is the batch of those extra forward passes."""

    def __init__(self, model, *, max_channels: int | None = None, chunk: int = 512, **kwargs):
        super().__init__(model, **kwargs)
        self.max_channels = None if max_channels is None else check_count("max_channels", max_channels)
        self.chunk = check_count("chunk", chunk)

    @property
    def channels_used(self) -> int:
        """Channels of the layer the method runs the model for."""
        k = self.runner.output_shape(self.layer)[-1]
        return k if self.max_channels is None else min(k, self.max_channels)


class ScoreCAM(ChannelCAM):
    """Score-CAM: each channel, upsampled and min-max normalised, masks the input; its weight
    is the softmax probability of the class on the masked input. No gradients.

    All (image, channel) masked inputs go through the model in large batches. With
    ``max_channels`` only the channels with the
    largest mean activation per image are used.

    References: Wang et al., "Score-CAM: Score-Weighted Visual Explanations for
    Convolutional Neural Networks", CVPR workshops 2020.
    """

    name = "scorecam"
    needs_gradients = False

    @property
    def forward_passes(self) -> int:
        return 1 + self.channels_used

    def _channel_masks(self, acts: np.ndarray) -> np.ndarray:
        """(n, k, H, W) masks: each channel upsampled to the input, min-max normalised."""
        n, h, w, k = acts.shape
        H, W = self.net.spec.input_size
        up = tf.image.resize(tf.constant(acts), (H, W), method="bilinear").numpy()  # (n, H, W, k)
        return np.transpose(minmax(up, axes=(1, 2)), (0, 3, 1, 2))

    def _attribute(self, x, idx):
        acts, _ = self.activations_and_gradients(x, idx)
        n, _, _, k = acts.shape
        keep = k if self.max_channels is None else min(k, self.max_channels)
        if keep < k:
            order = np.argsort(-acts.mean(axis=(1, 2)), axis=1, kind="stable")[
                :, :keep
            ]  # (n, keep)
        else:
            order = np.tile(np.arange(k), (n, 1))
        masks = self._channel_masks(acts)  # (n, k, H, W)
        chosen = np.take_along_axis(masks, order[:, :, None, None], axis=1)  # (n, keep, H, W)
        masked = (x[:, None] * chosen[..., None]).reshape(n * keep, *x.shape[1:])
        proba = self.runner.probabilities(masked, batch_size=self.chunk).reshape(n, keep, -1)
        weights = np.zeros((n, k), dtype=np.float32)
        np.put_along_axis(weights, order, proba[np.arange(n), :, idx], axis=1)
        return np.maximum(np.einsum("nhwk,nk->nhw", acts, weights), 0.0)


class CAM(Explainer):
    """Class activation mapping for global-average-pooled models: the feature maps that
    feed the global average pooling, weighted by the following dense layer's weights for
    the class — or taken as they are when the pooled layer already has one channel per
    class (the mini-Xception). Needs no gradients and no choice of layer.

    References: Zhou, Khosla, Lapedriza, Oliva & Torralba, "Learning Deep Features for
    Discriminative Localization", CVPR 2016.
    """

    name = "cam"

    def __init__(self, model, **kwargs):
        super().__init__(model, **kwargs)
        layers = list(graph.iter_layers(self.net.model))
        gap = [
            i
            for i, (_, lyr) in enumerate(layers)
            if isinstance(lyr, keras.layers.GlobalAveragePooling2D)
        ]
        if not gap:
            raise EmonbError("CAM needs a GlobalAveragePooling2D layer; use gradcam for this model")
        i = gap[-1]
        after = [
            lyr
            for _, lyr in layers[i + 1 :]
            if not isinstance(lyr, (keras.layers.Activation, keras.layers.Dropout))
        ]
        self.layer = layers[i - 1][0]
        n_classes = len(self.class_names)
        if len(after) == 1 and isinstance(after[0], keras.layers.Dense):
            self._head = after[0]
        elif not after:
            self._head = None  # pooled channels are the class scores
        else:
            raise EmonbError(
                "CAM needs global average pooling followed by one Dense layer (or by the output); "
                f"this model has {', '.join(type(a).__name__ for a in after)} after it: use gradcam"
            )
        self._forward = self.runner.compile(
            lambda x: self.runner.run(x, keep=[self.layer])[1][self.layer], with_targets=False
        )
        if self.class_weights is None and self._forward_shape()[-1] != n_classes:
            raise EmonbError(
                f"CAM: layer {self.layer!r} has {self._forward_shape()[-1]} channels, not one per class"
            )

    @property
    def class_weights(self) -> np.ndarray | None:
        """The Dense head's kernel (k, n_classes), read when used (so that weights assigned
        to the model later count, as :func:`emonb.models.runner.reload_weights` makes the
        runner's count); None: the pooled channels are the class scores."""
        if self._head is None:
            return None
        return np.asarray(self._head.get_weights()[0], dtype=np.float32)

    def _forward_shape(self) -> tuple:
        return self.runner.output_shape(self.layer)

    def _attribute(self, x, idx):
        acts = self._forward(tf.constant(x)).numpy()
        weights = self.class_weights
        if weights is None:
            cam = np.take_along_axis(acts, idx[:, None, None, None], axis=-1)[..., 0]
        else:
            cam = np.einsum("nhwk,kn->nhw", acts, weights[:, idx])
        return np.maximum(cam, 0.0)


class GuidedGradCAM(Explainer):
    """Guided Grad-CAM: the guided-backprop map multiplied by the (upsampled) Grad-CAM map.

    Caveat: inherits guided backprop's insensitivity to the model's weights (Adebayo et
    al., "Sanity Checks for Saliency Maps", NeurIPS 2018).

    References: Selvaraju et al., ICCV 2017.
    """

    name = "guided_gradcam"
    uses_layer = True

    def __init__(self, model, *, layer: str | int | None = None, **kwargs):
        super().__init__(model, **kwargs)
        self.gradcam = GradCAM(self.net, layer=layer, score=self.score, batch_size=self.batch_size)
        self.guided = GuidedBackprop(self.net, score=self.score, batch_size=self.batch_size)
        self.layer = self.gradcam.layer

    @property
    def forward_passes(self) -> int:
        return 2  # Grad-CAM's and guided backprop's

    def _attribute(self, x, idx):
        cam = self.gradcam._resize(self.gradcam._attribute(x, idx))
        return self.guided._attribute(x, idx) * cam


class ActivationMap(BaseCAM):
    """The layer's mean positive activation over channels, or one channel (``filter``):
    the per-layer "heatmaps" and feature maps of the seed reports, upsampled bicubically.
    Class-independent: targets are accepted and ignored.

    References: Zeiler & Fergus, "Visualizing and Understanding Convolutional Networks",
    ECCV 2014.
    """

    name = "activation"
    needs_gradients = False
    interpolation = cv2.INTER_CUBIC  # the seed's bicubic upsampling

    def __init__(self, model, *, filter: int | None = None, **kwargs):
        super().__init__(model, **kwargs)
        self.filter = filter
        if filter is not None:
            channels = self.runner.output_shape(self.layer)[-1]
            if not 0 <= int(filter) < channels:
                raise EmonbError(
                    f"filter {filter} is out of range for layer {self.layer!r}: it has {channels} filters (0..{channels - 1})"
                )

    def cam(self, acts, grads, x, idx):
        if self.filter is not None:
            return acts[..., int(self.filter)]
        return np.maximum(acts, 0.0).mean(axis=-1)
