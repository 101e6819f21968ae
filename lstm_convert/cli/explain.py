"""``lstm-convert explain`` (registered in :mod:`lstm_convert.cli` with HELP as its help)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ..safe_text import visible
from .app import BiasSplitChoice, ConfigOption, DebugOption, JsonOption, reported_errors

HELP = (
    "Show where each Keras gate, kernel column and bias value goes in ONNX, and why.\n\n"
    'Answers "Keras gave my LSTM one bias vector: where does it go in ONNX\'s B = [Wb, Rb]?" '
    "for your own file: a gate table, the bias vectors drawn gate by gate, both sets of "
    "equations, and a check recomputed from the arrays the converter writes.\n\n"
    "Example: lstm-convert explain samples/seed_lstm.h5"
)


def explain(
    model: Annotated[
        Path, typer.Argument(metavar="MODEL", help="Keras file: .h5 (Keras 1/2/3) or .keras zip.")
    ],
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
            help="Print a runnable NumPy snippet computing one Keras step (LSTM, GRU, "
            "SimpleRNN, CuDNN) from the file's own arrays, instead of the tables; --layer "
            "picks the layer when there are several.",
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
    config: ConfigOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """The `explain` command; its help text is HELP."""
    with reported_errors(debug):
        from ..api import explain as api_explain
        from ..render.progress import PhaseStatus, wanted

        with PhaseStatus(("explaining",), wanted(as_json)) as phase:
            if phase is not None:
                phase("explaining")
            result = api_explain(
                model,
                layer=layer,
                bias_split=bias_split.value,
                numpy=numpy,
                export_svg=export_svg,
                export_html=export_html,
                width=width,
                force=force,
                config_path=config,
            )
        if as_json:
            from ..render.documents import explain_document
            from ..render.plain import print_json

            print_json(explain_document(result))
        elif result.numpy is not None:
            sys.stdout.write(result.numpy)
        else:
            from rich.console import Console

            from ..render.explain import print_explain

            print_explain(result, Console(width=width) if width else Console())
        for path, kind in ((export_svg, "svg"), (export_html, "html")):
            if path is not None:
                typer.echo(visible(f"wrote {path} ({kind.upper()})"), err=True)
