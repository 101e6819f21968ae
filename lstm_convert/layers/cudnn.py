"""CuDNNLSTM / CuDNNGRU (Keras 2, tf.keras 1.x files) -> ONNX LSTM / GRU.

Their bias holds an input part and a recurrent part: they go to Wb and Rb as they
are. The activations are fixed by cuDNN: tanh, with sigmoid gates.
"""

from __future__ import annotations

from typing import Any

from ..activations import RecurrentActivation
from ..export.context import ExportContext
from ..keras_layouts import cudnn_gru, cudnn_lstm
from ..remap import KERAS_TO_ONNX_GRU, KERAS_TO_ONNX_LSTM, remap_direction
from .recurrent import CellSpec, cell_family, expect_weights, units_of

SIGMOID = RecurrentActivation("Sigmoid")
TANH = RecurrentActivation("Tanh")


@cell_family("CuDNNLSTM")
def cudnn_lstm_spec(
    name: str, config: dict[str, Any], weights: list, ctx: ExportContext
) -> CellSpec:
    units = units_of(name, config)
    features = weights[0].shape[0] if weights else 0
    expect_weights(name, weights, [(features, 4 * units), (units, 4 * units), (8 * units,)])
    kernel, recurrent, input_bias, recurrent_bias = cudnn_lstm(*weights)
    w, r, b = remap_direction(
        kernel, recurrent, input_bias, recurrent_bias, KERAS_TO_ONNX_LSTM, units
    )
    return CellSpec("LSTM", units, w, r, b, (SIGMOID, TANH, TANH), state_labels=("h", "c"))


@cell_family("CuDNNGRU")
def cudnn_gru_spec(
    name: str, config: dict[str, Any], weights: list, ctx: ExportContext
) -> CellSpec:
    units = units_of(name, config)
    features = weights[0].shape[0] if weights else 0
    expect_weights(name, weights, [(features, 3 * units), (units, 3 * units), (6 * units,)])
    kernel, recurrent, bias = cudnn_gru(*weights)
    w, r, b = remap_direction(kernel, recurrent, bias[0], bias[1], KERAS_TO_ONNX_GRU, units)
    return CellSpec("GRU", units, w, r, b, (SIGMOID, TANH), attrs={"linear_before_reset": 1})
