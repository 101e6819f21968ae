"""Walk a Keras model's graph and convert every layer call with its registered converter.

The exporter runs it on the model; ``nested.py`` runs it on a model used as a layer.
"""

from __future__ import annotations

from dataclasses import replace

from ..errors import ConfigError, UnsupportedModelError
from ..export.builder import Tensor
from ..export.context import ExportContext, LayerReport
from ..model import KerasModel, TensorRef, call_inputs, call_order
from .ops import as_bool
from .registry import get_converter


def run_graph(
    ctx: ExportContext, model: KerasModel, inputs: list[Tensor], release: bool = False
) -> list[Tensor]:
    """Convert every call of ``model`` given tensors for its inputs; return its outputs.

    With ``release``, each layer drops its Keras weights after its last call, so the
    next layer's ONNX arrays reuse their memory (see ``export_model``).

    Each layer call is recorded in ``ctx.reports`` with the names of the nodes it added."""
    values: dict[TensorRef, Tensor] = dict(zip(model.inputs, inputs, strict=True))
    order = call_order(model)
    last_call = {layer.name: step for step, (layer, _) in enumerate(order)}
    for step, (layer, index) in enumerate(order):
        call = layer.calls[index]
        try:
            args = [values[ref] for ref in call_inputs(call)]
        except KeyError as missing:
            raise UnsupportedModelError(
                f"layer {layer.name!r} consumes a tensor that no layer produces: {missing}"
            ) from None
        if not args:  # every layer call in a Keras config names at least one tensor
            raise ConfigError(f"layer {layer.name!r} is called on no tensor in the model config")
        mask_ref = call.kwargs.get("mask")
        if isinstance(mask_ref, TensorRef) and args:
            # An explicit mask (e.g. Keras 3's NotEqual op layer, or a bool Input)
            # replaces any implicit one (Keras treats a nonzero mask value as "keep").
            mask = values[mask_ref]
            args[0] = replace(args[0], mask=as_bool(ctx, mask, f"{mask.name}_as"))
        convert = get_converter(layer)
        before = len(ctx.builder.nodes)
        outputs = convert(ctx, layer, args, call)
        node_names = [node.name for node in ctx.builder.nodes[before:]]
        ctx.reports.append(LayerReport(layer.name, layer.class_name, node_names))
        for position, tensor in enumerate(outputs):
            values[TensorRef(layer.name, index, position)] = tensor
        if len(outputs) > 1:
            record_roles(ctx, layer.name, index, outputs)
        if release and last_call[layer.name] == step:
            layer.weights = []
    try:
        return [values[ref] for ref in model.outputs]
    except KeyError as missing:
        raise UnsupportedModelError(f"model output {missing} is never computed") from None


def record_roles(ctx: ExportContext, layer: str, call: int, outputs: list[Tensor]) -> None:
    """The role of each tensor of a call that returns several (graph output names): the
    converter's, or the position when a role is missing or repeated."""
    roles = [tensor.role for tensor in outputs]
    if None in roles or len(set(roles)) != len(roles):
        roles = [str(position) for position in range(len(outputs))]
    for position, role in enumerate(roles):
        ctx.output_roles[TensorRef(layer, call, position)] = str(role)
