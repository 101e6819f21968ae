"""The ``lstm-convert`` console entry point.

For ``batch``, it starts the fork server (:func:`lstm_convert.batch.boot_early`) before the
command line interface is even imported, so the server's imports overlap the CLI's own
start-up. Everything else goes straight to :func:`lstm_convert.cli.main`.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Console entry point (``lstm-convert`` and ``python -m lstm_convert``)."""
    args = sys.argv[1:]
    if args[:1] == ["batch"] and not {"-h", "--help"} & set(args):
        from .batch import boot_early

        boot_early()
    from .cli import main as cli_main

    cli_main()
