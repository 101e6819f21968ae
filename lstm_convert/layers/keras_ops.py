"""Keras 3 operations in Functional graphs (``keras.ops.*`` calls, and the mask ops Keras
traces itself: NotEqual, ExpandDims, ZerosLike, LogicalOr, Concatenate, Any), and tf.keras
``TFOpLambda`` layers named after common TensorFlow array functions.

Nothing is executed: each is recognized by its class (or function) name and its arguments
are read as data. Operations carry no Keras mask.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from onnx import TensorProto

from ..errors import UnsupportedModelError
from ..export.builder import ONNX_DTYPES, Dim, Tensor
from ..export.context import ExportContext
from ..model import Call, Layer, TensorRef
from .ops import as_bool, reduce
from .registry import converter, op_converter

BINARY = {
    "Add": "Add",
    "Subtract": "Sub",
    "Multiply": "Mul",
    "Divide": "Div",
    "TrueDivide": "Div",
    "Maximum": "Max",
    "Minimum": "Min",
    "Power": "Pow",
    "Equal": "Equal",
    "Greater": "Greater",
    "Less": "Less",
    "LogicalAnd": "And",
    "LogicalOr": "Or",
}
COMPARISONS = ("Equal", "Greater", "Less", "LogicalAnd", "LogicalOr")
UNARY = {
    "Tanh": "Tanh",
    "Sigmoid": "Sigmoid",
    "Relu": "Relu",
    "Exp": "Exp",
    "Log": "Log",
    "Sqrt": "Sqrt",
    "Abs": "Abs",
    "Negative": "Neg",
    "LogicalNot": "Not",
}
REDUCTIONS = {"Mean": "ReduceMean", "Sum": "ReduceSum", "Max": "ReduceMax", "Min": "ReduceMin"}
NUMPY_DTYPES = {"float32": np.float32, "int32": np.int32, "int64": np.int64, "bool": np.bool_}


def axis_list(layer: Layer, axis: Any, rank: int) -> list[int]:
    """Keras's ``axis`` (None, an int or a list) as sorted non-negative axes."""
    if axis is None:
        return list(range(rank))
    axes = axis if isinstance(axis, list) else [axis]
    if not all(isinstance(a, int) and -rank <= a < rank for a in axes):
        raise UnsupportedModelError(f"layer {layer.name!r}: axis {axis!r} out of range")
    return sorted(a % rank for a in axes)


def broadcast(shapes: list[tuple[Dim, ...]]) -> tuple[Dim, ...]:
    rank = max(len(s) for s in shapes)
    padded = [(1,) * (rank - len(s)) + tuple(s) for s in shapes]
    result: list[Dim] = []
    for dims in zip(*padded, strict=True):
        known = [d for d in dims if d != 1]
        result.append(known[0] if known else 1)
    return tuple(result)


def operand_tensors(ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call):
    """The call's positional operands in order: tensors, and constants as initializers
    of the tensors' dtype."""
    operands = call.kwargs.get("operands")
    if not isinstance(operands, list):
        return list(inputs)
    tensors = iter(inputs)
    dtype = inputs[0].dtype if inputs else "float32"
    result = []
    for index, value in enumerate(operands):
        if isinstance(value, TensorRef):
            result.append(next(tensors))
        elif isinstance(value, (int, float, bool)):
            array = np.asarray(value, dtype=NUMPY_DTYPES.get(dtype, np.float32))
            name = ctx.builder.initializer(f"{layer.name}_operand{index}", array)
            result.append(Tensor(name, (), dtype))
        else:
            raise UnsupportedModelError(
                f"layer {layer.name!r}: operand {value!r:.40} not understood"
            )
    return result


def binary(ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call) -> list[Tensor]:
    operands = operand_tensors(ctx, layer, inputs, call)
    if len(operands) != 2:
        raise UnsupportedModelError(f"layer {layer.name!r}: expected two operands")
    names = [t.name for t in operands]
    if layer.class_name in ("LogicalAnd", "LogicalOr"):
        names = [as_bool(ctx, t, layer.name) for t in operands]
    value = ctx.builder.op(BINARY[layer.class_name], names, layer.name)
    dtype = "bool" if layer.class_name in COMPARISONS else operands[0].dtype
    return [Tensor(value, broadcast([t.shape for t in operands]), dtype)]


def unary(ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call) -> list[Tensor]:
    x = inputs[0]
    return [Tensor(ctx.builder.op(UNARY[layer.class_name], [x.name], layer.name), x.shape, x.dtype)]


def reduction(ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call) -> list[Tensor]:
    x = inputs[0]
    axes = axis_list(layer, layer.config.get("axis"), x.rank)
    keep = bool(layer.config.get("keepdims", False))
    value = reduce(ctx, REDUCTIONS[layer.class_name], x.name, axes, layer.name, int(keep))
    return [Tensor(value, reduced_shape(x.shape, axes, keep), x.dtype)]


