"""The typer app and every option shared between commands, declared once.

Heavy libraries (numpy, h5py, onnx, onnxruntime) are imported inside the commands,
so ``--help`` and ``--version`` stay instant. Exit codes come from :mod:`lstm_convert.errors`,
defaults from :mod:`lstm_convert.defaults`.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from ..defaults import (
    DEFAULT_ATOL,
    DEFAULT_BIAS_SPLIT,
    DEFAULT_OPSET,
    DEFAULT_RTOL,
    DEFAULT_TOKEN_DTYPE,
    MIN_OPSET,
)
from ..errors import EXIT_INTERNAL, EXIT_INTERRUPTED, ConvertError, InternalError, cli_wording
from ..safe_text import visible
from ..version import __version__

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
    # Plain help, wrapped to the terminal (up to 120 columns): rich's option panels left
    # about 13 columns for the descriptions at 80.
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120},
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
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
        typer.echo(f"{prefix}{visible(cli_wording(str(exc)))}", err=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        typer.echo("error: interrupted", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
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

# The options that shape one file's conversion, keyed by the keyword of api.convert (and of
# convert_many) they feed: `convert` and `batch` both take every one of them. A new
# per-file option is one entry here (and the keyword in api.convert).
FILE_OPTIONS: dict[str, tuple[Any, Any]] = {
    "bias_split": (
        Annotated[
            BiasSplitChoice,
            typer.Option(
                "--bias-split",
                help="Where Keras's single bias goes in ONNX's B = [Wb, Rb]: all in Wb (wb), "
                "all in Rb (rb), or half in each (half). ONNX adds Wb + Rb, so all are exact.",
            ),
        ],
        BiasSplitChoice(DEFAULT_BIAS_SPLIT),
    ),
    "opset": (
        Annotated[int, typer.Option("--opset", help=f"ONNX opset ({MIN_OPSET} or newer).")],
        DEFAULT_OPSET,
    ),
    "verify": (
        Annotated[
            bool,
            typer.Option(
                "--verify/--no-verify",
                help="Run the written file in onnxruntime and compare it with a NumPy reference "
                "of Keras's equations before keeping it; --no-verify skips every check.",
            ),
        ],
        True,
    ),
    "atol": (AtolOption, DEFAULT_ATOL),
    "rtol": (RtolOption, DEFAULT_RTOL),
    "tolerance": (ToleranceOption, None),
    "inputs": (InputsOption, None),
    "force": (
        Annotated[bool, typer.Option("--force", help="Overwrite existing output files.")],
        False,
    ),
    "state_io": (
        Annotated[
            bool,
            typer.Option(
                "--state-io",
                help="Add initial-state inputs and final-state outputs to every recurrent layer "
                "(for stateful models served chunk by chunk).",
            ),
        ],
        False,
    ),
    "token_dtype": (
        Annotated[
            TokenDtypeChoice,
            typer.Option(
                "--token-dtype",
                help="ONNX dtype of integer inputs (token ids): int64, what tokenizers return, "
                "or int32.",
            ),
        ],
        TokenDtypeChoice(DEFAULT_TOKEN_DTYPE),
    ),
    "allow_nonfinite": (
        Annotated[
            bool,
            typer.Option(
                "--allow-nonfinite",
                help="Convert even if weights hold NaN or Inf (combine with --no-verify: NaN "
                "outputs cannot be compared).",
            ),
        ],
        False,
    ),
    "external_data": (
        Annotated[
            bool,
            typer.Option(
                "--external-data",
                help="Store the weights in OUTPUT.data beside the model. Switches on by itself "
                "when the weights would push the model past about 1.8 GB.",
            ),
        ],
        False,
    ),
    "config_path": (ConfigOption, None),
}

# Shown after the file options in --help, whatever the command.
_LAST = ("threads", "as_json", "debug")


def with_file_options(command: Callable[..., None]) -> Callable[..., None]:
    """Give ``command`` every option of FILE_OPTIONS; it receives them as one dict
    ``options`` of api.convert keywords."""
    own = inspect.signature(command, eval_str=True).parameters.values()
    first = [p for p in own if p.name != "options" and p.name not in _LAST]
    last = [p for p in own if p.name in _LAST]
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=kind, default=value)
        for name, (kind, value) in FILE_OPTIONS.items()
    ]
    keyword_only = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in last]

    def wrapper(**kwargs: Any) -> None:
        options = {name: kwargs.pop(name) for name in FILE_OPTIONS}
        options = {k: v.value if isinstance(v, Enum) else v for k, v in options.items()}
        command(**kwargs, options=options)

    wrapper.__signature__ = inspect.Signature([*first, *added, *keyword_only])  # type: ignore[attr-defined]
    wrapper.__name__ = command.__name__
    wrapper.__doc__ = command.__doc__
    wrapper.__module__ = command.__module__
    return wrapper
