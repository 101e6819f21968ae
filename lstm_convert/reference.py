"""NumPy reference of Keras's own equations, computed from Keras-layout weights.

Nothing here touches the remapped ONNX arrays: the parity check compares
onnxruntime's output against this, so it checks the remap rather than repeating it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import reference_layouts as own
from .errors import UnsupportedModelError
from .model import Call, KerasModel, Layer, TensorRef, call_inputs, call_order
from .reference_base import REFERENCES, RefContext, Value, activation_fn, reference

Array = np.ndarray


# -- recurrent cells -----------------------------------------------------------------------
# Each step function takes the precomputed input projection of one step and the states,
# and returns (output, new_states). Input projections for all steps are one matmul.


# Precision. States, gates and activations are float64. The products with a weight matrix
# run in float32 on the stored float32 weights (no float64 copy: on a 235 MB model that copy
# and the float64 products were most of the reference's time) as long as the fan-in is at
# most FLOAT32_MAX_FAN_IN. Rounding then adds about sqrt(fan_in) * 2**-24 relative error per
# product, under 4e-6 at 4096, while a remap error (a swapped gate block, a transposed or
# misplaced matrix, a bias in the wrong half) moves outputs by the size of the weights
# themselves, 1e-2 and more: float32 cannot hide it, and stays far inside the tolerance.
# Wider products, and float64 weights, run in float64.
FLOAT32_MAX_FAN_IN = 4096


def weight_product(matrix: Array) -> Callable[[Array], Array]:
    """``x @ matrix`` as a float64 result, computed as the precision note above says."""
    if matrix.dtype == np.float32 and matrix.shape[0] <= FLOAT32_MAX_FAN_IN:
        return lambda x: (np.asarray(x, np.float32) @ matrix).astype(np.float64)
    wide = np.asarray(matrix, np.float64)  # once per layer, not once per step
    return lambda x: np.asarray(x, np.float64) @ wide


def lstm_cell(config: dict[str, Any], weights: list[Array], major: int):
    units = config.get("units", config.get("output_dim"))
    kernel, recurrent = weight_product(weights[0]), weight_product(weights[1])
    bias = np.asarray(weights[2] if config.get("use_bias", True) else np.zeros(4 * units))
    act = activation_fn(config.get("activation", "tanh"), major)
    gate = activation_fn(config.get("recurrent_activation", "hard_sigmoid"), major)

    def project(x: Array) -> Array:
        return kernel(x) + bias

    def step(xz: Array, states: list[Array]) -> tuple[Array, list[Array]]:
        h, c = states
        z = xz + recurrent(h)
        zi, zf, zc, zo = np.split(z, 4, axis=-1)  # Keras gate order i, f, c, o
        i, f, o = gate(zi), gate(zf), gate(zo)
        c = f * c + i * act(zc)
        h = o * act(c)
        return h, [h, c]

    return units, 2, project, step


def gru_cell(config: dict[str, Any], weights: list[Array], major: int):
    units = config.get("units", config.get("output_dim"))
    kernel = weight_product(weights[0])
    recurrent = weights[1]
    use_bias = config.get("use_bias", True)
    reset_after = config.get("reset_after")
    if reset_after is None:
        reset_after = use_bias and weights[2].ndim == 2
    if not use_bias:
        input_bias = recurrent_bias = np.zeros(3 * units)
    elif reset_after:
        input_bias, recurrent_bias = weights[2][0], weights[2][1]
    else:
        input_bias, recurrent_bias = weights[2], np.zeros(3 * units)
    act = activation_fn(config.get("activation", "tanh"), major)
    gate = activation_fn(config.get("recurrent_activation", "hard_sigmoid"), major)

    if reset_after:
        whole = weight_product(recurrent)
    else:
        blocks = [weight_product(recurrent[:, k * units : (k + 1) * units]) for k in range(3)]

    def project(x: Array) -> Array:
        return kernel(x) + input_bias

    def step(xz: Array, states: list[Array]) -> tuple[Array, list[Array]]:
        (h,) = states
        x_z, x_r, x_h = np.split(xz, 3, axis=-1)
        if reset_after:
            inner = whole(h) + recurrent_bias
            r_z, r_r, r_h = np.split(inner, 3, axis=-1)
            z, r = gate(x_z + r_z), gate(x_r + r_r)
            candidate = act(x_h + r * r_h)
        else:
            z = gate(x_z + blocks[0](h))
            r = gate(x_r + blocks[1](h))
            candidate = act(x_h + blocks[2](r * h))
        h = z * h + (1.0 - z) * candidate
        return h, [h]

    return units, 1, project, step


def simple_rnn_cell(config: dict[str, Any], weights: list[Array], major: int):
    units = config.get("units", config.get("output_dim"))
    kernel, recurrent = weight_product(weights[0]), weight_product(weights[1])
    bias = np.asarray(weights[2] if config.get("use_bias", True) else np.zeros(units))
    act = activation_fn(config.get("activation", "tanh"), major)

    def project(x: Array) -> Array:
        return kernel(x) + bias

    def step(xz: Array, states: list[Array]) -> tuple[Array, list[Array]]:
        h = act(xz + recurrent(states[0]))
        return h, [h]

    return units, 1, project, step


CELLS = {
    "LSTM": lstm_cell,
    "GRU": gru_cell,
    "SimpleRNN": simple_rnn_cell,
    "CuDNNLSTM": own.cudnn_lstm_cell,
    "CuDNNGRU": own.cudnn_gru_cell,
}
KERAS1_CELLS = {"LSTM": own.keras1_lstm_cell, "GRU": own.keras1_gru_cell}
# Per-gate array counts of Keras 1 layers (see reference_layouts).
KERAS1_ARRAYS = {"LSTM": 12, "GRU": 9}


def make_cell(
    class_name: str,
    config: dict[str, Any],
    weights: list[Array],
    major: int,
    file_weights: list[Array] | None = None,
):
    """The cell for a layer: Keras 1 layers from the file's own per-gate arrays."""
    if file_weights is not None and len(file_weights) == KERAS1_ARRAYS.get(class_name):
        act = activation_fn(config.get("activation", "tanh"), major)
        gate = activation_fn(config.get("recurrent_activation", "hard_sigmoid"), major)
        return KERAS1_CELLS[class_name](config, file_weights, major, act, gate)
    return CELLS[class_name](config, weights, major)


