"""Options are checked once, up front, in the API as in the CLI (exit 2 when wrong)."""

from __future__ import annotations

import math

from .defaults import DEFAULT_ATOL, DEFAULT_BIAS_SPLIT, DEFAULT_RTOL, MIN_OPSET
from .errors import OptionError
from .export.interface import TOKEN_DTYPES
from .remap import BIAS_SPLITS


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
