"""The neutral model: what a reader returns and every later stage consumes.

Weights stay exactly in Keras layout here; all remapping happens later, in
``remap.py``, so the NumPy reference can start from the arrays Keras wrote.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class TensorRef:
    """A Keras tensor: output ``index`` of call ``node`` of layer ``layer``."""

    layer: str
    node: int = 0
    index: int = 0


@dataclass
class Call:
    """One call of a layer (a Keras "inbound node")."""

    inputs: list[TensorRef]
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Layer:
    name: str
    class_name: str
    config: dict[str, Any]
    weights: list[np.ndarray] = field(default_factory=list)
    weight_names: list[str] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    # A nested Sequential/Functional model used as a layer.
    submodel: KerasModel | None = None
    # A Keras 3 operation traced into a Functional graph (keras.ops.*, or the mask ops
    # Keras writes itself): not a layer, so it owns no weight container.
    op_layer: bool = False
    # The arrays exactly as the file stores them, kept only when the reader regrouped
    # them (Keras 1's per-gate arrays), so the reference can start from the file's own.
    file_weights: list[np.ndarray] | None = None


@dataclass
class SourceInfo:
    path: str
    format: str  # "keras2-h5", "keras3-h5", "keras-zip", "keras1-h5"
    keras_version: str
    backend: str = ""

    @property
    def keras_major(self) -> int:
        head = self.keras_version.split(".", 1)[0]
        return int(head) if head.isdigit() else 2


@dataclass
class KerasModel:
    name: str
    class_name: str  # "Sequential" or "Functional"
    layers: list[Layer]
    inputs: list[TensorRef]
    outputs: list[TensorRef]
    source: SourceInfo

    def layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    def iter_layers(self):
        """Every layer, nested models' layers included, depth first."""
        for layer in self.layers:
            yield layer
            if layer.submodel is not None:
                yield from layer.submodel.iter_layers()

    def weight_bytes(self) -> int:
        return sum(int(w.nbytes) for layer in self.iter_layers() for w in layer.weights)


def call_order(model: KerasModel) -> list[tuple[Layer, int]]:
    """Every (layer, call index) of ``model`` such that each call's inputs come first.

    The order is that of repeated passes over the config, taking each call whose inputs
    are ready (so it stays the order the file lists), computed in linear time: each call's
    pass is derived from its inputs' passes in one topological walk, then sorted.
    """
    calls = [(layer, i) for layer in model.layers for i in range(len(layer.calls))]
    position = {(layer.name, i): pos for pos, (layer, i) in enumerate(calls)}
    ready = {(layer.name, 0) for layer in model.layers if layer.class_name == "InputLayer"}
    inputs: list[list[int]] = [[] for _ in calls]
    users: list[list[int]] = [[] for _ in calls]
    waiting = [0] * len(calls)
    for pos, (layer, index) in enumerate(calls):
        for key in {(ref.layer, ref.node) for ref in call_refs(layer.calls[index])} - ready:
            source = position.get(key, pos)  # an unknown input blocks the call for good
            inputs[pos].append(source)
            users[source].append(pos)
            waiting[pos] += 1
    passes = [0] * len(calls)
    stack = [pos for pos, count in enumerate(waiting) if count == 0]
    while stack:
        pos = stack.pop()
        # An input listed later in the file is only ready on the next pass.
        passes[pos] = max([1] + [passes[s] + (s > pos) for s in inputs[pos]])
        for user in users[pos]:
            waiting[user] -= 1
            if waiting[user] == 0:
                stack.append(user)
    blocked = [calls[pos][0].name for pos, count in enumerate(waiting) if count]
    if blocked:
        from .errors import InputFileError

        names = ", ".join(sorted(set(blocked))[:5])
        raise InputFileError(f"model graph cannot be ordered (cycle or missing input): {names}")
    return [calls[pos] for pos in sorted(range(len(calls)), key=lambda p: (passes[p], p))]


# tf.keras records MultiHeadAttention's ``value`` and ``key`` as keyword arguments
# (Keras 3 as positional ones): both become inputs after the positional ones.
KEYWORD_INPUTS = ("value", "key")


def call_inputs(call: Call) -> list[TensorRef]:
    """The tensors a layer receives as its inputs, in Keras's order.

    tf.keras lists a recurrent layer's ``initial_state`` tensors after its input; Keras 3
    keeps them in the ``initial_state`` keyword. Both come out as ``[x, *states]``.
    """
    refs = list(call.inputs)
    other = call.kwargs.get("y")  # tf.keras TFOpLambda: the second tensor of math.add(x, y)
    if isinstance(other, TensorRef):
        refs.append(other)
    for key in KEYWORD_INPUTS:  # tf.keras: MultiHeadAttention's value and key
        ref = call.kwargs.get(key)
        if isinstance(ref, TensorRef):
            refs.append(ref)
    states = call.kwargs.get("initial_state")
    if isinstance(states, TensorRef):
        refs.append(states)
    elif isinstance(states, list):
        refs.extend(v for v in states if isinstance(v, TensorRef))
    return refs


def call_refs(call: Call) -> list[TensorRef]:
    """Tensors a call consumes: its inputs and any tensors passed as keyword arguments."""
    refs = list(call.inputs)
    for value in call.kwargs.values():
        if isinstance(value, TensorRef):
            refs.append(value)
        elif isinstance(value, list):
            refs.extend(v for v in value if isinstance(v, TensorRef))
    return refs


def constant_operand(layer: Layer, call: Call) -> Any:
    """The non-tensor operand of an op layer such as ``keras.ops.not_equal(x, 0)``.

    Keras 3 keeps it among the positional args; tf.keras's TFOpLambda as ``y``.
    """
    for key in ("x2", "y"):
        value = call.kwargs.get(key)
        if value is not None and not isinstance(value, (TensorRef, list, dict)):
            return value
    values = call.kwargs.get("args")
    if isinstance(values, list) and values and isinstance(values[-1], (int, float)):
        return values[-1]
    from .errors import UnsupportedModelError

    raise UnsupportedModelError(f"layer {layer.name!r}: cannot find the value compared against")


# Sizes that come from the config alone (input shapes, RepeatVector's n) are checked
# before anything is allocated; weight shapes are checked against the file instead.
MAX_DIM = 2**20


def check_dim(value: Any, what: str, allow_none: bool = True) -> None:
    if value is None and allow_none:
        return
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_DIM:
        from .errors import InputFileError

        raise InputFileError(f"{what} has an absurd size {value!r} (limit {MAX_DIM})")
