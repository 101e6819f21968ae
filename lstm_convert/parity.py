"""Parity: run onnxruntime and the NumPy Keras reference on the same inputs, compare."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .check_budget import DEFAULT_BATCH, DEFAULT_STEPS, size_check
from .errors import InputFileError
from .export.context import StateIO
from .model import KerasModel
from .options import DEFAULT_ATOL, DEFAULT_RTOL
from .reference import run_reference
from .results import OutputParity, ParityReport
from .threads import blas_threads, session_threads

DEFAULT_TOLERANCE = DEFAULT_ATOL  # the historical name: the absolute part of the tolerance
# The built-in check needs a small batch only; a model fixing enormous shapes is refused
# rather than allocated (pass --no-verify, or verify on your own --inputs).
MAX_PARITY_VALUES = 2**24


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
    model: KerasModel, seed: int = 0, batch: int | None = None, steps: int | None = None
) -> list[np.ndarray]:
    """Seeded inputs matching the model's input shapes (token ids for Embedding inputs).

    Without ``batch`` and ``steps`` they are sized to the model, within the check's memory
    and time budget (:mod:`lstm_convert.check_budget`); past it, InputFileError.
    """
    rng = np.random.default_rng(seed)
    batch_shapes = [list(model.layer(ref.layer).config["batch_shape"]) for ref in model.inputs]
    if batch is None and steps is None:
        sized = size_check(model, batch_shapes)
        batch, steps = sized.batch, sized.steps
    batch, steps = batch or DEFAULT_BATCH, steps or DEFAULT_STEPS
    arrays = []
    for ref, shape in zip(model.inputs, batch_shapes, strict=True):
        config = model.layer(ref.layer).config
        shape[0] = shape[0] if isinstance(shape[0], int) else batch
        shape = [d if isinstance(d, int) else steps for d in shape]
        if int(np.prod(shape, dtype=np.float64)) > MAX_PARITY_VALUES:
            raise InputFileError(
                f"input {ref.layer!r} of shape {shape} is too large for the parity check "
                "(pass verify=False, or verify with your own inputs=FILE.npz)"
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


def run_onnx(
    model_source: bytes | str, feeds: dict[str, np.ndarray], threads: int | None = None
) -> list[np.ndarray]:
    """One run of a fresh session, with ``threads`` intra-op threads (None: the process's
    budget, see :mod:`lstm_convert.threads`, else onnxruntime's default of every core)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    # One run per session: prepacking the weights would only cost time and memory, and
    # threads spinning after the run would only take the CPU from other workers.
    options.add_session_config_entry("session.disable_prepacking", "1")
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    threads = threads if threads is not None else session_threads()
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    session = ort.InferenceSession(model_source, options, providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


# The reference's weight products have batch x steps rows (28 at most with the check's own
# inputs): reading the weights bounds them, not arithmetic, so a second BLAS thread saves
# little, and on a busy machine each product waits for whichever thread was descheduled
# (6-9x slower at a load of 5 on 2 cores: 35 MB model 67 ms with one thread, 440-620 ms
# with two; 235 MB model 0.43 s against 1.05 s). onnxruntime keeps every core.
REFERENCE_BLAS_THREADS = 1


def reference_outputs(model: KerasModel, inputs: list[np.ndarray], initial: dict):
    """``run_reference`` on :data:`REFERENCE_BLAS_THREADS` BLAS threads."""
    with blas_threads(REFERENCE_BLAS_THREADS):
        return run_reference(model, inputs, initial)


@dataclass
class ParityCase:
    """Inputs for onnxruntime and what Keras's equations say it must return."""

    feeds: dict[str, np.ndarray]
    expected: list[np.ndarray]
    source: str = "random"
    inputs: list[np.ndarray] = field(default_factory=list)  # the model's own inputs
    initial: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    stored_outputs: dict[str, np.ndarray] = field(default_factory=dict)  # from the user's .npz


def reference_case(
    model: KerasModel,
    input_names: list[str],
    states: list[StateIO] | None = None,
    inputs: list[np.ndarray] | None = None,
    seed: int = 0,
    source: str = "random",
    stored: dict[str, np.ndarray] | None = None,
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
    expected, finals = reference_outputs(model, inputs, initial)
    expected += [finals[(s.layer, s.label)] for s in states]
    return ParityCase(feeds, expected, source, list(inputs), initial, dict(stored or {}))


def compare_onnx(
    case: ParityCase,
    onnx_source: bytes | str,
    output_names: list[str],
    atol: float = DEFAULT_ATOL,
    rtol: float = DEFAULT_RTOL,
    runner=None,
) -> ParityReport:
    """``runner`` runs onnxruntime (default ``run_onnx``; ``verify`` passes a sandboxed one)."""
    got = (runner or run_onnx)(onnx_source, case.feeds)
    report = ParityReport(atol=atol, rtol=rtol, source=case.source)
    for name, actual, reference in zip(output_names, got, case.expected, strict=True):
        report.outputs.append(compare(name, actual, reference, atol, rtol))
    for position, (name, actual) in enumerate(zip(output_names, got, strict=True)):
        stored = case.stored_outputs.get(name, case.stored_outputs.get(f"output_{position}"))
        if stored is not None:
            report.expected.append(compare(name, actual, stored, atol, rtol, "expected"))
    return report


def check_parity(
    model: KerasModel,
    onnx_source: bytes | str,
    input_names: list[str],
    output_names: list[str],
    states: list[StateIO] | None = None,
    inputs: list[np.ndarray] | None = None,
    atol: float = DEFAULT_ATOL,
    rtol: float = DEFAULT_RTOL,
    seed: int = 0,
    source: str = "random",
    stored: dict[str, np.ndarray] | None = None,
) -> ParityReport:
    case = reference_case(model, input_names, states, inputs, seed, source, stored)
    return compare_onnx(case, onnx_source, output_names, atol, rtol)


def compare(
    name: str,
    actual: np.ndarray,
    expected: np.ndarray,
    atol: float = DEFAULT_ATOL,
    rtol: float = DEFAULT_RTOL,
    against: str = "reference",
) -> OutputParity:
    """``|actual - expected| <= atol + rtol * |expected|`` element by element, as
    np.allclose; NaN where both sides are NaN counts as agreement."""
    expected = np.asarray(expected)
    if actual.shape != expected.shape:
        problem = f"shape {list(actual.shape)}, Keras gives {list(expected.shape)}"
        return OutputParity(name, list(actual.shape), float("inf"), float("inf"), against, problem)
    actual = actual.astype(np.float64)
    expected = expected.astype(np.float64)
    both_nan = np.isnan(actual) & np.isnan(expected)
    with np.errstate(invalid="ignore"):
        diff = np.where(both_nan, 0.0, np.abs(actual - expected))
        allowed = atol + rtol * np.where(both_nan, 0.0, np.abs(expected))
    if not np.isfinite(diff).all():
        return OutputParity(
            name, list(actual.shape), float("inf"), float("inf"), against, "NaN or Inf"
        )
    if not diff.size:
        return OutputParity(name, list(actual.shape), 0.0, 0.0, against)
    return OutputParity(
        name, list(actual.shape), float(diff.max()), float((diff / allowed).max()), against
    )


# A few float32 ulps: how far the inputs move to measure the reference's own sensitivity.
PERTURBATION_ULPS = 4


def perturbed(inputs: list[np.ndarray], seed: int) -> list[np.ndarray]:
    """Float inputs moved by a few float32 ulps each (random sign); token ids unchanged."""
    rng = np.random.default_rng(seed + 7)
    moved = []
    for x in inputs:
        if x.dtype.kind != "f":
            moved.append(x)
            continue
        step = np.spacing(np.abs(x).astype(np.float32)).astype(np.float64) * PERTURBATION_ULPS
        moved.append((x + rng.choice([-1.0, 1.0], size=x.shape) * step).astype(x.dtype))
    return moved


def reference_sensitivity(
    model: KerasModel, case: ParityCase, atol: float, rtol: float, seed: int = 0
) -> float | None:
    """The reference's own movement under a few-ulp input change, in units of the
    tolerance (None when no input is a float: token ids cannot move by an ulp)."""
    if not any(x.dtype.kind == "f" for x in case.inputs):
        return None
    moved, _ = reference_outputs(model, perturbed(case.inputs, seed), case.initial)
    worst = 0.0
    for before, after in zip(case.expected, moved, strict=False):
        allowed = atol + rtol * np.abs(before)
        with np.errstate(invalid="ignore"):
            ratio = np.abs(after - before) / allowed
        if ratio.size:
            worst = max(worst, float(np.nanmax(ratio)))
    return worst
