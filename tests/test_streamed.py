"""Remapped kernels made as they are written (remap.RemappedKernel, streamed.Stacked):
every piece lands where the one-line definition puts it, whatever the buffer size, and
`convert` writes the model without ever making a whole ONNX kernel."""

from __future__ import annotations

import threading

import numpy as np
import onnx
import pytest
from conftest import SAMPLES
from onnx import numpy_helper

from lstm_convert import api, streamed
from lstm_convert.export import serialize
from lstm_convert.remap import (
    TRANSPOSE_TILE,
    RemappedKernel,
    append_columns,
    gate_index,
    remap_kernel,
)
from lstm_convert.streamed import Stacked, StreamedArray


def _joined(array: StreamedArray, buffer_bytes: int) -> np.ndarray:
    buffer = np.empty(buffer_bytes, np.uint8)
    pieces = [piece.copy() for piece in array.pieces(buffer)]
    for piece in pieces:
        assert piece.dtype == array.dtype
    return np.concatenate([p.reshape(-1) for p in pieces]).reshape(array.shape)


def _kernel(inputs: int, gates: int, units: int, dtype=np.float64) -> np.ndarray:
    return np.arange(inputs * gates * units, dtype=dtype).reshape(inputs, -1) * 0.37


@pytest.mark.parametrize("buffer_bytes", [1, 4 * 7, 4 * 513 * 3, 1 << 20])
@pytest.mark.parametrize(
    "inputs, units, perm",
    [(7, 3, (0, 3, 1, 2)), (513, TRANSPOSE_TILE + 5, (0, 1, 2)), (TRANSPOSE_TILE, 300, (1, 0))],
)
def test_pieces_are_the_gate_index_of_the_transpose(inputs, units, perm, buffer_bytes):
    kernel = _kernel(inputs, len(perm), units)
    original = kernel.copy()
    deferred = RemappedKernel(kernel, perm, units)
    expected = kernel.T[gate_index(perm, units)].astype(np.float32)
    assert deferred.shape == expected.shape and deferred.nbytes == expected.nbytes
    np.testing.assert_array_equal(_joined(deferred, buffer_bytes), expected)
    np.testing.assert_array_equal(np.asarray(deferred), expected)
    np.testing.assert_array_equal(remap_kernel(kernel, perm, units), expected)
    np.testing.assert_array_equal(kernel, original)  # the Keras array is only read


def test_appended_columns_follow_each_row():
    kernel = _kernel(5, 4, 3)
    column = np.arange(12, dtype=np.float32).reshape(12, 1) + 1000
    made = remap_kernel(kernel, (0, 3, 1, 2), 3)
    deferred = append_columns(RemappedKernel(kernel, (0, 3, 1, 2), 3), column)
    twice = append_columns(deferred, column * 2)
    assert isinstance(twice, RemappedKernel) and twice.shape == (12, 7)
    expected = np.concatenate([made, column, column * 2], axis=1)
    np.testing.assert_array_equal(_joined(twice, 4 * 6), expected)
    np.testing.assert_array_equal(np.asarray(twice), expected)
    np.testing.assert_array_equal(append_columns(made, column), expected[:, :6])


def test_stacked_directions_are_np_stack():
    forward = RemappedKernel(_kernel(6, 3, 4), (1, 0, 2), 4)
    backward = RemappedKernel(_kernel(6, 3, 4) + 1, (1, 0, 2), 4)
    plain = np.asarray(backward) - 5
    for parts in [(forward,), (forward, backward), (forward, plain)]:
        stacked = Stacked(parts)
        expected = np.stack([np.asarray(p) for p in parts])
        assert stacked.shape == expected.shape and stacked.nbytes == expected.nbytes
        np.testing.assert_array_equal(_joined(stacked, 4 * 10), expected)
        np.testing.assert_array_equal(np.asarray(stacked), expected)
    with pytest.raises(ValueError, match="cannot stack"):
        Stacked((forward, RemappedKernel(_kernel(5, 3, 4), (1, 0, 2), 4)))


