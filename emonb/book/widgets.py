"""Live explorers for Jupyter: sliders over feature maps and over explanation maps.

Everything expensive happens once, when an explorer is made: one forward pass over the
faces for :class:`FeatureMapExplorer`; for :class:`MapExplorer`, one batch per (method,
layer) with every face and every emotion, computed the first time that pair is shown and
cached. A slider move then only picks a stored array, colours it through a lookup table
and encodes a PNG for an ``ipywidgets.Image``: ``benchmarks/widgets.py`` measures that.
The static book shows :mod:`emonb.book.explorer` instead, coloured the same way.

The explorers work without a front end too: :meth:`render` returns the RGB image a slider
position shows, which is what the tests and the benchmark call.
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence

import cv2
import numpy as np

from emonb.arrays import minmax
from emonb.errors import EmonbError
from emonb.models.cam_layer import default_cam_layer
from emonb.models.graph import spatial_conv_layers
from emonb.models.targets import resolve_targets
from emonb.models.tracing import output_shapes
from emonb.models.zoo import EmotionModel

__all__ = ["DEFAULT_METHODS", "FeatureMapExplorer", "MapExplorer", "channel_names",
           "colorize", "colour_bar_html", "live_channel", "lut_bins", "png_bytes"]  # fmt: skip

#: Methods a :class:`MapExplorer` offers by default (the fast ones; Score-CAM on request).
DEFAULT_METHODS = ("saliency", "guided_backprop", "gradcam", "gradcam_plus_plus", "layercam",
                   "cam")  # fmt: skip


def lut_bins(maps: np.ndarray) -> np.ndarray:
    """Maps (N, h, w), each min-max scaled as the chapters' feature-map grids are (a flat map
    is 0; :func:`emonb.activations.feature_grid`), as the colour LUT's bins 0..255: uint8."""
    from emonb.plotting.colours import lut_index

    return lut_index(minmax(np.asarray(maps), axes=(1, 2)))


def colorize(values: np.ndarray, size: int | None = None, cmap: str = "viridis") -> np.ndarray:
    """A 2-D array min-max scaled (a constant array is black), resized to ``size`` x ``size``
    with nearest-neighbour pixels, and coloured: RGB uint8."""
    from emonb.plotting.colours import colour_lut

    v = np.asarray(values, dtype=np.float32)
    if v.ndim != 2:
        raise ValueError(f"expected a 2-D array, got shape {v.shape}")
    bins = lut_bins(v[None])[0]
    if size is not None and bins.shape != (size, size):
        bins = cv2.resize(bins, (size, size), interpolation=cv2.INTER_NEAREST)
    return colour_lut(cmap)[bins].astype(np.uint8)


def live_channel(maps: np.ndarray) -> int:
    """The channel an explorer opens on for one face's maps (h, w, c): the one with the
    highest mean activation among channels whose map is not flat (max - min above
    ``1e-6 * (1 + max |a|)``, so a dead filter, all zeros, is never chosen); channel 0 when
    every map is flat."""
    a = np.asarray(maps, dtype=np.float64)
    if a.ndim != 3:
        raise ValueError(f"expected maps (h, w, channels), got shape {a.shape}")
    spread = a.max(axis=(0, 1)) - a.min(axis=(0, 1))
    live = spread > 1e-6 * (1.0 + np.abs(a).max(axis=(0, 1)))
    if not live.any():
        return 0
    return int(np.argmax(np.where(live, a.mean(axis=(0, 1)), -np.inf)))


def channel_names(net: EmotionModel, layers: Sequence[str]) -> dict[str, list[str]]:
    """``{layer: class names}`` for those of ``layers`` whose channels each score one class
    (:func:`emonb.models.cam_layer.class_channel_heads`: the mini-Xception's ``conv2d_7``);
    explorers label such a layer's channels by the class, not by number."""
    from emonb.models.cam_layer import class_channel_heads

    heads = set(class_channel_heads(net.model, len(net.class_names)))
    return {name: list(net.class_names) for name in layers if name in heads}


def _fmt(value: float) -> str:
    return f"{float(value):.3g}"


