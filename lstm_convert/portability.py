"""What mainstream ONNX runtimes other than onnxruntime are known to get wrong.

lstm-convert's graphs avoid every construct a runtime is known to mishandle when an
exact portable form exists (see layers/mask_pack.py and layers/recurrent.py). What
remains is found here by reading the finished graph; ``convert`` reports it as one
warning line, and the optional runtime tests skip exactly these cases. Measured with
onnx 1.23's reference evaluator, OpenVINO 2026.4 CPU, tract 0.23.9 and OpenCV 5.0.
"""

from __future__ import annotations

from dataclasses import dataclass

import onnx

# The activations ONNX assumes when a recurrent node has no ``activations`` attribute,
# per direction. The exporter omits the attribute when it would say just this: OpenCV's
# importer refuses every recurrent node that carries it.
DEFAULT_ACTIVATIONS = {
    "LSTM": ("Sigmoid", "Tanh", "Tanh"),
    "GRU": ("Sigmoid", "Tanh"),
    "RNN": ("Tanh",),
}
# Fused-node activations OpenVINO's CPU plugin accepts; it refuses the others on load.
OPENVINO_ACTIVATIONS = ("Sigmoid", "Tanh", "Relu")
# The reference evaluator computes RNN's Tanh and Affine; it ignores LSTM's and GRU's.
REFERENCE_RNN_ACTIVATIONS = ("Tanh", "Affine")
RUNTIME_NAMES = {
    "reference": "the ONNX reference evaluator",
    "openvino": "OpenVINO",
    "tract": "tract",
    "opencv": "OpenCV",
}


@dataclass(frozen=True)
class Finding:
    """A construct in the graph, and the runtimes (keys of RUNTIME_NAMES) that refuse
    it or compute it wrongly."""

    construct: str
    runtimes: tuple[str, ...]


def custom_activations(model: onnx.ModelProto, op: str | None = None) -> list[str]:
    """The activations recurrent nodes (of type ``op``, or all) use in place of ONNX's
    defaults, sorted, unique."""
    names: set[str] = set()
    for node in model.graph.node:
        defaults = DEFAULT_ACTIVATIONS.get(node.op_type)
        if defaults is None or (op is not None and node.op_type != op):
            continue
        for attribute in node.attribute:
            if attribute.name == "activations":
                given = [s.decode() for s in attribute.strings]
                expected = defaults * (len(given) // len(defaults))
                names.update(g for g, e in zip(given, expected, strict=False) if g != e)
    return sorted(names)


def _activation_finding(model: onnx.ModelProto) -> Finding | None:
    names = custom_activations(model)
    if not names:
        return None
    runtimes = ["tract", "opencv"]
    gated = custom_activations(model, "LSTM") + custom_activations(model, "GRU")
    if gated or set(custom_activations(model, "RNN")) - set(REFERENCE_RNN_ACTIVATIONS):
        runtimes.append("reference")
    if set(names) - set(OPENVINO_ACTIVATIONS):
        runtimes.append("openvino")
    return Finding(
        f"recurrent activations other than ONNX's defaults ({', '.join(names)})", tuple(runtimes)
    )


def _producers(model: onnx.ModelProto) -> dict[str, onnx.NodeProto]:
    return {out: node for node in model.graph.node for out in node.output}


def _fed_by_tile(model: onnx.ModelProto, node: onnx.NodeProto) -> bool:
    producers = _producers(model)
    value = node.input[0]
    # UpSampling1D is a Tile and a Reshape; RepeatVector a Tile or Expand.
    while value in producers and producers[value].op_type in ("Transpose", "Identity", "Reshape"):
        value = producers[value].input[0]
    return value in producers and producers[value].op_type in ("Tile", "Expand")


def _reader_key(producers: dict[str, onnx.NodeProto], value: str) -> tuple:
    """What a recurrent node really reads: OpenVINO folds Identity away and merges
    equal Transposes of one tensor, so those count as the tensor itself."""
    node = producers.get(value)
    if node is None or node.op_type not in ("Transpose", "Identity"):
        return (value,)
    perm = [tuple(a.ints) for a in node.attribute if a.name == "perm"]
    return (*_reader_key(producers, node.input[0]), node.op_type, *perm)


def _shared_input_with_sequence(model: onnx.ModelProto, recurrent: list) -> bool:
    """Two or more recurrent nodes read one tensor and one of them has its ``Y`` used.
    OpenVINO 2026.4's CPU plugin then computes the other readers wrongly (by up to ~2):
    the ``Y`` node reads the tensor's buffer in place, its Transposes optimized away,
    and the others read it later through a Reorder, apparently after it was reused.
    With ``Y_h``/``Y_c`` alone all are exact. A no-op Reshape per reader dodges it only
    while the Reshapes differ (OpenVINO merges equal ones), so no general form avoids it."""
    producers = _producers(model)
    readers: dict[tuple, list[onnx.NodeProto]] = {}
    for node in recurrent:
        readers.setdefault(_reader_key(producers, node.input[0]), []).append(node)
    return any(
        len(nodes) > 1 and any(n.output and n.output[0] for n in nodes)
        for nodes in readers.values()
    )


def findings(model: onnx.ModelProto) -> list[Finding]:
    found = []
    activation = _activation_finding(model)
    if activation is not None:
        found.append(activation)
    recurrent = [n for n in model.graph.node if n.op_type in DEFAULT_ACTIVATIONS]
    if any(
        n.op_type == "LSTM" and len(n.output) == 3 and n.output[2] and any(n.output[:2])
        for n in recurrent
    ):
        found.append(Finding("an LSTM whose cell state is used with its other outputs", ("tract",)))
    if any(_fed_by_tile(model, n) for n in recurrent):
        found.append(
            Finding("a RepeatVector or UpSampling1D feeding a recurrent layer", ("tract",))
        )
    if _shared_input_with_sequence(model, recurrent):
        found.append(
            Finding(
                "one tensor read by several recurrent layers, one of them returning sequences",
                ("openvino",),
            )
        )
    return found


def portability_warning(model: onnx.ModelProto) -> str | None:
    """One line naming the constructs and the runtimes that mishandle them."""
    parts = [
        f"{f.construct}, refused or miscomputed by {_listing(f.runtimes)}" for f in findings(model)
    ]
    if not parts:
        return None
    return "not portable: " + "; ".join(parts) + " (onnxruntime runs it exactly)"


def _listing(runtimes: tuple[str, ...]) -> str:
    names = [RUNTIME_NAMES[r] for r in runtimes]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
