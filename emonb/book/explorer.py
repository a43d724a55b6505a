"""Static explorers for the book: plain HTML and JavaScript, no kernel, no CDN.

Jupyter Book keeps ipywidgets' state, but their callbacks need a kernel and their widget
manager comes from a CDN. The explorers here instead precompute every map and write one
self-contained ``<div class="emonb-explorer" data-kind="...">``: grey PNG sprites embedded
as data URIs, a few controls, and some forty lines of JavaScript that cut the chosen tile
out of its sprite, colour it through the figures' colour look-up table and draw it with
nearest-neighbour pixels. Nothing is fetched: the pages work offline and from ``file://``.

- :func:`static_explorer` (``data-kind="features"``): per face and layer, one sprite holding
  every filter's map (each min-max scaled, as :func:`emonb.book.widgets.colorize` does,
  viridis); face, layer and filter sliders; the filter opens on the layer's most active
  live filter, and a class-per-channel layer's channels carry their class names.
- :func:`static_map_explorer` (``data-kind="maps"``): explanation maps from
  :func:`explanation_maps`, per face and method one sprite of seven emotions (columns) by
  the layers the method reads (rows; one row for a method without a layer), stored at the
  model's input size as the LUT bins of :func:`emonb.book.widgets.lut_bins`; face, method,
  emotion and layer controls; the map is drawn over the face as the chapters' figures draw
  it (:func:`emonb.plotting.images.overlay`: jet, alpha 0.5), and the caption gives the
  model's probability of the chosen emotion.

Both show a colour bar (class ``emonb-colorbar``): the colormap, the shown map's raw min and
max at its ends, and a note that each map is scaled to its own range.

Size: a page carries every tile. For the maps that is faces x (7 x layers per CAM method +
7 per other method) tiles of the input size (64 x 64 for the mini-Xception), so chapters
pick a few faces and two or three layers (``deep_layers``). Measured on the mini-Xception:
chapter 5's explorer (three faces; six methods, four of them CAMs at three layers) is
0.54 MB of HTML and chapter 4's (three faces, six gradient methods) 0.56 MB, on pages of
about 0.6 MB; in quick mode chapter 4's (two faces, two methods) is under 0.2 MB and
chapter 5's (two faces, the same six methods and three layers: :func:`cam_explorer_settings`)
0.36 MB.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from emonb.book.widgets import DEFAULT_METHODS, lut_bins, png_bytes
from emonb.errors import EmonbError
from emonb.models.zoo import EmotionModel

__all__ = ["CAM_EXPLORER_QUICK_FACES", "ExplanationMaps", "cam_explorer_settings", "deep_layers", "explanation_maps", "map_sprite", "sprite",
           "static_explorer", "static_map_explorer"]  # fmt: skip

# What both explorers' scripts share: the root and its data, decoding a sprite once, cutting
# a tile, colouring it through the LUT (over a grey base image when one is given) and drawing
# it. ``latest`` drops a draw whose sprite arrives after a newer move.
_PRELUDE = """
  const root = document.getElementById(%(uid)s);
  const data = JSON.parse(root.querySelector("script[type='application/json']").textContent);
  const canvas = root.querySelector("canvas"), caption = root.querySelector(".emonb-caption");
  const thumb = root.querySelector(".emonb-thumb"), cache = {};
  const lo = root.querySelector(".emonb-lo"), hi = root.querySelector(".emonb-hi");
  function scale(r) { lo.textContent = (+r[0]).toPrecision(3); hi.textContent = (+r[1]).toPrecision(3); }
  let latest = 0;
  function load(key, src, done) {
    const img = cache[key] || new Image();
    if (cache[key] && img.complete) { done(img); return; }
    img.addEventListener("load", () => done(img), { once: true });
    if (!cache[key]) { cache[key] = img; img.src = src; }
  }
  function tile(img, col, row, w, h) {
    const c = document.createElement("canvas");
    c.width = w; c.height = h;
    const t = c.getContext("2d");
    t.drawImage(img, col * w, row * h, w, h, 0, 0, w, h);
    return { canvas: c, ctx: t, px: t.getImageData(0, 0, w, h) };
  }
  function paint(t, base, alpha) {
    const d = t.px.data, b = base ? base.px.data : null;
    for (let i = 0; i < d.length; i += 4) {
      const c = data.lut[d[i]];
      for (let j = 0; j < 3; j++) {
        d[i + j] = b ? Math.round((1 - alpha) * b[i] + alpha * c[j]) : c[j];
      }
      d[i + 3] = 255;
    }
    t.ctx.putImageData(t.px, 0, 0);
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(t.canvas, 0, 0, canvas.width, canvas.height);
  }
