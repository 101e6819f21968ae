"""Explain where a Keras recurrent layer's weights and bias go in ONNX.

``explain()`` converts the model with the project's own exporter, reads back the
``<layer>_W``, ``<layer>_R`` and ``<layer>_B`` initializers it wrote, and lays the
Keras arrays and the ONNX arrays side by side, one row per gate, with a check
recomputed from the written arrays. Rendering lives in :mod:`explanation_render`;
``numpy_snippet()`` writes a runnable one-step LSTM in plain NumPy.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ConvertError, UnsupportedModelError
from .explanation_step import step_difference
from .model import KerasModel, Layer
from .remap import (
    BIAS_SPLITS,
    KERAS_GRU_GATES,
    KERAS_LSTM_GATES,
    KERAS_RNN_GATES,
    KERAS_TO_ONNX_GRU,
    KERAS_TO_ONNX_LSTM,
    KERAS_TO_ONNX_RNN,
    ONNX_GRU_GATES,
    ONNX_LSTM_GATES,
)
from .safe_text import visible
from .weightspec import inner_layer_configs, weight_names

CELL_CLASSES = ("LSTM", "GRU", "SimpleRNN", "CuDNNLSTM", "CuDNNGRU")
EXPLAINED_CLASSES = (*CELL_CLASSES, "Bidirectional")
# Largest number of weight values --numpy writes inline; bigger layers are read from the file.
INLINE_LIMIT = 4096

GATE_NAMES = {
    "LSTM": {"i": "input", "f": "forget", "c": "cell", "o": "output"},
    "GRU": {"z": "update", "r": "reset", "h": "candidate"},
    "RNN": {"h": "hidden"},
}


class LayerNotFoundError(ConvertError):
    """``--layer`` names no recurrent layer of the file (exit code 2)."""


@dataclass(frozen=True)
class Family:
    op: str  # ONNX op
    keras_gates: tuple[str, ...]
    onnx_gates: tuple[str, ...]
    perm: tuple[int, ...]  # ONNX gate k comes from Keras gate perm[k]


def family(class_name: str) -> Family:
    if class_name in ("LSTM", "CuDNNLSTM"):
        return Family("LSTM", KERAS_LSTM_GATES, ONNX_LSTM_GATES, KERAS_TO_ONNX_LSTM)
    if class_name in ("GRU", "CuDNNGRU"):
        return Family("GRU", KERAS_GRU_GATES, ONNX_GRU_GATES, KERAS_TO_ONNX_GRU)
    if class_name == "SimpleRNN":
        onnx_gates = tuple(KERAS_RNN_GATES[k] for k in KERAS_TO_ONNX_RNN)
        return Family("RNN", KERAS_RNN_GATES, onnx_gates, KERAS_TO_ONNX_RNN)
    raise UnsupportedModelError(f"{class_name} is not a recurrent layer")


@dataclass
class GateRow:
    """One gate: where its Keras columns and bias go in ONNX, and the check."""

    gate: str  # gate letter, e.g. "f"
    name: str  # "forget"
    keras_index: int  # position of the gate block in Keras order
    onnx_index: int  # position in ONNX order
    keras_columns: tuple[int, int]  # kernel[:, a:b] and recurrent_kernel[:, a:b]
    keras_bias: tuple[int, int]  # bias[a:b] (two-part biases: the same range in each part)
    onnx_rows: tuple[int, int]  # W[d, a:b] and R[d, a:b]
    onnx_wb: tuple[int, int]  # Wb[a:b] = B[d, a:b]
    onnx_rb: tuple[int, int]  # Rb[a:b] = B[d, G*u + a : G*u + b]
    keras_bias_values: list[float]  # the Keras bias slice (sum of both parts if two)
    keras_input_bias_values: list[float] | None  # two genuine biases: each part
    keras_recurrent_bias_values: list[float] | None
    wb_values: list[float]  # as written
    rb_values: list[float]
    moved: bool
    bias_max_diff: float  # recomputed from the written B
    kernel_max_diff: float | None  # W and R rows against the Keras columns


@dataclass
class LayerExplanation:
    layer: str
    class_name: str  # the Keras layer's class ("Bidirectional" for both its directions)
    cell: str  # the cell class: LSTM, GRU, SimpleRNN, CuDNNLSTM, CuDNNGRU
    direction: str  # Keras's: "forward", or "backward" in a Bidirectional
    direction_index: int  # index of this direction on the ONNX initializers' leading axis
    onnx_direction: str  # how the ONNX node runs it: "forward" or "reverse"
    go_backwards: bool  # Keras runs this direction over the steps last to first
    onnx_op: str
    units: int
    input_size: int
    keras_gates: list[str]
    onnx_gates: list[str]
    permutation: list[int]
    # "single": one Keras bias, divided by --bias-split; "two": two genuine biases
    # (GRU reset_after=True, CuDNN); "none": use_bias=False.
    bias_kind: str
    bias_split: str | None  # None when --bias-split does not apply
    keras_bias_shape: list[int]
    keras_bias: list  # as stored: 1-D, or 2-D for GRU reset_after=True
    keras_input_bias: list[float]  # the part ONNX must add through Wb (or all, if single)
    keras_recurrent_bias: list[float]
    wb: list[float]  # B[d, :G*u] as written
    rb: list[float]  # B[d, G*u:] as written
    onnx_attributes: dict[str, Any]
    initializers: dict[str, str]  # W, R, B -> initializer names
    onnx_shapes: dict[str, list[int]]
    activations: dict[str, str]
    rows: list[GateRow]
    keras_equations: list[str]
    onnx_equations: list[str]
    conclusion: str
    bias_max_diff: float
    kernel_max_diff: float | None
    arrays_from: str  # "export" (initializers of the exported graph) or "converter"
    # One step of ONNX's equations on the written arrays against one step of the
    # reference on the Keras arrays (see explanation_step.py): the semantic check.
    step_max_diff: float = 0.0

    @property
    def gates(self) -> int:
        return len(self.keras_gates)


@dataclass
class ExplainResult:
    path: str
    format: str
    keras_version: str
    bias_split: str
    layers: list[LayerExplanation]
    # Set when the whole model could not be exported and each layer's arrays came
    # straight from its converter (build_spec) instead.
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- finding the layers ------------------------------------------------------------------


def recurrent_layers(model: KerasModel) -> list[Layer]:
    """The recurrent layers; a ``keras.layers.RNN(cell)`` counts as the layer each of its
    cells is converted as (named after the fused node it becomes)."""
    from .layers.rnn_cell import cell_layers

    layers: list[Layer] = []
    for layer in model.iter_layers():
        if layer.class_name in EXPLAINED_CLASSES:
            layers.append(layer)
        elif layer.class_name == "RNN":
            try:
                layers.extend(cell_layers(layer))
            except UnsupportedModelError:
                continue  # a cell we do not convert: nothing to explain
    return layers


def select_layers(model: KerasModel, name: str | None) -> list[Layer]:
    layers = recurrent_layers(model)
    if not layers:
        raise UnsupportedModelError(
            f"{model.source.path}: no recurrent layer to explain "
            f"(looked for {', '.join(EXPLAINED_CLASSES)})"
        )
    if name is None:
        return layers
    chosen = [layer for layer in layers if layer.name == name]
    if not chosen:
        known = ", ".join(f"{layer.name} ({layer.class_name})" for layer in layers)
        other = next((lyr for lyr in model.iter_layers() if lyr.name == name), None)
        what = f"is {other.class_name}, not a recurrent layer" if other else "does not exist"
        raise LayerNotFoundError(f"layer {name!r} {what}; recurrent layers: {known}")
    return chosen[:1]


@dataclass
class Direction:
    """One Keras direction of a recurrent layer."""

    label: str  # "forward" or "backward" (Bidirectional), else "forward"
    cell: str
    config: dict[str, Any]
    weights: list[np.ndarray]
    runs_backwards: bool  # processes the steps last to first (go_backwards)


def directions(layer: Layer) -> list[Direction]:
    """Each Keras direction of ``layer``: one, or two for a Bidirectional."""
    if layer.class_name != "Bidirectional":
        back = bool(layer.config.get("go_backwards"))
        return [Direction("forward", layer.class_name, layer.config, layer.weights, back)]
    forward, backward = inner_layer_configs(layer.config)
    n_forward = len(weight_names(forward["class_name"], forward["config"]) or [])
    fwd_back = bool(forward["config"].get("go_backwards"))
    # Keras builds the backward copy with go_backwards flipped; an explicit
    # backward_layer says so itself.
    if "backward_layer" in layer.config:
        bwd_back = bool(backward["config"].get("go_backwards", not fwd_back))
    else:
        bwd_back = not fwd_back
    return [
        Direction(
            "forward", forward["class_name"], forward["config"], layer.weights[:n_forward], fwd_back
        ),
        Direction(
            "backward",
            backward["class_name"],
            backward["config"],
            layer.weights[n_forward:],
            bwd_back,
        ),
    ]


# -- the ONNX arrays, as the converter writes them ---------------------------------------


@dataclass
class Written:
    """One Keras direction's ONNX W, R, B, as written (without the direction axis)."""

    W: np.ndarray  # [G*u, in]
    R: np.ndarray  # [G*u, u]
    B: np.ndarray  # [2*G*u] = [Wb, Rb]
    index: int  # position on the initializers' leading (direction) axis
    shapes: dict[str, list[int]]  # the initializers' full shapes
    names: dict[str, str]  # W, R, B -> initializer names
    attributes: dict[str, Any]  # direction, linear_before_reset
    source: str  # "export" or "converter"