def colour_bar_html(cmap: str, lo: float | None = None, hi: float | None = None,
                    note: str = "", width: int = 160) -> str:  # fmt: skip
    """A colour bar as HTML (``<div class="emonb-colorbar">``): the colormap's gradient
    (17 stops of its LUT) between the values at its ends (spans ``emonb-lo`` and
    ``emonb-hi``, which the static explorers' scripts fill in) and a ``note`` saying what the
    colour means."""
    from emonb.plotting.colours import colour_lut

    lut = colour_lut(cmap).round().astype(int)
    stops = ", ".join(f"rgb({r},{g},{b}) {100 * i / 16:.4g}%"
                      for i, (r, g, b) in enumerate(lut[np.linspace(0, 255, 17).astype(int)]))  # fmt: skip
    ends = ["" if v is None else _fmt(v) for v in (lo, hi)]
    return (f'<div class="emonb-colorbar" data-cmap="{html.escape(cmap)}" '
            'style="display:flex;gap:0.4em;align-items:center;margin-top:0.3em">'
            f'<span class="emonb-lo">{ends[0]}</span>'
            f'<span style="display:inline-block;width:{int(width)}px;height:12px;'
            f'border:1px solid #999;background:linear-gradient(to right, {stops})"></span>'
            f'<span class="emonb-hi">{ends[1]}</span>'
            f'<span class="emonb-scale-note" style="color:#555">{html.escape(note)}</span></div>')  # fmt: skip


