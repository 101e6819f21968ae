"""MultiHeadAttention over the time axis (``attention_axes`` None or [1]), with Keras's masks.

Each projection is one MatMul on ``[batch, time, dim]`` with its ``[dim, heads, size]``
kernel flattened; heads are split with a Reshape and a Transpose.
"""

from __future__ import annotations

import math

import numpy as np
from onnx import TensorProto

from ..errors import UnsupportedModelError, WeightsError
from ..export.builder import Tensor
from ..export.context import ExportContext
from ..model import Call, Layer
from ..weightspec import named_weights
from .attention import causal_allowed
from .registry import converter

# Keras replaces the scores of masked positions by this before the softmax.
MASKED_SCORE = -1.0e9


def zeroes_masked_weights(keras_major: int, call: Call) -> bool:
    """Keras 3 zeroes masked attention weights after the softmax only on the path that
    returns the scores; at inference otherwise it calls ``ops.dot_product_attention``,
    which does not (nor does tf.keras)."""
    return keras_major >= 3 and bool(call.kwargs.get("return_attention_scores"))


def _check_config(layer: Layer) -> None:
    config = layer.config
    if config.get("attention_axes") not in (None, [1], (1,), 1):
        raise UnsupportedModelError(
            f"layer {layer.name!r}: attention_axes {config.get('attention_axes')!r} "
            "(only attention over the time axis is supported)"
        )
    if config.get("use_gate") or config.get("sliding_window") is not None:
        raise UnsupportedModelError(f"layer {layer.name!r}: use_gate / sliding_window")


def _weights(layer: Layer) -> dict[str, np.ndarray]:
    w = named_weights(layer, np.float32)
    for part in ("query", "key", "value"):
        if w[f"{part}_kernel"].ndim != 3:
            raise WeightsError(f"layer {layer.name!r}: {part} kernel is not [dim, heads, size]")
    return w


def _project(ctx: ExportContext, layer: Layer, x: Tensor, w: dict, part: str, perm) -> str:
    """``x @ kernel + bias`` split into heads and transposed by ``perm``."""
    b = ctx.builder
    kernel = w[f"{part}_kernel"]
    dim, heads, size = kernel.shape
    if x.shape[-1] not in (dim, None):
        raise WeightsError(f"layer {layer.name!r}: {part} kernel expects {dim} features")
    flat = b.initializer(f"{layer.name}_{part}_kernel", kernel.reshape(dim, heads * size))
    value = b.op("MatMul", [x.name, flat], f"{layer.name}_{part}")
    if f"{part}_bias" in w:
        bias = b.initializer(f"{layer.name}_{part}_bias", w[f"{part}_bias"].reshape(-1))
        value = b.op("Add", [value, bias], f"{layer.name}_{part}")
    split = b.op("Reshape", [value, b.const_i64([0, 0, heads, size])], f"{layer.name}_{part}")
    return b.op("Transpose", [split], f"{layer.name}_{part}", perm=perm)


def _allowed(ctx, layer, query: Tensor, value: Tensor, key: Tensor, scores: str, call: Call):
    """bool ``[batch, 1, Tq, Tv]`` of the positions Keras lets attend, or None."""
    b = ctx.builder
    allowed = None
    if query.mask is not None:
        allowed = b.op("Unsqueeze", [query.mask, b.const_i64([-1])], f"{layer.name}_qmask")
    for source in (value, key) if key is not value else (value,):
        if source.mask is not None:
            m = b.op("Unsqueeze", [source.mask, b.const_i64([1])], f"{layer.name}_vmask")
            allowed = m if allowed is None else b.op("And", [allowed, m], layer.name)
    if call.kwargs.get("use_causal_mask"):
        causal = causal_allowed(ctx, scores, f"{layer.name}_causal")  # [Tq, Tv]
        causal = b.op("Unsqueeze", [causal, b.const_i64([0])], f"{layer.name}_causal")
        allowed = causal if allowed is None else b.op("And", [allowed, causal], layer.name)
    if allowed is None:
        return None
    return b.op("Unsqueeze", [allowed, b.const_i64([1])], f"{layer.name}_mask")


@converter("MultiHeadAttention")
def convert_multi_head_attention(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor]:
    _check_config(layer)
    if len(inputs) not in (2, 3) or any(t.rank != 3 for t in inputs):
        raise UnsupportedModelError(f"layer {layer.name!r}: expects query, value (, key) of rank 3")
    if "attention_mask" in call.kwargs and call.kwargs["attention_mask"] is not None:
        raise UnsupportedModelError(f"layer {layer.name!r}: an explicit attention_mask")
    query, value = inputs[0], inputs[1]
    key = inputs[2] if len(inputs) == 3 else value
    w = _weights(layer)
    b = ctx.builder
    q = _project(ctx, layer, query, w, "query", [0, 2, 1, 3])  # [batch, heads, Tq, dk]
    k = _project(ctx, layer, key, w, "key", [0, 2, 3, 1])  # [batch, heads, dk, Tv]
    v = _project(ctx, layer, value, w, "value", [0, 2, 1, 3])  # [batch, heads, Tv, dv]
    key_dim = w["query_kernel"].shape[2]
    q = b.op("Mul", [q, b.const_f32(1.0 / math.sqrt(key_dim))], layer.name)
    scores = b.op("MatMul", [q, k], layer.name)  # [batch, heads, Tq, Tv]
    allowed = _allowed(ctx, layer, query, value, key, scores, call)
    if allowed is not None:
        scores = b.op("Where", [allowed, scores, b.const_f32(MASKED_SCORE)], layer.name)
    weights = b.op("Softmax", [scores], f"{layer.name}_weights", axis=-1)
    if allowed is not None and zeroes_masked_weights(ctx.keras_major, call):
        # A fully masked row then attends to nothing instead of to every step equally.
        keep = b.op("Cast", [allowed], layer.name, to=TensorProto.FLOAT)
        weights = b.op("Mul", [weights, keep], layer.name)
    heads, value_dim = w["value_kernel"].shape[1:]
    attended = b.op("MatMul", [weights, v], layer.name)  # [batch, heads, Tq, dv]
    attended = b.op("Transpose", [attended], layer.name, perm=[0, 2, 1, 3])
    attended = b.op("Reshape", [attended, b.const_i64([0, 0, heads * value_dim])], layer.name)
    out_kernel = w["output_kernel"]
    out_dim = out_kernel.shape[-1]
    flat = out_kernel.reshape(heads * value_dim, out_dim)
    result = b.op(
        "MatMul", [attended, b.initializer(f"{layer.name}_output_kernel", flat)], layer.name
    )
    if "output_bias" in w:
        bias = b.initializer(f"{layer.name}_output_bias", w["output_bias"])
        result = b.op("Add", [result, bias], layer.name)
    out = [Tensor(result, (query.shape[0], query.shape[1], out_dim), "float32", query.mask)]
    if call.kwargs.get("return_attention_scores"):
        out.append(Tensor(weights, (query.shape[0], heads, query.shape[1], value.shape[1])))
    return out
