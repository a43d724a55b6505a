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
import json
import os
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from emonb.methods import METHODS
from emonb.models.runner import Runner
from emonb.models.zoo import EmotionModel

__all__ = [
    "TKV_EQUIVALENTS",
    "code_changes",
    "codecs_table",
    "format_table",
    "load",
    "machine_info",
    "provenance",
    "results_table",
    "run_benchmark",
    "save",
    "scorecam_bound",
    "video_notes",
    "video_settings",
    "video_table",
    "video_threaded",
    "widgets_table",
]

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


def machine_info() -> dict:
    """What a benchmark figure depends on: processor, cores, Python, TensorFlow, oneDNN ISA."""
    from emonb._tf import tf

    return {
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "tensorflow": None if tf is None else tf.__version__,  # None on another Keras backend
        "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA", ""),
    }


def code_changes(status: str) -> list[str]:
    """The paths of ``git status --porcelain`` output that change code: every changed file
    but the recorded results themselves (``benchmarks/*.json``), so that one benchmark run
    after another in the same checkout does not make the second look dirty."""
    # "XY PATH" per line; X or Y may be a space, and the first line's leading space may be gone
    paths = [line[2:].lstrip().split(" -> ")[-1].strip('"') for line in status.splitlines()
             if line.strip()]  # fmt: skip
    return [p for p in paths if not (p.startswith("benchmarks/") and p.endswith(".json"))]