"""

_FEATURES_SCRIPT = """
  const face = root.querySelector(".emonb-face"), layer = root.querySelector(".emonb-layer");
  const filt = root.querySelector(".emonb-filter"), fname = root.querySelector(".emonb-filter-name");
  function draw(reset) {
    const L = data.layers[+layer.value], f = +face.value, id = ++latest;
    filt.max = L.c - 1;
    if (reset === true) filt.value = L.open[f];
    const k = Math.min(+filt.value, L.c - 1);
    const what = L.names ? "channel " + k + ": " + L.names[k] : "filter " + k;
    fname.textContent = L.names ? L.names[k] : "";
    thumb.src = data.faces[f];
    load(layer.value + "/" + f, L.sprites[f], (img) => {
      if (id !== latest) return;
      paint(tile(img, k % L.cols, Math.floor(k / L.cols), L.w, L.h), null, 1);
      canvas.dataset.shown = f + "/" + L.name + "/" + k;
      scale(L.range[f][k]);
      caption.textContent = "face " + f + ", " + L.name + " (" + L.h + "x" + L.w + ", " + L.c +
        " filters), " + what;
    });
  }
  [face, filt].forEach((el) => el.addEventListener("input", () => draw(false)));
  layer.addEventListener("input", () => draw(true));
"""

_MAPS_SCRIPT = """
  const face = root.querySelector(".emonb-face"), method = root.querySelector(".emonb-method");
  const emotion = root.querySelector(".emonb-emotion"), layer = root.querySelector(".emonb-layer");
  function draw() {
    const f = +face.value, M = data.methods[+method.value], e = +emotion.value, id = ++latest;
    layer.disabled = !M.layered;
    const l = M.layered ? +layer.value : 0, where = M.layered ? data.layers[l] : "-";
    thumb.src = data.faces[f];
    load("face/" + f, data.faces[f], (grey) => load(M.name + "/" + f, M.sprites[f], (img) => {
      if (id !== latest) return;
      paint(tile(img, e, l, data.w, data.h), tile(grey, 0, 0, data.w, data.h), data.alpha);
      const p = data.proba[f], top = p.indexOf(Math.max(...p));
      canvas.dataset.shown = f + "/" + M.name + "/" + data.emotions[e] + "/" + where;
      scale(M.range[f][e][l]);
      caption.textContent = "face " + f + ": " + M.name +
        (M.layered ? " at " + where : "") + " for " + data.emotions[e] + " (p = " +
        p[e].toFixed(2) + "); the model says " + data.emotions[top] + " (" + p[top].toFixed(2) + ")";
    }));
  }
  [face, method, emotion, layer].forEach((el) => el.addEventListener("input", draw));
"""

_PIXELATED = "image-rendering:pixelated"


def sprite(maps: np.ndarray, cols: int | None = None) -> tuple[np.ndarray, int]:
    """Maps (h, w, c) as one grey uint8 sheet of c tiles, ``cols`` per row (default: about
    square), in order, each tile min-max scaled to 0..255 (a constant map is black; the LUT
    bins of :func:`~emonb.book.widgets.lut_bins`). Returns the sheet and ``cols``."""
    maps = np.asarray(maps, dtype=np.float32)
    h, w, c = maps.shape
    cols = int(np.ceil(np.sqrt(c))) if cols is None else int(cols)
    if cols < 1:
        raise ValueError(f"cols must be >= 1, got {cols}")
    rows = -(-c // cols)
    tiles = lut_bins(np.moveaxis(maps, -1, 0))  # what colorize shows, before colouring
    sheet = np.zeros((rows * h, cols * w), np.uint8)
    for k in range(c):
        r, q = divmod(k, cols)
        sheet[r * h : (r + 1) * h, q * w : (q + 1) * w] = tiles[k]
    return sheet, cols


def _data_uri(image: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode("ascii")


def _slider(cls: str, maximum: int, style: str = "", value: int = 0) -> str:
    """An ``<input type="range">`` from 0 to ``maximum``, at ``value``."""
    extra = f' style="{style}"' if style else ""
    return (
        f'<input class="{cls}" type="range" min="0" max="{maximum}" value="{int(value)}" '
        f'step="1"{extra}>'
    )


def _select(cls: str, options: Sequence[str], selected: int = 0) -> str:
    """A ``<select>`` whose option values are the indices of ``options``."""
    opts = "".join(
        f'<option value="{i}"{" selected" if i == selected else ""}>{html.escape(o)}</option>'
        for i, o in enumerate(options)
    )
    return f'<select class="{cls}">{opts}</select>'


def _check_faces(faces: np.ndarray) -> np.ndarray:
    faces = np.asarray(faces)
    if faces.dtype != np.uint8 or faces.ndim != 3 or not len(faces):
        raise ValueError(f"faces must be uint8 grey (N, H, W), got {faces.dtype} {faces.shape}")
    return faces


def _lut(cmap: str) -> list:
    from emonb.plotting.colours import colour_lut

    return colour_lut(cmap).round().astype(int).tolist()


def _json(value) -> str:
    """JSON safe inside a ``<script>`` element (no ``<`` at all: no ``</script>``, no ``<!--``)."""
    return json.dumps(value, separators=(",", ":")).replace("<", "\\u003c")


def _ranges(maps: np.ndarray, axes: tuple[int, ...]) -> list:
    """Each map's [min, max] over ``axes``, to four significant digits (nested lists)."""
    both = np.stack([np.min(maps, axis=axes), np.max(maps, axis=axes)], -1).astype(float)
    return np.vectorize(lambda v: float(f"{v:.4g}"))(both).tolist()


