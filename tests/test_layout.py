"""The package layout: imports flow one way, the top level stays small, no source file is huge.

The import graph covers every module of `dory_xdsl` (with `dialects/`, `transforms/` and
`lowering/`, installed as its sub-packages) and counts every `import` statement, including the
ones inside functions, since a function-level import is a dependency all the same.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIRS = {"dory_xdsl": "dory_xdsl", "dialects": "dory_xdsl.dialects",
                "transforms": "dory_xdsl.transforms", "lowering": "dory_xdsl.lowering"}

LAYERS = ["top", "semantics", "tiling", "dialects", "analysis", "frontend", "transforms",
          "lowering", "engines", "golden", "generators", "drivers"]
"""Stages from the bottom up: a module may import only from its own stage or the ones below."""

MAX_TOP_LEVEL_MODULES = 12
MAX_LINES = 800


def _modules() -> dict[str, Path]:
    modules = {}
    for folder, package in PACKAGE_DIRS.items():
        base = ROOT / folder
        for path in base.rglob("*.py"):
            if path.is_relative_to(ROOT / "dory_xdsl") and folder != "dory_xdsl":
                continue
            parts = list(path.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join([package, *parts])] = path
    return modules


def import_graph() -> dict[str, set[str]]:
    """module -> the project modules it imports (anywhere in the file)."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    package = name.split(".") if is_package else name.split(".")[:-1]
                    package = package[: len(package) - node.level + 1]
                    base = ".".join([*package, base] if base else package)
                targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and not name.startswith(target + "."):
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def stage(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1 or (len(parts) == 2 and parts[1] not in LAYERS):
        return "top"
    return parts[1]


def test_import_graph_has_no_cycle():
    assert cycles(import_graph()) == []


def test_imports_only_go_down_the_stages():
    upward = sorted(f"{m} -> {t}" for m, targets in import_graph().items() for t in targets
                    if LAYERS.index(stage(t)) > LAYERS.index(stage(m)))
    assert upward == []


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_top_level_stays_small():
    top = sorted(p.name for p in (ROOT / "dory_xdsl").glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top


def test_no_source_file_is_huge():
    huge = []
    for pattern in ("*.py", "*.c", "*.h", "*.j2"):
        for path in ROOT.rglob(pattern):
            relative = path.relative_to(ROOT)
            if relative.parts[0].startswith(".") or "Output" in relative.parts:
                continue
            lines = len(path.read_text(errors="replace").splitlines())
            if lines > MAX_LINES:
                huge.append(f"{relative}: {lines} lines")
    assert huge == []
