"""`convert` runs its check's NumPy reference in a thread while the file is written
(api.ParityCheck.reference_while_writing): the two really overlap, the reference's
errors come out as before, and no thread outlives the call."""

from __future__ import annotations

import threading

import pytest
from conftest import SAMPLES

from lstm_convert import api
from lstm_convert.errors import InputFileError
from lstm_convert.export import ExportResult


def _ours() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("lstm-convert-")]


def test_the_reference_runs_while_the_file_is_written(tmp_path, monkeypatch):
    # Each side waits for the other to have started: run one after the other, they time out.
    referencing, writing = threading.Event(), threading.Event()
    real_case, real_write = api.reference_case, ExportResult.write

    def reference_case(*args, **kwargs):
        referencing.set()
        assert writing.wait(10), "the file was not being written during the reference"
        return real_case(*args, **kwargs)

    def write(self, path, *args, **kwargs):
        writing.set()
        assert referencing.wait(10), "the reference did not run during the write"
        real_write(self, path, *args, **kwargs)

    monkeypatch.setattr(api, "reference_case", reference_case)
    monkeypatch.setattr(ExportResult, "write", write)
    result = api.convert(SAMPLES / "seed_lstm.h5", tmp_path / "m.onnx")
    assert result.status == "ok" and result.parity is not None and result.parity.passed
    assert not _ours()


def test_an_error_in_the_reference_is_raised_by_the_check(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise InputFileError("the model takes 1 inputs, 2 were given")

    monkeypatch.setattr(api, "reference_case", broken)
    out = tmp_path / "m.onnx"
    with pytest.raises(InputFileError, match="1 inputs, 2 were given"):
        api.convert(SAMPLES / "seed_lstm.h5", out)
    assert not out.exists() and list(tmp_path.iterdir()) == []
    assert not _ours()


def test_a_failed_write_waits_for_the_reference(tmp_path, monkeypatch):
    def full_disk(self, path, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ExportResult, "write", full_disk)
    with pytest.raises(api.ConvertError):
        api.convert(SAMPLES / "seed_lstm.h5", tmp_path / "m.onnx")
    assert not _ours()


def test_a_disk_full_while_syncing_during_the_check_is_the_output_s_error(tmp_path, monkeypatch):
    """With the check, the file is fsynced while onnxruntime loads it: a full disk then
    is still one clean output error, and nothing is left behind."""
    import errno

    from lstm_convert.errors import OutputPathError

    def full(path):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(api, "sync_file", full)
    out = tmp_path / "m.onnx"
    with pytest.raises(OutputPathError, match="No space left on device"):
        api.convert(SAMPLES / "seed_lstm.h5", out)
    assert list(tmp_path.iterdir()) == []
    assert not _ours()
