"""The Python API. The CLI is a thin layer over these functions."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .background import Background
from .defaults import (
    DEFAULT_ATOL,
    DEFAULT_BIAS_SPLIT,
    DEFAULT_OPSET,
    DEFAULT_RTOL,
    DEFAULT_TOKEN_DTYPE,
)
from .errors import (
    ConvertError,
    InputFileError,
    OutputPathError,
    ParityError,
    WeightsError,
    internal_error,
    read_error,
    runtime_detail,
)
from .export import ExportResult, export_model
from .export.context import ConvertOptions
from .export.interface import (
    add_metadata,
    background_source_metadata,
    declared_dtypes,
    feeds_as_declared,
    fill_metadata,
    parity_metadata,
    pending_source_metadata,
)
from .export.serialize import append_metadata, sync_file
from .model import KerasModel
from .options import PER_FILE_OPTIONS, check_options, check_token_dtype
from .options import check_file_options as check_file_options  # re-exported
from .outputs import (
    atomic_target,
    check_output_path,
    default_output,
    external_data_path,
    staged_external_model,
)
from .parity import (
    PERTURBATION_ULPS,
    ParityCase,
    ParityReport,
    compare_onnx,
    reference_case,
    reference_sensitivity,
)
from .portability import portability_warning
from .readers import read_model, sniff
from .readers.guard import probe
from .results import ConvertResult
from .safe_text import visible
from .sandbox import refuse_unbounded_ops, run_onnx_sandboxed
from .threads import with_threads
from .user_inputs import load_inputs
from .weightspec import weight_names

if TYPE_CHECKING:
    from .explain import ExplainResult


def explain(
    path: str | Path,
    layer: str | None = None,
    bias_split: str = DEFAULT_BIAS_SPLIT,
    *,
    numpy: bool = False,
    export_svg: str | Path | None = None,
    export_html: str | Path | None = None,
    width: int | None = None,
    force: bool = False,
    config_path: str | Path | None = None,
) -> ExplainResult:
    """Where every gate and bias of each recurrent layer goes, read from what the
    exporter writes (see ``lstm_convert/explain/``). ``config_path`` pairs a weights-only
    file with its architecture, as for :func:`convert`.

    ``numpy=True`` adds ``result.numpy``, one Keras step of ``layer`` in plain NumPy
    (``layer`` is then required when the model has several recurrent layers).
    ``export_svg`` / ``export_html`` also save the rendering, ``width`` columns wide
    (default 120), refusing to overwrite a file unless ``force=True``.
    """
    from .explain import explain_model, numpy_snippet
    from .explain.svg import EXPORT_WIDTH, save_exports
    from .options import check_bias_split

    check_bias_split(bias_split)
    with bugs_reported():
        exports = _explain_exports(path, export_svg, export_html, force)
        model = load(path, config_path=config_path)
        result = explain_model(model, layer, bias_split)
        if numpy:
            result.numpy = numpy_snippet(model, layer)
        if exports:
            title = visible(f"lstm-convert explain {Path(path).name}")
            save_exports(result, exports, width or EXPORT_WIDTH, title, force)
        return result


def _explain_exports(
    path: str | Path, svg: str | Path | None, html: str | Path | None, force: bool
) -> list[tuple[Path, str]]:
    """The (path, kind) files to write, each checked before any work is done."""
    exports = [(Path(p), kind) for p, kind in ((svg, "svg"), (html, "html")) if p is not None]
    for target, _ in exports:
        check_output_path(path, target, force)
    if len(exports) == 2 and exports[0][0] == exports[1][0]:
        raise OutputPathError(f"{svg}: given as both the SVG and the HTML export")
    return exports


def __getattr__(name: str) -> Any:
    # explain/ is imported on demand so the plain ``convert`` path stays light.
    if name == "ExplainResult":
        from .explain import ExplainResult

        return ExplainResult
    raise AttributeError(name)


# convert_many and BatchResult live in lstm_convert.batch, which builds on this module.
__all__ = [
    "ConvertResult",
    "InspectResult",
    "convert",
    "explain",
    "inspect",
    "load",
    "verify",
]


@contextlib.contextmanager
def reading(path: str | Path, what: str):
    """The reading boundary: library errors raised while a file is read are the file's."""
    try:
        yield
    except ConvertError:
        raise
    except Exception as exc:
        raise read_error(path, what, exc) from exc


