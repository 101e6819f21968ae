"""The reference's building blocks: values, context, activations and the layer registry.

:mod:`reference` (recurrent layers and the graph walk) and :mod:`reference_layers` (the
layers around them) both register into REFERENCES from here, so neither imports the other
to do so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import reference_layouts as own
from .errors import UnsupportedModelError
from .model import Call, Layer

Array = np.ndarray


@dataclass
class Value:
    """A Keras tensor's value and its Keras mask (bool [batch, time]) if any."""

    data: Array
    mask: Array | None = None


@dataclass
class RefContext:
    keras_major: int
    # --state-io: initial states by (layer, label); final states are written back here.
    initial_states: dict[tuple[str, str], Array] = field(default_factory=dict)
    final_states: dict[tuple[str, str], Array] = field(default_factory=dict)


def activation_fn(name: object, keras_major: int) -> Callable[[Array], Array]:
    key = own.activation_key(name)
    slope, offset = own.hard_sigmoid_parameters(keras_major)
    table: dict[str, Callable[[Array], Array]] = {
        "linear": lambda x: x,
        "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
        "tanh": np.tanh,
        "relu": lambda x: np.maximum(x, 0.0),
        "softsign": lambda x: x / (1.0 + np.abs(x)),
        "softplus": lambda x: np.logaddexp(0.0, x),
        "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))),
        "selu": lambda x: (
            1.0507009873554805
            * np.where(x > 0, x, 1.6732632423543772 * np.expm1(np.minimum(x, 0.0)))
        ),
        "hard_sigmoid": lambda x: np.clip(slope * x + offset, 0.0, 1.0),
        "exponential": np.exp,
        "swish": lambda x: x / (1.0 + np.exp(-x)),
        "silu": lambda x: x / (1.0 + np.exp(-x)),
        "softmax": _softmax,
    }
    if key not in table:
        raise UnsupportedModelError(f"the reference has no activation {key!r}")
    return table[key]


def _softmax(x: Array) -> Array:
    shifted = np.exp(x - x.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


RefFn = Callable[[RefContext, Layer, list[Value], Call], list[Value]]
REFERENCES: dict[str, RefFn] = {}


def reference(*class_names: str) -> Callable[[RefFn], RefFn]:
    def register(fn: RefFn) -> RefFn:
        for name in class_names:
            REFERENCES[name] = fn
        return fn

    return register
