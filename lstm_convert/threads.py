"""How many threads NumPy's BLAS and onnxruntime may use in this process.

A single ``convert`` uses every core. ``batch`` with N workers on C cores gives each worker
``max(1, C // N)`` threads, so two workers never run four busy threads on two cores.
``--threads`` (or ``threads=`` in the API, or ``LSTM_CONVERT_THREADS``) overrides both.

BLAS libraries size their thread pool when they are loaded, from environment variables, so
a worker gets its budget through its environment, before it imports NumPy. A process that
has already imported NumPy is limited through OpenBLAS's own ``set_num_threads`` instead
(best effort: other BLAS builds keep their pool). onnxruntime takes the budget per session
(:func:`session_options`).

Only the thread-count variables are set here; others (``OPENBLAS_CORETYPE``, ...) are left
exactly as the caller's environment has them.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

THREADS_ENV = "LSTM_CONVERT_THREADS"
# The variables BLAS and OpenMP builds read when they start their pools.
BLAS_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)
# Exported names of OpenBLAS's thread-count setter and getter, by build.
_OPENBLAS_SYMBOLS = (
    ("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
    ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
    ("openblas_set_num_threads", "openblas_get_num_threads"),
)


def cpu_count() -> int:
    """The number of CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


def check_threads(threads: int | None) -> int | None:
    if threads is not None and (
        isinstance(threads, bool) or not isinstance(threads, int) or threads < 1
    ):
        raise ValueError(f"threads must be a positive integer, not {threads!r}")
    return threads


def worker_budget(jobs: int, threads: int | None = None) -> int:
    """Threads for each of ``jobs`` workers: ``threads`` if given, else cores // jobs."""
    if threads is not None:
        return threads
    configured = configured_threads()
    if configured is not None:
        return configured
    return max(1, cpu_count() // jobs)


def configured_threads() -> int | None:
    """``LSTM_CONVERT_THREADS`` when it holds a positive integer, else None."""
    value = os.environ.get(THREADS_ENV, "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def thread_env(threads: int) -> dict[str, str]:
    """The variables that give a process that has not imported NumPy ``threads`` threads."""
    return {name: str(threads) for name in (*BLAS_ENV, THREADS_ENV)}


def limit_process(threads: int | None) -> None:
    """Give this process ``threads`` threads from now on (None: leave it as it is).

    Before NumPy is imported this sets the environment its BLAS reads; afterwards it asks
    OpenBLAS directly. Either way onnxruntime sessions made later follow ``threads``.
    """
    if threads is None:
        return
    os.environ.update(thread_env(threads))
    if "numpy" in sys.modules:
        _set_openblas_threads(threads)


@contextlib.contextmanager
def limited(threads: int | None) -> Iterator[None]:
    """:func:`limit_process` for the duration of a block (the API's ``threads=``)."""
    if threads is None:
        yield
        return
    saved = {name: os.environ.get(name) for name in thread_env(threads)}
    previous = _openblas_threads() if "numpy" in sys.modules else None
    limit_process(threads)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if previous is not None:
            _set_openblas_threads(previous)


@contextlib.contextmanager
def blas_threads(threads: int) -> Iterator[None]:
    """At most ``threads`` OpenBLAS threads for the duration of a block (other BLAS builds
    keep their pool); a process already below that is left as it is."""
    previous = _openblas_threads() if "numpy" in sys.modules else None
    if previous is None or previous <= threads:
        yield
        return
    _set_openblas_threads(threads)
    try:
        yield
    finally:
        _set_openblas_threads(previous)


def session_threads() -> int | None:
    """onnxruntime's intra-op threads for this process (None: its default, every core)."""
    return configured_threads()


@functools.lru_cache(maxsize=1)
def _openblas() -> tuple[ctypes._CFuncPtr, ctypes._CFuncPtr] | None:
    for library in _loaded_libraries("openblas"):
        with contextlib.suppress(OSError):
            handle = ctypes.CDLL(library)
            for setter, getter in _OPENBLAS_SYMBOLS:
                if hasattr(handle, setter) and hasattr(handle, getter):
                    return getattr(handle, setter), getattr(handle, getter)
    return None


def _loaded_libraries(fragment: str) -> list[str]:
    """Paths of the shared libraries mapped into this process whose name holds ``fragment``."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            paths = {line.split(None, 5)[-1].strip() for line in maps if ".so" in line}
    except OSError:  # not Linux
        return []
    return sorted(p for p in paths if fragment in os.path.basename(p).lower())


def _openblas_threads() -> int | None:
    functions = _openblas()
    return int(functions[1]()) if functions else None


def _set_openblas_threads(threads: int) -> None:
    functions = _openblas()
    if functions is not None:
        functions[0](ctypes.c_int(threads))


def with_threads(fn: Callable[..., T]) -> Callable[..., T]:
    """Give an API function a keyword ``threads=`` that runs it under :func:`limited`."""

    @functools.wraps(fn)
    def wrapper(*args: Any, threads: int | None = None, **kwargs: Any) -> T:
        with limited(check_threads(threads)):
            return fn(*args, **kwargs)

    return wrapper
