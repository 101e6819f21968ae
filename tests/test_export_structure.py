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
    """Converters use the builder, the context and its records; only the exporter runs
    converters."""
    graph = import_graph()
    kit = {
        "lstm_convert.export.builder",
        "lstm_convert.export.context",
        "lstm_convert.export.records",
        "lstm_convert.export.interface",
    }
    for module, imports in graph.items():
        if module.startswith("lstm_convert.layers"):
            used = {m for m in imports if m.startswith("lstm_convert.export")}
            assert used <= kit, module
        if module in kit or module == "lstm_convert.export.serialize":
            assert not any(m.startswith("lstm_convert.layers") for m in imports), module


def test_layer_reports_keep_node_names_and_op_types_apart():
    from conftest import converted, fixture_files

    (param,) = [p for p in fixture_files() if p.id == "keras3/masked_emb_return_state.keras"]
    _, exported = converted(*param.values)
    graph = exported.model.graph
    nodes = {node.name: node.op_type for node in graph.node}
    reported = [name for report in exported.layers for name in report.node_names]
    assert len(reported) == len(set(reported)) and set(reported) <= set(nodes)
    # The rest name graph outputs (an LSTM's h is also returned as its own output).
    outputs = {value.name for value in graph.output}
    for node in graph.node:
        if node.name not in reported:
            assert node.op_type == "Identity" and set(node.output) <= outputs, node.name
    for report in exported.layers:
        assert report.onnx_ops == [nodes[name] for name in report.node_names]
        assert report.to_dict() == {
            "name": report.name,
            "class_name": report.class_name,
            "onnx_ops": report.onnx_ops,
        }


def test_layer_state_lives_on_the_export_context():
    from dataclasses import fields

    from lstm_convert.export.builder import GraphBuilder
    from lstm_convert.export.context import ExportContext

    builder_fields = {f.name for f in fields(GraphBuilder)}
    context_fields = {f.name for f in fields(ExportContext)}
    for name in ("packings", "packed_views", "time_major_views"):
        assert name in context_fields and name not in builder_fields
