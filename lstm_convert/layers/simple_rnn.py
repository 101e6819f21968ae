"""Keras SimpleRNN -> ONNX RNN with the layer's activation."""

from __future__ import annotations

from typing import Any

from ..activations import recurrent_activation
from ..export.context import ExportContext
from .family_cell import family_arrays
from .recurrent import CellSpec, cell_family


@cell_family("SimpleRNN")
def simple_rnn_spec(
    name: str, config: dict[str, Any], weights: list, ctx: ExportContext
) -> CellSpec:
    a = family_arrays("SimpleRNN", name, config, weights, ctx)
    act = recurrent_activation(config.get("activation", "tanh"), ctx.keras_major, name)
    labels = a.family.state_labels
    return CellSpec(a.family.onnx_op, a.units, a.W, a.R, a.B, (act,), state_labels=labels)
