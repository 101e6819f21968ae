"""Keras SimpleRNN -> ONNX RNN with the layer's activation."""

from __future__ import annotations

from typing import Any

from ..activations import recurrent_activation
from ..export.context import ExportContext
from ..remap import KERAS_TO_ONNX_RNN, remap_direction, single_bias_parts
from .recurrent import CellSpec, cell_family, expect_weights, units_of


@cell_family("SimpleRNN")
def simple_rnn_spec(
    name: str, config: dict[str, Any], weights: list, ctx: ExportContext
) -> CellSpec:
    units = units_of(name, config)
    features = weights[0].shape[0] if weights else 0
    use_bias = config.get("use_bias", True)
    shapes = [(features, units), (units, units)] + ([(units,)] if use_bias else [])
    expect_weights(name, weights, shapes)
    wb, rb = single_bias_parts(weights[2] if use_bias else None, ctx.options.bias_split)
    w, r, b = remap_direction(weights[0], weights[1], wb, rb, KERAS_TO_ONNX_RNN, units)
    act = recurrent_activation(config.get("activation", "tanh"), ctx.keras_major, name)
    return CellSpec("RNN", units, w, r, b, (act,))
