"""Keras Bidirectional(LSTM|GRU|SimpleRNN) -> one ONNX node, direction="bidirectional"."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import UnsupportedModelError
from ..export.builder import Tensor
from ..export.context import ExportContext
from ..model import Call, Layer
from ..weightspec import KerasDirection, keras_directions
from .mask_pack import unpack
from .ops import gather, mask_weight, reverse, squeeze
from .recurrent import (
    CellSpec,
    build_spec,
    emit_node,
    given_states,
    keras_outputs,
    masked_node,
    packed_input,
    sequence_input,
    state_io_inputs,
    stateful_io,
    unmasked_by_keras3,
)
from .registry import converter

MERGE_MODES = ("concat", "sum", "mul", "ave", None)
DIRECTIONS = ("forward", "backward")  # Keras's order of the two directions


def merge(ctx: ExportContext, mode: str | None, fwd: str, bwd: str, name: str) -> list[str]:
    b = ctx.builder
    if mode == "concat":
        return [b.op("Concat", [fwd, bwd], name, axis=-1)]
    if mode == "sum":
        return [b.op("Add", [fwd, bwd], name)]
    if mode == "mul":
        return [b.op("Mul", [fwd, bwd], name)]
    if mode == "ave":
        total = b.op("Add", [fwd, bwd], name)
        return [b.op("Mul", [total, b.const_f32(0.5)], name)]
    return [fwd, bwd]


@dataclass
class DirectionOutputs:
    """One Keras direction: its sequence aligned with input time (time-major, or
    batch-first when masked), last output and final states."""

    sequence: str
    last: str
    states: list[str]


def _check(layer: Layer, forward: KerasDirection, backward: KerasDirection, x: Tensor) -> None:
    config = layer.config
    if config.get("merge_mode", "concat") not in MERGE_MODES:
        raise UnsupportedModelError(
            f"layer {layer.name!r}: unknown merge_mode {config.get('merge_mode')!r}"
        )
    if forward.runs_backwards == backward.runs_backwards:
        raise UnsupportedModelError(
            f"layer {layer.name!r}: forward and backward layers run in the same direction"
        )
    if x.mask is not None and (forward.runs_backwards or forward.config.get("time_major")):
        raise UnsupportedModelError(
            f"layer {layer.name!r}: a masked Bidirectional whose wrapped layer runs "
            "backwards (or is time_major) is not supported"
        )


@dataclass
class InitialStates:
    """Each Keras direction's starting states, as [1, batch, units] node inputs, and the
    same as [batch, units] values (for rows with no valid step)."""

    node_inputs: list[list[str]]
    values: list[list[str]]
    graph_inputs: list[str]  # --state-io / stateful: the graph inputs, else []


def _initial_states(
    ctx: ExportContext, layer: Layer, specs: list[CellSpec], given: list[Tensor]
) -> InitialStates | None:
    """``initial_state`` tensors (forward states, then backward ones, as Keras takes them),
    or --state-io inputs per direction, or None for zero states."""
    prefixes = ["forward_", "backward_"]
    if given:
        half = len(specs[0].state_labels)
        if len(given) != half + len(specs[1].state_labels):
            raise UnsupportedModelError(
                f"layer {layer.name!r} takes {2 * half} initial states, the model passes "
                f"{len(given)}"
            )
        parts = [given[:half], given[half:]]
        node_inputs = [
            given_states(ctx, layer.name, spec, part, prefix)
            for spec, part, prefix in zip(specs, parts, prefixes, strict=True)
        ]
        return InitialStates(node_inputs, [[t.name for t in p] for p in parts], [])
    inner = layer.config["layer"]["config"]
    if not stateful_io(ctx, layer.name, inner):
        return None
    graph_inputs, node_inputs, values = [], [], []
    for spec, prefix in zip(specs, prefixes, strict=True):
        names, unsqueezed = state_io_inputs(ctx, layer.name, spec, prefix)
        graph_inputs += names
        node_inputs.append(unsqueezed)
        values.append(names)
    return InitialStates(node_inputs, values, graph_inputs)


def _finish_states(
    ctx: ExportContext,
    layer: Layer,
    result: list[DirectionOutputs],
    initial: InitialStates | None,
) -> None:
    """Route --state-io outputs."""
    if initial is None:
        return
    finals = [s for r in result for s in r.states]
    for graph_input, value in zip(initial.graph_inputs, finals, strict=False):
        ctx.expose_state(graph_input, value)


def _fused(
    ctx: ExportContext,
    layer: Layer,
    x_tm: str,
    specs: list[CellSpec],
    swap: bool,
    initial: InitialStates | None,
) -> list[DirectionOutputs]:
    """Both directions in one node. ONNX direction 0 runs forward in time: with ``swap``
    (the Keras forward layer has go_backwards) that is the Keras backward layer."""
    onnx_order = [1, 0] if swap else [0, 1]  # Keras direction -> ONNX direction index
    initial_states = None
    if initial is not None:
        by_onnx = [initial.node_inputs[onnx_order.index(i)] for i in range(2)]
        initial_states = [
            ctx.builder.op("Concat", [a, b], f"{layer.name}_initial", axis=0)
            for a, b in zip(by_onnx[0], by_onnx[1], strict=True)
        ]
    node_specs = [specs[onnx_order.index(i)] for i in range(2)]
    y, *states = emit_node(ctx, layer.name, x_tm, node_specs, "bidirectional", initial_states)
    result = []
    for keras_dir, prefix in enumerate(("forward", "backward")):
        index = onnx_order[keras_dir]
        labels = specs[keras_dir].state_labels
        finals = [
            gather(ctx, state, index, 0, f"{layer.name}_{prefix}_{label}")
            for state, label in zip(states, labels, strict=True)
        ]
        sequence = gather(ctx, y, index, 1, f"{layer.name}_{prefix}_seq")
        result.append(DirectionOutputs(sequence, finals[0], finals))
    _finish_states(ctx, layer, result, initial)
    return result


def _separate(
    ctx: ExportContext,
    layer: Layer,
    x_tm: str,
    specs: list[CellSpec],
    swap: bool,
    initial: InitialStates | None,
) -> list[DirectionOutputs]:
    """Directions whose sizes differ cannot share a node: one forward node each, the
    backward one on time-reversed steps (direction="reverse" is not portable)."""
    result = []
    for keras_dir, prefix in enumerate(("forward", "backward")):
        runs_backwards = (keras_dir == 0) == swap
        name = f"{layer.name}_{prefix}"
        steps = reverse(ctx, x_tm, 0, f"{name}_reverse") if runs_backwards else x_tm
        starts = initial.node_inputs[keras_dir] if initial else None
        y, *states = emit_node(ctx, name, steps, [specs[keras_dir]], "forward", starts)
        finals = [
            squeeze(ctx, state, 0, f"{name}_{label}")
            for state, label in zip(states, specs[keras_dir].state_labels, strict=True)
        ]
        sequence = squeeze(ctx, y, 1, f"{name}_seq")
        if runs_backwards:
            sequence = reverse(ctx, sequence, 0, f"{name}_seq_reverse")  # back to input time
        result.append(DirectionOutputs(sequence, finals[0], finals))
    _finish_states(ctx, layer, result, initial)
    return result


def _masked(
    ctx: ExportContext,
    layer: Layer,
    x: Tensor,
    specs: list[CellSpec],
    initial: InitialStates | None,
    keep_cell: bool,
) -> list[DirectionOutputs]:
    """A masked Bidirectional: one forward node per direction, each on its own packing.

    The backward layer sees the reversed steps and mask, packed, so every row's valid
    steps come first in both nodes and no ``sequence_lens`` is needed (see
    recurrent.masked_node). Sequences come back batch-first, aligned with input time.
    """
    result = []
    for keras_dir, prefix in enumerate(("forward", "backward")):
        name = f"{layer.name}_{prefix}"
        backward = keras_dir == 1
        x_tm, p = packed_input(ctx, name, x, backwards=backward)
        starts = initial.node_inputs[keras_dir] if initial else None
        seq_tm, last, finals = masked_node(ctx, name, x_tm, specs[keras_dir], p, starts, keep_cell)
        sequence = unpack(ctx, seq_tm, p, name, zero_output=False)
        if backward:
            sequence = reverse(ctx, sequence, 1, f"{name}_seq")
        result.append(DirectionOutputs(sequence, last, finals))
    _finish_states(ctx, layer, result, initial)
    return result


@converter("Bidirectional")
def convert_bidirectional(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor]:
    config = layer.config
    forward, backward = keras_directions(layer.class_name, config, layer.weights)
    x = inputs[0]
    if unmasked_by_keras3(ctx, call):
        x = replace(x, mask=None)
    _check(layer, forward, backward, x)
    fwd_cfg = forward.config
    mode = config.get("merge_mode", "concat")
    # Keras lets the wrapped layer itself run backwards; the backward copy then runs forwards.
    swap = forward.runs_backwards
    specs = [
        build_spec(layer.name, d.class_name, d.config, d.weights, ctx, d.label)
        for d in (forward, backward)
    ]
    initial = _initial_states(ctx, layer, specs, inputs[1:])
    if x.mask is not None:
        exposed = initial is not None and bool(initial.graph_inputs)
        keep_cell = bool(fwd_cfg.get("return_state")) or exposed
        directions = _masked(ctx, layer, x, specs, initial, keep_cell)
    else:
        x_tm = sequence_input(ctx, Layer(layer.name, layer.class_name, fwd_cfg), x)
        one_node = (
            specs[0].op == specs[1].op
            and specs[0].units == specs[1].units
            and specs[0].attrs == specs[1].attrs
        )
        directions = (_fused if one_node else _separate)(ctx, layer, x_tm, specs, swap, initial)

    units = [spec.units for spec in specs]
    widths = [sum(units)] if mode == "concat" else units[:1] if mode else units
    if fwd_cfg.get("return_sequences"):
        merged = _merged_sequences(ctx, layer, x, directions, mode, swap)
    else:
        merged = merge(ctx, mode, directions[0].last, directions[1].last, layer.name)
    roles = DIRECTIONS if mode is None else ("",)
    values = list(zip(merged, widths, roles, strict=True))
    states = [
        (state, spec.units, f"{prefix}_{label}")
        for direction, spec, prefix in zip(directions, specs, DIRECTIONS, strict=True)
        for state, label in zip(direction.states, spec.state_labels, strict=True)
    ]
    unpacked = x.mask is not None
    return keras_outputs(ctx, layer.name, fwd_cfg, inputs[0], values, states, unpacked)


def _merged_sequences(
    ctx: ExportContext,
    layer: Layer,
    x: Tensor,
    directions: list[DirectionOutputs],
    mode: str | None,
    swap: bool,
) -> list[str]:
    """The directions' sequences merged (time-major, or batch-first when masked)."""
    merged = merge(ctx, mode, directions[0].sequence, directions[1].sequence, layer.name)
    if swap:
        # Both Keras sequences come out in reversed time order in this configuration.
        merged = [reverse(ctx, m, 0, f"{layer.name}_reverse") for m in merged]
    if x.mask is not None:
        # Keras's Bidirectional forces zero outputs at masked steps.
        weight = mask_weight(ctx, x.mask, layer.name)
        merged = [ctx.builder.op("Mul", [m, weight], layer.name) for m in merged]
    return merged
