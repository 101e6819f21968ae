"""``lstm-convert convert``: one Keras file to ONNX, proven against Keras."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ..safe_text import visible
from ..threads import limited
from .app import DebugOption, JsonOption, ThreadsOption, reported_errors, with_file_options


@with_file_options
def convert(
    model: Annotated[
        Path, typer.Argument(metavar="MODEL", help="Keras file: .h5 (Keras 1/2/3) or .keras zip.")
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="ONNX file to write (default: MODEL beside itself, with the .onnx suffix).",
        ),
    ] = None,
    threads: ThreadsOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
    *,
    options: dict[str, Any],
) -> None:
    """Convert a Keras model to ONNX and prove the outputs match.

    Example: lstm-convert convert samples/seed_lstm.h5 -o seed_lstm.onnx
    """
    # limited() acts before NumPy is imported: BLAS sizes its pool when it is loaded.
    with reported_errors(debug), limited(threads):
        from ..api import convert as api_convert
        from ..errors import ParityError, cli_wording
        from ..render.progress import PhaseStatus, wanted

        steps = ("reading", "building", "writing", "checking")
        try:
            with PhaseStatus(steps, wanted(as_json)) as phase:
                result = api_convert(model, output, progress=phase, **options)
        except ParityError as exc:
            if as_json and exc.result is not None:
                from ..render.documents import convert_document
                from ..render.plain import print_json

                print_json(convert_document(exc.result))
            raise
        # The API's words (state_io=True) as this command's options (--state-io).
        result.notes = [cli_wording(note) for note in result.notes]
        for note in result.notes:
            typer.echo(f"note: {visible(note)}", err=True)
        for warning in result.warnings:
            typer.echo(f"warning: {visible(warning)}", err=True)
        if as_json:
            from ..render.documents import convert_document
            from ..render.plain import print_json

            print_json(convert_document(result))
            return
        if not sys.stdout.isatty():
            from ..render.plain import plain_convert_summary

            # Piped or redirected: plain lines, without importing rich (use --json to parse).
            sys.stdout.write(plain_convert_summary(result))
            return
        from ..render.results import print_convert_result

        print_convert_result(result)
