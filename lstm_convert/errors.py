"""One small exception hierarchy; exit codes are decided here and nowhere else.

Exit codes (documented in the README and in ``lstm-convert --help``):

* 0 - success
* 1 - the converted model does not match Keras (parity mismatch)
* 2 - the input file or an option is wrong, the model is unsupported, or the output path
  is refused: raised where a file's content or an option value is read
* 3 - internal error: anything else is a bug in lstm-convert (:class:`InternalError`)

``batch`` exits 0 if every file converted, 1 if any failed, 2 if OUTDIR is unusable.
Ctrl-C exits 130, and SIGTERM 128 + 15, as shells do.

Messages speak the API (``force=True``); the CLI words them as its options (``--force``)
with :func:`cli_wording`.
"""

from __future__ import annotations

import re
import zipfile

EXIT_OK = 0
EXIT_PARITY = 1
EXIT_INPUT = 2
EXIT_INTERNAL = 3
EXIT_ANY_FAILED = 1  # batch: at least one file failed
EXIT_INTERRUPTED = 130  # Ctrl-C
EXIT_SIGNAL_BASE = 128  # killed by signal N: 128 + N


def exit_code_of(code: object) -> int:
    """The process exit code for a SystemExit's ``code`` (a message string means 1)."""
    if isinstance(code, str):
        return 1
    return int(code or 0)  # type: ignore[call-overload]


# API keyword -> CLI option, for the suggestions in error messages.
CLI_FLAGS = {
    "force": "--force",
    "state_io": "--state-io",
    "allow_nonfinite": "--allow-nonfinite",
    "external_data": "--external-data",
    "verify": "--verify",
    "config_path": "--config",
    "inputs": "--inputs",
    "bias_split": "--bias-split",
    "opset": "--opset",
    "atol": "--atol",
    "rtol": "--rtol",
    "token_dtype": "--token-dtype",
    "keep_suffix": "--keep-suffix",
    "pattern": "--pattern",
}
_NAMES = "|".join(CLI_FLAGS)
# "force=True", "verify=False", "config_path=FILE", or a keyword about to be judged ("opset
# must be"); a bare "name=" (no value) is left as written.
_KEYWORD = re.compile(rf"(?<![\w-])({_NAMES})(=True|=False|=(?=[\w./~])| (?=must be))")


def cli_wording(message: str) -> str:
    """An API message as the CLI says it: ``force=True`` becomes ``--force``,
    ``verify=False`` ``--no-verify``, ``config_path=FILE`` ``--config FILE`` and
    ``opset must be`` ``--opset must be``."""

    def flag(match: re.Match[str]) -> str:
        name, form = match.groups()
        if form == "=False":
            return "--no-" + CLI_FLAGS[name][2:]
        return CLI_FLAGS[name] + ("" if form == "=True" else " ")

    return _KEYWORD.sub(flag, message)


class ConvertError(Exception):
    """Base class of every error lstm-convert raises on purpose."""

    exit_code = EXIT_INPUT


class InputFileError(ConvertError):
    """The input file is missing, unreadable, or not a Keras model."""


class UnsupportedModelError(ConvertError):
    """The model is a valid Keras model but uses something we cannot convert."""


class ConfigError(InputFileError):
    """A value in the model config is missing, of the wrong type or out of range."""


class OptionError(ConvertError, ValueError):
    """An option given to the API or the CLI is invalid (also a ValueError, for callers of
    the API who catch that)."""


class InternalError(ConvertError):
    """An unexpected exception inside lstm-convert: a bug, not a problem with the input."""

    exit_code = EXIT_INTERNAL


class WeightsError(InputFileError):
    """The weights in the file contradict the architecture, or are not finite."""


class OutputPathError(ConvertError):
    """The output path is refused (exists without --force, or is the input)."""


class ParityError(ConvertError):
    """onnxruntime's outputs differ from the Keras reference beyond the tolerance."""

    exit_code = EXIT_PARITY
    # The failed conversion's ConvertResult (status "failed", with its parity report).
    result: object = None


# What h5py, zipfile, json and numpy raise on a damaged or hostile file. They are turned
# into InputFileError only where a file is read (see ``api.reading`` and the HDF5 probe);
# anywhere else, any exception that is not one of ours is a bug.
READ_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    ValueError,
    KeyError,
    RuntimeError,
    EOFError,
    UnicodeError,
    RecursionError,
    OverflowError,
    MemoryError,
    zipfile.BadZipFile,
)


def _detail(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{exc.__class__.__name__}: {text[0][:200]}" if text else exc.__class__.__name__


def runtime_detail(exc: BaseException, limit: int = 300) -> str:
    """onnxruntime's message on one line, with its useful second line kept
    ("index: 1 Got: 50 Expected: 6") and its "Please fix" advice dropped."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    kept = [line for line in lines if not line.startswith("Please fix")]
    return f"{exc.__class__.__name__}: {'; '.join(kept)}"[:limit]


def internal_error(exc: BaseException) -> InternalError:
    """An unexpected exception, reported as the bug it is."""
    return InternalError(
        f"internal error ({_detail(exc)}): this is a bug in lstm-convert; "
        "rerun with --debug and report it"
    )


def read_error(path: object, what: str, exc: BaseException) -> ConvertError:
    """Classify an exception raised while reading ``path``: the file's fault or ours."""
    if isinstance(exc, ConvertError):
        return exc
    if isinstance(exc, MemoryError):
        return InputFileError(f"{path}: {what} (it needs more memory than is available)")
    if isinstance(exc, READ_ERRORS):
        return InputFileError(f"{path}: {what} ({_detail(exc)})")
    return internal_error(exc)
