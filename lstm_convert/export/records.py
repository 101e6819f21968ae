"""What the exporter wrote for each Keras recurrent direction: a product for ``explain``.

``emit_node`` (layers/recurrent.py) adds one :class:`RecurrentRecord` per direction of
each fused node it writes; ``export_model`` keeps those whose node survives pruning, in
``ExportResult.recurrent``. Nothing has to guess the exporter's names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RecurrentRecord:
    """One Keras direction of a recurrent layer, as written into the ONNX graph."""

    layer: str  # the Keras layer (a keras.layers.RNN's cell k: "<rnn>_cell<k>" when stacked)
    direction: str  # Keras's: "forward", or "backward" in a Bidirectional
    node: str  # the ONNX node's name
    op_type: str  # "LSTM", "GRU" or "RNN"
    initializers: dict[str, str]  # "W", "R", "B" -> initializer names
    index: int  # this direction's position on the initializers' leading (direction) axis
    node_direction: str  # the node's direction attribute: "forward" or "bidirectional"
    attributes: dict[str, Any] = field(default_factory=dict)  # linear_before_reset, ...
    # A masked LSTM whose cell state is kept reads one more input column, the padding
    # flag (recurrent.hold_on_padding): W's last column is not a Keras weight.
    padding_flag: bool = False

    @property
    def runs(self) -> str:
        """How the node runs this direction: "forward" or "reverse"."""
        if self.node_direction == "bidirectional":
            return "reverse" if self.index == 1 else "forward"
        return self.node_direction
