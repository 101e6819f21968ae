"""Keras activation names -> ONNX recurrent-op activations (and NumPy references).

onnxruntime's LSTM/GRU/RNN kernels honour alpha/beta, but their defaults differ
from the standalone ops', so every alpha/beta a function uses is given explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import UnsupportedModelError

SUPPORTED = ("sigmoid", "tanh", "relu", "linear", "softsign", "elu", "hard_sigmoid", "softplus")


@dataclass(frozen=True)
class RecurrentActivation:
    onnx_name: str
    alpha: float | None = None
    beta: float | None = None


def hard_sigmoid_slope(keras_major: int) -> float:
    """Keras 1/2 and tf-keras: clip(0.2x + 0.5); Keras 3: relu6(x + 3) / 6 = clip(x/6 + 0.5)."""
    return 1.0 / 6.0 if keras_major >= 3 else 0.2


def keras_activation_name(value: object) -> str:
    if value is None:
        return "linear"
    if isinstance(value, dict):  # serialized function object
        value = value.get("config", value.get("class_name"))
    if not isinstance(value, str):
        raise UnsupportedModelError(f"activation {value!r:.60} is not a built-in Keras activation")
    return value


def recurrent_activation(name: object, keras_major: int, layer: str) -> RecurrentActivation:
    key = keras_activation_name(name)
    if key == "sigmoid":
        return RecurrentActivation("Sigmoid")
    if key == "tanh":
        return RecurrentActivation("Tanh")
    if key == "relu":
        return RecurrentActivation("Relu")
    if key == "linear":
        return RecurrentActivation("Affine", 1.0, 0.0)
    if key == "softsign":
        return RecurrentActivation("Softsign")
    if key == "softplus":
        return RecurrentActivation("Softplus")
    if key == "elu":
        return RecurrentActivation("Elu", 1.0)
    if key == "hard_sigmoid":
        return RecurrentActivation("HardSigmoid", hard_sigmoid_slope(keras_major), 0.5)
    raise UnsupportedModelError(
        f"layer {layer!r}: activation {key!r} has no ONNX recurrent equivalent "
        f"(supported: {', '.join(SUPPORTED)})"
    )


def activation_attributes(acts: list[RecurrentActivation]) -> dict[str, list]:
    """The ``activations``/``activation_alpha``/``activation_beta`` node attributes.

    ONNX consumes alpha/beta in activation order, only for functions that take them.
    """
    attrs: dict[str, list] = {"activations": [a.onnx_name for a in acts]}
    alphas = [a.alpha for a in acts if a.alpha is not None]
    betas = [a.beta for a in acts if a.beta is not None]
    if alphas:
        attrs["activation_alpha"] = alphas
    if betas:
        attrs["activation_beta"] = betas
    return attrs
