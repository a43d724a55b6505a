"""Build the book: papermill executes every chapter in the TOC, then Jupyter Book builds HTML.

Chapters are authored in ``notebooks/NN_name.ipynb`` (no outputs). The TOC (``_toc.yml``)
lists their executed copies as ``book/chapters/NN_name``; :func:`build_book` writes those
copies (each atomically, only when its execution succeeded; live ipywidgets views are
dropped, the chapters carry a static explorer; times of execution removed) and saves every
figure at 300 dpi into ``book/_build/figures/<chapter>/`` (:mod:`emonb.book.figures`, loaded
into each chapter's kernel), then runs ``jupyter-book build`` with warnings as errors into
``book/_build/html`` and copies the figures to ``book/_build/html/figures/``. A failed chapter
stops the build with the chapter's name and the cell's error and leaves the last good
HTML in place. Two builds of the same commit write the same executed chapters and figures,
except where a chapter prints a time (:mod:`emonb.book.reproducible`).

With a ``scheduler`` (or an open ``client``), each chapter is one task on the workers of a
Dask cluster (:mod:`emonb.engine`): :class:`ChapterTask` carries the chapter's paths, its
parameters and the variables its kernel must see (:func:`kernel_environment`), and
:func:`run_chapter_task` applies them around papermill in the worker, so a worker's
executed chapter is the one this process would have written. The workers read and write
the project at the same path as this process: a cluster on other machines needs the
checkout (and the data and cache it names) on a shared path. The HTML is built here.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from emonb import config
from emonb.book import figures as book_figures
from emonb.book import reproducible
from emonb.book.pages import link_figure_pages
from emonb.engine import WORKER_ENV, Executor, check_scheduler, open_executor
from emonb.errors import EmonbError

__all__ = ["KERNEL_ENV", "MATHJAX_KEEP", "ChapterRun", "ChapterTask", "book_environment", "build_book",
           "chapters", "engine_line", "execute_chapter", "find_root", "kernel_environment",
           "run_chapter_task", "trim_mathjax"]  # fmt: skip

CHAPTER_DIR = "book/chapters"
OUTPUT_DIR = "book"  # jupyter-book writes book/_build/html
FIGURE_DIR = "book/_build/figures"  # 300-dpi figures per chapter, copied to html/figures
#: Outputs and metadata of live ipywidgets: the static book drops them (their manager would
#: come from a CDN and their callbacks need a kernel; chapters show a static explorer too).
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def find_root(start: Path | None = None) -> Path:
    """The project root: the nearest folder (upwards from ``start``/cwd) with _config.yml
    and _toc.yml."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_config.yml").is_file() and (folder / "_toc.yml").is_file():
            return folder
    raise EmonbError(
        f"no _config.yml and _toc.yml in {here} or its parents; run from the emonb checkout"
    )


def _toc_files(node: Any) -> list[str]:
    files: list[str] = []
    if isinstance(node, dict):
        if "file" in node:
            files.append(str(node["file"]))
        if "root" in node:
            files.append(str(node["root"]))
        for key in ("chapters", "parts", "sections"):
            for child in node.get(key, []) or []:
                files.extend(_toc_files(child))
    elif isinstance(node, list):
        for child in node:
            files.extend(_toc_files(child))
    return files


