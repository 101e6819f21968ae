"""Parity: run onnxruntime and the NumPy Keras reference on the same inputs, compare."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import InputFileError
from .export.context import StateIO
from .model import KerasModel
from .reference import run_reference

DEFAULT_TOLERANCE = 1e-4
# The built-in check needs a small batch only; a model fixing enormous shapes is refused
# rather than allocated (pass --no-verify, or verify on your own --inputs).
MAX_PARITY_VALUES = 2**24
DEFAULT_BATCH = 4
DEFAULT_STEPS = 7


@dataclass
class OutputParity:
    name: str
    shape: list[int]
    max_abs_error: float


@dataclass
class ParityReport:
    tolerance: float
    outputs: list[OutputParity] = field(default_factory=list)
    source: str = "random"  # "random" (seeded) or the path of the user's inputs

    @property
    def max_abs_error(self) -> float:
        return max((o.max_abs_error for o in self.outputs), default=0.0)

    @property
    def passed(self) -> bool:
        return all(np.isfinite(o.max_abs_error) for o in self.outputs) and (
            self.max_abs_error <= self.tolerance
        )


def _embedding_sizes(model: KerasModel, input_layer: str) -> list[int]:
    """Vocabulary sizes of the Embeddings an input feeds (token ids must index them all)."""
    return [
        int(layer.config.get("input_dim", layer.weights[0].shape[0]))
        for layer in model.iter_layers()
        if layer.class_name == "Embedding"
        and any(ref.layer == input_layer for call in layer.calls for ref in call.inputs)
    ]


def padding_pattern(batch: int, steps: int) -> np.ndarray:
    """Which steps to pad, row by row: post-padding, pre-padding, gaps, an empty row.

    Keras's pad_sequences pads at the front by default; masks must be exact for all of
    these, so the built-in check feeds every one of them.
    """
    padded = np.zeros((batch, steps), dtype=bool)
    cut = max(1, steps // 3)
    patterns = [
        lambda row: row.__setitem__(slice(steps - cut, steps), True),  # post
        lambda row: row.__setitem__(slice(0, cut), True),  # pre
        lambda row: row.__setitem__(slice(1, steps, 2), True),  # gaps
        lambda row: row.__setitem__(slice(0, steps), True),  # entirely masked
    ]
    for index in range(batch):
        patterns[index % len(patterns)](padded[index])
    return padded


def _masking_value(model: KerasModel) -> float | None:
    for layer in model.iter_layers():
        if layer.class_name == "Masking":
            return float(layer.config.get("mask_value", 0.0))
    return None


def random_inputs(
    model: KerasModel, seed: int = 0, batch: int = DEFAULT_BATCH, steps: int = DEFAULT_STEPS
) -> list[np.ndarray]:
    """Seeded inputs matching the model's input shapes (token ids for Embedding inputs)."""
    rng = np.random.default_rng(seed)
    arrays = []
    for ref in model.inputs:
        config = model.layer(ref.layer).config
        shape = list(config["batch_shape"])
        shape[0] = shape[0] if isinstance(shape[0], int) else batch
        shape = [d if isinstance(d, int) else steps for d in shape]
        if int(np.prod(shape, dtype=np.float64)) > MAX_PARITY_VALUES:
            raise InputFileError(
                f"input {ref.layer!r} of shape {shape} is too large for the parity check "
                "(use --no-verify, or verify with your own --inputs)"
            )
        dtype = config.get("dtype", "float32")
        padded = padding_pattern(shape[0], shape[1]) if len(shape) >= 2 else None
        vocabularies = _embedding_sizes(model, ref.layer)
        if dtype == "bool":  # an explicit mask input: every padding pattern
            arrays.append(~padded if padded is not None else np.ones(shape, bool))
        elif dtype in ("int32", "int64") or vocabularies:
            vocab = min(vocabularies, default=10)
            ids = rng.integers(1 if vocab > 1 else 0, vocab, size=shape)
            if padded is not None and len(shape) == 2:
                ids[padded] = 0  # token 0 is what mask_zero and not_equal(x, 0) mask
            arrays.append(ids.astype(dtype if dtype in ("int32", "int64") else "float32"))
        else:
            values = rng.normal(0.0, 1.0, size=shape)
            values = values.astype(np.float64 if dtype == "float64" else np.float32)
            mask_value = _masking_value(model)
            if mask_value is not None and padded is not None and len(shape) == 3:
                values[padded] = mask_value
            arrays.append(values)
    return arrays


