"""Shared machinery of the recurrent families (LSTM, GRU, SimpleRNN, Bidirectional).

Each family module turns a Keras config + Keras-layout weights into a ``CellSpec``
(one direction, already remapped); this module emits the single fused ONNX node and
shapes its outputs the way Keras returns them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..activations import RecurrentActivation, activation_attributes
from ..errors import ConfigError, UnsupportedModelError, WeightsError
from ..export.builder import Tensor
from ..export.context import ExportContext
from ..export.records import RecurrentRecord
from ..families import LSTM
from ..model import Call, Layer, TensorRef
from ..portability import DEFAULT_ACTIVATIONS
from ..remap import Kernel, append_columns
from ..streamed import Stacked, StreamedArray
from .mask_pack import Packing, last_valid, pack, packing, unpack
from .ops import batch_first, reverse, squeeze, time_major
from .registry import converter


@dataclass(frozen=True)
class CellSpec:
    """One direction of a Keras recurrent layer, in ONNX terms."""

    op: str  # "LSTM", "GRU" or "RNN"
    units: int
    W: Kernel  # [G*u, in] (made as it is written: remap.RemappedKernel)
    R: Kernel  # [G*u, u]
    B: np.ndarray  # [2*G*u] = [Wb, Rb]
    activations: tuple[RecurrentActivation, ...]
    attrs: dict[str, Any] = field(default_factory=dict)
    state_labels: tuple[str, ...] = ("h",)
    # Where it comes from, for export's records (explain): the Keras layer and direction.
    layer: str = ""
    direction: str = "forward"
    padding_flag: bool = False  # W carries hold_on_padding's extra input column


SpecBuilder = Callable[[str, dict[str, Any], list[np.ndarray], ExportContext], CellSpec]
SPEC_BUILDERS: dict[str, SpecBuilder] = {}


def cell_family(*class_names: str) -> Callable[[SpecBuilder], SpecBuilder]:
    """Register a family's CellSpec builder and its converter for ``class_names``."""

    def register(fn: SpecBuilder) -> SpecBuilder:
        for class_name in class_names:
            SPEC_BUILDERS[class_name] = fn
        converter(*class_names)(convert_recurrent)
        return fn

    return register


def build_spec(
    layer_name: str,
    class_name: str,
    config: dict[str, Any],
    weights: list,
    ctx: ExportContext,
    direction: str = "forward",
) -> CellSpec:
    builder = SPEC_BUILDERS.get(class_name)
    if builder is None:
        raise UnsupportedModelError(f"layer {layer_name!r}: {class_name} is not a recurrent layer")
    # dropout / recurrent_dropout only act in training; unroll changes speed, not results.
    spec = builder(layer_name, config, weights, ctx)
    return replace(spec, layer=layer_name, direction=direction)


def stateful_io(ctx: ExportContext, layer_name: str, config: dict[str, Any]) -> bool:
    """Whether this layer's states become graph inputs and outputs: always with
    --state-io, and for a stateful layer even without it (then noted once)."""
    if ctx.options.state_io:
        return True
    if config.get("stateful"):
        ctx.stateful_layers.append(layer_name)
        return True
    return False


def expect_weights(layer_name: str, weights: list, shapes: list[tuple[int, ...]]) -> None:
    if len(weights) != len(shapes):
        raise WeightsError(
            f"layer {layer_name!r} has {len(weights)} weight arrays, expected {len(shapes)}"
        )
    for array, shape in zip(weights, shapes, strict=True):
        if tuple(array.shape) != tuple(shape):
            raise WeightsError(
                f"layer {layer_name!r}: weight of shape {tuple(array.shape)} contradicts the "
                f"config, which implies {tuple(shape)}"
            )


def units_of(layer_name: str, config: dict[str, Any]) -> int:
    units = config.get("units", config.get("output_dim"))
    if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
        raise ConfigError(f"layer {layer_name!r} has an invalid units value {units!r:.40}")
    return units


def has_default_activations(spec: CellSpec) -> bool:
    names = tuple(a.onnx_name for a in spec.activations)
    return names == DEFAULT_ACTIVATIONS[spec.op]