def initializer_names(node_name: str) -> dict[str, str]:
    """The names ``emit_node`` gives a node's initializers (via the builder's own rules)."""
    from .export.builder import GraphBuilder

    builder = GraphBuilder(opset=0)
    return {key: builder.unique(f"{node_name}_{key}") for key in ("W", "R", "B")}


def _node_arrays(proto: Any, node_name: str) -> tuple[list[np.ndarray], dict, dict] | None:
    """([W, R, B], initializer names, attributes) of the recurrent node fed by
    ``<node_name>_W/_R/_B``, or None if the exported graph has no such node."""
    from onnx import helper, numpy_helper

    names = initializer_names(node_name)
    wanted = [names["W"], names["R"], names["B"]]
    inits = {init.name: init for init in proto.graph.initializer}
    for node in proto.graph.node:
        if node.op_type not in ("LSTM", "GRU", "RNN") or list(node.input[1:4]) != wanted:
            continue
        if not all(name in inits for name in wanted):
            return None
        arrays = [numpy_helper.to_array(inits[name]) for name in wanted]
        if _has_padding_flag(proto, node):
            arrays[0] = arrays[0][..., :-1]  # not a Keras weight: recurrent.hold_on_padding
        attributes = {
            attr.name: helper.get_attribute_value(attr)
            for attr in node.attribute
            if attr.name in ("linear_before_reset", "direction")
        }
        if isinstance(attributes.get("direction"), bytes):
            attributes["direction"] = attributes["direction"].decode()
        return arrays, names, attributes
    return None


