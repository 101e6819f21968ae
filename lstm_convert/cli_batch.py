"""The `batch` command (registered on the main typer app): a thin layer over convert_many."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .cli import (
    BiasSplitChoice,
    DebugOption,
    JsonOption,
    _print_json,
    app,
    reported_errors,
)

if TYPE_CHECKING:
    from rich.console import Console

    from .batch import BatchResult

EXIT_ANY_FAILED = 1
STATUS_STYLES = {"ok": "green", "failed": "red", "skipped": "yellow"}


@app.command("batch")
def batch(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Keras files, or directories searched recursively for *.h5, *.hdf5, *.keras.",
            show_default=False,
        ),
    ],
    out_dir: Annotated[
        Path,
        typer.Option(
            "-o",
            "--output-dir",
            help="Directory for the ONNX files; inputs' relative paths are mirrored under it.",
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
    as_json: JsonOption = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing outputs.")] = False,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify/--no-verify",
            help="Check every file with onnxruntime against a NumPy reference of Keras.",
        ),
    ] = True,
    bias_split: Annotated[
        BiasSplitChoice,
        typer.Option("--bias-split", help="Where Keras's bias goes in ONNX's B (see convert)."),
    ] = BiasSplitChoice.wb,
    opset: Annotated[int, typer.Option(help="ONNX opset (14 or newer).")] = 17,
    timeout: Annotated[
        float,
        typer.Option(
            min=0, help="Seconds one file may take before its worker is killed (0: no limit)."
        ),
    ] = 300.0,
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
    debug: DebugOption = False,
) -> None:
    """Convert many Keras files, each in a worker process; one bad file never stops the rest.

    Ends with a table, or with --json one JSON document on stdout and nothing else there.

    Exit code: 0 if every file converted, 1 if any failed, 2 if OUTDIR is unusable.

    Example: lstm-convert batch models/ -o onnx/ --jobs 4 --json
    """
    with reported_errors(debug):
        from .batch import convert_many

        console = _console()
        show_bar = not as_json and sys.stdout.isatty()
        with _ProgressBar(console, show_bar) as progress:
            result = convert_many(
                paths,
                out_dir,
                jobs=jobs,
                pattern=pattern,
                force=force,
                verify=verify,
                bias_split=bias_split.value,
                opset=opset,
                timeout=timeout or None,
                fail_fast=fail_fast,
                progress=progress,
                threads=threads,
            )
        if as_json:
            _print_json(result.to_dict())
        else:
            print_batch_result(result, console)
        if result.failed:
            skipped = f", {result.skipped} skipped" if result.skipped else ""
            typer.echo(
                f"error: {result.failed} of {len(result.results)} files failed{skipped}", err=True
            )
            raise typer.Exit(EXIT_ANY_FAILED)


def _console() -> Console:
    from rich.console import Console

    if sys.stdout.isatty():
        return Console()
    # Logs and pipes: never wrap a row, so each file stays on one greppable line.
    return Console(width=10_000, no_color=True)


class _ProgressBar:
    """A rich progress bar on a TTY; otherwise nothing (the callback is None)."""

    def __init__(self, console: Console, enabled: bool) -> None:
        self.console = console
        self.enabled = enabled
        self.bar = None
        self.task = None

    def __enter__(self):
        if not self.enabled:
            return None
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.bar = Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self.bar.__enter__()
        self.task = self.bar.add_task("converting", total=None)
        return self.update

    def update(self, done: int, total: int, result) -> None:
        from rich.markup import escape

        from .safe_text import visible

        name = "converting" if result is None else visible(Path(result.input).name)
        description = escape(name)
        self.bar.update(self.task, completed=done, total=total, description=description)

    def __exit__(self, *exc_info) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc_info)


def print_batch_result(result: BatchResult, console: Console) -> None:
    """The summary table: one row per file, failures with their error."""
    from rich.table import Table
    from rich.text import Text

    from .safe_text import plain

    table = Table()
    table.add_column("file", overflow="fold")
    table.add_column("status")
    table.add_column("layers", justify="right")
    table.add_column("max parity error", justify="right")
    table.add_column("seconds", justify="right")
    table.add_column("error", overflow="fold")
    for item in result.results:
        ok = item.status == "ok"
        table.add_row(
            plain(item.input),
            Text(item.status, style=STATUS_STYLES.get(item.status, "red")),
            str(len(item.layers)) if ok else "-",
            f"{item.max_abs_error:.2e}" if item.max_abs_error is not None else "-",
            f"{item.seconds:.2f}",
            plain(item.error or ""),
        )
    console.print(table)
    skipped = f", {result.skipped} skipped" if result.skipped else ""
    console.print(f"{result.ok} converted, {result.failed} failed{skipped}")
