"""Feedback on slow work (issue 16, item 2): a status on a terminal's stderr, after a delay;
nothing on pipes, nothing with --json, nothing for quick work."""

from __future__ import annotations

import io

from conftest import SAMPLES
from rich.console import Console
from typer.testing import CliRunner

from lstm_convert.api import convert, verify
from lstm_convert.cli import app
from lstm_convert.render.progress import PhaseStatus

SEED = SAMPLES / "seed_lstm.h5"


def terminal() -> tuple[Console, io.StringIO]:
    sink = io.StringIO()
    return Console(file=sink, force_terminal=True, width=80), sink


def test_convert_names_each_phase_in_order(tmp_path):
    seen: list[str] = []
    convert(SEED, tmp_path / "s.onnx", progress=seen.append)
    assert seen == ["reading", "building", "writing", "checking"]
    seen.clear()
    convert(SEED, tmp_path / "n.onnx", verify=False, progress=seen.append)
    assert seen == ["reading", "building", "writing"]
    seen.clear()
    verify(SEED, tmp_path / "s.onnx", progress=seen.append)
    assert seen == ["reading", "checking"]


def shown(*phases: str) -> str:
    """What a terminal shows for slow work that went through ``phases``."""
    console, sink = terminal()
    status = PhaseStatus(("reading", "checking"), True, console, delay=0.0)
    with status as phase:
        status.timer.join()  # the delay has passed: the status is on screen
        for name in phases:
            phase(name)
    return sink.getvalue()


def test_slow_work_shows_its_phase_on_a_terminal():
    assert "[1/2] reading the Keras file" in shown("reading")
    assert "[2/2] checking parity with onnxruntime" in shown("reading", "checking")


def test_quick_work_shows_nothing():
    console, sink = terminal()
    with PhaseStatus(("reading",), True, console, delay=5.0) as phase:
        phase("reading")
    assert sink.getvalue() == ""


def test_disabled_status_gives_no_callback():
    with PhaseStatus(("reading",), False) as phase:
        assert phase is None


def test_nothing_on_a_pipe(tmp_path):
    result = CliRunner().invoke(app, ["convert", str(SEED), "-o", str(tmp_path / "p.onnx")])
    assert result.exit_code == 0, result.output
    assert "reading" not in result.stderr and "checking" not in result.stderr


def test_the_commands_ask_for_a_status_only_on_a_terminal_without_json(monkeypatch):
    from lstm_convert.render import progress

    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    assert progress.wanted(as_json=False)
    assert not progress.wanted(as_json=True)
