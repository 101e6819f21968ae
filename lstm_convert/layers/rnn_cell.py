"""``keras.layers.RNN(cell)`` -> the same fused node as the matching layer class.

An LSTMCell, GRUCell or SimpleRNNCell computes exactly what LSTM, GRU or SimpleRNN
compute, so the RNN layer is converted as that layer. A StackedRNNCells becomes a stack
of fused nodes, one per cell, each cell's output sequence feeding the next: at a masked
step Keras keeps every cell's state, which is what each masked node does on its own.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..errors import UnsupportedModelError
from ..export.builder import Tensor
from ..export.context import ExportContext
from ..families import FAMILIES
from ..model import Call, Layer
from ..weightspec import rnn_cells, weight_names
from .ops import reverse
from .recurrent import convert_recurrent
from .registry import converter

# Options of the RNN layer that every cell's fused node obeys.
LAYER_OPTIONS = ("go_backwards", "time_major", "stateful", "zero_output_for_mask", "unroll")


def cell_layers(layer: Layer) -> list[Layer]:
    """One pseudo recurrent layer per cell, with its slice of the RNN's weights."""
    cells = rnn_cells(layer.config)
    result, position = [], 0
    for index, (layer_class, cell_config) in enumerate(cells):
        if layer_class is None:
            raise UnsupportedModelError(
                f"layer {layer.name!r}: RNN with a cell other than LSTMCell, GRUCell, "
                "SimpleRNNCell or a StackedRNNCells of them"
            )
        count = len(weight_names(layer_class, cell_config) or [])
        config: dict[str, Any] = {**cell_config}
        config.update({k: layer.config[k] for k in LAYER_OPTIONS if k in layer.config})
        last = index == len(cells) - 1
        config["return_sequences"] = bool(layer.config.get("return_sequences")) or not last
        config["return_state"] = True
        if index > 0:
            # The first node emits its sequence in processing order already.
            config["go_backwards"] = False
        name = layer.name if len(cells) == 1 else f"{layer.name}_cell{index}"
        weights = layer.weights[position : position + count]
        result.append(Layer(name, layer_class, config, weights))
        position += count
    if position != len(layer.weights):
        raise UnsupportedModelError(
            f"layer {layer.name!r} stores {len(layer.weights)} weight arrays, "
            f"its cells need {position}"
        )
    return result


def state_count(layer: Layer) -> int:
    return len(FAMILIES[layer.class_name].state_labels)


@converter("RNN")
def convert_rnn(ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call) -> list[Tensor]:
    cells = cell_layers(layer)
    x, given = inputs[0], inputs[1:]
    wanted = sum(state_count(cell) for cell in cells)
    if given and len(given) != wanted:
        raise UnsupportedModelError(
            f"layer {layer.name!r} takes {wanted} initial states, the model passes {len(given)}"
        )
    states: list[Tensor] = []
    sequence = x
    for index, cell in enumerate(cells):
        n = state_count(cell)
        cell_states, given = given[:n], given[n:]
        sequence, *finals = convert_recurrent(ctx, cell, [sequence, *cell_states], call)
        if len(cells) > 1:  # the roles name graph outputs: rnn_cell0_h, like --state-io
            finals = [replace(t, role=f"cell{index}_{t.role}") for t in finals]
        states += finals
        if index == 0 and cell.config.get("go_backwards") and x.mask is not None and len(cells) > 1:
            # The first cell returns its steps in processing order: so must their mask.
            reversed_mask = reverse(ctx, x.mask, 1, f"{layer.name}_mask_reversed")
            sequence = replace(sequence, mask=reversed_mask)
    if len(cells) > 1 and x.mask is not None and layer.config.get("return_sequences"):
        sequence = replace(sequence, mask=x.mask)
    return [sequence, *states] if layer.config.get("return_state") else [sequence]