def _explorer(kind: str, uid: str, controls: str, size: int, payload: dict, script: str,
              bar: str) -> str:  # fmt: skip
    """The markup both explorers share: controls, the canvas, the face thumbnail, the colour
    bar, a caption, the payload and the script (``uid`` escaped for the attribute and for
    JavaScript)."""
    if not isinstance(uid, str) or not uid:
        raise ValueError(f"uid must be a non-empty string, got {uid!r}")
    js = "(function () {" + _PRELUDE % {"uid": _json(uid)} + script + "  draw();\n})();"
    thumb = size // 2
    return f"""<div id="{html.escape(uid)}" class="emonb-explorer" data-kind="{kind}" style="font-size:0.9em">
{controls}
<div style="display:flex;gap:1em;align-items:flex-start">
<canvas width="{size}" height="{size}" style="{_PIXELATED};border:1px solid #ccc"></canvas>
<img class="emonb-thumb" alt="the face" width="{thumb}" height="{thumb}" style="{_PIXELATED}">
</div>
{bar}
<div class="emonb-caption" style="margin-top:0.3em"></div>
<script type="application/json">{_json(payload)}</script>
<script>{js}</script>
</div>"""  # noqa: E501


def static_explorer(acts: Mapping[str, np.ndarray], faces: np.ndarray, *,
                    layers: Sequence[str] | None = None, max_filters: int | None = None,
                    size: int = 256, cmap: str = "viridis",
                    channel_names: Mapping[str, Sequence[str]] | None = None,
                    uid: str = "emonb-explorer") -> str:  # fmt: skip
    """The feature-map explorer's HTML (``data-kind="features"``) for activations
    ``{layer: (N, h, w, c)}`` of ``faces``, uint8 grey (N, H, W)
    (:func:`emonb.models.preprocessing.model_view`). ``max_filters`` keeps the first filters
    of each layer; ``uid`` must be unique on the page.

    The filter slider opens, and moves whenever the layer changes, to the layer's most active
    filter for the shown face (:func:`emonb.book.widgets.live_channel`: the highest mean
    activation among filters whose map is not flat), never to a dead one. ``channel_names``
    (``{layer: names}``, e.g. :func:`emonb.book.widgets.channel_names`: the class each
    channel of a class-per-channel layer scores) label those layers' channels. A colour bar
    shows the colormap with the shown map's raw min and max at its ends (each map is
    scaled to its own range)."""
    from emonb.book.widgets import FEATURE_SCALE_NOTE, colour_bar_html, live_channel

    names = [n for n in (layers or list(acts)) if np.ndim(acts[n]) == 4]
    if not names:
        raise ValueError("no layer with a spatial (N, h, w, c) output")
    faces = _check_faces(faces)
    spec = []
    for name in names:
        a = np.asarray(acts[name])[..., :max_filters]
        sheets = [sprite(a[i]) for i in range(len(a))]
        _, h, w, c = a.shape
        entry = {"name": name, "h": h, "w": w, "c": c, "cols": sheets[0][1],
                 "sprites": [_data_uri(s) for s, _ in sheets],
                 "open": [live_channel(a[i]) for i in range(len(a))],
                 "range": _ranges(a, (1, 2))}  # fmt: skip
        names_of = (channel_names or {}).get(name)
        if names_of is not None:
            if len(names_of) < c:
                raise ValueError(f"{len(names_of)} channel names for {c} channels of {name!r}")
            entry["names"] = [str(x) for x in names_of[:c]]
        spec.append(entry)
    payload = {"layers": spec, "faces": [_data_uri(f) for f in faces], "lut": _lut(cmap)}
    first = spec[0]["open"][0]
    controls = f"""<div style="display:flex;gap:1em;align-items:center;flex-wrap:wrap">
<label>face {_slider("emonb-face", len(faces) - 1)}</label>
<label>filter {_slider("emonb-filter", spec[0]["c"] - 1, value=first)}</label>
<span class="emonb-filter-name" style="font-weight:bold"></span>
</div>
<label style="display:block">layer {_slider("emonb-layer", len(spec) - 1, "width:70%")}</label>"""
    bar = colour_bar_html(cmap, note=FEATURE_SCALE_NOTE)
    return _explorer("features", uid, controls, size, payload, _FEATURES_SCRIPT, bar)


