"""What a conversion reports: plain dataclasses, importable without NumPy or onnx.

``batch``'s parent process unpickles its workers' results with nothing heavier than this
module (the converter itself is imported by the workers only). The numbers in them are
plain Python floats, never NumPy scalars, for the same reason.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .defaults import DEFAULT_ATOL, DEFAULT_RTOL


@dataclass
class LayerReport:
    """One Keras layer and the ONNX nodes it became: their names, recorded as the layer
    is converted, and their op types, filled in once unused nodes are pruned."""

    name: str
    class_name: str
    node_names: list[str] = field(default_factory=list)
    onnx_ops: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON record of a layer (``convert --json``, ``batch --json``)."""
        return {"name": self.name, "class_name": self.class_name, "onnx_ops": self.onnx_ops}


@dataclass
class OutputParity:
    """One output compared against one expectation (the reference, or the user's file)."""

    name: str
    shape: list[int]
    max_abs_error: float
    # Largest |onnx - expected| / (atol + rtol * |expected|): the check passes at <= 1.
    worst_ratio: float = 0.0
    against: str = "reference"  # "reference" or "expected" (outputs stored in --inputs)
    problem: str | None = None  # why the output could not be compared (shape, NaN)

    @property
    def passed(self) -> bool:
        return self.problem is None and self.worst_ratio <= 1.0


@dataclass
class ParityReport:
    atol: float = DEFAULT_ATOL
    rtol: float = DEFAULT_RTOL
    outputs: list[OutputParity] = field(default_factory=list)
    source: str = "random"  # "random" (seeded) or the path of the user's inputs
    # Outputs compared against the expected outputs stored in the user's .npz.
    expected: list[OutputParity] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # name mismatches and such
    # How far the reference itself moves when the inputs move by a few float32 ulps,
    # relative to the tolerance (> 1: ill-conditioned); measured only after a failure.
    sensitivity: float | None = None

    @property
    def tolerance(self) -> float:
        return self.atol

    @property
    def max_abs_error(self) -> float:
        return max((o.max_abs_error for o in self.outputs + self.expected), default=0.0)

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outputs + self.expected)

    @property
    def ill_conditioned(self) -> bool:
        return self.sensitivity is not None and self.sensitivity > 1.0

    def describe_tolerance(self) -> str:
        return f"atol {self.atol:g} + rtol {self.rtol:g}·|keras|"


@dataclass
class ConvertResult:
    input: str
    output: str | None
    status: str  # "ok" or "failed"; in a batch also "skipped" (--fail-fast)
    error: str | None = None
    max_abs_error: float | None = None
    seconds: float = 0.0
    layers: list[LayerReport] = field(default_factory=list)
    parity: ParityReport | None = None
    format: str | None = None
    keras_version: str | None = None
    external_data: str | None = None
    notes: list[str] = field(default_factory=list)
    # Constructs some mainstream runtime is known to compute wrongly or refuse
    # (see portability.py); the CLI prints each as one line on stderr.
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["layers"] = [layer.to_dict() for layer in self.layers]
        if self.parity is not None:
            data["parity"]["max_abs_error"] = self.parity.max_abs_error
            data["parity"]["passed"] = self.parity.passed
        return data
