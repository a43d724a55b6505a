"""``emonb evaluate-maps``: score explanation maps (chapter 08's metrics) and print them."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from emonb import records
from emonb.cli.argtypes import add_data, add_model, add_scheduler, whole
from emonb.cli.checks import check_model, check_output, method_list, pick_split
from emonb.errors import EmonbError


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("evaluate-maps",
                       help="score explanation maps: deletion/insertion, ROAD, faithfulness "
                            "correlation, max-sensitivity, random-logit, sparseness, complexity, "
                            "randomization, pointing game, face regions")  # fmt: skip
    add_data(p)
    add_model(p)
    p.add_argument("--methods", default=None,
                   help="comma-separated method names (default: every class-specific method but cam; "
                        "'random' and 'centre' reference maps are always added)")  # fmt: skip
    p.add_argument("--n", type=whole(1), default=500,
                   help="faces, a stratified sample (default 500)")  # fmt: skip
    p.add_argument("--split", default=None,
                   help="usage to sample (default PublicTest, or the data's only usage)")  # fmt: skip
    p.add_argument("--steps", type=whole(2), default=16,
                   help="deletion/insertion steps (default 16)")  # fmt: skip
    p.add_argument("--baseline", choices=("blur", "mean"), default="blur",
                   help="what replaces a removed pixel (default blur)")  # fmt: skip
    p.add_argument("--stages", type=whole(1), default=6,
                   help="cascading randomization stages, top layer down (default 6)")  # fmt: skip
    p.add_argument("--n-random", type=whole(1), default=16,
                   help="faces in the randomization check (default 16)")  # fmt: skip
    p.add_argument("--n-regions", type=whole(1), default=None,
                   help="faces in the face-region analysis (default: every face of --split)")  # fmt: skip
    p.add_argument("--pointing-model", default=None,
                   help="model trained on the synthetic stand-in for the pointing game (default: "
                        "chapter 01's, trained if missing; 'none' skips the pointing game)")  # fmt: skip
    p.add_argument("--n-road", type=whole(1), default=100,
                   help="faces of the sample scored by ROAD (default 100)")  # fmt: skip
    p.add_argument("--n-robust", type=whole(1), default=16,
                   help="faces explained again for max-sensitivity and random-logit (default 16)")  # fmt: skip
    p.add_argument("--sensitivity-samples", type=whole(1), default=5,
                   help="noisy copies per face for max-sensitivity (default 5)")  # fmt: skip
    p.add_argument("--correlation-runs", type=whole(2), default=50,
                   help="random pixel subsets for faithfulness correlation (default 50)")  # fmt: skip
    p.add_argument("--n-pointing", type=whole(1), default=100,
                   help="stand-in faces in the pointing game (default 100, at most --n)")  # fmt: skip
    p.add_argument("--regions", choices=("mesh", "canonical"), default="mesh",
                   help="face regions: each face's own, from the face mesh (default; with the "
                        "canonical boxes as a comparison, and evidence per FACS action unit), or "
                        "the canonical 48x48 boxes only")  # fmt: skip
    p.add_argument("--au-map", choices=("appearance", "muscle", "both"), default="appearance",
                   help="FACS action-unit regions for the evidence per action unit (with "
                        "--regions mesh): 'appearance', where each action shows (default), "
                        "'muscle', py-feat's muscle map, or 'both' (--json: action_units holds "
                        "each map's occlusion under its name); the first is also au_shap's")  # fmt: skip
    p.add_argument("--layers", default=None,
                   help="also sweep the CAM-family methods of --methods (default: gradcam, "
                        "gradcam_plus_plus, layercam) over layers: 'all' (every convolutional "
                        "layer with a spatial output) or NAME,...; adds layer_sweep and "
                        "cam_layer (gradcam's layer of highest mean insertion - deletion) to "
                        "--json. The ranking keeps the model's CAM layer (settings.cam_layer, "
                        "with settings.cam_layer_source: record or rule)")  # fmt: skip
    p.add_argument("--robustness", action="store_true",
                   help="also judge the book's claims under every analysis on the explained "
                        "faces (emonb.metrics.claims, the AU maps of --au-map; needs --regions "
                        "mesh and real faces; slow: minutes per hundred faces; with --scheduler "
                        "its per-face work runs on the workers in chunks of --chunk faces, the "
                        "verdicts' bootstrap here); adds robustness to --json")  # fmt: skip
    p.add_argument("--seed", type=whole(0), default=0, help="seed of the sample and the references")
    p.add_argument("--quick", action="store_true",
                   help="one method per family unless --methods names them (QUICK_METHODS), at "
                        "most 48 faces (96 for regions, 24 for ROAD, 8 for randomization and "
                        "robustness), 2 stages and the methods' quick iterations; with "
                        "--robustness one CAM layer, one baseline each and 100 resamples (a "
                        "pipeline check, as CI runs it)")  # fmt: skip
    add_scheduler(p, "the per-face work (every method's maps and metrics, and with --robustness "
                     "the claims' drops, shares and curves, in chunks of faces)")
    p.add_argument("--chunk", type=whole(1), default=None,
                   help="faces per task with --scheduler (default: about four tasks per worker); "
                        "the numbers do not depend on it")  # fmt: skip
    p.add_argument("--json", type=Path, default=None,
                   help="write every result as JSON (whole, once the run has finished; it "
                        "records the engine: in-process or the scheduler, workers, tasks)")  # fmt: skip
    return p


def run(args: argparse.Namespace) -> int:
    from emonb.engine import open_executor

    check_output(args.json, "--json")
    if args.chunk is not None and args.scheduler is None:
        raise EmonbError("--chunk sets the faces per task on a cluster: add --scheduler")
    # the cluster first: an unreachable scheduler is one line before any work
    with open_executor(args.scheduler) as executor:
        return _evaluate(args, executor)


def _evaluate(args: argparse.Namespace, executor) -> int:
    from emonb import config
    from emonb.anatomy.au_maps import maps_of
    from emonb.data.fer2013 import load_faces

    # arguments, output path and data are all checked before a model loads or trains
    check_model(args.model)
    if args.pointing_model not in (None, "none"):
        check_model(args.pointing_model)
    methods = method_list(args.methods)
    layers = layer_list(args.layers)
    if args.robustness and args.regions != "mesh":
        raise EmonbError("--robustness needs each face's mesh: use --regions mesh")
    faces = load_faces(args.data)
    if args.robustness and faces.synthetic:
        raise EmonbError("--robustness judges claims about real faces; the synthetic stand-in "
                         "has none (give FER-2013 with --data or $EMONB_FER2013)")  # fmt: skip
    split = pick_split(faces, args.split, "PublicTest")
    from emonb.metrics.evaluate import (
        DEFAULT_METHODS,
        POINTING_FACES,
        QUICK_METHODS,
        evaluate_maps,
        method_factory,
    )
    from emonb.metrics.settings import EvaluationSettings
    from emonb.models.train import book_model
    from emonb.models.zoo import load_model

    for m in methods or ():
        method_factory(m)  # an unknown name is an error listing the valid ones
    swept = sweep_methods(methods) if layers is not None else None
    quick = args.quick or config.is_quick()
    settings = EvaluationSettings(
        n=args.n, split=split, steps=args.steps, baseline=args.baseline, stages=args.stages,
        n_random=args.n_random, n_regions=args.n_regions, regions=args.regions,
        n_road=args.n_road, n_robust=args.n_robust, n_pointing=args.n_pointing,
        sensitivity_samples=args.sensitivity_samples, correlation_runs=args.correlation_runs,
        seed=args.seed, au_maps=maps_of(args.au_map),
    ).capped(quick)  # the sizes, and every method's samples, steps, channels (quick mode)
    net = load_model(args.model)
    if layers is not None:
        from emonb.metrics.layers import sweep_layers

        sweep_layers(net, layers)  # an unknown name is an error listing the valid ones
    pointing_net = pointing_faces = None
    if args.pointing_model != "none":
        pointing_faces = load_faces("synthetic", n_synthetic=POINTING_FACES, seed=args.seed)
        path = args.pointing_model or book_model(pointing_faces, seed=args.seed, quick=quick)
        pointing_net = load_model(path)
    t0 = time.perf_counter()
    result = evaluate_maps(
        net, faces, methods=methods or (QUICK_METHODS if quick else DEFAULT_METHODS),
        settings=settings, pointing_net=pointing_net, pointing_faces=pointing_faces,
        executor=executor, chunk=args.chunk,
    )  # fmt: skip
    sweep = None
    if layers is not None:
        from emonb.metrics.layers import choose_cam_layer, layer_sweep

        rows = layer_sweep(net, faces, methods=swept, layers=layers, settings=settings)
        chooser = "gradcam" if "gradcam" in swept else swept[0]
        sweep = {"layer_sweep": rows, "cam_layer": choose_cam_layer(rows, chooser),
                 "cam_layer_method": chooser}  # fmt: skip
    seconds = time.perf_counter() - t0  # the evaluation's (--robustness is timed apart)
    robust = None
    if args.robustness:
        from emonb.metrics.claims import ClaimSettings, evaluation_claims

        t1 = time.perf_counter()
        claims = evaluation_claims(net, faces, result, settings, ClaimSettings().capped(quick),
                                   log=print, executor=executor, chunk=args.chunk)  # fmt: skip
        robust = {"robustness": claims, "robustness_seconds": time.perf_counter() - t1}
    report(result, net, faces, pointing_net, seconds)
    if sweep is not None:
        report_sweep(sweep)
    if robust is not None:
        report_robustness(robust["robustness"], robust["robustness_seconds"])
    if args.json:
        extra = dict(sweep or {})
        if robust is not None:
            from emonb.metrics.verdicts import robustness_records

            extra.update(robustness=robustness_records(robust["robustness"]),
                         robustness_seconds=robust["robustness_seconds"])  # fmt: skip
        doc = dict(result.to_json(), **extra, wall_seconds=seconds,
                   provenance=records.provenance())  # fmt: skip
        print(f"wrote {records.write_json(doc, args.json, indent=2)}")
    return 0


def layer_list(text: str | None) -> str | list[str] | None:
    """``--layers``: None (no sweep), ``"all"``, or the names of a ``NAME,...`` list (an
    empty list is an error; the names are checked once the model is loaded)."""
    if text is None or text.strip() == "all":
        return None if text is None else "all"
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise EmonbError(f"--layers: no layer names in {text!r}")
    return names


def sweep_methods(methods: list[str] | None) -> list[str]:
    """The methods ``--layers`` sweeps: the CAM-family ones of ``--methods`` (an error if it
    names none), else :data:`emonb.metrics.layers.SWEEP_METHODS`."""
    from emonb.metrics.layers import SWEEP_METHODS, layered_methods

    if methods is None:
        return list(SWEEP_METHODS)
    cams = [m for m in methods if m in layered_methods()]
    if not cams:
        raise EmonbError(f"--layers sweeps CAM-family methods, and --methods names none; add one "
                         f"of {', '.join(layered_methods())}")  # fmt: skip
    return cams


def report_sweep(sweep: dict) -> None:
    """The layer sweep's table and the chosen layer, on stdout."""
    from emonb.metrics.layers import layer_table

    rows = sweep["layer_sweep"]
    print(f"\nlayer sweep ({rows[0]['faces']} faces; insertion - deletion, mean [95% interval], "
          f"and ROAD on {rows[0]['road_faces']} faces):")  # fmt: skip
    print(layer_table(rows).round(3).to_string(index=False))
    print(f"CAM layer ({sweep['cam_layer_method']}: highest mean insertion - deletion, ties to "
          f"the later layer): {sweep['cam_layer']}")  # fmt: skip


