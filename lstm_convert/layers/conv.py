"""Conv1D and Conv2D (channels_last), as one ONNX ``Conv`` between two Transposes."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import UnsupportedModelError, WeightsError
from ..export.builder import Dim, Tensor
from ..export.context import ExportContext
from ..model import Call, Layer
from .ops import apply_activation
from .registry import converter

# Keras kernels are [*window, in/groups, filters]; ONNX wants [filters, in/groups, *window].
KERNEL_TO_ONNX = {1: (2, 1, 0), 2: (3, 2, 0, 1), 3: (4, 3, 0, 1, 2)}


def as_tuple(value: object, rank: int, what: str, layer: Layer) -> tuple[int, ...]:
    """A Keras int-or-sequence option (``kernel_size=3`` or ``(3, 3)``) as ``rank`` ints."""
    items = list(value) if isinstance(value, (list, tuple)) else [value] * rank
    if len(items) != rank or not all(isinstance(v, int) and 0 < v <= 2**16 for v in items):
        raise UnsupportedModelError(f"layer {layer.name!r}: {what} {value!r} is not valid")
    return tuple(items)


def require_channels_last(layer: Layer) -> None:
    if layer.config.get("data_format", "channels_last") not in ("channels_last", None):
        raise UnsupportedModelError(
            f"layer {layer.name!r}: data_format {layer.config.get('data_format')!r} is not "
            "supported (only channels_last)"
        )


def to_channels_first(ctx: ExportContext, x: Tensor, name: str) -> str:
    rank = x.rank
    return ctx.builder.op("Transpose", [x.name], name, perm=[0, rank - 1, *range(1, rank - 1)])


def to_channels_last(ctx: ExportContext, value: str, rank: int, name: str) -> str:
    return ctx.builder.op("Transpose", [value], name, perm=[0, *range(2, rank), 1])


def window_output(size: Dim, window: int, stride: int, dilation: int, padding: str) -> Dim:
    """Keras's output length along one spatial axis (None when the input length is unknown)."""
    if not isinstance(size, int):
        return None
    if padding in ("same", "causal"):  # causal pads (window - 1) * dilation on the left
        return math.ceil(size / stride)
    return (size - (window - 1) * dilation - 1) // stride + 1


def padding_attrs(padding: str, windows, dilations) -> dict:
    """ONNX padding attributes for Keras's ``valid``, ``same`` and ``causal``.

    TensorFlow's "same" puts the odd extra pad at the end, as ONNX ``SAME_UPPER`` does.
    """
    if padding == "valid":
        return {}
    totals = [(k - 1) * d for k, d in zip(windows, dilations, strict=True)]
    if padding == "causal":
        return {"pads": [*totals, *([0] * len(totals))]}
    if all(d == 1 for d in dilations):
        return {"auto_pad": "SAME_UPPER"}
    # onnxruntime refuses SAME_* with dilations; Keras allows dilation only with stride 1,
    # where "same" pads (window - 1) * dilation cells whatever the length.
    return {"pads": [*(t // 2 for t in totals), *(t - t // 2 for t in totals)]}


@dataclass(frozen=True)
class ConvSpec:
    """A Keras convolution's options, checked."""

    windows: tuple[int, ...]
    strides: tuple[int, ...]
    dilations: tuple[int, ...]
    groups: int
    padding: str
    filters: int


def conv_spec(layer: Layer, spatial: int) -> ConvSpec:
    config = layer.config
    require_channels_last(layer)
    strides = as_tuple(config.get("strides", 1), spatial, "strides", layer)
    dilations = as_tuple(config.get("dilation_rate", 1), spatial, "dilation_rate", layer)
    if any(s > 1 for s in strides) and any(d > 1 for d in dilations):
        raise UnsupportedModelError(
            f"layer {layer.name!r}: strides and dilation_rate both above 1 (Keras refuses it too)"
        )
    padding = str(config.get("padding", "valid")).lower()
    if padding not in ("valid", "same", "causal") or (padding == "causal" and spatial != 1):
        raise UnsupportedModelError(f"layer {layer.name!r}: padding {padding!r} not supported")
    filters = config.get("filters")
    if not isinstance(filters, int) or isinstance(filters, bool) or not 0 < filters <= 2**20:
        raise UnsupportedModelError(f"layer {layer.name!r}: filters {filters!r} is not valid")
    groups = config.get("groups") or 1
    if not isinstance(groups, int) or groups < 1 or filters % groups:
        raise UnsupportedModelError(f"layer {layer.name!r}: groups {groups!r} is not valid")
    windows = as_tuple(config.get("kernel_size"), spatial, "kernel_size", layer)
    return ConvSpec(windows, strides, dilations, groups, padding, filters)


def conv_weights(layer: Layer, x: Tensor, spec: ConvSpec) -> list[np.ndarray]:
    """The kernel in ONNX layout ``[filters, in/groups, *window]``, and the bias if any."""
    use_bias = layer.config.get("use_bias", True)
    if len(layer.weights) != (2 if use_bias else 1):
        raise WeightsError(f"layer {layer.name!r} ({layer.class_name}) has bad weight arrays")
    kernel = np.asarray(layer.weights[0], np.float32)
    channels = x.shape[-1]
    per_group = channels // spec.groups if isinstance(channels, int) else kernel.shape[-2]
    expected = (*spec.windows, per_group, spec.filters)
    if kernel.shape != expected:
        raise WeightsError(f"layer {layer.name!r}: kernel shape {kernel.shape} != {expected}")
    arrays = [kernel.transpose(KERNEL_TO_ONNX[len(spec.windows)])]
    if use_bias:
        bias = np.asarray(layer.weights[1], np.float32)
        if bias.shape != (spec.filters,):
            raise WeightsError(f"layer {layer.name!r}: bias {bias.shape} != ({spec.filters},)")
        arrays.append(bias)
    return arrays


@converter("Conv1D", "Conv2D")
def convert_conv(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor]:
    x = inputs[0]
    spatial = 1 if layer.class_name == "Conv1D" else 2
    if x.rank != spatial + 2:
        raise UnsupportedModelError(f"layer {layer.name!r}: input rank {x.rank} != {spatial + 2}")
    spec = conv_spec(layer, spatial)
    b = ctx.builder
    arrays = conv_weights(layer, x, spec)
    names = [f"{layer.name}_kernel", f"{layer.name}_bias"]
    operands = [to_channels_first(ctx, x, f"{layer.name}_in")]
    operands += [b.initializer(n, a) for n, a in zip(names, arrays, strict=False)]
    value = b.op(
        "Conv",
        operands,
        layer.name,
        kernel_shape=list(spec.windows),
        strides=list(spec.strides),
        dilations=list(spec.dilations),
        group=spec.groups,
        **padding_attrs(spec.padding, spec.windows, spec.dilations),
    )
    value = to_channels_last(ctx, value, x.rank, f"{layer.name}_out")
    value = apply_activation(ctx, value, layer.config.get("activation"), f"{layer.name}_act")
    dims = [
        window_output(size, k, s, d, spec.padding)
        for size, k, s, d in zip(
            x.shape[1:-1], spec.windows, spec.strides, spec.dilations, strict=True
        )
    ]
    # Keras's convolutions drop any incoming mask (they do not support masking).
    return [Tensor(value, (x.shape[0], *dims, spec.filters), "float32")]
