"""Keras -> ONNX weight remapping: gate orders and the bias split, as pure functions.

Keras stores a recurrent layer's kernel as ``(input, gates*units)`` with its gate
blocks side by side; ONNX wants ``W[dir, gates*units, input]`` (a transpose) with
its own gate order. Each permutation below reads "ONNX gate k comes from Keras gate
perm[k]"; the gate orders themselves are declared once, in ``families.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

import numpy as np

from .defaults import BIAS_SPLITS
from .streamed import RowStreamed

if TYPE_CHECKING:
    from .families import LayerBiases

BiasSplit = Literal["wb", "rb", "half"]  # defaults.BIAS_SPLITS


def gate_index(perm: tuple[int, ...], units: int) -> np.ndarray:
    """Row indices that reorder blocks of ``units`` rows from Keras to ONNX gate order."""
    return np.concatenate([np.arange(g * units, (g + 1) * units) for g in perm])


# remap_kernel transposes in square tiles of this many elements a side: a 256x256 float32
# tile (256 KiB read, 256 KiB written) stays in cache, where whole-row strides would not.
TRANSPOSE_TILE = 256


def remap_rows(
    kernel: np.ndarray, perm: tuple[int, ...], units: int, start: int, stop: int, out: np.ndarray
) -> None:
    """Rows ``start:stop`` of ``remap_kernel(kernel, perm, units)``, written into ``out``.

    Each gate block is transposed straight into its place, tile by tile (a fancy index
    over the transposed view would copy twice: gather, then transpose).
    """
    inputs = kernel.shape[0]
    tile = TRANSPOSE_TILE
    row = start
    while row < stop:
        onnx_gate, within = divmod(row, units)
        rows = min(tile, units - within, stop - row)
        source = perm[onnx_gate] * units + within
        target = row - start
        for col in range(0, inputs, tile):
            block = kernel[col : col + tile, source : source + rows]
            out[target : target + rows, col : col + tile] = block.T
        row += rows


def remap_kernel(kernel: np.ndarray, perm: tuple[int, ...], units: int) -> np.ndarray:
    """Keras ``(in, G*u)`` -> ONNX ``[G*u, in]`` in ONNX gate order, copied once."""
    kernel = np.asarray(kernel)
    out = np.empty((len(perm) * units, kernel.shape[0]), dtype=np.float32)
    remap_rows(kernel, perm, units, 0, len(out), out)
    return out


@dataclass(frozen=True, eq=False)
class RemappedKernel(RowStreamed):
    """``remap_kernel(kernel, perm, units)`` (with ``columns`` appended on the right),
    made a few rows at a time as it is written: no weight-sized ONNX array.
    ``np.asarray`` makes the whole array."""

    kernel: np.ndarray  # Keras layout (in, G*u), kept as it is
    perm: tuple[int, ...]
    units: int
    columns: np.ndarray | None = None  # [G*u, k] float32, e.g. recurrent.hold_on_padding's

    @property
    def shape(self) -> tuple[int, int]:  # type: ignore[override]
        extra = 0 if self.columns is None else self.columns.shape[1]
        return (len(self.perm) * self.units, self.kernel.shape[0] + extra)

    @property
    def dtype(self) -> np.dtype:  # type: ignore[override]
        return np.dtype(np.float32)

    def fill_rows(self, start: int, stop: int, out: np.ndarray) -> None:
        inputs = self.kernel.shape[0]
        remap_rows(self.kernel, self.perm, self.units, start, stop, out[:, :inputs])
        if self.columns is not None:
            out[:, inputs:] = self.columns[start:stop]


def append_columns(
    matrix: np.ndarray | RemappedKernel, columns: np.ndarray
) -> np.ndarray | RemappedKernel:
    """``np.concatenate([matrix, columns], axis=1)``, still deferred for a deferred kernel."""
    if isinstance(matrix, RemappedKernel):
        if matrix.columns is not None:
            columns = np.concatenate([matrix.columns, columns], axis=1)
        return replace(matrix, columns=np.asarray(columns, dtype=np.float32))
    return np.concatenate([matrix, columns], axis=1)


# A remapped kernel: made now, or made as it is written.
Kernel = np.ndarray | RemappedKernel


def remap_bias(bias: np.ndarray, perm: tuple[int, ...], units: int) -> np.ndarray:
    return np.asarray(bias, dtype=np.float32)[gate_index(perm, units)]


def split_bias(onnx_bias: np.ndarray, split: BiasSplit) -> tuple[np.ndarray, np.ndarray]:
    """Divide one combined bias into (Wb, Rb). ONNX adds Wb + Rb, so every split is exact."""
    zeros = np.zeros_like(onnx_bias)
    if split == "wb":
        return onnx_bias, zeros
    if split == "rb":
        return zeros, onnx_bias
    if split == "half":
        half = onnx_bias * np.float32(0.5)
        return half, onnx_bias - half
    raise ValueError(f"bias split must be one of {BIAS_SPLITS}, not {split!r}")


def remap_direction(
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    input_bias: np.ndarray | None,
    recurrent_bias: np.ndarray | None,
    perm: tuple[int, ...],
    units: int,
    deferred: bool = False,
) -> tuple[Kernel, Kernel, np.ndarray]:
    """One direction: (W, R, B) without the leading direction axis.

    ``input_bias`` goes to Wb and ``recurrent_bias`` to Rb, each in Keras gate order;
    either may be None (zeros). ``deferred`` gives W and R as :class:`RemappedKernel`,
    made only as they are written (or read with ``np.asarray``).
    """
    gates = len(perm)
    remap = RemappedKernel if deferred else remap_kernel
    w = remap(np.asarray(kernel), perm, units)
    r = remap(np.asarray(recurrent_kernel), perm, units)
    zeros = np.zeros(gates * units, dtype=np.float32)
    wb = zeros if input_bias is None else remap_bias(input_bias, perm, units)
    rb = zeros if recurrent_bias is None else remap_bias(recurrent_bias, perm, units)
    return w, r, np.concatenate([wb, rb])


def remap_layer(
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    biases: LayerBiases,
    perm: tuple[int, ...],
    units: int,
    split: BiasSplit = "wb",
    deferred: bool = False,
) -> tuple[Kernel, Kernel, np.ndarray]:
    """One direction of a recurrent layer whose bias ``families`` has read.

    One Keras bias is divided into (Wb, Rb) by ``split``; two genuine biases go to Wb
    and Rb as they are; no bias gives zeros. ``deferred``: see ``remap_direction``.
    """
    if biases.kind == "single":
        wb, rb = split_bias(np.asarray(biases.input, dtype=np.float32), split)
        return remap_direction(kernel, recurrent_kernel, wb, rb, perm, units, deferred)
    input_bias, recurrent_bias = biases.input, biases.recurrent
    return remap_direction(
        kernel, recurrent_kernel, input_bias, recurrent_bias, perm, units, deferred
    )
