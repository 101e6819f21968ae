"""The Python API. The CLI is a thin layer over these functions."""

from __future__ import annotations

import contextlib
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .batch import BatchResult, convert_many
from .errors import ConvertError, InputFileError, ParityError, WeightsError
from .export import ExportResult, export_model
from .export.context import DEFAULT_OPSET, ConvertOptions, LayerReport
from .model import KerasModel
from .outputs import (
    atomic_target,
    check_output_path,
    default_output,
    external_data_path,
    staged_external_model,
)
from .parity import (
    DEFAULT_TOLERANCE,
    ParityReport,
    compare_onnx,
    reference_case,
)
from .readers import read_model
from .readers.guard import probe
from .sandbox import refuse_unbounded_ops, run_onnx_sandboxed
from .user_inputs import load_inputs
from .weightspec import weight_names


def explain(path: str | Path, layer: str | None = None, bias_split: str = "wb") -> Any:
    """Where every gate and bias of each recurrent layer goes (see ``explanation.py``)."""
    from .explanation import explain as explain_file

    return explain_file(path, layer=layer, bias_split=bias_split)


def __getattr__(name: str) -> Any:
    # explanation.py is imported on demand so the plain ``convert`` path stays light.
    if name == "ExplainResult":
        from .explanation import ExplainResult

        return ExplainResult
    raise AttributeError(name)


__all__ = [
    "BatchResult",
    "ConvertResult",
    "InspectResult",
    "convert",
    "convert_many",
    "explain",
    "inspect",
    "load",
    "verify",
]


@dataclass
class ConvertResult:
    input: str
    output: str | None
    status: str  # "ok" or "failed"
    error: str | None = None
    max_abs_error: float | None = None
    seconds: float = 0.0
    layers: list[LayerReport] = field(default_factory=list)
    parity: ParityReport | None = None
    format: str | None = None
    keras_version: str | None = None
    external_data: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.parity is not None:
            data["parity"]["max_abs_error"] = self.parity.max_abs_error
            data["parity"]["passed"] = self.parity.passed
        return data


@contextlib.contextmanager
def untrusted_input(path: str | Path, what: str):
    """Everything derived from a file is untrusted: whatever h5py, zipfile, json, onnx or
    onnxruntime raise while handling it becomes one InputFileError, so only our own
    error types ever reach the caller."""
    try:
        yield
    except ConvertError:
        raise
    except MemoryError:
        raise InputFileError(f"{path}: {what} (it needs more memory than is available)") from None
    except Exception as exc:
        text = str(exc).strip().splitlines()
        detail = f"{exc.__class__.__name__}: {text[0][:200]}" if text else exc.__class__.__name__
        raise InputFileError(f"{path}: {what} ({detail})") from exc


def load(
    path: str | Path, allow_nonfinite: bool = False, config_path: str | Path | None = None
) -> KerasModel:
    """Read a Keras file into the neutral model, refusing non-finite weights by default."""
    with untrusted_input(path, "damaged or not a Keras model"):
        probe(str(path), str(config_path) if config_path else None)
        model = read_model(path, config_path)
    if not allow_nonfinite:
        for layer in model.iter_layers():
            for array in layer.weights:
                if array.dtype.kind == "f" and not np.isfinite(array).all():
                    raise WeightsError(
                        f"layer {layer.name!r} has NaN or Inf weights "
                        "(pass --allow-nonfinite --no-verify to convert anyway)"
                    )
    return model


# A protobuf cannot exceed 2 GB; switch to external data well before that.
EXTERNAL_DATA_THRESHOLD = int(1.8 * 1024**3)


def release_weights(model: KerasModel) -> None:
    for layer in model.iter_layers():
        layer.weights = []


def build_onnx(model: KerasModel, options: ConvertOptions) -> ExportResult:
    with untrusted_input(model.source.path, "the model config is malformed or inconsistent"):
        return export_model(model, options)


def convert(
    input_path: str | Path,
    output_path: str | Path | None = None,
    *,
    bias_split: str = "wb",
    opset: int = DEFAULT_OPSET,
    verify: bool = True,
    tolerance: float = DEFAULT_TOLERANCE,
    force: bool = False,
    state_io: bool = False,
    allow_nonfinite: bool = False,
    config_path: str | Path | None = None,
    external_data: bool = False,
    external_data_threshold: int = EXTERNAL_DATA_THRESHOLD,
    seed: int = 0,
) -> ConvertResult:
    """Convert one Keras file to ONNX; with ``verify``, prove parity before writing.

    ``config_path`` pairs a weights-only file with its architecture. ``external_data``
    stores the weights in ``<output>.data``; it switches on by itself when the weights
    would exceed ``external_data_threshold`` bytes. Raises a
    :class:`~lstm_convert.errors.ConvertError` subclass on failure; on a parity
    mismatch (:class:`ParityError`) no output file is left behind.
    """

    started = time.perf_counter()
    output = Path(output_path) if output_path is not None else default_output(input_path)
    check_output_path(input_path, output, force)
    model = load(input_path, allow_nonfinite, config_path)
    options = ConvertOptions(bias_split=bias_split, opset=opset, state_io=state_io)  # type: ignore[arg-type]
    exported = build_onnx(model, options)
    result = ConvertResult(
        input=str(input_path),
        output=str(output),
        status="ok",
        layers=exported.layers,
        format=model.source.format,
        keras_version=model.source.keras_version,
        notes=list(exported.notes),
    )

    input_names, output_names, states = (
        exported.input_names,
        exported.output_names,
        exported.states,
    )

    def check(staged: Path) -> None:
        """Parity on the written file itself, loaded by path (which also works past
        protobuf's 2 GB limit). onnxruntime validates the graph, types and shapes as it
        loads it; the test suite also holds every fixture's graph to
        ``onnx.checker.check_model(full_check=True)``."""
        if not verify:
            return
        with untrusted_input(input_path, "the converted model cannot be run"):
            case = reference_case(model, input_names, states, seed=seed)
            # The reference is done: free the Keras arrays before onnxruntime loads its
            # own copy of the weights (peak memory is the larger of the two phases).
            release_weights(model)
            report = compare_onnx(case, str(staged), output_names, tolerance)
        result.parity = report
        result.max_abs_error = report.max_abs_error
        if not report.passed:
            raise ParityError(
                f"{input_path}: ONNX output differs from Keras by "
                f"{report.max_abs_error:.3g} (tolerance {tolerance:g}); nothing was written"
            )

    if external_data or exported.weight_bytes() > external_data_threshold:
        with staged_external_model(output, exported.model, force, input_path) as staged:
            check(staged)
        if external_data_path(output).exists():
            result.external_data = str(external_data_path(output))
    else:
        with atomic_target(output, force) as temp_path:
            exported.write(temp_path)
            del exported  # the arrays now live in the file; free them before onnxruntime
            check(temp_path)
    result.seconds = time.perf_counter() - started
    return result


