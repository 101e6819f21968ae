"""Exporter: run every layer's converter over the model graph and build a ModelProto."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cached_property

import numpy as np
import onnx
from onnx import TensorProto, helper

from ..model import KerasModel, TensorRef
from ..streamed import StreamedArray
from ..version import __version__
from . import interface, serialize
from .builder import GraphBuilder, Tensor
from .context import ConvertOptions, ExportContext, LayerReport, StateIO
from .records import RecurrentRecord


@dataclass
class ExportResult:
    """The converted graph. Weights are kept beside a weightless ``skeleton`` so they can
    be streamed to disk without protobuf copies: numpy arrays, and the big remapped
    kernels as arrays made only as they are written (``streamed.py``)."""

    skeleton: onnx.ModelProto
    tensors: list[tuple[str, np.ndarray | StreamedArray]]
    layers: list[LayerReport]
    input_names: list[str]
    output_names: list[str]
    states: list[StateIO]
    # One-line remarks for the user: stateful layers exposed, mixed precision, ...
    notes: list[str] = field(default_factory=list)
    # Each recurrent direction's node and W/R/B initializers, as written (explain reads it).
    recurrent: list[RecurrentRecord] = field(default_factory=list)

    @cached_property
    def initializers(self) -> list[tuple[str, np.ndarray]]:
        """Every initializer as a numpy array (streamed ones made whole on first use)."""
        return [(name, np.asarray(array)) for name, array in self.tensors]

    @cached_property
    def model(self) -> onnx.ModelProto:
        """The complete ModelProto, weights included (built on first use)."""
        return serialize.full_model(self.skeleton, self.tensors)

    def write(
        self,
        path: str | os.PathLike[str],
        fill_in: Callable[[], dict[str, str]] | None = None,
        piece_threads: int | None = None,
        sync: bool = True,
    ) -> None:
        """Write the model file with each weight buffer copied exactly once (``fill_in``:
        metadata values written over their placeholders at the end; ``piece_threads``:
        threads that remap the kernels as they are written; ``sync=False``: no fsync,
        the caller's job; see serialize)."""
        serialize.write_model(path, self.skeleton, self.tensors, fill_in, piece_threads, sync=sync)

    def weight_bytes(self) -> int:
        return sum(array.nbytes for _, array in self.tensors)

    def feeds(self, arrays: list[np.ndarray]) -> dict[str, np.ndarray]:
        """onnxruntime feeds for arrays given in graph input order (as Keras takes them,
        then any state inputs): integer ids cast to the declared token dtype."""
        feeds = dict(zip(self.input_names, arrays, strict=False))
        return interface.feeds_as_declared(feeds, interface.declared_dtypes(self.skeleton.graph))


def input_tensors(ctx: ExportContext, model: KerasModel) -> list[Tensor]:
    """One graph input per Keras input, named as in Keras, with named axes (see
    export/interface.py) and integer inputs declared as ``--token-dtype``."""
    builder = ctx.builder
    configs = [model.layer(ref.layer).config for ref in model.inputs]
    dynamic_time = sum(_dynamic_time(config) for config in configs)
    tensors = []
    for ref, config in zip(model.inputs, configs, strict=True):
        name = builder.unique(ref.layer)
        time = interface.time_axis_name(name, shared=dynamic_time == 1)
        shape = interface.input_dims(name, list(config["batch_shape"]), ctx.batch, time)
        keras_dtype = str(config.get("dtype", "float32"))
        dtype = interface.input_dtype(keras_dtype, ctx.options.token_dtype)
        builder.add_input(name, dtype, shape, interface.input_doc(name, dtype, shape, keras_dtype))
        if dtype == "float64":
            # onnxruntime's recurrent kernels are float32 only: cast in, cast back out.
            cast = builder.op("Cast", [name], f"{name}_float32", to=TensorProto.FLOAT)
            tensors.append(Tensor(cast, shape, "float32"))
        else:
            tensors.append(Tensor(name, shape, dtype))
    return tensors


def _dynamic_time(config: dict) -> bool:
    shape = config.get("batch_shape") or []
    return len(shape) >= 2 and not isinstance(shape[1], int)


def output_dtype(model: KerasModel) -> str:
    """float64 models return float64, as Keras does; everything else float32."""
    for ref in model.inputs:
        if model.layer(ref.layer).config.get("dtype") == "float64":
            return "float64"
    return "float32"


def _can_take(builder: GraphBuilder, wanted: str, taken: list[str]) -> bool:
    fixed = {vi.name for vi in builder.graph_inputs} | {name for name, _ in builder.initializers}
    return wanted not in fixed and wanted not in taken


def wanted_name(ctx: ExportContext, ref: TensorRef) -> str:
    """A Keras output's name: its layer's, with the tensor's role when the layer returns
    several (``lstm_h``); a shared layer's later calls add ``_call<n>``."""
    layer = ref.layer if ref.node == 0 else f"{ref.layer}_call{ref.node}"
    return interface.output_name(layer, ctx.output_roles.get(ref))


def name_outputs(ctx: ExportContext, model: KerasModel, outputs: list[Tensor]) -> list[str]:
    """Graph outputs named after their Keras layers (``dense``; ``lstm``, ``lstm_h``,
    ``lstm_c`` for an LSTM with return_state)."""
    builder = ctx.builder
    names: list[str] = []
    renamed: dict[str, str] = {}

    def claim(wanted: str) -> bool:
        """Free ``wanted`` for a graph output, moving an inner value aside if needed."""
        if not _can_take(builder, wanted, names):
            return False
        if any(wanted in node.output for node in builder.nodes):
            aside = builder.unique(f"{wanted}_inner")
            builder.rename(wanted, aside)
            renamed[wanted] = aside
        return True

    for ref, tensor in zip(model.outputs, outputs, strict=True):
        wanted = wanted_name(ctx, ref)
        name = renamed.get(tensor.name, tensor.name)
        produced = {out for node in builder.nodes for out in node.output}
        if name in names or name not in produced:
            # A graph input or a value already returned: Keras still returns it again.
            if claim(wanted):
                name = builder.node("Identity", [name], [wanted], wanted)[0]
            else:
                name = builder.op("Identity", [name], wanted)
        elif name != wanted and claim(wanted):
            builder.rename(name, wanted)
            renamed[name] = wanted
            name = wanted
        names.append(name)
    return names


def mixed_precision_policy(model: KerasModel) -> str | None:
    """The first ``mixed_*`` dtype policy a layer declares (tf.keras ``Policy``, Keras 3
    ``DTypePolicy``), or None."""
    for layer in model.iter_layers():
        dtype = layer.config.get("dtype")
        if isinstance(dtype, dict):
            dtype = (dtype.get("config") or {}).get("name")
        if isinstance(dtype, str) and dtype.startswith("mixed_"):
            return dtype
    return None


def as_float64(builder: GraphBuilder, outputs: list[Tensor]) -> list[Tensor]:
    """float32 outputs cast back to float64 (for a float64 model)."""
    return [
        Tensor(
            builder.op("Cast", [t.name], f"{t.name}_float64", to=TensorProto.DOUBLE),
            t.shape,
            "float64",
        )
        if t.dtype == "float32"
        else t
        for t in outputs
    ]


def add_notes(ctx: ExportContext, model: KerasModel) -> None:
    """Remarks for the user: stateful layers exposed, a mixed precision policy."""
    if ctx.stateful_layers:
        names = ", ".join(map(repr, ctx.stateful_layers))
        ctx.notes.append(
            f"stateful layer(s) {names}: their states are graph inputs and outputs, "
            "as with state_io=True; feed zeros for Keras's first call"
        )
    policy = mixed_precision_policy(model)
    if policy:
        ctx.notes.append(
            f"the model uses the {policy!r} precision policy: Keras computes it in float16, "
            "this ONNX model in float32, so they differ by up to about 1e-3"
        )


def model_proto(ctx: ExportContext, model: KerasModel) -> onnx.ModelProto:
    """The weightless ModelProto of the built graph, with export's metadata_props."""
    builder = ctx.builder
    graph = helper.make_graph(
        builder.nodes, model.name or "keras_model", builder.graph_inputs, builder.graph_outputs
    )
    opsets = [helper.make_opsetid("", ctx.options.opset)]
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="lstm-convert")
    proto.producer_version = __version__
    proto.ir_version = helper.find_min_ir_version_for(opsets)
    proto.doc_string = f"Converted from {model.source.format} (Keras {model.source.keras_version})"
    interface.add_metadata(proto, interface.export_metadata(model, asdict(ctx.options)))
    return proto


