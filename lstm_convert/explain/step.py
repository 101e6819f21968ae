"""explain's semantic check: one step of ONNX's equations on the arrays written,
against one step of the NumPy reference on the Keras arrays.

The ONNX side names its W, R and B slices from the ONNX operator's own gate order
(i, o, f, c for LSTM; z, r, h for GRU), never from the permutation the remapper used,
so a wrong permutation makes the two steps disagree. The Keras side is the parity
check's reference (``reference.make_cell``), which starts from the Keras-layout arrays.
The ONNX orders below are the operators' specification, stated here on purpose apart
from ``families.py``: a wrong descriptor must not be able to agree with itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .text import CUDNN_ACTIVATIONS

if TYPE_CHECKING:
    from ..families import RecurrentFamily

Array = np.ndarray
STEP_SEED = 20240613
ONNX_LSTM_GATES = ("i", "o", "f", "c")  # ONNX LSTM's W, R and B blocks
ONNX_GRU_GATES = ("z", "r", "h")  # ONNX GRU's


def _slices(gates: tuple[str, ...], units: int) -> dict[str, slice]:
    return {g: slice(k * units, (k + 1) * units) for k, g in enumerate(gates)}


def onnx_lstm_step(w, r, b, gate: Callable, act: Callable, x, h, c) -> tuple[Array, Array]:
    """ONNX LSTM: z_g = x·W_gᵀ + h·R_gᵀ + Wb_g + Rb_g for g in ONNX order i, o, f, c."""
    units = r.shape[-1]
    size = 4 * units
    z = x @ w.T + h @ r.T + b[:size] + b[size:]
    s = _slices(ONNX_LSTM_GATES, units)
    c_new = gate(z[:, s["f"]]) * c + gate(z[:, s["i"]]) * act(z[:, s["c"]])
    return gate(z[:, s["o"]]) * act(c_new), c_new


def onnx_gru_step(w, r, b, gate, act, x, h, linear_before_reset: bool) -> Array:
    """ONNX GRU, gates z, r, h; linear_before_reset=1 puts Rb_h inside r ⊙ (·)."""
    units = r.shape[-1]
    size = 3 * units
    s = _slices(ONNX_GRU_GATES, units)
    wb, rb = b[:size], b[size:]
    xw = x @ w.T + wb
    z = gate(xw[:, s["z"]] + h @ r[s["z"]].T + rb[s["z"]])
    reset = gate(xw[:, s["r"]] + h @ r[s["r"]].T + rb[s["r"]])
    if linear_before_reset:
        candidate = act(xw[:, s["h"]] + reset * (h @ r[s["h"]].T + rb[s["h"]]))
    else:
        candidate = act(xw[:, s["h"]] + (reset * h) @ r[s["h"]].T + rb[s["h"]])
    return (1.0 - z) * candidate + z * h


def onnx_rnn_step(w, r, b, act, x, h) -> Array:
    units = r.shape[-1]
    return act(x @ w.T + h @ r.T + b[:units] + b[units:])


def step_difference(
    cell: str,
    config: dict[str, Any],
    weights: list[Array],
    file_weights: list[Array] | None,
    written: Any,
    family: RecurrentFamily,
    keras_major: int,
) -> float:
    """Max |Δ| between one ONNX step (written W, R, B) and one reference step."""
    from ..reference import activation_fn, make_cell

    w, r, b = (np.asarray(a, np.float64) for a in (written.W, written.R, written.B))
    units, inputs = r.shape[-1], w.shape[-1]
    rng = np.random.default_rng(STEP_SEED)
    x = rng.normal(0.0, 1.0, size=(2, inputs))
    h = rng.normal(0.0, 0.5, size=(2, units))
    c = rng.normal(0.0, 0.5, size=(2, units))
    names = {**config, **CUDNN_ACTIVATIONS} if cell == family.cudnn_class else config
    act = activation_fn(names.get("activation", "tanh"), keras_major)
    gate = activation_fn(names.get("recurrent_activation", "hard_sigmoid"), keras_major)
    _, n_states, project, step = make_cell(cell, config, weights, keras_major, file_weights)
    keras_h, keras_states = step(project(x), [h, c][:n_states])
    if family.onnx_op == "LSTM":
        onnx_h, onnx_c = onnx_lstm_step(w, r, b, gate, act, x, h, c)
        return float(max(np.abs(onnx_h - keras_h).max(), np.abs(onnx_c - keras_states[1]).max()))
    if family.onnx_op == "GRU":
        lbr = bool(written.record.attributes.get("linear_before_reset", 0))
        onnx_h = onnx_gru_step(w, r, b, gate, act, x, h, lbr)
    else:
        onnx_h = onnx_rnn_step(w, r, b, act, x, h)
    return float(np.abs(onnx_h - keras_h).max())
