"""Explain where a Keras recurrent layer's weights and bias go in ONNX: the result model.

``explain_model()`` converts the model with the project's own exporter and reads back,
from the exporter's own record (``ExportResult.recurrent``), each Keras direction's node
and W, R, B initializers. It lays the Keras arrays and the ONNX arrays side by side, one
row per gate, with checks recomputed from the written arrays. The words live in
``text.py``, the rendering in ``lstm_convert.render.explain``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from .. import keras_layouts
from ..errors import ConvertError, UnsupportedModelError
from ..families import FAMILIES, LayerBiases, RecurrentFamily, is_recurrent_layer
from ..model import KerasModel, Layer
from ..weightspec import KerasDirection, keras_directions
from .step import step_difference
from .text import cell_activations, conclusion, equations

if TYPE_CHECKING:
    from ..export import ExportResult
    from ..export.records import RecurrentRecord
    from ..remap import BiasSplit


class LayerNotFoundError(ConvertError):
    """``--layer`` names no recurrent layer of the file, or is needed (exit code 2)."""


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
    kernel_max_diff: float  # W and R rows against the Keras columns


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
    onnx_node: str  # the node's name in the exported graph
    units: int
    input_size: int
    keras_gates: list[str]
    onnx_gates: list[str]
    permutation: list[int]
    # "single": one Keras bias, divided by --bias-split; "two": two genuine biases
    # (GRU reset_after=True, CuDNN); "none": use_bias=False.
    bias_kind: str
    # How the file stores it: "one" vector, "rows" (2, G*u) = input row, recurrent row,
    # "halves" [input | recurrent] in one vector (CuDNN), or "none".
    keras_bias_layout: str
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
    kernel_max_diff: float
    # One step of ONNX's equations on the written arrays against one step of the
    # reference on the Keras arrays (see step.py): the semantic check.
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
    note: str | None = None  # the exporter's notes (stateful layers, precision policy)
    numpy: str | None = None  # the --numpy snippet, when asked for

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- finding the layers ------------------------------------------------------------------


def recurrent_layers(model: KerasModel) -> list[Layer]:
    """The recurrent layers; a ``keras.layers.RNN(cell)`` counts as the layer each of its
    cells is converted as (named after the fused node it becomes)."""
    from ..layers.rnn_cell import cell_layers

    layers: list[Layer] = []
    for layer in model.iter_layers():
        if is_recurrent_layer(layer.class_name) or layer.class_name == "Bidirectional":
            layers.append(layer)
        elif layer.class_name == "RNN":
            try:
                layers.extend(cell_layers(layer))
            except UnsupportedModelError:
                continue  # a cell we do not convert: nothing to explain
    return layers


def describe(layers: list[Layer]) -> str:
    return ", ".join(f"{layer.name} ({layer.class_name})" for layer in layers)


def select_layers(model: KerasModel, name: str | None) -> list[Layer]:
    layers = recurrent_layers(model)
    if not layers:
        raise UnsupportedModelError(
            f"{model.source.path}: no recurrent layer to explain "
            "(looked for LSTM, GRU, SimpleRNN, their CuDNN and RNN(cell) forms, Bidirectional)"
        )
    if name is None:
        return layers
    chosen = [layer for layer in layers if layer.name == name]
    if not chosen:
        other = next((lyr for lyr in model.iter_layers() if lyr.name == name), None)
        what = f"is {other.class_name}, not a recurrent layer" if other else "does not exist"
        raise LayerNotFoundError(f"layer {name!r} {what}; recurrent layers: {describe(layers)}")
    return chosen[:1]


def directions(layer: Layer) -> list[KerasDirection]:
    return keras_directions(layer.class_name, layer.config, layer.weights)


# -- the ONNX arrays, as the exporter wrote them -------------------------------------------


@dataclass
class Written:
    """One Keras direction's ONNX W, R, B, as written (without the direction axis)."""

    W: np.ndarray  # [G*u, in]
    R: np.ndarray  # [G*u, u]
    B: np.ndarray  # [2*G*u] = [Wb, Rb]
    record: RecurrentRecord
    shapes: dict[str, list[int]]  # the initializers' full shapes