def chapters(root: Path) -> list[tuple[str, Path, Path]]:
    """``(name, source notebook, executed copy)`` for every chapter in TOC order."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    out = []
    for entry in _toc_files(toc):
        path = Path(entry)
        if path.parent.as_posix() != CHAPTER_DIR:
            continue
        name = path.stem if path.suffix == ".ipynb" else path.name
        source = root / "notebooks" / f"{name}.ipynb"
        if not source.is_file():
            raise EmonbError(
                f"_toc.yml lists {entry}, but its source {source.relative_to(root)} does not exist"
            )
        out.append((name, source, root / CHAPTER_DIR / f"{name}.ipynb"))
    return out


def execute_chapter(
    source: Path,
    target: Path,
    parameters: Mapping[str, Any] | None = None,
    *,
    cwd: Path | None = None,
    failed_dir: Path | None = None,
    figures: Path | None = None,
) -> None:
    """Run one notebook with papermill into ``target`` (atomic); raise EmonbError on failure.

    Only the parameters the chapter declares are passed; its ``parameters`` cell records them.
    The kernel shows figures without dates or versions (:mod:`emonb.book.figures`); with
    ``figures``, it saves every figure the chapter shows into that folder at 300 dpi. The
    executed copy records no times of execution (:func:`emonb.book.reproducible.normalise`).
    """
    import papermill as pm

    declared = pm.inspect_notebook(str(source))
    params = {k: v for k, v in (parameters or {}).items() if k in declared}
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.stem}.running.ipynb")
    try:
        with _environ({book_figures.ENV_FIGURE_DIR: str(figures) if figures else None}):
            pm.execute_notebook(
                str(source), str(tmp), parameters=params, kernel_name="python3",
                cwd=str(cwd or source.parent), progress_bar=False, log_output=False,
                extra_arguments=list(book_figures.KERNEL_ARGUMENTS),
            )  # fmt: skip
        _drop_live_widgets(tmp)
        reproducible.normalise_file(tmp, cwd or source.parent, input_path=source,
                                    output_path=target)  # fmt: skip
        os.replace(tmp, target)
    except pm.PapermillExecutionError as err:
        kept = ""
        if failed_dir is not None and tmp.exists():
            failed_dir.mkdir(parents=True, exist_ok=True)
            shutil.move(tmp, failed_dir / target.name)
            kept = f" (executed notebook kept at {failed_dir / target.name})"
        where = f"chapter {source.stem} failed in cell {err.exec_count}"
        raise EmonbError(f"{where}: {err.ename}: {err.evalue}{kept}") from None
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def _environ(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (a value) or unset (None) environment variables for the kernels started inside;
    restore them afterwards."""
    def apply(env: Mapping[str, str | None]) -> None:
        for key, value in env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    saved = {k: os.environ.get(k) for k in values}
    try:
        apply(values)
        yield
    finally:
        apply(saved)


