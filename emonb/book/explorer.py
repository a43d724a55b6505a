"""A feature-map explorer for the static book: plain HTML and JavaScript, no kernel, no CDN.

Jupyter Book keeps ipywidgets' state, but their callbacks need a kernel and their widget
manager comes from a CDN. :func:`static_explorer` instead precomputes every map and writes
one self-contained ``<div>``: per face and layer, one grey PNG sprite holding every filter's
map (each min-max scaled, as :func:`emonb.book.widgets.colorize` does), embedded as a data URI;
a face selector and layer and filter sliders; and forty lines of JavaScript that cut the
chosen tile out of its sprite, colour it through the same colormap and draw it with
nearest-neighbour pixels. Nothing is fetched: the page works offline and from ``file://``.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Mapping, Sequence

import numpy as np

from emonb.book.widgets import lut_bins, png_bytes

__all__ = ["sprite", "static_explorer"]

_SCRIPT = """
(function () {
  const root = document.getElementById("%(uid)s");
  const data = JSON.parse(root.querySelector("script[type='application/json']").textContent);
  const face = root.querySelector(".emonb-face"), layer = root.querySelector(".emonb-layer");
  const filt = root.querySelector(".emonb-filter"), canvas = root.querySelector("canvas");
  const caption = root.querySelector(".emonb-caption"), thumb = root.querySelector(".emonb-thumb");
  const cache = {};
  function sprite(l, f, done) {
    const key = l + "/" + f;
    if (cache[key] && cache[key].complete) { done(cache[key]); return; }
    const img = cache[key] || new Image();
    img.addEventListener("load", () => done(img), { once: true });
    if (!cache[key]) { cache[key] = img; img.src = data.layers[l].sprites[f]; }
  }
  function draw() {
    const L = data.layers[+layer.value], f = +face.value;
    filt.max = L.c - 1;
    const k = Math.min(+filt.value, L.c - 1);
    thumb.src = data.faces[f];
    sprite(+layer.value, f, (img) => {
      const tile = document.createElement("canvas");
      tile.width = L.w; tile.height = L.h;
      const t = tile.getContext("2d");
      t.drawImage(img, (k %% L.cols) * L.w, Math.floor(k / L.cols) * L.h, L.w, L.h, 0, 0, L.w, L.h);
      const px = t.getImageData(0, 0, L.w, L.h);
      for (let i = 0; i < px.data.length; i += 4) {
        const c = data.lut[px.data[i]];
        px.data[i] = c[0]; px.data[i + 1] = c[1]; px.data[i + 2] = c[2]; px.data[i + 3] = 255;
      }
      t.putImageData(px, 0, 0);
      const ctx = canvas.getContext("2d");
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(tile, 0, 0, canvas.width, canvas.height);
      canvas.dataset.shown = f + "/" + L.name + "/" + k;
      caption.textContent = "face " + f + ", " + L.name + " (" + L.h + "x" + L.w + ", " + L.c +
        " filters), filter " + k;
    });
  }
  [face, layer, filt].forEach((el) => el.addEventListener("input", draw));
  draw();
})();
"""


def sprite(maps: np.ndarray) -> tuple[np.ndarray, int]:
    """Maps (h, w, c) as one grey uint8 sheet of c tiles, ``cols`` per row, each tile min-max
    scaled to 0..255 (a constant map is black). Returns the sheet and ``cols``."""
    maps = np.asarray(maps, dtype=np.float32)
    h, w, c = maps.shape
    cols = int(np.ceil(np.sqrt(c)))
    rows = -(-c // cols)
    tiles = lut_bins(np.moveaxis(maps, -1, 0))  # what colorize shows, before colouring
    sheet = np.zeros((rows * h, cols * w), np.uint8)
    for k in range(c):
        r, q = divmod(k, cols)
        sheet[r * h : (r + 1) * h, q * w : (q + 1) * w] = tiles[k]
    return sheet, cols


def _data_uri(image: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode("ascii")


def _slider(cls: str, maximum: int, style: str = "") -> str:
    """An ``<input type="range">`` from 0 to ``maximum``, at 0."""
    extra = f' style="{style}"' if style else ""
    return f'<input class="{cls}" type="range" min="0" max="{maximum}" value="0" step="1"{extra}>'


def static_explorer(acts: Mapping[str, np.ndarray], faces: np.ndarray, *,
                    layers: Sequence[str] | None = None, max_filters: int | None = None,
                    size: int = 256, cmap: str = "viridis",
                    uid: str = "emonb-explorer") -> str:  # fmt: skip
    """The explorer's HTML for activations ``{layer: (N, h, w, c)}`` of ``faces``, uint8 grey
    (N, H, W) (:func:`emonb.explain.model_view`). ``max_filters`` keeps the first filters of
    each layer; ``uid`` must be unique on the page."""
    from emonb.plotting.images import _colour_lut

    names = [n for n in (layers or list(acts)) if np.ndim(acts[n]) == 4]
    if not names:
        raise ValueError("no layer with a spatial (N, h, w, c) output")
    faces = np.asarray(faces)
    if faces.dtype != np.uint8 or faces.ndim != 3:
        raise ValueError(f"faces must be uint8 grey (N, H, W), got {faces.dtype} {faces.shape}")
    spec = []
    for name in names:
        a = np.asarray(acts[name])[..., :max_filters]
        sheets = [sprite(a[i]) for i in range(len(a))]
        _, h, w, c = a.shape
        spec.append({"name": name, "h": h, "w": w, "c": c, "cols": sheets[0][1],
                     "sprites": [_data_uri(s) for s, _ in sheets]})  # fmt: skip
    payload = {"layers": spec, "faces": [_data_uri(f) for f in faces],
               "lut": _colour_lut(cmap).round().astype(int).tolist()}  # fmt: skip
    data = json.dumps(payload, separators=(",", ":")).replace("</", "<\\/")
    uid = html.escape(uid)
    face = _slider("emonb-face", len(faces) - 1)
    filt = _slider("emonb-filter", spec[0]["c"] - 1)
    layer = _slider("emonb-layer", len(spec) - 1, "width:70%")
    pixelated = "image-rendering:pixelated"
    thumb = size // 2
    return f"""<div id="{uid}" class="emonb-explorer" style="font-size:0.9em">
<div style="display:flex;gap:1em;align-items:center;flex-wrap:wrap">
<label>face {face}</label>
<label>filter {filt}</label>
</div>
<label style="display:block">layer {layer}</label>
<div style="display:flex;gap:1em;align-items:flex-start">
<canvas width="{size}" height="{size}" style="{pixelated};border:1px solid #ccc"></canvas>
<img class="emonb-thumb" alt="the face" width="{thumb}" height="{thumb}" style="{pixelated}">
</div>
<div class="emonb-caption" style="margin-top:0.3em"></div>
<script type="application/json">{data}</script>
<script>{_SCRIPT % {"uid": uid}}</script>
</div>"""
