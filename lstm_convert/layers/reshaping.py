"""Flatten, Reshape, RepeatVector, Permute and the 1-D global poolings."""

from __future__ import annotations

import math

from ..errors import UnsupportedModelError
from ..export.builder import Tensor
from ..export.context import ExportContext
from ..model import Call, Layer, check_dim
from .ops import mask_weight, reduce
from .registry import converter


@converter("Flatten")
def convert_flatten(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor]:
    x = inputs[0]
    rest = x.shape[1:]
    size = math.prod(rest) if all(isinstance(d, int) for d in rest) else None
    value = ctx.builder.op("Flatten", [x.name], layer.name, axis=1)
    return [Tensor(value, (x.shape[0], size), x.dtype)]


@converter("Reshape")
def convert_reshape(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor]:
    x = inputs[0]
    target = [int(d) for d in layer.config["target_shape"]]
    for d in target:
        if d != -1:
            check_dim(d, f"layer {layer.name!r} target_shape", allow_none=False)
    if -1 in target:
        known = x.shape[1:]
        if all(isinstance(d, int) for d in known):
            fixed = math.prod(d for d in target if d != -1)
            target_shape = [math.prod(known) // fixed if d == -1 else d for d in target]
        else:
            target_shape = [None if d == -1 else d for d in target]
    else:
        target_shape = target
    b = ctx.builder
    value = b.op("Reshape", [x.name, b.const_i64([0, *target])], layer.name)
    return [Tensor(value, (x.shape[0], *target_shape), x.dtype)]


@converter("RepeatVector")
def convert_repeat_vector(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor]:
    x = inputs[0]
    n = layer.config["n"]
    check_dim(n, f"layer {layer.name!r} n", allow_none=False)
    b = ctx.builder
    expanded = b.op("Unsqueeze", [x.name, b.const_i64([1])], layer.name)
    value = b.op("Tile", [expanded, b.const_i64([1, n, 1])], layer.name)
    return [Tensor(value, (x.shape[0], n, x.shape[1]), x.dtype)]


@converter("Permute")
def convert_permute(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor]:
    x = inputs[0]
    dims = [int(d) for d in layer.config["dims"]]
    value = ctx.builder.op("Transpose", [x.name], layer.name, perm=[0, *dims])
    return [Tensor(value, (x.shape[0], *(x.shape[d] for d in dims)), x.dtype)]


@converter("GlobalAveragePooling1D", "GlobalMaxPooling1D")
def convert_global_pooling(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor]:
    x = inputs[0]
    if layer.config.get("data_format", "channels_last") != "channels_last":
        raise UnsupportedModelError(f"layer {layer.name!r}: only channels_last is supported")
    keep = int(bool(layer.config.get("keepdims", False)))
    b = ctx.builder
    if x.mask is not None and layer.class_name == "GlobalAveragePooling1D":
        # Keras averages over the valid steps only.
        weight = mask_weight(ctx, x.mask, layer.name)
        total = reduce(
            ctx, "ReduceSum", b.op("Mul", [x.name, weight], layer.name), [1], layer.name, keep
        )
        count = reduce(ctx, "ReduceSum", weight, [1], layer.name, keep)
        value = b.op("Div", [total, count], layer.name)
    else:
        op = "ReduceMean" if layer.class_name == "GlobalAveragePooling1D" else "ReduceMax"
        value = reduce(ctx, op, x.name, [1], layer.name, keep)
    shape = (x.shape[0], 1, x.shape[2]) if keep else (x.shape[0], x.shape[2])
    return [Tensor(value, shape, x.dtype)]
