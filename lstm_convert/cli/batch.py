"""``lstm-convert batch``: a thin layer over :func:`lstm_convert.batch.convert_many`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ..defaults import DEFAULT_BATCH_TIMEOUT
from ..errors import EXIT_ANY_FAILED, cli_wording
from .app import DebugOption, JsonOption, reported_errors, with_file_options


@with_file_options
def batch(
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="PATHS...",
            help="Keras files, or directories searched recursively for *.h5, *.hdf5, *.keras.",
            show_default=False,
        ),
    ],
    out_dir: Annotated[
        Path,
        typer.Option(
            "-o",
            "--output-dir",
            help="Directory for the ONNX files; inputs' relative paths are mirrored under it "
            "(in one subfolder per directory when several are given).",
            show_default=False,
        ),
    ],
    jobs: Annotated[
        int | None,
        typer.Option(
            "-j", "--jobs", min=1, help="Worker processes.", show_default="number of CPUs"
        ),
    ] = None,
    pattern: Annotated[
        list[str] | None,
        typer.Option(
            "--pattern",
            help="Glob for files inside directories (repeatable, case-insensitive).",
            show_default="*.h5, *.hdf5, *.keras",
        ),
    ] = None,
    keep_suffix: Annotated[
        bool,
        typer.Option(
            "--keep-suffix",
            help="Name outputs after the whole input name: m.h5 -> m.h5.onnx, so m.h5 and "
            "m.keras side by side both convert.",
        ),
    ] = False,
    timeout: Annotated[
        float,
        typer.Option(
            min=0, help="Seconds one file may take before its worker is killed (0: no limit)."
        ),
    ] = DEFAULT_BATCH_TIMEOUT,
    fail_fast: Annotated[
        bool,
        typer.Option(
            "--fail-fast",
            help="Start no new file after the first failure; the rest are reported as skipped.",
        ),
    ] = False,
    threads: Annotated[
        int | None,
        typer.Option(
            "--threads",
            min=1,
            help="Threads for each worker's BLAS and onnxruntime (also $LSTM_CONVERT_THREADS).",
            show_default="CPUs divided among the jobs, at least 1",
        ),
    ] = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
    *,
    options: dict[str, Any],
) -> None:
    """Convert many Keras files, each in a worker process; one bad file never stops the rest.

    Takes every per-file option of `convert`.

    Ends with a table, or with --json one JSON document on stdout and nothing else there.

    Exit code: 0 if every file converted, 1 if any failed, 2 if OUTDIR is unusable.

    Example: lstm-convert batch models/ -o onnx/ --jobs 4 --json
    """
    with reported_errors(debug):
        from ..batch import convert_many
        from ..render.batch import ProgressBar, batch_console, print_batch_result

        console = batch_console()
        show_bar = not as_json and sys.stdout.isatty()
        with ProgressBar(console, show_bar) as progress:
            result = convert_many(
                paths,
                out_dir,
                jobs=jobs,
                pattern=pattern,
                timeout=timeout or None,
                fail_fast=fail_fast,
                progress=progress,
                threads=threads,
                keep_suffix=keep_suffix,
                **options,
            )
        for item in result.results:  # the API's words (force=True) as this command's options
            item.error = cli_wording(item.error) if item.error else item.error
        if as_json:
            from ..render.documents import batch_document
            from ..render.plain import print_json

            print_json(batch_document(result))
        else:
            print_batch_result(result, console)
        if result.failed:
            skipped = f", {result.skipped} skipped" if result.skipped else ""
            typer.echo(
                f"error: {result.failed} of {len(result.results)} files failed{skipped}", err=True
            )
            raise typer.Exit(EXIT_ANY_FAILED)
