"""Concatenate, Add, Subtract, Multiply, Average, Maximum, Minimum."""

from __future__ import annotations

from ..errors import UnsupportedModelError
from ..export.builder import Tensor
from ..export.context import ExportContext
from ..model import Call, Layer
from .registry import converter

ELEMENTWISE = {"Add": "Sum", "Multiply": "Mul", "Maximum": "Max", "Minimum": "Min"}


def broadcast_shape(layer: Layer, inputs: list[Tensor]) -> tuple:
    shape = list(inputs[0].shape)
    for tensor in inputs[1:]:
        if tensor.rank != len(shape):
            raise UnsupportedModelError(f"layer {layer.name!r}: inputs of different ranks")
        for axis, dim in enumerate(tensor.shape):
            if isinstance(dim, int) and (not isinstance(shape[axis], int) or shape[axis] == 1):
                shape[axis] = dim
    return tuple(shape)


def merged_mask(ctx: ExportContext, layer: Layer, inputs: list[Tensor]) -> str | None:
    """A merge layer's output mask, per Keras generation.

    tf.keras (and Keras 1/2) AND the masks that exist. Keras 3 ORs them; its Concatenate
    counts an unmasked input as all-valid (so the result is all-valid, i.e. no mask), and
    its other merges drop the mask unless every input has one.
    """
    masks = [t.mask for t in inputs if t.mask is not None]
    if not masks:
        return None
    if ctx.keras_major >= 3 and len(masks) < len(inputs):
        return None
    op = "Or" if ctx.keras_major >= 3 else "And"
    mask = masks[0]
    for other in masks[1:]:
        mask = ctx.builder.op(op, [mask, other], f"{layer.name}_mask")
    return mask


@converter("Add", "Multiply", "Maximum", "Minimum", "Average", "Subtract")
def convert_elementwise(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor]:
    b = ctx.builder
    names = [t.name for t in inputs]
    if layer.class_name == "Subtract":
        if len(inputs) != 2:
            raise UnsupportedModelError(f"layer {layer.name!r}: Subtract needs two inputs")
        value = b.op("Sub", names, layer.name)
    elif layer.class_name == "Average":
        total = b.op("Sum", names, layer.name)
        value = b.op("Mul", [total, b.const_f32(1.0 / len(names))], layer.name)
    else:
        mul_chain = layer.class_name == "Multiply"
        if mul_chain:
            value = names[0]
            for other in names[1:]:
                value = b.op("Mul", [value, other], layer.name)
        else:
            value = b.op(ELEMENTWISE[layer.class_name], names, layer.name)
    return [
        Tensor(value, broadcast_shape(layer, inputs), "float32", merged_mask(ctx, layer, inputs))
    ]


@converter("Concatenate")
def convert_concatenate(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor]:
    rank = inputs[0].rank
    axis = layer.config.get("axis", -1)
    axis = axis + rank if axis < 0 else axis
    shape = list(inputs[0].shape)
    dims = [t.shape[axis] for t in inputs]
    shape[axis] = sum(dims) if all(isinstance(d, int) for d in dims) else None
    value = ctx.builder.op("Concat", [t.name for t in inputs], layer.name, axis=axis)
    mask = merged_mask(ctx, layer, inputs) if axis == rank - 1 else None
    return [Tensor(value, tuple(shape), "float32", mask)]