# ---- explanation maps ---------------------------------------------------------------------
@dataclass(frozen=True)
class ExplanationMaps:
    """Precomputed explanation maps of a few faces (:func:`explanation_maps`).

    ``maps[f, m, e, l]`` is the map (H, W) in [0, 1] of face ``f`` by method ``methods[m]``
    for emotion ``class_names[e]`` at layer ``layers[l]``; a method that reads no layer
    (``layered[m]`` False) has the same map in every layer slot.
    """

    maps: np.ndarray  # float32 (faces, methods, emotions, layers, H, W)
    faces: np.ndarray  # uint8 (faces, H, W): what the model sees (model_view)
    proba: np.ndarray  # float32 (faces, emotions): the model's probabilities
    methods: tuple[str, ...]
    layers: tuple[str, ...]
    layered: tuple[bool, ...]  # per method: does it read a layer?
    class_names: tuple[str, ...]


def deep_layers(net: EmotionModel, count: int = 3) -> list[str]:
    """The last spatial convolutional layer of each of the model's ``count`` deepest output
    resolutions, shallow to deep (mini-Xception, ``count=3``: ``separable_conv2d_6`` 15x15,
    ``separable_conv2d_8`` 8x8, ``conv2d_7`` 4x4): a few layers for a CAM to read, one per
    resolution, rather than neighbours that see the same grid."""
    from emonb.models.graph import spatial_conv_layers
    from emonb.models.runner import Runner

    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise EmonbError(f"count must be an integer >= 1, not {count!r}")
    shapes = Runner(net).output_shapes
    last: dict[tuple, str] = {}
    for name in spatial_conv_layers(net.model, shapes):
        last[tuple(shapes[name][:2])] = name  # the deepest layer at each resolution
    return list(last.values())[-count:]


#: Faces chapter 05's map explorer stores in quick mode (CI); a full build stores them all.
CAM_EXPLORER_QUICK_FACES = 2


def cam_explorer_settings(net: EmotionModel, *, quick: bool | None = None,
                          cam_layer: str | None = None) -> dict:  # fmt: skip
    """What chapter 05's map explorer stores: ``{"faces": int | None, "methods": tuple,
    "layers": list}`` (``faces``: how many of the gallery, None for all).

    Methods: :data:`~emonb.book.widgets.DEFAULT_METHODS` (saliency, guided backprop,
    Grad-CAM, Grad-CAM++, LayerCAM, CAM: those the chapter's text names) in every build.
    Layers: :func:`deep_layers` (three), plus the CAM layer (``cam_layer``, default
    :func:`emonb.models.cam_layer.default_cam_layer`) and the spatial convolution before it
    when they are not among them, shallow to deep: so the explorer always offers the CAM
    layer and a layer before it to step back to. Quick mode (``quick``, default
    :func:`emonb.config.is_quick`) keeps every method and layer and stores
    :data:`CAM_EXPLORER_QUICK_FACES` faces (measured on the mini-Xception: two faces, six
    methods at three layers take about 25 s on a shared 2-core CPU)."""
    from emonb import config
    from emonb.book.widgets import DEFAULT_METHODS
    from emonb.models.cam_layer import default_cam_layer
    from emonb.models.graph import spatial_conv_layers
    from emonb.models.runner import Runner

    quick = config.is_quick() if quick is None else bool(quick)
    cam_layer = cam_layer or default_cam_layer(net).name
    order = spatial_conv_layers(net.model, Runner(net).output_shapes)
    if cam_layer not in order:
        raise EmonbError(f"CAM layer {cam_layer!r} is not a spatial convolution; "
                         f"choose from {', '.join(order)}")  # fmt: skip
    chosen = set(deep_layers(net, 3)) | {cam_layer}
    at = order.index(cam_layer)
    if at > 0 and not any(order.index(n) < at for n in chosen):
        chosen.add(order[at - 1])
    return {"faces": CAM_EXPLORER_QUICK_FACES if quick else None,
            "methods": tuple(DEFAULT_METHODS), "layers": [n for n in order if n in chosen]}  # fmt: skip


