"""``emonb bench``: images per second of every method, and the same maps from tf-keras-vis.

A benchmark, not a test: run it on an otherwise idle machine. For each registered method
it times ``explain`` on ``batch`` images at the model's input size (after a warm-up call
that compiles), takes the best of ``repeat`` runs, and, where tf-keras-vis 0.8.7 defines
the same method (install ``emonb[bench]``), times tf-keras-vis on the same images and
targets and reports the speed ratio and the mean per-image Pearson correlation of the
two maps.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from emonb.methods import METHODS
from emonb.models.runner import Runner
from emonb.models.zoo import EmotionModel
from emonb.records import machine_info

__all__ = ["TKV_EQUIVALENTS", "format_table", "run_benchmark"]

#: emonb method -> what tf-keras-vis calls it (same definition unless noted in ``note``).
TKV_EQUIVALENTS = {
    "saliency": "Saliency",
    "smoothgrad": "Saliency(smooth_samples=20)",
    "gradcam": "Gradcam",
    "gradcam_plus_plus": "GradcamPlusPlus",
    "layercam": "Layercam",
    "scorecam": "Scorecam",
}


def _best_time(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up: compile / trace
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    vals = []
    for x, y in zip(a, b, strict=True):
        x, y = x.ravel().astype(np.float64), y.ravel().astype(np.float64)
        if x.std() > 0 and y.std() > 0:
            vals.append(np.corrcoef(x, y)[0, 1])
    return float(np.mean(vals)) if vals else float("nan")


def _tkv_runner(net: EmotionModel, name: str, layer: str, samples: int,
                expand: bool = True) -> Callable | None:  # fmt: skip
    try:
        from tf_keras_vis.gradcam import Gradcam
        from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus
        from tf_keras_vis.layercam import Layercam
        from tf_keras_vis.saliency import Saliency
        from tf_keras_vis.scorecam import Scorecam
        from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
        from tf_keras_vis.utils.scores import CategoricalScore
    except ImportError:
        return None
    model = net.model
    if name in ("saliency", "smoothgrad"):
        vis = Saliency(model, model_modifier=ReplaceToLinear(), clone=True)
        extra = {"smooth_samples": samples, "smooth_noise": 0.2} if name == "smoothgrad" else {}
        return lambda x, idx: vis(CategoricalScore(list(idx)), x, **extra)
    cls = {
        "gradcam": Gradcam,
        "gradcam_plus_plus": GradcamPlusPlus,
        "layercam": Layercam,
        "scorecam": Scorecam,
    }
    if name not in cls:
        return None
    vis = cls[name](model, model_modifier=ReplaceToLinear(), clone=True)

    def run(x, idx):
        with contextlib.redirect_stdout(io.StringIO()):  # Score-CAM's Keras progress bars
            return vis(CategoricalScore(list(idx)), x, penultimate_layer=layer, expand_cam=expand)

    return run


def run_benchmark(
    net: EmotionModel,
    images: np.ndarray,
    *,
    methods: Sequence[str] | None = None,
    repeat: int = 3,
    compare: bool = True,
    extra: Sequence[tuple[str, str]] = (("scorecam", "conv2d_6"),),
    settings: Mapping[str, Mapping] | None = None,
    log: Callable[[str], None] = print,
) -> dict:
    """Time every method (and tf-keras-vis where comparable) on ``images``; returns a dict.

    Each method runs at its default layer; ``extra`` adds (method, layer) cases, by default
    Score-CAM on a 128-channel layer of the mini-Xception. For CAM methods the correlation
    is also reported at the layer's resolution (``correlation_layer``), before the two
    libraries' different upsampling conventions (OpenCV half-pixel centres here, SciPy
    ``zoom`` aligned corners there). ``settings`` gives keyword arguments per method name
    (e.g. :func:`emonb.methods.method_settings`); unnamed methods run at their defaults.
    """
    x = net.preprocess(images)
    # warm the process up (oneDNN primitive caches, CPU clocks) so the first case is not penalised
    warm = METHODS["saliency"](net)
    _best_time(lambda: warm.explain(images, 0), repeat)
    rows = []
    cases = [(m, None) for m in (methods or METHODS)]
    cases += [(m, lyr) for m, lyr in extra if methods is None or m in methods]
    for name, layer in cases:
        cls = METHODS[name]
        kwargs = dict((settings or {}).get(name, {}))
        if layer:
            kwargs["layer"] = layer
        explainer = cls(net, **kwargs)
        idx = explainer.runner.predict(x)
        maps: dict[str, np.ndarray] = {}

        def ours(explainer=explainer, idx=idx, maps=maps):
            maps["emonb"] = explainer.explain(images, idx)

        t = _best_time(ours, repeat)
        row = {
            "method": name,
            "emonb_img_s": len(x) / t,
            "layer": getattr(explainer, "layer", None),
            "forward_passes": explainer.forward_passes,
        }
        runner = (
            _tkv_runner(net, name, row["layer"], getattr(explainer, "samples", 20))
            if compare
            else None
        )
        if runner is not None:

            def theirs(runner=runner, idx=idx, maps=maps):
                maps["tkv"] = np.asarray(runner(x, idx), dtype=np.float32)

            t_tkv = _best_time(theirs, repeat)
            row.update(
                tkv_method=TKV_EQUIVALENTS[name],
                tkv_img_s=len(x) / t_tkv,
                speedup=t_tkv / t,
                correlation=_corr(maps["emonb"], maps["tkv"]),
            )
            if explainer.uses_layer:
                raw_tkv = _tkv_runner(net, name, row["layer"], 20, expand=False)(x, idx)
                row["correlation_layer"] = _corr(explainer._attribute(x, idx), np.asarray(raw_tkv))
        rows.append(row)
        log(_format_row(row))
    import tensorflow as tf

    big = tf.constant(np.repeat(x, max(1, 512 // len(x)), axis=0)[:512])
    keras_forward = tf.function(lambda z: net.model(z, training=False))
    t_keras = _best_time(lambda: keras_forward(big), repeat)
    fwd = Runner(net)  # the forward pass the methods run (BatchNorm folded)
    ours = fwd.compile(lambda z: fwd.run(z)[0], with_targets=False)
    t_fwd = _best_time(lambda: ours(big), repeat)
    log(
        f"forward pass: emonb {len(big) / t_fwd:.0f} img/s, Keras model call {len(big) / t_keras:.0f} img/s"
    )
    for row in rows:  # the forward-pass limit: forward throughput / forward passes per image
        row["limit_img_s"] = len(big) / t_fwd / row["forward_passes"]
        row["share_of_limit"] = row["emonb_img_s"] / row["limit_img_s"]
    return {
        "forward_img_s": len(big) / t_fwd,
        "keras_forward_img_s": len(big) / t_keras,
        "model": net.name,
        "batch": int(len(x)),
        "input_size": list(net.spec.input_size),
        "repeat": repeat,
        "machine": machine_info(),
        "rows": rows,
    }


def _format_row(r: dict) -> str:
    line = f"{r['method'] + ('@' + r['layer'] if r.get('layer') else ''):32s} {r['emonb_img_s']:9.1f} img/s"
    if "tkv_img_s" in r:
        line += f"   tf-keras-vis {r['tkv_img_s']:8.1f} img/s   x{r['speedup']:5.1f}   r={r['correlation']:.4f}"
        if "correlation_layer" in r:
            line += f"  r(layer)={r['correlation_layer']:.4f}"
    return line


def format_table(result: dict) -> str:
    """A Markdown table of a :func:`run_benchmark` result."""
    head = (
        "| method | layer | emonb (img/s) | forward passes | share of the forward-pass limit "
        "| tf-keras-vis (img/s) | speed-up | correlation | at layer resolution |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|"
    )
    lines = [head]
    for r in result["rows"]:
        layer = r.get("layer") or ""
        ours = (f"| {r['method']} | {layer} | {r['emonb_img_s']:.0f} | {r.get('forward_passes', '')} | "
                + (f"{r['share_of_limit']:.2f} |" if "share_of_limit" in r else " |"))  # fmt: skip
        if "tkv_img_s" in r:
            at_layer = f"{r['correlation_layer']:.3f}" if "correlation_layer" in r else ""
            lines.append(f"{ours} {r['tkv_img_s']:.0f} | {r['speedup']:.1f}x | "
                         f"{r['correlation']:.3f} | {at_layer} |")  # fmt: skip
        else:
            lines.append(f"{ours} | | | |")
    return "\n".join(lines)
