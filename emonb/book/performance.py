"""Chapter 90's tables: the recorded benchmark files of ``benchmarks/`` as DataFrames and
notes (``emonb bench``, ``benchmarks/video_pipeline.py``, ``video_codecs.py``,
``widgets.py``). Pure readers of recorded dicts; nothing here runs a model."""

from __future__ import annotations

__all__ = ["MAP_STAGES", "codecs_table", "evaluation_estimate", "evaluation_runs",
           "evaluation_stages", "results_table", "scorecam_bound", "video_notes",
           "video_settings", "video_table", "video_threaded", "whole_split_gain",
           "whole_split_ranking", "widgets_table"]


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


#: The stages of an evaluate-maps run, as the performance page groups them: per method,
#: every method's clock summed (``maps``, ``curves`` = deletion/insertion, ``road``,
#: ``robustness``), then the stages of the whole run.
MAP_STAGES = ("maps", "curves", "road", "robustness", "faithfulness correlation",
              "action units per face", "mesh", "randomization", "pointing", "regions",
              "region tables", "action_units")  # fmt: skip


def _stage_seconds(seconds: dict) -> dict[str, float]:
    """An evaluate-maps run's ``seconds`` in :data:`MAP_STAGES` (the methods' clocks summed)."""
    out = dict.fromkeys(MAP_STAGES, 0.0)
    for key, value in seconds.items():
        if isinstance(value, dict):
            for clock, t in value.items():
                out[clock] = out.get(clock, 0.0) + t
        else:
            out[key] = out.get(key, 0.0) + value
    return out


def evaluation_runs(result: dict):
    """``benchmarks/evaluate_maps.py``'s runs, one row each: the engine, its workers and
    tasks, the command's wall and evaluation seconds, and the numbers compared with the
    first run (how many, largest absolute difference)."""
    import pandas as pd

    equal = {e["engine"]: e for e in result.get("equality", [])}
    rows = {}
    for r in result["runs"]:
        e, q = r["engine"], equal.get(r["engine_given"])
        rows[r["engine_given"]] = {
            "workers": e["workers"], "tasks": e["tasks"], "wall (s)": r["wall_seconds"],
            "evaluation (s)": r["evaluation_seconds"],
            "waited for the side tasks (s)": (None if e.get("side_wait_seconds") is None
                                              else round(e["side_wait_seconds"], 1)),
            "numbers compared": q["numbers"] if q else None,
            "largest difference": q["largest_difference"] if q else None}  # fmt: skip
    return pd.DataFrame(rows).T.astype({"workers": int, "tasks": int, "numbers compared": "Int64"})


def evaluation_stages(result: dict):
    """Seconds per stage (:data:`MAP_STAGES`) of each run of ``benchmarks/evaluate_maps.py``
    (on a cluster, a stage's seconds are summed over its tasks: work, not wall time; the
    randomization stages and the pointing game run beside the per-face work, so their
    seconds overlap the others')."""
    import pandas as pd

    return pd.DataFrame({r["engine_given"]: _stage_seconds(r["seconds"])
                         for r in result["runs"]}).round(1)  # fmt: skip


def evaluation_estimate(result: dict):
    """The evaluation's estimated seconds on N workers (``estimate`` of
    ``benchmarks/evaluate_maps.py``: serial + max(task work / N, longest task)); None
    without a cluster run."""
    import pandas as pd

    est = result.get("estimate")
    if est is None:
        return None
    return pd.DataFrame({"workers": [int(w) for w in est["seconds"]],
                         "estimated evaluation (s)": list(est["seconds"].values())}).set_index("workers")


#: The per-face metrics of an evaluate-maps table whose intervals the whole-split run is
#: compared on: name -> (mean column, lo column, hi column).
INTERVAL_METRICS = {
    "insertion - deletion": ("insertion - deletion", "lo", "hi"),
    **{m: (m, f"{m} lo", f"{m} hi") for m in ("faithfulness correlation", "sparseness",
                                              "complexity", "ROAD (LeRF - MoRF)",
                                              "max-sensitivity", "random-logit SSIM")},
}


def _widths(result: dict) -> dict[str, dict[str, float]]:
    """Metric -> row -> interval width (hi - lo) of an evaluate-maps result: each method's
    row of the table, and each emotion and action unit of the first AU map's occlusion."""
    out: dict[str, dict[str, float]] = {}
    for name, (_, lo, hi) in INTERVAL_METRICS.items():
        out[name] = {r["method"]: r[hi] - r[lo] for r in result["table"]
                     if r.get(lo) is not None and r.get(hi) is not None}  # fmt: skip
    au = result.get("action_units") or {}
    occ = (au.get(au.get("au_map")) or {}).get("occlusion") or {}
    out["AU occlusion drop"] = {f"{e} {u}": v["hi"] - v["lo"] for e, aus in occ.items()
                                for u, v in aus.items()
                                if v.get("lo") is not None and v.get("hi") is not None}  # fmt: skip
    return out


def whole_split_gain(sample: dict, whole: dict):
    """What an evaluation of a whole split adds over a sample of it (two evaluate-maps
    results of the same model and settings but ``n``): per metric, the faces each scored
    (the explained faces, or the fixed ROAD / robustness samples), and the median over the
    methods (or emotions x action units) of the interval width on the sample and on the
    whole split, and their ratio (about sqrt(faces ratio) where the faces grow)."""
    import numpy as np
    import pandas as pd

    a, b = _widths(sample), _widths(whole)
    faces = {"ROAD (LeRF - MoRF)": "road_faces", "max-sensitivity": "robustness_faces",
             "random-logit SSIM": "robustness_faces", "AU occlusion drop": "au_faces"}  # fmt: skip
    rows = {}
    for metric in a:
        keys = sorted(a[metric].keys() & b[metric].keys())
        if not keys:
            continue
        wa = float(np.median([a[metric][k] for k in keys]))
        wb = float(np.median([b[metric][k] for k in keys]))
        key = faces.get(metric, "n")
        rows[metric] = {"faces (sample)": sample["settings"].get(key),
                        "faces (whole)": whole["settings"].get(key),
                        "median width (sample)": round(wa, 4), "median width (whole)": round(wb, 4),
                        "width ratio": round(wa / wb, 2) if wb > 0 else None}  # fmt: skip
    return pd.DataFrame(rows).T.astype({"faces (sample)": "Int64", "faces (whole)": "Int64"})


def whole_split_ranking(sample: dict, whole: dict):
    """Each method's insertion - deletion with its interval and rank on the sample and on
    the whole split (two evaluate-maps results, see :func:`whole_split_gain`), in the whole
    split's order; ``separated``: whether its interval lies apart from the next method's."""
    import pandas as pd

    def table(result):
        t = pd.DataFrame(result["table"]).set_index("method")[["insertion - deletion", "lo", "hi"]]
        t = t.sort_values("insertion - deletion", ascending=False)
        t["rank"] = range(1, len(t) + 1)
        t["separated"] = (t["lo"] > t["hi"].shift(-1)).where(t["hi"].shift(-1).notna())
        return t

    a, b = table(sample), table(whole)
    n_a, n_b = sample["settings"]["n"], whole["settings"]["n"]
    out = pd.DataFrame(index=b.index)
    for label, t in ((f"{n_a} faces", a), (f"{n_b} faces", b)):
        out[f"{label}: mean"] = t["insertion - deletion"].round(3)
        out[f"{label}: width"] = (t["hi"] - t["lo"]).round(3)
        out[f"{label}: rank"] = t["rank"]
        out[f"{label}: apart from the next"] = t["separated"]
    return out
