"""``explain --numpy``: one Keras step of a recurrent layer, runnable, in plain NumPy.

The snippet defines ``step(x, h[, c])`` from the file's own arrays (inline for small
layers, read with ``lstm_convert.api.load`` for large ones), runs it once on random
inputs and prints the new state(s). It leaves ``x``, ``h0`` (``c0``), ``h`` (``c``) and
``step`` defined. It covers LSTM, GRU (both ``reset_after``), SimpleRNN and the CuDNN
layers, and a Bidirectional's forward layer.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from ..errors import UnsupportedModelError
from ..families import FAMILIES, RecurrentFamily
from ..model import KerasModel, Layer
from ..safe_text import visible
from .model import LayerNotFoundError, describe, directions, recurrent_layers
from .text import cell_activations

# Largest number of weight values --numpy writes inline; bigger layers are read from the file.
INLINE_LIMIT = 4096

SNIPPET_ACTIVATIONS = {
    "sigmoid": "def sigmoid(v):\n    return 1.0 / (1.0 + np.exp(-v))\n",
    "tanh": "tanh = np.tanh\n",
    "relu": "def relu(v):\n    return np.maximum(v, 0.0)\n",
    "linear": "def linear(v):\n    return v\n",
    "softsign": "def softsign(v):\n    return v / (1.0 + np.abs(v))\n",
    "softplus": "def softplus(v):\n    return np.logaddexp(0.0, v)\n",
    "elu": "def elu(v):\n    return np.where(v > 0, v, np.expm1(np.minimum(v, 0.0)))\n",
}


def activation_source(name: str, keras_major: int) -> str:
    if name == "hard_sigmoid":
        from ..activations import hard_sigmoid_slope

        slope = hard_sigmoid_slope(keras_major)
        return (
            f"def hard_sigmoid(v):  # Keras {keras_major}'s hard_sigmoid\n"
            f"    return np.clip({slope!r} * v + 0.5, 0.0, 1.0)\n"
        )
    if name not in SNIPPET_ACTIVATIONS:
        raise UnsupportedModelError(f"--numpy has no NumPy version of activation {name!r}")
    return SNIPPET_ACTIVATIONS[name]


def array_literal(name: str, array: np.ndarray, comment: str) -> str:
    """``name = np.array([...])`` with rows wrapped at about 96 characters."""
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


def shape_text(array: np.ndarray) -> str:
    return (
        "("
        + ", ".join(str(d) for d in np.shape(array))
        + ("," if np.ndim(array) == 1 else "")
        + ")"
    )


def snippet_layer(model: KerasModel, name: str | None) -> Layer:
    """The one layer --numpy writes: ``name``, or the model's only recurrent layer."""
    layers = recurrent_layers(model)
    if name is not None:
        chosen = [layer for layer in layers if layer.name == name]
        if chosen:
            return chosen[0]
    elif len(layers) == 1:
        return layers[0]
    if not layers:
        raise UnsupportedModelError(f"{model.source.path}: no recurrent layer to write")
    why = f"no recurrent layer {name!r}" if name else f"{len(layers)} recurrent layers"
    raise LayerNotFoundError(
        f"--numpy writes one layer and this model has {why}: choose one with --layer "
        f"(layer= in Python): {describe(layers)}"
    )


def arrays_part(model: KerasModel, layer: Layer, weights: list, inline_limit: int) -> list[str]:
    """Lines defining ``kernel``, ``recurrent_kernel`` and ``bias`` as stored."""
    names = ["kernel", "recurrent_kernel", "bias"][: len(weights)]
    fits = sum(int(np.size(a)) for a in weights) <= inline_limit
    pseudo = layer.name not in {lyr.name for lyr in model.iter_layers()}
    if fits or pseudo:  # a keras.layers.RNN's cell has no layer of its own to load
        return [array_literal(n, a, shape_text(a)) for n, a in zip(names, weights, strict=True)]
    pick = f"[:{len(weights)}]" if layer.class_name == "Bidirectional" else ""
    return [
        "from lstm_convert.api import load  # reads .h5 and .keras without TensorFlow",
        "",
        f"model = load({str(model.source.path)!r})",
        f"layer = next(lyr for lyr in model.iter_layers() if lyr.name == {layer.name!r})",
        f"{', '.join(names)} = layer.weights{pick}",
        "",
    ]


def bias_part(family: RecurrentFamily, cell: str, layer_config: dict, weights: list) -> list[str]:
    """Lines naming the bias parts the step adds (Keras gate order)."""
    size = family.gates * weights[1].shape[0]
    biases = family.biases(cell, layer_config, weights)
    if biases.kind == "none":
        zeros = [f"bias = np.zeros({size}, dtype=kernel.dtype)  # use_bias=False"]
        if biases.reset_after:
            zeros.append("input_bias = recurrent_bias = bias")
        return ["\n".join(zeros) + "\n"]
    if biases.kind == "single":
        return []
    if cell == family.cudnn_class:
        return ["input_bias, recurrent_bias = np.split(bias, 2)  # cuDNN: [input | recurrent]\n"]
    return ["input_bias, recurrent_bias = bias  # reset_after=True: rows input, recurrent\n"]


