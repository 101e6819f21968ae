"""The ``lstm-convert`` command line: a thin typer layer over :mod:`lstm_convert.api`.

:mod:`.app` holds the typer app and the shared options; each command lives in its own
module and is registered here, explicitly, in the order ``--help`` lists them.
"""

from __future__ import annotations

import os
import sys

from ..errors import EXIT_SIGNAL_BASE, exit_code_of
from .app import app
from .batch import batch
from .convert import convert
from .explain import HELP as EXPLAIN_HELP
from .explain import explain
from .inspect import inspect
from .verify import verify

app.command("convert")(convert)
app.command("verify")(verify)
app.command("inspect")(inspect)
app.command("batch")(batch)
app.command("explain", help=EXPLAIN_HELP)(explain)

__all__ = ["app", "main"]


def _terminate(signum, frame) -> None:  # pragma: no cover - exercised by a subprocess test
    # Unwind normally so temporary outputs are removed on the way out.
    raise SystemExit(EXIT_SIGNAL_BASE + signum)


def main() -> None:
    """Console entry point."""
    import signal

    signal.signal(signal.SIGTERM, _terminate)
    try:
        app()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if isinstance(code, str):
        sys.stderr.write(code + "\n")
    code = exit_code_of(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # pragma: no cover - stdout closed by a pager or head
        code = code or 1
    batch = sys.modules.get("lstm_convert.batch")
    if batch is not None:  # a fork server started for `batch` that never ran (bad option)
        batch.discard_early()
    # Every output is already fsync'ed and every temporary removed: skip the interpreter's
    # teardown of numpy, h5py and onnx, which costs about 50 ms per run.
    os._exit(code)


if __name__ == "__main__":
    main()
