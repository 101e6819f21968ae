"""ConvLSTM1D/2D/3D, unrolled over their fixed number of time steps.

ONNX has no fused convolutional LSTM, so each step is written out: the input convolution
of every step is one Conv over time folded into batch, then per step one recurrent Conv
(Keras's ``padding="same"``, stride 1) and the LSTM gates (Keras order i, f, c, o).
A sequence whose length is only known at run time would need a Scan; that is refused.
"""

from __future__ import annotations

import numpy as np

from ..errors import UnsupportedModelError, WeightsError
from ..export.builder import Tensor
from ..export.context import ExportContext
from ..model import Call, Layer
from .conv import KERNEL_TO_ONNX, conv_spec, padding_attrs, to_channels_first, window_output
from .ops import apply_activation
from .registry import converter
from .time_distributed import fold_time

KERAS_GATES = ("i", "f", "c", "o")
SPATIAL = {"ConvLSTM1D": 1, "ConvLSTM2D": 2, "ConvLSTM3D": 3}
MAX_UNROLLED_STEPS = 256


def _weights(layer: Layer, channels: int, spec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Input kernel, recurrent kernel (ONNX layout) and bias."""
    use_bias = layer.config.get("use_bias", True)
    if len(layer.weights) != (3 if use_bias else 2):
        raise WeightsError(f"layer {layer.name!r} ({layer.class_name}) has bad weight arrays")
    kernel, recurrent = (np.asarray(w, np.float32) for w in layer.weights[:2])
    f4 = 4 * spec.filters
    if kernel.shape != (*spec.windows, channels, f4) or recurrent.shape[-2:] != (
        spec.filters,
        f4,
    ):
        raise WeightsError(f"layer {layer.name!r}: kernels {kernel.shape}, {recurrent.shape}")
    bias = np.asarray(layer.weights[2], np.float32) if use_bias else np.zeros(f4, np.float32)
    if bias.shape != (f4,):
        raise WeightsError(f"layer {layer.name!r}: bias shape {bias.shape} != ({f4},)")
    perm = KERNEL_TO_ONNX[len(spec.windows)]
    return kernel.transpose(perm), recurrent.transpose(perm), bias


def _check(layer: Layer, x: Tensor) -> int:
    spatial = SPATIAL[layer.class_name]
    if x.rank != spatial + 3:
        raise UnsupportedModelError(f"layer {layer.name!r}: input rank {x.rank} != {spatial + 3}")
    if x.mask is not None:
        raise UnsupportedModelError(f"layer {layer.name!r}: a masked {layer.class_name}")
    if layer.config.get("stateful"):
        raise UnsupportedModelError(f"layer {layer.name!r}: a stateful {layer.class_name}")
    steps = x.shape[1]
    if not isinstance(steps, int):
        raise UnsupportedModelError(
            f"layer {layer.name!r}: {layer.class_name} has no fused ONNX op and is unrolled over a "
            "fixed number of time steps; this input's time length is not fixed (a Scan "
            "would be needed, which lstm-convert does not emit)"
        )
    if steps > MAX_UNROLLED_STEPS:
        raise UnsupportedModelError(
            f"layer {layer.name!r}: {steps} time steps is too many to unroll "
            f"(limit {MAX_UNROLLED_STEPS})"
        )
    return steps


def _step(ctx, layer, projected: str, h: str | None, c: str | None, rk: str, spec):
    """One ConvLSTM step on channels-first tensors; returns (h, c)."""
    b = ctx.builder
    name = layer.name
    z = projected
    if h is not None:  # the zero initial state contributes nothing
        pads = padding_attrs("same", spec.windows, [1] * len(spec.windows))
        z = b.op(
            "Add", [z, b.op("Conv", [h, rk], name, kernel_shape=list(spec.windows), **pads)], name
        )
    parts = b.node("Split", [z, b.const_i64([spec.filters] * 4)], 4, name, axis=1)
    gates = dict(zip(KERAS_GATES, parts, strict=True))
    config = layer.config
    act, rec = config.get("activation", "tanh"), config.get("recurrent_activation", "sigmoid")
    i = apply_activation(ctx, gates["i"], rec, f"{name}_i")
    candidate = b.op("Mul", [i, apply_activation(ctx, gates["c"], act, f"{name}_g")], name)
    if c is not None:
        f = apply_activation(ctx, gates["f"], rec, f"{name}_f")
        candidate = b.op("Add", [b.op("Mul", [f, c], name), candidate], name)
    o = apply_activation(ctx, gates["o"], rec, f"{name}_o")
    h = b.op("Mul", [o, apply_activation(ctx, candidate, act, f"{name}_h")], name)
    return h, candidate


@converter(*SPATIAL)
def convert_conv_lstm(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor]:
    x = inputs[0]
    steps = _check(layer, x)
    spatial = SPATIAL[layer.class_name]
    spec = conv_spec(layer, spatial)
    if spec.groups != 1:
        raise UnsupportedModelError(f"layer {layer.name!r}: grouped {layer.class_name}")
    kernel, recurrent, bias = _weights(layer, x.shape[-1], spec)
    b = ctx.builder
    # All steps' input convolutions at once: [batch * time, 4 * filters, *spatial].
    folded = fold_time(ctx, x, layer.name)
    nchw = to_channels_first(ctx, folded, layer.name)
    operands = [nchw, b.initializer(f"{layer.name}_kernel", kernel)]
    operands.append(b.initializer(f"{layer.name}_bias", bias))
    conv = b.op(
        "Conv",
        operands,
        layer.name,
        kernel_shape=list(spec.windows),
        strides=list(spec.strides),
        dilations=list(spec.dilations),
        **padding_attrs(spec.padding, spec.windows, spec.dilations),
    )
    dims = [
        window_output(size, k, s, d, spec.padding)
        for size, k, s, d in zip(
            x.shape[2:-1], spec.windows, spec.strides, spec.dilations, strict=True
        )
    ]
    if not all(isinstance(d, int) for d in dims):
        raise UnsupportedModelError(f"layer {layer.name!r}: needs fixed spatial sizes")
    target = b.const_i64([-1, steps, 4 * spec.filters, *dims])
    per_step = b.op("Reshape", [conv, target], layer.name)
    ctx.notes.append(
        f"layer {layer.name!r} ({layer.class_name}) has no fused ONNX op: unrolled over its "
        f"{steps} time steps (not a Scan)"
    )
    rk = b.initializer(f"{layer.name}_recurrent_kernel", recurrent)
    order = range(steps - 1, -1, -1) if layer.config.get("go_backwards") else range(steps)
    h = c = None
    outputs = []
    for t in order:
        projected = b.op("Gather", [per_step, b.const_i64([t])], layer.name, axis=1)
        projected = b.op("Squeeze", [projected, b.const_i64([1])], layer.name)
        h, c = _step(ctx, layer, projected, h, c, rk, spec)
        outputs.append(h)
    return _results(ctx, layer, x, outputs, h, c, (*dims, spec.filters))


def _results(ctx, layer, x, outputs, h, c, out_shape) -> list[Tensor]:
    """Keras's outputs, channels last: the sequence or the last h, then h and c if asked."""
    b = ctx.builder
    spatial = len(out_shape) - 1
    to_last = [0, *range(2, spatial + 2), 1]
    if layer.config.get("return_sequences"):
        stacked = [b.op("Unsqueeze", [o, b.const_i64([1])], layer.name) for o in outputs]
        sequence = b.op("Concat", stacked, layer.name, axis=1)
        perm = [0, 1, *range(3, spatial + 3), 2]
        value = b.op("Transpose", [sequence], layer.name, perm=perm)
        result = [Tensor(value, (x.shape[0], x.shape[1], *out_shape), "float32")]
    else:
        value = b.op("Transpose", [h], layer.name, perm=to_last)
        result = [Tensor(value, (x.shape[0], *out_shape), "float32")]
    result[0].role = ""
    if layer.config.get("return_state"):
        for state, role in ((h, "h"), (c, "c")):
            value = b.op("Transpose", [state], f"{layer.name}_state", perm=to_last)
            result.append(Tensor(value, (x.shape[0], *out_shape), "float32", role=role))
    return result
