"""Write an ONNX model with each weight buffer copied exactly once.

Building TensorProtos and serializing the ModelProto copies every weight several times
(numpy to bytes, bytes into the message, the message into the graph and model, the
model to a string). Instead we serialize the weightless graph with onnx and append each
initializer as a protobuf field whose ``raw_data`` is the numpy buffer itself, or, for a
remapped kernel (``streamed.py``), its pieces as they are made in one small buffer. The
result is one ordinary ``graph`` field holding all its initializers: protobuf readers
accept a message's fields in any order, and ``onnx.load`` gives the same ModelProto.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO

import numpy as np
import onnx
from onnx import numpy_helper

from ..streamed import StreamedArray, stream_buffer
from ..threads import configured_threads, cpu_count

Array = np.ndarray | StreamedArray

MODEL_GRAPH_FIELD = 7  # ModelProto.graph
GRAPH_INITIALIZER_FIELD = 5  # GraphProto.initializer
TENSOR_RAW_DATA_FIELD = 9  # TensorProto.raw_data
LENGTH_DELIMITED = 2
# At most this many threads make a streamed array's pieces while it is written.
MAX_PIECE_MAKERS = 2


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field_prefix(field: int, length: int) -> bytes:
    return _varint(field << 3 | LENGTH_DELIMITED) + _varint(length)


def _tensor_header(name: str, array: Array) -> bytes:
    header = onnx.TensorProto(name=name, dims=list(array.shape))
    header.data_type = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(array.dtype))
    return header.SerializeToString()


def _little_endian(array: np.ndarray) -> np.ndarray:
    # ONNX raw_data is little-endian; so is every platform onnxruntime ships for.
    if sys.byteorder != "little" or array.dtype.byteorder == ">":
        return array.astype(array.dtype.newbyteorder("<"))
    return array


def _raw_bytes(array: np.ndarray) -> memoryview:
    array = np.ascontiguousarray(_little_endian(array)) if array.ndim else _little_endian(array)
    return memoryview(array.reshape(-1)).cast("B")


def _initializer_pieces(name: str, array: Array) -> tuple[bytes, memoryview | StreamedArray]:
    """The protobuf bytes before the tensor's data, and the data: a buffer, or a
    streamed array whose pieces are written one by one."""
    body = array if isinstance(array, StreamedArray) else _raw_bytes(array)
    header = _tensor_header(name, array)
    raw_prefix = _field_prefix(TENSOR_RAW_DATA_FIELD, body.nbytes)
    tensor_length = len(header) + len(raw_prefix) + body.nbytes
    prefix = _field_prefix(GRAPH_INITIALIZER_FIELD, tensor_length) + header + raw_prefix
    return prefix, body


def _write_body(
    handle: BinaryIO,
    body: memoryview | StreamedArray,
    makers: ThreadPoolExecutor | None,
    buffers: list[np.ndarray],
) -> None:
    """A buffer as it is; a streamed array piece by piece. With ``makers``, each of its
    threads makes a coming piece in a buffer of its own while this one is written (the
    copies and the writes let go of the GIL)."""
    if isinstance(body, memoryview):
        handle.write(body)
        return
    pieces = enumerate(body.makers(buffers[0].nbytes))
    if makers is None:
        for _, make in pieces:
            handle.write(_raw_bytes(make(buffers[0])))
        return
    making: deque[Future[np.ndarray]] = deque()

    def make_next() -> None:
        for index, make in itertools.islice(pieces, 1):
            # Buffer of piece i: i % n. While piece i is written, pieces up to i + n - 1
            # are being made, in the other n - 1 buffers.
            making.append(makers.submit(make, buffers[index % len(buffers)]))

    for _ in range(len(buffers) - 1):
        make_next()
    while making:
        piece = making.popleft().result()
        handle.write(_raw_bytes(piece))
        make_next()


def piece_makers() -> int:
    """Threads that make streamed pieces while the file is written: two, within the
    process's thread budget (lstm_convert.threads); one means the writer makes them."""
    return min(MAX_PIECE_MAKERS, configured_threads() or cpu_count())