def emit_node(
    ctx: ExportContext,
    name: str,
    x_tm: str,
    specs: list[CellSpec],
    direction: str,
    initial_states: list[str] | None = None,
) -> list[str]:
    """Add the fused node; returns [Y, Y_h(, Y_c)] (time-major, with a direction axis).

    No ``sequence_lens`` (only onnxruntime honours it: see mask_pack.py), no ``layout``
    and no ``activations`` when they are ONNX's defaults.
    """
    b = ctx.builder
    first = specs[0]
    w = b.initializer(f"{name}_W", with_direction_axis([s.W for s in specs]))
    r = b.initializer(f"{name}_R", with_direction_axis([s.R for s in specs]))
    bias = b.initializer(f"{name}_B", with_direction_axis([s.B for s in specs]))
    inputs = [x_tm, w, r, bias, "", *(initial_states or [])]
    while inputs and inputs[-1] == "":
        inputs.pop()
    attrs = dict(first.attrs)
    if direction != "forward":
        attrs["direction"] = direction
    if not all(has_default_activations(s) for s in specs):
        attrs.update(activation_attributes([a for s in specs for a in s.activations]))
    outputs = b.node(
        first.op, inputs, 1 + len(first.state_labels), name, hidden_size=first.units, **attrs
    )
    node = b.nodes[-1].name
    for index, spec in enumerate(specs):
        ctx.recurrent.append(
            RecurrentRecord(
                layer=spec.layer,
                direction=spec.direction,
                node=node,
                op_type=first.op,
                initializers={"W": w, "R": r, "B": bias},
                index=index,
                node_direction=direction,
                attributes=dict(first.attrs),
                padding_flag=spec.padding_flag,
            )
        )
    return outputs


def with_direction_axis(arrays: list[Kernel]) -> np.ndarray | Stacked:
    """[dirs, ...] without another copy of the weights: one array's view, or the
    directions stacked only as they are written (``streamed.Stacked``)."""
    if any(isinstance(a, StreamedArray) for a in arrays):
        return Stacked(tuple(arrays))
    return arrays[0][None] if len(arrays) == 1 else np.stack(arrays)


def sequence_input(ctx: ExportContext, layer: Layer, x: Tensor) -> str:
    if x.rank != 3:
        raise UnsupportedModelError(
            f"layer {layer.name!r} expects a 3-D input (batch, time, features), got rank {x.rank}"
        )
    if layer.config.get("time_major"):
        return x.name  # tf.keras time_major=True: the Keras tensor is already [T, B, F]
    return time_major(ctx, x, f"{layer.name}_input")


def state_io_inputs(
    ctx: ExportContext, layer_name: str, spec: CellSpec, prefix: str = ""
) -> tuple[list[str], list[str]]:
    """With --state-io: one [batch, units] graph input per state.

    Returns the graph input names and the same values unsqueezed to ``[1, batch, units]``.
    """
    graph_inputs, unsqueezed = [], []
    for label in spec.state_labels:
        graph_input = ctx.add_state(layer_name, f"{prefix}{label}", spec.units)
        graph_inputs.append(graph_input)
        axis = ctx.builder.const_i64([0])
        unsqueezed.append(ctx.builder.op("Unsqueeze", [graph_input, axis], f"{layer_name}_{label}"))
    return graph_inputs, unsqueezed


def given_states(
    ctx: ExportContext, layer_name: str, spec: CellSpec, states: list[Tensor], prefix: str = ""
) -> list[str]:
    """``initial_state`` tensors ([batch, units] each) as the node's [1, batch, units] inputs."""
    if len(states) != len(spec.state_labels):
        raise UnsupportedModelError(
            f"layer {layer_name!r} takes {len(spec.state_labels)} initial state(s) per "
            f"direction, the model passes {len(states)}"
        )
    unsqueezed = []
    for state, label in zip(states, spec.state_labels, strict=True):
        if state.rank != 2 or state.shape[-1] not in (spec.units, None):
            raise UnsupportedModelError(
                f"layer {layer_name!r}: initial state {prefix}{label} has shape "
                f"{state.shape}, expected (batch, {spec.units})"
            )
        axis = ctx.builder.const_i64([0])
        name = f"{layer_name}_{prefix}{label}_initial"
        unsqueezed.append(ctx.builder.op("Unsqueeze", [state.name, axis], name))
    return unsqueezed


def unmasked_by_keras3(ctx: ExportContext, call: Call) -> bool:
    """Keras 3 hands a layer its input's mask only when that input is its sole tensor
    argument: a layer called with ``initial_state`` tensors runs unmasked (unless the
    mask is passed explicitly), though its output still carries the mask. tf.keras
    masks it as usual."""
    return (
        ctx.keras_major >= 3
        and call.kwargs.get("initial_state") is not None
        and not isinstance(call.kwargs.get("mask"), TensorRef)
    )