def verify(
    keras_path: str | Path,
    onnx_path: str | Path,
    *,
    inputs: str | Path | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    seed: int = 0,
    allow_nonfinite: bool = False,
    config_path: str | Path | None = None,
) -> ParityReport:
    """Check an existing Keras/ONNX pair, on the user's inputs (.npz) when given."""
    import onnx

    model = load(keras_path, allow_nonfinite, config_path)
    onnx_file = Path(onnx_path)
    if not onnx_file.is_file():
        raise InputFileError(f"{onnx_file}: no such file")
    try:
        proto = onnx.load(str(onnx_file), load_external_data=False)
    except Exception as exc:  # onnx raises DecodeError and friends
        raise InputFileError(f"{onnx_file}: not an ONNX model ({exc.__class__.__name__})") from None
    refuse_unbounded_ops(proto, str(onnx_file))
    initializer_names = {init.name for init in proto.graph.initializer}
    input_names = [i.name for i in proto.graph.input if i.name not in initializer_names]
    output_names = [o.name for o in proto.graph.output]
    with untrusted_input(keras_path, "the model config is malformed or inconsistent"):
        states = _states_from_graph(model, input_names, output_names)
    arrays = (
        load_inputs(inputs, [n for n in input_names if n not in {s.input_name for s in states}])
        if inputs
        else None
    )
    source = str(inputs) if inputs else "random"
    with untrusted_input(onnx_file, "the ONNX model cannot be run on this Keras model's inputs"):
        case = reference_case(model, input_names, states, arrays, seed, source)
        return compare_onnx(
            case, str(onnx_file), output_names, tolerance, runner=run_onnx_sandboxed
        )


def _states_from_graph(model: KerasModel, input_names: list[str], output_names: list[str]):
    """Recover --state-io pairs from a converted graph by re-exporting with state_io."""
    if len(input_names) == len(model.inputs):
        return []
    exported = export_model(model, ConvertOptions(state_io=True))
    known = set(input_names)
    return [s for s in exported.states if s.input_name in known]


@dataclass
class LayerInfo:
    name: str
    class_name: str
    weights: list[list[int]]
    options: dict[str, Any]


@dataclass
class InspectResult:
    path: str
    format: str
    keras_version: str
    model_class: str
    model_name: str
    inputs: list[dict[str, Any]]
    layers: list[LayerInfo]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


SHOWN_OPTIONS = (
    "units",
    "return_sequences",
    "return_state",
    "go_backwards",
    "stateful",
    "activation",
    "recurrent_activation",
    "use_bias",
    "reset_after",
    "merge_mode",
    "mask_zero",
    "unroll",
    "time_major",
    "dropout",
    "recurrent_dropout",
    # Layers around recurrent ones
    "filters",
    "kernel_size",
    "strides",
    "padding",
    "dilation_rate",
    "groups",
    "pool_size",
    "epsilon",
    "num_heads",
    "key_dim",
    "score_mode",
    "use_scale",
)


def inspect(path: str | Path, config_path: str | Path | None = None) -> InspectResult:
    """Describe a Keras file: format, Keras version, and each layer with shapes and options."""
    model = load(path, allow_nonfinite=True, config_path=config_path)
    layers = []
    for layer in model.iter_layers():
        config = layer.config
        if layer.class_name == "Bidirectional":
            config = {**config["layer"]["config"], **config}
        options = {k: config[k] for k in SHOWN_OPTIONS if k in config}
        if layer.class_name == "InputLayer":
            options = {"batch_shape": config["batch_shape"], "dtype": config.get("dtype")}
        names = weight_names(layer.class_name, layer.config)
        if names is not None and names:
            options["weights"] = names
        layers.append(
            LayerInfo(layer.name, layer.class_name, [list(w.shape) for w in layer.weights], options)
        )
    inputs = [{"name": ref.layer, **model.layer(ref.layer).config} for ref in model.inputs]
    return InspectResult(
        path=str(path),
        format=model.source.format,
        keras_version=model.source.keras_version,
        model_class=model.class_name,
        model_name=model.name,
        inputs=inputs,
        layers=layers,
    )