@contextlib.contextmanager
def bugs_reported():
    """Anything that is not one of our errors is a bug: exit 3, never blamed on the input."""
    try:
        yield
    except ConvertError:
        raise
    except Exception as exc:
        raise internal_error(exc) from exc


NONFINITE_HINT = "pass allow_nonfinite=True and verify=False to convert anyway"


def load(
    path: str | Path,
    allow_nonfinite: bool = False,
    config_path: str | Path | None = None,
    *,
    nonfinite_hint: str = NONFINITE_HINT,
    after_probe: Callable[[], None] | None = None,
) -> KerasModel:
    """Read a Keras file into the neutral model, refusing non-finite weights by default
    (the error ends with ``nonfinite_hint``). ``after_probe`` is called once the forked
    read probe is done, before the read (threads may start then: none is forked)."""
    with bugs_reported():
        with reading(path, "damaged or not a Keras model"):
            probe(str(path), str(config_path) if config_path else None)
            if after_probe is not None:
                after_probe()
            model = read_model(path, config_path)
        for layer in model.iter_layers():
            for array in layer.weights:
                # Read-only from here: the check's reference reads the very arrays the
                # converter reads, so a converter that wrote into them in place would move
                # both alike; it raises instead.
                array.flags.writeable = False
                if not allow_nonfinite and array.dtype.kind == "f" and not all_finite(array):
                    raise WeightsError(
                        f"{path}: layer {layer.name!r} has NaN or Inf weights ({nonfinite_hint})"
                    )
        return model


def all_finite(array: np.ndarray) -> bool:
    """Whether every element of a float array is finite. Its sum is, unless an element
    is NaN or infinite (or the sum overflows: then each element is looked at). The sum
    reads the array once and makes no weight-sized mask."""
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.sum(array)):
            return True
    return bool(np.isfinite(array).all())


# A protobuf cannot exceed 2 GB; switch to external data well before that.
EXTERNAL_DATA_THRESHOLD = int(1.8 * 1024**3)


def release_weights(model: KerasModel) -> None:
    for layer in model.iter_layers():
        layer.weights = []


def build_onnx(
    model: KerasModel, options: ConvertOptions, release_weights: bool = False
) -> ExportResult:
    return export_model(model, options, release_weights)


@with_threads
def convert(
    input_path: str | Path,
    output_path: str | Path | None = None,
    *,
    bias_split: str = DEFAULT_BIAS_SPLIT,
    opset: int = DEFAULT_OPSET,
    verify: bool = True,
    tolerance: float | None = None,
    atol: float = DEFAULT_ATOL,
    rtol: float = DEFAULT_RTOL,
    inputs: str | Path | None = None,
    force: bool = False,
    state_io: bool = False,
    allow_nonfinite: bool = False,
    config_path: str | Path | None = None,
    external_data: bool = False,
    external_data_threshold: int = EXTERNAL_DATA_THRESHOLD,
    seed: int = 0,
    token_dtype: str = DEFAULT_TOKEN_DTYPE,
    progress: Callable[[str], None] | None = None,
) -> ConvertResult:
    """Convert one Keras file to ONNX; with ``verify``, prove parity before writing.

    The check accepts ``|onnx - keras| <= atol + rtol * |keras|`` (``tolerance`` is the
    older name of ``atol``) on seeded random inputs, or on the arrays of ``inputs`` (an
    .npz, keyed as for :func:`verify`). ``config_path`` pairs a weights-only file with its
    architecture. ``external_data`` stores the weights in ``<output>.data``; it switches
    on by itself when the weights would exceed ``external_data_threshold`` bytes.
    ``token_dtype`` (``int64`` or ``int32``) is the dtype of integer inputs (token ids).
    The file's ``metadata_props`` record the source, the options and the check's outcome
    (README, "ONNX interface").
    ``threads=N`` limits NumPy's BLAS and onnxruntime to N threads for this call
    (default: every core, or ``$LSTM_CONVERT_THREADS``). ``progress(phase)`` is called
    as each phase starts: "reading", "building", "writing", "checking". Raises
    a :class:`~lstm_convert.errors.ConvertError` subclass on failure; on a parity
    mismatch (:class:`ParityError`) no output file is left behind.
    """
    atol, rtol = check_options(bias_split, opset, atol if tolerance is None else tolerance, rtol)
    check_token_dtype(token_dtype)
    job = ConvertJob(input_path, config_path, allow_nonfinite, verify, atol, rtol, seed, inputs)
    job.phase = progress or _no_phase
    with bugs_reported():
        return _convert(
            job,
            output_path,
            bias_split,
            opset,
            force,
            state_io,
            external_data,
            external_data_threshold,
            token_dtype,
        )


