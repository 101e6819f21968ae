"""Outputs: atomic writes under interruption, and external data for big models."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from conftest import SAMPLES

from lstm_convert.api import convert
from lstm_convert.parity import run_onnx

SAMPLE = SAMPLES / "bigru_stack.h5"
OLD = b"the previous model, which must survive an interrupted run"


def _start(out: Path) -> subprocess.Popen:
    code = "from lstm_convert.cli import main; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, "convert", str(SAMPLE), "-o", str(out), "--force"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _intact(out: Path) -> bool:
    """The old bytes, or a complete model that loads and checks."""
    data = out.read_bytes()
    if data == OLD:
        return True
    onnx.checker.check_model(onnx.load_from_string(data), full_check=True)
    return True


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_interrupted_conversion_leaves_old_file_or_complete_new_one(tmp_path, sig):
    # Timed kills land at different points: imports, reading, export, writing, parity.
    delays = [0.2, 0.5, 0.8, 1.1, 1.4, 1.7, 2.0, 2.5]
    for delay in delays:
        folder = tmp_path / f"run_{delay}"
        folder.mkdir()
        out = folder / "model.onnx"
        out.write_bytes(OLD)
        proc = _start(out)
        time.sleep(delay)
        proc.send_signal(sig)
        proc.wait(timeout=60)
        assert _intact(out)
        leftovers = [p.name for p in folder.iterdir() if p.name != "model.onnx"]
        if sig != signal.SIGKILL:
            # A catchable signal unwinds and removes the temporary file.
            assert leftovers == [], leftovers
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
    assert (tmp_path / "m.onnx.data").exists()
    shutil.rmtree(tmp_path)
    assert not os.path.exists(out)