def convert_recurrent(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor]:
    """LSTM / GRU / SimpleRNN (and their CuDNN cousins): one fused node, one direction.

    ``inputs`` is ``[x, *initial_states]`` (see ``model.call_inputs``)."""
    config = layer.config
    x, states_in = inputs[0], inputs[1:]
    if unmasked_by_keras3(ctx, call):
        x = replace(x, mask=None)
    spec = build_spec(layer.name, layer.class_name, config, layer.weights, ctx)
    if spec.W.shape[1] != x.shape[-1]:
        raise WeightsError(
            f"layer {layer.name!r}: kernel expects {spec.W.shape[1]} input features, "
            f"the input has {x.shape[-1]}"
        )
    if x.rank != 3:
        raise UnsupportedModelError(
            f"layer {layer.name!r} expects a 3-D input (batch, time, features), got rank {x.rank}"
        )
    graph_states, initial = [], None
    if states_in:
        initial = given_states(ctx, layer.name, spec, states_in)
    elif stateful_io(ctx, layer.name, config):
        graph_states, initial = state_io_inputs(ctx, layer.name, spec)

    packing = None
    if x.mask is not None:
        if config.get("time_major"):
            raise UnsupportedModelError(f"layer {layer.name!r}: masked time_major input")
        # Keras runs go_backwards on the reversed steps and mask; do the same, forwards.
        x_tm, packing = packed_input(ctx, layer.name, x, backwards=_backwards(config))
        keep_cell = bool(config.get("return_state")) or bool(graph_states)
        seq_tm, last_output, state_values = masked_node(
            ctx, layer.name, x_tm, spec, packing, initial, keep_cell
        )
    else:
        seq_tm, last_output, state_values = _unmasked_node(ctx, layer, x, spec, initial)
    for graph_input, value in zip(graph_states, state_values, strict=False):
        ctx.expose_state(graph_input, value)

    if not config.get("return_sequences"):
        value = last_output
    elif packing is not None:
        value = _unpacked(ctx, layer, seq_tm, packing, x)
    else:
        value = seq_tm
    states = list(zip(state_values, [spec.units] * len(state_values), spec.state_labels))
    outputs = [(value, spec.units, "")]
    unpacked = packing is not None
    return keras_outputs(ctx, layer.name, config, inputs[0], outputs, states, unpacked)


def _backwards(config: dict[str, Any]) -> bool:
    return bool(config.get("go_backwards", False))


def _unmasked_node(
    ctx: ExportContext, layer: Layer, x: Tensor, spec: CellSpec, initial: list[str] | None
) -> tuple[str, str, list[str]]:
    """The node over every step: (sequence [T, B, U], last output, final states)."""
    x_tm = sequence_input(ctx, layer, x)
    if _backwards(layer.config):
        # Reverse X and run forwards (direction="reverse" is miscomputed by tract and
        # OpenCV): Y then comes out in processing order, which is what Keras returns.
        x_tm = reverse(ctx, x_tm, 0, f"{layer.name}_reverse")
    y, *states = emit_node(ctx, layer.name, x_tm, [spec], "forward", initial)
    seq_tm = squeeze(ctx, y, 1, f"{layer.name}_seq")
    state_values = [
        squeeze(ctx, state, 0, f"{layer.name}_{label}")
        for state, label in zip(states, spec.state_labels, strict=True)
    ]
    return seq_tm, state_values[0], state_values


def _unpacked(ctx: ExportContext, layer: Layer, seq_tm: str, p: Packing, x: Tensor) -> str:
    """A masked layer's packed sequence as Keras's batch-first one; forwards, the packed
    view is remembered for the next recurrent layer (see ``packed_input``)."""
    zero_output = bool(layer.config.get("zero_output_for_mask", False))
    name = unpack(ctx, seq_tm, p, layer.name, zero_output)
    if not _backwards(layer.config):
        assert x.mask is not None
        ctx.packed_views[name] = (seq_tm, x.mask)
    return name


Output = tuple[str, int, str]  # (value, feature size, role: see Tensor.role)


