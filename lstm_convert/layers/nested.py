"""A Sequential or Functional model used as a layer: converted in place."""

from __future__ import annotations

from ..errors import UnsupportedModelError
from ..export.builder import Tensor
from ..export.context import ExportContext
from ..model import Call, Layer
from .graph import run_graph
from .registry import converter


@converter("Sequential", "Functional", "Model")
def convert_nested(
    ctx: ExportContext, layer: Layer, inputs: list[Tensor], call: Call
) -> list[Tensor]:
    submodel = layer.submodel
    if submodel is None or len(inputs) != len(submodel.inputs):
        raise UnsupportedModelError(f"nested model {layer.name!r} is called with wrong inputs")
    return run_graph(ctx, submodel, inputs)