def written_arrays(exported: ExportResult, layer: Layer) -> list[Written]:
    """Each Keras direction's arrays, read through the exporter's record of its node."""
    arrays = dict(exported.initializers)
    result = []
    for direction in directions(layer):
        record = next(
            (
                r
                for r in exported.recurrent
                if r.layer == layer.name and r.direction == direction.label
            ),
            None,
        )
        if record is None:
            raise UnsupportedModelError(
                f"layer {layer.name!r}: no ONNX node computes its {direction.label} direction "
                "(nothing the model outputs depends on it)"
            )
        full = [arrays[record.initializers[key]] for key in ("W", "R", "B")]
        w, r, b = (a[record.index] for a in full)
        if record.padding_flag:
            w = w[..., :-1]  # not a Keras weight: recurrent.hold_on_padding
        shapes = {key: list(a.shape) for key, a in zip("WRB", full, strict=True)}
        result.append(Written(w, r, b, record, shapes))
    return result


# -- Keras's side --------------------------------------------------------------------------


@dataclass
class KerasBias:
    kind: str  # "single", "two" or "none"
    stored: np.ndarray | None  # as in the file
    input_part: np.ndarray  # [G*u] in Keras gate order: added to x.W
    recurrent_part: np.ndarray  # [G*u]: added to h.U (zeros for a single bias)
    reset_after: bool = False


def keras_bias(biases: LayerBiases, size: int) -> KerasBias:
    """``families``' reading of the bias, in float64 with zeros for missing parts."""

    def part(array: np.ndarray | None) -> np.ndarray:
        return np.zeros(size) if array is None else np.asarray(array, np.float64).reshape(-1)

    stored = None if biases.stored is None else np.asarray(biases.stored, np.float64)
    reset_after = biases.reset_after and biases.kind != "none"
    return KerasBias(biases.kind, stored, part(biases.input), part(biases.recurrent), reset_after)


def bias_layout(family: RecurrentFamily, cell: str, bias: KerasBias) -> str:
    if bias.kind != "two":
        return {"single": "one"}.get(bias.kind, bias.kind)
    return "halves" if cell == family.cudnn_class else "rows"


def keras_kernels(
    family: RecurrentFamily, cell: str, weights: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Kernel and recurrent kernel in Keras's canonical layout."""
    if cell == family.cudnn_class:
        return keras_layouts.cudnn_kernels(weights[0], weights[1], family.gates)
    return weights[0], weights[1]


def values(array: np.ndarray) -> list[float]:
    return [float(v) for v in np.asarray(array).reshape(-1)]


def max_abs(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b))) if a.size else 0.0


# -- the explanation -----------------------------------------------------------------------


def gate_rows(
    family: RecurrentFamily,
    written: Written,
    bias: KerasBias,
    kernels: tuple[np.ndarray, np.ndarray],
) -> list[GateRow]:
    """One row per gate, in Keras order, each checked against the written arrays."""
    units = written.R.shape[-1]
    size = family.gates * units
    wb_all, rb_all = written.B[:size], written.B[size:]
    rows = []
    for k_index, gate in enumerate(family.keras_gates):
        o_index = family.perm.index(k_index)
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
        kernel, recurrent = (np.asarray(k) for k in kernels)
        kernel_diff = max(
            max_abs(written.W[os_], kernel[:, ks].T), max_abs(written.R[os_], recurrent[:, ks].T)
        )
        two = bias.kind == "two"
        rows.append(
            GateRow(
                gate=gate,
                name=family.gate_name(gate),
                keras_index=k_index,
                onnx_index=o_index,
                keras_columns=keras_range,
                keras_bias=keras_range,
                onnx_rows=onnx_range,
                onnx_wb=onnx_range,
                onnx_rb=(size + onnx_range[0], size + onnx_range[1]),
                keras_bias_values=values(b_in + b_rec),
                keras_input_bias_values=values(b_in) if two else None,
                keras_recurrent_bias_values=values(b_rec) if two else None,
                wb_values=values(wb),
                rb_values=values(rb),
                moved=k_index != o_index,
                bias_max_diff=bias_diff,
                kernel_max_diff=kernel_diff,
            )
        )
    return rows


