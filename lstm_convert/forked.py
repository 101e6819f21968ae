"""Run a piece of work in a forked child under a deadline, and collect what it sends back.

Used where C code we cannot interrupt may hang or crash on hostile input: the HDF5 read
probe (``readers/guard.py``) and ``verify``'s onnxruntime run (``sandbox.py``). The child
dies with its parent, writes its result to a pipe and leaves without any cleanup; the
parent waits with a deadline, kills a child that overruns, and reports a child that died
without a word as a crash.
"""

from __future__ import annotations

import os
import select
import signal
import time
from collections.abc import Callable

from .errors import InputFileError


def run_forked(work: Callable[[], bytes], timeout: float, *, late: str, crashed: str) -> bytes:
    """Return the bytes ``work()`` produced in a forked child.

    ``work`` must catch its own errors and encode them in what it returns. Raises
    InputFileError with ``late`` when the deadline passes, and with ``crashed`` (which
    may name ``{code}``, the child's exit status) when the child sends nothing.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        die_with_parent()
        os.close(read_end)
        try:
            write_all(write_end, work())
        finally:
            os._exit(0)
    os.close(write_end)
    try:
        return _collect(read_end, pid, timeout, late, crashed)
    finally:
        os.close(read_end)


def die_with_parent() -> None:
    """Linux: have the kernel kill this child if its parent dies first (say, a batch
    worker killed for its timeout), so a child stuck in C code never outlives it."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the parent's deadline still applies
        pass
    if os.getppid() == 1:  # the parent is already gone
        os._exit(1)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _collect(read_end: int, pid: int, timeout: float, late: str, crashed: str) -> bytes:
    deadline = time.monotonic() + timeout
    chunks = []
    while True:
        remaining = deadline - time.monotonic()
        ready, _, _ = select.select([read_end], [], [], max(0.0, remaining))
        if not ready:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise InputFileError(late)
        chunk = os.read(read_end, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    if not chunks:
        raise InputFileError(crashed.format(code=os.waitstatus_to_exitcode(status)))
    return b"".join(chunks)