def _has_padding_flag(proto: Any, node: Any) -> bool:
    """A masked LSTM whose cell state is used reads one more input column, the padding
    flag, concatenated last onto its packed steps (see mask_pack.Packing.padding_tm)."""
    for producer in proto.graph.node:
        if node.input[0] in producer.output:
            return producer.op_type == "Concat" and "_padding_tm" in producer.input[-1]
    return False


def _written(arrays: list[np.ndarray], index: int, names: dict, attributes: dict) -> Written:
    w, r, b = arrays
    shapes = {key: list(a.shape) for key, a in zip("WRB", arrays, strict=True)}
    return Written(w[index], r[index], b[index], index, shapes, names, attributes, "export")


def arrays_from_export(proto: Any, layer: Layer) -> list[Written] | None:
    """Each Keras direction's arrays, read from the exported graph's initializers.

    A Bidirectional is one node whose direction 0 runs forward in time (ONNX's rule),
    or, when its directions differ in size, one node per direction.
    """
    dirs = directions(layer)
    found = _node_arrays(proto, layer.name)
    if found is not None:
        arrays, names, attributes = found
        if len(dirs) == 1:
            return [_written(arrays, 0, names, attributes)]
        return [_written(arrays, int(d.runs_backwards), names, attributes) for d in dirs]
    if len(dirs) == 2:
        separate = [_node_arrays(proto, f"{layer.name}_{d.label}") for d in dirs]
        if all(part is not None for part in separate):
            return [_written(*part[:1], 0, *part[1:]) for part in separate]  # type: ignore[misc]
    return None


def onnx_direction(written: Written) -> str:
    """How the node runs this direction; masked go_backwards layers run reversed,
    packed steps forwards, so the node's attribute is the truth."""
    direction = str(written.attributes.get("direction", "forward"))
    if direction == "bidirectional":
        return "reverse" if written.index == 1 else "forward"
    return direction