@pytest.mark.parametrize(
    "sample", ["text_classifier.keras", "bigru_stack.h5", "sequence_tagger.keras"]
)
def test_convert_never_makes_a_whole_onnx_kernel(tmp_path, monkeypatch, sample):
    """The written kernels come from the Keras arrays through the small buffer only;
    the file still holds exactly what ``np.asarray`` of each deferred kernel gives."""
    source = SAMPLES / sample
    exported = api.build_onnx(api.load(source), api.ConvertOptions())
    deferred = [name for name, a in exported.tensors if isinstance(a, StreamedArray)]
    assert deferred  # the recurrent kernels at least
    expected = dict(exported.initializers)

    def refuse(self):
        raise AssertionError("a whole ONNX kernel was made")

    monkeypatch.setattr(RemappedKernel, "materialize", refuse)
    out = tmp_path / "m.onnx"
    api.convert(source, out, verify=False)
    written = {t.name: numpy_helper.to_array(t) for t in onnx.load(out).graph.initializer}
    for name in deferred:
        np.testing.assert_array_equal(written[name], expected[name])


def _skeleton() -> onnx.ModelProto:
    graph = onnx.helper.make_graph([], "g", [], [])
    return onnx.helper.make_model(graph)


@pytest.mark.parametrize("threads", [1, 2])
def test_pieces_made_ahead_by_threads_are_written_in_order(tmp_path, monkeypatch, threads):
    """Many pieces (a 64-float buffer), made by ``threads`` makers: the bytes are those
    of the whole arrays, whatever thread made which piece."""
    monkeypatch.setattr(streamed, "STREAM_BUFFER_BYTES", 4 * 64)
    monkeypatch.setenv("LSTM_CONVERT_THREADS", str(threads))
    assert serialize.piece_makers() == threads
    w = RemappedKernel(_kernel(24, 4, 30), (0, 3, 1, 2), 30)
    r = Stacked((w, RemappedKernel(_kernel(24, 4, 30) - 3, (1, 0, 3, 2), 30)))
    arrays = [("W", w), ("bias", np.arange(5, dtype=np.float32)), ("R", r)]
    out = tmp_path / "m.onnx"
    serialize.write_model(out, _skeleton(), arrays)
    written = {t.name: numpy_helper.to_array(t) for t in onnx.load(out).graph.initializer}
    for name, array in arrays:
        np.testing.assert_array_equal(written[name], np.asarray(array))
    expected = serialize.full_model(_skeleton(), arrays)
    assert onnx.load_from_string(out.read_bytes()) == expected
    assert len(out.read_bytes()) == len(expected.SerializeToString())
    assert not [t for t in threading.enumerate() if t.name.startswith("lstm-convert-remap")]


def test_an_error_while_making_a_piece_is_raised_by_the_writer(tmp_path, monkeypatch):
    monkeypatch.setattr(streamed, "STREAM_BUFFER_BYTES", 4 * 64)
    monkeypatch.setenv("LSTM_CONVERT_THREADS", "2")

    class Broken(RemappedKernel):
        def fill_rows(self, start, stop, out):
            if start > 40:
                raise MemoryError("no room for piece")
            super().fill_rows(start, stop, out)

    broken = Broken(_kernel(24, 4, 30), (0, 3, 1, 2), 30)
    with pytest.raises(MemoryError, match="no room for piece"):
        serialize.write_model(tmp_path / "m.onnx", _skeleton(), [("W", broken)])
    assert not [t for t in threading.enumerate() if t.name.startswith("lstm-convert-remap")]


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_all_finite_sees_every_nan_and_inf_even_when_the_sum_overflows(dtype):
    big = np.finfo(dtype).max
    array = np.full(1000, big / 4, dtype=dtype)  # finite, but its sum overflows
    assert api.all_finite(array)
    for bad in (np.nan, np.inf, -np.inf):
        broken = array.copy()
        broken[537] = bad
        assert not api.all_finite(broken)
        small = np.ones((3, 4), dtype)
        small[2, 1] = bad
        assert not api.all_finite(small)
    both = np.ones(10, dtype)
    both[[2, 7]] = (np.inf, -np.inf)
    assert not api.all_finite(both)
