"""Keras LSTM -> ONNX LSTM (gates i,f,c,o -> i,o,f,c; one bias -> Wb + Rb)."""

from __future__ import annotations

from typing import Any

from ..activations import recurrent_activation
from ..export.context import ExportContext
from ..remap import lstm_direction
from .recurrent import CellSpec, cell_family, expect_weights, units_of


@cell_family("LSTM")
def lstm_spec(name: str, config: dict[str, Any], weights: list, ctx: ExportContext) -> CellSpec:
    units = units_of(name, config)
    features = weights[0].shape[0] if weights else 0
    shapes = [(features, 4 * units), (units, 4 * units)]
    use_bias = config.get("use_bias", True)
    if use_bias:
        shapes.append((4 * units,))
    expect_weights(name, weights, shapes)
    bias = weights[2] if use_bias else None
    w, r, b = lstm_direction(weights[0], weights[1], bias, units, ctx.options.bias_split)
    major = ctx.keras_major
    gate = recurrent_activation(config.get("recurrent_activation", "hard_sigmoid"), major, name)
    act = recurrent_activation(config.get("activation", "tanh"), major, name)
    # ONNX LSTM activations (f, g, h): gates, cell candidate, cell output.
    return CellSpec("LSTM", units, w, r, b, (gate, act, act), state_labels=("h", "c"))
