"""Rich rendering of :class:`~lstm_convert.explain.model.ExplainResult`.

Per direction of each recurrent layer: a gate table, a diff strip of the bias vectors,
the two sets of equations side by side, and a one-line conclusion. Everything reads
well without colour too (the gate letters label every segment), which is what the
snapshot tests compare.
"""

from __future__ import annotations

from rich import box
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
SHOWN_VALUES = 4  # at most this many values per gate (then "…")
NARROW = 110  # below this width the gate table drops its vertical rules
PASS_LIMIT = 1e-6  # the check passes at or below this difference


def number(value: float) -> str:
    if value == 0:
        return "0"
    return f"{value:.3g}"


def few(values: list[float], limit: int = SHOWN_VALUES, chars: int | None = None) -> str:
    """The first values, as many as fit in ``limit`` values and ``chars`` characters."""
    texts = [number(v) for v in values]
    for count in range(min(limit, len(texts)), 0, -1):
        shown = " ".join(texts[:count]) + ("" if count == len(texts) else " …")
        if chars is None or len(shown) <= chars:
            return shown
    return "…"


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


def gate_table(exp: LayerExplanation, width: int) -> Table:
    size = exp.gates * exp.units
    d = exp.direction_index
    prefix = f"{d}, " if exp.onnx_shapes["B"][0] > 1 else ""
    two = exp.bias_kind == "two"
    narrow = width < NARROW
    # The three value columns share what the other columns leave (about 70 characters).
    chars = max(7, (width - 72) // 3)
    table = Table(
        title=Text(
            f"Gate by gate: Keras order {', '.join(exp.keras_gates)} → "
            f"ONNX order {', '.join(exp.onnx_gates)}"
        ),
        title_justify="left",
        show_lines=True,
        # Narrow terminals: no vertical rules and no "moved" column, so the rest fits.
        **({"box": box.SIMPLE_HEAD, "show_edge": False, "pad_edge": False} if narrow else {}),
    )

    def column(header: str) -> None:
        table.add_column(Text(header), overflow="fold")

    column("gate")
    column("Keras\ncols" if narrow else "Keras\nkernel,\nrecurrent\ncolumns")
    column("Keras bias\ninput,\nrecurrent" if two else "Keras bias")
    column("ONNX\nrows" if narrow else "ONNX\nW, R\nrows")
    column(f"ONNX Wb\n= B[{prefix}0:{size}]")
    column(f"ONNX Rb\n= B[{prefix}{size}:{2 * size}]")
    if not narrow:
        column("moved")
    check_header = "Wb = input\nRb = recur." if two else "Wb + Rb\n= bias"
    column("check\nmax |Δ|" if narrow else f"check\n{check_header}\nmax |Δ|")
    for row in exp.rows:
        if exp.bias_kind == "none":
            bias = Text("none\n(use_bias=False)", style="dim")
        elif two:
            a, b = row.keras_bias
            if exp.cell.startswith("CuDNN"):  # one flat vector: [input | recurrent]
                first, second = f"bias[{a}:{b}]", f"bias[{size + a}:{size + b}]"
            else:
                first, second = f"bias[0, {a}:{b}]", f"bias[1, {a}:{b}]"
            bias = Text(
                f"{first}\n{few(row.keras_input_bias_values or [], chars=chars)}\n"
                f"{second}\n{few(row.keras_recurrent_bias_values or [], chars=chars)}"
            )
        else:
            values = few(row.keras_bias_values, chars=chars)
            bias = Text(f"bias[{span(row.keras_bias)}]\n{values}")
        rows = Text(f"[{prefix}{span(row.onnx_rows)}]")
        if narrow and row.moved:
            rows.append("\nmoved", style="bold")
        cells = [
            gate_label(row),
            Text(f"[:, {span(row.keras_columns)}]"),
            bias,
            rows,
            Text(f"Wb[{span(row.onnx_wb)}]\n{few(row.wb_values, chars=chars)}"),
            Text(f"Rb[{span(row.onnx_wb)}]\n{few(row.rb_values, chars=chars)}"),
        ]
        if not narrow:
            cells.append(Text("yes", style="bold") if row.moved else Text("no", style="dim"))
        if exp.step_max_diff > PASS_LIMIT:
            # The arrays do not compute Keras's step: every row is suspect.
            cells.append(check_text(exp.step_max_diff, "step "))
        else:
            cells.append(check_text(row.bias_max_diff))
        table.add_row(*cells)
    return table


Segments = list[tuple[str, list[float]]]


def segment_text(gate: str, vals: list[float], per: int) -> str:
    return f" {gate} {few(vals, per) if per else f'×{len(vals)}'} "


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
        if exp.cell.startswith("CuDNN"):
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

    per = next((n for n in range(min(u, SHOWN_VALUES), 0, -1) if fits(n)), 0)
    body = [strip_line(label, segs, per, pad, cell(per)) for label, segs in lines]
    return Group(Text("Bias vectors, one colour per gate:", style="bold"), *body)


def lines(texts: list[str]) -> Text:
    """Lines of untrusted text, each with its control characters made visible."""
    return Text("\n".join(visible(text) for text in texts))


def equations_panel(exp: LayerExplanation) -> Table:
    grid = Table.grid(expand=True, padding=(0, 1))
    grid.add_column(ratio=1)
    grid.add_column(ratio=1)
    keras_title = f"Keras {exp.cell} (gates {', '.join(exp.keras_gates)})"
    onnx_title = f"ONNX {exp.onnx_op} (gates {', '.join(exp.onnx_gates)})"
    grid.add_row(
        Panel(lines(exp.keras_equations), title=plain(keras_title), title_align="left"),
        Panel(lines(exp.onnx_equations), title=plain(onnx_title), title_align="left"),
    )
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
    parts = [f"{exp.initializers[key]} {list(exp.onnx_shapes[key])}" for key in ("W", "R", "B")]
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
    if exp.kernel_max_diff is not None:
        text.append("; ")
        text.append_text(check_text(exp.kernel_max_diff, "W, R = kernels transposed, max |Δ| "))
    text.append("; ")
    text.append_text(
        check_text(exp.step_max_diff, "one ONNX step = one Keras step (reference), max |Δ| ")
    )
    return text


def render_layer(exp: LayerExplanation, width: int) -> list[RenderableType]:
    return [
        Rule(layer_heading(exp), align="left"),
        initializer_line(exp),
        gate_table(exp, width),
        diff_strip(exp, width),
        Text(""),
        equations_panel(exp),
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
