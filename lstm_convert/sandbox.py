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
import select
import signal
import time
from typing import Any

import numpy as np

from .errors import InputFileError

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
    from .readers.guard import _die_with_parent

    timeout = VERIFY_TIMEOUT if timeout is None else timeout
    if not hasattr(os, "fork"):
        return run_onnx(model_path, feeds)
    import onnxruntime  # noqa: F401 - imported once, before forking

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: run, send the outputs (or the error), leave without cleanup
        _die_with_parent()
        os.close(read_end)
        _silence_stderr()  # onnxruntime logs its own errors there; ours go through the pipe
        try:
            _cap_memory(VERIFY_MEMORY)
            payload = pickle.dumps(("ok", run_onnx(model_path, feeds)))
        except BaseException as exc:  # noqa: BLE001 - reported to the parent as data
            payload = pickle.dumps(("error", f"{exc.__class__.__name__}: {_first_line(exc)}"))
        try:
            _write_all(write_end, payload)
        finally:
            os._exit(0)
    os.close(write_end)
    try:
        payload = _collect(read_end, pid, timeout, model_path)
    finally:
        os.close(read_end)
    kind, value = pickle.loads(payload)
    if kind != "ok":
        raise InputFileError(f"{model_path}: onnxruntime cannot run it ({value})")
    return value


def _silence_stderr() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else ""


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


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _collect(read_end: int, pid: int, timeout: float, path: str) -> bytes:
    deadline = time.monotonic() + timeout
    chunks = []
    while True:
        remaining = deadline - time.monotonic()
        ready, _, _ = select.select([read_end], [], [], max(0.0, remaining))
        if not ready:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise InputFileError(f"{path}: onnxruntime did not finish within {timeout:g} s")
        chunk = os.read(read_end, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    if not chunks:
        code = os.waitstatus_to_exitcode(status)
        raise InputFileError(f"{path}: onnxruntime crashed running it (exit {code})")
    return b"".join(chunks)