def shape_texts(weights: list[np.ndarray], bias: KerasBias, size: int) -> dict[str, Any]:
    def shape(array: np.ndarray) -> str:
        return "×".join(str(d) for d in np.shape(array))

    return {
        "halves": (f"bias[:{size}]", f"bias[{size}:]"),
        "kernel": shape(weights[0]),
        "recurrent": shape(weights[1]),
        "bias": str(tuple(bias.stored.shape)) if bias.stored is not None else "-",
    }


def explain_direction(
    layer: Layer, direction: KerasDirection, written: Written, bias_split: str, keras_major: int
) -> LayerExplanation:
    cell, config, weights = direction.class_name, direction.config, direction.weights
    family = FAMILIES[cell]
    units = written.R.shape[-1]
    size = family.gates * units
    bias = keras_bias(family.biases(cell, config, weights), size)
    rows = gate_rows(family, written, bias, keras_kernels(family, cell, weights))
    acts = cell_activations(family, cell, config)
    keras_eq, onnx_eq = equations(family, cell, acts, bias, shape_texts(weights, bias, size))
    record = written.record
    attributes = {"direction": record.node_direction, **record.attributes}
    if record.node_direction == "forward":
        del attributes["direction"]
    if family.onnx_op == "GRU" and "linear_before_reset" not in attributes:
        attributes["linear_before_reset"] = 0
    file_weights = layer.file_weights if layer.class_name != "Bidirectional" else None
    return LayerExplanation(
        layer=layer.name,
        class_name=layer.class_name,
        cell=cell,
        direction=direction.label,
        direction_index=record.index,
        onnx_direction=record.runs,
        go_backwards=direction.runs_backwards,
        onnx_op=family.onnx_op,
        onnx_node=record.node,
        units=units,
        input_size=int(written.W.shape[-1]),
        keras_gates=list(family.keras_gates),
        onnx_gates=list(family.onnx_gates),
        permutation=list(family.perm),
        bias_kind=bias.kind,
        keras_bias_layout=bias_layout(family, cell, bias),
        bias_split=bias_split if bias.kind == "single" else None,
        keras_bias_shape=list(bias.stored.shape) if bias.stored is not None else [],
        keras_bias=bias.stored.tolist() if bias.stored is not None else [],
        keras_input_bias=values(bias.input_part),
        keras_recurrent_bias=values(bias.recurrent_part),
        wb=values(written.B[:size]),
        rb=values(written.B[size:]),
        onnx_attributes=attributes,
        initializers=dict(record.initializers),
        onnx_shapes=written.shapes,
        activations=acts,
        rows=rows,
        keras_equations=keras_eq,
        onnx_equations=onnx_eq,
        conclusion=conclusion(family, cell, bias, bias_split, rows, units),
        bias_max_diff=max(row.bias_max_diff for row in rows),
        kernel_max_diff=max(row.kernel_max_diff for row in rows),
        step_max_diff=step_difference(
            cell, config, weights, file_weights, written, family, keras_major
        ),
    )


def explain_model(
    model: KerasModel, layer: str | None = None, bias_split: str = "wb"
) -> ExplainResult:
    """Export ``model`` as ``convert`` would (without the parity check) and explain the
    recurrent layers from what the exporter wrote."""
    from ..export import export_model
    from ..export.context import ConvertOptions
    from ..options import check_bias_split

    check_bias_split(bias_split)
    chosen = select_layers(model, layer)
    exported = export_model(model, ConvertOptions(bias_split=cast("BiasSplit", bias_split)))
    explanations = []
    for keras_layer in chosen:
        written = written_arrays(exported, keras_layer)
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
        note="; ".join(exported.notes) or None,
    )
