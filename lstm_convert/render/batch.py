"""``batch``'s terminal output: the live progress bar and the summary table."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from ..batch import BatchResult

STATUS_STYLES = {"ok": "green", "failed": "red", "skipped": "yellow"}


UNWRAPPED = 10_000  # columns of a piped table when $COLUMNS is not set


def batch_console() -> Console:
    from rich.console import Console

    if sys.stdout.isatty():
        return Console()
    # Logs and pipes: the width $COLUMNS asks for; without it, never wrap a row, so each
    # file stays on one greppable line.
    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if columns.isdigit() and int(columns) > 0 else UNWRAPPED
    return Console(width=width, no_color=True)


def error_text(input_path: str, error: str | None) -> str:
    """A file's error without the file's path in front (the row already shows it)."""
    if not error:
        return ""
    return error.removeprefix(f"{input_path}: ")


class ProgressBar:
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

        from ..safe_text import visible

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

    from ..safe_text import plain

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
            plain(error_text(item.input, item.error)),
        )
    console.print(table)
    skipped = f", {result.skipped} skipped" if result.skipped else ""
    console.print(f"{result.ok} converted, {result.failed} failed{skipped}")
