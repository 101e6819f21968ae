"""What a layer converter receives: the graph being built and the user's options."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..remap import BiasSplit
from .builder import GraphBuilder, Tensor
from .records import RecurrentRecord

DEFAULT_OPSET = 17
MIN_OPSET = 14


@dataclass(frozen=True)
class ConvertOptions:
    bias_split: BiasSplit = "wb"
    opset: int = DEFAULT_OPSET
    # Expose every recurrent layer's initial/final states as graph inputs/outputs.
    state_io: bool = False


@dataclass
class LayerReport:
    """One Keras layer and the ONNX nodes it became."""

    name: str
    class_name: str
    onnx_ops: list[str]


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
    reports: list[LayerReport] = field(default_factory=list)
    states: list[StateIO] = field(default_factory=list)
    # Stateful layers whose states were exposed without --state-io.
    stateful_layers: list[str] = field(default_factory=list)
    # One-line remarks for the user (printed on stderr by the CLI).
    notes: list[str] = field(default_factory=list)
    # Each recurrent direction's node and initializers (see records.py).
    recurrent: list[RecurrentRecord] = field(default_factory=list)

    def add_state(self, layer: str, label: str, units: int) -> str:
        """Declare a ``[batch, units]`` state input; returns its graph input name."""
        input_name = self.builder.unique(f"{layer}_{label}_in")
        output_name = self.builder.unique(f"{layer}_{label}_out")
        self.builder.add_input(input_name, "float32", ("batch", units))
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