def random_states(states: list[StateIO], batch: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed + 1)
    return [rng.normal(0.0, 0.5, size=(batch, s.units)).astype(np.float32) for s in states]


def run_onnx(model_source: bytes | str, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    # One run per session: prepacking the weights would only cost time and memory.
    options.add_session_config_entry("session.disable_prepacking", "1")
    session = ort.InferenceSession(model_source, options, providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


@dataclass
class ParityCase:
    """Inputs for onnxruntime and what Keras's equations say it must return."""

    feeds: dict[str, np.ndarray]
    expected: list[np.ndarray]
    source: str = "random"


def reference_case(
    model: KerasModel,
    input_names: list[str],
    states: list[StateIO] | None = None,
    inputs: list[np.ndarray] | None = None,
    seed: int = 0,
    source: str = "random",
) -> ParityCase:
    """Seeded (or given) inputs and the NumPy reference's outputs for them.

    Computed before onnxruntime runs, so a caller can free the Keras weights first.
    """
    states = states or []
    if inputs is None:
        inputs = random_inputs(model, seed)
    model_input_names = [n for n in input_names if n not in {s.input_name for s in states}]
    if len(inputs) != len(model_input_names):
        raise InputFileError(
            f"the model takes {len(model_input_names)} inputs, {len(inputs)} were given"
        )
    batch = int(inputs[0].shape[0]) if inputs and inputs[0].ndim else DEFAULT_BATCH
    state_values = random_states(states, batch, seed)
    feeds = dict(zip(model_input_names, inputs, strict=True))
    feeds.update({s.input_name: v for s, v in zip(states, state_values, strict=True)})
    initial = {(s.layer, s.label): v for s, v in zip(states, state_values, strict=True)}
    expected, finals = run_reference(model, inputs, initial)
    expected += [finals[(s.layer, s.label)] for s in states]
    return ParityCase(feeds, expected, source)


def compare_onnx(
    case: ParityCase,
    onnx_source: bytes | str,
    output_names: list[str],
    tolerance: float = DEFAULT_TOLERANCE,
    runner=None,
) -> ParityReport:
    """``runner`` runs onnxruntime (default ``run_onnx``; ``verify`` passes a sandboxed one)."""
    got = (runner or run_onnx)(onnx_source, case.feeds)
    report = ParityReport(tolerance=tolerance, source=case.source)
    for name, actual, reference in zip(output_names, got, case.expected, strict=True):
        report.outputs.append(compare(name, actual, reference))
    return report


def check_parity(
    model: KerasModel,
    onnx_source: bytes | str,
    input_names: list[str],
    output_names: list[str],
    states: list[StateIO] | None = None,
    inputs: list[np.ndarray] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    seed: int = 0,
    source: str = "random",
) -> ParityReport:
    case = reference_case(model, input_names, states, inputs, seed, source)
    return compare_onnx(case, onnx_source, output_names, tolerance)


def compare(name: str, actual: np.ndarray, expected: np.ndarray) -> OutputParity:
    """Max absolute difference; NaN where both sides are NaN counts as agreement."""
    if actual.shape != expected.shape:
        return OutputParity(name, list(actual.shape), float("inf"))
    actual = actual.astype(np.float64)
    both_nan = np.isnan(actual) & np.isnan(expected)
    with np.errstate(invalid="ignore"):
        diff = np.where(both_nan, 0.0, np.abs(actual - expected))
    if not np.isfinite(diff).all():
        return OutputParity(name, list(actual.shape), float("inf"))
    return OutputParity(name, list(actual.shape), float(diff.max()) if diff.size else 0.0)