STATE_LABELS = {
    "LSTM": ("h", "c"),
    "GRU": ("h",),
    "SimpleRNN": ("h",),
    "CuDNNLSTM": ("h", "c"),
    "CuDNNGRU": ("h",),
}


def run_rnn(
    class_name: str,
    config: dict[str, Any],
    weights: list[Array],
    x: Array,
    mask: Array | None,
    major: int,
    initial: list[Array] | None = None,
    cell: Any = None,
    file_weights: list[Array] | None = None,
) -> tuple[Array, Array, list[Array]]:
    """Keras's RNN loop. Returns (sequence in Keras order, last output, final states).

    ``cell`` is a ready (units, n_states, project, step), e.g. a stack of cells; Keras 1
    layers are computed from ``file_weights``, the file's own per-gate arrays."""
    if cell is None:
        if class_name not in CELLS:
            raise UnsupportedModelError(f"the reference has no recurrent layer {class_name}")
        cell = make_cell(class_name, config, weights, major, file_weights)
    units, n_states, project, step = cell
    x = np.asarray(x, dtype=np.float64)
    if config.get("time_major"):
        x = np.swapaxes(x, 0, 1)
    batch, steps = x.shape[:2]
    projected = project(x)  # all steps' input projections in one matmul
    states = (
        [np.asarray(s, np.float64) for s in initial]
        if initial
        else [np.zeros((batch, units)) for _ in range(n_states)]
    )
    order = range(steps - 1, -1, -1) if config.get("go_backwards") else range(steps)
    zero_output = bool(config.get("zero_output_for_mask", False))
    output = np.zeros((batch, units))
    outputs = []
    for t in order:
        new_output, new_states = step(projected[:, t], states)
        if mask is None:
            output, states = new_output, new_states
            outputs.append(output)
            continue
        keep = mask[:, t][:, None]
        states = [np.where(keep, n, s) for n, s in zip(new_states, states, strict=True)]
        output = np.where(keep, new_output, output)
        outputs.append(np.where(keep, new_output, 0.0) if zero_output else output)
    sequence = np.stack(outputs, axis=1) if outputs else np.zeros((batch, 0, units))
    if config.get("time_major"):
        sequence = np.swapaxes(sequence, 0, 1)
    return sequence, output, states


# keras.layers.RNN(cell): the cell classes and the layer whose equations they share.
CELL_CLASSES = {"LSTMCell": "LSTM", "GRUCell": "GRU", "SimpleRNNCell": "SimpleRNN"}