def arrays_from_converter(model: KerasModel, layer: Layer, bias_split: str) -> list[Written]:
    """Fallback when the whole model cannot be exported: the converter's own CellSpecs,
    which are exactly the arrays ``emit_node`` would write."""
    from .export.builder import GraphBuilder
    from .export.context import ConvertOptions, ExportContext
    from .layers.recurrent import build_spec

    options = ConvertOptions(bias_split=bias_split, state_io=True)  # type: ignore[arg-type]
    ctx = ExportContext(GraphBuilder(opset=options.opset), options, model.source.keras_major)
    dirs = directions(layer)
    written = []
    for d in dirs:
        spec = build_spec(layer.name, d.cell, d.config, d.weights, ctx)
        attributes: dict[str, Any] = dict(spec.attrs)
        # A lone go_backwards layer runs its reversed steps forwards (never "reverse",
        # which tract and OpenCV miscompute); a Bidirectional's backward half is the
        # reverse direction of the shared node.
        fused_backward = d.runs_backwards and len(dirs) == 2
        attributes["direction"] = "reverse" if fused_backward else "forward"
        index = int(d.runs_backwards) if len(dirs) == 2 else 0
        shapes = {
            key: [len(dirs), *np.shape(a)]
            for key, a in zip("WRB", (spec.W, spec.R, spec.B), strict=True)
        }
        names = initializer_names(layer.name)
        written.append(
            Written(spec.W, spec.R, spec.B, index, shapes, names, attributes, "converter")
        )
    return written


# -- Keras's side --------------------------------------------------------------------------


@dataclass
class KerasBias:
    kind: str  # "single", "two" or "none"
    stored: np.ndarray | None  # as in the file
    input_part: np.ndarray  # [G*u] in Keras gate order: added to x.W
    recurrent_part: np.ndarray  # [G*u]: added to h.U (zeros for a single bias)
    reset_after: bool = False


def keras_bias(
    cell: str, config: dict[str, Any], weights: list[np.ndarray], size: int
) -> KerasBias:
    zeros = np.zeros(size, dtype=np.float64)
    if cell in ("CuDNNLSTM", "CuDNNGRU"):
        stored = np.asarray(weights[2], dtype=np.float64)
        input_part, recurrent_part = np.split(stored.reshape(-1), 2)
        return KerasBias("two", stored, input_part, recurrent_part, cell == "CuDNNGRU")
    if not config.get("use_bias", True) or len(weights) < 3:
        return KerasBias("none", None, zeros, zeros)
    stored = np.asarray(weights[2], dtype=np.float64)
    if cell == "GRU":
        reset_after = config.get("reset_after")
        if reset_after is None:  # older configs omit it; the bias shape tells (as gru.py)
            reset_after = stored.ndim == 2
        if reset_after:
            return KerasBias("two", stored, stored[0], stored[1], True)
    return KerasBias("single", stored, stored, zeros)


def keras_kernels(cell: str, weights: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray] | None:
    """Kernel and recurrent kernel in Keras's canonical layout (None if unknown)."""
    if cell in ("CuDNNLSTM", "CuDNNGRU"):
        try:
            from .keras_layouts import cudnn_kernels
        except ImportError:  # pragma: no cover - depends on the CuDNN converter
            return None
        return cudnn_kernels(weights[0], weights[1], 4 if cell == "CuDNNLSTM" else 3)
    return weights[0], weights[1]


# -- equations and conclusions -------------------------------------------------------------


def act_name(value: object) -> str:
    from .activations import keras_activation_name

    try:
        name = keras_activation_name(value)
    except ConvertError:
        return str(value)
    return {"sigmoid": "σ"}.get(name, name)


def cell_activations(cell: str, config: dict[str, Any]) -> dict[str, str]:
    if cell.startswith("CuDNN"):  # fixed by cuDNN
        return {"activation": "tanh", "recurrent_activation": "sigmoid"}
    from .activations import keras_activation_name

    def name(key: str, default: str) -> str:
        try:
            return keras_activation_name(config.get(key, default))
        except ConvertError:
            return str(config.get(key))

    acts = {"activation": name("activation", "tanh")}
    if cell != "SimpleRNN":
        acts["recurrent_activation"] = name("recurrent_activation", "hard_sigmoid")
    return acts