def provenance(argv: Sequence[str] | None = None) -> dict:
    """Who wrote a benchmark file: the command (``argv``, default ``sys.argv``), the git
    commit of the working tree (and whether it had uncommitted changes), the UTC date, and
    :func:`machine_info`."""
    import datetime
    import shlex
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", "-C", str(root), *args], capture_output=True,
                                 text=True, timeout=10)  # fmt: skip
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    status = git("status", "--porcelain", "--untracked-files=no")
    args = list(sys.argv if argv is None else argv)
    return {
        "command": " ".join(shlex.quote(a) for a in args),
        "commit": git("rev-parse", "HEAD"),
        "dirty": None if status is None else bool(code_changes(status)),
        "date": datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat(),
        "machine": {**machine_info(), "platform": platform.platform()},
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


def save(result: dict, path: str | os.PathLike[str]) -> Path:
    """Write ``result`` as JSON, whole: to a temporary file beside ``path``, then renamed
    over it (an interrupted run leaves the old file, never half a new one)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def load(path: str | os.PathLike[str]) -> dict:
    """A result saved by ``emonb bench --json``."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def results_table(result: dict):
    """The result as a pandas DataFrame, one row per (method, layer)."""
    import pandas as pd

    cols = {
        "emonb_img_s": "emonb (img/s)",
        "forward_passes": "forward passes",
        "limit_img_s": "forward-pass limit (img/s)",
        "share_of_limit": "share of limit",
        "tkv_img_s": "tf-keras-vis (img/s)",
        "speedup": "speed-up (x)",
        "correlation": "correlation",
        "correlation_layer": "correlation at layer resolution",
    }
    rows = [{"method": r["method"], "layer": r.get("layer") or "", **{v: r.get(k) for k, v in cols.items()}}
            for r in result["rows"]]  # fmt: skip
    table = pd.DataFrame(rows).set_index(["method", "layer"])
    return table.round({"emonb (img/s)": 0, "tf-keras-vis (img/s)": 0, "speed-up (x)": 1,
                        "forward-pass limit (img/s)": 0, "share of limit": 2,
                        "correlation": 3, "correlation at layer resolution": 3})  # fmt: skip


def scorecam_bound(result: dict):
    """Score-CAM rows against their forward-pass bound: emonb's forward rate (measured in the
    same run, BatchNorm folded) / (channels + 1)."""
    import pandas as pd

    from emonb.models.tracing import output_shapes
    from emonb.models.zoo import load_model

    shapes = output_shapes(load_model(result["model"]).model)
    rows = []
    for r in result["rows"]:
        if r["method"] != "scorecam":
            continue
        k = shapes[r["layer"]][-1]
        bound = result["forward_img_s"] / (k + 1)
        rows.append({"layer": r["layer"], "channels": k, "bound (img/s)": round(bound, 1),
                     "emonb (img/s)": round(r["emonb_img_s"], 1), "share of bound": round(r["emonb_img_s"] / bound, 2),
                     "tf-keras-vis (img/s)": round(r.get("tkv_img_s", float("nan")), 1)})  # fmt: skip
    return pd.DataFrame(rows).set_index("layer")


def _video_summary(result: dict) -> dict[str, dict[str, dict]]:
    """``summary[resolution][mode]``; a file from before the resolutions (``summary[mode]``,
    one clip) as its one ``resolution`` (640x360 if it does not say)."""
    summary = result["summary"]
    if all("fps_median" in s for s in summary.values()):
        return {result.get("resolution", "640x360"): summary}
    return summary


def _video_runs(result: dict) -> list[dict]:
    """Every run of a ``benchmarks/video_pipeline.py`` file, in either format."""
    runs = result.get("runs", {})
    if all(isinstance(v, list) for v in runs.values()):
        return [r for rs in runs.values() for r in rs]
    return [r for by_mode in runs.values() for rs in by_mode.values() for r in rs]


def video_threaded(result: dict) -> bool:
    """Whether a ``benchmarks/video_pipeline.py`` file says that its pipeline ran some stages
    on their own threads: a run with ``threaded: true``, or a ``wait`` stage."""
    runs = _video_runs(result)
    return any(r.get("threaded") is True or "wait" in r.get("ms_per_frame", {}) for r in runs)


def video_table(result: dict):
    """``benchmarks/video_pipeline.py``'s summary, one row per (resolution, mode): frames per
    second (median, min, max of the runs) and the median run's milliseconds per frame in
    each stage it reports (``total`` last). Reads files from before the resolutions too
    (``summary[mode]``, one clip)."""
    import pandas as pd

    summary = _video_summary(result)
    stages: list[str] = []
    for by_mode in summary.values():
        for s in by_mode.values():
            stages += [k for k in s["ms_per_frame_of_median_run"] if k not in stages]
    stages.sort(key=lambda k: k == "total")  # stable: the stages in order, then the total
    rows = {}
    for res, by_mode in summary.items():
        for mode, s in by_mode.items():
            ms = s["ms_per_frame_of_median_run"]
            rows[(res, mode)] = {"frames/s (median)": s["fps_median"],
                                 "frames/s (min)": s["fps_min"], "frames/s (max)": s["fps_max"],
                                 **{f"{k} (ms)": ms.get(k) for k in stages}}  # fmt: skip
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index = pd.MultiIndex.from_tuples(table.index, names=["resolution", "mode"])
    return table


def video_settings(result: dict):
    """What a ``benchmarks/video_pipeline.py`` file measured (its label, clip, resolutions,
    model, method, detector, repeats, target) and on which machine, as a one-column
    DataFrame; a setting the file does not hold is left out."""
    import pandas as pd

    res = result.get("resolutions", result.get("resolution"))
    settings = {"label": result.get("label"), "video": result.get("video"),
                "resolutions": ", ".join(res) if isinstance(res, list) else res}  # fmt: skip
    for key in ("model", "method", "detector", "detect_width", "landmarks", "overlay", "repeat",
                "max_frames", "target_fps"):  # fmt: skip
        settings[key] = result.get(key)
    settings |= result.get("machine", {})
    return pd.Series({k: v for k, v in settings.items() if v is not None}, name="setting",
                     dtype=object).to_frame()  # fmt: skip


def video_notes(result: dict) -> str:
    """Markdown for below :func:`video_table`: how each clip was made, which median runs keep
    up with the file's ``target_fps``, and, only when the file says the pipeline is
    threaded (:func:`video_threaded`), that stage times overlap. Empty for a file that
    holds none of these."""
    lines = []
    for res, clip in result.get("clips", {}).items():
        lines.append(f"* **{res}**: {clip['description']}; {clip['frames']} frames at "
                     f"{clip['fps']:g} frames/s.")  # fmt: skip
    target = result.get("target_fps")
    if target is not None:
        summary = _video_summary(result)
        keep = [f"{res} {mode} ({s['fps_median']:g})" for res, by_mode in summary.items()
                for mode, s in by_mode.items() if s["fps_median"] >= target]  # fmt: skip
        lines.append(f"* **Target {target:g} frames/s**: "
                     + (f"the median run keeps up in {', '.join(keep)}; not in the others."
                        if keep else "no median run keeps up."))  # fmt: skip
    if video_threaded(result):
        waits = any("wait" in r.get("ms_per_frame", {}) for r in _video_runs(result))
        lines.append("* **Threads**: the read, write and export stages run on their own threads "
                     "beside the compute, so their times overlap it: the stage times do not "
                     "add up to the total, which is the wall-clock time per frame."
                     + (" `wait` is the time the compute waited for a decoded frame or for "
                        "room in the writer's queue." if waits else ""))  # fmt: skip
    return "\n".join(lines)


def codecs_table(result: dict):
    """``benchmarks/video_codecs.py``'s figures: per encoder, milliseconds per frame (wall
    time of the median run, and CPU time with the encoder's process), the file's size and
    bit rate, and which browsers play it; the encoder emonb picks for each suffix first."""
    import pandas as pd

    chosen = {enc: suffix for suffix, enc in result["chosen_by_suffix"].items()}
    rows = {}
    for name, r in result["encoders"].items():
        rows[name] = {"emonb's choice for": chosen.get(name, ""), "backend": r["backend"],
                      "ms per frame": r["ms_per_frame"], "CPU ms per frame": r["cpu_ms_per_frame"],
                      "MB": round(r["bytes"] / 1e6, 2), "kbit/s": r["kbit_per_s"],
                      "plays in": r["plays_in"]}  # fmt: skip
    return pd.DataFrame(rows).T


def widgets_table(result: dict):
    """``benchmarks/widgets.py``'s figures: milliseconds per slider move of each explorer,
    measured directly and inside an IPython kernel (where the image also goes over a comm)."""
    import pandas as pd

    rows = {}
    for where, r in (("direct", result), ("in a kernel", result.get("in_a_kernel"))):
        if not r:
            continue
        for name, key in (("feature maps", "feature_maps"), ("explanation maps", "explanation_maps")):
            m = r[key]
            rows[(name, where)] = {"moves": m["moves"], "median (ms)": m["median_ms"],
                                   "p95 (ms)": m["p95_ms"], "max (ms)": m["max_ms"],
                                   "set-up (s)": m["setup_s"]}  # fmt: skip
            if "first_view_of_a_layer" in m:
                f = m["first_view_of_a_layer"]
                rows[(name + ", first view of a layer", where)] = {
                    "moves": f["moves"], "median (ms)": f["median_ms"], "p95 (ms)": f["p95_ms"],
                    "max (ms)": f["max_ms"], "set-up (s)": None}  # fmt: skip
    return pd.DataFrame.from_dict(rows, orient="index")