def rnn_layer_cells(config: dict[str, Any], weights: list[Array], major: int):
    """The cells of ``keras.layers.RNN``, each built with its own weights, and each
    cell's state labels, in Keras's order."""
    cell = config["cell"]
    entries = cell["config"]["cells"] if cell["class_name"] == "StackedRNNCells" else [cell]
    built, labels, position = [], [], 0
    for entry in entries:
        family = CELL_CLASSES.get(entry["class_name"])
        if family is None:
            raise UnsupportedModelError(f"the reference has no cell {entry['class_name']}")
        count = own.stored_weight_count(family, entry["config"])
        built.append(CELLS[family](entry["config"], weights[position : position + count], major))
        labels.append(STATE_LABELS[family])
        position += count
    return built, labels


def stacked_cell(built: list) -> tuple:
    """Keras's StackedRNNCells step: each cell runs on the previous cell's output."""
    sizes = [n for _, n, _, _ in built]

    def step(xz: Array, states: list[Array]) -> tuple[Array, list[Array]]:
        new_states: list[Array] = []
        output = None
        for index, (_, n, project, cell_step) in enumerate(built):
            start = sum(sizes[:index])
            z = xz if index == 0 else project(output)
            output, cell_states = cell_step(z, states[start : start + n])
            new_states += cell_states
        return output, new_states

    return built[-1][0], sum(sizes), built[0][2], step


# -- layers --------------------------------------------------------------------------------


def _initial(ctx: RefContext, layer: str, labels: tuple[str, ...], prefix: str = ""):
    keys = [(layer, f"{prefix}{label}") for label in labels]
    if not all(key in ctx.initial_states for key in keys):
        return None
    return [ctx.initial_states[key] for key in keys]


def _record_final(ctx: RefContext, layer: str, labels, states, prefix: str = "") -> None:
    for label, state in zip(labels, states, strict=True):
        ctx.final_states[(layer, f"{prefix}{label}")] = state


def _keras3_drops_mask(ctx: RefContext, call: Call) -> bool:
    # Keras 3's Layer.__call__ fills in ``mask`` only when the input is the one tensor
    # argument; with initial_state tensors the layer computes unmasked.
    explicit = isinstance(call.kwargs.get("mask"), TensorRef)
    return ctx.keras_major >= 3 and call.kwargs.get("initial_state") is not None and not explicit


@reference("LSTM", "GRU", "SimpleRNN", "CuDNNLSTM", "CuDNNGRU")
def ref_recurrent(ctx: RefContext, layer: Layer, inputs: list[Value], call: Call) -> list[Value]:
    config = layer.config
    x = inputs[0]
    labels = STATE_LABELS[layer.class_name]
    given = [v.data for v in inputs[1:]]  # initial_state tensors
    initial = given or _initial(ctx, layer.name, labels)
    mask = None if _keras3_drops_mask(ctx, call) else x.mask
    sequence, last, states = run_rnn(
        layer.class_name,
        config,
        layer.weights,
        x.data,
        mask,
        ctx.keras_major,
        initial,
        file_weights=layer.file_weights,
    )
    _record_final(ctx, layer.name, labels, states)
    out_mask = x.mask if config.get("return_sequences") else None
    result = [Value(sequence if config.get("return_sequences") else last, out_mask)]
    if config.get("return_state"):
        result += [Value(s) for s in states]
    return result


def register_cell(class_name: str, cell: Callable, state_labels: tuple[str, ...]) -> None:
    """A recurrent layer class for the reference: its own cell (as in CELLS), its states."""
    CELLS[class_name] = cell
    STATE_LABELS[class_name] = state_labels
    REFERENCES[class_name] = ref_recurrent


