"""Rich rendering of :class:`~lstm_convert.explain.model.ExplainResult`.

Per direction of each recurrent layer: a gate table, a diff strip of the bias vectors,
the two sets of equations side by side, and a one-line conclusion. Everything reads
well without colour too (the gate letters label every segment), which is what the
snapshot tests compare.
"""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from ..explain.model import ExplainResult, GateRow, LayerExplanation
from ..safe_text import plain, visible

GATE_STYLES = {
    "i": "bold white on blue",
    "f": "bold black on green3",
    "c": "bold white on magenta",
    "o": "bold black on yellow",
    "z": "bold black on cyan",
    "r": "bold white on red3",
    "h": "bold white on purple",
}
SHOWN_VALUES = 4  # the bias strip shows this many values per gate at most (else a count)
CELL_VALUES = 16  # a table cell shows this many values at most, then "+N more" (--json has all)
NARROW = 110  # below this width each gate is a block of lines instead of a table row
STACKED = 100  # below this width the two sets of equations are stacked
PASS_LIMIT = 1e-6  # the check passes at or below this difference


def number(value: float) -> str:
    if value == 0:
        return "0"
    return f"{value:.3g}"


def every(values: list[float] | None) -> str:
    """The values, space separated: cells wrap between values, never inside one. Past
    CELL_VALUES (a wide layer) the rest is counted, not cut at the terminal's width."""
    values = values or []
    shown = " ".join(number(v) for v in values[:CELL_VALUES])
    rest = len(values) - CELL_VALUES
    return f"{shown} (+{rest} more)" if rest > 0 else shown


def span(bounds: tuple[int, int]) -> str:
    return f"{bounds[0]}:{bounds[1]}"


def gate_label(row: GateRow) -> Text:
    text = Text()
    text.append(f" {row.gate} ", style=GATE_STYLES.get(row.gate, "bold"))
    text.append(f" {row.name}")
    return text


def check_text(diff: float | None, what: str = "") -> Text:
    if diff is None:
        return Text("-")
    ok = diff <= PASS_LIMIT
    mark = "✓" if ok else "✗"
    return Text(f"{mark} {what}{number(diff)}", style="green" if ok else "bold red")


def row_check(exp: LayerExplanation, row: GateRow) -> Text:
    if exp.step_max_diff > PASS_LIMIT:
        # The arrays do not compute Keras's step: every row is suspect.
        return check_text(exp.step_max_diff, "step ")
    return check_text(row.bias_max_diff)


def axis_prefix(exp: LayerExplanation) -> str:
    """``"d, "`` when the initializers hold two directions, else nothing."""
    return f"{exp.direction_index}, " if exp.onnx_shapes["B"][0] > 1 else ""


def keras_bias_lines(exp: LayerExplanation, row: GateRow) -> list[tuple[str, str]]:
    """(Keras bias slice, its values) for one gate: one pair, or two for two biases."""
    a, b = row.keras_bias
    if exp.bias_kind == "none":
        return [("bias", "none (use_bias=False)")]
    if exp.bias_kind != "two":
        return [(f"bias[{span(row.keras_bias)}]", every(row.keras_bias_values))]
    size = exp.gates * exp.units
    if exp.keras_bias_layout == "halves":  # one flat vector: [input | recurrent]
        first, second = f"bias[{a}:{b}]", f"bias[{size + a}:{size + b}]"
    else:
        first, second = f"bias[0, {a}:{b}]", f"bias[1, {a}:{b}]"
    return [
        (first, every(row.keras_input_bias_values)),
        (second, every(row.keras_recurrent_bias_values)),
    ]


def gate_table(exp: LayerExplanation) -> Table:
    """Wide terminals: one row per gate, every value shown (cells wrap between values)."""
    size = exp.gates * exp.units
    prefix = axis_prefix(exp)
    two = exp.bias_kind == "two"
    table = Table(title=gate_title(exp), title_justify="left", show_lines=True)
    rows = [gate_cells(exp, row, prefix) for row in exp.rows]
    check_header = "Wb = input\nRb = recur." if two else "Wb + Rb\n= bias"
    headers = [
        "gate",
        "Keras\nkernel,\nrecurrent\ncolumns",
        "Keras bias\ninput,\nrecurrent" if two else "Keras bias",
        "ONNX\nW, R\nrows",
        f"ONNX Wb\n= B[{prefix}0:{size}]",
        f"ONNX Rb\n= B[{prefix}{size}:{2 * size}]",
        "moved",
        f"check\n{check_header}\nmax |Δ|",
    ]
    for index, header in enumerate(headers):
        # An index such as bias[0, 10:15] is one line of its cell: never split.
        longest = max(len(line) for cells in rows for line in cells[index].plain.splitlines())
        table.add_column(Text(header), overflow="fold", min_width=min(longest, 16))
    for cells in rows:
        table.add_row(*cells)
    return table


