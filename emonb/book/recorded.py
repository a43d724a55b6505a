"""Recorded results: the files under ``benchmarks/`` that a page shows but does not compute.

Most numbers in the book are computed while it builds. A few cost too much for a build (a
one-hour training run, a study of training settings across seeds, benchmarks that need an idle machine, a 20-minute
evaluation on FER-2013): one committed command writes each of them whole into
``benchmarks/``, stamped with its provenance (:func:`emonb.records.provenance`: ``command``,
``commit``, ``date``, ``machine``). :func:`load_recorded` reads such a file and
:func:`recorded_note` is the box every page that shows one carries: which file, the command
that makes it, the commit, date and machine. A file without a complete provenance is shown
with a warning saying so, never as if it had one.

:data:`RECORDED` lists every recorded file, the command that writes it and the pages that
show it; the intro's table and the tests are checked against it.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from pathlib import Path

from emonb.records import load_json

__all__ = ["PROVENANCE_KEYS", "RECORDED", "Recorded", "load_recorded", "provenance_of",
           "recorded_note"]  # fmt: skip

#: What a recorded file's ``provenance`` must hold.
PROVENANCE_KEYS = ("command", "commit", "date", "machine")


@dataclass(frozen=True)
class Recorded:
    """One recorded file: where it is, the command that writes it whole, the chapters that
    show it, and what it is."""

    path: str
    command: str
    chapters: tuple[str, ...]
    what: str


#: Every file under benchmarks/ that a page shows (or will: ``chapters`` empty means no page
#: shows it yet). Commands run from the project root.
RECORDED: tuple[Recorded, ...] = (
    Recorded("benchmarks/seed_cnn_cpu.history.json",
             "emonb train --data FER2013 --epochs 28 --out benchmarks/seed_cnn_cpu.keras",
             ("01_train",), "the seed CNN's full training run on the 2-core CPU"),
    Recorded("benchmarks/seed_cnn_cpu.publictest.json",
             "emonb evaluate --data FER2013 --model benchmarks/seed_cnn_cpu.keras "
             "--split PublicTest --json benchmarks/seed_cnn_cpu.publictest.json",
             ("01_train", "02_evaluate"), "that model's PublicTest accuracy, macro-F1 and per-class report"),
    Recorded("benchmarks/seed_cnn_study_cpu.json",
             "python benchmarks/train_study.py --data FER2013 --out study/ "
             "--json benchmarks/seed_cnn_study_cpu.json",
             ("01_train",), "the settings study: class weights and dense BN, 3 seeds each, "
             "scored on validation data"),
    Recorded("benchmarks/mini_xception.publictest.json",
             "emonb evaluate --data FER2013 --model mini-xception --split PublicTest "
             "--json benchmarks/mini_xception.publictest.json",
             ("02_evaluate",), "the mini-Xception's PublicTest accuracy, macro-F1 and per-class report"),
    Recorded("benchmarks/faithfulness_mini_xception.json",
             "python benchmarks/evaluate_maps.py --n 500 --engines in-process,local:2 "
             "--result benchmarks/faithfulness_mini_xception.json "
             "--json benchmarks/evaluate_maps_cpu.json",
             ("08_faithfulness", "90_performance"), "chapter 08's evaluation on 500 FER-2013 PublicTest faces "
             "(emonb evaluate-maps --n 500, in one process)"),
    Recorded("benchmarks/evaluate_maps_cpu.json",
             "python benchmarks/evaluate_maps.py --n 500 --engines in-process,local:2 "
             "--result benchmarks/faithfulness_mini_xception.json "
             "--json benchmarks/evaluate_maps_cpu.json",
             ("90_performance",), "how long evaluate-maps takes on 500 faces, stage by stage, "
             "in one process and on 2 local Dask workers, the two runs' numbers compared"),
    Recorded("benchmarks/faithfulness_mini_xception_publictest.json",
             "python benchmarks/evaluate_maps.py --n 3589 --engines in-process "
             "--result benchmarks/faithfulness_mini_xception_publictest.json "
             "--json benchmarks/evaluate_maps_publictest_cpu.json",
             ("90_performance",), "the map evaluation on all 3,589 FER-2013 PublicTest faces "
             "(emonb evaluate-maps --n 3589, in one process)"),
    Recorded("benchmarks/evaluate_maps_publictest_cpu.json",
             "python benchmarks/evaluate_maps.py --n 3589 --engines in-process "
             "--result benchmarks/faithfulness_mini_xception_publictest.json "
             "--json benchmarks/evaluate_maps_publictest_cpu.json",
             ("90_performance",), "how long evaluate-maps takes on all 3,589 PublicTest faces, "
             "stage by stage, in one process"),
    Recorded("benchmarks/mini_xception_cpu.json",
             "emonb bench --data FER2013 --json benchmarks/mini_xception_cpu.json",
             ("90_performance",), "speed of every explanation method, next to tf-keras-vis"),
    Recorded("benchmarks/video_pipeline_cpu.json",
             "python benchmarks/video_pipeline.py --baseline --compare-detectors --repeat 5 "
             "--json benchmarks/video_pipeline_cpu.json",
             ("90_performance",), "frames per second of `emonb video` at 640x360 and 1080p, per stage"),
    Recorded("benchmarks/video_codecs_cpu.json",
             "python benchmarks/video_codecs.py --json benchmarks/video_codecs_cpu.json",
             ("90_performance",), "encoding cost and size of each video codec emonb writes"),
    Recorded("benchmarks/determinism_cpu.json",
             "python benchmarks/determinism.py --json benchmarks/determinism_cpu.json",
             ("90_performance",), "what TensorFlow's op determinism (on by default) costs the mini-Xception"),
    Recorded("benchmarks/widgets_cpu.json",
             "python benchmarks/widgets.py --json benchmarks/widgets_cpu.json",
             ("90_performance",), "milliseconds per move of the live explorers"),
    Recorded("benchmarks/detectors_cpu.json",
             "python benchmarks/detectors.py --out benchmarks/detectors_cpu.json",
             ("09_action_units",), "BlazeFace against Haar on the photos and the clip"),
    Recorded("benchmarks/landmarks_cpu.json",
             "python benchmarks/landmarks.py --json benchmarks/landmarks_cpu.json",
             ("09_action_units",), "the mesh's acceptance rate on all of PublicTest"),
    Recorded("benchmarks/cam_layers_cpu.json",
             "python benchmarks/cam_layers.py --json benchmarks/cam_layers_cpu.json",
             ("05_class_activation_maps",), "Grad-CAM, Grad-CAM++ and Layer-CAM at every layer (FER-2013)"),
    Recorded("benchmarks/au_maps_cpu.json",
             "python benchmarks/au_maps.py --json benchmarks/au_maps_cpu.json",
             ("09_action_units",), "AU12 on the appearance and muscle maps (FER-2013 Training)"),
    Recorded("benchmarks/au_activity_cpu.json",
             "python benchmarks/au_activity.py --json benchmarks/au_activity_cpu.json "
             "--reference emonb/anatomy/au_reference.json",
             ("09_action_units",), "each AU's measured activity against FER-2013's labels (AUC)"),
    Recorded("benchmarks/robustness_cpu.json",
             "python benchmarks/robustness.py --data FER2013 --per-class 50 --models "
             "mini-xception,benchmarks/seed_cnn_cpu.keras --json benchmarks/robustness_cpu.json",
             ("09_action_units",), "the book's claims under every analysis, on PublicTest faces"),
)


def load_recorded(path: str | os.PathLike[str]) -> dict:
    """A recorded JSON file (a dict); :class:`EmonbError` if it is missing or not JSON."""
    return load_json(path, "recorded result")


def provenance_of(result: dict) -> dict | None:
    """The result's provenance when it holds all of :data:`PROVENANCE_KEYS`, else None."""
    prov = result.get("provenance")
    if isinstance(prov, dict) and all(prov.get(k) for k in PROVENANCE_KEYS):
        return prov
    return None


