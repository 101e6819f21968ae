"""``lstm-convert verify``: check an existing Keras/ONNX pair."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..defaults import DEFAULT_ATOL, DEFAULT_RTOL
from ..errors import EXIT_PARITY
from ..threads import limited
from .app import (
    AtolOption,
    ConfigOption,
    DebugOption,
    InputsOption,
    JsonOption,
    RtolOption,
    ThreadsOption,
    ToleranceOption,
    reported_errors,
)


def verify(
    model: Annotated[Path, typer.Argument(metavar="MODEL", help="The Keras file.")],
    onnx_model: Annotated[
        Path, typer.Argument(metavar="ONNX", help="The ONNX file converted from it.")
    ],
    inputs: InputsOption = None,
    atol: AtolOption = DEFAULT_ATOL,
    rtol: RtolOption = DEFAULT_RTOL,
    tolerance: ToleranceOption = None,
    config: ConfigOption = None,
    threads: ThreadsOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Check an existing Keras/ONNX pair against the NumPy reference of Keras."""
    with reported_errors(debug), limited(threads):
        from ..api import verify as api_verify
        from ..render.progress import PhaseStatus, wanted

        with PhaseStatus(("reading", "checking"), wanted(as_json)) as phase:
            report = api_verify(
                model,
                onnx_model,
                inputs=inputs,
                tolerance=tolerance,
                atol=atol,
                rtol=rtol,
                config_path=config,
                progress=phase,
            )
        if as_json:
            from ..render.documents import verify_document
            from ..render.plain import print_json

            print_json(verify_document(model, onnx_model, report))
        else:
            from ..render.results import print_parity

            print_parity(report)
        if not report.passed:
            typer.echo(
                f"error: outputs differ by {report.max_abs_error:.3g} "
                f"(tolerance {report.describe_tolerance()})",
                err=True,
            )
            raise typer.Exit(EXIT_PARITY)
