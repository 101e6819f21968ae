"""Exact Keras masking on fused ONNX recurrent nodes, for any mask (post, pre, gaps).

A fused node cannot skip steps, and ``sequence_lens`` is honoured by onnxruntime only
(OpenVINO, OpenCV and the ONNX reference evaluator ignore it, tract refuses a computed
one). So we gather every row's valid steps to the front (stably, keeping their order),
run the node over all T steps, and read back only what precedes each row's length:
outputs and the last valid step come from ``Y`` (``unpack``, ``last_valid``), an LSTM's
cell state from a node that holds it on padded steps (recurrent.hold_on_padding). At a
masked step Keras repeats the previous output (zeros before the first
valid step), or gives zeros when ``zero_output_for_mask`` is set.

For a row, let ``k[t]`` be the number of valid steps at or before ``t``. The valid
step ``t`` lands at packed position ``k[t] - 1``, a masked one after all valid steps.
Going back, Keras's output at ``t`` is the packed output ``k[t] - 1`` (the previous
valid output when ``t`` is masked) or zeros when ``k[t] = 0``: one gather from the
packed outputs with a zero row in front.
"""

from __future__ import annotations

from dataclasses import dataclass

from onnx import TensorProto

from ..export.context import ExportContext
from .ops import mask_weight, ones_like, reduce


@dataclass(frozen=True)
class Packing:
    gather_index: str  # [B, T, 1] int64: original step held at each packed position
    lengths: str  # [B, 1] int64: valid steps per row = last valid index in [zeros, packed...]
    counts: str  # [B, T, 1] int64: k[t], the index into [zeros, packed...]
    weight: str  # [B, T, 1] float32: 1 at valid steps, 0 at masked ones
    padding_tm: str  # [T, B, 1] float32: 1 at packed positions past the row's length


def packing(ctx: ExportContext, mask: str) -> Packing:
    """Indices that pack the steps of ``mask`` (bool [B, T]); built once per mask.

    Counting is done in float (exact below 2**24 steps): tract's CumSum is float only.
    The CumSum axis is a 0-D tensor, as the ONNX spec requires.
    """
    cache = ctx.packings
    if mask in cache:
        return cache[mask]
    b = ctx.builder
    name = f"{mask}_pack"
    axis = b.const_i64_scalar(1)
    one = b.const_f32(1.0)
    valid = b.op("Cast", [mask], name, to=TensorProto.FLOAT)
    counts = b.op("CumSum", [valid, axis], f"{name}_counts")  # k[t]
    lengths = reduce(ctx, "ReduceSum", valid, [1], f"{name}_lengths", 1)  # [B, 1]
    steps = b.op("Sub", [b.op("CumSum", [ones_like(ctx, valid, name), axis], name), one], name)
    valid_position = b.op("Sub", [counts, one], name)  # k[t] - 1
    masked_position = b.op("Sub", [b.op("Add", [lengths, steps], name), counts], name)
    position = b.op("Where", [mask, valid_position, masked_position], f"{name}_position")
    as_int = [b.op("Cast", [v], name, to=TensorProto.INT64) for v in (position, steps)]
    # position is a permutation of each row's steps: every entry of the data is overwritten.
    index = b.op("ScatterElements", [as_int[1], *as_int], f"{name}_index", axis=1)
    # Packed position t is padding when t >= length (steps doubles as packed positions).
    padding = b.op("Cast", [b.op("Less", [steps, lengths], name)], name, to=TensorProto.FLOAT)
    padding = b.op("Sub", [one, padding], f"{name}_padding")
    last_axis = b.const_i64([-1])
    result = Packing(
        gather_index=b.op("Unsqueeze", [index, last_axis], f"{name}_gather"),
        lengths=b.op("Cast", [lengths], f"{name}_last", to=TensorProto.INT64),
        counts=b.op(
            "Cast",
            [b.op("Unsqueeze", [counts, last_axis], name)],
            f"{name}_scatter",
            to=TensorProto.INT64,
        ),
        weight=mask_weight(ctx, mask, name),
        padding_tm=b.op(
            "Transpose",
            [b.op("Unsqueeze", [padding, last_axis], name)],
            f"{name}_padding_tm",
            perm=[1, 0, 2],
        ),
    )
    cache[mask] = result
    return result


def pack(ctx: ExportContext, x_batch_first: str, p: Packing, name: str) -> str:
    """[B, T, F] -> packed, time-major [T, B, F] (valid steps first in every row)."""
    b = ctx.builder
    packed = b.op("GatherND", [x_batch_first, p.gather_index], f"{name}_packed", batch_dims=1)
    return b.op("Transpose", [packed], f"{name}_packed_tm", perm=[1, 0, 2])


def unpack(ctx: ExportContext, packed_tm: str, p: Packing, name: str, zero_output: bool) -> str:
    """Packed time-major outputs [T, B, U] -> Keras's batch-first outputs [B, T, U]."""
    b = ctx.builder
    padded = zero_in_front(ctx, packed_tm, name)
    result = b.op("GatherND", [padded, p.counts], f"{name}_unpacked", batch_dims=1)
    if zero_output:
        result = b.op("Mul", [result, p.weight], f"{name}_masked")
    return result


def last_valid(
    ctx: ExportContext, packed_tm: str, p: Packing, name: str, initial: str | None = None
) -> str:
    """Each row's output at its last valid step, [B, U] (zeros for a fully masked row).

    The node runs over all T steps (no ``sequence_lens``, which only onnxruntime
    honours), so its own final state has seen the padding; ``Y`` up to each row's
    length is exact, and this picks position ``length - 1`` from it. ``initial``
    ([1, B, U]) replaces the zeros for a fully masked row when states are inputs.
    """
    padded = zero_in_front(ctx, packed_tm, name, initial)
    return ctx.builder.op("GatherND", [padded, p.lengths], f"{name}_last", batch_dims=1)


def zero_in_front(ctx: ExportContext, packed_tm: str, name: str, front: str | None = None) -> str:
    """Packed time-major [T, B, U] -> batch-first [B, 1 + T, U] with a zero step (or
    ``front``, time-major [1, B, U]) in front."""
    b = ctx.builder
    if front is not None:
        packed_tm = b.op("Concat", [front, packed_tm], f"{name}_front", axis=0)
    batch_first = b.op("Transpose", [packed_tm], f"{name}_packed_bf", perm=[1, 0, 2])
    if front is not None:
        return batch_first
    return b.op("Pad", [batch_first, b.const_i64([0, 1, 0, 0, 0, 0])], f"{name}_padded")