def _drop_live_widgets(path: Path) -> int:
    """Remove ipywidgets views and the saved widget state from an executed notebook (so the
    HTML needs no widget manager); returns how many outputs went."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    dropped = 0
    for cell in nb.cells:
        outs = cell.get("outputs", [])
        keep = [o for o in outs if WIDGET_VIEW not in o.get("data", {})]
        dropped += len(outs) - len(keep)
        if cell.cell_type == "code":
            cell.outputs = keep
    if dropped or "widgets" in nb.metadata:
        nb.metadata.pop("widgets", None)
        nbformat.write(nb, path)
    return dropped


#: What the pages use of the MathJax that sphinx-mathjax-offline copies into _static (all of
#: MathJax 3, 24 MB): the TeX-to-HTML bundle the pages load (_config.yml's mathjax_path),
#: its web fonts, and the TeX extensions it loads on demand for a macro outside its core.
#: The SVG and MathML bundles, the speech-rule engine and the accessibility extensions the
#: menu could load (about 22 MB) are removed after the build.
MATHJAX_KEEP = ("tex-chtml.js", "output/chtml/fonts/woff-v2", "input/tex/extensions")


def trim_mathjax(folder: Path, keep: tuple[str, ...] = MATHJAX_KEEP) -> int:
    """Remove from the built book's MathJax ``folder`` everything outside ``keep`` (paths
    relative to it); returns the bytes removed. No folder, nothing to do."""
    if not folder.is_dir():
        return 0
    kept = [folder / k for k in keep]
    missing = [k for k, path in zip(keep, kept, strict=True) if not path.exists()]
    if missing:
        raise EmonbError(f"{folder}: MathJax lacks {', '.join(missing)}; is _config.yml's "
                         "mathjax_path still tex-chtml.js?")  # fmt: skip
    removed = 0
    for path in sorted(folder.rglob("*"), reverse=True):  # files before their folders
        inside = any(path == k or k in path.parents for k in kept)
        above = any(path in k.parents for k in kept)
        if inside or above:
            continue
        if path.is_file() or path.is_symlink():
            removed += path.stat().st_size
            path.unlink()
        else:
            path.rmdir()
    return removed


def _jupyter_book(root: Path) -> list[str]:
    exe = Path(sys.executable).with_name("jupyter-book")
    prog = [str(exe)] if exe.exists() else [shutil.which("jupyter-book") or "jupyter-book"]
    return [
        *prog,
        "build",
        str(root),
        "--path-output",
        str(root / OUTPUT_DIR),
        "-W",
        "-n",
        "--keep-going",
    ]


#: Chapters that later chapters read from: every chapter after one of these in the TOC
#: starts only when it has finished (01_train trains the seed CNN that 02, 08 and 09 load).
PREREQUISITES = ("01_train",)


def _run_chapter(name: str, source: Path, target: Path, parameters: Mapping[str, Any] | None,
                 root: Path) -> tuple[float, int]:  # fmt: skip
    """Execute one chapter of the build (in a worker process when chapters run side by
    side); returns its seconds and the number of figures it saved."""
    t0 = time.perf_counter()
    figures = root / FIGURE_DIR / name
    shutil.rmtree(figures, ignore_errors=True)
    execute_chapter(source, target, parameters, cwd=root,
                    failed_dir=root / OUTPUT_DIR / "_failed", figures=figures)  # fmt: skip
    n_fig = len(list(figures.glob("*.png"))) if figures.is_dir() else 0
    return time.perf_counter() - t0, n_fig


def default_jobs() -> int:
    """Chapters executed side by side: one per CPU core, at most 2 (each kernel runs its
    TensorFlow on every core; a third kernel only adds memory)."""
    return max(1, min(2, os.cpu_count() or 1))


def build_book(
    root: Path | None = None,
    *,
    quick: bool = False,
    parameters: Mapping[str, Any] | None = None,
    only: list[str] | None = None,
    html: bool = True,
    jobs: int | None = None,
    scheduler: str | None = None,
    client: Any = None,
    log: Callable[[str], None] = print,
) -> Path:
    """Execute the chapters (all, or those named in ``only``) and build the HTML book.

    ``quick`` sets ``EMONB_QUICK=1`` for the chapters' kernels, capping every iterative
    step. The kernels and jupyter-book run with the variables of
    :func:`emonb.book.reproducible.build_environment` (``SOURCE_DATE_EPOCH``,
    ``PYTHONHASHSEED``, TensorFlow's thread count). ``jobs`` chapters run side by side, each
    in its own process and kernel (default :func:`default_jobs`); a chapter after one of :data:`PREREQUISITES` waits for it. The
    executed chapters are the same whatever ``jobs`` is: each is a pure function of its
    parameters and of the chapters it waits for. Returns ``book/_build/html``.

    With ``scheduler`` (``local``, ``local:N`` or a Dask scheduler's address, see
    :func:`emonb.engine.open_executor`) or an open ``distributed.Client`` as ``client``, each
    chapter is one task on the cluster's workers instead (``jobs`` must then be None): the
    chapters up to a prerequisite first, side by side, then the others, side by side
    (:func:`run_chapter_task`, which gives the same executed chapter as this process). The
    workers use the project at ``root``'s path: a remote cluster needs the checkout on a
    shared path. The log names the engine (:func:`engine_line`).
    """
    if (scheduler is not None or client is not None) and jobs is not None:
        raise EmonbError("--jobs and --scheduler do not go together: on a cluster, its workers "
                         "run the chapters side by side")  # fmt: skip
    scheduler = check_scheduler(scheduler)
    root = find_root(root)
    todo = chapters(root)
    if only:
        known = [name for name, _, _ in todo]
        unknown = [c for c in only if c not in known]
        if unknown:
            raise EmonbError(
                f"unknown chapter(s) {', '.join(unknown)}; the TOC has {', '.join(known)}"
            )
        todo = [c for c in todo if c[0] in only]
    on_cluster = scheduler is not None or client is not None
    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise EmonbError(f"jobs must be at least 1, got {jobs}")
    total = time.perf_counter()
    with _environ(book_environment(root, quick)):
        if on_cluster:
            with open_executor(scheduler, client) as executor:
                _execute_on(executor, todo, parameters, root, log)
        else:
            _execute(todo, parameters, root, jobs, log)
        out = _html(root, html, log)
    log(f"book done in {time.perf_counter() - total:.1f} s")
    return out


def _execute(todo: list[tuple[str, Path, Path]], parameters: Mapping[str, Any] | None,
             root: Path, jobs: int, log: Callable[[str], None]) -> None:  # fmt: skip
    """Execute ``todo``: one after the other, or side by side in ``jobs`` processes."""
    if jobs == 1 or len(todo) == 1:
        for name, source, target in todo:
            log(f"executing {name} ...")
            seconds, n_fig = _run_chapter(name, source, target, parameters, root)
            log(f"executed  {name} in {seconds:.1f} s ({n_fig} figures)")
    else:
        _run_side_by_side(todo, parameters, root, jobs, log)


def _html(root: Path, html: bool, log: Callable[[str], None]) -> Path:
    """``jupyter-book build`` of the executed chapters (when ``html``); the HTML folder."""
    out = root / OUTPUT_DIR / "_build" / "html"
    if html:
        t0 = time.perf_counter()
        proc = subprocess.run(_jupyter_book(root), cwd=root, capture_output=True, text=True)
        if proc.returncode != 0:
            lines = [
                ln
                for ln in (proc.stdout + proc.stderr).splitlines()
                if "WARNING" in ln or "ERROR" in ln
            ]
            detail = "\n".join(lines[-15:]) or (proc.stdout + proc.stderr)[-2000:]
            raise EmonbError(f"jupyter-book build failed (warnings are errors):\n{detail}")
        trimmed = trim_mathjax(out / "_static" / "mathjax")
        linked = link_figure_pages(out)
        if (root / FIGURE_DIR).is_dir():
            shutil.copytree(root / FIGURE_DIR, out / "figures", dirs_exist_ok=True)
        log(f"built HTML in {time.perf_counter() - t0:.1f} s -> {out} (300-dpi figures in "
            f"{out / 'figures'}, {linked} linked from their pages; MathJax trimmed by "
            f"{trimmed / 1e6:.1f} MB)")
    return out


def _run_side_by_side(todo: list[tuple[str, Path, Path]], parameters: Mapping[str, Any] | None,
                      root: Path, jobs: int, log: Callable[[str], None]) -> None:  # fmt: skip
    """Execute ``todo`` in ``jobs`` worker processes (spawned: each has its own environment
    for its kernel), in TOC order, holding back every chapter after a prerequisite until
    that prerequisite is done; the first failure (in TOC order) stops the build."""
    import multiprocessing
    from concurrent.futures import Future, ProcessPoolExecutor

    futures: dict[str, Future] = {}

    def finish(name: str) -> None:
        seconds, n_fig = futures[name].result()  # re-raises the chapter's EmonbError
        log(f"executed  {name} in {seconds:.1f} s ({n_fig} figures)")

    done: set[str] = set()
    pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"))
    try:
        for name, source, target in todo:
            for pre in PREREQUISITES:
                if pre in futures and pre not in done:
                    finish(pre)
                    done.add(pre)
            log(f"executing {name} ...")
            futures[name] = pool.submit(_run_chapter, name, source, target, parameters, root)
        for name, _, _ in todo:
            if name not in done:
                finish(name)
                done.add(name)
    except BaseException:
        for f in futures.values():
            f.cancel()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# ---- chapters as tasks on an executor (emonb.engine) -------------------------------------------
#: The variables a chapter's kernel reads (emonb's, TensorFlow's, the reproducible build's):
#: a chapter task carries this process's value of each (None: unset) to its worker, whose own
#: environment is another machine's or :data:`emonb.engine.WORKER_ENV`'s thread caps.
KERNEL_ENV = tuple(dict.fromkeys((
    "PYTHONHASHSEED", "SOURCE_DATE_EPOCH", "KERAS_BACKEND", "TF_ENABLE_ONEDNN_OPTS",
    *config.TF_ENV_DEFAULTS, *config.BOOK_TF_ENV, *WORKER_ENV,
    config.ENV_FER2013, config.ENV_QUICK, config.ENV_MAX_STEPS, "EMONB_DETERMINISTIC",
)))  # fmt: skip


def book_environment(root: Path, quick: bool) -> dict[str, str]:
    """What the build sets for its kernels: :func:`emonb.book.reproducible.build_environment`
    and, when ``quick``, ``EMONB_QUICK=1``."""
    return {**reproducible.build_environment(root), **({config.ENV_QUICK: "1"} if quick else {})}


def kernel_environment(environ: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """``{name: value or None}`` of :data:`KERNEL_ENV` and of every other ``EMONB_*`` variable
    set in ``environ`` (default ``os.environ``; ``$EMONB_CACHE_DIR`` among them, when set):
    what a worker sets around papermill so that its kernel sees what a kernel started here
    would (:func:`run_chapter_task`)."""
    environ = os.environ if environ is None else environ
    names = dict.fromkeys([*KERNEL_ENV, *sorted(k for k in environ if k.startswith("EMONB_"))])
    names.pop(book_figures.ENV_FIGURE_DIR, None)  # set per chapter by execute_chapter
    return {k: environ.get(k) for k in names}


@dataclass(frozen=True)
class ChapterTask:
    """One execution of a chapter, in plain values that pickle (a task for any worker):
    papermill runs ``source`` into ``target`` with ``parameters`` (those the chapter
    declares) from ``root``, with ``environment`` set around it; ``figures``: the folder of
    its 300-dpi figures (None: none saved); ``failed_dir``: where a failed execution is kept."""

    name: str
    source: Path
    target: Path
    root: Path
    parameters: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, str | None] = field(default_factory=dict)
    figures: Path | None = None
    failed_dir: Path | None = None


@dataclass(frozen=True)
class ChapterRun:
    """What a :class:`ChapterTask` did: seconds, figures saved, the worker (``host:pid``) and,
    when it failed, the one-line error (chapter name and the cell's error)."""

    name: str
    target: Path
    seconds: float
    figures: int
    worker: str
    error: str | None = None


def run_chapter_task(task: ChapterTask) -> ChapterRun:
    """Execute ``task`` here (this process may be a Dask worker): its environment is set
    around papermill and restored after; a failure is returned, not raised, so that the
    tasks beside it finish and the caller reports failures in its own order."""
    t0 = time.perf_counter()
    error = None
    try:
        with _environ(task.environment):
            if task.figures is not None:
                shutil.rmtree(task.figures, ignore_errors=True)
            execute_chapter(task.source, task.target, task.parameters, cwd=task.root,
                            failed_dir=task.failed_dir, figures=task.figures)  # fmt: skip
    except EmonbError as err:
        error = str(err)
    except Exception as err:  # a dead kernel, a papermill or nbformat error: still one line
        error = f"chapter {task.name} failed: {type(err).__name__}: {' '.join(str(err).split())}"
    figures = task.figures
    n_fig = len(list(figures.glob("*.png"))) if figures is not None and figures.is_dir() else 0
    return ChapterRun(task.name, task.target, time.perf_counter() - t0, n_fig,
                      f"{socket.gethostname()}:{os.getpid()}", error)  # fmt: skip


def engine_line(record: Mapping[str, Any]) -> str:
    """One log line naming what ran the tasks, from :meth:`emonb.engine.Executor.record`."""
    where = f" at {record['scheduler']}" if record.get("scheduler") else ""
    return (f"engine: {record['engine']}{where}, {record['workers']} worker(s), "
            f"{record['tasks']} task(s)")  # fmt: skip


def _waves(tasks: list[ChapterTask]) -> list[list[ChapterTask]]:
    """``tasks`` in TOC order, cut after each prerequisite (:data:`PREREQUISITES`): a wave's
    chapters run side by side, each wave once the one before has finished."""
    waves: list[list[ChapterTask]] = [[]]
    for task in tasks:
        if any(t.name in PREREQUISITES for t in waves[-1]):
            waves.append([])
        waves[-1].append(task)
    return [w for w in waves if w]


def _execute_on(executor: Executor, todo: list[tuple[str, Path, Path]],
                parameters: Mapping[str, Any] | None, root: Path,
                log: Callable[[str], None]) -> None:  # fmt: skip
    """Execute ``todo`` as tasks of ``executor`` (:func:`_waves`); the first failure in TOC
    order stops the build once its wave is done."""
    env = kernel_environment()
    tasks = [ChapterTask(name, source, target, root, dict(parameters or {}), env,
                         figures=root / FIGURE_DIR / name, failed_dir=root / OUTPUT_DIR / "_failed")
             for name, source, target in todo]  # fmt: skip
    for wave in _waves(tasks):
        log(f"executing {', '.join(t.name for t in wave)} ...")
        runs = executor.map(run_chapter_task, wave, label="chapter")
        for run in runs:
            if run.error is not None:
                raise EmonbError(run.error)
            log(f"executed  {run.name} in {run.seconds:.1f} s ({run.figures} figures) on {run.worker}")
    log(engine_line(executor.record()))
