"""Keras facts the NumPy reference needs, written again on purpose.

The parity check is only worth something if the oracle does not share code with the
converter: a fact both sides import (a layout conversion, a gate order, a mask rule)
cancels out at run time, and a mistake in it passes the check. So the reference keeps
its own versions here, written from Keras's and cuDNN's own definitions, and imports
nothing from ``keras_layouts``, ``remap``, ``weightspec``, ``activations``, ``layers``
or ``export``. ``tests/test_independence.py`` breaks each converter-side helper in turn
and asserts that ``convert`` then fails its check.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import UnsupportedModelError
from .model import Call, Layer

Array = np.ndarray

# Layers that only act while training.
TRAINING_ONLY = (
    "Dropout",
    "SpatialDropout1D",
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
    "ActivityRegularization",
)


# -- activations --------------------------------------------------------------------------


def activation_key(value: object) -> str:
    """A serialized Keras activation: a name, None (linear), or {"config": name}."""
    if value is None:
        return "linear"
    if isinstance(value, dict):
        value = value.get("config", value.get("class_name"))
    if not isinstance(value, str):
        raise UnsupportedModelError(f"the reference has no activation {value!r:.60}")
    return value


def hard_sigmoid_parameters(keras_major: int) -> tuple[float, float]:
    """(slope, offset) of hard_sigmoid: Keras 1/2 compute clip(0.2x + 0.5, 0, 1);
    Keras 3 computes relu6(x + 3) / 6, i.e. clip(x/6 + 0.5, 0, 1)."""
    return (1.0 / 6.0, 0.5) if keras_major >= 3 else (0.2, 0.5)


# -- cuDNN ---------------------------------------------------------------------------------
# CuDNNLSTM / CuDNNGRU files hold, gate by gate, the matrices cuDNN multiplies: each
# block's memory is cuDNN's row-major [units, fan_in] matrix (the file merely labels it
# [fan_in, units]); cuDNN computes W_g x + b_Wg + R_g h + b_Rg for every gate g. The
# blocks sit in Keras's gate order (LSTM i, f, c, o; GRU z, r, h); the bias holds every
# input bias first, then every recurrent bias.


def cudnn_gate_matrices(block_row: Array, gates: int, units: int) -> list[Array]:
    """cuDNN's [units, fan_in] matrix of each gate, from a stored [fan_in, gates*units]."""
    fan_in = block_row.shape[0]
    return [
        np.ascontiguousarray(block_row[:, g * units : (g + 1) * units]).reshape(units, fan_in)
        for g in range(gates)
    ]


def cudnn_terms(weights: list[Array], gates: int, units: int):
    """(input projections, recurrent projections) as functions of x and h, per gate."""
    kernel, recurrent, bias = (np.asarray(w, np.float64) for w in weights)
    input_w = cudnn_gate_matrices(kernel, gates, units)
    recurrent_w = cudnn_gate_matrices(recurrent, gates, units)
    input_b = [bias[g * units : (g + 1) * units] for g in range(gates)]
    recurrent_b = [bias[(gates + g) * units : (gates + g + 1) * units] for g in range(gates)]

    def from_x(x: Array) -> list[Array]:
        return [x @ w.T + b for w, b in zip(input_w, input_b, strict=True)]

    def from_h(h: Array) -> list[Array]:
        return [h @ r.T + b for r, b in zip(recurrent_w, recurrent_b, strict=True)]

    return from_x, from_h


def sigmoid(x: Array) -> Array:
    return 1.0 / (1.0 + np.exp(-x))


def cudnn_lstm_cell(config: dict[str, Any], weights: list[Array], major: int):
    """cuDNN's LSTM: i, f, o = σ(·), g = tanh(·), c' = f c + i g, h' = o tanh(c')."""
    units = int(config["units"])
    from_x, from_h = cudnn_terms(weights, 4, units)

    def project(x: Array) -> Array:
        return np.concatenate(from_x(x), axis=-1)

    def step(xz: Array, states: list[Array]) -> tuple[Array, list[Array]]:
        h, c = states
        x_i, x_f, x_g, x_o = np.split(xz, 4, axis=-1)
        h_i, h_f, h_g, h_o = from_h(h)
        c = sigmoid(x_f + h_f) * c + sigmoid(x_i + h_i) * np.tanh(x_g + h_g)
        h = sigmoid(x_o + h_o) * np.tanh(c)
        return h, [h, c]

    return units, 2, project, step


def cudnn_gru_cell(config: dict[str, Any], weights: list[Array], major: int):
    """cuDNN's GRU: r, z = σ(·), n = tanh(W_n x + b_Wn + r ⊙ (R_n h + b_Rn)),
    h' = (1 - z) n + z h."""
    units = int(config["units"])
    from_x, from_h = cudnn_terms(weights, 3, units)

    def project(x: Array) -> Array:
        return np.concatenate(from_x(x), axis=-1)

    def step(xz: Array, states: list[Array]) -> tuple[Array, list[Array]]:
        (h,) = states
        x_z, x_r, x_n = np.split(xz, 3, axis=-1)
        h_z, h_r, h_n = from_h(h)
        z, r = sigmoid(x_z + h_z), sigmoid(x_r + h_r)
        n = np.tanh(x_n + r * h_n)
        h = (1.0 - z) * n + z * h
        return h, [h]

    return units, 1, project, step


