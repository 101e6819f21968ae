"""Dot, Attention and AdditiveAttention, with Keras's query and value masks."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper

from ..errors import UnsupportedModelError
from ..export.builder import Tensor
from ..export.context import ExportContext
from ..model import Call, Layer
from ..weightspec import named_weights
from .ops import mask_weight, reduce
from .registry import converter

# Keras subtracts this from the scores of masked (or future, when causal) value steps.
MASKED_SCORE = 1.0e9


def _dot_axes(layer: Layer, inputs: list[Tensor]) -> tuple[int, int]:
    axes = layer.config.get("axes", -1)
    pair = list(axes) if isinstance(axes, (list, tuple)) else [axes, axes]
    ranks = [t.rank for t in inputs]
    if len(inputs) != 2 or ranks[0] != ranks[1] or ranks[0] not in (2, 3) or len(pair) != 2:
        raise UnsupportedModelError(
            f"layer {layer.name!r}: Dot is supported on two inputs of rank 2 or 3 (got {ranks})"
        )
    rank = ranks[0]
    resolved = tuple(a + rank if isinstance(a, int) and a < 0 else a for a in pair)
    if not all(isinstance(a, int) and 1 <= a < rank for a in resolved):
        raise UnsupportedModelError(f"layer {layer.name!r}: axes {axes!r} for rank {rank}")
    return resolved


def l2_normalize(ctx: ExportContext, value: str, axis: int, name: str) -> str:
    """``x / sqrt(max(sum(x**2, axis), 1e-12))``, as Keras's ``l2_normalize``."""
    b = ctx.builder
    square_sum = reduce(ctx, "ReduceSum", b.op("Mul", [value, value], name), [axis], name, 1)
    floor = b.op("Max", [square_sum, b.const_f32(1e-12)], name)
    return b.op("Div", [value, b.op("Sqrt", [floor], name)], name)


@converter("ConvertToTensor")
def convert_to_tensor(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor]:
    """Keras 3 traces ``ops.convert_to_tensor`` of a mask around attention layers: with no
    dtype given it is the identity."""
    if layer.config.get("dtype") not in (None, inputs[0].dtype):
        raise UnsupportedModelError(f"layer {layer.name!r}: convert_to_tensor with a dtype")
    return [inputs[0]]


@converter("Dot")
def convert_dot(ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call) -> list[Tensor]:
    first, second = _dot_axes(layer, inputs)
    left, right = inputs
    b = ctx.builder
    a, c = left.name, right.name
    if layer.config.get("normalize"):
        a = l2_normalize(ctx, a, first, f"{layer.name}_left")
        c = l2_normalize(ctx, c, second, f"{layer.name}_right")
    if left.rank == 2:
        value = reduce(ctx, "ReduceSum", b.op("Mul", [a, c], layer.name), [1], layer.name, 1)
        return [Tensor(value, (left.shape[0], 1), "float32")]
    # [batch, free, contracted] @ [batch, contracted, free]
    if first == 1:
        a = b.op("Transpose", [a], f"{layer.name}_left", perm=[0, 2, 1])
    if second == 2:
        c = b.op("Transpose", [c], f"{layer.name}_right", perm=[0, 2, 1])
    value = b.op("MatMul", [a, c], layer.name)
    shape = (left.shape[0], left.shape[3 - first], right.shape[3 - second])
    return [Tensor(value, shape, "float32")]


def _pairwise_tanh(ctx: ExportContext, query: str, key: str, scale: str | None, name: str) -> str:
    """``tanh(scale * (q[:, :, None] + k[:, None]))`` -> ``[batch, Tq, Tv, dim]``."""
    b = ctx.builder
    q = b.op("Unsqueeze", [query, b.const_i64([2])], name)
    k = b.op("Unsqueeze", [key, b.const_i64([1])], name)
    total = b.op("Add", [q, k], name)
    if scale is not None:
        total = b.op("Mul", [total, scale], name)
    return b.op("Tanh", [total], name)


def attention_scores(ctx: ExportContext, layer: Layer, query: str, key: str) -> str:
    """Keras's scores ``[batch, Tq, Tv]`` before masking."""
    b = ctx.builder
    w = named_weights(layer, np.float32)
    scale = b.initializer(f"{layer.name}_scale", w["scale"]) if "scale" in w else None
    if layer.class_name == "AdditiveAttention":
        summed = _pairwise_tanh(ctx, query, key, None, layer.name)
        if scale is not None:
            summed = b.op("Mul", [summed, scale], layer.name)
        return reduce(ctx, "ReduceSum", summed, [-1], layer.name, 0)
    mode = layer.config.get("score_mode", "dot")
    if mode == "concat":
        summed = _pairwise_tanh(ctx, query, key, scale, layer.name)
        scores = reduce(ctx, "ReduceSum", summed, [-1], layer.name, 0)
        weight = b.initializer(f"{layer.name}_concat_weight", w["concat_score_weight"])
        return b.op("Mul", [scores, weight], layer.name)
    if mode != "dot":
        raise UnsupportedModelError(f"layer {layer.name!r}: score_mode {mode!r}")
    key_t = b.op("Transpose", [key], f"{layer.name}_key", perm=[0, 2, 1])
    scores = b.op("MatMul", [query, key_t], layer.name)
    return b.op("Mul", [scores, scale], layer.name) if scale is not None else scores


def causal_allowed(ctx: ExportContext, scores: str, name: str) -> str:
    """bool ``[Tq, Tv]``: query step i may see value steps 0..i."""
    b = ctx.builder
    shape = b.op("Shape", [scores], name)
    tail = b.op("Slice", [shape, b.const_i64([-2]), b.const_i64([2**62])], name)
    ones = b.op(
        "ConstantOfShape",
        [tail],
        name,
        value=helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0]),
    )
    lower = b.op("Trilu", [ones], name, upper=0)
    return b.op("Cast", [lower], name, to=TensorProto.BOOL)


@converter("Attention", "AdditiveAttention")
def convert_attention(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor]:
    if len(inputs) not in (2, 3) or any(t.rank != 3 for t in inputs):
        raise UnsupportedModelError(
            f"layer {layer.name!r}: expects [query, value] or [query, value, key] of rank 3"
        )
    query, value = inputs[0], inputs[1]
    key = inputs[2] if len(inputs) == 3 else value
    b = ctx.builder
    scores = attention_scores(ctx, layer, query.name, key.name)
    allowed = None
    if value.mask is not None:
        allowed = b.op("Unsqueeze", [value.mask, b.const_i64([1])], f"{layer.name}_vmask")
    if call.kwargs.get("use_causal_mask") or layer.config.get("causal"):
        causal = causal_allowed(ctx, scores, f"{layer.name}_causal")
        allowed = causal if allowed is None else b.op("And", [allowed, causal], layer.name)
    if allowed is not None:
        blocked = b.op("Cast", [b.op("Not", [allowed], layer.name)], layer.name, to=1)
        penalty = b.op("Mul", [blocked, b.const_f32(MASKED_SCORE)], layer.name)
        scores = b.op("Sub", [scores, penalty], layer.name)
    weights = b.op("Softmax", [scores], f"{layer.name}_weights", axis=-1)
    result = b.op("MatMul", [weights, value.name], layer.name)
    if query.mask is not None:
        result = b.op("Mul", [result, mask_weight(ctx, query.mask, layer.name)], layer.name)
    out = [Tensor(result, (query.shape[0], query.shape[1], value.shape[2]), "float32", query.mask)]
    if call.kwargs.get("return_attention_scores"):
        out.append(Tensor(weights, (query.shape[0], query.shape[1], value.shape[1]), "float32"))
    return out