def gate_title(exp: LayerExplanation) -> Text:
    return Text(
        f"Gate by gate: Keras order {', '.join(exp.keras_gates)} → "
        f"ONNX order {', '.join(exp.onnx_gates)}"
    )


def gate_cells(exp: LayerExplanation, row: GateRow, prefix: str) -> list[Text]:
    bias = "\n".join(f"{label}\n{vals}" for label, vals in keras_bias_lines(exp, row))
    return [
        gate_label(row),
        Text(f"[:, {span(row.keras_columns)}]"),
        Text(bias, style="dim") if exp.bias_kind == "none" else Text(bias),
        Text(f"[{prefix}{span(row.onnx_rows)}]"),
        Text(f"Wb[{span(row.onnx_wb)}]\n{every(row.wb_values)}"),
        Text(f"Rb[{span(row.onnx_wb)}]\n{every(row.rb_values)}"),
        Text("yes", style="bold") if row.moved else Text("no", style="dim"),
        row_check(exp, row),
    ]


def gate_blocks(exp: LayerExplanation) -> Group:
    """Narrow terminals: each gate as a block of (what, values) lines. The left column
    never wraps, so an index stays whole; values wrap between numbers."""
    size = exp.gates * exp.units
    prefix = axis_prefix(exp)
    parts: list[RenderableType] = [gate_title(exp)]
    for row in exp.rows:
        heading = gate_label(row)
        heading.append(
            "   moved" if row.moved else "   in place", style="bold" if row.moved else "dim"
        )
        heading.append("   ")
        heading.append_text(row_check(exp, row))
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True)
        grid.add_column(overflow="fold")
        grid.add_row("  Keras kernel columns", f"[:, {span(row.keras_columns)}]")
        grid.add_row("  → ONNX W, R rows", f"[{prefix}{span(row.onnx_rows)}]")
        for label, vals in keras_bias_lines(exp, row):
            grid.add_row(f"  Keras {label}", vals)
        a, b = row.onnx_wb
        grid.add_row(f"  ONNX Wb[{a}:{b}] = B[{prefix}{a}:{b}]", every(row.wb_values))
        grid.add_row(f"  ONNX Rb[{a}:{b}] = B[{prefix}{size + a}:{size + b}]", every(row.rb_values))
        parts += [heading, grid]
    return Group(*parts)


Segments = list[tuple[str, list[float]]]


def segment_text(gate: str, vals: list[float], per: int) -> str:
    """A gate's values when they all fit (``per``), else how many there are."""
    shown = " ".join(number(v) for v in vals) if per >= len(vals) else f"×{len(vals)}"
    return f" {gate} {shown} "


def strip_line(label: str, segments: Segments, per: int, pad: int, cell: int) -> Text:
    text = Text(label.ljust(pad))
    for index, (gate, vals) in enumerate(segments):
        if index:
            text.append("│", style="dim")
        text.append(segment_text(gate, vals, per).ljust(cell), style=GATE_STYLES.get(gate, "bold"))
    return text


def diff_strip(exp: LayerExplanation, width: int) -> Group:
    """The Keras bias and ONNX B = [Wb, Rb] as coloured gate segments, one line each."""
    u, size = exp.units, exp.gates * exp.units

    def segments(vector: list[float], order: list[str]) -> list[tuple[str, list[float]]]:
        return [(gate, vector[k * u : (k + 1) * u]) for k, gate in enumerate(order)]

    d = f"{exp.direction_index}, " if exp.onnx_shapes["B"][0] > 1 else ""
    lines: list[tuple[str, list[tuple[str, list[float]]]]] = []
    if exp.bias_kind == "two":
        if exp.keras_bias_layout == "halves":
            names = (f"Keras bias[:{size}] input", f"Keras bias[{size}:] recurrent")
        else:
            names = ("Keras bias[0] input", "Keras bias[1] recurrent")
        lines.append((names[0], segments(exp.keras_input_bias, exp.keras_gates)))
        lines.append((names[1], segments(exp.keras_recurrent_bias, exp.keras_gates)))
    elif exp.bias_kind == "single":
        lines.append((f"Keras bias ({size})", segments(exp.keras_input_bias, exp.keras_gates)))
    else:
        lines.append(("Keras bias: none", segments([0.0] * size, exp.keras_gates)))
    lines.append((f"ONNX Wb = B[{d}0:{size}]", segments(exp.wb, exp.onnx_gates)))
    lines.append((f"ONNX Rb = B[{d}{size}:{2 * size}]", segments(exp.rb, exp.onnx_gates)))
    pad = max(len(label) for label, _ in lines) + 1

    def cell(per: int) -> int:
        return max(len(segment_text(g, vals, per)) for _, segs in lines for g, vals in segs)

    def fits(per: int) -> bool:
        return pad + exp.gates * (cell(per) + 1) - 1 <= width

    per = u if u <= SHOWN_VALUES and fits(u) else 0
    body = [strip_line(label, segs, per, pad, cell(per)) for label, segs in lines]
    return Group(Text("Bias vectors, one colour per gate:", style="bold"), *body)


