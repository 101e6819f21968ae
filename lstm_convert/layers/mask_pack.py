"""Exact Keras masking on fused ONNX recurrent nodes, for any mask (post, pre, gaps).

ONNX recurrent ops only understand ``sequence_lens``: each row's valid steps must come
first. So we gather every row's valid steps to the front (stably, keeping their
order), run the node with the row lengths, and scatter the results back to Keras's
positions. At a masked step Keras repeats the previous output (zeros before the first
valid step), or gives zeros when ``zero_output_for_mask`` is set.

For a row, let ``k[t]`` be the number of valid steps at or before ``t``. The valid
step ``t`` lands at packed position ``k[t] - 1``, a masked one after all valid steps.
Going back, Keras's output at ``t`` is the packed output ``k[t] - 1`` (the previous
valid output when ``t`` is masked) or zeros when ``k[t] = 0``: one gather from the
packed outputs with a zero row in front.
"""

from __future__ import annotations

from dataclasses import dataclass

from onnx import TensorProto, helper

from ..export.context import ExportContext
from .ops import INT64_MIN, mask_weight


@dataclass(frozen=True)
class Packing:
    gather_index: str  # [B, T, 1] int64: original step held at each packed position
    lengths: str  # [B] int32: sequence_lens
    counts: str  # [B, T, 1] int64: k[t], the index into [zeros, packed...]
    weight: str  # [B, T, 1] float32: 1 at valid steps, 0 at masked ones


def reverse_steps(ctx: ExportContext, value: str, name: str) -> str:
    """Reverse a batch-first tensor along time (axis 1)."""
    b = ctx.builder
    starts, ends = b.const_i64([-1]), b.const_i64([INT64_MIN])
    return b.op("Slice", [value, starts, ends, b.const_i64([1]), b.const_i64([-1])], name)


def packing(ctx: ExportContext, mask: str) -> Packing:
    """Indices that pack the steps of ``mask`` (bool [B, T]); built once per mask."""
    cache = ctx.builder.packings
    if mask in cache:
        return cache[mask]
    b = ctx.builder
    name = f"{mask}_pack"
    axis = b.const_i64([1])
    last_axis = b.const_i64([-1])
    one = b.const_i64([1])
    valid = b.op("Cast", [mask], name, to=TensorProto.INT64)
    counts = b.op("CumSum", [valid, axis], f"{name}_counts")  # k[t]
    lengths = b.op("ReduceSum", [valid, axis], f"{name}_lengths", keepdims=1)  # [B, 1]
    ones = filled_like(ctx, valid, 1, name)
    steps_plus_one = b.op("CumSum", [ones, axis], name)  # t + 1
    steps = b.op("Sub", [steps_plus_one, one], name)
    valid_position = b.op("Sub", [counts, one], name)  # k[t] - 1
    masked_position = b.op("Sub", [b.op("Add", [lengths, steps], name), counts], name)
    position = b.op("Where", [mask, valid_position, masked_position], f"{name}_position")
    zeros = filled_like(ctx, valid, 0, name)
    index = b.op("ScatterElements", [zeros, position, steps], f"{name}_index", axis=1)
    result = Packing(
        gather_index=b.op("Unsqueeze", [index, last_axis], f"{name}_gather"),
        lengths=b.op(
            "Cast",
            [b.op("Squeeze", [lengths, axis], name)],
            f"{name}_sequence_lens",
            to=TensorProto.INT32,
        ),
        counts=b.op("Unsqueeze", [counts, last_axis], f"{name}_scatter"),
        weight=mask_weight(ctx, mask, name),
    )
    cache[mask] = result
    return result


def filled_like(ctx: ExportContext, value: str, fill: int, name: str) -> str:
    """An int64 tensor of ``value``'s (runtime) shape, filled with ``fill``."""
    b = ctx.builder
    shape = b.op("Shape", [value], name)
    constant = helper.make_tensor(f"fill_{fill}", TensorProto.INT64, [1], [fill])
    return b.op("ConstantOfShape", [shape], name, value=constant)


def pack(ctx: ExportContext, x_batch_first: str, p: Packing, name: str) -> str:
    """[B, T, F] -> packed, time-major [T, B, F] (valid steps first in every row)."""
    b = ctx.builder
    packed = b.op("GatherND", [x_batch_first, p.gather_index], f"{name}_packed", batch_dims=1)
    return b.op("Transpose", [packed], f"{name}_packed_tm", perm=[1, 0, 2])


def unpack(ctx: ExportContext, packed_tm: str, p: Packing, name: str, zero_output: bool) -> str:
    """Packed time-major outputs [T, B, U] -> Keras's batch-first outputs [B, T, U]."""
    b = ctx.builder
    batch_first = b.op("Transpose", [packed_tm], f"{name}_packed_bf", perm=[1, 0, 2])
    padded = b.op("Pad", [batch_first, b.const_i64([0, 1, 0, 0, 0, 0])], f"{name}_padded")
    result = b.op("GatherND", [padded, p.counts], f"{name}_unpacked", batch_dims=1)
    if zero_output:
        result = b.op("Mul", [result, p.weight], f"{name}_masked")
    return result
