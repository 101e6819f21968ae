"""Keras Bidirectional(LSTM|GRU|SimpleRNN) -> one ONNX node, direction="bidirectional"."""

from __future__ import annotations

from ..errors import UnsupportedModelError
from ..export.builder import Tensor
from ..export.context import ExportContext
from ..model import Call, Layer
from ..weightspec import inner_layer_configs, weight_names
from .recurrent import (
    build_spec,
    emit_node,
    gather,
    sequence_input,
    state_io_inputs,
)
from .registry import converter

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


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


@converter("Bidirectional")
def convert_bidirectional(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor]:
    config = layer.config
    forward, backward = inner_layer_configs(config)
    fwd_cfg, bwd_cfg = forward["config"], backward["config"]
    mode = config.get("merge_mode", "concat")
    if mode not in MERGE_MODES:
        raise UnsupportedModelError(f"layer {layer.name!r}: unknown merge_mode {mode!r}")
    if forward["class_name"] != backward["class_name"]:
        raise UnsupportedModelError(
            f"layer {layer.name!r}: forward and backward layers of different classes "
            "cannot share one ONNX node"
        )
    if fwd_cfg.get("go_backwards") or ("backward_layer" in config and not bwd_cfg.get("go_backwards")):
        raise UnsupportedModelError(
            f"layer {layer.name!r}: a Bidirectional whose forward layer runs backwards "
            "is not supported"
        )
    if len(inputs) != 1 or call.kwargs.get("initial_state") is not None:
        raise UnsupportedModelError(
            f"layer {layer.name!r}: initial states passed as inputs are not supported"
        )
    x = inputs[0]
    if x.mask is not None:
        raise UnsupportedModelError(f"layer {layer.name!r}: masked inputs are not supported yet")

    n_forward = len(weight_names(forward["class_name"], fwd_cfg) or [])
    specs = [
        build_spec(layer.name, forward["class_name"], fwd_cfg, layer.weights[:n_forward], ctx),
        build_spec(layer.name, backward["class_name"], bwd_cfg, layer.weights[n_forward:], ctx),
    ]
    if specs[0].units != specs[1].units:
        raise UnsupportedModelError(f"layer {layer.name!r}: directions have different units")
    units = specs[0].units
    x_tm = sequence_input(ctx, Layer(layer.name, layer.class_name, fwd_cfg), x)

    graph_states, initial = [], None
    if ctx.options.state_io:
        f_inputs, f_values = state_io_inputs(ctx, layer.name, specs[0], "forward_")
        b_inputs, b_values = state_io_inputs(ctx, layer.name, specs[1], "backward_")
        graph_states = f_inputs + b_inputs
        initial = [
            ctx.builder.op("Concat", [fv, bv], f"{layer.name}_initial", axis=0)
            for fv, bv in zip(f_values, b_values, strict=True)
        ]
    y, *states = emit_node(ctx, layer.name, x_tm, specs, "bidirectional", initial)

    time_major = bool(fwd_cfg.get("time_major"))
    batch, steps = (x.shape[1], x.shape[0]) if time_major else x.shape[:2]
    labels = specs[0].state_labels
    state_values = [
        gather(ctx, state, direction, 0, f"{layer.name}_{prefix}_{label}")
        for direction, prefix in ((0, "forward"), (1, "backward"))
        for state, label in zip(states, labels, strict=True)
    ]
    for graph_input, value in zip(graph_states, state_values, strict=False):
        ctx.expose_state(graph_input, value)

    width = 2 * units if mode == "concat" else units
    if fwd_cfg.get("return_sequences"):
        # ONNX already aligns the backward outputs with input time, as Keras does.
        fwd = gather(ctx, y, 0, 1, f"{layer.name}_forward_seq")
        bwd = gather(ctx, y, 1, 1, f"{layer.name}_backward_seq")
        merged_tm = merge(ctx, mode, fwd, bwd, layer.name)
        if time_major:
            outputs = [Tensor(m, (steps, batch, width)) for m in merged_tm]
        else:
            outputs = [
                Tensor(ctx.builder.batch_first(m, 3, layer.name), (batch, steps, width))
                for m in merged_tm
            ]
    else:
        fwd, bwd = state_values[0], state_values[len(labels)]
        outputs = [Tensor(m, (batch, width)) for m in merge(ctx, mode, fwd, bwd, layer.name)]
    if fwd_cfg.get("return_state"):
        outputs += [Tensor(value, (batch, units)) for value in state_values]
    return outputs
