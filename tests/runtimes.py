"""Run an ONNX graph in runtimes other than onnxruntime (the optional ``runtimes`` extra).

Each runner takes the serialized model and the input arrays (in graph input order) and
returns the outputs, or raises ``RuntimeStageError`` saying whether loading or running
failed. A runner whose package is not installed is absent from ``available()``.
"""

from __future__ import annotations

import importlib.util
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

Runner = Callable[[bytes, list[np.ndarray]], list[np.ndarray]]


class RuntimeStageError(Exception):
    def __init__(self, stage: str, message: str):
        super().__init__(f"{stage}: {message}")
        self.stage = stage  # "load" or "run"


def _stage(stage: str, fn, *args):
    try:
        return fn(*args)
    except Exception as exc:  # each runtime raises its own types
        raise RuntimeStageError(stage, f"{type(exc).__name__}: {str(exc)[:300]}") from exc


def reference(model: bytes, inputs: list[np.ndarray]) -> list[np.ndarray]:
    import onnx
    from onnx.reference import ReferenceEvaluator

    evaluator = _stage("load", ReferenceEvaluator, onnx.load_from_string(model))
    feed = dict(zip(evaluator.input_names, inputs, strict=True))
    with warnings.catch_warnings():
        # Saturated gates (the padding flag of a masked LSTM) overflow numpy's exp to inf,
        # which gives exactly the 0 or 1 wanted.
        warnings.filterwarnings("ignore", "overflow encountered in exp", RuntimeWarning)
        return list(_stage("run", evaluator.run, None, feed))


def openvino(model: bytes, inputs: list[np.ndarray]) -> list[np.ndarray]:
    import openvino as ov

    core = ov.Core()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        path.write_bytes(model)
        # f32 throughout: on CPUs with bf16 units OpenVINO otherwise computes in bf16.
        config = {"INFERENCE_PRECISION_HINT": "f32"}
        compiled = _stage(
            "load", lambda: core.compile_model(core.read_model(str(path)), "CPU", config)
        )
    result = _stage("run", compiled, inputs)
    return [np.asarray(result[output]) for output in compiled.outputs]


TRACT_TYPES = {
    np.float32: "f32",
    np.float64: "f64",
    np.int32: "i32",
    np.int64: "i64",
    np.bool_: "bool",
}


def tract(model: bytes, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """tract with every input shape pinned to the array given: a symbolic batch in a
    recurrent node aborts the whole process in tract 0.23."""
    import tract as tr

    def load():
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.onnx"
            path.write_bytes(model)
            inference = tr.onnx().load(str(path))
        for index, array in enumerate(inputs):
            dims = ",".join(str(d) for d in array.shape)
            inference.set_input_fact(index, f"{dims},{TRACT_TYPES[array.dtype.type]}")
        return inference.into_model().into_runnable()

    runnable = _stage("load", load)
    outputs = _stage("run", runnable.run, list(inputs))
    return [output.to_numpy() for output in outputs]


def opencv(model: bytes, inputs: list[np.ndarray]) -> list[np.ndarray]:
    import cv2

    net = _stage("load", cv2.dnn.readNetFromONNX, np.frombuffer(model, np.uint8))

    def run():
        import onnx

        graph = onnx.load_from_string(model).graph
        for value, array in zip(graph.input, inputs, strict=True):
            net.setInput(array, value.name)
        return net.forward([value.name for value in graph.output])

    return [np.asarray(output) for output in _stage("run", run)]


RUNNERS: dict[str, tuple[str | None, Runner]] = {
    "reference": (None, reference),
    "openvino": ("openvino", openvino),
    "tract": ("tract", tract),
    "opencv": ("cv2", opencv),
}


def available() -> dict[str, Runner]:
    return {
        name: runner
        for name, (module, runner) in RUNNERS.items()
        if module is None or importlib.util.find_spec(module) is not None
    }