def equations(
    cell: str, acts: dict[str, str], bias: KerasBias, shapes: dict[str, Any]
) -> tuple[list[str], list[str]]:
    g = act_name(acts["activation"])
    s = act_name(acts.get("recurrent_activation", "sigmoid"))
    where = f"W = kernel {shapes['kernel']}, U = recurrent_kernel {shapes['recurrent']}"
    cudnn = (
        ["kernel blocks stored in cuDNN layout, read per gate"] if cell.startswith("CuDNN") else []
    )
    if cell in ("LSTM", "CuDNNLSTM"):
        if bias.kind == "two":
            size = f"{shapes['bias']}: [input | recurrent]"
            head = ["z = x·W + b_in + h·U + b_rec", where, *cudnn, f"b_in, b_rec = bias {size}"]
        else:
            b = "" if bias.kind == "none" else " + b"
            head = [f"z = x·W + h·U{b}", where]
            if bias.kind == "single":
                head.append(f"b = bias {shapes['bias']}: one vector")
        keras = [
            *head,
            "Keras order: z_i, z_f, z_c, z_o = split(z, 4)",
            f"i = {s}(z_i)   f = {s}(z_f)   o = {s}(z_o)",
            f"c' = f⊙c + i⊙{g}(z_c)",
            f"h' = o⊙{g}(c')",
        ]
        onnx = [
            "each gate g in ONNX order i, o, f, c:",
            "z_g = x·W_gᵀ + h·R_gᵀ + Wb_g + Rb_g",
            f"i = {s}(z_i)   o = {s}(z_o)   f = {s}(z_f)",
            f"c' = f⊙c + i⊙{g}(z_c)",
            f"h' = o⊙{g}(c')",
        ]
        return keras, onnx
    if cell in ("GRU", "CuDNNGRU"):
        if bias.reset_after:
            b_in, b_rec = ("bias[0]", "bias[1]") if not cudnn else shapes["halves"]
            keras = [
                f"x_z, x_r, x_h = split(x·W + {b_in}, 3)",
                f"u_z, u_r, u_h = split(h·U + {b_rec}, 3)",
                where,
                *cudnn,
                f"z = {s}(x_z + u_z)   r = {s}(x_r + u_r)",
                f"ĥ = {g}(x_h + r⊙u_h)   u_h holds {b_rec}'s h part",
                "h' = z⊙h + (1 - z)⊙ĥ",
            ]
            onnx = [
                "gates z, r, h; linear_before_reset = 1",
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
            where,
        ]
        if bias.kind == "single":
            keras.append(f"b = bias {shapes['bias']}: one vector")
        onnx = [
            "gates z, r, h; linear_before_reset = 0",
            f"z = {s}(x·W_zᵀ + h·R_zᵀ + Wb_z + Rb_z)",
            f"r = {s}(x·W_rᵀ + h·R_rᵀ + Wb_r + Rb_r)",
            f"ĥ = {g}(x·W_hᵀ + (r⊙h)·R_hᵀ + Wb_h + Rb_h)",
            "h' = (1 - z)⊙ĥ + z⊙h",
        ]
        return keras, onnx
    b = "" if bias.kind == "none" else " + b"
    keras = [f"h' = {g}(x·W + h·U{b})", where]
    if bias.kind == "single":
        keras.append(f"b = bias {shapes['bias']}: one vector")
    onnx = ["ONNX RNN, one gate", f"h' = {g}(x·Wᵀ + h·Rᵀ + Wb + Rb)"]
    return keras, onnx


def slice_text(bounds: tuple[int, int]) -> str:
    return f"{bounds[0]}:{bounds[1]}"


def conclusion(
    cell: str, bias: KerasBias, bias_split: str, rows: list[GateRow], units: int, gates: int
) -> str:
    target = {"wb": "Wb", "rb": "Rb", "half": "Wb and Rb"}[bias_split]
    if bias.kind != "single":
        target = "Wb and Rb"

    def order(source: str, dest: str = "") -> str:
        moved = [row for row in rows if row.moved]
        if not moved:
            return "the gate order is the same, so no block moves"
        moves = ", ".join(
            f"{row.gate} {source}[{slice_text(row.keras_bias)}] → "
            f"{(dest or target).strip()}[{slice_text(row.onnx_wb)}]"
            for row in moved
        )
        return f"only the gate order changes, so {moves}"

    if cell.startswith("CuDNN"):
        size = gates * units
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
            f"{order('', ' ')}{gru_inside}."
        )
    if bias.reset_after:
        return (
            "GRU(reset_after=True) has two genuine biases: bias[0] goes to Wb and bias[1] to Rb. "
            "The h gate's recurrent bias is added to h·U_h before the reset gate r multiplies "
            "it, r⊙(h·U_h + Rb_h), so it cannot move into Wb: it stays in Rb and ONNX computes "
            "exactly this with linear_before_reset=1 (--bias-split does not apply)."
        )
    if bias.kind == "none":
        moves = order("kernel columns ", "W and R rows ")
        return f"use_bias=False: Wb and Rb are zeros; {moves}."
    this_run = {
        "wb": "all of b in Wb, Rb = 0",
        "rb": "all of b in Rb, Wb = 0",
        "half": "b/2 in Wb and b/2 in Rb",
    }[bias_split]
    gru_note = ""
    if cell == "GRU":
        gru_note = " (reset_after=False: ONNX adds Rb_h outside r⊙…, linear_before_reset=0)"
    return (
        "Keras has no separate recurrent bias: it adds its one bias b once, ONNX adds Wb + Rb, "
        "and addition commutes, so b "
        f"may sit wholly in Wb, wholly in Rb or be divided (this run, --bias-split {bias_split}: "
        f"{this_run}){gru_note}; {order('bias')}."
    )


