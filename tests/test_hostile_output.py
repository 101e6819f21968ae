"""Output paths: no data loss, no writes the user did not ask for, clean refusals.

Each refusal: exit 2, one line on stderr, nothing left behind, the input untouched.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SAMPLES
from test_hostile import digest
from typer.testing import CliRunner

from lstm_convert import api
from lstm_convert.cli import app
from lstm_convert.errors import OutputPathError

SEED_H5 = SAMPLES / "seed_lstm.h5"
BIG = SAMPLES / "bigru_stack.h5"  # has tensors over the external-data threshold


def run(*args: str):
    return CliRunner().invoke(app, [*args])


def assert_one_line_error(result, code: int = 2, expect: str = "") -> str:
    assert result.exit_code == code, result.output
    message = result.stderr.strip()
    assert message.startswith("error: ") and "\n" not in message, message
    assert "Traceback" not in result.output
    assert expect.lower() in message.lower(), message
    return message


def test_external_data_never_overwrites_the_input(tmp_path):
    source = tmp_path / "x.onnx.data"
    shutil.copy(BIG, source)
    before = digest(source)
    result = run(
        "convert", str(source), "-o", str(tmp_path / "x.onnx"), "--external-data", "--force"
    )
    assert_one_line_error(result, expect="input file")
    assert digest(source) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.onnx.data"]


def test_character_device_is_never_replaced(tmp_path):
    """As root, ``-o /dev/null --force`` must not replace the device node. Tested on a
    private node (never the system's own /dev/null, in case the check regresses)."""
    device = tmp_path / "null"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device node needs root")
    info = os.lstat(device)
    result = run("convert", str(SEED_H5), "-o", str(device), "--force")
    assert_one_line_error(result, expect="not a regular file")
    after = os.lstat(device)
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == info.st_ino
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]


def test_fifo_output_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "out.onnx"
    os.mkfifo(fifo)
    assert_one_line_error(run("convert", str(SEED_H5), "-o", str(fifo), "--force"))
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_dangling_symlink_is_not_replaced_without_force(tmp_path):
    link = tmp_path / "out.onnx"
    link.symlink_to(tmp_path / "nowhere")
    assert_one_line_error(run("convert", str(SEED_H5), "-o", str(link)), expect="already exists")
    assert link.is_symlink() and not (tmp_path / "nowhere").exists()
    result = run("convert", str(SEED_H5), "-o", str(link), "--force")
    assert_one_line_error(result, expect="dangling")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.onnx"]


def test_output_that_appears_during_conversion_is_not_replaced(tmp_path, monkeypatch):
    """Two runs writing the same new path: the later one must not silently win."""
    out = tmp_path / "model.onnx"
    original = api.reference_case

    def meanwhile(*args, **kwargs):
        out.write_bytes(b"the other run's model")
        return original(*args, **kwargs)

    monkeypatch.setattr(api, "reference_case", meanwhile)
    with pytest.raises(OutputPathError, match="appeared"):
        api.convert(SEED_H5, out)
    assert out.read_bytes() == b"the other run's model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


def test_external_data_that_appears_during_conversion_is_not_replaced(tmp_path, monkeypatch):
    out = tmp_path / "model.onnx"
    data = tmp_path / "model.onnx.data"
    # onnxruntime's run: once the staged pair is written (the reference may run earlier,
    # while it is written, and then the data file is refused as already there).
    original = api.compare_onnx

    def meanwhile(*args, **kwargs):
        data.write_bytes(b"the other run's weights")
        return original(*args, **kwargs)

    monkeypatch.setattr(api, "compare_onnx", meanwhile)
    with pytest.raises(OutputPathError, match="appeared"):
        api.convert(BIG, out, external_data=True)
    assert data.read_bytes() == b"the other run's weights"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx.data"]


def test_external_data_on_a_model_with_only_small_tensors(tmp_path):
    out = tmp_path / "seed.onnx"
    result = run("convert", str(SEED_H5), "-o", str(out), "--external-data")
    assert result.exit_code == 0, result.output
    assert out.is_file()
    assert {p.name for p in tmp_path.iterdir()} <= {"seed.onnx", "seed.onnx.data"}


def test_external_data_rerun_with_force_in_the_output_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        result = run("convert", str(BIG), "-o", "w.onnx", "--external-data", "--force")
        assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.onnx", "w.onnx.data"]


def test_external_data_ignores_a_same_named_file_in_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "w.onnx.data").write_bytes(b"unrelated")
    (tmp_path / "out").mkdir()
    result = run("convert", str(BIG), "-o", "out/w.onnx", "--external-data")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "w.onnx.data").read_bytes() == b"unrelated"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["w.onnx", "w.onnx.data"]


def test_external_data_file_gets_the_same_mode_as_the_model(tmp_path):
    out = tmp_path / "m.onnx"
    old = os.umask(0o022)
    try:
        assert run("convert", str(BIG), "-o", str(out), "--external-data").exit_code == 0
    finally:
        os.umask(old)
    mode = stat.S_IMODE(os.stat(out).st_mode)
    assert mode == 0o644
    assert stat.S_IMODE(os.stat(tmp_path / "m.onnx.data").st_mode) == mode


@pytest.mark.parametrize("external", [False, True])
def test_file_size_limit_is_a_clean_refusal(tmp_path, external):
    """A full disk (here EFBIG from a file-size limit) is exit 2, one line, nothing left."""
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))\n"
        "from lstm_convert.cli import main\n"
        "main()\n"
    )
    args = ["convert", str(BIG), "-o", str(out_dir / "m.onnx")]
    if external:
        args.append("--external-data")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "cannot write" in lines[0]
    assert list(out_dir.iterdir()) == []


def test_read_only_folder_is_a_clean_refusal(tmp_path, monkeypatch):
    import errno
    import tempfile

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    monkeypatch.setattr(tempfile, "mkdtemp", read_only)
    for extra in ([], ["--external-data"]):
        result = run("convert", str(BIG), "-o", str(tmp_path / "m.onnx"), *extra)
        assert_one_line_error(result, expect="read-only")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder_permissions(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        result = run("convert", str(SEED_H5), "-o", str(folder / "m.onnx"))
        assert_one_line_error(result)
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)
