"""Rich rendering of results for the terminal.

Every string that came from a file goes through :func:`~lstm_convert.safe_text.plain`:
control characters shown as text, never parsed as markup.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..api import ConvertResult, InspectResult
from ..parity import ParityReport
from ..safe_text import plain, visible
from .plain import summarize_ops


def print_parity(report: ParityReport, console: Console | None = None) -> None:
    console = console or Console()
    title = f"Parity ({report.source} inputs, tolerance {report.describe_tolerance()})"
    table = Table(title=plain(title))
    table.add_column("output")
    table.add_column("against")
    table.add_column("shape")
    table.add_column("max abs error", justify="right")
    table.add_column("ok")
    for out in report.outputs + report.expected:
        verdict = Text("yes", style="green") if out.passed else Text("NO", style="red")
        if out.problem:
            verdict.append(f" ({visible(out.problem)})")
        table.add_row(
            plain(out.name),
            out.against,
            "x".join(str(d) for d in out.shape),
            f"{out.max_abs_error:.2e}",
            verdict,
        )
    console.print(table)
    for note in report.notes:
        console.print(Text("note: ", style="yellow") + plain(note))


def print_convert_result(result: ConvertResult, console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title=plain(f"{result.input} ({result.format}, Keras {result.keras_version})"))
    for column in ("Keras layer", "class", "ONNX nodes"):
        table.add_column(column, overflow="fold")
    for layer in result.layers:
        table.add_row(
            plain(layer.name), plain(layer.class_name), plain(summarize_ops(layer.onnx_ops))
        )
    console.print(table)
    if result.parity is not None:
        print_parity(result.parity, console)
        verdict = f"max abs error {result.parity.max_abs_error:.2e}"
    else:
        verdict = "not verified (--no-verify)"
    line = Text("wrote", style="green")
    line.append_text(plain(f" {result.output} - {verdict} - {result.seconds:.2f} s"))
    console.print(line)


def print_inspect(result: InspectResult, console: Console | None = None) -> None:
    console = console or Console()
    title = (
        f"{result.path}: {result.format}, Keras {result.keras_version}, "
        f"{result.model_class} {result.model_name!r}"
    )
    table = Table(title=plain(title))
    # Narrow terminals: every value wraps (fold), none is cut with an ellipsis.
    for column in ("layer", "class", "weights", "options"):
        table.add_column(column, overflow="fold")
    for layer in result.layers:
        shapes = "\n".join("x".join(str(d) for d in shape) for shape in layer.weights)
        # One option a line: a narrow column wraps between options, not inside one.
        options = Text("\n").join(
            plain(f"{k}={v}") for k, v in layer.options.items() if k != "weights"
        )
        table.add_row(plain(layer.name), plain(layer.class_name), Text(shapes or "-"), options)
    console.print(table)