# -- the explanation -----------------------------------------------------------------------


def values(array: np.ndarray) -> list[float]:
    return [float(v) for v in np.asarray(array).reshape(-1)]


def max_abs(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b))) if a.size else 0.0


def explain_direction(
    layer: Layer, direction: Direction, written: Written, bias_split: str, keras_major: int = 2
) -> LayerExplanation:
    cell, config, weights = direction.cell, direction.config, direction.weights
    fam = family(cell)
    gates = len(fam.keras_gates)
    w, r, b = written.W, written.R, written.B
    units = r.shape[-1]
    size = gates * units
    bias = keras_bias(cell, config, weights, size)
    kernels = keras_kernels(cell, weights)
    wb_all, rb_all = b[:size], b[size:]
    names = GATE_NAMES[fam.op]
    rows = []
    for k_index, gate in enumerate(fam.keras_gates):
        o_index = fam.perm.index(k_index)
        keras_range = (k_index * units, (k_index + 1) * units)
        onnx_range = (o_index * units, (o_index + 1) * units)
        ks, os_ = slice(*keras_range), slice(*onnx_range)
        wb, rb = wb_all[os_], rb_all[os_]
        b_in, b_rec = bias.input_part[ks], bias.recurrent_part[ks]
        if bias.kind == "two":
            # Two genuine biases: each must land in its own half, unchanged.
            bias_diff = max(max_abs(wb, b_in), max_abs(rb, b_rec))
        else:
            bias_diff = max_abs(np.asarray(wb, np.float64) + rb, b_in)
        kernel_diff = None
        if kernels is not None:
            kernel, recurrent = kernels
            kernel_diff = max(
                max_abs(w[os_], np.asarray(kernel)[:, ks].T),
                max_abs(r[os_], np.asarray(recurrent)[:, ks].T),
            )
        rows.append(
            GateRow(
                gate=gate,
                name=names[gate],
                keras_index=k_index,
                onnx_index=o_index,
                keras_columns=keras_range,
                keras_bias=keras_range,
                onnx_rows=onnx_range,
                onnx_wb=onnx_range,
                onnx_rb=(size + onnx_range[0], size + onnx_range[1]),
                keras_bias_values=values(b_in + b_rec),
                keras_input_bias_values=values(b_in) if bias.kind == "two" else None,
                keras_recurrent_bias_values=values(b_rec) if bias.kind == "two" else None,
                wb_values=values(wb),
                rb_values=values(rb),
                moved=k_index != o_index,
                bias_max_diff=bias_diff,
                kernel_max_diff=kernel_diff,
            )
        )
    stored_shape = list(bias.stored.shape) if bias.stored is not None else []

    def shape(array: np.ndarray) -> str:
        return "×".join(str(d) for d in np.shape(array))

    shapes: dict[str, Any] = {
        "halves": (f"bias[:{size}]", f"bias[{size}:]"),
        "kernel": shape(weights[0]),
        "recurrent": shape(weights[1]),
        "bias": str(tuple(bias.stored.shape)) if bias.stored is not None else "-",
    }
    acts = cell_activations(cell, config)
    keras_eq, onnx_eq = equations(cell, acts, bias, shapes)
    split_applies = bias.kind == "single"
    attributes = dict(written.attributes)
    if fam.op == "GRU" and "linear_before_reset" not in attributes:
        attributes["linear_before_reset"] = 0
    kernel_diffs = [row.kernel_max_diff for row in rows if row.kernel_max_diff is not None]
    return LayerExplanation(
        layer=layer.name,
        class_name=layer.class_name,
        cell=cell,
        direction=direction.label,
        direction_index=written.index,
        onnx_direction=onnx_direction(written),
        go_backwards=direction.runs_backwards,
        onnx_op=fam.op,
        units=units,
        input_size=int(w.shape[-1]),
        keras_gates=list(fam.keras_gates),
        onnx_gates=list(fam.onnx_gates),
        permutation=list(fam.perm),
        bias_kind=bias.kind,
        bias_split=bias_split if split_applies else None,
        keras_bias_shape=stored_shape,
        keras_bias=bias.stored.tolist() if bias.stored is not None else [],
        keras_input_bias=values(bias.input_part),
        keras_recurrent_bias=values(bias.recurrent_part),
        wb=values(wb_all),
        rb=values(rb_all),
        onnx_attributes=attributes,
        initializers=dict(written.names),
        onnx_shapes=written.shapes,
        activations=acts,
        rows=rows,
        keras_equations=keras_eq,
        onnx_equations=onnx_eq,
        conclusion=conclusion(cell, bias, bias_split, rows, units, gates),
        bias_max_diff=max(row.bias_max_diff for row in rows),
        kernel_max_diff=max(kernel_diffs) if len(kernel_diffs) == len(rows) else None,
        arrays_from=written.source,
        step_max_diff=step_difference(
            cell,
            config,
            weights,
            layer.file_weights if layer.class_name != "Bidirectional" else None,
            written,
            keras_major,
        ),
    )


