"""How big the built-in check's random inputs may be, from a memory and time budget.

A few kilobytes of config can ask the check for gigabytes (``RepeatVector(2**20)``, one input
concatenated 2,000 times) or for minutes (a fixed 2**20-step input: the NumPy reference
loops over every step). Before anything is allocated, :func:`size_check` walks the graph
with the input shapes it would use, estimates the check's memory (every tensor in
float64, as the reference holds them all, and a few more arrays the size of each output for
onnxruntime's result and the comparison) and time (each recurrent step reads that layer's
weights once), and

* picks the number of steps: ``DEFAULT_STEPS``, down to ``MIN_STEPS`` (the fewest that
  still exercise every padding pattern with a carried state) when the steps are expensive;
* refuses the check (:class:`~lstm_convert.errors.InputFileError`, exit 2, one line) when
  even the smallest inputs exceed the budget: ``MEMORY_FLOOR`` plus twice the weights'
  bytes, and ``TIME_BUDGET`` estimated seconds.

The estimate is deliberately coarse and errs on the large side; it only needs to separate
ordinary models (far below) from amplifying ones (orders of magnitude above).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .errors import InputFileError
from .families import FAMILIES, is_recurrent_layer
from .model import KerasModel, TensorRef, call_order

DEFAULT_BATCH = 4  # one row per padding pattern: post, pre, gaps, entirely masked
DEFAULT_STEPS = 7
MIN_STEPS = 5  # every pattern keeps >= 2 real steps, and steps != batch
MEMORY_FLOOR = 256 * 1024**2
TIME_BUDGET = 20.0  # estimated seconds of reference work
CHEAP_SECONDS = 0.1  # below this, the default steps are used whatever the model
STEP_SECONDS = 30e-6  # Python and NumPy overhead of one recurrent step
BYTES_PER_SECOND = 4e9  # reading weights in a matmul (memory bound at small batch)
ELEMENTS_PER_SECOND = 1e8  # elementwise work on every tensor the reference makes
COMPARE_BYTES = 32  # per output value: onnxruntime's result and the comparison's temporaries
NESTED = ("Sequential", "Functional", "Model")

Shape = tuple[int, ...]


@dataclass
class Cost:
    bytes: float = 0.0
    seconds: float = 0.0


@dataclass
class CheckSize:
    batch: int
    steps: int
    cost: Cost


def size_check(model: KerasModel, input_shapes: list[list[int | None]]) -> CheckSize:
    """The batch and steps for the check's random inputs, or InputFileError past the budget."""
    memory_budget = MEMORY_FLOOR + 2 * model.weight_bytes()
    steps, cost = DEFAULT_STEPS, estimate(model, input_shapes, DEFAULT_BATCH, DEFAULT_STEPS)
    while steps > MIN_STEPS and cost.seconds > CHEAP_SECONDS and _has_free_steps(input_shapes):
        steps -= 1
        cost = estimate(model, input_shapes, DEFAULT_BATCH, steps)
    if cost.bytes > memory_budget or cost.seconds > TIME_BUDGET:
        raise InputFileError(
            f"{model.source.path}: the parity check would need about "
            f"{cost.bytes / 1024**2:,.0f} MB and {cost.seconds:,.1f} s for this model "
            f"(budget {memory_budget / 1024**2:,.0f} MB, {TIME_BUDGET:g} s); "
            "pass verify=False, or verify with your own inputs=FILE.npz"
        )
    return CheckSize(DEFAULT_BATCH, steps, cost)


def _has_free_steps(input_shapes: list[list[int | None]]) -> bool:
    return any(len(shape) >= 2 and shape[1] is None for shape in input_shapes)


def concrete(shape: list[int | None], batch: int, steps: int) -> Shape:
    """A Keras batch shape with its free dimensions filled in, as the check fills them."""
    first = shape[0] if isinstance(shape[0], int) else batch
    return (first, *(d if isinstance(d, int) else steps for d in shape[1:]))


def estimate(
    model: KerasModel, input_shapes: list[list[int | None]], batch: int, steps: int
) -> Cost:
    cost = Cost()
    shapes = [concrete(s, batch, steps) for s in input_shapes]
    for shape in shapes:
        cost.bytes += 8 * math.prod(shape)
    for shape in _walk(model, shapes, cost):
        cost.bytes += COMPARE_BYTES * math.prod(shape)
    return cost


