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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

import numpy as np

# The reused buffer each streamed array is made in, piece by piece (bytes).
STREAM_BUFFER_BYTES = 1 << 20


# Makes one piece of a streamed array in the buffer it is given; returns the piece.
PieceMaker = Callable[[np.ndarray], np.ndarray]


def _whole(array: np.ndarray, buffer: np.ndarray) -> np.ndarray:
    """A plain array is its own single piece."""
    return np.ascontiguousarray(array)


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
    def makers(self, buffer_bytes: int) -> Iterator[PieceMaker]:
        """The array's elements in C order, as the makers of C-contiguous pieces of about
        ``buffer_bytes`` each: ``maker(buffer)`` fills a view of ``buffer`` (bytes) and
        returns it (or returns an array of its own). Makers are independent: a writer
        may make the next piece in another buffer while it writes this one."""

    def pieces(self, buffer: np.ndarray) -> Iterator[np.ndarray]:
        """The pieces one after the other, each made in ``buffer`` (valid until the next)."""
        for make in self.makers(buffer.nbytes):
            yield make(buffer)

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

    def makers(self, buffer_bytes: int) -> Iterator[PieceMaker]:
        rows, columns = self.shape
        per_piece = max(1, buffer_bytes // max(1, columns * self.dtype.itemsize))
        for start in range(0, rows, per_piece):
            yield partial(self._piece, start, min(rows, start + per_piece))

    def _piece(self, start: int, stop: int, buffer: np.ndarray) -> np.ndarray:
        columns = self.shape[1]
        size = (stop - start) * columns * self.dtype.itemsize
        if size > buffer.nbytes:
            buffer = np.empty(size, np.uint8)  # a row longer than the buffer
        out = buffer[:size].view(self.dtype).reshape(stop - start, columns)
        self.fill_rows(start, stop, out)
        return out

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

    def makers(self, buffer_bytes: int) -> Iterator[PieceMaker]:
        for part in self.parts:
            if isinstance(part, StreamedArray):
                yield from part.makers(buffer_bytes)
            else:
                yield partial(_whole, part)

    def materialize(self) -> np.ndarray:
        return np.stack([np.asarray(part) for part in self.parts])
