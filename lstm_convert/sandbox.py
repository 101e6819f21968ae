"""Run onnxruntime on an ONNX file we did not write: in a forked child, with a deadline
and a memory cap, after refusing what no converted model contains.

``verify`` takes any ONNX file. A 300-byte model can hold an endless ``Loop`` or an
``Expand`` to gigabytes; onnxruntime would run it in our process without a bound. So
control flow, ``Expand`` and operators outside the standard domain are refused up front
(the converter emits none of them), and the run itself happens in a child that the
parent kills at the deadline and whose address space is capped.
"""

from __future__ import annotations

import os
import pickle
from typing import Any

import numpy as np

from .errors import InputFileError, runtime_detail
from .forked import run_forked

VERIFY_TIMEOUT = float(os.environ.get("LSTM_CONVERT_VERIFY_TIMEOUT", "60"))
# Address space the child may add to what it inherits (onnxruntime's weights included).
VERIFY_MEMORY = int(float(os.environ.get("LSTM_CONVERT_VERIFY_MEMORY_GB", "4")) * 1024**3)
REFUSED_OPS = {"Loop", "Scan", "If", "Expand", "SequenceMap"}
STANDARD_DOMAINS = {"", "ai.onnx"}


def refuse_unbounded_ops(proto: Any, path: str) -> None:
    """Refuse nodes that can run without bound and that a converted model never holds."""
    for node in proto.graph.node:
        if node.domain not in STANDARD_DOMAINS:
            raise InputFileError(
                f"{path}: operator {node.domain}.{node.op_type} is not one lstm-convert writes"
            )
        if node.op_type in REFUSED_OPS or any(
            attr.g.node or attr.graphs for attr in node.attribute
        ):
            raise InputFileError(
                f"{path}: holds an operator lstm-convert never writes ({node.op_type}), "
                "refused: it could run without bound"
            )


def run_onnx_sandboxed(
    model_path: str, feeds: dict[str, np.ndarray], timeout: float | None = None
) -> list[np.ndarray]:
    """``parity.run_onnx`` in a forked child with a deadline and an address-space cap."""
    from .parity import run_onnx

    timeout = VERIFY_TIMEOUT if timeout is None else timeout
    if not hasattr(os, "fork"):
        return run_onnx(model_path, feeds)
    import onnxruntime  # noqa: F401 - imported once, before forking

    def run() -> bytes:
        _silence_stderr()  # onnxruntime logs its own errors there; ours go through the pipe
        try:
            _cap_memory(VERIFY_MEMORY)
            return pickle.dumps(("ok", run_onnx(model_path, feeds)))
        except BaseException as exc:  # noqa: BLE001 - reported to the parent as data
            return pickle.dumps(("error", runtime_detail(exc)))

    payload = run_forked(
        run,
        timeout,
        late=f"{model_path}: onnxruntime did not finish within {timeout:g} s",
        crashed=f"{model_path}: onnxruntime crashed running it (exit {{code}})",
    )
    kind, value = pickle.loads(payload)
    if kind != "ok":
        raise InputFileError(f"{model_path}: onnxruntime cannot run it ({value})")
    return value


def _silence_stderr() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


def _cap_memory(extra: int) -> None:
    """Cap the address space at what the child already maps plus ``extra`` (Linux)."""
    import resource

    try:
        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[0])
    except OSError:  # not Linux: the deadline still applies
        return
    limit = pages * resource.getpagesize() + extra
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
