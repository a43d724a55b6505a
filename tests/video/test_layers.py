"""No import circle runs through emonb.video: every import of every module (module level,
inside functions, under ``TYPE_CHECKING``) read from the source with :mod:`ast`."""

from __future__ import annotations

import ast
from pathlib import Path

import emonb

ROOT = Path(emonb.__file__).parent


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its ``__init__``)."""
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that ``name`` imports anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        for target in targets:
            while target and target not in known:  # a name inside a module: that module
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imports(name, path, set(mods)) for name, path in mods.items()}


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                scc.add(w)
                if w == v:
                    break
            if len(scc) > 1:
                out.append(scc)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_checker_finds_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [{"a", "b", "c"}]


def test_no_circle_runs_through_video():
    graph = import_graph()
    assert "emonb.video.sources" in graph["emonb.video.pipeline"]  # the graph sees imports
    assert "emonb.faces" in graph["emonb.video.real_faces"]
    video = [sorted(c) for c in cycles(graph) if any(m.startswith("emonb.video") for m in c)]
    assert not video, f"import circles through emonb.video: {video}"


def test_video_imports_nothing_above_it():
    """``video/`` sits above faces, models, methods and plotting, and below the book, the
    explain module and the command line."""
    graph = import_graph()
    above = ("emonb.explain", "emonb.cli", "emonb.book", "emonb.predict", "emonb.bench")
    wrong = {m: sorted(t for t in targets if t.startswith(above))
             for m, targets in graph.items() if m.startswith("emonb.video")}  # fmt: skip
    assert not {m: t for m, t in wrong.items() if t}