def keras_outputs(
    ctx: ExportContext,
    name: str,
    config: dict[str, Any],
    x: Tensor,
    values: list[Output],
    states: list[Output],
    unpacked: bool,
) -> list[Tensor]:
    """A recurrent layer's outputs shaped as Keras returns them (shared by the one-way
    and Bidirectional converters).

    ``config`` is the (wrapped) recurrent layer's, ``x`` the layer's input as called.
    ``values`` are the last outputs, or with ``return_sequences`` the sequences: already
    batch-first when ``unpacked`` (masked), else time-major. ``states`` are the final
    states, appended with ``return_state``. A returned sequence carries ``x``'s mask, as
    in Keras (even when Keras 3 ran the layer unmasked: see ``unmasked_by_keras3``).
    """
    keep_time_major = bool(config.get("time_major"))
    batch, steps = (x.shape[1], x.shape[0]) if keep_time_major else x.shape[:2]
    sequences = bool(config.get("return_sequences"))
    outputs = []
    for value, width, role in values:
        if not sequences:
            outputs.append(Tensor(value, (batch, width), role=role))
        elif keep_time_major:
            outputs.append(Tensor(value, (steps, batch, width), mask=x.mask, role=role))
        else:
            value = value if unpacked else batch_first(ctx, value, 3, name)
            outputs.append(Tensor(value, (batch, steps, width), mask=x.mask, role=role))
    if config.get("return_state"):
        outputs += [Tensor(state, (batch, units), role=role) for state, units, role in states]
    return outputs


def masked_node(
    ctx: ExportContext,
    name: str,
    x_tm: str,
    spec: CellSpec,
    p: Packing,
    initial: list[str] | None,
    keep_cell: bool,
) -> tuple[str, str, list[str]]:
    """A forward node over packed steps, run for all T (portable: no sequence_lens).

    Returns the packed sequence [T, B, U] (exact up to each row's length), the last
    output (zeros for a row with no valid step, as Keras) and the final states at each
    row's last valid step (the initial states for a row with none): ``h`` picked from the
    sequence, an LSTM's ``c`` held through the padding by a padding-flag input (see
    ``hold_on_padding``) when ``keep_cell`` says the cell state is used.
    """
    b = ctx.builder
    if spec.op == "LSTM" and keep_cell:
        x_tm = b.op("Concat", [x_tm, p.padding_tm], f"{name}_flagged", axis=2)
        spec = hold_on_padding(spec)
    y, *states = emit_node(ctx, name, x_tm, [spec], "forward", initial)
    seq_tm = squeeze(ctx, y, 1, f"{name}_seq")
    last_output = last_valid(ctx, seq_tm, p, f"{name}_h")
    h = last_valid(ctx, seq_tm, p, f"{name}_h", initial[0]) if initial else last_output
    values = [h] + [squeeze(ctx, state, 0, f"{name}_c") for state in states[1:]]
    return seq_tm, last_output, values


# Weight of the padding flag on the LSTM's input (i) and forget (f) gates: sigmoid
# saturates to exactly 0 and 1 at this size in float32, so on padded steps
# c = 1 * c + 0 * g keeps the cell state bit for bit.
HOLD_WEIGHT = 1e8


def hold_on_padding(spec: CellSpec) -> CellSpec:
    """The LSTM with one more input column, the padding flag, that freezes ``c``."""
    u = spec.units
    column = np.zeros((spec.W.shape[0], 1), np.float32)
    gate = {g: slice(k * u, (k + 1) * u) for k, g in enumerate(LSTM.onnx_gates)}
    column[gate["i"]] = -HOLD_WEIGHT
    column[gate["f"]] = HOLD_WEIGHT
    return replace(spec, W=append_columns(spec.W, column), padding_flag=True)


def packed_input(ctx: ExportContext, name: str, x: Tensor, backwards: bool) -> tuple[str, Packing]:
    """A masked input, packed time-major, with its Packing (see mask_pack.py)."""
    assert x.mask is not None
    if backwards:
        mask = reverse(ctx, x.mask, 1, f"{name}_mask_reversed")
        data = reverse(ctx, x.name, 1, f"{name}_reversed")
        p = packing(ctx, mask)
        return pack(ctx, data, p, name), p
    p = packing(ctx, x.mask)
    view = ctx.packed_views.get(x.name)
    if view is not None and view[1] == x.mask:
        return view[0], p  # the previous layer's packed outputs: no unpack + repack
    return pack(ctx, x.name, p, name), p