# -- Keras 1 -------------------------------------------------------------------------------
# Keras 1 stored one (W, U, b) triple per gate: LSTM as W_i,U_i,b_i, W_c,U_c,b_c,
# W_f,U_f,b_f, W_o,U_o,b_o and GRU as W_z,U_z,b_z, W_r,U_r,b_r, W_h,U_h,b_h.
KERAS1_LSTM_GATES = ("i", "c", "f", "o")
KERAS1_GRU_GATES = ("z", "r", "h")


def keras1_gates(arrays: list[Array], names: tuple[str, ...]) -> dict[str, tuple]:
    arrays = [np.asarray(a, np.float64) for a in arrays]
    return {name: tuple(arrays[3 * k : 3 * k + 3]) for k, name in enumerate(names)}


def keras1_lstm_cell(config: dict[str, Any], arrays: list[Array], major: int, act, gate):
    """Keras 1's LSTM step, gate by gate from its per-gate arrays."""
    units = int(config["units"])
    g = keras1_gates(arrays, KERAS1_LSTM_GATES)
    order = ("i", "f", "c", "o")

    def project(x: Array) -> Array:
        return np.concatenate([x @ g[k][0] + g[k][2] for k in order], axis=-1)

    def step(xz: Array, states: list[Array]) -> tuple[Array, list[Array]]:
        h, c = states
        x_i, x_f, x_c, x_o = np.split(xz, 4, axis=-1)
        i = gate(x_i + h @ g["i"][1])
        f = gate(x_f + h @ g["f"][1])
        c = f * c + i * act(x_c + h @ g["c"][1])
        h = gate(x_o + h @ g["o"][1]) * act(c)
        return h, [h, c]

    return units, 2, project, step


def keras1_gru_cell(config: dict[str, Any], arrays: list[Array], major: int, act, gate):
    """Keras 1's GRU step: hh = act(x W_h + b_h + (r h) U_h), h' = z h + (1 - z) hh."""
    units = int(config["units"])
    g = keras1_gates(arrays, KERAS1_GRU_GATES)

    def project(x: Array) -> Array:
        return np.concatenate([x @ g[k][0] + g[k][2] for k in KERAS1_GRU_GATES], axis=-1)

    def step(xz: Array, states: list[Array]) -> tuple[Array, list[Array]]:
        (h,) = states
        x_z, x_r, x_h = np.split(xz, 3, axis=-1)
        z = gate(x_z + h @ g["z"][1])
        r = gate(x_r + h @ g["r"][1])
        h = z * h + (1.0 - z) * act(x_h + (r * h) @ g["h"][1])
        return h, [h]

    return units, 1, project, step


# -- Bidirectional -------------------------------------------------------------------------


def stored_weight_count(class_name: str, config: dict[str, Any]) -> int:
    """How many arrays a recurrent layer stores: kernel, recurrent kernel, and a bias."""
    if class_name in ("CuDNNLSTM", "CuDNNGRU"):
        return 3
    return 3 if config.get("use_bias", True) else 2


def bidirectional_parts(config: dict[str, Any], weights: list[Array]):
    """((forward entry, its weights), (backward entry, its weights)): Keras saves the
    forward layer's weights first; the backward layer is a copy unless given."""
    forward = config["layer"]
    backward = config.get("backward_layer") or forward
    count = stored_weight_count(forward["class_name"], forward["config"])
    return (forward, weights[:count]), (backward, weights[count:])


# -- masks ---------------------------------------------------------------------------------


def merged_mask(kind: str, masks: list[Array | None], keras_major: int) -> Array | None:
    """The mask of a merge layer's output, as each Keras generation computes it.

    Keras 3 ORs the masks: ``Concatenate`` counts an unmasked input as all valid (so the
    result is then all valid), the other merges give no mask unless every input has one.
    tf.keras and Keras 1/2 AND the masks that exist.
    """
    present = [m for m in masks if m is not None]
    if not present:
        return None
    if keras_major < 3:
        return np.logical_and.reduce(present)
    if kind == "Concatenate":
        if len(present) < len(masks):
            return np.ones_like(present[0], dtype=bool)
        return np.logical_or.reduce(present)
    if len(present) < len(masks):
        return None
    return np.logical_or.reduce(present)


def compared_value(layer: Layer, call: Call) -> Any:
    """The constant of ``not_equal(x, constant)``: Keras 3 op layers keep it among the
    positional ``args`` (or as ``x2``); tf.keras's TFOpLambda stores it as ``y``."""
    for key in ("y", "x2"):
        value = call.kwargs.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
    args = call.kwargs.get("args")
    if isinstance(args, list):
        constants = [a for a in args if isinstance(a, (int, float)) and not isinstance(a, bool)]
        if constants:
            return constants[-1]
    raise UnsupportedModelError(f"layer {layer.name!r}: the reference finds no compared value")
