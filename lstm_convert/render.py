"""Rich rendering of results for the terminal."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .api import ConvertResult, InspectResult
from .parity import ParityReport


def print_parity(report: ParityReport, console: Console | None = None) -> None:
    console = console or Console()
    title = f"Parity ({report.source} inputs, tolerance {report.describe_tolerance()})"
    table = Table(title=escape(title))
    table.add_column("output")
    table.add_column("against")
    table.add_column("shape")
    table.add_column("max abs error", justify="right")
    table.add_column("ok")
    for out in report.outputs + report.expected:
        verdict = "[green]yes[/]" if out.passed else "[red]NO[/]"
        if out.problem:
            verdict += f" ({escape(out.problem)})"
        table.add_row(
            escape(out.name),
            out.against,
            "x".join(str(d) for d in out.shape),
            f"{out.max_abs_error:.2e}",
            verdict,
        )
    console.print(table)
    for note in report.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")


def print_convert_result(result: ConvertResult, console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title=f"{result.input} ({result.format}, Keras {result.keras_version})")
    table.add_column("Keras layer")
    table.add_column("class")
    table.add_column("ONNX nodes")
    for layer in result.layers:
        table.add_row(layer.name, layer.class_name, ", ".join(layer.onnx_ops) or "-")
    console.print(table)
    if result.parity is not None:
        print_parity(result.parity, console)
        verdict = f"max abs error {result.parity.max_abs_error:.2e}"
    else:
        verdict = "not verified (--no-verify)"
    console.print(f"[green]wrote[/] {result.output} - {verdict} - {result.seconds:.2f} s")


def print_inspect(result: InspectResult, console: Console | None = None) -> None:
    console = console or Console()
    title = (
        f"{result.path}: {result.format}, Keras {result.keras_version}, "
        f"{result.model_class} {result.model_name!r}"
    )
    table = Table(title=title)
    table.add_column("layer")
    table.add_column("class")
    table.add_column("weights")
    table.add_column("options")
    for layer in result.layers:
        shapes = ", ".join("x".join(str(d) for d in shape) for shape in layer.weights)
        options = ", ".join(f"{k}={v}" for k, v in layer.options.items() if k != "weights")
        table.add_row(layer.name, layer.class_name, shapes or "-", options)
    console.print(table)
