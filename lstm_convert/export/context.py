"""What a layer converter receives: the graph being built and the user's options."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..defaults import DEFAULT_OPSET, DEFAULT_TOKEN_DTYPE
from ..model import TensorRef
from ..remap import BiasSplit
from ..results import LayerReport
from . import interface
from .builder import BATCH, Dim, GraphBuilder, Tensor
from .records import RecurrentRecord


@dataclass(frozen=True)
class ConvertOptions:
    bias_split: BiasSplit = "wb"
    opset: int = DEFAULT_OPSET
    # Expose every recurrent layer's initial/final states as graph inputs/outputs.
    state_io: bool = False
    # The ONNX dtype of integer inputs (token ids): see export/interface.py.
    token_dtype: str = DEFAULT_TOKEN_DTYPE


@dataclass
class StateIO:
    """A recurrent layer's state exposed for streaming (``--state-io``)."""

    layer: str
    label: str  # "h", "c", "forward_h", ...
    input_name: str
    output_name: str
    units: int


@dataclass
class ExportContext:
    builder: GraphBuilder
    options: ConvertOptions
    keras_major: int
    # The batch axis of every input, state input and output: the batch Keras fixed (a
    # stateful model's), else the symbol "batch".
    batch: Dim = BATCH
    reports: list[LayerReport] = field(default_factory=list)
    states: list[StateIO] = field(default_factory=list)
    # Stateful layers whose states were exposed without --state-io.
    stateful_layers: list[str] = field(default_factory=list)
    # One-line remarks for the user (printed on stderr by the CLI).
    notes: list[str] = field(default_factory=list)
    # Each recurrent direction's node and initializers (see records.py).
    recurrent: list[RecurrentRecord] = field(default_factory=list)
    # Layer state shared across converters (see layers/ops.py and layers/mask_pack.py):
    # the time-major view of each batch-first value (and back), the mask packing of each
    # mask, and the packed time-major view of masked sequences (value name -> (packed
    # name, mask name)) so stacked layers skip unpack + repack.
    time_major_views: dict[str, str] = field(default_factory=dict)
    packings: dict[str, Any] = field(default_factory=dict)  # mask -> mask_pack.Packing
    packed_views: dict[str, tuple[str, str]] = field(default_factory=dict)
    # The role of each tensor of a layer call that returns several (see Tensor.role).
    output_roles: dict[TensorRef, str] = field(default_factory=dict)

    def add_state(self, layer: str, label: str, units: int) -> str:
        """Declare a ``[batch, units]`` state input; returns its graph input name."""
        input_name = self.builder.unique(interface.state_input_name(layer, label))
        output_name = self.builder.unique(interface.state_output_name(layer, label))
        dims = (self.batch, units)
        doc = interface.state_input_doc(layer, label, dims, output_name)
        self.builder.add_input(input_name, "float32", dims, doc)
        self.states.append(StateIO(layer, label, input_name, output_name, units))
        return input_name

    def expose_state(self, input_name: str, final_state: str) -> None:
        """Route ``final_state`` ([batch, units]) to the output paired with ``input_name``."""
        for state in self.states:
            if state.input_name == input_name:
                self.builder.node("Identity", [final_state], [state.output_name], state.layer)
                return
        raise KeyError(input_name)


__all__ = ["ConvertOptions", "ExportContext", "LayerReport", "StateIO", "Tensor"]