def explain_model(
    model: KerasModel, layer: str | None = None, bias_split: str = "wb"
) -> ExplainResult:
    if bias_split not in BIAS_SPLITS:
        raise ValueError(f"bias split must be one of {BIAS_SPLITS}, not {bias_split!r}")
    from .export import export_model
    from .export.context import ConvertOptions

    chosen = select_layers(model, layer)
    note = None
    proto = None
    try:
        options = ConvertOptions(bias_split=bias_split)  # type: ignore[arg-type]
        exported = export_model(model, options)
        proto = exported.model
        note = "; ".join(exported.notes) or None
    except ConvertError as exc:
        note = (
            f"the whole model does not convert ({exc}); the arrays below come from each "
            "layer's converter, exactly as convert would write them"
        )
    explanations = []
    for keras_layer in chosen:
        written = arrays_from_export(proto, keras_layer) if proto is not None else None
        if written is None:
            written = arrays_from_converter(model, keras_layer, bias_split)
        for direction, arrays in zip(directions(keras_layer), written, strict=True):
            explanations.append(
                explain_direction(
                    keras_layer, direction, arrays, bias_split, model.source.keras_major
                )
            )
    return ExplainResult(
        path=str(model.source.path),
        format=model.source.format,
        keras_version=model.source.keras_version,
        bias_split=bias_split,
        layers=explanations,
        note=note,
    )


def explain(path: str | Path, layer: str | None = None, bias_split: str = "wb") -> ExplainResult:
    """Where each recurrent layer's Keras weights and bias go in ONNX, checked.

    The ONNX arrays are the initializers the exporter writes for ``bias_split``; the
    check recomputes ``Wb + Rb`` (or each genuine bias) from them per gate.
    Raises :class:`LayerNotFoundError` for an unknown ``layer`` and
    :class:`~lstm_convert.errors.UnsupportedModelError` for a file without recurrent layers.
    """
    from .api import load

    return explain_model(load(path), layer, bias_split)


# -- --numpy: one Keras LSTM step, runnable ------------------------------------------------

SNIPPET_ACTIVATIONS = {
    "sigmoid": "def sigmoid(v):\n    return 1.0 / (1.0 + np.exp(-v))\n",
    "tanh": "tanh = np.tanh\n",
    "relu": "def relu(v):\n    return np.maximum(v, 0.0)\n",
    "linear": "def linear(v):\n    return v\n",
    "softsign": "def softsign(v):\n    return v / (1.0 + np.abs(v))\n",
    "softplus": "def softplus(v):\n    return np.logaddexp(0.0, v)\n",
    "elu": "def elu(v):\n    return np.where(v > 0, v, np.expm1(np.minimum(v, 0.0)))\n",
}


def _activation_source(name: str, keras_major: int) -> str:
    if name == "hard_sigmoid":
        from .activations import hard_sigmoid_slope

        slope = hard_sigmoid_slope(keras_major)
        return (
            f"def hard_sigmoid(v):  # Keras {keras_major}'s hard_sigmoid\n"
            f"    return np.clip({slope!r} * v + 0.5, 0.0, 1.0)\n"
        )
    if name not in SNIPPET_ACTIVATIONS:
        raise UnsupportedModelError(f"--numpy has no NumPy version of activation {name!r}")
    return SNIPPET_ACTIVATIONS[name]


def _array_literal(name: str, array: np.ndarray, comment: str) -> str:
    """``name = np.array([...])`` with rows wrapped at about 96 characters."""
    import textwrap

    array = np.asarray(array)
    dtype = "float64" if array.dtype == np.float64 else "float32"

    def number(v: float) -> str:
        # The shortest text that reads back as the same float32 (or float64).
        return str(np.float32(v)) if dtype == "float32" else repr(float(v))

    def row(values: np.ndarray, indent: str) -> str:
        text = "[" + ", ".join(number(v) for v in values) + "]"
        return textwrap.fill(text, 96, initial_indent=indent, subsequent_indent=indent + " ")

    if array.ndim == 1:
        body = row(array, "    ")
    else:
        body = ",\n".join(row(r, "    ") for r in array)
        body = "    [\n" + textwrap.indent(body, "    ") + ",\n    ]"
    return f"{name} = np.array(  # {comment}\n{body},\n    dtype=np.{dtype},\n)\n"


