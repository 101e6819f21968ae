"""Small ONNX building blocks shared by the converters: every generic graph helper
(activations, masks, reductions, reversal, layout changes) lives here."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper

from ..activations import hard_sigmoid_slope, keras_activation_name
from ..errors import UnsupportedModelError
from ..export.builder import Tensor
from ..export.context import ExportContext

INT64_MIN = -(2**63)  # Slice "to the start" when stepping backwards

DENSE_ACTIVATIONS = (
    "linear",
    "relu",
    "sigmoid",
    "tanh",
    "softmax",
    "softplus",
    "softsign",
    "elu",
    "selu",
    "hard_sigmoid",
    "exponential",
    "swish",
    "silu",
)


def apply_activation(ctx: ExportContext, value: str, activation: object, name: str) -> str:
    """A Keras activation as standalone ONNX ops."""
    key = keras_activation_name(activation)
    b = ctx.builder
    simple = {
        "relu": "Relu",
        "sigmoid": "Sigmoid",
        "tanh": "Tanh",
        "softplus": "Softplus",
        "softsign": "Softsign",
        "exponential": "Exp",
    }
    if key == "linear":
        return value
    if key in simple:
        return b.op(simple[key], [value], name)
    if key == "softmax":
        return b.op("Softmax", [value], name, axis=-1)
    if key == "elu":
        return b.op("Elu", [value], name, alpha=1.0)
    if key == "selu":
        return b.op("Selu", [value], name, alpha=1.6732632423543772, gamma=1.0507009873554805)
    if key == "hard_sigmoid":
        alpha = hard_sigmoid_slope(ctx.keras_major)
        return b.op("HardSigmoid", [value], name, alpha=alpha, beta=0.5)
    if key in ("swish", "silu"):
        gate = b.op("Sigmoid", [value], f"{name}_gate")
        return b.op("Mul", [value, gate], name)
    raise UnsupportedModelError(
        f"layer {name!r}: activation {key!r} is not supported "
        f"(supported: {', '.join(DENSE_ACTIVATIONS)})"
    )


def mask_weight(ctx: ExportContext, mask: str, name: str) -> str:
    """A bool ``[batch, time]`` mask as float ``[batch, time, 1]``: 1 valid, 0 masked."""
    b = ctx.builder
    expanded = b.op("Unsqueeze", [mask, b.const_i64([-1])], name)
    return b.op("Cast", [expanded], f"{name}_weight", to=TensorProto.FLOAT)


def reduce(ctx: ExportContext, op: str, value: str, axes: list[int], name: str, keep: int) -> str:
    """ReduceX across opsets: axes became an input in opset 18 (ReduceSum: 13)."""
    b = ctx.builder
    if op == "ReduceSum" or ctx.options.opset >= 18:
        return b.op(op, [value, b.const_i64(axes)], name, keepdims=keep)
    return b.op(op, [value], name, axes=axes, keepdims=keep)


def any_along(ctx: ExportContext, flags: str, axis: int, keep: bool, name: str) -> str:
    """Logical any of a bool tensor along ``axis`` (ONNX has no ReduceAny)."""
    b = ctx.builder
    as_int = b.op("Cast", [flags], name, to=TensorProto.INT32)
    reduced = reduce(ctx, "ReduceMax", as_int, [axis], name, int(keep))
    return b.op("Cast", [reduced], name, to=TensorProto.BOOL)


def as_bool(ctx: ExportContext, tensor: Tensor, name: str) -> str:
    """``tensor`` as bool (nonzero is true); a bool tensor is returned as is."""
    if tensor.dtype == "bool":
        return tensor.name
    return ctx.builder.op("Cast", [tensor.name], f"{name}_bool", to=TensorProto.BOOL)


def ones_like(ctx: ExportContext, value: str, name: str) -> str:
    """A float tensor of ``value``'s (runtime) shape, filled with ones."""
    b = ctx.builder
    constant = helper.make_tensor("fill_1", TensorProto.FLOAT, [1], [1.0])
    return b.op("ConstantOfShape", [b.op("Shape", [value], name)], name, value=constant)


def reverse(ctx: ExportContext, value: str, axis: int, name: str) -> str:
    """``value`` reversed along ``axis`` (a Slice with step -1)."""
    b = ctx.builder
    starts, ends = b.const_i64([-1]), b.const_i64([INT64_MIN])
    return b.op("Slice", [value, starts, ends, b.const_i64([axis]), b.const_i64([-1])], name)


def squeeze(ctx: ExportContext, value: str, axis: int, name: str) -> str:
    return ctx.builder.op("Squeeze", [value, ctx.builder.const_i64([axis])], name)


def gather(ctx: ExportContext, value: str, index: int, axis: int, name: str) -> str:
    """Entry ``index`` of ``value`` along ``axis``, that axis dropped."""
    b = ctx.builder
    key = b.initializer(f"index_{index}", np.asarray(index, dtype=np.int64))
    return b.op("Gather", [value, key], name, axis=axis)


# -- time-major views --------------------------------------------------------------------
# ONNX recurrent ops take [time, batch, features]; Keras tensors are batch-first.
# Recording both views on the export context lets stacked recurrent layers skip the
# Transpose pair between them; unused Transposes are pruned at the end.


def time_major(ctx: ExportContext, tensor: Tensor, name: str) -> str:
    """``tensor`` ([batch, time, ...]) as [time, batch, ...], transposed once per value."""
    views = ctx.time_major_views
    if tensor.name not in views:
        perm = [1, 0, *range(2, tensor.rank)]
        views[tensor.name] = ctx.builder.op("Transpose", [tensor.name], name, perm=perm)
    return views[tensor.name]


def batch_first(ctx: ExportContext, time_major_name: str, rank: int, name: str) -> str:
    """A time-major value as [batch, time, ...], remembering the time-major view."""
    perm = [1, 0, *range(2, rank)]
    batch_name = ctx.builder.op("Transpose", [time_major_name], name, perm=perm)
    ctx.time_major_views[batch_name] = time_major_name
    return batch_name
