"""HDF5 features that reach outside the named file are refused before any data is read.

External storage, external links, soft links and virtual datasets let a model file pull
bytes from another file (``/etc/passwd``, ``secret.txt`` in the current folder, a device
or a FIFO). Keras writes none of them. Each must be refused with exit 2, one stderr line,
no output, and without a single byte of the foreign file reaching any output.
"""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import SAMPLES
from test_hostile import assert_refused
from typer.testing import CliRunner

from lstm_convert.cli import app

SEED_H5 = SAMPLES / "seed_lstm.h5"
SEED_KERAS = SAMPLES / "seed_lstm.keras"
KERNEL = "model_weights/lstm/lstm/lstm_cell/kernel:0"
SECRET = b"TOPSECRET-" * 64


def _external_kernel(h5file: h5py.File, kernel_path: str, target: str) -> None:
    """Replace the kernel with a same-shaped dataset whose bytes live in ``target``."""
    shape, dtype = h5file[kernel_path].shape, h5file[kernel_path].dtype
    nbytes = int(np.prod(shape)) * dtype.itemsize
    del h5file[kernel_path]
    h5file.create_dataset(kernel_path, shape=shape, dtype=dtype, external=[(target, 0, nbytes)])


def _h5_with_external_kernel(tmp_path: Path, target: str) -> Path:
    path = tmp_path / "model.h5"
    shutil.copy(SEED_H5, path)
    with h5py.File(path, "r+") as h5file:
        _external_kernel(h5file, KERNEL, target)
    return path


def _keras_with_external_kernel(tmp_path: Path, target: str) -> Path:
    with zipfile.ZipFile(SEED_KERAS) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    buffer = io.BytesIO(members["model.weights.h5"])
    with h5py.File(buffer, "r+") as h5file:
        kernel = next(
            name for name in _all_datasets(h5file) if name.endswith("vars/0") and "lstm" in name
        )
        _external_kernel(h5file, kernel, target)
    members["model.weights.h5"] = buffer.getvalue()
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _all_datasets(h5file: h5py.File) -> list[str]:
    names: list[str] = []
    h5file.visititems(
        lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None
    )
    return names


def _assert_no_secret_anywhere(tmp_path: Path) -> None:
    for file in tmp_path.rglob("*"):
        if file.is_file() and file.suffix not in {".h5", ".keras", ".txt"}:
            assert b"TOPSECRET" not in file.read_bytes(), file


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_bytes(SECRET)
    return path


@pytest.mark.parametrize("build", [_h5_with_external_kernel, _keras_with_external_kernel])
def test_external_storage_on_an_absolute_path_is_refused(tmp_path, secret, build):
    model = build(tmp_path, str(secret))
    message = assert_refused(model, tmp_path, expect="external file")
    assert "TOPSECRET" not in message
    _assert_no_secret_anywhere(tmp_path)


@pytest.mark.parametrize("build", [_h5_with_external_kernel, _keras_with_external_kernel])
def test_external_storage_relative_to_the_current_folder_is_refused(
    tmp_path, secret, build, monkeypatch
):
    model = build(tmp_path, "secret.txt")
    monkeypatch.chdir(tmp_path)
    assert_refused(model, tmp_path, expect="external file")
    _assert_no_secret_anywhere(tmp_path)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_external_storage_on_a_device_is_refused(tmp_path, device):
    if not os.path.exists(device):
        pytest.skip(f"{device} does not exist here")
    assert_refused(_h5_with_external_kernel(tmp_path, device), tmp_path, expect="external file")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_external_storage_on_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert_refused(_h5_with_external_kernel(tmp_path, str(fifo)), tmp_path, expect="external")


def test_external_link_to_another_hdf5_file_is_refused(tmp_path):
    other = tmp_path / "other.h5"
    shutil.copy(SEED_H5, other)
    path = tmp_path / "model.h5"
    shutil.copy(SEED_H5, path)
    with h5py.File(path, "r+") as h5file:
        del h5file["model_weights/lstm"]
        h5file["model_weights/lstm"] = h5py.ExternalLink(str(other), "/model_weights/lstm")
    assert_refused(path, tmp_path, expect="ExternalLink")


def test_soft_link_is_refused(tmp_path):
    path = tmp_path / "model.h5"
    shutil.copy(SEED_H5, path)
    with h5py.File(path, "r+") as h5file:
        h5file["model_weights/alias"] = h5py.SoftLink("/model_weights/lstm")
    assert_refused(path, tmp_path, expect="SoftLink")


def test_virtual_dataset_is_refused(tmp_path, secret):
    source = tmp_path / "source.h5"
    with h5py.File(source, "w") as h5file:
        h5file["data"] = np.frombuffer(SECRET[:48], dtype=np.float32).reshape(3, 4)
    path = tmp_path / "model.h5"
    shutil.copy(SEED_H5, path)
    with h5py.File(path, "r+") as h5file:
        shape = h5file[KERNEL].shape
        layout = h5py.VirtualLayout(shape=shape, dtype="f4")
        layout[:3, :4] = h5py.VirtualSource(str(source), "data", shape=(3, 4))
        del h5file[KERNEL]
        h5file.create_virtual_dataset(KERNEL, layout, fillvalue=0)
    assert_refused(path, tmp_path, expect="virtual")
    _assert_no_secret_anywhere(tmp_path)


def test_hard_link_cycle_does_not_loop(tmp_path):
    path = tmp_path / "model.h5"
    shutil.copy(SEED_H5, path)
    with h5py.File(path, "r+") as h5file:
        h5file["model_weights/lstm/lstm/back"] = h5file["model_weights"]
    result = CliRunner().invoke(
        app, ["convert", str(path), "-o", str(tmp_path / "m.onnx"), "--no-verify"]
    )
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("build", [_h5_with_external_kernel, _keras_with_external_kernel])
def test_explain_and_inspect_refuse_external_storage_too(tmp_path, secret, build):
    model = build(tmp_path, str(secret))
    for command in (["explain", str(model), "--numpy"], ["inspect", str(model)]):
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 2, result.output
        assert "TOPSECRET" not in result.output
        assert "external file" in result.stderr
