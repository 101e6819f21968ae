"""CuDNNLSTM / CuDNNGRU (Keras 2, tf.keras 1.x files) -> ONNX LSTM / GRU.

Their bias holds an input part and a recurrent part: they go to Wb and Rb as they
are (families.RecurrentFamily.biases). The activations are fixed by cuDNN: tanh, with
sigmoid gates.
"""

from __future__ import annotations

from typing import Any

from ..activations import RecurrentActivation
from ..export.context import ExportContext
from .family_cell import family_arrays
from .recurrent import CellSpec, cell_family

SIGMOID = RecurrentActivation("Sigmoid")
TANH = RecurrentActivation("Tanh")


@cell_family("CuDNNLSTM")
def cudnn_lstm_spec(
    name: str, config: dict[str, Any], weights: list, ctx: ExportContext
) -> CellSpec:
    a = family_arrays("CuDNNLSTM", name, config, weights, ctx)
    labels = a.family.state_labels
    return CellSpec(
        a.family.onnx_op, a.units, a.W, a.R, a.B, (SIGMOID, TANH, TANH), state_labels=labels
    )


@cell_family("CuDNNGRU")
def cudnn_gru_spec(
    name: str, config: dict[str, Any], weights: list, ctx: ExportContext
) -> CellSpec:
    a = family_arrays("CuDNNGRU", name, config, weights, ctx)
    attrs = {"linear_before_reset": int(a.biases.reset_after)}
    labels = a.family.state_labels
    return CellSpec(
        a.family.onnx_op, a.units, a.W, a.R, a.B, (SIGMOID, TANH), attrs=attrs, state_labels=labels
    )
