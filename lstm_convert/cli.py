"""The ``lstm-convert`` command line: a thin typer layer over :mod:`lstm_convert.api`.

Heavy libraries (numpy, h5py, onnx, onnxruntime) are imported inside the commands,
so ``--help`` and ``--version`` stay instant.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from . import __version__
from .errors import EXIT_INTERNAL, ConvertError, InternalError
from .safe_text import visible
from .threads import limited

app = typer.Typer(
    name="lstm-convert",
    help=(
        "Convert Keras recurrent models (LSTM, GRU, SimpleRNN, Bidirectional) to ONNX, "
        "without TensorFlow. Every recurrent layer becomes one fused ONNX node, and "
        "`convert` proves with onnxruntime that the result matches Keras.\n\n"
        "Exit codes: 0 success, 1 parity mismatch, 2 bad input file or option, or unsupported "
        "model, 3 internal error (a bug: rerun with --debug and report it)."
    ),
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


class BiasSplitChoice(str, Enum):
    wb = "wb"
    rb = "rb"
    half = "half"


class TokenDtypeChoice(str, Enum):
    int64 = "int64"
    int32 = "int32"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lstm-convert {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Keras recurrent models to fused ONNX nodes."""


@contextlib.contextmanager
def reported_errors(debug: bool):
    """Turn errors into one line on stderr and a documented exit code."""
    try:
        yield
    except typer.Exit:
        raise
    except ConvertError as exc:
        if debug:
            raise
        prefix = "" if isinstance(exc, InternalError) else "error: "
        typer.echo(f"{prefix}{visible(exc)}", err=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        typer.echo("error: interrupted", err=True)
        raise typer.Exit(130) from None
    except Exception as exc:
        if debug:
            raise
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        typer.echo(
            f"internal error ({exc.__class__.__name__}: {visible(first)}): this is a bug in "
            "lstm-convert; rerun with --debug and report it",
            err=True,
        )
        raise typer.Exit(EXIT_INTERNAL) from None


DebugOption = Annotated[bool, typer.Option("--debug", help="Show the full traceback on errors.")]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Architecture JSON (model.to_json() or a .keras config.json) for a weights-only "
        "file written by save_weights (.h5 or .weights.h5).",
    ),
]
AtolOption = Annotated[
    float,
    typer.Option(
        "--atol",
        help="Absolute part of the tolerance: the check accepts "
        "|onnx - keras| <= atol + rtol*|keras|, element by element (as np.allclose).",
    ),
]
RtolOption = Annotated[
    float, typer.Option("--rtol", help="Relative part of the tolerance (see --atol).")
]
ToleranceOption = Annotated[
    float | None, typer.Option("--tolerance", help="Older name of --atol (same meaning).")
]
InputsOption = Annotated[
    Path | None,
    typer.Option(
        "--inputs",
        help="An .npz of your own inputs, keyed by ONNX input name or input_0, input_1, ...; "
        "expected outputs may ride along as output_0, output_1, ... or by ONNX output name.",
    ),
]
ThreadsOption = Annotated[
    int | None,
    typer.Option(
        "--threads",
        min=1,
        help="Threads for NumPy's BLAS and onnxruntime (also $LSTM_CONVERT_THREADS).",
        show_default="every CPU",
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print a machine-readable JSON report on stdout.")
]


def _print_json(data: object) -> None:
    """Strict JSON (RFC 8259): NaN and infinities, which it cannot hold, become null."""
    text = json.dumps(_finite(data), indent=2, default=_json_default, allow_nan=False)
    sys.stdout.write(text + "\n")


def _finite(value: object) -> object:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def _json_default(value: object) -> object:
    if hasattr(value, "tolist"):
        return _finite(value.tolist())
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "__dataclass_fields__"):
        from dataclasses import asdict

        return _finite(asdict(value))  # type: ignore[arg-type]
    return str(value)


def plain_convert_summary(result) -> str:
    """One line per fact; every string from the file with its control characters visible."""
    lines = [visible(f"{result.input} ({result.format}, Keras {result.keras_version})")]
    for layer in result.layers:
        ops = ", ".join(layer.onnx_ops) or "-"
        lines.append(visible(f"  {layer.name} ({layer.class_name}) -> {ops}"))
    if result.parity is not None:
        for out in result.parity.outputs + result.parity.expected:
            lines.append(
                visible(
                    f"  parity {out.name} vs {out.against}: max abs error {out.max_abs_error:.2e}"
                )
            )
        verdict = f"max abs error {result.parity.max_abs_error:.2e}"
    else:
        verdict = "not verified (--no-verify)"
    lines.append(visible(f"wrote {result.output} - {verdict} - {result.seconds:.2f} s"))
    return "\n".join(lines) + "\n"


