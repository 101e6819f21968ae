"""Keras GRU -> ONNX GRU (gates z,r,h in both; reset_after <-> linear_before_reset)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..activations import recurrent_activation
from ..export.context import ExportContext
from ..remap import KERAS_TO_ONNX_GRU, remap_direction, single_bias_parts
from .recurrent import CellSpec, cell_family, expect_weights, units_of


@cell_family("GRU")
def gru_spec(name: str, config: dict[str, Any], weights: list, ctx: ExportContext) -> CellSpec:
    units = units_of(name, config)
    features = weights[0].shape[0] if weights else 0
    use_bias = config.get("use_bias", True)
    reset_after = config.get("reset_after")
    if reset_after is None:  # older configs omit it; the bias shape tells
        reset_after = use_bias and len(weights) > 2 and np.ndim(weights[2]) == 2
    shapes = [(features, 3 * units), (units, 3 * units)]
    if use_bias:
        shapes.append((2, 3 * units) if reset_after else (3 * units,))
    expect_weights(name, weights, shapes)
    if not use_bias:
        input_bias = recurrent_bias = None
    elif reset_after:
        # Row 1 is the recurrent bias: the h-gate part sits inside r * (h.U + Rb_h),
        # so it must stay in Rb; ONNX linear_before_reset=1 computes exactly that.
        input_bias, recurrent_bias = weights[2][0], weights[2][1]
    else:
        input_bias, recurrent_bias = single_bias_parts(weights[2], ctx.options.bias_split)
    w, r, b = remap_direction(
        weights[0], weights[1], input_bias, recurrent_bias, KERAS_TO_ONNX_GRU, units
    )
    major = ctx.keras_major
    gate = recurrent_activation(config.get("recurrent_activation", "hard_sigmoid"), major, name)
    act = recurrent_activation(config.get("activation", "tanh"), major, name)
    return CellSpec(
        "GRU", units, w, r, b, (gate, act), attrs={"linear_before_reset": int(bool(reset_after))}
    )
