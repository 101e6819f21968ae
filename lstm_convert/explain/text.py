"""explain's words: each side's equations and the one-paragraph conclusion.

Gate orders come from the family descriptor (``families.py``); the equations are the
cells' own (Keras's and the ONNX operator's), written per ONNX operator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ConvertError
from ..families import RecurrentFamily

if TYPE_CHECKING:
    from .model import GateRow, KerasBias

CUDNN_ACTIVATIONS = {"activation": "tanh", "recurrent_activation": "sigmoid"}
Equations = tuple[list[str], list[str]]


def act_name(value: object) -> str:
    from ..activations import keras_activation_name

    try:
        name = keras_activation_name(value)
    except ConvertError:
        return str(value)
    return {"sigmoid": "σ"}.get(name, name)


def cell_activations(family: RecurrentFamily, cell: str, config: dict[str, Any]) -> dict[str, str]:
    if cell == family.cudnn_class:  # fixed by cuDNN
        return dict(CUDNN_ACTIVATIONS)
    from ..activations import keras_activation_name

    def name(key: str, default: str) -> str:
        try:
            return keras_activation_name(config.get(key, default))
        except ConvertError:
            return str(config.get(key))

    acts = {"activation": name("activation", "tanh")}
    if family.gates > 1:
        acts["recurrent_activation"] = name("recurrent_activation", "hard_sigmoid")
    return acts


def equations(
    family: RecurrentFamily, cell: str, acts: dict[str, str], bias: KerasBias, shapes: dict
) -> Equations:
    g = act_name(acts["activation"])
    s = act_name(acts.get("recurrent_activation", "sigmoid"))
    where = f"W = kernel {shapes['kernel']}, U = recurrent_kernel {shapes['recurrent']}"
    cudnn = cell == family.cudnn_class
    if cudnn:
        where += "\nkernel blocks stored in cuDNN layout, read per gate"
    if family.onnx_op == "LSTM":
        return lstm_equations(family, s, g, bias, shapes, where.split("\n"))
    if family.onnx_op == "GRU":
        return gru_equations(family, s, g, bias, shapes, where.split("\n"), cudnn)
    b = "" if bias.kind == "none" else " + b"
    keras = [f"h' = {g}(x·W + h·U{b})", where]
    if bias.kind == "single":
        keras.append(f"b = bias {shapes['bias']}: one vector")
    onnx = ["ONNX RNN, one gate", f"h' = {g}(x·Wᵀ + h·Rᵀ + Wb + Rb)"]
    return keras, onnx


def lstm_equations(
    family: RecurrentFamily, s: str, g: str, bias: KerasBias, shapes: dict, where: list[str]
) -> Equations:
    if bias.kind == "two":
        size = f"{shapes['bias']}: [input | recurrent]"
        head = ["z = x·W + b_in + h·U + b_rec", *where, f"b_in, b_rec = bias {size}"]
    else:
        b = "" if bias.kind == "none" else " + b"
        head = [f"z = x·W + h·U{b}", *where]
        if bias.kind == "single":
            head.append(f"b = bias {shapes['bias']}: one vector")
    blocks = ", ".join(f"z_{gate}" for gate in family.keras_gates)
    keras = [
        *head,
        f"Keras order: {blocks} = split(z, {family.gates})",
        f"i = {s}(z_i)   f = {s}(z_f)   o = {s}(z_o)",
        f"c' = f⊙c + i⊙{g}(z_c)",
        f"h' = o⊙{g}(c')",
    ]
    onnx = [
        f"each gate g in ONNX order {', '.join(family.onnx_gates)}:",
        "z_g = x·W_gᵀ + h·R_gᵀ + Wb_g + Rb_g",
        f"i = {s}(z_i)   o = {s}(z_o)   f = {s}(z_f)",
        f"c' = f⊙c + i⊙{g}(z_c)",
        f"h' = o⊙{g}(c')",
    ]
    return keras, onnx


def gru_equations(
    family: RecurrentFamily,
    s: str,
    g: str,
    bias: KerasBias,
    shapes: dict,
    where: list[str],
    cudnn: bool,
) -> Equations:
    order = ", ".join(family.onnx_gates)
    split = ", ".join(f"{{}}_{gate}" for gate in family.keras_gates)
    if bias.reset_after:
        b_in, b_rec = shapes["halves"] if cudnn else ("bias[0]", "bias[1]")
        keras = [
            f"{split.format(*'x' * family.gates)} = split(x·W + {b_in}, 3)",
            f"{split.format(*'u' * family.gates)} = split(h·U + {b_rec}, 3)",
            *where,
            f"z = {s}(x_z + u_z)   r = {s}(x_r + u_r)",
            f"ĥ = {g}(x_h + r⊙u_h)   u_h holds {b_rec}'s h part",
            "h' = z⊙h + (1 - z)⊙ĥ",
        ]
        onnx = [
            f"gates {order}; linear_before_reset = 1",
            f"z = {s}(x·W_zᵀ + h·R_zᵀ + Wb_z + Rb_z)",
            f"r = {s}(x·W_rᵀ + h·R_rᵀ + Wb_r + Rb_r)",
            f"ĥ = {g}(x·W_hᵀ + Wb_h + r⊙(h·R_hᵀ + Rb_h))",
            "h' = (1 - z)⊙ĥ + z⊙h",
        ]
        return keras, onnx
    b = "" if bias.kind == "none" else " + b"
    keras = [
        f"z = {s}(x·W_z + h·U_z{b and ' + b_z'})",
        f"r = {s}(x·W_r + h·U_r{b and ' + b_r'})",
        f"ĥ = {g}(x·W_h + (r⊙h)·U_h{b and ' + b_h'})",
        "h' = z⊙h + (1 - z)⊙ĥ",
        *where,
    ]
    if bias.kind == "single":
        keras.append(f"b = bias {shapes['bias']}: one vector")
    onnx = [
        f"gates {order}; linear_before_reset = 0",
        f"z = {s}(x·W_zᵀ + h·R_zᵀ + Wb_z + Rb_z)",
        f"r = {s}(x·W_rᵀ + h·R_rᵀ + Wb_r + Rb_r)",
        f"ĥ = {g}(x·W_hᵀ + (r⊙h)·R_hᵀ + Wb_h + Rb_h)",
        "h' = (1 - z)⊙ĥ + z⊙h",
    ]
    return keras, onnx


def slice_text(bounds: tuple[int, int]) -> str:
    return f"{bounds[0]}:{bounds[1]}"


def any_moved(rows: list[GateRow]) -> bool:
    return any(row.moved for row in rows)


def moves(rows: list[GateRow], target: str, source: str, dest: str = "") -> str:
    moved = [row for row in rows if row.moved]
    if not moved:
        return "the gate order is the same, so no block moves"
    text = ", ".join(
        f"{row.gate} {source}[{slice_text(row.keras_bias)}] → "
        f"{(dest or target).strip()}[{slice_text(row.onnx_wb)}]"
        for row in moved
    )
    return f"only the gate order changes, so {text}"


def conclusion(
    family: RecurrentFamily,
    cell: str,
    bias: KerasBias,
    bias_split: str,
    rows: list[GateRow],
    units: int,
) -> str:
    target = {"wb": "Wb", "rb": "Rb", "half": "Wb and Rb"}[bias_split]
    if bias.kind != "single":
        target = "Wb and Rb"
    if cell == family.cudnn_class:
        return cudnn_conclusion(cell, bias, rows, family.gates * units, target)
    if bias.reset_after:
        reordered = (
            f" Between the orders, {moves(rows, target, 'bias')}." if any_moved(rows) else ""
        )
        return (
            "GRU(reset_after=True) has two genuine biases: bias[0] goes to Wb and bias[1] to Rb. "
            "The h gate's recurrent bias is added to h·U_h before the reset gate r multiplies "
            "it, r⊙(h·U_h + Rb_h), so it cannot move into Wb: it stays in Rb and ONNX computes "
            f"exactly this with linear_before_reset=1 (--bias-split does not apply).{reordered}"
        )
    if bias.kind == "none":
        return (
            "use_bias=False: Wb and Rb are zeros; "
            f"{moves(rows, target, 'kernel columns ', 'W and R rows ')}."
        )
    this_run = {
        "wb": "all of b in Wb, Rb = 0",
        "rb": "all of b in Rb, Wb = 0",
        "half": "b/2 in Wb and b/2 in Rb",
    }[bias_split]
    gru_note = ""
    if family.has_reset_after:
        gru_note = " (reset_after=False: ONNX adds Rb_h outside r⊙…, linear_before_reset=0)"
    return (
        "Keras has no separate recurrent bias: it adds its one bias b once, ONNX adds Wb + Rb, "
        "and addition commutes, so b "
        f"may sit wholly in Wb, wholly in Rb or be divided (this run, --bias-split {bias_split}: "
        f"{this_run}){gru_note}; {moves(rows, target, 'bias')}."
    )


def cudnn_conclusion(
    cell: str, bias: KerasBias, rows: list[GateRow], size: int, target: str
) -> str:
    gru_inside = ""
    if bias.reset_after:
        gru_inside = (
            "; the h gate's recurrent bias sits inside r⊙(h·U_h + Rb_h), which ONNX "
            "computes with linear_before_reset=1"
        )
    return (
        f"{cell} stores two genuine biases, input bias[:{size}] (added to x·W) and "
        f"recurrent bias[{size}:] (added to h·U): each goes straight to Wb and Rb, nothing "
        f"is split or merged and --bias-split does not apply; in both, "
        f"{moves(rows, target, '', ' ')}{gru_inside}."
    )