def cudnn_part(family: RecurrentFamily, cell: str) -> list[str]:
    if cell != family.cudnn_class:
        return []
    return [
        "# cuDNN stores each gate's kernel in its own layout: Keras's, gate by gate.",
        f"blocks = np.split(kernel, {family.gates}, axis=-1)",
        "kernel = np.hstack([k.T.reshape(k.shape, order='F') for k in blocks])",
        f"recurrent_kernel = np.hstack([k.T for k in np.split(recurrent_kernel, "
        f"{family.gates}, axis=-1)])",
        "",
    ]


def step_part(family: RecurrentFamily, two: bool, gate: str, act: str) -> list[str]:
    """``def step(...)``: Keras's equations, blocks named in Keras's gate order."""
    names = ", ".join(f"{{}}_{g}" for g in family.keras_gates)
    n = family.gates
    xs, us = names.format(*"x" * n), names.format(*"u" * n)
    if family.onnx_op == "LSTM":
        added = (
            "input_bias + h @ recurrent_kernel + recurrent_bias"
            if two
            else "h @ recurrent_kernel + bias"
        )
        return [
            "def step(x, h, c):",
            f"    z = x @ kernel + {added}",
            f"    {names.format(*'z' * n)} = np.split(z, {n}, axis=-1)"
            f"  # Keras order {', '.join(family.keras_gates)}",
            f"    i, f, o = {gate}(z_i), {gate}(z_f), {gate}(z_o)",
            f"    c = f * c + i * {act}(z_c)",
            f"    return o * {act}(c), c",
        ]
    if family.onnx_op == "GRU" and two:
        return [
            "def step(x, h):  # reset_after=True: r multiplies h @ U_h + its recurrent bias",
            f"    {xs} = np.split(x @ kernel + input_bias, {n}, axis=-1)",
            f"    {us} = np.split(h @ recurrent_kernel + recurrent_bias, {n}, axis=-1)",
            f"    z, r = {gate}(x_z + u_z), {gate}(x_r + u_r)",
            f"    return z * h + (1.0 - z) * {act}(x_h + r * u_h)",
        ]
    if family.onnx_op == "GRU":
        return [
            "def step(x, h):  # reset_after=False: r multiplies h before U_h",
            f"    {xs} = np.split(x @ kernel + bias, {n}, axis=-1)",
            f"    {names.format(*'U' * n)} = np.split(recurrent_kernel, {n}, axis=-1)",
            f"    z, r = {gate}(x_z + h @ U_z), {gate}(x_r + h @ U_r)",
            f"    return z * h + (1.0 - z) * {act}(x_h + (r * h) @ U_h)",
        ]
    return ["def step(x, h):", f"    return {act}(x @ kernel + h @ recurrent_kernel + bias)"]


def demo_part(family: RecurrentFamily, n_in: int, units: int) -> list[str]:
    lstm = family.onnx_op == "LSTM"
    normal = "rng.standard_normal((1, {})).astype(np.float32)  # (batch, {}): {}"
    cell = [f"c0 = {normal.format(units, 'units', 'cell state')}"] if lstm else []
    return [
        "",
        "rng = np.random.default_rng(0)",
        f"x = {normal.format(n_in, 'input', 'one step')}",
        f"h0 = {normal.format(units, 'units', 'last output')}",
        *cell,
        "h, c = step(x, h0, c0)" if lstm else "h = step(x, h0)",
        'print("h =", h)',
        *(['print("c =", c)'] if lstm else []),
    ]


def numpy_snippet(
    model: KerasModel, layer: str | None = None, inline_limit: int = INLINE_LIMIT
) -> str:
    """Python source computing one Keras step of ``layer`` from the file's own arrays."""
    chosen = snippet_layer(model, layer)
    forward = directions(chosen)[0]
    cell, config, weights = forward.class_name, forward.config, forward.weights
    family = FAMILIES[cell]
    n_in, units = weights[0].shape[0], weights[1].shape[0]
    acts = cell_activations(family, cell, config)
    act = acts["activation"]
    gate = acts.get("recurrent_activation", act)
    major = model.source.keras_major
    functions = "\n".join(activation_source(name, major) for name in dict.fromkeys((gate, act)))
    biases = family.biases(cell, config, weights)
    two = biases.kind == "two" or biases.reset_after
    title = f"layer {chosen.name!r}" + (
        f" (its forward {cell})" if chosen.class_name == "Bidirectional" else ""
    )
    order = ", ".join(family.keras_gates)
    out = [
        f"# One Keras {cell} step for {title} of {visible(Path(model.source.path).name)}, in plain",
        f"# NumPy, from the arrays stored in the file. Keras keeps the {family.gates} gate blocks "
        f"side by side,",
        f"# kernel ({n_in}, {family.gates * units}) and recurrent_kernel ({units}, "
        f"{family.gates * units}), in the order {order} (ONNX: {', '.join(family.onnx_gates)}).",
        "import numpy as np",
        "",
        *arrays_part(model, chosen, weights, inline_limit),
        *cudnn_part(family, cell),
        *bias_part(family, cell, config, weights),
        functions,
        *step_part(family, two, gate, act),
        *demo_part(family, n_in, units),
    ]
    return "\n".join(out) + "\n"