@reference("RNN")
def ref_rnn(ctx: RefContext, layer: Layer, inputs: list[Value], call: Call) -> list[Value]:
    config = layer.config
    x = inputs[0]
    built, labels = rnn_layer_cells(config, layer.weights, ctx.keras_major)
    batch = np.shape(x.data)[1 if config.get("time_major") else 0]
    single = len(built) == 1
    names = [layer.name] if single else [f"{layer.name}_cell{i}" for i in range(len(built))]
    initial = [v.data for v in inputs[1:]]
    if not initial:
        for cell, cell_labels, name in zip(built, labels, names, strict=True):
            given = _initial(ctx, name, cell_labels)
            initial += given or [np.zeros((batch, cell[0])) for _ in cell_labels]
    mask = None if _keras3_drops_mask(ctx, call) else x.mask
    sequence, last, states = run_rnn(
        "RNN", config, [], x.data, mask, ctx.keras_major, initial, stacked_cell(built)
    )
    position = 0
    for cell_labels, name in zip(labels, names, strict=True):
        _record_final(ctx, name, cell_labels, states[position : position + len(cell_labels)])
        position += len(cell_labels)
    sequences = config.get("return_sequences")
    result = [Value(sequence, x.mask) if sequences else Value(last)]
    if config.get("return_state"):
        result += [Value(s) for s in states]
    return result


@reference("Bidirectional")
def ref_bidirectional(
    ctx: RefContext, layer: Layer, inputs: list[Value], call: Call
) -> list[Value]:
    (forward, fwd_weights), (backward, bwd_weights) = own.bidirectional_parts(
        layer.config, layer.weights
    )
    fwd_cfg = dict(forward["config"])
    bwd_cfg = dict(backward["config"])
    if "backward_layer" not in layer.config:
        bwd_cfg["go_backwards"] = not fwd_cfg.get("go_backwards", False)
    sequences = bool(fwd_cfg.get("return_sequences"))
    if sequences:  # Keras's Bidirectional forces zero outputs at masked steps
        fwd_cfg["zero_output_for_mask"] = bwd_cfg["zero_output_for_mask"] = True
    x = inputs[0]
    if _keras3_drops_mask(ctx, call):
        x = Value(x.data, None)
    labels = STATE_LABELS[forward["class_name"]]
    given = [v.data for v in inputs[1:]]  # Keras: forward states first, then backward
    half = len(given) // 2
    f_initial = given[:half] or _initial(ctx, layer.name, labels, "forward_")
    b_initial = given[half:] or _initial(ctx, layer.name, labels, "backward_")
    f_seq, f_last, f_states = run_rnn(
        forward["class_name"],
        fwd_cfg,
        fwd_weights,
        x.data,
        x.mask,
        ctx.keras_major,
        f_initial,
    )
    b_seq, b_last, b_states = run_rnn(
        backward["class_name"],
        bwd_cfg,
        bwd_weights,
        x.data,
        x.mask,
        ctx.keras_major,
        b_initial,
    )
    _record_final(ctx, layer.name, labels, f_states, "forward_")
    _record_final(ctx, layer.name, labels, b_states, "backward_")
    if sequences:
        time_axis = 0 if fwd_cfg.get("time_major") else 1
        fwd, bwd = f_seq, np.flip(b_seq, axis=time_axis)
    else:
        fwd, bwd = f_last, b_last
    mode = layer.config.get("merge_mode", "concat")
    merged = {
        "concat": lambda: [np.concatenate([fwd, bwd], axis=-1)],
        "sum": lambda: [fwd + bwd],
        "mul": lambda: [fwd * bwd],
        "ave": lambda: [(fwd + bwd) / 2.0],
        None: lambda: [fwd, bwd],
    }[mode]()
    out_mask = inputs[0].mask if sequences else None
    result = [Value(m, out_mask) for m in merged]
    if fwd_cfg.get("return_state"):
        result += [Value(s) for s in f_states + b_states]
    return result


@reference(*own.TRAINING_ONLY)
def ref_identity(ctx: RefContext, layer: Layer, inputs: list[Value], call: Call) -> list[Value]:
    return [inputs[0]]


@reference("Activation")
def ref_activation(ctx: RefContext, layer: Layer, inputs: list[Value], call: Call) -> list[Value]:
    fn = activation_fn(layer.config.get("activation"), ctx.keras_major)
    return [Value(fn(inputs[0].data), inputs[0].mask)]


@reference("Dense")
def ref_dense(ctx: RefContext, layer: Layer, inputs: list[Value], call: Call) -> list[Value]:
    x = inputs[0]
    y = weight_product(layer.weights[0])(x.data)  # float32 product, as the note above says
    if layer.config.get("use_bias", True):
        y = y + layer.weights[1]
    fn = activation_fn(layer.config.get("activation"), ctx.keras_major)
    return [Value(fn(y), x.mask)]


@reference("TimeDistributed")
def ref_time_distributed(
    ctx: RefContext, layer: Layer, inputs: list[Value], call: Call
) -> list[Value]:
    inner = layer.config["layer"]
    inner_layer = Layer(layer.name, inner["class_name"], inner["config"], layer.weights)
    return REFERENCES[inner["class_name"]](ctx, inner_layer, inputs, call)


