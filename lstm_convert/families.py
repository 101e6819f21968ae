"""One descriptor per Keras recurrent family: what Keras stores, and where ONNX wants it.

A family (LSTM, GRU, SimpleRNN) is every Keras class that computes the same cell: the
layer, its ``keras.layers.RNN`` cell class and its CuDNN cousin. The descriptor holds the
gate orders of both sides (the permutation is derived from them, never written), the
state labels, the names of the stored weights, and :meth:`RecurrentFamily.biases`, the
one reading of a layer's bias (input part, recurrent part, GRU ``reset_after``).

The converters (``layers/``), ``weightspec``, ``explain`` and ``inspect`` read
:data:`FAMILIES`. The NumPy reference does not: it keeps its own equations and layouts,
so a mistake here shows up as a parity failure instead of cancelling out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

BiasKind = Literal["single", "two", "none"]


@dataclass(frozen=True)
class LayerBiases:
    """A recurrent layer's bias as Keras uses it, gates in Keras order.

    ``single``: one bias Keras adds once (ONNX adds Wb + Rb, so it may be divided);
    ``two``: genuine input and recurrent biases, which go to Wb and Rb as they are;
    ``none``: use_bias=False.
    """

    kind: BiasKind
    stored: np.ndarray | None  # as in the file
    input: np.ndarray | None  # added to x·W (the one bias when ``single``)
    recurrent: np.ndarray | None  # added to h·U (``two`` only)
    reset_after: bool  # GRU: the h gate's recurrent part sits inside r ⊙ (h·U_h + b)


@dataclass(frozen=True)
class RecurrentFamily:
    name: str  # the Keras layer class, e.g. "LSTM"
    onnx_op: str  # "LSTM", "GRU" or "RNN"
    keras_gates: tuple[str, ...]  # gate blocks in the order Keras stores them
    onnx_gates: tuple[str, ...]  # the order the ONNX operator reads them
    gate_names: tuple[str, ...]  # readable names, in Keras order
    state_labels: tuple[str, ...]  # "h" (and "c")
    cell_class: str | None = None  # keras.layers.RNN(cell)
    cudnn_class: str | None = None  # Keras 2 CuDNN layer: cuDNN layout, two biases
    # GRU's reset_after option: with it, Keras stores the bias as (2, G*u).
    has_reset_after: bool = False

    def __post_init__(self) -> None:
        if sorted(self.keras_gates) != sorted(self.onnx_gates):
            raise ValueError(f"{self.name}: Keras and ONNX gates differ")
        if len(self.gate_names) != len(self.keras_gates):
            raise ValueError(f"{self.name}: one name per gate")

    @property
    def perm(self) -> tuple[int, ...]:
        """ONNX gate k comes from Keras gate ``perm[k]``."""
        return tuple(self.keras_gates.index(gate) for gate in self.onnx_gates)

    @property
    def gates(self) -> int:
        return len(self.keras_gates)

    @property
    def layer_classes(self) -> tuple[str, ...]:
        """The Keras layer classes of this family (cells excluded)."""
        return (self.name,) + ((self.cudnn_class,) if self.cudnn_class else ())

    def gate_name(self, gate: str) -> str:
        return self.gate_names[self.keras_gates.index(gate)]

    def weight_names(self, class_name: str, config: dict[str, Any]) -> list[str]:
        names = ["kernel", "recurrent_kernel"]
        has_bias = class_name == self.cudnn_class or config.get("use_bias", True)
        return names + ["bias"] if has_bias else names

    def reset_after(self, class_name: str, config: dict[str, Any], weights: list) -> bool:
        """GRU's reset_after; older configs omit it, and then the bias shape tells."""
        if class_name == self.cudnn_class:
            return self.has_reset_after  # CuDNNGRU computes GRU(reset_after=True)
        if not self.has_reset_after:
            return False
        value = config.get("reset_after")
        if value is None:
            use_bias = config.get("use_bias", True)
            return bool(use_bias and len(weights) > 2 and np.ndim(weights[2]) == 2)
        return bool(value)

    def weight_shapes(
        self, class_name: str, config: dict[str, Any], weights: list, units: int
    ) -> list[tuple[int, ...]]:
        """The shapes the config implies for the stored arrays (kernel first)."""
        size = self.gates * units
        features = weights[0].shape[0] if weights else 0
        shapes: list[tuple[int, ...]] = [(features, size), (units, size)]
        if class_name == self.cudnn_class:
            return [*shapes, (2 * size,)]
        if not config.get("use_bias", True):
            return shapes
        two = self.reset_after(class_name, config, weights)
        return [*shapes, (2, size) if two else (size,)]

    def biases(self, class_name: str, config: dict[str, Any], weights: list) -> LayerBiases:
        """The layer's bias, read once for every consumer (arrays of checked shapes)."""
        reset_after = self.reset_after(class_name, config, weights)
        if class_name == self.cudnn_class:
            stored = np.asarray(weights[2])
            first, second = np.split(stored.reshape(-1), 2)  # [input | recurrent]
            return LayerBiases("two", stored, first, second, reset_after)
        if not config.get("use_bias", True) or len(weights) < 3:
            return LayerBiases("none", None, None, None, reset_after)
        stored = np.asarray(weights[2])
        if reset_after:
            return LayerBiases("two", stored, stored[0], stored[1], True)
        return LayerBiases("single", stored, stored, None, False)


LSTM = RecurrentFamily(
    name="LSTM",
    onnx_op="LSTM",
    keras_gates=("i", "f", "c", "o"),
    onnx_gates=("i", "o", "f", "c"),
    gate_names=("input", "forget", "cell", "output"),
    state_labels=("h", "c"),
    cell_class="LSTMCell",
    cudnn_class="CuDNNLSTM",
)
GRU = RecurrentFamily(
    name="GRU",
    onnx_op="GRU",
    keras_gates=("z", "r", "h"),
    onnx_gates=("z", "r", "h"),
    gate_names=("update", "reset", "candidate"),
    state_labels=("h",),
    cell_class="GRUCell",
    cudnn_class="CuDNNGRU",
    has_reset_after=True,
)
SIMPLE_RNN = RecurrentFamily(
    name="SimpleRNN",
    onnx_op="RNN",
    keras_gates=("h",),
    onnx_gates=("h",),
    gate_names=("hidden",),
    state_labels=("h",),
    cell_class="SimpleRNNCell",
)

# Every Keras class name of a family (layer, cell, CuDNN) -> its descriptor.
FAMILIES: dict[str, RecurrentFamily] = {}


def register(family: RecurrentFamily) -> RecurrentFamily:
    for class_name in (*family.layer_classes, family.cell_class):
        if class_name is not None:
            FAMILIES[class_name] = family
    return family


for _family in (LSTM, GRU, SIMPLE_RNN):
    register(_family)


def family_of(class_name: str) -> RecurrentFamily | None:
    return FAMILIES.get(class_name)


def is_recurrent_layer(class_name: str) -> bool:
    """A recurrent layer class (not a cell class)."""
    family = FAMILIES.get(class_name)
    return family is not None and class_name in family.layer_classes


def recurrent_layer_classes() -> tuple[str, ...]:
    return tuple(name for name in FAMILIES if is_recurrent_layer(name))


def cell_layer_class(cell_class: str | None) -> str | None:
    """The layer class a ``keras.layers.RNN`` cell class computes like (or None)."""
    family = FAMILIES.get(cell_class or "")
    return family.name if family is not None and family.cell_class == cell_class else None
