"""Keras GRU -> ONNX GRU (gates z,r,h in both; reset_after <-> linear_before_reset).

With reset_after=True the bias has two rows and row 1 is the recurrent bias: its h-gate
part sits inside r * (h.U + Rb_h), so it must stay in Rb; ONNX linear_before_reset=1
computes exactly that (families.GRU reads the bias).
"""

from __future__ import annotations

from typing import Any

from ..activations import recurrent_activation
from ..export.context import ExportContext
from .family_cell import family_arrays
from .recurrent import CellSpec, cell_family


@cell_family("GRU")
def gru_spec(name: str, config: dict[str, Any], weights: list, ctx: ExportContext) -> CellSpec:
    a = family_arrays("GRU", name, config, weights, ctx)
    major = ctx.keras_major
    gate = recurrent_activation(config.get("recurrent_activation", "hard_sigmoid"), major, name)
    act = recurrent_activation(config.get("activation", "tanh"), major, name)
    attrs = {"linear_before_reset": int(a.biases.reset_after)}
    labels = a.family.state_labels
    return CellSpec(
        a.family.onnx_op, a.units, a.W, a.R, a.B, (gate, act), attrs=attrs, state_labels=labels
    )