@reference("Embedding")
def ref_embedding(ctx: RefContext, layer: Layer, inputs: list[Value], call: Call) -> list[Value]:
    ids = np.asarray(inputs[0].data).astype(np.int64)
    mask = ids != 0 if layer.config.get("mask_zero") else None
    # The rows looked up, in float64: not a float64 copy of the whole table.
    return [Value(np.asarray(layer.weights[0])[ids].astype(np.float64), mask)]


# -- keras.ops operations and tf.keras TFOpLambda functions, in NumPy ----------------------

OP_BINARY = {
    "Add": np.add,
    "Subtract": np.subtract,
    "Multiply": np.multiply,
    "Divide": np.true_divide,
    "TrueDivide": np.true_divide,
    "Maximum": np.maximum,
    "Minimum": np.minimum,
    "Power": np.power,
    "Equal": np.equal,
    "NotEqual": np.not_equal,
    "Greater": np.greater,
    "Less": np.less,
    "LogicalAnd": np.logical_and,
    "LogicalOr": np.logical_or,
}
OP_UNARY = {
    "Tanh": np.tanh,
    "Sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "Relu": lambda x: np.maximum(x, 0.0),
    "Exp": np.exp,
    "Log": np.log,
    "Sqrt": np.sqrt,
    "Abs": np.abs,
    "Negative": np.negative,
    "LogicalNot": np.logical_not,
}
OP_REDUCE = {
    "Mean": np.mean,
    "Sum": np.sum,
    "Max": np.max,
    "Min": np.min,
    "All": np.all,
    "Any": np.any,
}
# TFOpLambda function name -> (operation, {operation argument: tf keyword}).
TF_FUNCTION_OPS = {
    "math.not_equal": ("NotEqual", {}),
    "compat.v1.transpose": ("Transpose", {"axes": "perm"}),
    "transpose": ("Transpose", {"axes": "perm"}),
    "expand_dims": ("ExpandDims", {"axis": "axis"}),
    "compat.v1.expand_dims": ("ExpandDims", {"axis": "axis"}),
    "squeeze": ("Squeeze", {"axis": "axis"}),
    "compat.v1.squeeze": ("Squeeze", {"axis": "axis"}),
    "concat": ("Concatenate", {"axis": "axis"}),
    "math.reduce_mean": ("Mean", {"axis": "axis", "keepdims": "keepdims"}),
    "math.reduce_sum": ("Sum", {"axis": "axis", "keepdims": "keepdims"}),
    "math.reduce_max": ("Max", {"axis": "axis", "keepdims": "keepdims"}),
    "math.reduce_min": ("Min", {"axis": "axis", "keepdims": "keepdims"}),
    "math.multiply": ("Multiply", {}),
    "math.add": ("Add", {}),
    "__operators__.add": ("Add", {}),
    "math.subtract": ("Subtract", {}),
    "math.truediv": ("TrueDivide", {}),
    "math.maximum": ("Maximum", {}),
    "math.minimum": ("Minimum", {}),
    "math.tanh": ("Tanh", {}),
    "math.sigmoid": ("Sigmoid", {}),
    "nn.relu": ("Relu", {}),
    "math.exp": ("Exp", {}),
    "reshape": ("Reshape", {"newshape": "shape"}),
}


OPS_ELSE = (
    "ExpandDims",
    "Squeeze",
    "Transpose",
    "Concatenate",
    "ZerosLike",
    "OnesLike",
    "GetItem",
    "Reshape",
)


def _operands(call: Call, inputs: list[Value], fallback: Any) -> list[Any]:
    """Positional operands: tensors' values and constants, in the call's order."""
    operands = call.kwargs.get("operands")
    if not isinstance(operands, list):
        return [v.data for v in inputs] + ([] if fallback is None else [fallback])
    values = iter(inputs)
    return [next(values).data if isinstance(op, TensorRef) else op for op in operands]


