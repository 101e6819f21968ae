"""Arrays that are made piece by piece as they are written, never whole.

A big model's ONNX weights are its Keras weights transposed and reordered. Making them
as arrays touches a weights' size of fresh memory, which costs more than the copy itself
on some machines (docs/benchmarks.md, "convert against the I/O floor"). A
:class:`StreamedArray` instead describes such an array (its shape, dtype and sources) and
hands it out in contiguous pieces, each made in one small reused buffer just before the
writer appends it to the file (export/serialize.py). ``np.asarray`` still gives the whole
array, for the callers that want one (explain, external data, ``ExportResult.model``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

# The reused buffer each streamed array is made in, piece by piece (bytes).
STREAM_BUFFER_BYTES = 1 << 20


def stream_buffer() -> np.ndarray:
    """One buffer for :meth:`StreamedArray.pieces` (reuse it across arrays)."""
    return np.empty(STREAM_BUFFER_BYTES, dtype=np.uint8)


class StreamedArray(ABC):
    """An array given out in contiguous pieces, in C order."""

    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

    @abstractmethod
    def pieces(self, buffer: np.ndarray) -> Iterator[np.ndarray]:
        """The array's elements in C order, as C-contiguous pieces. A piece made here
        is a view of ``buffer`` (bytes) and holds only until the next one is asked for."""

    @abstractmethod
    def materialize(self) -> np.ndarray:
        """The whole array, in new memory."""

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        array = self.materialize()
        return array if dtype is None else array.astype(dtype, copy=False)


class RowStreamed(StreamedArray):
    """A 2-D array whose pieces are a few whole rows, made by :meth:`fill_rows`."""

    @abstractmethod
    def fill_rows(self, start: int, stop: int, out: np.ndarray) -> None:
        """Write rows ``start:stop`` into ``out`` (shape ``(stop - start, columns)``)."""

    def pieces(self, buffer: np.ndarray) -> Iterator[np.ndarray]:
        rows, columns = self.shape
        per_piece = max(1, buffer.nbytes // max(1, columns * self.dtype.itemsize))
        if columns * self.dtype.itemsize > buffer.nbytes:
            buffer = np.empty(columns * self.dtype.itemsize, np.uint8)  # one row, at least
        for start in range(0, rows, per_piece):
            stop = min(rows, start + per_piece)
            count = (stop - start) * columns
            out = buffer[: count * self.dtype.itemsize].view(self.dtype).reshape(-1, columns)
            self.fill_rows(start, stop, out)
            yield out

    def materialize(self) -> np.ndarray:
        out = np.empty(self.shape, dtype=self.dtype)
        self.fill_rows(0, self.shape[0], out)
        return out


@dataclass(frozen=True, eq=False)
class Stacked(StreamedArray):
    """``np.stack(parts)``: a Bidirectional layer's two directions on a leading axis
    (or one direction given that axis), without the stacked copy."""

    parts: tuple[np.ndarray | StreamedArray, ...]

    def __post_init__(self) -> None:
        shapes = {tuple(part.shape) for part in self.parts}
        dtypes = {np.dtype(part.dtype) for part in self.parts}
        if len(shapes) != 1 or len(dtypes) != 1:
            raise ValueError(f"cannot stack arrays of shapes {shapes} and dtypes {dtypes}")

    @property
    def shape(self) -> tuple[int, ...]:  # type: ignore[override]
        return (len(self.parts), *self.parts[0].shape)

    @property
    def dtype(self) -> np.dtype:  # type: ignore[override]
        return np.dtype(self.parts[0].dtype)

    def pieces(self, buffer: np.ndarray) -> Iterator[np.ndarray]:
        for part in self.parts:
            if isinstance(part, StreamedArray):
                yield from part.pieces(buffer)
            else:
                yield np.ascontiguousarray(part)

    def materialize(self) -> np.ndarray:
        return np.stack([np.asarray(part) for part in self.parts])
