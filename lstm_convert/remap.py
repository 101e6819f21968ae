"""Keras -> ONNX weight remapping: gate orders and the bias split, as pure functions.

Keras stores a recurrent layer's kernel as ``(input, gates*units)`` with its gate
blocks side by side; ONNX wants ``W[dir, gates*units, input]`` (a transpose) with
its own gate order. Each permutation below reads "ONNX gate k comes from Keras gate
perm[k]"; the gate orders themselves are declared once, in ``families.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

from .defaults import BIAS_SPLITS

if TYPE_CHECKING:
    from .families import LayerBiases

BiasSplit = Literal["wb", "rb", "half"]  # defaults.BIAS_SPLITS


def gate_index(perm: tuple[int, ...], units: int) -> np.ndarray:
    """Row indices that reorder blocks of ``units`` rows from Keras to ONNX gate order."""
    return np.concatenate([np.arange(g * units, (g + 1) * units) for g in perm])


# remap_kernel transposes in square tiles of this many elements a side: a 256x256 float32
# tile (256 KiB read, 256 KiB written) stays in cache, where whole-row strides would not.
TRANSPOSE_TILE = 256


def remap_kernel(kernel: np.ndarray, perm: tuple[int, ...], units: int) -> np.ndarray:
    """Keras ``(in, G*u)`` -> ONNX ``[G*u, in]`` in ONNX gate order, copied once.

    Each gate block is transposed straight into its place in a new array, tile by tile
    (a fancy index over the transposed view would copy twice: gather, then transpose).
    """
    kernel = np.asarray(kernel)
    inputs = kernel.shape[0]
    out = np.empty((len(perm) * units, inputs), dtype=np.float32)
    tile = TRANSPOSE_TILE
    for onnx_gate, keras_gate in enumerate(perm):
        for row in range(0, units, tile):
            rows = min(tile, units - row)
            source = keras_gate * units + row
            target = onnx_gate * units + row
            for col in range(0, inputs, tile):
                block = kernel[col : col + tile, source : source + rows]
                out[target : target + rows, col : col + tile] = block.T
    return out


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
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One direction: (W, R, B) without the leading direction axis.

    ``input_bias`` goes to Wb and ``recurrent_bias`` to Rb, each in Keras gate order;
    either may be None (zeros).
    """
    gates = len(perm)
    w = remap_kernel(kernel, perm, units)
    r = remap_kernel(recurrent_kernel, perm, units)
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
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One direction of a recurrent layer whose bias ``families`` has read.

    One Keras bias is divided into (Wb, Rb) by ``split``; two genuine biases go to Wb
    and Rb as they are; no bias gives zeros.
    """
    if biases.kind == "single":
        wb, rb = split_bias(np.asarray(biases.input, dtype=np.float32), split)
        return remap_direction(kernel, recurrent_kernel, wb, rb, perm, units)
    return remap_direction(kernel, recurrent_kernel, biases.input, biases.recurrent, perm, units)