def run_operation(kind: str, config: dict[str, Any], call: Call, inputs: list[Value]) -> Array:
    x = inputs[0].data
    if kind in OP_BINARY:
        left, right = _operands(call, inputs, call.kwargs.get("y"))[:2]
        return OP_BINARY[kind](left, right)
    if kind in OP_UNARY:
        return OP_UNARY[kind](x)
    axis = config.get("axis")
    axis = tuple(axis) if isinstance(axis, list) else axis
    if kind in OP_REDUCE:
        return OP_REDUCE[kind](x, axis=axis, keepdims=bool(config.get("keepdims", False)))
    if kind == "ExpandDims":
        return np.expand_dims(x, axis)
    if kind == "Squeeze":
        return np.squeeze(x, axis)
    if kind == "Transpose":
        return np.transpose(x, config.get("axes"))
    if kind == "Concatenate":
        return np.concatenate([v.data for v in inputs], axis=axis or 0)
    if kind == "GetItem":
        return x[numpy_index(call.kwargs["operands"][1])]
    if kind == "Reshape":
        return np.reshape(x, config["newshape"])
    if kind in ("ZerosLike", "OnesLike"):
        dtype = config.get("dtype") or np.asarray(x).dtype
        return (np.zeros_like if kind == "ZerosLike" else np.ones_like)(x, dtype=dtype)
    raise UnsupportedModelError(f"the reference has no operation {kind}")


def numpy_index(key: Any) -> tuple:
    """A Keras indexing key (ints, and slices as dicts) as a NumPy index."""
    items = key if isinstance(key, list) else [key]
    index: list[Any] = []
    for item in items:
        if isinstance(item, dict):
            parts = item["config"] if item.get("class_name") == "__slice__" else item
            index.append(slice(parts.get("start"), parts.get("stop"), parts.get("step")))
        else:
            index.append(int(item))
    return tuple(index)


@reference("SlicingOpLambda")
def ref_slicing(ctx: RefContext, layer: Layer, inputs: list[Value], call: Call) -> list[Value]:
    return [Value(inputs[0].data[numpy_index(call.kwargs["slice_spec"])])]


def ref_operation(ctx: RefContext, layer: Layer, inputs: list[Value], call: Call) -> list[Value]:
    """A Keras 3 operation: no mask travels on its output."""
    return [Value(run_operation(layer.class_name, layer.config, call, inputs))]


@reference("TFOpLambda")
def ref_tf_op(ctx: RefContext, layer: Layer, inputs: list[Value], call: Call) -> list[Value]:
    function = layer.config.get("function")
    if function not in TF_FUNCTION_OPS:
        raise UnsupportedModelError(f"the reference has no tf op {function}")
    kind, arguments = TF_FUNCTION_OPS[function]
    config = {key: call.kwargs.get(keyword) for key, keyword in arguments.items()}
    if kind == "NotEqual":
        return ref_not_equal(ctx, layer, inputs, call)
    other = call.kwargs.get("y")  # math.add(x, y): a tensor is among the inputs already
    constant = {} if other is None or isinstance(other, TensorRef) else {"y": other}
    return [Value(run_operation(kind, config, Call(call.inputs, constant), inputs))]


@reference("Any")
def ref_any(ctx: RefContext, layer: Layer, inputs: list[Value], call: Call) -> list[Value]:
    axis = layer.config.get("axis", -1)
    keep = bool(layer.config.get("keepdims", False))
    return [Value(np.any(inputs[0].data, axis=axis, keepdims=keep))]


@reference("Masking")
def ref_masking(ctx: RefContext, layer: Layer, inputs: list[Value], call: Call) -> list[Value]:
    x = np.asarray(inputs[0].data, np.float64)
    mask = np.any(x != layer.config.get("mask_value", 0.0), axis=-1)
    return [Value(x * mask[..., None], mask)]


@reference("NotEqual")
def ref_not_equal(ctx: RefContext, layer: Layer, inputs: list[Value], call: Call) -> list[Value]:
    other = inputs[1].data if len(inputs) > 1 else own.compared_value(layer, call)
    return [Value(np.not_equal(inputs[0].data, other))]


@reference("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate")
def ref_merge(ctx: RefContext, layer: Layer, inputs: list[Value], call: Call) -> list[Value]:
    arrays = [np.asarray(v.data, np.float64) for v in inputs]
    kind = layer.class_name
    if kind == "Concatenate":
        out = np.concatenate(arrays, axis=layer.config.get("axis", -1))
    elif kind == "Subtract":
        out = arrays[0] - arrays[1]
    elif kind == "Average":
        out = sum(arrays) / len(arrays)
    else:
        fn = {"Add": np.add, "Multiply": np.multiply, "Maximum": np.maximum, "Minimum": np.minimum}[
            kind
        ]
        out = arrays[0]
        for other in arrays[1:]:
            out = fn(out, other)
    mask = own.merged_mask(kind, [v.mask for v in inputs], ctx.keras_major)
    if kind == "Concatenate" and layer.config.get("axis", -1) not in (-1, out.ndim - 1):
        mask = None
    return [Value(out, mask)]


