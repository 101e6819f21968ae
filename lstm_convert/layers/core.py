"""Dense, Activation, Embedding, TimeDistributed and the inference-time identities."""

from __future__ import annotations

import numpy as np

from ..errors import WeightsError
from ..export.builder import Tensor
from ..export.context import ExportContext
from ..model import Call, Layer
from ..weightspec import IDENTITY_AT_INFERENCE
from .ops import apply_activation
from .registry import CONVERTERS, converter
from .time_distributed import convert_folded


@converter(*IDENTITY_AT_INFERENCE)
def convert_identity(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor]:
    return [inputs[0]]


@converter("Activation")
def convert_activation(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor]:
    x = inputs[0]
    name = apply_activation(ctx, x.name, layer.config.get("activation"), layer.name)
    return [Tensor(name, x.shape, x.dtype, x.mask)]


@converter("Dense")
def convert_dense(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor]:
    x = inputs[0]
    config = layer.config
    units = config.get("units", config.get("output_dim"))
    use_bias = config.get("use_bias", True)
    weights = layer.weights
    if len(weights) != (2 if use_bias else 1):
        raise WeightsError(f"layer {layer.name!r} (Dense) has {len(weights)} weight arrays")
    kernel = np.asarray(weights[0], dtype=np.float32)
    if kernel.shape != (x.shape[-1], units):
        raise WeightsError(
            f"layer {layer.name!r}: kernel shape {kernel.shape} contradicts input features "
            f"{x.shape[-1]} and units {units}"
        )
    b = ctx.builder
    value = b.op("MatMul", [x.name, b.initializer(f"{layer.name}_kernel", kernel)], layer.name)
    if use_bias:
        bias = np.asarray(weights[1], dtype=np.float32)
        if bias.shape != (units,):
            raise WeightsError(f"layer {layer.name!r}: bias shape {bias.shape} != ({units},)")
        value = b.op("Add", [value, b.initializer(f"{layer.name}_bias", bias)], layer.name)
    value = apply_activation(ctx, value, config.get("activation"), f"{layer.name}_act")
    return [Tensor(value, (*x.shape[:-1], units), "float32", x.mask)]


@converter("Embedding")
def convert_embedding(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor]:
    tokens = inputs[0]
    if len(layer.weights) != 1:
        raise WeightsError(f"layer {layer.name!r} (Embedding) has {len(layer.weights)} arrays")
    table = np.asarray(layer.weights[0], dtype=np.float32)
    config = layer.config
    vocab = config.get("input_dim", table.shape[0])
    dim = config.get("output_dim", table.shape[-1])
    if table.shape != (vocab, dim):
        raise WeightsError(f"layer {layer.name!r}: embeddings {table.shape} != ({vocab}, {dim})")
    b = ctx.builder
    ids = tokens.name
    if tokens.dtype not in ("int32", "int64"):
        # Keras 2 often declares token inputs as float; Keras casts them to int.
        ids = b.op("Cast", [ids], f"{layer.name}_ids", to=7)
    value = b.op("Gather", [b.initializer(f"{layer.name}_embeddings", table), ids], layer.name)
    mask = None
    if config.get("mask_zero"):
        ids_dtype = np.int32 if tokens.dtype == "int32" else np.int64
        zero = b.initializer(f"{layer.name}_pad_id", np.zeros((), dtype=ids_dtype))
        is_pad = b.op("Equal", [ids, zero], f"{layer.name}_is_pad")
        mask = b.op("Not", [is_pad], f"{layer.name}_mask")
    return [Tensor(value, (*tokens.shape, dim), "float32", mask)]


@converter("TimeDistributed")
def convert_time_distributed(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor]:
    inner = layer.config["layer"]
    class_name = inner.get("class_name")
    inner_layer = Layer(
        name=layer.name,
        class_name=class_name,
        config=inner["config"],
        weights=layer.weights,
        weight_names=layer.weight_names,
    )
    # These act on the last axis only, so applying them to [batch, time, ...] is exact;
    # any other layer runs on time folded into batch.
    if class_name in ("Dense", "Activation", *IDENTITY_AT_INFERENCE):
        return CONVERTERS[class_name](ctx, inner_layer, inputs, call)
    return convert_folded(ctx, layer, inner_layer, inputs[0], call)
