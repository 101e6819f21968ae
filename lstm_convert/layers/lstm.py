"""Keras LSTM -> ONNX LSTM (gate orders and bias: see families.LSTM)."""

from __future__ import annotations

from typing import Any

from ..activations import recurrent_activation
from ..export.context import ExportContext
from .family_cell import family_arrays
from .recurrent import CellSpec, cell_family


@cell_family("LSTM")
def lstm_spec(name: str, config: dict[str, Any], weights: list, ctx: ExportContext) -> CellSpec:
    a = family_arrays("LSTM", name, config, weights, ctx)
    major = ctx.keras_major
    gate = recurrent_activation(config.get("recurrent_activation", "hard_sigmoid"), major, name)
    act = recurrent_activation(config.get("activation", "tanh"), major, name)
    # ONNX LSTM activations (f, g, h): gates, cell candidate, cell output.
    labels = a.family.state_labels
    return CellSpec(a.family.onnx_op, a.units, a.W, a.R, a.B, (gate, act, act), state_labels=labels)