def _metadata_offsets(header: bytes, skeleton: onnx.ModelProto, keys: list[str]) -> dict[str, int]:
    """Where in ``header`` (the serialized model without its graph) the value of each
    ``metadata_props`` entry named in ``keys`` starts."""
    offsets = {}
    for prop in skeleton.metadata_props:
        if prop.key in keys:
            entry = onnx.StringStringEntryProto(key=prop.key, value=prop.value).SerializeToString()
            if header.count(entry) != 1:
                raise ValueError(f"metadata entry {prop.key!r} is not unique in the model header")
            offsets[prop.key] = header.index(entry) + len(entry) - len(prop.value.encode())
    return offsets


def _fill_in(
    handle: BinaryIO, skeleton: onnx.ModelProto, header: bytes, values: dict[str, str]
) -> None:
    """Write ``values`` over their same-length placeholders in the written header."""
    offsets = _metadata_offsets(header, skeleton, list(values))
    placeholders = {prop.key: prop.value for prop in skeleton.metadata_props}
    for key, value in values.items():
        if len(value.encode()) != len(placeholders[key].encode()):
            raise ValueError(f"metadata {key!r}: the value and its placeholder differ in length")
        handle.seek(offsets[key])
        handle.write(value.encode())


def write_model(
    path: str | os.PathLike[str],
    skeleton: onnx.ModelProto,
    initializers: list[tuple[str, Array]],
    fill_in: Callable[[], dict[str, str]] | None = None,
    piece_threads: int | None = None,
    sync: bool = True,
) -> None:
    """Serialize ``skeleton`` plus ``initializers`` to ``path`` and fsync it (unless
    ``sync`` is false: the caller syncs it later, see :func:`sync_file`). A streamed
    initializer is made piece by piece in small reused buffers as it is appended, by
    ``piece_threads`` threads (default :func:`piece_makers`; 1: the writer itself).

    ``fill_in``, called once the weights are written, gives ``metadata_props`` values
    known only then (the input's hash): each is written over its placeholder, a value
    of the same length already in ``skeleton``, so the file is byte for byte the one
    ``skeleton`` holding the values from the start would give.
    """
    without_graph = onnx.ModelProto()
    without_graph.CopyFrom(skeleton)
    without_graph.ClearField("graph")
    graph = skeleton.graph.SerializeToString()
    pieces = [_initializer_pieces(name, array) for name, array in initializers]
    graph_length = len(graph) + sum(len(prefix) + body.nbytes for prefix, body in pieces)
    threads = piece_threads or piece_makers()
    if not any(isinstance(body, StreamedArray) for _, body in pieces):
        threads = 1
    makers = ThreadPoolExecutor(threads, "lstm-convert-remap") if threads > 1 else None
    buffers = [stream_buffer() for _ in range(threads + 1 if makers else 1)]
    header = without_graph.SerializeToString()
    try:
        with open(path, "wb") as handle:
            handle.write(header)
            handle.write(_field_prefix(MODEL_GRAPH_FIELD, graph_length))
            handle.write(graph)
            for prefix, body in pieces:
                handle.write(prefix)
                _write_body(handle, body, makers, buffers)
            if fill_in is not None:
                _fill_in(handle, without_graph, header, fill_in())
            handle.flush()
            if sync:
                os.fsync(handle.fileno())
    finally:
        if makers is not None:
            makers.shutdown(cancel_futures=True)


def full_model(
    skeleton: onnx.ModelProto, initializers: Iterable[tuple[str, Array]]
) -> onnx.ModelProto:
    """The same model as one ModelProto in memory (for callers that want the message).
    Each streamed initializer is made whole in turn, copied in, and let go."""
    model = onnx.ModelProto()
    model.CopyFrom(skeleton)
    model.graph.initializer.extend(
        numpy_helper.from_array(np.asarray(array), name) for name, array in initializers
    )
    return model


def sync_file(path: str | os.PathLike[str]) -> None:
    """fsync a file written earlier without it."""
    with open(path, "r+b") as handle:
        os.fsync(handle.fileno())


def append_metadata(path: str | os.PathLike[str], entries: dict[str, str]) -> None:
    """Add ``metadata_props`` entries to a written model file, in place and fsynced.

    A repeated protobuf field may occur anywhere in a message, and readers append every
    occurrence in order: the appended bytes are exactly those entries serialized alone.
    So the file checked by onnxruntime gets the check's own outcome without being
    serialized again (and without its weights being copied: external data or not).
    """
    extra = onnx.ModelProto()
    for key, value in entries.items():
        extra.metadata_props.add(key=key, value=value)
    with open(path, "ab") as handle:
        handle.write(extra.SerializeToString())
        handle.flush()
        os.fsync(handle.fileno())