def reduced_shape(shape: tuple[Dim, ...], axes: list[int], keep: bool) -> tuple[Dim, ...]:
    if keep:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def logical_all(ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call) -> list[Tensor]:
    """``keras.ops.all``: min over the axes of the values as 0/1."""
    x = inputs[0]
    axes = axis_list(layer, layer.config.get("axis"), x.rank)
    keep = bool(layer.config.get("keepdims", False))
    b = ctx.builder
    as_int = b.op("Cast", [as_bool(ctx, x, layer.name)], layer.name, to=TensorProto.INT32)
    reduced = reduce(ctx, "ReduceMin", as_int, axes, layer.name, int(keep))
    value = b.op("Cast", [reduced], layer.name, to=TensorProto.BOOL)
    return [Tensor(value, reduced_shape(x.shape, axes, keep), "bool")]


def expand_dims(ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call) -> list[Tensor]:
    x = inputs[0]
    axes = axis_list(layer, layer.config.get("axis"), x.rank + 1)
    value = ctx.builder.op("Unsqueeze", [x.name, ctx.builder.const_i64(axes)], layer.name)
    shape = list(x.shape)
    for axis in axes:
        shape.insert(axis, 1)
    return [Tensor(value, tuple(shape), x.dtype)]


def squeeze(ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call) -> list[Tensor]:
    x = inputs[0]
    axis = layer.config.get("axis")
    if axis is None:
        axes = [i for i, d in enumerate(x.shape) if d == 1]
    else:
        axes = axis_list(layer, axis, x.rank)
    if not axes or any(x.shape[a] != 1 for a in axes):
        raise UnsupportedModelError(f"layer {layer.name!r}: squeezes an axis not known to be 1")
    value = ctx.builder.op("Squeeze", [x.name, ctx.builder.const_i64(axes)], layer.name)
    return [Tensor(value, reduced_shape(x.shape, axes, False), x.dtype)]


def transpose(ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call) -> list[Tensor]:
    x = inputs[0]
    perm = layer.config.get("axes")
    perm = list(reversed(range(x.rank))) if perm is None else [a % x.rank for a in perm]
    if sorted(perm) != list(range(x.rank)):
        raise UnsupportedModelError(f"layer {layer.name!r}: axes {perm} are not a permutation")
    value = ctx.builder.op("Transpose", [x.name], layer.name, perm=perm)
    return [Tensor(value, tuple(x.shape[a] for a in perm), x.dtype)]


def concatenate(ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call) -> list[Tensor]:
    rank = inputs[0].rank
    axis = axis_list(layer, layer.config.get("axis", 0), rank)[0]
    dims = [t.shape[axis] for t in inputs]
    shape = list(inputs[0].shape)
    shape[axis] = sum(dims) if all(isinstance(d, int) for d in dims) else None  # type: ignore[arg-type]
    value = ctx.builder.op("Concat", [t.name for t in inputs], layer.name, axis=axis)
    return [Tensor(value, tuple(shape), inputs[0].dtype)]


def filled_like(ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call) -> list[Tensor]:
    """ZerosLike / OnesLike, in the operation's own dtype."""
    x = inputs[0]
    dtype = layer.config.get("dtype") or x.dtype
    if isinstance(dtype, dict):
        dtype = (dtype.get("config") or {}).get("name", x.dtype)
    if dtype not in NUMPY_DTYPES:
        dtype = "float32"
    fill = 0 if layer.class_name == "ZerosLike" else 1
    from onnx import helper

    constant = helper.make_tensor("fill", ONNX_DTYPES[dtype], [1], [fill])
    shape = ctx.builder.op("Shape", [x.name], layer.name)
    value = ctx.builder.op("ConstantOfShape", [shape], layer.name, value=constant)
    return [Tensor(value, x.shape, dtype)]


INT64_MAX = 2**63 - 1


def slice_parts(layer: Layer, item: Any) -> tuple[int, int, int] | int:
    """One axis of an indexing key: an int, or (start, stop, step) of a slice. Keras 3
    writes slices as ``{"class_name": "__slice__", "config": {...}}``, tf.keras as the
    bare ``{"start", "stop", "step"}``."""
    if isinstance(item, int) and not isinstance(item, bool):
        return item
    if isinstance(item, dict):
        parts = item.get("config", item) if item.get("class_name") == "__slice__" else item
        start, stop, step = (parts.get(k) for k in ("start", "stop", "step"))
        values = [v for v in (start, stop, step) if v is not None]
        integers = all(isinstance(v, int) and not isinstance(v, bool) for v in values)
        if integers and (step is None or step > 0):
            first = 0 if start is None else start
            return first, INT64_MAX if stop is None else stop, step or 1
    raise UnsupportedModelError(
        f"layer {layer.name!r}: indexing with {item!r:.60} (ints and forward slices only)"
    )


