"""The `explain` command (registered on the main typer app)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from .cli import BiasSplitChoice, DebugOption, JsonOption, _print_json, app, reported_errors
from .safe_text import visible

EXPORT_WIDTH = 120  # columns of --export-svg / --export-html when --width is not given
HELP = (
    "Show where each Keras gate, kernel column and bias value goes in ONNX, and why.\n\n"
    'Answers "Keras gave my LSTM one bias vector: where does it go in ONNX\'s B = [Wb, Rb]?" '
    "for your own file: a gate table, the bias vectors drawn gate by gate, both sets of "
    "equations, and a check recomputed from the arrays the converter writes.\n\n"
    "Example: lstm-convert explain samples/seed_lstm.h5"
)


@app.command("explain", help=HELP)
def explain(
    model: Annotated[Path, typer.Argument(help="Keras file: .h5 (Keras 1/2/3) or .keras zip.")],
    layer: Annotated[
        str | None,
        typer.Option("--layer", help="Explain only this recurrent layer (default: all of them)."),
    ] = None,
    bias_split: Annotated[
        BiasSplitChoice,
        typer.Option(
            "--bias-split",
            help="The split to show, as `convert --bias-split` would write it (wb, rb, half).",
        ),
    ] = BiasSplitChoice.wb,
    export_svg: Annotated[
        Path | None,
        typer.Option("--export-svg", help="Also save the rendering as an SVG image."),
    ] = None,
    export_html: Annotated[
        Path | None,
        typer.Option("--export-html", help="Also save the rendering as an HTML page."),
    ] = None,
    numpy: Annotated[
        bool,
        typer.Option(
            "--numpy",
            help="Print a runnable NumPy snippet computing one Keras LSTM step from the "
            "file's own arrays, instead of the tables.",
        ),
    ] = False,
    width: Annotated[
        int | None,
        typer.Option(
            "--width", min=60, help="Render at this many columns (default: the terminal's)."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite existing --export-svg/--export-html files.")
    ] = False,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """The `explain` command; its help text is HELP."""
    with reported_errors(debug):
        from .explanation import explain as explain_file
        from .outputs import check_output_path

        requested = ((export_svg, "svg"), (export_html, "html"))
        exports = [(path, kind) for path, kind in requested if path is not None]
        for path, _ in exports:
            check_output_path(model, path, force)
        if export_svg is not None and export_html is not None and export_svg == export_html:
            from .errors import OutputPathError

            raise OutputPathError(f"{export_svg}: given to both --export-svg and --export-html")

        result = explain_file(model, layer=layer, bias_split=bias_split.value)
        snippet = None
        if numpy:
            from .explanation import numpy_snippet

            snippet = numpy_snippet(model, layer=layer)

        if exports:
            _export(result, exports, width or EXPORT_WIDTH, model, force)
        if as_json:
            data = result.to_dict()
            if snippet is not None:
                data["numpy"] = snippet
            _print_json(data)
        elif snippet is not None:
            sys.stdout.write(snippet)
        else:
            from rich.console import Console

            from .explanation_render import print_explain

            print_explain(result, Console(width=width) if width else Console())
        for path, kind in exports:
            typer.echo(visible(f"wrote {path} ({kind.upper()})"), err=True)


def _export(result, exports: list[tuple[Path, str]], width: int, model: Path, force: bool) -> None:
    """Render into a recording console and save each format atomically."""
    import io

    from rich.console import Console

    from .explanation_render import print_explain
    from .outputs import atomic_target

    console = Console(record=True, width=width, file=io.StringIO(), force_terminal=True)
    print_explain(result, console)
    for path, kind in exports:
        with atomic_target(path, force) as temp_path:
            if kind == "svg":
                title = visible(f"lstm-convert explain {model.name}")
                console.save_svg(str(temp_path), title=title, clear=False)
            else:
                console.save_html(str(temp_path), clear=False)