def explanation_maps(net: EmotionModel, faces, methods: Sequence[str] = DEFAULT_METHODS,
                     layers: Sequence[str] | None = None, *,
                     options: Mapping[str, Mapping] | None = None) -> ExplanationMaps:  # fmt: skip
    """Every map of ``faces`` (raw images, any size) by each of ``methods`` (registry names)
    for each of the seven emotions and, for methods that read a layer, each of ``layers``
    (default: the model's CAM layer, :func:`emonb.models.cam_layer.default_cam_layer`).

    Batched through the :class:`~emonb.methods.Explainer` API: one
    ``explain_inputs`` call per method and layer, for every face and every emotion at once;
    a method without a layer is computed once. ``options`` holds further keyword arguments
    per registered method name (e.g. ``{"smoothgrad": method_settings("smoothgrad")}``;
    those of methods not in ``methods`` are unused). Pure: settings are arguments, and the
    model is never modified.
    """
    from emonb.methods import get_method
    from emonb.models.cam_layer import default_cam_layer
    from emonb.models.graph import spatial_conv_layers
    from emonb.models.preprocessing import model_view
    from emonb.models.runner import Runner
    from emonb.models.zoo import as_emotion_model

    net = as_emotion_model(net)  # a bare Keras model gets spec_from_model's defaults
    methods = list(methods)
    if not methods:
        raise EmonbError("no method to explain with")
    if len(set(methods)) != len(methods):
        raise EmonbError(f"methods repeat: {methods}")
    classes = {m: get_method(m) for m in methods}  # unknown names fail here, listing all
    options = dict(options or {})
    for name in options:
        get_method(name)  # a typo fails; options of registered methods not asked for are unused
    runner = Runner(net)
    valid = spatial_conv_layers(net.model, runner.output_shapes)
    layers = [default_cam_layer(net).name] if layers is None else list(layers)
    if not layers:
        raise EmonbError("no layer: give at least one, or None for the model's CAM layer")
    if bad := [n for n in layers if n not in valid]:
        raise EmonbError(f"unknown or non-spatial layer(s) {', '.join(map(repr, bad))}; "
                         f"choose from {', '.join(valid)}")  # fmt: skip
    x = net.preprocess(faces)
    n, k = len(x), len(net.class_names)
    batch = np.repeat(x, k, axis=0)  # face 0 for every emotion, then face 1, ...
    targets = np.tile(np.arange(k), n)
    h, w = net.spec.input_size
    out = np.empty((n, len(methods), k, len(layers), h, w), np.float32)
    for i, m in enumerate(methods):
        cls, kwargs = classes[m], dict(options.get(m, {}))
        for j, layer in enumerate(layers if cls.uses_layer else [None]):
            explainer = cls(net, **kwargs, **({"layer": layer} if layer else {}))
            maps = explainer.explain_inputs(batch, targets).reshape(n, k, h, w)
            if layer is None:
                out[:, i] = maps[:, :, None]  # the same map in every layer slot
            else:
                out[:, i, :, j] = maps
    return ExplanationMaps(
        maps=out, faces=model_view(net, x, preprocessed=True),
        proba=runner.probabilities(x).astype(np.float32), methods=tuple(methods),
        layers=tuple(layers), layered=tuple(classes[m].uses_layer for m in methods),
        class_names=tuple(net.class_names),
    )  # fmt: skip


