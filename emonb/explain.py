"""Explain faces from files: the work behind ``emonb explain`` and the seed's Figure 1."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emonb.data.images import read_image
from emonb.errors import EmonbError
from emonb.faces import DEFAULT_DETECTOR, crop, find_faces, is_face_crop
from emonb.methods import METHODS, get_method
from emonb.models.preprocessing import model_view
from emonb.models.runner import predict_proba
from emonb.models.targets import resolve_targets
from emonb.models.zoo import EmotionModel

__all__ = [
    "FIGURE1_METHODS",
    "ExplainedImage",
    "explain_faces",
    "explain_files",
    "face_from_file",
    "face_of",
    "figure1_maps",
    "write_explanations",
]

#: The first row of the seed paper's Figure 1: the three saliency variants and the three
#: activation-map (Grad-CAM) variants, all for the predicted emotion.
FIGURE1_METHODS = (
    "saliency",
    "deconvnet",
    "guided_backprop",
    "gradcam",
    "gradcam_relu",
    "gradcam_guided",
)


@dataclass(frozen=True)
class ExplainedImage:
    """One input file: the face the model saw (at its input size, grey) and the map."""

    path: Path
    face: np.ndarray  # uint8 (H, W) model-input-sized grey face
    heatmap: np.ndarray  # float32 (H, W) in [0, 1]
    target: str


def face_from_file(path: str | os.PathLike[str], detect: bool = True,
                   detector: str = DEFAULT_DETECTOR,
                   input_size: tuple[int, int] | None = None) -> np.ndarray:  # fmt: skip
    """The image file's face: :func:`face_of` the image read from ``path``."""
    return face_of(read_image(path), detect, detector, input_size, name=str(path))


def face_of(image: np.ndarray, detect: bool = True, detector: str = DEFAULT_DETECTOR,
            input_size: tuple[int, int] | None = None, *, name: str = "image") -> np.ndarray:  # fmt: skip
    """The image's largest face (found by ``detector``, :func:`emonb.faces.find_faces`), or
    the whole image if ``detect=False`` or it is already a face crop for a model that takes
    ``input_size`` images (:func:`emonb.faces.is_face_crop`); ``name`` names it in the error
    when no face is found."""
    if not detect or (input_size is not None and is_face_crop(image.shape, input_size)):
        return image
    boxes = find_faces(image, detector=detector)
    if not boxes:
        raise EmonbError(f"{name}: no face found by {detector} (use --no-detect to explain the "
                         "whole image)")  # fmt: skip
    return crop(image, boxes[0])


def _build(net: EmotionModel, method: str, layer: str | None, filter: int | None,
           options: Mapping | None = None):  # fmt: skip
    cls = get_method(method)
    kwargs: dict = dict(options or {})
    if layer is not None:
        if not cls.uses_layer:
            raise EmonbError(f"method {method!r} does not take a layer")
        kwargs["layer"] = layer
    if filter is not None:
        if method != "activation":
            raise EmonbError("--filter applies to the 'activation' method only")
        kwargs["filter"] = filter
    return cls(net, **kwargs)


def explain_files(
    net: EmotionModel,
    paths: Sequence[str | os.PathLike[str]],
    method: str,
    *,
    target: str | int = "predicted",
    layer: str | None = None,
    filter: int | None = None,
    detect: bool = True,
    detector: str = DEFAULT_DETECTOR,
    options: Mapping | None = None,
) -> list[ExplainedImage]:
    """Read every image (largest face found by ``detector`` unless ``detect=False`` or the
    image is already a face crop, :func:`emonb.faces.is_face_crop`) and explain it.

    ``options`` are further keyword arguments of the method (e.g.
    :func:`emonb.methods.method_settings`). Everything is validated before any image is
    read or map computed; errors name the file or list valid choices.
    """
    settings = dict(target=target, layer=layer, filter=filter, options=options)
    _check(net, method, **settings)
    faces = [face_from_file(p, detect, detector, net.spec.input_size) for p in paths]
    return explain_faces(net, paths, faces, method, **settings)


def _check(net: EmotionModel, method: str, *, target, layer, filter, options):
    """The explainer, and the target as the runner takes it, validated before any work."""
    if isinstance(target, str) and target.lstrip("-").isdigit():
        target = int(target)
    resolve_targets(target, 1, net.class_names, predicted=lambda: [0])  # validate only
    return _build(net, method, layer, filter, options), target


