"""The package's shape: no import cycle among lstm_convert's modules (issue 15)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "lstm_convert"


def module_files() -> dict[str, tuple[Path, bool]]:
    modules = {}
    for file in PACKAGE.rglob("*.py"):
        parts = list(file.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        modules[".".join(parts)] = (file, is_package)
    return modules


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """Nodes inside ``if TYPE_CHECKING:`` blocks: the only imports this check ignores."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                skipped.update(id(n) for n in ast.walk(child))
    return skipped


def _targets(node: ast.AST, package: str, modules: dict) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = package.split(".")[: len(package.split(".")) - node.level + 1]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    submodules = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in modules]
    # `from . import api` imports the module api; `from .x import name` the module x.
    return submodules if len(submodules) == len(node.names) else [target, *submodules]


def import_graph() -> dict[str, set[str]]:
    """Every import anywhere in a module (function bodies included), as module -> modules."""
    modules = module_files()
    graph = {}
    for name, (file, is_package) in modules.items():
        tree = ast.parse(file.read_text(encoding="utf-8"))
        package = name if is_package else name.rsplit(".", 1)[0]
        skipped = _type_checking_nodes(tree)
        graph[name] = {
            target
            for node in ast.walk(tree)
            if id(node) not in skipped
            for target in _targets(node, package, modules)
            if target in modules and target != name
        }
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_among_the_modules():
    assert cycles(import_graph()) == []


def test_the_check_sees_a_cycle():
    graph = import_graph()
    assert "lstm_convert.api" in graph["lstm_convert.batch"]  # imports in functions count
    graph["lstm_convert.api"].add("lstm_convert.batch")
    assert ["lstm_convert.api", "lstm_convert.batch"] in cycles(graph)


def test_commands_are_registered_explicitly():
    """Each command module imports only the app module of the CLI, never the package,
    so no command registers itself by being imported."""
    graph = import_graph()
    commands = [
        m for m in graph if m.startswith("lstm_convert.cli.") and m != "lstm_convert.cli.app"
    ]
    assert len(commands) == 5
    for module in commands:
        assert "lstm_convert.cli" not in graph[module], module
    assert set(commands) <= graph["lstm_convert.cli"]


MAX_FUNCTION_LINES = 60
# Typer declarations: their length is the options' declarations, not logic.
TYPER_COMMANDS = {f"lstm_convert.cli.{name}.{name}" for name in ("batch", "explain")}


def test_no_function_longer_than_60_lines():
    long = set()
    for name, (file, _) in module_files().items():
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            is_function = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            if is_function and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES:
                long.add(f"{name}.{node.name}")
    assert long - TYPER_COMMANDS == set()
