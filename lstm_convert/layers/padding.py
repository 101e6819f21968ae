"""ZeroPadding1D, Cropping1D and UpSampling1D along the time axis. Keras drops masks here."""

from __future__ import annotations

from ..errors import UnsupportedModelError
from ..export.builder import Dim, Tensor
from ..export.context import ExportContext
from ..model import Call, Layer
from .registry import converter


def pair(layer: Layer, key: str, default: int = 1) -> tuple[int, int]:
    value = layer.config.get(key, default)
    items = list(value) if isinstance(value, (list, tuple)) else [value, value]
    if len(items) != 2 or not all(isinstance(v, int) and 0 <= v <= 2**20 for v in items):
        raise UnsupportedModelError(f"layer {layer.name!r}: {key} {value!r} is not valid")
    return items[0], items[1]


def require_sequence(layer: Layer, x: Tensor) -> None:
    if x.rank != 3:
        raise UnsupportedModelError(f"layer {layer.name!r}: input rank {x.rank} != 3")
    if layer.config.get("data_format", "channels_last") not in ("channels_last", None):
        raise UnsupportedModelError(f"layer {layer.name!r}: only channels_last is supported")


def grow(dim: Dim, extra: int) -> Dim:
    return dim + extra if isinstance(dim, int) else None


@converter("ZeroPadding1D")
def convert_zero_padding(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor]:
    x = inputs[0]
    require_sequence(layer, x)
    left, right = pair(layer, "padding")
    b = ctx.builder
    value = b.op("Pad", [x.name, b.const_i64([0, left, 0, 0, right, 0])], layer.name)
    return [Tensor(value, (x.shape[0], grow(x.shape[1], left + right), x.shape[2]), "float32")]


@converter("Cropping1D")
def convert_cropping(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor]:
    x = inputs[0]
    require_sequence(layer, x)
    start, end = pair(layer, "cropping")
    b = ctx.builder
    # Slicing to -end from the end; "to the end" when end is 0.
    stop = -end if end else 2**62
    bounds = [b.const_i64([start]), b.const_i64([stop]), b.const_i64([1])]  # starts, ends, axes
    value = b.op("Slice", [x.name, *bounds], layer.name)
    return [Tensor(value, (x.shape[0], grow(x.shape[1], -start - end), x.shape[2]), "float32")]


@converter("UpSampling1D")
def convert_upsampling(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor]:
    x = inputs[0]
    require_sequence(layer, x)
    size = layer.config.get("size", 2)
    if not isinstance(size, int) or not 0 < size <= 2**16:
        raise UnsupportedModelError(f"layer {layer.name!r}: size {size!r} is not valid")
    channels = x.shape[2]
    if not isinstance(channels, int):
        raise UnsupportedModelError(f"layer {layer.name!r}: needs a known feature size")
    b = ctx.builder
    # Each step repeated ``size`` times in place: [a, a, b, b, ...].
    expanded = b.op("Unsqueeze", [x.name, b.const_i64([2])], layer.name)
    tiled = b.op("Tile", [expanded, b.const_i64([1, 1, size, 1])], layer.name)
    value = b.op("Reshape", [tiled, b.const_i64([0, -1, channels])], layer.name)
    steps = x.shape[1] * size if isinstance(x.shape[1], int) else None
    return [Tensor(value, (x.shape[0], steps, x.shape[2]), "float32")]
