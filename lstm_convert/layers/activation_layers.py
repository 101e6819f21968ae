"""The activation layers: ReLU, LeakyReLU, PReLU, ELU and Softmax. Masks pass through."""

from __future__ import annotations

import numpy as np

from ..errors import UnsupportedModelError, WeightsError
from ..export.builder import Tensor
from ..export.context import ExportContext
from ..model import Call, Layer
from .registry import converter


def config_number(layer: Layer, key: str, default: float | None) -> float | None:
    """A numeric option of ``layer``'s config; anything but a finite number is refused."""
    value = layer.config.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise UnsupportedModelError(f"layer {layer.name!r}: {key} {value!r} is not a number")
    return float(value)


def leaky_slope(layer: Layer) -> float:
    """LeakyReLU's slope: ``negative_slope`` in Keras 3, ``alpha`` in tf.keras (default 0.3)."""
    key = "negative_slope" if "negative_slope" in layer.config else "alpha"
    return config_number(layer, key, 0.3)


@converter("ReLU")
def convert_relu(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor]:
    x = inputs[0]
    slope = config_number(layer, "negative_slope", 0.0)
    threshold = config_number(layer, "threshold", 0.0)
    max_value = config_number(layer, "max_value", None)
    b = ctx.builder
    if slope == 0.0 and threshold == 0.0:
        value = b.op("Relu", [x.name], layer.name)
    else:
        # x where x >= threshold, else negative_slope * (x - threshold)
        shifted = b.op("Sub", [x.name, b.const_f32(threshold)], layer.name)
        below = b.op("Mul", [shifted, b.const_f32(slope)], layer.name)
        above = b.op("GreaterOrEqual", [x.name, b.const_f32(threshold)], layer.name)
        value = b.op("Where", [above, x.name, below], layer.name)
    if max_value is not None:
        value = b.op("Min", [value, b.const_f32(max_value)], f"{layer.name}_max")
    return [Tensor(value, x.shape, "float32", x.mask)]


@converter("LeakyReLU")
def convert_leaky_relu(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor]:
    x = inputs[0]
    value = ctx.builder.op("LeakyRelu", [x.name], layer.name, alpha=leaky_slope(layer))
    return [Tensor(value, x.shape, "float32", x.mask)]


@converter("ELU")
def convert_elu(ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call) -> list[Tensor]:
    x = inputs[0]
    alpha = config_number(layer, "alpha", 1.0)
    value = ctx.builder.op("Elu", [x.name], layer.name, alpha=alpha)
    return [Tensor(value, x.shape, "float32", x.mask)]


@converter("PReLU")
def convert_prelu(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor]:
    x = inputs[0]
    if len(layer.weights) != 1:
        raise WeightsError(f"layer {layer.name!r} (PReLU) has {len(layer.weights)} weight arrays")
    alpha = np.asarray(layer.weights[0], np.float32)
    if alpha.ndim != x.rank - 1:
        raise WeightsError(f"layer {layer.name!r}: alpha shape {alpha.shape} for rank {x.rank}")
    b = ctx.builder
    value = b.op("PRelu", [x.name, b.initializer(f"{layer.name}_alpha", alpha)], layer.name)
    return [Tensor(value, x.shape, "float32", x.mask)]


@converter("Softmax")
def convert_softmax(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor]:
    x = inputs[0]
    if x.mask is not None:
        raise UnsupportedModelError(
            f"layer {layer.name!r}: a Softmax layer given a Keras mask is not supported"
        )
    axis = layer.config.get("axis", -1)
    if isinstance(axis, (list, tuple)):
        if len(axis) != 1:
            raise UnsupportedModelError(f"layer {layer.name!r}: softmax over several axes")
        axis = axis[0]
    if not isinstance(axis, int) or not -x.rank <= axis < x.rank:
        raise UnsupportedModelError(f"layer {layer.name!r}: axis {axis!r} for rank {x.rank}")
    value = ctx.builder.op("Softmax", [x.name], layer.name, axis=axis)
    return [Tensor(value, x.shape, "float32")]
