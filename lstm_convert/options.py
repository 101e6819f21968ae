"""Options are checked once, up front, in the API as in the CLI (exit 2 when wrong)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from .defaults import (
    BIAS_SPLITS,
    DEFAULT_ATOL,
    DEFAULT_BIAS_SPLIT,
    DEFAULT_RTOL,
    MIN_OPSET,
    OPSET_OF_OLDEST_ONNX,
    TOKEN_DTYPES,
)
from .errors import OptionError

# The keywords of api.convert that shape one file's conversion: ``convert_many`` and the
# ``batch`` command take every one of them (tests/test_commands.py holds this to convert's
# signature). Declared here, not read from the signature, so that checking a batch's
# options does not import the converter.
PER_FILE_OPTIONS = (
    "bias_split",
    "opset",
    "verify",
    "tolerance",
    "atol",
    "rtol",
    "inputs",
    "force",
    "state_io",
    "allow_nonfinite",
    "config_path",
    "external_data",
    "token_dtype",
)


def max_opset() -> int:
    """The newest ONNX opset the installed onnx package knows."""
    import onnx.defs

    return int(onnx.defs.onnx_opset_version())


def check_bias_split(bias_split: object) -> None:
    if bias_split not in BIAS_SPLITS:
        raise OptionError(
            f"bias_split must be one of {', '.join(BIAS_SPLITS)}, not {bias_split!r:.40}"
        )


def check_token_dtype(token_dtype: object) -> None:
    if token_dtype not in TOKEN_DTYPES:
        raise OptionError(
            f"token_dtype must be one of {', '.join(TOKEN_DTYPES)}, not {token_dtype!r:.40}"
        )


def check_opset(opset: object) -> None:
    known = isinstance(opset, int) and not isinstance(opset, bool)
    if known and MIN_OPSET <= opset <= OPSET_OF_OLDEST_ONNX:  # type: ignore[operator]
        return  # every accepted onnx knows it: no need to import onnx
    newest = max_opset()
    if not isinstance(opset, int) or isinstance(opset, bool) or not MIN_OPSET <= opset <= newest:
        import onnx

        raise OptionError(
            f"opset must be between {MIN_OPSET} and {newest} (the newest the installed "
            f"onnx {onnx.__version__} supports), not {opset!r:.40}"
        )


def check_tolerance(value: object, name: str) -> float:
    """A tolerance must be a finite number > 0 (atol) or >= 0 (rtol)."""
    allow_zero = name == "rtol"
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise OptionError(f"{name} must be a number, not {value!r:.40}") from None
    if isinstance(value, bool) or not math.isfinite(number) or number < 0:
        raise OptionError(f"{name} must be finite and positive, not {value!r:.40}")
    if number == 0 and not allow_zero:
        raise OptionError(f"{name} must be greater than 0")
    return number


def check_options(
    bias_split: object = DEFAULT_BIAS_SPLIT,
    opset: object = None,
    atol: object = DEFAULT_ATOL,
    rtol: object = DEFAULT_RTOL,
) -> tuple[float, float]:
    """Validate every option; returns (atol, rtol) as floats."""
    check_bias_split(bias_split)
    if opset is not None:
        check_opset(opset)
    return check_tolerance(atol, "atol"), check_tolerance(rtol, "rtol")


def check_file_options(options: dict[str, Any]) -> dict[str, Any]:
    """Validate per-file options once for many files; paths become absolute."""
    for name in options:
        if name not in PER_FILE_OPTIONS:
            raise TypeError(f"unexpected keyword argument {name!r} (not an option of convert)")
    tolerance = options.get("tolerance")
    if "token_dtype" in options:
        check_token_dtype(options["token_dtype"])
    check_options(
        options.get("bias_split", DEFAULT_BIAS_SPLIT),
        options.get("opset"),
        options.get("atol", DEFAULT_ATOL) if tolerance is None else tolerance,
        options.get("rtol", DEFAULT_RTOL),
    )
    checked = dict(options)
    for name in ("inputs", "config_path"):
        if checked.get(name) is not None:
            checked[name] = str(Path(checked[name]).absolute())
    return checked
