"""Narrow terminals (issue 16, item 7): inspect wraps instead of cutting, help leaves room
for descriptions, the piped batch table honours $COLUMNS and does not repeat the path, and
long op lists are summarised.

Snapshots live in tests/snapshots/ (plain text, no colour); after an intended change to the
rendering, regenerate them with ``UPDATE_SNAPSHOTS=1 python -m pytest tests/test_narrow.py``
and review the diff before committing.
"""

from __future__ import annotations

import io
import os

import pytest
from conftest import ROOT, SAMPLES
from rich.console import Console
from typer.testing import CliRunner

from lstm_convert.api import ConvertResult, inspect
from lstm_convert.batch import BatchResult
from lstm_convert.cli import app
from lstm_convert.export.context import LayerReport
from lstm_convert.render.batch import UNWRAPPED, batch_console, print_batch_result
from lstm_convert.render.plain import summarize_ops
from lstm_convert.render.results import print_inspect

SNAPSHOTS = ROOT / "tests" / "snapshots"
WIDTHS = (60, 80, 120)


def check_snapshot(name: str, text: str) -> None:
    """Compare with tests/snapshots/<name> (trailing spaces ignored); UPDATE_SNAPSHOTS=1 writes."""
    text = "\n".join(line.rstrip() for line in text.splitlines()) + "\n"
    path = SNAPSHOTS / name
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} missing: run with UPDATE_SNAPSHOTS=1 to create it"
    assert text == path.read_text(encoding="utf-8"), f"rendering differs from {path}"


def rendered(width: int, draw) -> str:
    sink = io.StringIO()
    draw(Console(file=sink, width=width, no_color=True, force_terminal=False))
    return sink.getvalue()


@pytest.mark.parametrize("width", WIDTHS)
def test_inspect_wraps_option_values_instead_of_cutting_them(width):
    result = inspect(SAMPLES / "seed_lstm.h5")
    result.path = "samples/seed_lstm.h5"  # the same snapshot from any checkout
    text = rendered(width, lambda console: print_inspect(result, console))
    assert "…" not in text
    assert all(len(line) <= width for line in text.splitlines())
    if width >= 80:  # wrapped at spaces, so whole values
        assert "recurrent_activation=sigmoid" in text
    check_snapshot(f"inspect_seed_lstm_{width}.txt", text)


def batch_result() -> BatchResult:
    layers = [LayerReport("lstm", "LSTM", ["Transpose", "LSTM", "Squeeze", "Transpose"])]
    return BatchResult(
        [
            ConvertResult(
                "models/seed_lstm.h5", "onnx/seed_lstm.onnx", "ok", None, 2.1e-7, 0.42, layers
            ),
            ConvertResult(
                "models/sub/a_rather_long_file_name_for_a_model.keras",
                None,
                "failed",
                "models/sub/a_rather_long_file_name_for_a_model.keras: is neither HDF5 nor a "
                ".keras zip archive",
                seconds=0.01,
            ),
            ConvertResult("models/z.h5", None, "skipped", "skipped after an earlier failure"),
        ]
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_batch_table_fits_and_does_not_repeat_the_path(width):
    text = rendered(width, lambda console: print_batch_result(batch_result(), console))
    assert all(len(line) <= width for line in text.splitlines())
    check_snapshot(f"batch_table_{width}.txt", text)
    wide = rendered(300, lambda console: print_batch_result(batch_result(), console))
    assert wide.count("a_rather_long_file_name_for_a_model") == 1
    assert "│ is neither HDF5 nor a .keras zip archive" in wide


def test_piped_batch_table_honours_columns(monkeypatch):
    monkeypatch.setattr("sys.stdout.isatty", lambda: False, raising=False)
    monkeypatch.setenv("COLUMNS", "80")
    assert batch_console().width == 80
    monkeypatch.delenv("COLUMNS")
    assert batch_console().width == UNWRAPPED  # logs: one greppable line per file


@pytest.mark.parametrize("width", WIDTHS)
def test_help_leaves_room_for_descriptions(width):
    result = CliRunner().invoke(app, ["convert", "-h"], terminal_width=width)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert all(len(line) <= width for line in lines), max(lines, key=len)
    option = next(line for line in lines if line.lstrip().startswith("--bias-split"))
    description = option.index("Where Keras")
    assert width - description >= width * 9 // 20, option  # rich left 13 of 80


@pytest.mark.parametrize("width", WIDTHS)
def test_help_snapshot(width):
    result = CliRunner().invoke(app, ["inspect", "-h"], terminal_width=width)
    check_snapshot(f"help_inspect_{width}.txt", result.stdout)


def test_long_op_lists_are_summarised():
    masked = ["Transpose", "LSTM", "LSTM", *["Not", "Cast", "ReduceSum", "Gather"] * 5]
    assert summarize_ops(masked) == "Transpose, LSTM ×2, Not ×5, Cast ×5, … (23 ops)"
    assert summarize_ops(["Transpose", "LSTM", "Squeeze"]) == "Transpose, LSTM, Squeeze"
    assert summarize_ops([]) == "-"