def get_item(layer: Layer, x: Tensor, key: Any, ctx: ExportContext) -> Tensor:
    """``x[key]`` as one Slice and a Squeeze for the integer axes."""
    items = key if isinstance(key, list) else [key]
    if len(items) > x.rank:
        raise UnsupportedModelError(f"layer {layer.name!r}: too many indices")
    starts, ends, axes, steps, dropped = [], [], [], [], []
    shape = list(x.shape)
    for axis, item in enumerate(items):
        part = slice_parts(layer, item)
        if isinstance(part, int):
            part, dropped = (part, part + 1 if part != -1 else INT64_MAX, 1), [*dropped, axis]
        starts.append(part[0])
        ends.append(part[1])
        steps.append(part[2])
        axes.append(axis)
        dim = shape[axis]
        if isinstance(dim, int):
            shape[axis] = len(range(*slice(*part).indices(dim)))
        elif part != (0, INT64_MAX, 1):
            shape[axis] = None
    b = ctx.builder
    inputs = [x.name, b.const_i64(starts), b.const_i64(ends), b.const_i64(axes), b.const_i64(steps)]
    value = b.op("Slice", inputs, layer.name)
    if dropped:
        value = b.op("Squeeze", [value, b.const_i64(dropped)], layer.name)
    kept = tuple(d for i, d in enumerate(shape) if i not in dropped)
    return Tensor(value, kept, x.dtype)


def getitem_operation(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor]:
    operands = call.kwargs.get("operands")
    if not isinstance(operands, list) or len(operands) != 2:
        raise UnsupportedModelError(f"layer {layer.name!r}: GetItem without an index")
    return [get_item(layer, inputs[0], operands[1], ctx)]


def reshape_operation(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor]:
    """``keras.ops.reshape(x, newshape)``: the new shape includes the batch axis."""
    x = inputs[0]
    shape = layer.config.get("newshape")
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and (d > 0 or d == -1) for d in shape
    ):
        raise UnsupportedModelError(f"layer {layer.name!r}: reshape to {shape!r:.60}")
    value = ctx.builder.op("Reshape", [x.name, ctx.builder.const_i64(shape)], layer.name)
    return [Tensor(value, tuple(None if d == -1 else d for d in shape), x.dtype)]


OperationConverter = Callable[[ExportContext, Layer, list[Tensor], Call], list[Tensor]]
OPERATIONS: dict[str, OperationConverter] = {
    **dict.fromkeys(BINARY, binary),
    **dict.fromkeys(UNARY, unary),
    **dict.fromkeys(REDUCTIONS, reduction),
    "All": logical_all,
    "ExpandDims": expand_dims,
    "Squeeze": squeeze,
    "Transpose": transpose,
    "Concatenate": concatenate,
    "ZerosLike": filled_like,
    "OnesLike": filled_like,
    "GetItem": getitem_operation,
    "Reshape": reshape_operation,
}
for _class_name, _fn in OPERATIONS.items():
    op_converter(_class_name)(_fn)


# tf.keras writes TF functions as TFOpLambda layers with the function's *name* (data, not
# code) and its arguments as keywords. Each common array function maps to the operation
# above that computes the same; nothing is ever imported or unmarshalled.
TF_FUNCTIONS: dict[str, tuple[str, dict[str, str]]] = {
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


def tf_function(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor] | None:
    """A TFOpLambda as the matching operation, or None if its function is not listed."""
    function = layer.config.get("function")
    if not isinstance(function, str) or function not in TF_FUNCTIONS:
        return None
    kind, renames = TF_FUNCTIONS[function]
    config = {key: call.kwargs.get(source) for key, source in renames.items()}
    if kind == "Concatenate" and config["axis"] is None:
        config["axis"] = 0
    if kind in BINARY:
        other = call.kwargs.get("y")
        operands = [TensorRef("x"), other if isinstance(other, TensorRef) else other]
        call = Call(call.inputs, {"operands": operands})
    operation = Layer(layer.name, kind, config, op_layer=True)
    return OPERATIONS[kind](ctx, operation, inputs, call)


@converter("SlicingOpLambda")
def convert_slicing(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor]:
    """tf.keras ``x[...]``: function ``__operators__.getitem`` with a ``slice_spec``."""
    if layer.config.get("function") != "__operators__.getitem":
        raise UnsupportedModelError(
            f"layer {layer.name!r}: SlicingOpLambda {layer.config.get('function')!r:.60}"
        )
    return [get_item(layer, inputs[0], call.kwargs.get("slice_spec"), ctx)]