def per_file_options() -> tuple[str, ...]:
    """convert()'s keyword options that shape one file's conversion: ``convert_many`` (and
    the ``batch`` command) take every one of them."""
    return PER_FILE_OPTIONS


def _no_phase(name: str) -> None:
    """The default ``progress``: nobody is watching."""


@dataclass
class ConvertJob:
    """What the built-in check needs to know about one conversion."""

    input_path: str | Path
    config_path: str | Path | None
    allow_nonfinite: bool
    verify: bool
    atol: float
    rtol: float
    seed: int
    inputs: str | Path | None
    # Told the name of each phase as it starts: reading, building, writing, checking.
    phase: Callable[[str], None] = _no_phase
    # The input (and config) files as they were when first read: the check reads them
    # again, and refuses to vouch for a file that changed in between.
    sources: tuple[tuple[int, ...], ...] = ()


def source_identity(job: ConvertJob) -> tuple[tuple[int, ...], ...]:
    """Device, inode, size and modification time of the job's input and config files."""
    stats = [os.stat(p) for p in (job.input_path, job.config_path) if p is not None]
    return tuple((st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns) for st in stats)


def _convert(
    job: ConvertJob,
    output_path: str | Path | None,
    bias_split: str,
    opset: int,
    force: bool,
    state_io: bool,
    external_data: bool,
    external_data_threshold: int,
    token_dtype: str = DEFAULT_TOKEN_DTYPE,
) -> ConvertResult:
    started = time.perf_counter()
    input_path = job.input_path
    output = Path(output_path) if output_path is not None else default_output(input_path)
    sniff(input_path)  # an ONNX file given as the model is named as such, not overwritten
    check_output_path(input_path, output, force)
    # The input's SHA-256 (for the metadata) is taken while the model is read, built and
    # written; its thread starts after load's forked probe (no fork with threads running).
    with background_source_metadata(input_path, job.config_path) as hashing:
        job.phase("reading")
        job.sources = source_identity(job)
        model = load(input_path, job.allow_nonfinite, job.config_path, after_probe=hashing.start)
        job.phase("building")
        options = ConvertOptions(bias_split, opset, state_io, token_dtype)  # type: ignore[arg-type]
        # Without the check, the export spends the model's weights as it goes. The check
        # keeps them for its reference: the recurrent kernels are written straight from
        # them anyway (remap.RemappedKernel), so keeping them costs no memory there.
        exported = build_onnx(model, options, release_weights=not job.verify)
        # Written as placeholders, filled in once the weights are written (same bytes).
        add_metadata(exported.skeleton, pending_source_metadata(input_path, job.config_path))
        result = _new_result(input_path, output, model, exported)
        check = ParityCheck(job, model, exported, result, started)
        job.phase("writing")
        external = external_data or exported.weight_bytes() > external_data_threshold
        with check.reference_while_writing(), hash_errors_as_raised() as hashes:
            if external:
                fill_metadata(exported.skeleton, hashing.result())
                proto = exported.model
                del exported  # (as below)
                with staged_external_model(output, proto, force, input_path) as staged:
                    check(staged)
                if external_data_path(output).exists():
                    result.external_data = str(external_data_path(output))
            else:
                with atomic_target(output, force) as temp_path:
                    # With the check, its reference takes the second core meanwhile, and
                    # the file is synced while onnxruntime loads it (ParityCheck.check).
                    threads = 1 if job.verify else None
                    fill_in = hashes(hashing)
                    exported.write(temp_path, fill_in, threads, sync=not job.verify)
                    del exported  # the weights now live in the file: free them (see check)
                    check(temp_path)
    result.seconds = time.perf_counter() - started
    return result