def add_outputs(ctx: ExportContext, model: KerasModel, outputs: list[Tensor]) -> None:
    """The Keras outputs, then the state outputs, each with its description."""
    builder = ctx.builder
    names = name_outputs(ctx, model, outputs)
    for ref, tensor, name in zip(model.outputs, outputs, names, strict=True):
        role = ctx.output_roles.get(ref)
        doc = interface.output_doc(ref.layer, role, tensor.dtype, tensor.shape)
        builder.add_output(name, tensor.dtype, tensor.shape, doc)
    for state in ctx.states:
        dims = (ctx.batch, state.units)
        doc = interface.state_output_doc(state.layer, state.label, dims, state.input_name)
        builder.add_output(state.output_name, "float32", dims, doc)


def export_model(
    model: KerasModel, options: ConvertOptions, release_weights: bool = False
) -> ExportResult:
    """``model`` as ONNX. ``release_weights`` empties each layer's ``weights`` once its
    converter has made the ONNX arrays (the model is spent): the next layer's arrays then
    reuse that memory instead of fresh pages, and peak memory is about one weights' size
    plus the largest layer instead of two weights' sizes."""
    # The layers import this package's builder and context: importing them at first use
    # keeps either package importable first.
    from ..layers.graph import run_graph
    from ..options import check_bias_split, check_opset, check_token_dtype

    check_bias_split(options.bias_split)
    check_opset(options.opset)
    check_token_dtype(options.token_dtype)
    builder = GraphBuilder(opset=options.opset)
    ctx = ExportContext(builder, options, model.source.keras_major, interface.model_batch(model))
    outputs = run_graph(ctx, model, input_tensors(ctx, model), release_weights)
    if output_dtype(model) == "float64":
        outputs = as_float64(builder, outputs)
    add_notes(ctx, model)
    add_outputs(ctx, model, outputs)
    builder.prune()
    kept = {node.name: node.op_type for node in builder.nodes}
    for report in ctx.reports:
        report.node_names = [n for n in report.node_names if n in kept]
        report.onnx_ops = [kept[n] for n in report.node_names]
    return ExportResult(
        skeleton=model_proto(ctx, model),
        tensors=builder.initializers,
        layers=ctx.reports,
        input_names=[vi.name for vi in builder.graph_inputs],
        output_names=[vi.name for vi in builder.graph_outputs],
        states=ctx.states,
        notes=ctx.notes,
        recurrent=[record for record in ctx.recurrent if record.node in kept],
    )
