"""TimeDistributed around any supported layer: fold time into batch, apply it, unfold.

``[batch, time, *rest]`` becomes ``[batch * time, *rest]``, the wrapped layer's own
converter runs on that, and its ``[batch * time, *out]`` result is reshaped back to
``[batch, time, *out]``. A Keras mask on the input passes through to the output.
"""

from __future__ import annotations

from ..errors import UnsupportedModelError
from ..export.builder import Tensor
from ..export.context import ExportContext
from ..model import Call, Layer
from .registry import CONVERTERS


def _static(dims) -> bool:
    return all(isinstance(d, int) for d in dims)


def _tail_shape(ctx: ExportContext, value: str, start: int, name: str) -> str:
    """Dims ``start:`` of ``value``'s runtime shape, as an int64 vector."""
    b = ctx.builder
    shape = b.op("Shape", [value], name)
    return b.op(
        "Slice",
        [shape, b.const_i64([start]), b.const_i64([2**62]), b.const_i64([0])],
        name,
    )


def fold_time(ctx: ExportContext, x: Tensor, name: str) -> Tensor:
    """``[batch, time, *rest]`` -> ``[batch * time, *rest]``."""
    b = ctx.builder
    rest = x.shape[2:]
    if _static(rest):
        target = b.const_i64([-1, *rest])
    else:
        target = b.op(
            "Concat", [b.const_i64([-1]), _tail_shape(ctx, x.name, 2, name)], name, axis=0
        )
    folded = b.op("Reshape", [x.name, target], f"{name}_fold")
    return Tensor(folded, (None, *rest), x.dtype)


def unfold_time(ctx: ExportContext, x: Tensor, y: Tensor, name: str) -> Tensor:
    """``[batch * time, *out]`` -> ``[batch, time, *out]``, batch and time taken from ``x``."""
    b = ctx.builder
    shape = b.op("Shape", [x.name], f"{name}_outer")
    outer = b.op(
        "Slice", [shape, b.const_i64([0]), b.const_i64([2]), b.const_i64([0])], f"{name}_outer"
    )
    out = y.shape[1:]
    tail = b.const_i64(list(out)) if _static(out) else _tail_shape(ctx, y.name, 1, name)
    target = b.op("Concat", [outer, tail], f"{name}_shape", axis=0)
    value = b.op("Reshape", [y.name, target], f"{name}_unfold")
    return Tensor(value, (x.shape[0], x.shape[1], *out), y.dtype, x.mask)


def convert_folded(
    ctx: ExportContext, layer: Layer, inner: Layer, x: Tensor, call: Call
) -> list[Tensor]:
    """Apply ``inner`` (the wrapped layer) to every time step of ``x`` at once."""
    if inner.class_name not in CONVERTERS:
        raise UnsupportedModelError(
            f"layer {layer.name!r}: TimeDistributed({inner.class_name}) wraps an unsupported layer"
        )
    if x.rank < 3:
        raise UnsupportedModelError(f"layer {layer.name!r}: input rank {x.rank} has no time axis")
    folded = fold_time(ctx, x, layer.name)
    result = CONVERTERS[inner.class_name](ctx, inner, [folded], Call([]))
    return [unfold_time(ctx, x, result[0], layer.name)]