def _walk(model: KerasModel, inputs: list[Shape], cost: Cost) -> list[Shape]:
    known: dict[TensorRef, Shape] = dict(zip(model.inputs, inputs, strict=False))
    fallback = inputs[0] if inputs else (1,)
    for layer, index in call_order(model):
        args = [known.get(ref, fallback) for ref in layer.calls[index].inputs] or [fallback]
        if layer.class_name in NESTED and layer.submodel is not None:
            outputs = _walk(layer.submodel, args, cost)
        else:
            outputs = output_shapes(layer.class_name, layer.config, args)
            if _recurrent_class(layer.class_name, layer.config):
                weight_bytes = sum(w.nbytes for w in layer.weights)
                work = _recurrent_work(layer.class_name, layer.config, args[0], weight_bytes)
                cost.bytes += work.bytes
                cost.seconds += work.seconds
        for position, shape in enumerate(outputs):
            known[TensorRef(layer.name, index, position)] = shape
            elements = math.prod(shape)
            cost.bytes += 8 * elements
            cost.seconds += elements / ELEMENTS_PER_SECOND
    return [known.get(ref, fallback) for ref in model.outputs]


def _recurrent_class(class_name: str, config: dict[str, Any]) -> bool:
    if class_name in ("Bidirectional", "TimeDistributed"):
        return _recurrent_class(config.get("layer", {}).get("class_name", ""), {})
    return gate_blocks(class_name) is not None


def gate_blocks(class_name: str) -> int | None:
    """Gate blocks of a recurrent class (families.py); RNN(cell) counts as the widest cell."""
    if class_name == "RNN":
        return max(family.gates for family in FAMILIES.values())
    return FAMILIES[class_name].gates if is_recurrent_layer(class_name) else None


def _units(config: dict[str, Any]) -> int:
    cell = config.get("cell")
    if isinstance(cell, dict):  # RNN(cell): the (last) cell's units
        cells = cell.get("config", {}).get("cells") or [cell]
        config = cells[-1].get("config", {}) if isinstance(cells[-1], dict) else {}
    return int(config.get("units", config.get("output_dim", 1)) or 1)


def output_shapes(class_name: str, config: dict[str, Any], args: list[Shape]) -> list[Shape]:
    """Coarse output shapes of one call (unknown layers: their inputs' broadcast shape)."""
    x = args[0]
    if gate_blocks(class_name) is not None:
        return _recurrent_shapes(class_name, config, x, 1)
    if class_name in ("Bidirectional", "TimeDistributed"):
        inner = config.get("layer", {})
        inner_class, inner_config = inner.get("class_name", ""), inner.get("config", {})
        if class_name == "TimeDistributed":
            return output_shapes(inner_class, inner_config, args)
        mode = config.get("merge_mode", "concat")
        shapes = _recurrent_shapes(inner_class, inner_config, x, 2 if mode == "concat" else 1)
        return [shapes[0], *shapes] if mode is None else shapes + shapes[1:]
    if class_name == "Dense":
        return [(*x[:-1], _units(config))]
    if class_name == "Embedding":
        return [(*x, int(config.get("output_dim", 1)))]
    if class_name == "RepeatVector":
        return [(x[0], int(config.get("n", 1)), *x[1:])]
    if class_name == "Concatenate":
        axis = int(config.get("axis", -1)) % len(x)
        total = sum(a[axis] if len(a) == len(x) else 1 for a in args)
        return [(*x[:axis], total, *x[axis + 1 :])]
    if class_name in ("GlobalAveragePooling1D", "GlobalMaxPooling1D"):
        return [(x[0], *x[2:])]
    width = max(len(a) for a in args)  # elementwise and merges: the broadcast shape, at most
    return [tuple(max(a[i] if i < len(a) else 1 for a in args) for i in range(width))]


def _recurrent_shapes(class_name: str, config: dict[str, Any], x: Shape, merged: int):
    units = _units(config)
    batch, steps = x[0], (x[1] if len(x) > 1 else 1)
    sequences = config.get("return_sequences")
    output = (batch, steps, units * merged) if sequences else (batch, units * merged)
    family = FAMILIES.get(class_name)
    states = len(family.state_labels) if family is not None else 1
    extra = [(batch, units)] * states if config.get("return_state") else []
    return [output, *extra]


def _recurrent_work(class_name: str, config: dict[str, Any], x: Shape, weight_bytes: int) -> Cost:
    """What a recurrent call costs beyond its outputs: the projections of every step, held
    at once, and one read of the weights per step."""
    inner = config.get("layer", {}) if class_name in ("Bidirectional", "TimeDistributed") else {}
    cell = inner.get("class_name", class_name)
    units = _units(inner.get("config", config))
    directions = 2 if class_name == "Bidirectional" else 1
    batch, steps = x[0], (x[1] if len(x) > 1 else 1)
    held = 8 * directions * batch * steps * units * ((gate_blocks(cell) or 1) + 1)
    return Cost(held, directions * steps * STEP_SECONDS + steps * weight_bytes / BYTES_PER_SECOND)
