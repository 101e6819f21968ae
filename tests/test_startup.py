"""`lstm-convert --help` and `--version` must not import the heavy libraries."""

import json
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


# Runs the CLI, then writes the modules this very process imported (not its forked
# server's) to RECORD, however the CLI ends (SystemExit, or os._exit to skip teardown).
RECORDING_CLI = """
import json, os, sys
from lstm_convert.cli import main
record, me, real_exit = sys.argv.pop(1), os.getpid(), os._exit

def write():
    if os.getpid() == me:
        with open(record, "w") as handle:
            json.dump(sorted(sys.modules), handle)

def recording_exit(code):
    write()
    real_exit(code)

os._exit = recording_exit
try:
    main()
finally:
    write()
"""


@pytest.mark.parametrize("as_json", [True, False])
def test_batch_parent_imports_nothing_heavy(tmp_path, as_json):
    """The batch parent only plans files and collects results; the workers (forked from a
    server that imports the converter) do the work. Importing NumPy or onnx here would put
    a few hundred ms of imports between the command and its first forked worker."""
    from conftest import FIXTURES

    record = tmp_path / "modules.json"
    inputs = [FIXTURES / "keras3" / "lstm_basic.h5", FIXTURES / "tfkeras" / "bidir_gru_ave.keras"]
    args = ["batch", *map(str, inputs), "-o", str(tmp_path / "out"), "--opset", "17"]
    args += ["--bias-split", "half"] + (["--json"] if as_json else [])
    result = subprocess.run(
        [sys.executable, "-c", RECORDING_CLI, str(record), *args], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(list((tmp_path / "out").glob("*.onnx"))) == 2  # converted, by the workers
    imported = set(json.loads(record.read_text()))
    assert "lstm_convert.batch" in imported  # the measurement works
    heavy = {name for name in imported if name.split(".")[0] in HEAVY}
    assert not heavy, sorted(heavy)
    assert "lstm_convert.api" not in imported