@app.command()
def convert(
    model: Annotated[Path, typer.Argument(help="Keras file: .h5 (Keras 1/2/3) or .keras zip.")],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="ONNX file to write (default: MODEL beside itself, with the .onnx suffix).",
        ),
    ] = None,
    bias_split: Annotated[
        BiasSplitChoice,
        typer.Option(
            "--bias-split",
            help=(
                "Where Keras's single bias goes in ONNX's B = [Wb, Rb]: all in Wb (wb), "
                "all in Rb (rb), or half in each (half). ONNX adds Wb + Rb, so all are exact."
            ),
        ),
    ] = BiasSplitChoice.wb,
    opset: Annotated[int, typer.Option(help="ONNX opset (14 or newer).")] = 17,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify/--no-verify",
            help="Run the written file in onnxruntime and compare it with a NumPy reference "
            "of Keras's equations before keeping it; --no-verify skips every check.",
        ),
    ] = True,
    atol: AtolOption = 1e-4,
    rtol: RtolOption = 1e-5,
    tolerance: ToleranceOption = None,
    inputs: InputsOption = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing output.")] = False,
    state_io: Annotated[
        bool,
        typer.Option(
            "--state-io",
            help="Add initial-state inputs and final-state outputs to every recurrent layer "
            "(for stateful models served chunk by chunk).",
        ),
    ] = False,
    token_dtype: Annotated[
        TokenDtypeChoice,
        typer.Option(
            "--token-dtype",
            help="ONNX dtype of integer inputs (token ids): int64, what tokenizers return, "
            "or int32.",
        ),
    ] = TokenDtypeChoice.int64,
    allow_nonfinite: Annotated[
        bool,
        typer.Option(
            "--allow-nonfinite",
            help="Convert even if weights hold NaN or Inf (combine with --no-verify: NaN "
            "outputs cannot be compared).",
        ),
    ] = False,
    external_data: Annotated[
        bool,
        typer.Option(
            "--external-data",
            help="Store the weights in OUTPUT.data beside the model. Switches on by itself "
            "when the weights would push the model past about 1.8 GB.",
        ),
    ] = False,
    config: ConfigOption = None,
    threads: ThreadsOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Convert a Keras model to ONNX and prove the outputs match.

    Example: lstm-convert convert samples/seed_lstm.h5 -o seed_lstm.onnx
    """
    # limited() acts before NumPy is imported: BLAS sizes its pool when it is loaded.
    with reported_errors(debug), limited(threads):
        from .api import convert as api_convert

        result = api_convert(
            model,
            output,
            bias_split=bias_split.value,
            opset=opset,
            verify=verify,
            tolerance=tolerance,
            atol=atol,
            rtol=rtol,
            inputs=inputs,
            force=force,
            state_io=state_io,
            allow_nonfinite=allow_nonfinite,
            config_path=config,
            external_data=external_data,
            token_dtype=token_dtype.value,
        )
        for note in result.notes:
            typer.echo(f"note: {visible(note)}", err=True)
        for warning in result.warnings:
            typer.echo(f"warning: {visible(warning)}", err=True)
        if as_json:
            _print_json(result.to_dict())
            return
        if not sys.stdout.isatty():
            # Piped or redirected: plain lines, without importing rich (use --json to parse).
            sys.stdout.write(plain_convert_summary(result))
            return
        from .render.results import print_convert_result

        print_convert_result(result)


@app.command()
def verify(
    model: Annotated[Path, typer.Argument(help="The Keras file.")],
    onnx_model: Annotated[Path, typer.Argument(help="The ONNX file converted from it.")],
    inputs: InputsOption = None,
    atol: AtolOption = 1e-4,
    rtol: RtolOption = 1e-5,
    tolerance: ToleranceOption = None,
    config: ConfigOption = None,
    threads: ThreadsOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Check an existing Keras/ONNX pair against the NumPy reference of Keras."""
    with reported_errors(debug), limited(threads):
        from .api import verify as api_verify

        report = api_verify(
            model,
            onnx_model,
            inputs=inputs,
            tolerance=tolerance,
            atol=atol,
            rtol=rtol,
            config_path=config,
        )
        if as_json:
            from dataclasses import asdict

            _print_json(
                {**asdict(report), "max_abs_error": report.max_abs_error, "passed": report.passed}
            )
        else:
            from .render.results import print_parity

            print_parity(report)
        if not report.passed:
            typer.echo(
                f"error: outputs differ by {report.max_abs_error:.3g} "
                f"(tolerance {report.describe_tolerance()})",
                err=True,
            )
            raise typer.Exit(1)


@app.command()
def inspect(
    model: Annotated[Path, typer.Argument(help="Keras file to describe.")],
    config: ConfigOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Show a Keras file's format, Keras version, and every layer with shapes and options."""
    with reported_errors(debug):
        from .api import inspect as api_inspect

        result = api_inspect(model, config_path=config)
        if as_json:
            _print_json(result.to_dict())
            return
        from .render.results import print_inspect

        print_inspect(result)


# Commands that live in their own modules register themselves on ``app``.
from . import cli_batch, cli_explain  # noqa: E402, F401


def _terminate(signum, frame) -> None:  # pragma: no cover - exercised by a subprocess test
    # Unwind normally so temporary outputs are removed on the way out.
    raise SystemExit(128 + signum)


def main() -> None:
    """Console entry point."""
    import signal

    signal.signal(signal.SIGTERM, _terminate)
    try:
        app()
        code = 0
    except SystemExit as exc:
        code = exc.code
    if isinstance(code, str):
        sys.stderr.write(code + "\n")
        code = 1
    code = int(code or 0)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # pragma: no cover - stdout closed by a pager or head
        code = code or 1
    # Every output is already fsync'ed and every temporary removed: skip the interpreter's
    # teardown of numpy, h5py and onnx, which costs about 50 ms per run.
    os._exit(code)


if __name__ == "__main__":
    main()
