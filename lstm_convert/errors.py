"""One small exception hierarchy; exit codes are decided here and nowhere else.

Exit codes (documented in the README and in ``lstm-convert --help``):

* 0 - success
* 1 - the converted model does not match Keras (parity mismatch)
* 2 - bad input, unsupported model or refused output path
* 3 - internal error (a bug), reported by the CLI

``batch`` exits 0 if every file converted, 1 if any failed, 2 if OUTDIR is unusable.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_PARITY = 1
EXIT_INPUT = 2


class ConvertError(Exception):
    """Base class of every error lstm-convert raises on purpose."""

    exit_code = EXIT_INPUT


class InputFileError(ConvertError):
    """The input file is missing, unreadable, or not a Keras model."""


class UnsupportedModelError(ConvertError):
    """The model is a valid Keras model but uses something we cannot convert."""


class WeightsError(InputFileError):
    """The weights in the file contradict the architecture, or are not finite."""


class OutputPathError(ConvertError):
    """The output path is refused (exists without --force, or is the input)."""


class ParityError(ConvertError):
    """onnxruntime's outputs differ from the Keras reference beyond the tolerance."""

    exit_code = EXIT_PARITY
