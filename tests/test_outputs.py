"""Outputs: atomic writes under interruption, and external data for big models."""

import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from conftest import SAMPLES

from lstm_convert.api import convert
from lstm_convert.parity import run_onnx

SAMPLE = SAMPLES / "bigru_stack.h5"
OLD = b"the previous model, which must survive an interrupted run"


# The child is ``lstm-convert convert``'s own main(), with one stage hooked: on reaching
# it, the child says so on stdout and waits on stdin, so the parent's signal lands exactly
# there (an event awaited, not a guessed delay).
CHILD = """
import os, sys
from lstm_convert import api, outputs
from lstm_convert.cli import main
from lstm_convert.export import ExportResult

STAGES = {
    "reading": (api, "load", "before"),
    "export": (api, "build_onnx", "before"),
    "written": (ExportResult, "write", "after"),  # the temporary file is complete
    "parity": (api, "compare_onnx", "before"),
    "placing": (outputs, "place", "before"),
}
owner, name, when = STAGES[sys.argv.pop(1)]
original = getattr(owner, name)

def pause():
    os.write(1, b"ready\\n")
    os.read(0, 1)

def hooked(*args, **kwargs):
    if when == "before":
        pause()
    result = original(*args, **kwargs)
    if when == "after":
        pause()
    return result

setattr(owner, name, hooked)
main()
"""
STAGES = ["reading", "export", "written", "parity", "placing"]
# What main() exits with when each signal lands mid-run.
EXIT_CODES = {signal.SIGKILL: -signal.SIGKILL, signal.SIGTERM: 143, signal.SIGINT: 130}


def _start(out: Path, stage: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, stage, "convert", str(SAMPLE), "-o", str(out), "--force"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )


def _intact(out: Path) -> bool:
    """The old bytes, or a complete model that loads and checks."""
    data = out.read_bytes()
    if data == OLD:
        return True
    onnx.checker.check_model(onnx.load_from_string(data), full_check=True)
    return True


def _interrupt(folder: Path, sig: signal.Signals, stage: str | None) -> int:
    """Run a conversion over the old file in ``folder`` and send ``sig`` when it reaches
    ``stage`` (None: at once, while the interpreter starts and imports)."""
    folder.mkdir()
    out = folder / "model.onnx"
    out.write_bytes(OLD)
    proc = _start(out, stage or STAGES[0])
    with proc:
        if stage is not None:
            assert proc.stdout.readline() == b"ready\n", f"the child never reached {stage}"
        proc.send_signal(sig)
        proc.stdin.close()  # a child that survived the signal goes on (and is caught below)
        return proc.wait(timeout=60)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_interrupted_conversion_leaves_old_file_or_complete_new_one(tmp_path, sig):
    # Kills land at each stage: imports, reading, export, the written temporary file,
    # parity, and the moment before it is moved into place.
    for stage in [None, *STAGES]:
        folder = tmp_path / f"at_{stage or 'start'}"
        code = _interrupt(folder, sig, stage)
        if stage is not None:
            assert code == EXIT_CODES[sig], (stage, code)
        out = folder / "model.onnx"
        assert _intact(out)
        if stage is not None:
            assert out.read_bytes() == OLD, stage  # killed before the move: nothing replaced
        leftovers = [p.name for p in folder.iterdir() if p.name != "model.onnx"]
        if sig != signal.SIGKILL:
            # A catchable signal unwinds and removes the temporary file.
            assert leftovers == [], (stage, leftovers)
        else:
            # SIGKILL cannot be caught: at most a hidden temporary file stays behind.
            assert all(name.startswith(".model.onnx.") for name in leftovers), leftovers


def test_external_data_with_a_lowered_threshold(tmp_path):
    out = tmp_path / "big.onnx"
    result = convert(SAMPLE, out, external_data_threshold=0)
    data = tmp_path / "big.onnx.data"
    assert result.external_data == str(data)
    assert data.exists() and data.stat().st_size > 0
    assert result.parity is not None and result.parity.passed
    # Loaded by path, as onnxruntime must for models past 2 GB.
    onnx.checker.check_model(str(out), full_check=True)
    model = onnx.load(str(out), load_external_data=False)
    big = [init for init in model.graph.initializer if np.prod(init.dims) * 4 > 1024]
    assert big and all(init.data_location == onnx.TensorProto.EXTERNAL for init in big)
    expected = np.load(SAMPLES / "bigru_stack.npz")
    inputs = {model.graph.input[0].name: expected["input_0"]}
    np.testing.assert_allclose(run_onnx(str(out), inputs)[0], expected["output_0"], atol=1e-5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.onnx", "big.onnx.data"]


def test_external_data_refuses_to_overwrite_an_existing_data_file(tmp_path):
    from lstm_convert.errors import OutputPathError

    (tmp_path / "big.onnx.data").write_bytes(b"keep me")
    with pytest.raises(OutputPathError):
        convert(SAMPLE, tmp_path / "big.onnx", external_data=True)
    assert (tmp_path / "big.onnx.data").read_bytes() == b"keep me"
    assert not (tmp_path / "big.onnx").exists()


def test_external_data_parity_failure_leaves_nothing(tmp_path, monkeypatch):
    from family_mutations import misorder

    from lstm_convert.errors import ParityError

    misorder(monkeypatch, "GRU", ("r", "z", "h"))  # a real mismatch
    with pytest.raises(ParityError):
        convert(SAMPLE, tmp_path / "big.onnx", external_data=True)
    assert list(tmp_path.iterdir()) == []


def test_cli_external_data_flag(tmp_path):
    from typer.testing import CliRunner

    from lstm_convert.cli import app

    out = tmp_path / "m.onnx"
    result = CliRunner().invoke(app, ["convert", str(SAMPLE), "-o", str(out), "--external-data"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx", "m.onnx.data"]
    # The model points at the data file beside it, by a relative name.
    model = onnx.load(str(out), load_external_data=False)
    external = [init for init in model.graph.initializer if init.external_data]
    locations = {e.value for init in external for e in init.external_data if e.key == "location"}
    assert external and locations == {"m.onnx.data"}
