"""`lstm-convert --help` and `--version` must not import the heavy libraries."""

import subprocess
import sys

import pytest

HEAVY = ("onnx", "onnxruntime", "h5py", "numpy")


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_cli_start_imports_nothing_heavy(flag):
    code = (
        f"import sys; sys.argv = ['lstm-convert', {flag!r}]; "
        "from lstm_convert.cli import main; main()"
    )
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    imported = {
        line.split("|")[-1].strip().split(".")[0]
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "lstm_convert" in imported  # the measurement works
    assert not imported & set(HEAVY), sorted(imported & set(HEAVY))