def _new_result(
    input_path: str | Path, output: Path, model: KerasModel, exported: ExportResult
) -> ConvertResult:
    """The result of a conversion about to be written (and checked)."""
    result = ConvertResult(
        input=str(input_path),
        output=str(output),
        status="ok",
        layers=exported.layers,
        format=model.source.format,
        keras_version=model.source.keras_version,
        notes=list(exported.notes),
    )
    warning = portability_warning(exported.skeleton)
    if warning is not None:
        result.warnings.append(warning)
    return result


class _HashFailed(Exception):
    """Carries an error of the source hash past the output's own error handling."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


@contextlib.contextmanager
def hash_errors_as_raised() -> Iterator[Callable[[Background], Callable[[], dict[str, str]]]]:
    """The source hash is waited for while the output file is written, where an
    OSError would read as the output's fault: its errors cross that code wrapped, and
    come out of this block as the hash raised them (as when it was taken up front)."""

    def values_of(pending: Background[dict[str, str]]) -> Callable[[], dict[str, str]]:
        def values() -> dict[str, str]:
            try:
                return pending.result()
            except Exception as error:
                raise _HashFailed(error) from None

        return values

    try:
        yield values_of
    except _HashFailed as failed:
        raise failed.error from None


def _parity_metadata(job: ConvertJob, report: ParityReport | None) -> dict[str, str]:
    if report is None:
        return parity_metadata(None, job.atol, job.rtol, "")
    inputs = f"random (seed {job.seed})" if report.source == "random" else Path(report.source).name
    return parity_metadata(report.max_abs_error, report.atol, report.rtol, inputs)


class ParityCheck:
    """Parity on the written file itself, loaded by path (which also works past
    protobuf's 2 GB limit). onnxruntime validates the graph, types and shapes as it
    loads it; the test suite also holds every fixture's graph to
    ``onnx.checker.check_model(full_check=True)``."""

    def __init__(
        self,
        job: ConvertJob,
        model: KerasModel,
        exported: ExportResult,
        result: ConvertResult,
        started: float,
    ) -> None:
        self.job, self.model, self.result, self.started = job, model, result, started
        self.input_names, self.states = exported.input_names, exported.states
        self.output_names = exported.output_names
        self.declared = declared_dtypes(exported.skeleton.graph)
        self.pending: Background[ParityCase] | None = None  # the reference, once started
        state_inputs = {s.input_name for s in self.states}
        model_inputs = [n for n in self.input_names if n not in state_inputs]
        self.user = (
            load_inputs(job.inputs, model_inputs, model, self.output_names)
            if job.verify and job.inputs
            else None
        )

    def __call__(self, staged: Path) -> None:
        """The check, then its outcome in the file's metadata, before it is placed."""
        if self.job.verify:
            self.check(staged)
        append_metadata(staged, _parity_metadata(self.job, self.result.parity))

    @contextlib.contextmanager
    def reference_while_writing(self) -> Iterator[None]:
        """With the check, its NumPy reference runs in a thread while the file is
        written: both only read the Keras arrays (BLAS, copies and file writes let go
        of the GIL), and the reference needs nothing from the written file."""
        if not self.job.verify:
            yield
            return
        with Background("lstm-convert-reference", self.reference) as pending:
            self.pending = pending
            yield

    def reference(self) -> ParityCase:
        """Seeded (or the user's) inputs and what Keras's equations give for them, on the
        model as it was read (the converter only reads its arrays)."""
        job, user = self.job, self.user
        case = reference_case(
            self.model,
            self.input_names,
            self.states,
            user.inputs if user else None,
            seed=job.seed,
            source=str(job.inputs) if user else "random",
            stored=user.outputs if user else None,
        )
        case.feeds = feeds_as_declared(case.feeds, self.declared)
        return case

    def check(self, staged: Path) -> None:
        job, result = self.job, self.result
        job.phase("checking")
        assert self.pending is not None, "check() runs inside reference_while_writing()"
        case = self.pending.result()
        # The reference is done: free the Keras arrays before onnxruntime loads its
        # own copy of the weights (peak memory is the larger of the two phases).
        release_weights(self.model)
        if source_identity(job) != job.sources:
            raise InputFileError(
                f"{visible(job.input_path)} changed while it was being converted; "
                "nothing was written (run again once it stays put)"
            )
        # The written file reaches the disk while onnxruntime loads it from the cache
        # (for an external-data model, a second fsync that costs nothing).
        with Background("lstm-convert-fsync", lambda: sync_file(staged)) as syncing:
            report = compare_onnx(case, str(staged), self.output_names, job.atol, job.rtol)
            syncing.result()
        result.parity = report
        result.max_abs_error = report.max_abs_error
        if not report.passed:
            error = parity_failure(job, report, case)
            # The report travels with the error, so `convert --json` can print it.
            result.status, result.error, result.output = "failed", str(error), None
            result.seconds = time.perf_counter() - self.started
            error.result = result
            raise error


def parity_failure(job: ConvertJob, report: ParityReport, case: ParityCase) -> ParityError:
    """The verdict on a failed check. On random inputs, first ask whether the reference
    itself is stable there: if a few ulps of input move it past the tolerance, no
    float32 engine can match it, and the conversion is not to blame."""
    if report.source == "random" and not all(o.passed for o in report.outputs):
        fresh = load(job.input_path, job.allow_nonfinite, job.config_path)  # weights were freed
        report.sensitivity = reference_sensitivity(fresh, case, job.atol, job.rtol, job.seed)
    tolerance = report.describe_tolerance()
    if report.ill_conditioned:
        return ParityError(
            f"{job.input_path}: this model is ill-conditioned on random inputs: pass "
            f"representative inputs as inputs=FILE.npz (moving the inputs by {PERTURBATION_ULPS} "
            f"float32 ulps moves Keras's own outputs by {report.sensitivity:.3g}x the "
            f"tolerance, {tolerance}; ONNX differs by {report.max_abs_error:.3g}); "
            "nothing was written"
        )
    against = "Keras" if all(o.passed for o in report.expected) else "the expected outputs"
    return ParityError(
        f"{job.input_path}: ONNX output differs from {against} by "
        f"{report.max_abs_error:.3g} (tolerance {tolerance}); nothing was written"
    )


@with_threads
def verify(
    keras_path: str | Path,
    onnx_path: str | Path,
    *,
    inputs: str | Path | None = None,
    tolerance: float | None = None,
    atol: float = DEFAULT_ATOL,
    rtol: float = DEFAULT_RTOL,
    seed: int = 0,
    allow_nonfinite: bool = False,
    config_path: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> ParityReport:
    """Check an existing Keras/ONNX pair, on the user's inputs (.npz) when given.

    An .npz may also hold the expected outputs (``output_0``, ``output_1``... or the ONNX
    output names): the ONNX outputs are then compared with them as well as with the
    reference. Input and output names that differ from this model's conversion are
    reported in ``notes``. ``threads=N`` limits NumPy's BLAS and onnxruntime to N threads
    for this call. ``progress(phase)`` is called as "reading" and "checking" start.
    """
    atol, rtol = check_options(atol=atol if tolerance is None else tolerance, rtol=rtol)
    with bugs_reported():
        return _verify(
            keras_path,
            onnx_path,
            inputs,
            atol,
            rtol,
            seed,
            allow_nonfinite,
            config_path,
            progress or _no_phase,
        )


def _verify(keras_path, onnx_path, inputs, atol, rtol, seed, allow_nonfinite, config_path, phase):
    import onnx

    phase("reading")
    hint = "NaN outputs cannot be compared"
    model = load(keras_path, allow_nonfinite, config_path, nonfinite_hint=hint)
    onnx_file = Path(onnx_path)
    if not onnx_file.is_file():
        raise InputFileError(f"{onnx_file}: no such file")
    with reading(onnx_file, "not an ONNX model"):
        try:
            proto = onnx.load(str(onnx_file), load_external_data=False)
        except Exception as exc:  # protobuf's DecodeError and friends
            raise InputFileError(
                f"{onnx_file}: not an ONNX model ({exc.__class__.__name__})"
            ) from None
    refuse_unbounded_ops(proto, str(onnx_file))
    initializer_names = {init.name for init in proto.graph.initializer}
    input_names = [i.name for i in proto.graph.input if i.name not in initializer_names]
    output_names = [o.name for o in proto.graph.output]
    states = _states_from_graph(model, input_names, output_names)
    model_inputs = [n for n in input_names if n not in {s.input_name for s in states}]
    if len(model_inputs) != len(model.inputs):
        raise InputFileError(
            f"{onnx_file}: takes {len(model_inputs)} inputs, the Keras model {len(model.inputs)}"
        )
    user = load_inputs(inputs, model_inputs, model, output_names) if inputs else None
    phase("checking")
    case = reference_case(
        model,
        input_names,
        states,
        user.inputs if user else None,
        seed=seed,
        source=str(inputs) if inputs else "random",
        stored=user.outputs if user else None,
    )
    case.feeds = feeds_as_declared(case.feeds, declared_dtypes(proto.graph))
    if len(output_names) != len(case.expected):
        raise InputFileError(
            f"{onnx_file}: has {len(output_names)} outputs, the Keras model {len(case.expected)}"
        )
    try:
        report = compare_onnx(
            case, str(onnx_file), output_names, atol, rtol, runner=run_onnx_sandboxed
        )
    except ConvertError:
        raise
    except Exception as exc:  # onnxruntime refusing the user's graph or its inputs
        whose = f"the arrays of {inputs}" if inputs else "this Keras model's inputs"
        raise InputFileError(
            f"{onnx_file}: cannot be run on {whose} ({runtime_detail(exc)})"
        ) from None
    report.notes = name_mismatches(model, states, input_names, output_names)
    return report


def name_mismatches(
    model: KerasModel, states: list, input_names: list[str], output_names: list[str]
) -> list[str]:
    """Where the ONNX's input and output names differ from this model's conversion."""
    exported = export_model(model, ConvertOptions(state_io=bool(states)))
    notes = []
    for kind, given, expected in (
        ("input", input_names, exported.input_names),
        ("output", output_names, exported.output_names),
    ):
        for position, (name, wanted) in enumerate(zip(given, expected, strict=False)):
            if name != wanted:
                notes.append(
                    f"ONNX {kind} {position} is named {name!r}; this Keras model's is {wanted!r}"
                )
    return notes


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
    # The model's outputs: the Keras layer each comes from, and its class.
    outputs: list[dict[str, Any]] = field(default_factory=list)

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
    with bugs_reported():
        return _inspect(path, config_path)


def _inspect(path: str | Path, config_path: str | Path | None) -> InspectResult:
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
    outputs = [
        {"name": ref.layer, "class_name": model.layer(ref.layer).class_name}
        for ref in model.outputs
    ]
    return InspectResult(
        path=str(path),
        format=model.source.format,
        keras_version=model.source.keras_version,
        model_class=model.class_name,
        model_name=model.name,
        inputs=inputs,
        layers=layers,
        outputs=outputs,
    )
