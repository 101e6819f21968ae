"""BatchNormalization (inference form, folded into one scale and shift) and LayerNormalization."""

from __future__ import annotations

import numpy as np

from ..errors import UnsupportedModelError, WeightsError
from ..export.builder import Tensor
from ..export.context import ExportContext
from ..model import Call, Layer
from ..weightspec import named_weights
from .activation_layers import config_number
from .ops import reduce
from .registry import converter


def norm_axes(layer: Layer, rank: int) -> list[int]:
    """The config's ``axis`` (an int or a list) as sorted non-negative axes of a rank-``rank``
    tensor; the batch axis is never one of them."""
    axis = layer.config.get("axis", -1)
    items = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    if not items or not all(isinstance(a, int) and -rank <= a < rank for a in items):
        raise UnsupportedModelError(f"layer {layer.name!r}: axis {axis!r} for rank {rank}")
    axes = sorted({a + rank if a < 0 else a for a in items})
    if 0 in axes:
        raise UnsupportedModelError(f"layer {layer.name!r}: normalizing over the batch axis")
    return axes


def broadcast_param(x: Tensor, axes: list[int], array: np.ndarray, layer: Layer) -> np.ndarray:
    """A per-feature parameter reshaped to broadcast against ``x`` along ``axes``."""
    dims = [x.shape[a] for a in axes]
    size = int(np.prod([d for d in dims if isinstance(d, int)]))
    if all(isinstance(d, int) for d in dims) and array.size != size:
        raise WeightsError(f"layer {layer.name!r}: parameter of {array.size} values for {dims}")
    shape = [1] * x.rank
    for a, d in zip(axes, array.shape if array.ndim == len(axes) else [array.size], strict=False):
        shape[a] = d
    return array.reshape(shape).astype(np.float32)


@converter("BatchNormalization")
def convert_batch_norm(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor]:
    x = inputs[0]
    axes = norm_axes(layer, x.rank)
    w = named_weights(layer, np.float64)
    # A hostile file's negative variance gives NaN, as in Keras; the check then fails it.
    with np.errstate(invalid="ignore", divide="ignore"):
        inv = 1.0 / np.sqrt(w["moving_variance"] + config_number(layer, "epsilon", 1e-3))
    scale = w.get("gamma", 1.0) * inv
    shift = w.get("beta", 0.0) - w["moving_mean"] * scale
    b = ctx.builder
    scale_name = b.initializer(f"{layer.name}_scale", broadcast_param(x, axes, scale, layer))
    shift_name = b.initializer(f"{layer.name}_shift", broadcast_param(x, axes, shift, layer))
    value = b.op("Mul", [x.name, scale_name], layer.name)
    value = b.op("Add", [value, shift_name], layer.name)
    return [Tensor(value, x.shape, "float32", x.mask)]


@converter("LayerNormalization")
def convert_layer_norm(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor]:
    x = inputs[0]
    config = layer.config
    if config.get("rms_scaling"):
        raise UnsupportedModelError(f"layer {layer.name!r}: rms_scaling is not supported")
    axes = norm_axes(layer, x.rank)
    w = named_weights(layer, np.float64)
    b = ctx.builder
    mean = reduce(ctx, "ReduceMean", x.name, axes, f"{layer.name}_mean", 1)
    centred = b.op("Sub", [x.name, mean], layer.name)
    variance = reduce(
        ctx, "ReduceMean", b.op("Mul", [centred, centred], layer.name), axes, layer.name, 1
    )
    eps = b.const_f32(config_number(layer, "epsilon", 1e-3))
    std = b.op("Sqrt", [b.op("Add", [variance, eps], layer.name)], layer.name)
    value = b.op("Div", [centred, std], layer.name)
    if "gamma" in w:
        gamma = b.initializer(f"{layer.name}_gamma", broadcast_param(x, axes, w["gamma"], layer))
        value = b.op("Mul", [value, gamma], layer.name)
    if "beta" in w:
        beta = b.initializer(f"{layer.name}_beta", broadcast_param(x, axes, w["beta"], layer))
        value = b.op("Add", [value, beta], layer.name)
    return [Tensor(value, x.shape, "float32", x.mask)]
