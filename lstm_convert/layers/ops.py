"""Small ONNX building blocks shared by the non-recurrent converters."""

from __future__ import annotations

from onnx import TensorProto

from ..activations import hard_sigmoid_slope, keras_activation_name
from ..errors import UnsupportedModelError
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