def numpy_snippet(
    path: str | Path, layer: str | None = None, inline_limit: int = INLINE_LIMIT
) -> str:
    """Python source computing one Keras LSTM step from the file's own arrays.

    Small layers (at most ``inline_limit`` weight values) are written inline, so the
    snippet needs only NumPy; larger ones are read with ``lstm_convert.api.load``.
    The snippet leaves ``x``, ``h0``, ``c0``, ``h`` and ``c`` defined and prints h and c.
    """
    from .api import load

    model = load(path)
    layers = select_layers(model, layer)
    candidates = [
        (keras_layer, d.config, d.weights)
        for keras_layer in layers
        for d in directions(keras_layer)[:1]
        if d.cell == "LSTM"
    ]
    if not candidates:
        what = ", ".join(f"{lyr.name} ({lyr.class_name})" for lyr in layers)
        raise UnsupportedModelError(
            f"--numpy writes one step of a Keras LSTM; no LSTM layer among: {what}"
        )
    keras_layer, config, weights = candidates[0]
    kernel, recurrent = weights[0], weights[1]
    n_in, units = kernel.shape[0], recurrent.shape[0]
    g = 4 * units
    use_bias = bool(config.get("use_bias", True)) and len(weights) > 2
    acts = cell_activations("LSTM", config)
    gate_fn, act_fn = acts["recurrent_activation"], acts["activation"]
    major = model.source.keras_major
    functions = "\n".join(
        _activation_source(name, major) for name in dict.fromkeys((gate_fn, act_fn))
    )
    bidirectional = keras_layer.class_name == "Bidirectional"
    title = f"layer {keras_layer.name!r}" + (" (its forward LSTM)" if bidirectional else "")
    bias_shape = f"bias ({g},)" if use_bias else "no bias (use_bias=False)"
    out = [
        f"# One Keras LSTM step for {title} of {visible(Path(path).name)}, in plain NumPy,",
        "# from the arrays stored in the file. Keras keeps the 4 gates side by side:",
        f"# kernel ({n_in}, {g}) = (input, 4*units), recurrent_kernel ({units}, {g}) = "
        f"(units, 4*units), {bias_shape},",
        "# each split into blocks of units columns in the order i, f, c, o (ONNX: i, o, f, c).",
        "import numpy as np",
        "",
    ]
    if sum(int(np.size(a)) for a in weights[:3]) <= inline_limit:
        out.append(_array_literal("kernel", kernel, f"({n_in}, {g})"))
        out.append(_array_literal("recurrent_kernel", recurrent, f"({units}, {g})"))
        if use_bias:
            out.append(_array_literal("bias", weights[2], f"({g},)"))
    else:
        names = "kernel, recurrent_kernel" + (", bias" if use_bias else "")
        pick = f"[:{3 if use_bias else 2}]" if bidirectional else ""
        out += [
            "from lstm_convert.api import load  # reads .h5 and .keras without TensorFlow",
            "",
            f"model = load({str(path)!r})",
            f"layer = next(lyr for lyr in model.iter_layers() if lyr.name == {keras_layer.name!r})",
            f"{names} = layer.weights{pick}",
            "",
        ]
    if not use_bias:
        out.append(f"bias = np.zeros({g}, dtype=kernel.dtype)  # use_bias=False\n")
    out += [
        functions,
        "rng = np.random.default_rng(0)",
        f"x = rng.standard_normal((1, {n_in})).astype(np.float32)  # (batch, input): one step",
        f"h0 = rng.standard_normal((1, {units})).astype(np.float32)  # (batch, units): last output",
        f"c0 = rng.standard_normal((1, {units})).astype(np.float32)  # (batch, units): cell state",
        "",
        f"z = x @ kernel + h0 @ recurrent_kernel + bias  # (1, {g}): the one bias, added once",
        f"z_i, z_f, z_c, z_o = np.split(z, 4, axis=-1)  # Keras order i, f, c, o: (1, {units})",
        f"i, f, o = {gate_fn}(z_i), {gate_fn}(z_f), {gate_fn}(z_o)",
        f"c = f * c0 + i * {act_fn}(z_c)",
        f"h = o * {act_fn}(c)",
        'print("h =", h)',
        'print("c =", c)',
    ]
    return "\n".join(out) + "\n"