def map_sprite(maps: ExplanationMaps, face: int, method: int) -> np.ndarray:
    """The sprite of one face and method: uint8 grey, one row of seven emotion tiles per
    layer (one row for a method without a layer), each tile ``lut_bins`` of its map."""
    tiles = maps.maps[face, method]  # (emotions, layers, H, W)
    rows = tiles.shape[1] if maps.layered[method] else 1
    stack = np.moveaxis(tiles[:, :rows], 1, 0).reshape(-1, *tiles.shape[2:])  # layer-major
    return sprite(np.moveaxis(stack, 0, -1), cols=tiles.shape[0])[0]


def static_map_explorer(maps: ExplanationMaps, *, size: int = 256, alpha: float = 0.5,
                        cmap: str = "jet", emotion: int | str | None = None,
                        layer: str | None = None,
                        uid: str = "emonb-map-explorer") -> str:  # fmt: skip
    """The explanation-map explorer's HTML (``data-kind="maps"``) for :func:`explanation_maps`:
    face, method, emotion and layer controls (the layer control is disabled for a method
    without a layer, whose ``data-shown`` layer is ``-``, and hidden when no method has
    one); the map drawn over the face as :func:`emonb.plotting.images.overlay` draws it
    (``cmap``, ``alpha``; up to rounding); the caption gives the model's probability of the
    chosen emotion. ``emotion`` is the one shown first (default: the model's prediction for
    the first face), and ``layer`` the layer (default: the last of ``maps.layers``; pass the
    model's CAM layer, :func:`emonb.models.cam_layer.default_cam_layer`, to open on what the
    CAMs read unasked); ``uid`` must be unique on the page. A colour bar shows ``cmap``
    with the shown map's min and max at its ends (each map is scaled to its own range, as
    :func:`map_sprite` stores it)."""
    if not isinstance(maps, ExplanationMaps):
        raise TypeError(f"expected ExplanationMaps (from explanation_maps), got {type(maps)}")
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    faces = _check_faces(maps.faces)
    n, m, k, n_layers, h, w = maps.maps.shape
    if (n, m, k, n_layers) != (len(faces), len(maps.methods), len(maps.class_names),
                               len(maps.layers)) or faces.shape[1:] != (h, w):  # fmt: skip
        raise ValueError(f"maps {maps.maps.shape} do not match {len(faces)} faces "
                         f"{faces.shape[1:]}, {len(maps.methods)} methods, "
                         f"{len(maps.class_names)} emotions, {len(maps.layers)} layers")  # fmt: skip
    if emotion is None:
        first = int(np.argmax(maps.proba[0]))
    elif isinstance(emotion, str):
        if emotion not in maps.class_names:
            raise ValueError(f"unknown emotion {emotion!r}; choose one of "
                             f"{', '.join(maps.class_names)}")  # fmt: skip
        first = maps.class_names.index(emotion)
    elif not 0 <= int(emotion) < k:
        raise ValueError(f"emotion index {emotion} out of range 0..{k - 1}")
    else:
        first = int(emotion)
    from emonb.book.widgets import MAP_SCALE_NOTE, colour_bar_html

    methods = [{"name": name, "layered": bool(maps.layered[i]),
                "sprites": [_data_uri(map_sprite(maps, f, i)) for f in range(n)],
                "range": _ranges(maps.maps[:, i], (3, 4))}  # [face][emotion][layer]
               for i, name in enumerate(maps.methods)]  # fmt: skip
    payload = {"methods": methods, "layers": list(maps.layers), "emotions": list(maps.class_names),
               "faces": [_data_uri(f) for f in faces], "h": h, "w": w, "alpha": float(alpha),
               "proba": np.round(maps.proba.astype(float), 4).tolist(), "lut": _lut(cmap)}  # fmt: skip
    if layer is not None and layer not in maps.layers:
        raise ValueError(
            f"layer {layer!r} is not one of the maps' layers: {', '.join(maps.layers)}"
        )
    layer = _select(
        "emonb-layer", maps.layers, n_layers - 1 if layer is None else maps.layers.index(layer)
    )
    controls = f"""<div style="display:flex;gap:1em;align-items:center;flex-wrap:wrap">
<label>face {_slider("emonb-face", n - 1)}</label>
<label>method {_select("emonb-method", maps.methods)}</label>
<label>emotion {_select("emonb-emotion", maps.class_names, first)}</label>
<label{"" if any(maps.layered) else " hidden"}>layer {layer}</label>
</div>"""
    bar = colour_bar_html(cmap, note=MAP_SCALE_NOTE)
    return _explorer("maps", uid, controls, size, payload, _MAPS_SCRIPT, bar)