def lines(texts: list[str]) -> Text:
    """Lines of untrusted text, each with its control characters made visible."""
    return Text("\n".join(visible(text) for text in texts))


def equations_panel(exp: LayerExplanation, width: int) -> RenderableType:
    """Both sets of equations: side by side, or stacked on narrow terminals."""
    keras_title = f"Keras {exp.cell} (gates {', '.join(exp.keras_gates)})"
    onnx_title = f"ONNX {exp.onnx_op} (gates {', '.join(exp.onnx_gates)})"
    panels = [
        Panel(lines(exp.keras_equations), title=plain(keras_title), title_align="left"),
        Panel(lines(exp.onnx_equations), title=plain(onnx_title), title_align="left"),
    ]
    if width < STACKED:
        return Group(*panels)
    grid = Table.grid(expand=True, padding=(0, 1))
    grid.add_column(ratio=1)
    grid.add_column(ratio=1)
    grid.add_row(*panels)
    return grid


def layer_heading(exp: LayerExplanation) -> Text:
    if exp.class_name == "Bidirectional":
        where = f" [{exp.direction} → ONNX direction {exp.direction_index}, {exp.onnx_direction}]"
    elif exp.go_backwards and exp.onnx_direction == "reverse":
        where = " [go_backwards: ONNX direction=reverse]"
    elif exp.go_backwards:
        where = " [go_backwards: ONNX runs the reversed steps forwards]"
    else:
        where = ""
    inner = f"{exp.cell} in {exp.class_name}" if exp.cell != exp.class_name else exp.cell
    return plain(
        f"layer {exp.layer!r}{where}: {inner}({exp.units}), input {exp.input_size} → "
        f"ONNX {exp.onnx_op}"
    )


def initializer_line(exp: LayerExplanation) -> Text:
    parts = [
        f"{exp.initializers[key]} {'×'.join(map(str, exp.onnx_shapes[key]))}"
        for key in ("W", "R", "B")
    ]
    attrs = ", ".join(
        f"{k}={v}" for k, v in sorted(exp.onnx_attributes.items()) if k == "linear_before_reset"
    )
    text = plain(f"ONNX initializers (written by the exporter): {', '.join(parts)}", style="dim")
    if attrs:
        text.append(visible(f"; {attrs}"), style="dim")
    return text


def check_line(exp: LayerExplanation) -> Text:
    text = Text("Check (from the written arrays): ")
    what = "Wb = input, Rb = recurrent bias" if exp.bias_kind == "two" else "Wb + Rb = bias"
    text.append_text(check_text(exp.bias_max_diff, f"{what}, max |Δ| "))
    text.append("; ")
    text.append_text(check_text(exp.kernel_max_diff, "W, R = kernels transposed, max |Δ| "))
    text.append("; ")
    text.append_text(
        check_text(exp.step_max_diff, "one ONNX step = one Keras step (reference), max |Δ| ")
    )
    return text


def heading_rule(exp: LayerExplanation, width: int) -> list[RenderableType]:
    """The layer's heading in a rule, or above one when the rule would cut it short."""
    heading = layer_heading(exp)
    if heading.cell_len + 6 <= width:
        return [Rule(heading, align="left")]
    heading.stylize("bold")
    return [heading, Rule()]


def render_layer(exp: LayerExplanation, width: int) -> list[RenderableType]:
    return [
        *heading_rule(exp, width),
        initializer_line(exp),
        gate_table(exp) if width >= NARROW else gate_blocks(exp),
        diff_strip(exp, width),
        Text(""),
        equations_panel(exp, width),
        Text.assemble(("Why this is exact: ", "bold"), visible(exp.conclusion)),
        check_line(exp),
        Text(""),
    ]


def print_explain(result: ExplainResult, console: Console | None = None) -> None:
    console = console or Console()
    split = result.bias_split
    console.print(
        Text.assemble(
            (visible(result.path), "bold"),
            visible(f": {result.format}, Keras {result.keras_version}; --bias-split {split}"),
        )
    )
    console.print(
        Text(
            "ONNX's LSTM, GRU and RNN take each direction's bias as B = [Wb, Rb] and add both "
            "parts: x·Wᵀ + h·Rᵀ + Wb + Rb."
        )
    )
    if result.note:
        console.print(plain(f"Note: {result.note}", style="yellow"))
    console.print()
    for exp in result.layers:
        for renderable in render_layer(exp, console.width):
            console.print(renderable)