def explain_faces(
    net: EmotionModel,
    paths: Sequence[str | os.PathLike[str]],
    faces: Sequence[np.ndarray],
    method: str,
    *,
    target: str | int = "predicted",
    layer: str | None = None,
    filter: int | None = None,
    options: Mapping | None = None,
) -> list[ExplainedImage]:
    """Explain the faces already cut from the files ``paths`` (:func:`face_of`), one per
    path; the settings as :func:`explain_files`."""
    explainer, target = _check(net, method, target=target, layer=layer, filter=filter,
                               options=options)  # fmt: skip
    x = net.preprocess(list(faces))
    idx = explainer.runner.targets(target, x)
    maps = explainer.explain_inputs(x, idx)
    model_faces = model_view(net, x, preprocessed=True)
    return [
        ExplainedImage(Path(p), model_faces[i], maps[i], net.class_names[idx[i]])
        for i, p in enumerate(paths)
    ]


def write_explanations(
    results: Sequence[ExplainedImage], method: str, out: str | os.PathLike[str]
) -> list[Path]:
    """Write ``<stem>_<method>.npy`` and ``<stem>_<method>.png`` (overlay, 300 dpi) per image,
    all-or-nothing: files are written in a temporary folder inside ``out`` and moved at the end."""
    import matplotlib.pyplot as plt

    from emonb.plotting.images import overlay, save_figure

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stems = [f"{r.path.stem}_{method}" for r in results]
    if len(set(stems)) != len(stems):
        raise EmonbError("two input images share a file name; their outputs would collide")
    written = []
    with tempfile.TemporaryDirectory(prefix=".emonb-explain-", dir=out) as tmp:
        for r, stem in zip(results, stems, strict=True):
            np.save(Path(tmp) / f"{stem}.npy", r.heatmap.astype(np.float32))
            fig, ax = plt.subplots(figsize=(2.4, 2.6))
            ax.imshow(overlay(r.face, r.heatmap, alpha=0.45))
            ax.set_title(f"{r.path.name}\n{method} - {r.target}", fontsize=7)
            ax.axis("off")
            save_figure(fig, Path(tmp) / f"{stem}.png")  # 300 dpi, no date or version
            plt.close(fig)
        for stem in stems:
            for ext in (".npy", ".png"):
                shutil.move(str(Path(tmp) / f"{stem}{ext}"), out / f"{stem}{ext}")
                written.append(out / f"{stem}{ext}")
    return written


def figure1_maps(net: EmotionModel, face: np.ndarray, methods: Sequence[str] = FIGURE1_METHODS,
                 cam: str = "cam", saliency: str = "saliency") -> dict:  # fmt: skip
    """The maps of the seed paper's Figure 1 for one face.

    Returns ``{"face", "predicted", "row1": {method: map}, "cams": {emotion: map},
    "saliency": {emotion: map}}``: the first row for the predicted emotion, then one CAM
    and one saliency map per emotion.
    """
    predicted = net.class_names[int(predict_proba(net, face)[0].argmax())]
    row1 = {m: METHODS[m](net).explain(face, predicted)[0] for m in methods}
    n = len(net.class_names)
    batch = [face] * n
    cams = METHODS[cam](net).explain(batch, list(range(n)))
    sal = METHODS[saliency](net).explain(batch, list(range(n)))
    return {
        "face": model_view(net, face)[0],
        "predicted": predicted,
        "row1": row1,
        "cams": dict(zip(net.class_names, cams, strict=True)),
        "saliency": dict(zip(net.class_names, sal, strict=True)),
    }


def map_summary(maps: dict[str, np.ndarray], decimals: int = 2):
    """Summary numbers per map (pandas DataFrame): mean, the share of the map's mass in its
    top 10 % of pixels (how concentrated it is), and the centre of mass as fractions of
    height and width (0 = top/left)."""
    import pandas as pd

    rows = {}
    for name, m in maps.items():
        m = np.asarray(m, dtype=np.float64)
        total = m.sum()
        top = np.sort(m.ravel())[::-1][: max(1, m.size // 10)].sum()
        ys, xs = np.mgrid[0 : m.shape[0], 0 : m.shape[1]]
        cy = (ys * m).sum() / total / (m.shape[0] - 1) if total > 0 else np.nan
        cx = (xs * m).sum() / total / (m.shape[1] - 1) if total > 0 else np.nan
        rows[name] = {"mean": m.mean(), "top-10% mass": top / total if total > 0 else np.nan,
                      "centre y": cy, "centre x": cx}  # fmt: skip
    return pd.DataFrame.from_dict(rows, orient="index").round(decimals)
