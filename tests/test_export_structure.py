"""The exporter and the layer converters import each other one way only."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "lstm_convert"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """Every lstm_convert module ``path`` imports, at any depth of the file (lazy
    imports inside functions included)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in known else base)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found & known


def import_graph() -> dict[str, set[str]]:
    paths = list(PACKAGE.rglob("*.py"))
    known = {module_name(p) for p in paths}
    graph = {module_name(p): imported_modules(p, known) for p in paths}
    # The root package is a facade: modules import __version__ from it, and it imports
    # the API only on attribute access (PEP 562), never at import time.
    graph["lstm_convert"] = set()
    return graph


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in graph[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_no_import_cycle_through_export_or_layers():
    graph = import_graph()
    ours = [m for m in graph if m.startswith(("lstm_convert.export", "lstm_convert.layers"))]
    assert "lstm_convert.layers.nested" in ours
    in_cycles = [m for m in ours if m in reachable(graph, m)]
    assert in_cycles == []


def test_the_cycle_finder_sees_lazy_imports():
    graph = import_graph()
    # The old shape: nested.py imported run_graph from the exporter, which imported the
    # layers package (and so nested.py) for get_converter; both imports were lazy.
    graph["lstm_convert.layers.nested"].add("lstm_convert.export")
    graph["lstm_convert.export"].add("lstm_convert.layers")
    assert "lstm_convert.layers.nested" in reachable(graph, "lstm_convert.layers.nested")


def test_either_package_imports_first():
    for first in ("lstm_convert.layers", "lstm_convert.export"):
        code = f"import {first}; from lstm_convert.layers import CONVERTERS; assert CONVERTERS"
        subprocess.run([sys.executable, "-c", code], check=True, cwd=PACKAGE.parent)


def test_layers_use_only_the_graph_kit():
    """Converters use the builder and the context; only the exporter runs converters."""
    graph = import_graph()
    kit = {"lstm_convert.export.builder", "lstm_convert.export.context"}
    for module, imports in graph.items():
        if module.startswith("lstm_convert.layers"):
            used = {m for m in imports if m.startswith("lstm_convert.export")}
            assert used <= kit, module
        if module in kit or module == "lstm_convert.export.serialize":
            assert not any(m.startswith("lstm_convert.layers") for m in imports), module