def _machine(machine: dict) -> str:
    parts = [f"{machine.get('cpus', '?')} CPUs"]
    for key, label in (("python", "Python"), ("tensorflow", "TensorFlow"), ("keras", "Keras"),
                       ("backend", "backend")):  # fmt: skip
        if machine.get(key):
            parts.append(f"{label} {machine[key]}")
    return ", ".join(parts)


def recorded_note(path: str | os.PathLike[str], result: dict | None = None, *,
                  name: str | None = None):  # fmt: skip
    """The box a page shows above a recorded result (IPython HTML): the file, the command
    that wrote it, its commit, date and machine. ``name`` is how the page names the file
    (default: its path relative to the project, as the parameter gave it)."""
    from IPython.display import HTML

    shown = html.escape(name or str(path))
    result = load_recorded(path) if result is None else result
    prov = provenance_of(result)
    if prov is None:
        known = next((r for r in RECORDED if Path(r.path).name == Path(path).name), None)
        how = (f" The command that now writes it whole is <code>{html.escape(known.command)}"
               "</code>; it has not been re-run." if known else "")  # fmt: skip
        body = (f"<b>Recorded result without provenance</b>: <code>{shown}</code> was not "
                "computed while this book was built, and it does not say which command, "
                f"commit and machine produced it.{how}")
        kind = "warning"
    else:
        commit = str(prov["commit"])[:7] + (" with uncommitted changes" if prov.get("dirty") else "")
        machine = prov["machine"] if isinstance(prov["machine"], dict) else {}
        body = (f"<b>Recorded result</b>, not computed while this book was built: "
                f"<code>{shown}</code>, written by <code>{html.escape(str(prov['command']))}"
                f"</code> at commit {html.escape(commit)} on {html.escape(str(prov['date']))} "
                f"({html.escape(_machine(machine))}).")
        kind = "note"
    return HTML(f'<div class="admonition {kind} emonb-recorded" data-file="{shown}">'
                f'<p class="admonition-title">Recorded</p><p>{body}</p></div>')  # fmt: skip