def png_bytes(rgb: np.ndarray) -> bytes:
    """An RGB (or grey) uint8 image as PNG bytes (fast compression)."""
    img = np.asarray(rgb, dtype=np.uint8)
    bgr = img[..., ::-1] if img.ndim == 3 else img
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(bgr), [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise EmonbError("could not encode a PNG")
    return buf.tobytes()


class _Explorer:
    """What both explorers share: the faces, the timed redraw, and the image widget."""

    size: int

    def _image_widget(self):
        import ipywidgets as w

        return w.Image(format="png", width=self.size, height=self.size)

    def _redraw(self, image, caption, **position) -> float:
        """Render ``position`` into the widgets; returns the seconds it took."""
        t0 = time.perf_counter()
        image.value = png_bytes(self.render(**position))
        caption.value = self.caption(**position)
        return time.perf_counter() - t0

    def render(self, **position) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def caption(self, **position) -> str:  # pragma: no cover - abstract
        raise NotImplementedError


#: What the feature explorers' colour bars say: each map is scaled on its own.
FEATURE_SCALE_NOTE = ("activation of the shown map; each map is scaled to its own min (left) "
                      "and max (right), the raw values at the ends")  # fmt: skip
#: What the static explanation-map explorer's colour bar says.
MAP_SCALE_NOTE = ("map value over the face; each map is scaled to its own min (left) and max "
                  "(right), its values at the ends (the methods normalise to 0..1)")  # fmt: skip


class FeatureMapExplorer(_Explorer):
    """Layer and filter sliders over the feature maps of a few faces.

    The filter slider opens, and moves whenever the layer changes, to the layer's most
    active channel for the shown face (:func:`live_channel`: the highest mean activation
    among channels whose map is not flat), so no layer opens on a dead filter. A layer whose
    channels each score one class (:func:`channel_names`) labels them by class name. A
    colour bar gives the colormap and the shown map's raw min and max (each map is scaled
    to its own range).

    Parameters
    ----------
    net : EmotionModel
        The model (never modified).
    faces : images
        One face or a small gallery (any size, grey or colour).
    layers : sequence of str or int, optional
        Layers to offer (default: every convolutional layer), read in one forward pass.
    size : int
        Side of the shown image in pixels.
    """

    def __init__(self, net: EmotionModel, faces, layers: Sequence[str | int] | None = None, *,
                 size: int = 256, cmap: str = "viridis"):  # fmt: skip
        from emonb.activations import Activations

        acts = Activations(net, layers)
        self.acts = {k: v for k, v in acts(faces).items() if v.ndim == 4}
        if not self.acts:
            raise EmonbError("none of the layers has a spatial (h, w, channels) output")
        self.layers = list(self.acts)
        self.n_faces = len(next(iter(self.acts.values())))
        self.size, self.cmap = int(size), cmap
        #: ``{layer: class names}`` for class-per-channel layers (:func:`channel_names`).
        self.channel_names = channel_names(net, self.layers)

    def _check(self, face: int, layer: str, filter: int) -> np.ndarray:
        if layer not in self.acts:
            raise EmonbError(f"unknown layer {layer!r}; choose one of {', '.join(self.layers)}")
        act = self.acts[layer]
        if not 0 <= face < self.n_faces or not 0 <= filter < act.shape[-1]:
            raise EmonbError(f"face {face} / filter {filter} out of range for {layer} "
                             f"({self.n_faces} faces, {act.shape[-1]} filters)")  # fmt: skip
        return act[face, ..., filter]

    def opening_filter(self, face: int = 0, layer: str | None = None) -> int:
        """The filter shown when ``layer`` is chosen for ``face``: :func:`live_channel`."""
        layer = layer or self.layers[0]
        self._check(face, layer, 0)
        return live_channel(self.acts[layer][face])

    def label(self, layer: str, filter: int) -> str:
        """``filter 3``, or for a class-per-channel layer ``channel 3: happy``."""
        names = self.channel_names.get(layer)
        return f"channel {filter}: {names[filter]}" if names else f"filter {filter}"

    def render(self, face: int = 0, layer: str | None = None, filter: int = 0) -> np.ndarray:
        """The image a slider position shows: one filter's map, coloured, ``size`` square."""
        return colorize(self._check(face, layer or self.layers[0], filter), self.size, self.cmap)

    def caption(self, face: int = 0, layer: str | None = None, filter: int = 0) -> str:
        layer = layer or self.layers[0]
        m = self._check(face, layer, filter)
        h, w, c = self.acts[layer].shape[1:]
        return (f"face {face}, {layer} ({h}x{w}, {c} filters), {self.label(layer, filter)}: "
                f"mean {m.mean():.3f}, max {m.max():.3f}")  # fmt: skip

    def colour_bar(self, face: int = 0, layer: str | None = None, filter: int = 0) -> str:
        """The colour bar's HTML for a slider position (:func:`colour_bar_html`)."""
        m = self._check(face, layer or self.layers[0], filter)
        return colour_bar_html(self.cmap, m.min(), m.max(), FEATURE_SCALE_NOTE)

    def widget(self):
        """Face, layer and filter sliders above the map and its colour bar
        (an ``ipywidgets.VBox``)."""
        import ipywidgets as w

        first = self.layers[0]
        face = w.IntSlider(0, 0, max(self.n_faces - 1, 0), description="face")
        layer = w.SelectionSlider(options=self.layers, description="layer",
                                  layout=w.Layout(width="95%"))  # fmt: skip
        filt = w.IntSlider(self.opening_filter(0, first), 0, self.acts[first].shape[-1] - 1,
                           description="filter")  # fmt: skip
        image, caption, bar = self._image_widget(), w.Label(), w.HTML()

        def update(_=None):
            position = dict(face=face.value, layer=layer.value, filter=filt.value)
            self._redraw(image, caption, **position)
            bar.value = self.colour_bar(**position)

        def change_layer(_=None):
            with filt.hold_trait_notifications():
                filt.max = self.acts[layer.value].shape[-1] - 1
                filt.value = self.opening_filter(face.value, layer.value)
            update()

        face.observe(update, names="value")
        filt.observe(update, names="value")
        layer.observe(change_layer, names="value")
        update()
        return w.VBox([w.HBox([face, filt]), layer, image, bar, caption])


class MapExplorer(_Explorer):
    """Method, emotion and layer selectors over explanation maps of a few faces.

    Each (method, layer) pair is computed once, for every face and every emotion in one
    batch, the first time it is shown (``precompute`` does the default layer of every
    method up front); afterwards every move only redraws. ``layers`` default to every
    convolutional layer with a spatial output; the default layer is the model's CAM layer
    (:func:`emonb.models.cam_layer.default_cam_layer`) when it is one of them, else the
    last of them.
    """

    def __init__(self, net: EmotionModel, faces, methods: Sequence[str] = DEFAULT_METHODS, *,
                 layers: Sequence[str] | None = None, size: int = 256, alpha: float = 0.5,
                 precompute: bool = True):  # fmt: skip
        from emonb.methods import get_method
        from emonb.models.preprocessing import model_view

        self.net = net
        self._classes = {m: get_method(m) for m in methods}  # unknown names fail here
        self.methods = list(self._classes)
        self.x = net.preprocess(faces)
        self.view = model_view(net, self.x, preprocessed=True)
        self.n_faces = len(self.x)
        if layers is None:
            layers = spatial_conv_layers(net.model, output_shapes(net.model))
        self.layers = list(layers)
        cam_layer = default_cam_layer(net).name
        #: The layer shown until another is chosen.
        self.default_layer = cam_layer if cam_layer in self.layers else self.layers[-1]
        self.size, self.alpha = int(size), float(alpha)
        self._explainers: dict[tuple[str, str | None], object] = {}
        self._maps: dict[tuple[str, str | None], np.ndarray] = {}
        first = self._explainer(self.methods[0], None)
        self.proba = first.runner.probabilities(self.x)
        if precompute:
            for m in self.methods:
                self.maps(m)

    def uses_layer(self, method: str) -> bool:
        return self._classes[method].uses_layer

    def _key(self, method: str, layer: str | None) -> tuple[str, str | None]:
        if method not in self.methods:
            raise EmonbError(f"unknown method {method!r}; choose one of {', '.join(self.methods)}")
        if not self.uses_layer(method):
            return method, None
        layer = layer or self.default_layer
        if layer not in self.layers:
            raise EmonbError(f"unknown layer {layer!r}; choose one of {', '.join(self.layers)}")
        return method, layer

    def _explainer(self, method: str, layer: str | None):
        key = self._key(method, layer)
        if key not in self._explainers:
            cls = self._classes[method]
            self._explainers[key] = cls(self.net, **({"layer": key[1]} if key[1] else {}))
        return self._explainers[key]

    def maps(self, method: str, layer: str | None = None) -> np.ndarray:
        """Maps (faces, emotions, H, W) of one method (and layer), computed once."""
        key = self._key(method, layer)
        if key not in self._maps:
            k = len(self.net.class_names)
            x = np.repeat(self.x, k, axis=0)
            targets = np.tile(np.arange(k), self.n_faces)
            maps = self._explainer(*key).explain_inputs(x, targets)
            self._maps[key] = maps.reshape(self.n_faces, k, *maps.shape[1:])
        return self._maps[key]

    def _emotion(self, emotion: int | str, face: int) -> int:
        """A class index from a name, an index or "predicted" (errors list the classes)."""

        def predicted():
            return [int(self.proba[face].argmax())]

        return int(resolve_targets(emotion, 1, self.net.class_names, predicted)[0])

    def render(self, face: int = 0, method: str | None = None, emotion: int | str = 0,
               layer: str | None = None) -> np.ndarray:  # fmt: skip
        """The face with the map of ``emotion`` by ``method`` overlaid, ``size`` square."""
        from emonb.plotting.images import overlay

        m = self.maps(method or self.methods[0], layer)[face, self._emotion(emotion, face)]
        grey = cv2.resize(self.view[face], (self.size, self.size), interpolation=cv2.INTER_LINEAR)
        return overlay(grey, m, alpha=self.alpha)

    def caption(self, face: int = 0, method: str | None = None, emotion: int | str = 0,
                layer: str | None = None) -> str:  # fmt: skip
        method = method or self.methods[0]
        e = self._emotion(emotion, face)
        where = f" at {self._key(method, layer)[1]}" if self.uses_layer(method) else ""
        p, names = self.proba[face], self.net.class_names
        return (f"face {face}: {method}{where} for {names[e]} (p = {p[e]:.2f}); "
                f"the model says {names[int(p.argmax())]} ({p.max():.2f})")  # fmt: skip

    def colour_bar(self, face: int = 0, method: str | None = None, emotion: int | str = 0,
                   layer: str | None = None) -> str:  # fmt: skip
        """The colour bar's HTML for a position: jet from 0 to 1 (the overlay colours the
        map's values as they are, each map normalised to 0..1 by its method), with the
        shown map's min and max."""
        m = self.maps(method or self.methods[0], layer)[face, self._emotion(emotion, face)]
        return colour_bar_html("jet", 0.0, 1.0, "map value over the face (each map normalised "
                               f"to 0..1 by its method); shown map: min {_fmt(m.min())}, "
                               f"max {_fmt(m.max())}")  # fmt: skip

    def widget(self):
        """Face, method, emotion and layer selectors above the overlay (``ipywidgets.VBox``)."""
        import ipywidgets as w

        face = w.IntSlider(0, 0, max(self.n_faces - 1, 0), description="face")
        method = w.Dropdown(options=self.methods, description="method")
        names = self.net.class_names
        emotion = w.ToggleButtons(options=list(names), description="emotion",
                                  value=names[int(self.proba[0].argmax())])  # fmt: skip
        layer = w.SelectionSlider(options=self.layers, value=self.default_layer,
                                  description="layer", layout=w.Layout(width="95%"))  # fmt: skip
        image, caption, bar = self._image_widget(), w.Label(), w.HTML()

        def update(_=None):
            layer.disabled = not self.uses_layer(method.value)
            position = dict(face=face.value, method=method.value, emotion=emotion.value,
                            layer=layer.value)  # fmt: skip
            self._redraw(image, caption, **position)
            bar.value = self.colour_bar(**position)

        for control in (face, method, emotion, layer):
            control.observe(update, names="value")
        update()
        return w.VBox([w.HBox([face, method]), emotion, layer, image, bar, caption])