@reference("Flatten")
def ref_flatten(ctx: RefContext, layer: Layer, inputs: list[Value], call: Call) -> list[Value]:
    x = inputs[0].data
    return [Value(x.reshape(x.shape[0], -1))]


@reference("Reshape")
def ref_reshape(ctx: RefContext, layer: Layer, inputs: list[Value], call: Call) -> list[Value]:
    x = inputs[0].data
    return [Value(x.reshape(x.shape[0], *layer.config["target_shape"]))]


@reference("RepeatVector")
def ref_repeat(ctx: RefContext, layer: Layer, inputs: list[Value], call: Call) -> list[Value]:
    x = inputs[0].data
    return [Value(np.repeat(x[:, None, :], int(layer.config["n"]), axis=1))]


@reference("Permute")
def ref_permute(ctx: RefContext, layer: Layer, inputs: list[Value], call: Call) -> list[Value]:
    dims = [int(d) for d in layer.config["dims"]]
    return [Value(np.transpose(inputs[0].data, [0, *dims]))]


@reference("GlobalAveragePooling1D", "GlobalMaxPooling1D")
def ref_pool(ctx: RefContext, layer: Layer, inputs: list[Value], call: Call) -> list[Value]:
    x = inputs[0].data
    keep = bool(layer.config.get("keepdims", False))
    if layer.class_name == "GlobalMaxPooling1D":
        return [Value(x.max(axis=1, keepdims=keep))]
    if inputs[0].mask is not None:
        weight = inputs[0].mask[..., None].astype(np.float64)
        total = (x * weight).sum(axis=1, keepdims=keep)
        with np.errstate(invalid="ignore", divide="ignore"):
            return [Value(total / weight.sum(axis=1, keepdims=keep))]
    return [Value(x.mean(axis=1, keepdims=keep))]


@reference("Sequential", "Functional", "Model")
def ref_nested(ctx: RefContext, layer: Layer, inputs: list[Value], call: Call) -> list[Value]:
    assert layer.submodel is not None
    return run_reference_graph(ctx, layer.submodel, inputs)


def run_reference_graph(ctx: RefContext, model: KerasModel, inputs: list[Value]) -> list[Value]:
    values: dict[TensorRef, Value] = dict(zip(model.inputs, inputs, strict=True))
    for layer, index in call_order(model):
        call = layer.calls[index]
        fn = REFERENCES.get(layer.class_name)
        if layer.op_layer and layer.class_name in (*OP_BINARY, *OP_UNARY, *OP_REDUCE, *OPS_ELSE):
            fn = ref_operation
        if fn is None:
            raise UnsupportedModelError(f"the reference has no layer class {layer.class_name}")
        args = [values[ref] for ref in call_inputs(call)]
        mask_kwarg = call.kwargs.get("mask")
        if isinstance(mask_kwarg, TensorRef) and args:
            args[0] = Value(args[0].data, np.asarray(values[mask_kwarg].data, bool))
        for position, value in enumerate(fn(ctx, layer, args, call)):
            values[TensorRef(layer.name, index, position)] = value
    return [values[ref] for ref in model.outputs]


def run_reference(
    model: KerasModel,
    inputs: list[Array],
    initial_states: dict[tuple[str, str], Array] | None = None,
) -> tuple[list[Array], dict[tuple[str, str], Array]]:
    """Keras's outputs for ``inputs`` (float64), and final recurrent states by (layer, label)."""
    ctx = RefContext(model.source.keras_major, dict(initial_states or {}))
    # Large weights make exp() overflow to inf, which sigmoid and tanh handle exactly as
    # Keras does (to 0 or 1); the warnings would only be noise on the user's terminal.
    with np.errstate(over="ignore", under="ignore"):
        outputs = run_reference_graph(ctx, model, [Value(np.asarray(x)) for x in inputs])
    return [np.asarray(v.data, np.float64) for v in outputs], ctx.final_states


# The layers around recurrent ones register themselves on import (reference_layers imports
# reference_base, never this module: no import cycle).
from . import reference_layers  # noqa: E402, F401