def report_robustness(table, seconds: float) -> None:
    """Each claim's summary over the analyses of the robustness table, on stdout."""
    from emonb.metrics.verdicts import summarize

    rows = summarize(table)
    print(f"\nthe claims under every analysis ({seconds:.0f} s; holds / contradicted: the "
          "interval lies above / below the null in every analysis):")  # fmt: skip
    print(rows[["claim", "analyses", "holds", "contradicted", "inconclusive", "summary",
                "depends on"]].to_string(index=False))  # fmt: skip


def report(result, net, faces, pointing_net, seconds: float) -> None:
    """The tables of an :func:`emonb.metrics.evaluate.evaluate_maps` result, on stdout."""
    from emonb.metrics.ranking import metric_columns

    s = result.settings
    print(f"\n{net.name} on {s['n']:,} {faces.name} faces ({s['split'] or 'all rows'}; "
          f"accuracy {s['accuracy']:.3f}), {seconds:.0f} s")  # fmt: skip
    how = ("recorded with the model" if s["cam_layer_source"] == "record"
           else "picked by rule, not by measurement")  # fmt: skip
    print(f"CAM-family methods at {s['cam_layer']} ({how})")
    e = s["engine"]
    print("per-face work: in this process" if e["engine"] == "in-process" else
          f"per-face work: {e['tasks']} tasks of up to {e['chunk_faces']} faces on {e['workers']} "
          f"Dask workers ({e['scheduler']})")  # fmt: skip
    cols = ["insertion - deletion", "lo", "hi", "deletion AUC", "insertion AUC",
            "randomization spearman (top)", "randomization spearman (mean)",
            "randomization ssim (mean)", "pointing game (synthetic)"]  # fmt: skip
    print(result.table[[c for c in cols if c in result.table]].round(3).to_string())
    print("\nmore metrics (mean [95% interval]; higher is better for ROAD, faithfulness correlation "
          "and sparseness, lower for max-sensitivity, random-logit and complexity):")
    print(metric_columns(result.table).to_string())
    if result.agreement is not None:
        print("\nagreement of the metrics' rankings (Spearman over methods, higher-is-better "
              "oriented):")  # fmt: skip
        print(result.agreement.round(2).to_string())
    if pointing_net is not None:
        print(f"pointing game: {pointing_net.name} on the synthetic stand-in's PublicTest faces "
              f"(accuracy {s['pointing_accuracy']:.3f}; the cue covers "
              f"{result.pointing.attrs['cue area']:.0%} of a face)")  # fmt: skip
    where = ("each face's own regions (face mesh)" if s["regions"] == "mesh"
             else "the canonical 48x48 boxes")  # fmt: skip
    print(f"\nclaims (region A > region B for faces predicted as the emotion; "
          f"{s['region_faces']:,} faces; {where}):")  # fmt: skip
    print(result.claims.round(3).to_string(index=False))
    if result.changes is not None:
        print(f"\nmesh: {s['mesh_rejected']} of {s['mesh_faces']:,} faces rejected (left out); "
              f"verdicts that differ with the canonical boxes: {len(result.changes) or 'none'}")  # fmt: skip
        if len(result.changes):
            print(result.changes.round(3).to_string(index=False))
    for au in (result.au_by_map or {}).values():
        a = au.agreement
        keep = (a["grouping"] == "predicted") & a["evidence"].isin(["occlusion", s["region_method"]])
        print(f"\nFACS agreement ({au.summary()}; by prediction):")
        print(a[keep].round(3).to_string(index=False))
