"""Keras masks inside the graph: Masking, and explicit ``x != value`` mask layers.

A mask travels with its tensor as a bool ``[batch, time]`` value (``Tensor.mask``);
Embedding(mask_zero=True) makes one too (see core.py). Recurrent layers consume it
through ``mask_pack.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import UnsupportedModelError
from ..export.builder import Tensor
from ..export.context import ExportContext
from ..model import Call, Layer, constant_operand
from .ops import any_along, mask_weight
from .registry import converter


@converter("Masking")
def convert_masking(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor]:
    x = inputs[0]
    b = ctx.builder
    value = b.initializer(
        f"{layer.name}_mask_value", np.asarray(layer.config.get("mask_value", 0.0), np.float32)
    )
    differs = b.op("Not", [b.op("Equal", [x.name, value], layer.name)], layer.name)
    mask = any_along(ctx, differs, -1, False, f"{layer.name}_mask")  # any(x != v, axis=-1)
    # Keras also zeroes the masked steps.
    weight = mask_weight(ctx, mask, layer.name)
    zeroed = b.op("Mul", [x.name, weight], layer.name)
    return [Tensor(zeroed, x.shape, x.dtype, mask)]


def _scalar_like(ctx: ExportContext, tensor: Tensor, value: Any, name: str) -> str:
    dtype = {"int32": np.int32, "int64": np.int64}.get(tensor.dtype, np.float32)
    return ctx.builder.initializer(name, np.asarray(value, dtype=dtype))


def not_equal(ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call) -> list[Tensor]:
    x = inputs[0]
    b = ctx.builder
    if len(inputs) > 1:
        other = inputs[1].name
    else:
        other = _scalar_like(ctx, x, constant_operand(layer, call), f"{layer.name}_operand")
    value = b.op("Not", [b.op("Equal", [x.name, other], layer.name)], layer.name)
    return [Tensor(value, x.shape, "bool")]


# Keras 3 writes ``keras.ops.not_equal`` as an op layer of class NotEqual.
converter("NotEqual")(not_equal)


@converter("Any")
def convert_any(ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call) -> list[Tensor]:
    """Keras 3's ``keras.ops.any`` op layer (how a Functional Masking computes its mask)."""
    x = inputs[0]
    axis = layer.config.get("axis", -1)
    keep = bool(layer.config.get("keepdims", False))
    if not isinstance(axis, int):
        raise UnsupportedModelError(f"layer {layer.name!r}: Any over several axes")
    value = any_along(ctx, x.name, axis, keep, layer.name)
    position = axis % x.rank
    if keep:
        shape = tuple(1 if i == position else d for i, d in enumerate(x.shape))
    else:
        shape = tuple(d for i, d in enumerate(x.shape) if i != position)
    return [Tensor(value, shape, "bool")]


# tf.keras writes TF ops as TFOpLambda with a function *name* (data, not code). Only
# names on this list are converted; nothing is ever imported or unmarshalled.
TF_OPS = {"math.not_equal": not_equal}


@converter("TFOpLambda")
def convert_tf_op(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor]:
    from .keras_ops import TF_FUNCTIONS, tf_function

    function = layer.config.get("function")
    fn = TF_OPS.get(function) if isinstance(function, str) else None
    if fn is not None:
        return fn(ctx, layer, inputs, call)
    converted = tf_function(ctx, layer, inputs, call)
    if converted is None:
        known = ", ".join(sorted([*TF_OPS, *TF_FUNCTIONS]))
        raise UnsupportedModelError(
            f"layer {layer.name!r} (TFOpLambda {function!r}) blocks the conversion: only "
            f"{known} are supported as tf ops"
        )
    return converted
