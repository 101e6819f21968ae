"""MaxPooling1D/2D/3D, AveragePooling1D/2D/3D, GlobalMax/GlobalAveragePooling2D (channels_last)."""

from __future__ import annotations

from ..errors import UnsupportedModelError
from ..export.builder import Tensor
from ..export.context import ExportContext
from ..model import Call, Layer
from .conv import (
    as_tuple,
    padding_attrs,
    require_channels_last,
    to_channels_first,
    to_channels_last,
    window_output,
)
from .ops import reduce
from .registry import converter

POOL_OPS = {
    "MaxPooling1D": ("MaxPool", 1),
    "MaxPooling2D": ("MaxPool", 2),
    "AveragePooling1D": ("AveragePool", 1),
    "AveragePooling2D": ("AveragePool", 2),
    "MaxPooling3D": ("MaxPool", 3),
    "AveragePooling3D": ("AveragePool", 3),
}


@converter(*POOL_OPS)
def convert_pooling(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor]:
    x = inputs[0]
    config = layer.config
    op, spatial = POOL_OPS[layer.class_name]
    require_channels_last(layer)
    if x.rank != spatial + 2:
        raise UnsupportedModelError(f"layer {layer.name!r}: input rank {x.rank} != {spatial + 2}")
    windows = as_tuple(config.get("pool_size", 2), spatial, "pool_size", layer)
    strides = as_tuple(config.get("strides") or windows, spatial, "strides", layer)
    padding = str(config.get("padding", "valid")).lower()
    if padding not in ("valid", "same"):
        raise UnsupportedModelError(f"layer {layer.name!r}: padding {padding!r} not supported")
    # TensorFlow's "same" average ignores the padded cells: ONNX count_include_pad=0.
    value = ctx.builder.op(
        op,
        [to_channels_first(ctx, x, f"{layer.name}_in")],
        layer.name,
        kernel_shape=list(windows),
        strides=list(strides),
        **padding_attrs(padding, windows, [1] * spatial),
    )
    value = to_channels_last(ctx, value, x.rank, f"{layer.name}_out")
    dims = [
        window_output(size, k, s, 1, padding)
        for size, k, s in zip(x.shape[1:-1], windows, strides, strict=True)
    ]
    # Keras's poolings drop any incoming mask.
    return [Tensor(value, (x.shape[0], *dims, x.shape[-1]), "float32")]


@converter("GlobalAveragePooling2D", "GlobalMaxPooling2D")
def convert_global_pooling_2d(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor]:
    x = inputs[0]
    require_channels_last(layer)
    if x.rank != 4:
        raise UnsupportedModelError(f"layer {layer.name!r}: input rank {x.rank} != 4")
    keep = int(bool(layer.config.get("keepdims", False)))
    op = "ReduceMean" if layer.class_name == "GlobalAveragePooling2D" else "ReduceMax"
    value = reduce(ctx, op, x.name, [1, 2], layer.name, keep)
    shape = (x.shape[0], 1, 1, x.shape[3]) if keep else (x.shape[0], x.shape[3])
    return [Tensor(value, shape, x.dtype)]
