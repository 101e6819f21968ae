"""From a family descriptor and one Keras direction's arrays to its remapped W, R, B.

Every family converter (lstm.py, gru.py, simple_rnn.py, cudnn.py) starts here: the
shapes the config implies are checked, the bias is read once by the descriptor, CuDNN
kernels are brought to Keras's layout, and the gate blocks are permuted into ONNX order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import keras_layouts
from ..export.context import ExportContext
from ..families import FAMILIES, LayerBiases, RecurrentFamily
from ..remap import Kernel, remap_layer
from .recurrent import expect_weights, units_of


@dataclass(frozen=True)
class FamilyArrays:
    """One direction in ONNX terms, before the converter adds activations."""

    family: RecurrentFamily
    units: int
    W: Kernel  # [G*u, in]
    R: Kernel  # [G*u, u]
    B: np.ndarray  # [2*G*u] = [Wb, Rb]
    biases: LayerBiases


def family_arrays(
    class_name: str, name: str, config: dict[str, Any], weights: list, ctx: ExportContext
) -> FamilyArrays:
    """``class_name``'s descriptor is looked up at call time (tests may replace it)."""
    family = FAMILIES[class_name]
    units = units_of(name, config)
    expect_weights(name, weights, family.weight_shapes(class_name, config, weights, units))
    biases = family.biases(class_name, config, weights)
    kernel, recurrent = weights[0], weights[1]
    if class_name == family.cudnn_class:
        kernel, recurrent = keras_layouts.cudnn_kernels(kernel, recurrent, family.gates)
    split = ctx.options.bias_split
    # W and R are made only as the model is written (export/serialize.py): no ONNX copy
    # of the kernels is held in memory.
    w, r, b = remap_layer(kernel, recurrent, biases, family.perm, units, split, deferred=True)
    return FamilyArrays(family, units, w, r, b, biases)
