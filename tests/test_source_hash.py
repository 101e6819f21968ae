"""The input's SHA-256 is taken in a background thread while `convert` reads and builds
the model (export/interface.py, ``background_source_metadata``): same values as hashing
the whole file, the same errors as before, and no thread left behind."""

from __future__ import annotations

import hashlib
import threading

import numpy as np
import onnx
import pytest
from conftest import SAMPLES

from lstm_convert import api
from lstm_convert.errors import InternalError
from lstm_convert.export import interface, serialize


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name == "lstm-convert-sha256"}


@pytest.mark.parametrize("size", [0, 1, interface.HASH_BLOCK - 1, 2 * interface.HASH_BLOCK + 7])
def test_file_sha256_matches_hashlib_on_block_edges(tmp_path, size):
    path = tmp_path / "f.bin"
    path.write_bytes(bytes((i * 7 + 3) % 251 for i in range(size)))
    assert interface.file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_background_values_are_source_metadata_s(tmp_path):
    source = SAMPLES / "text_classifier.keras"
    config = tmp_path / "c.json"
    config.write_text("{}")
    with interface.background_source_metadata(source, config) as pending:
        values = pending.result()
    assert values == interface.source_metadata(source, config)
    assert values["source_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert not _threads()


def test_an_error_in_the_thread_is_raised_by_result_as_it_was(tmp_path):
    missing = tmp_path / "missing.h5"
    with pytest.raises(FileNotFoundError) as direct:
        interface.source_metadata(missing, None)
    pending = interface.background_source_metadata(missing, None)
    with pending, pytest.raises(FileNotFoundError) as background:
        pending.result()
    assert str(background.value) == str(direct.value)


def test_leaving_early_stops_the_reading(tmp_path, monkeypatch):
    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * (4 * interface.HASH_BLOCK))
    blocks: list[int] = []
    pending = interface.background_source_metadata(path, None)

    class HeldDigest:
        """Holds its first block until the block is left (the cancel is set)."""

        def __init__(self):
            self._digest = hashlib.sha256()

        def update(self, data):
            blocks.append(len(data))
            assert pending.cancel.wait(5)
            self._digest.update(data)

        def hexdigest(self):
            return self._digest.hexdigest()

    monkeypatch.setattr(interface.hashlib, "sha256", HeldDigest)
    with pending:
        pending.start()
    assert len(blocks) <= 1  # of four: cancelled before or after its first block
    assert not _threads()


def test_convert_surfaces_a_hashing_error_unchanged(tmp_path, monkeypatch):
    def broken(path, cancel=None):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(interface, "file_sha256", broken)
    # As before the hash moved to a thread: not an input error, a bug (exit 3).
    with pytest.raises(InternalError, match=r"PermissionError: \[Errno 13\] Permission denied"):
        api.convert(SAMPLES / "text_classifier.keras", tmp_path / "m.onnx", verify=False)
    assert not (tmp_path / "m.onnx").exists()
    assert not _threads()


def test_the_hash_is_written_in_once_the_weights_are(tmp_path, monkeypatch):
    """The file is written while the hash is still being taken (each waits for the other
    to have started), and the hash lands where it would have been from the start."""
    from lstm_convert.export import ExportResult

    writing = threading.Event()
    real_hash, real_write = interface.file_sha256, ExportResult.write

    def slow_hash(path, cancel=None):
        assert writing.wait(10), "the file was not written before the hash was done"
        return real_hash(path, cancel)

    def write(self, path, *args, **kwargs):
        writing.set()
        real_write(self, path, *args, **kwargs)

    monkeypatch.setattr(interface, "file_sha256", slow_hash)
    monkeypatch.setattr(ExportResult, "write", write)
    source = SAMPLES / "seed_lstm.h5"
    out = tmp_path / "m.onnx"
    api.convert(source, out)
    meta = {p.key: p.value for p in onnx.load(out).metadata_props}
    assert meta["source_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()


def test_filled_in_metadata_gives_the_bytes_of_a_known_value(tmp_path):
    def model(value: str) -> onnx.ModelProto:
        proto = onnx.helper.make_model(onnx.helper.make_graph([], "g", [], []))
        interface.add_metadata(proto, {"source_file": "m.h5", "source_sha256": value})
        interface.add_metadata(proto, {"parity": "not verified"})
        return proto

    real = hashlib.sha256(b"weights").hexdigest()
    weights = [("W", np.arange(6, dtype=np.float32).reshape(2, 3))]
    serialize.write_model(tmp_path / "a.onnx", model(real), weights)
    pending = model(interface.PENDING_SHA256)
    serialize.write_model(tmp_path / "b.onnx", pending, weights, lambda: {"source_sha256": real})
    assert (tmp_path / "b.onnx").read_bytes() == (tmp_path / "a.onnx").read_bytes()
    with pytest.raises(ValueError, match="differ in length"):
        serialize.write_model(
            tmp_path / "c.onnx", pending, weights, lambda: {"source_sha256": "ab"}
        )


def test_the_hash_thread_starts_after_the_forked_probe(tmp_path, monkeypatch):
    """load's read probe forks; no thread of ours may be running then."""
    running_at_probe = []
    real_probe = api.probe

    def probe(*args, **kwargs):
        running_at_probe.append(_threads())
        return real_probe(*args, **kwargs)

    monkeypatch.setattr(api, "probe", probe)
    api.convert(SAMPLES / "seed_lstm.h5", tmp_path / "m.onnx")
    assert running_at_probe and running_at_probe[0] == set()
