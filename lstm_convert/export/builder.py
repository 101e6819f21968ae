"""GraphBuilder: collects ONNX nodes and initializers while layers are converted."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper

from ..streamed import StreamedArray

ONNX_DTYPES = {
    "float32": TensorProto.FLOAT,
    "float16": TensorProto.FLOAT,  # computed in float32
    "float64": TensorProto.DOUBLE,
    "bfloat16": TensorProto.FLOAT,
    "int32": TensorProto.INT32,
    "int64": TensorProto.INT64,
    "bool": TensorProto.BOOL,
}
BATCH = "batch"
TIME = "time"
Dim = int | str | None


@dataclass
class Tensor:
    """A Keras tensor inside the ONNX graph being built.

    ``shape`` is Keras's shape with symbols for dynamic axes ("batch", "time").
    ``mask`` names a bool ``[batch, time]`` tensor when a Keras mask travels with it.
    ``role`` says what the tensor is among the outputs of a layer that returns several
    ("" the output, "h", "forward_c", ...): it names graph outputs (export/interface.py).
    """

    name: str
    shape: tuple[Dim, ...]
    dtype: str = "float32"
    mask: str | None = None
    role: str | None = None

    @property
    def rank(self) -> int:
        return len(self.shape)


@dataclass
class GraphBuilder:
    opset: int
    nodes: list[onnx.NodeProto] = field(default_factory=list)
    # Weights stay numpy arrays (or arrays made as they are written: streamed.py) until
    # the model is written: see export/serialize.py.
    initializers: list[tuple[str, np.ndarray | StreamedArray]] = field(default_factory=list)
    graph_inputs: list[onnx.ValueInfoProto] = field(default_factory=list)
    graph_outputs: list[onnx.ValueInfoProto] = field(default_factory=list)
    _names: set[str] = field(default_factory=set)
    _consts: dict[tuple, str] = field(default_factory=dict)

    def unique(self, base: str) -> str:
        base = base.replace("/", "_").replace(":", "_") or "t"
        name, counter = base, 1
        while name in self._names:
            name = f"{base}_{counter}"
            counter += 1
        self._names.add(name)
        return name

    def node(
        self, op: str, inputs: list[str], outputs: int | list[str], name: str, **attrs
    ) -> list[str]:
        """Add a node; ``outputs`` is a count (fresh names from ``name``) or a list of names."""
        if isinstance(outputs, int):
            outputs = [self.unique(name if i == 0 else f"{name}_{i}") for i in range(outputs)]
        node = helper.make_node(op, inputs, outputs, name=self.unique(f"{name}/{op}"), **attrs)
        self.nodes.append(node)
        return list(outputs)

    def op(self, op: str, inputs: list[str], name: str, **attrs) -> str:
        return self.node(op, inputs, 1, name, **attrs)[0]

    def initializer(self, base: str, array: np.ndarray | StreamedArray) -> str:
        name = self.unique(base)
        if not isinstance(array, StreamedArray):
            # np.ascontiguousarray would turn a 0-d scalar into shape (1,): keep the rank.
            array = np.require(array, requirements="C")
        self.initializers.append((name, array))
        return name

    def const_i64(self, values: list[int]) -> str:
        key = ("i64", tuple(values))
        if key not in self._consts:
            label = "_".join(str(v) for v in values).replace("-", "m")
            array = np.asarray(values, dtype=np.int64)
            self._consts[key] = self.initializer(f"const_i64_{label}", array)
        return self._consts[key]

    def const_i64_scalar(self, value: int) -> str:
        """A 0-D int64 constant (e.g. CumSum's axis, which the spec wants 0-D)."""
        key = ("i64_scalar", int(value))
        if key not in self._consts:
            array = np.asarray(value, dtype=np.int64)
            self._consts[key] = self.initializer(f"const_i64_scalar_{value}", array)
        return self._consts[key]

    def const_f32(self, value: float) -> str:
        key = ("f32", float(value))
        if key not in self._consts:
            self._consts[key] = self.initializer("const_f32", np.asarray(value, np.float32))
        return self._consts[key]

    def add_input(self, name: str, dtype: str, shape: tuple[Dim, ...], doc: str = "") -> None:
        self._names.add(name)
        self.graph_inputs.append(value_info(name, dtype, shape, doc))

    def add_output(self, name: str, dtype: str, shape: tuple[Dim, ...], doc: str = "") -> None:
        self.graph_outputs.append(value_info(name, dtype, shape, doc))

    def rename(self, old: str, new: str) -> None:
        """Give a value a new name everywhere it appears (used for tidy graph outputs)."""
        self._names.add(new)
        for node in self.nodes:
            for i, name in enumerate(node.output):
                if name == old:
                    node.output[i] = new
            for i, name in enumerate(node.input):
                if name == old:
                    node.input[i] = new

    def prune(self) -> None:
        """Drop nodes and initializers nothing reaches from the graph outputs, and leave
        unrequested the optional outputs nobody reads (a recurrent node then skips
        writing its full sequence ``Y`` or its cell state ``Y_c``)."""
        needed = {out.name for out in self.graph_outputs}
        kept = []
        for node in reversed(self.nodes):
            if any(o in needed for o in node.output if o):
                kept.append(node)
                needed.update(i for i in node.input if i)
        self.nodes = list(reversed(kept))
        self.initializers = [(n, a) for n, a in self.initializers if n in needed]
        for node in self.nodes:
            if node.op_type in OPTIONAL_OUTPUT_OPS:
                outputs = [o if o in needed else "" for o in node.output]
                while outputs and outputs[-1] == "":
                    outputs.pop()
                del node.output[:]
                node.output.extend(outputs)


# ONNX recurrent ops: every output (Y, Y_h, Y_c) is optional.
OPTIONAL_OUTPUT_OPS = ("LSTM", "GRU", "RNN")


def value_info(name: str, dtype: str, shape: tuple[Dim, ...], doc: str = "") -> onnx.ValueInfoProto:
    dims = [d if isinstance(d, (int, str)) else None for d in shape]
    elem_type = ONNX_DTYPES.get(dtype, TensorProto.FLOAT)
    return helper.make_tensor_value_info(name, elem_type, dims, doc_string=doc)
