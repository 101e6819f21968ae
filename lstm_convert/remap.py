"""Keras -> ONNX weight remapping: gate orders and the bias split, as pure functions.

Keras stores a recurrent layer's kernel as ``(input, gates*units)`` with its gate
blocks side by side; ONNX wants ``W[dir, gates*units, input]`` (a transpose) with
its own gate order. Each permutation below reads "ONNX gate k comes from Keras gate
PERM[k]" and is declared once here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

# Keras LSTM gates: i, f, c, o.  ONNX LSTM gates: i, o, f, c.
KERAS_LSTM_GATES = ("i", "f", "c", "o")
ONNX_LSTM_GATES = ("i", "o", "f", "c")
KERAS_TO_ONNX_LSTM = (0, 3, 1, 2)
# GRU gates are z, r, h in both Keras and ONNX: nothing moves.
KERAS_GRU_GATES = ("z", "r", "h")
ONNX_GRU_GATES = ("z", "r", "h")
KERAS_TO_ONNX_GRU = (0, 1, 2)
# SimpleRNN has a single gate.
KERAS_RNN_GATES = ("h",)
KERAS_TO_ONNX_RNN = (0,)

BiasSplit = Literal["wb", "rb", "half"]
BIAS_SPLITS: tuple[str, ...] = ("wb", "rb", "half")


@dataclass(frozen=True)
class OnnxRecurrentWeights:
    """W ``[dirs, G*u, in]``, R ``[dirs, G*u, u]`` and B ``[dirs, 2*G*u]`` = [Wb, Rb]."""

    W: np.ndarray
    R: np.ndarray
    B: np.ndarray


def gate_index(perm: tuple[int, ...], units: int) -> np.ndarray:
    """Row indices that reorder blocks of ``units`` rows from Keras to ONNX gate order."""
    return np.concatenate([np.arange(g * units, (g + 1) * units) for g in perm])


def remap_kernel(kernel: np.ndarray, perm: tuple[int, ...], units: int) -> np.ndarray:
    """Keras ``(in, G*u)`` -> ONNX ``[G*u, in]`` in ONNX gate order (one fancy index).

    Viewing the kernel as ``[G, u, in]`` and indexing whole gate blocks copies the data
    once, in large contiguous runs (indexing rows of ``kernel.T`` is several times slower).
    """
    kernel = np.asarray(kernel, dtype=np.float32)
    inputs = kernel.shape[0]
    blocks = kernel.reshape(inputs, len(perm), units).transpose(1, 2, 0)
    return np.ascontiguousarray(blocks[list(perm)]).reshape(len(perm) * units, inputs)


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


def stack_directions(
    *directions: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> OnnxRecurrentWeights:
    return OnnxRecurrentWeights(
        W=np.stack([d[0] for d in directions]),
        R=np.stack([d[1] for d in directions]),
        B=np.stack([d[2] for d in directions]),
    )


def single_bias_parts(
    bias: np.ndarray | None, split: BiasSplit
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Keras's one bias, divided into the (input, recurrent) parts ONNX will add."""
    if bias is None:
        return None, None
    bias = np.asarray(bias, dtype=np.float32)
    wb, rb = split_bias(bias, split)
    return wb, rb


def lstm_direction(
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray | None,
    units: int,
    split: BiasSplit = "wb",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keras LSTM (one bias, gates i,f,c,o) -> ONNX LSTM (Wb+Rb, gates i,o,f,c)."""
    wb, rb = single_bias_parts(bias, split)
    return remap_direction(kernel, recurrent_kernel, wb, rb, KERAS_TO_ONNX_LSTM, units)


def remap_lstm(
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray | None,
    split: BiasSplit = "wb",
) -> OnnxRecurrentWeights:
    units = recurrent_kernel.shape[0]
    return stack_directions(lstm_direction(kernel, recurrent_kernel, bias, units, split))
