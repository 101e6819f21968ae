"""Convert many Keras files at once, each in a worker process, never letting one stop the rest.

:func:`convert_many` is the API behind ``lstm-convert batch``:

* every PATH is a file (taken whatever its extension) or a directory searched recursively
  for ``*.h5``, ``*.hdf5`` and ``*.keras`` (or ``pattern``); a missing PATH, or a directory
  with no matching file, is reported as a failed result;
* outputs mirror the inputs under ``out_dir``: ``DIR/sub/m.h5`` becomes ``out_dir/sub/m.onnx``,
  a file argument ``x/m.keras`` becomes ``out_dir/m.onnx``; with several directories, each
  gets its own subfolder (``a/models`` -> ``out_dir/models/...``); ``keep_suffix`` names
  ``m.h5`` ``m.h5.onnx``; inputs that would still write the same output are all refused
  (failed), with the way through, rather than one silently overwriting the other;
* workers are separate Python processes, reused from file to file; a worker that crashes or
  runs past ``timeout`` fails only its own file, and is killed and replaced;
* results come back in input order, whatever order the workers finish in.

This module imports nothing heavy at import time: workers import :mod:`lstm_convert.api`.

Workers on POSIX (but macOS) are forked by one server process that has imported the converter
once (:class:`_ForkServer`); elsewhere each worker is a fresh interpreter.
"""

from __future__ import annotations

import contextlib
import fnmatch
import glob
import importlib
import math
import os
import pickle
import queue
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .defaults import DEFAULT_BATCH_TIMEOUT
from .errors import OutputPathError
from .options import check_file_options
from .results import ConvertResult
from .threads import check_threads, cpu_count, limit_process, thread_env, worker_budget

DEFAULT_PATTERNS = ("*.h5", "*.hdf5", "*.keras")
DEFAULT_TIMEOUT = DEFAULT_BATCH_TIMEOUT
JSON_FIELDS = ("input", "output", "status", "error", "max_abs_error", "seconds", "layers")
SKIPPED = "skipped after an earlier failure (--fail-fast)"
# The function a worker calls for each file, as "module:function" (tests swap in their own).
WORKER_TASK = "lstm_convert.batch:_convert_one"
# Start workers from a fork server where the platform allows it (see _launcher).
FORK_SERVER = os.name == "posix" and sys.platform != "darwin"
# What the first conversion would import, imported before it so that the timeout covers
# converting only. onnxruntime starts a thread of its own when it is loaded, so a fork
# server leaves it to each forked worker (about 40 ms: NumPy is already loaded).
PRELOAD = (
    "lstm_convert.api",
    "h5py",
    "lstm_convert.readers.legacy_h5",
    "lstm_convert.readers.keras_zip",
    "lstm_convert.layers",  # the layer converters (imported by the first export)
    "lstm_convert.activations",
    "numpy.random",  # the check's seeded inputs
)
PRELOAD_AFTER_FORK = ("onnxruntime",)

# A worker must import lstm_convert.api and say it is ready within this many seconds; a
# worker that dies before that (three times in a row) fails the files still waiting.
STARTUP_SECONDS = 120.0
STARTUP_ATTEMPTS = 3
WAKE_SECONDS = 1.0  # the pool re-checks its state at least this often

Progress = Callable[[int, int, "ConvertResult | None"], None]


@dataclass
class BatchResult:
    """Every file's :class:`~lstm_convert.api.ConvertResult`, in input order."""

    results: list[ConvertResult] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return sum(1 for r in self.results if r.status == "ok")

    @property
    def failed(self) -> int:
        return sum(1 for r in self.results if r.status == "failed")

    @property
    def skipped(self) -> int:
        """Files never started because an earlier one failed (``fail_fast``)."""
        return sum(1 for r in self.results if r.status == "skipped")

    def to_dict(self) -> dict[str, Any]:
        """The ``lstm-convert batch --json`` document."""
        rows = []
        for result in self.results:
            data = result.to_dict()
            row = {key: data[key] for key in JSON_FIELDS}
            error = row["max_abs_error"]
            if isinstance(error, float) and not math.isfinite(error):
                row["max_abs_error"] = None  # JSON has no Infinity/NaN
            rows.append(row)
        return {"results": rows, "ok": self.ok, "failed": self.failed, "skipped": self.skipped}


@dataclass
class _Planned:
    input: str
    output: Path | None
    error: str | None = None


def convert_many(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    jobs: int | None = None,
    pattern: str | Sequence[str] | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    fail_fast: bool = False,
    progress: Progress | None = None,
    threads: int | None = None,
    keep_suffix: bool = False,
    **options: Any,
) -> BatchResult:
    """Convert every Keras file under ``paths`` into ``out_dir``; one bad file never stops the rest.

    ``jobs`` worker processes run at once (default: the CPUs this process may use). A file
    that fails, crashes its worker or runs longer than ``timeout`` seconds (``None`` or 0: no
    limit) gets ``status="failed"`` and a one-line ``error``. With ``fail_fast``, no new file
    starts after the first failure; files already running finish, the others get
    ``status="skipped"`` (counted in ``skipped``, not ``failed``) with the error
    ``"skipped after an earlier failure (--fail-fast)"``.

    Each worker's NumPy (BLAS) and onnxruntime get ``threads`` threads; by default
    ``$LSTM_CONVERT_THREADS``, else the CPUs divided among the workers (at least one each),
    so the workers together never run more busy threads than there are cores.

    ``progress(done, total, result)`` is called once with ``(0, total, None)`` when the files
    are known, then after each file. ``options``: any keyword of
    :func:`~lstm_convert.api.convert` (``state_io``, ``atol``, ``config_path``, ...; see
    ``options.PER_FILE_OPTIONS``), applied to every file.

    Raises :class:`~lstm_convert.errors.OutputPathError` when ``out_dir`` is not a usable
    directory, :class:`ValueError` (:class:`~lstm_convert.errors.OptionError`) for invalid
    values and :class:`TypeError` for an unknown option.
    """
    jobs = default_jobs() if jobs is None else jobs
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, not {jobs!r}")
    budget = worker_budget(jobs, check_threads(threads))
    if timeout is not None and (math.isnan(timeout) or timeout < 0):
        raise ValueError(f"timeout must be positive (or None / 0 for no limit), not {timeout!r}")
    pool = _Pool(jobs, timeout or None, {}, fail_fast, budget)
    # The fork server imports the converter while this process does the same below and
    # looks for the files: on two cores, the two start-ups overlap.
    pool.launcher.warm()
    try:
        plan = _plan(paths, out_dir, pattern, keep_suffix, pool, options)
        if not (fail_fast and any(item.error for item in plan)):  # else nothing will run
            pool.prestart(sum(1 for item in plan if item.error is None))
        result = _run_plan(plan, pool, progress, fail_fast)
    except BaseException:  # Ctrl-C, SIGTERM (the CLI raises SystemExit), a failing callback
        pool.close(kill=True)
        raise
    pool.close()
    return result


def _plan(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    pattern: str | Sequence[str] | None,
    keep_suffix: bool,
    pool: _Pool,
    options: dict[str, Any],
) -> list[_Planned]:
    """Check the per-file options (into ``pool``) and pair every input with its output."""
    pool.options = check_file_options(options)
    patterns = _patterns(pattern)
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out = _prepare_out_dir(Path(out_dir))
    return plan_outputs([Path(p) for p in paths], out, patterns, keep_suffix)


def _run_plan(
    plan: list[_Planned], pool: _Pool, progress: Progress | None, fail_fast: bool
) -> BatchResult:
    total = len(plan)
    results: list[ConvertResult | None] = [None] * total
    done = 0

    def report(index: int, result: ConvertResult) -> None:
        nonlocal done
        results[index] = result
        done += 1
        if progress is not None:
            progress(done, total, result)

    if progress is not None:
        progress(0, total, None)
    tasks = deque()
    for index, item in enumerate(plan):
        if item.error is not None:
            report(
                index,
                ConvertResult(input=item.input, output=None, status="failed", error=item.error),
            )
        else:
            tasks.append((index, item.input, str(item.output)))
    pool.run(tasks, report, stopped=fail_fast and done > 0)
    return BatchResult([r for r in results if r is not None])


def default_jobs() -> int:
    """The number of CPUs this process may run on."""
    return cpu_count()


def _patterns(pattern: str | Sequence[str] | None) -> tuple[str, ...]:
    if pattern is None:
        return DEFAULT_PATTERNS
    patterns = (pattern,) if isinstance(pattern, str) else tuple(pattern)
    if not patterns or not all(isinstance(p, str) and p for p in patterns):
        raise ValueError(f"pattern must be a non-empty glob or list of globs, not {pattern!r}")
    return patterns


def _prepare_out_dir(out: Path) -> Path:
    if out.exists() and not out.is_dir():
        raise OutputPathError(f"{out}: exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputPathError(
            f"{out}: cannot create the output directory ({exc.strerror})"
        ) from None
    return out


def _matches(relative: str, patterns: tuple[str, ...]) -> bool:
    """Case-insensitive glob on the file name (or on the relative path if a pattern has '/')."""
    name = relative.rsplit("/", 1)[-1].lower()
    rel = relative.lower()
    return any(fnmatch.fnmatchcase(rel if "/" in p else name, p.lower()) for p in patterns)


def find_files(directory: Path, patterns: tuple[str, ...], skip: Path | None = None) -> list[Path]:
    """Files under ``directory`` (recursively, not following directory links), sorted."""
    skip_real = os.path.realpath(skip) if skip is not None else None
    found = []
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames[:] = sorted(
            d for d in dirnames if os.path.realpath(os.path.join(dirpath, d)) != skip_real
        )
        base = Path(dirpath)
        for name in filenames:
            file = base / name
            relative = file.relative_to(directory).as_posix()
            if _matches(relative, patterns) and not file.is_dir():
                found.append(file)
    return sorted(found)


def output_name(file: Path, keep_suffix: bool) -> Path:
    """``m.h5`` -> ``m.onnx``, or with ``keep_suffix`` ``m.h5.onnx`` (``m.h5`` and
    ``m.keras`` side by side then write different files)."""
    return file.with_name(file.name + ".onnx") if keep_suffix else file.with_suffix(".onnx")


def _root_folders(paths: list[Path]) -> dict[Path, Path]:
    """Each directory argument's subfolder under the output directory: none for a single
    directory, its name for several (``a/models b/models`` -> ``models``, ``models-2``)."""
    roots = [path for path in paths if path.is_dir()]
    if len(roots) < 2:
        return {root: Path() for root in roots}
    folders: dict[Path, Path] = {}
    used: set[str] = set()
    for root in roots:
        base = Path(os.path.abspath(root)).name or "root"
        name, number = base, 1
        while name.lower() in used:
            number += 1
            name = f"{base}-{number}"
        used.add(name.lower())
        folders[root] = Path(name)
    return folders


def plan_outputs(
    paths: list[Path], out_dir: Path, patterns: tuple[str, ...], keep_suffix: bool = False
) -> list[_Planned]:
    """Every input with its output under ``out_dir``, or the reason it cannot be converted."""
    plan: list[_Planned] = []
    seen: set[str] = set()
    folders = _root_folders(paths)

    def add(file: Path, output: Path) -> None:
        key = os.path.realpath(file)
        if key not in seen:
            seen.add(key)
            plan.append(_Planned(str(file), output))

    for path in paths:
        if path.is_dir():
            files = find_files(path, patterns, skip=out_dir)
            if not files:
                plan.append(
                    _Planned(str(path), None, f"{path}: no files matching {', '.join(patterns)}")
                )
            for file in files:
                relative = output_name(file.relative_to(path), keep_suffix)
                add(file, out_dir / folders[path] / relative)
        elif path.exists():
            add(path, out_dir / output_name(Path(path.name), keep_suffix))
        else:
            plan.append(_Planned(str(path), None, f"{path}: no such file or directory"))
    _refuse_collisions(plan, keep_suffix)
    return plan


def _refuse_collisions(plan: list[_Planned], keep_suffix: bool) -> None:
    """Inputs that would write the same output all fail, with a way through."""
    claimed: dict[str, list[_Planned]] = {}
    for item in plan:
        if item.output is not None:
            key = os.path.normcase(os.path.abspath(item.output))
            claimed.setdefault(key, []).append(item)
    for group in claimed.values():
        if len(group) < 2:
            continue
        names = {Path(item.input).name.lower() for item in group}
        if len(names) == len(group) and not keep_suffix:
            way = "pass keep_suffix=True to name them m.h5.onnx, m.keras.onnx"
        else:
            way = "convert them separately, or give their folders as separate paths"
        for item in group:
            others = ", ".join(o.input for o in group if o is not item)
            item.error = f"{item.input}: {item.output} would also be written from {others} ({way})"
            item.output = None


def _one_line(text: str) -> str:
    return " ".join(text.split())


class _Worker:
    """One worker process, speaking pickle over a :class:`_Channel`.

    A thread per worker turns its replies into events on the pool's queue. The first reply
    is ``("ready", pid)``.
    """

    def __init__(self, events: queue.Queue, launcher: _Launcher) -> None:
        self.channel = launcher.start()
        self.ready = False
        self.task: tuple[int, str, str] | None = None
        self.deadline: float | None = time.monotonic() + STARTUP_SECONDS
        self.started = 0.0
        self.reader = threading.Thread(target=self._read, args=(events,), daemon=True)
        self.reader.start()

    def _read(self, events: queue.Queue) -> None:
        stream = self.channel.replies
        while True:
            try:
                message = pickle.load(stream)
            except Exception:  # EOF, or a message cut short by a crash
                events.put((self, ("exit",)))
                return
            if message[0] == "ready":
                self.channel.pid = message[1]  # before the pool can see the event
            events.put((self, message))

    def send(self, message: Any) -> bool:
        try:
            pickle.dump(message, self.channel.requests)
            self.channel.requests.flush()
        except (OSError, ValueError):  # the worker is gone; its reader reports the exit
            return False
        return True

    def start_task(self, task: tuple[int, str, str], options: dict, timeout: float | None) -> None:
        self.task = task
        self.started = time.monotonic()
        self.deadline = self.started + timeout if timeout else None
        self.send((*task, options))

    def exit_code(self) -> int | None:
        code = self.channel.wait(5)
        if code is None:
            self.kill()
            code = self.channel.wait(1)
        return code

    def kill(self) -> None:
        self.channel.kill()
        self.channel.wait(5)
        self.channel.close()

    def stop(self) -> None:
        """Ask the worker to exit (see :meth:`join`)."""
        self.send(None)

    def join(self) -> None:
        """Wait briefly for a stopped worker to exit; kill it if it does not."""
        if self.channel.wait(2) is None:
            self.kill()
        self.channel.close()


class _Channel:
    """The pipes to one worker process, and how to end it and learn its exit code."""

    requests: Any  # binary file the pool writes requests to
    replies: Any  # binary file the worker's replies come from
    pid: int | None = None

    def wait(self, timeout: float) -> int | None:
        """The exit code once the worker has exited (negative: killed by that signal);
        None if it is still running after ``timeout`` seconds."""
        raise NotImplementedError

    def kill(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        for stream in (self.requests, self.replies):
            with contextlib.suppress(OSError, ValueError):
                stream.close()


class _Launcher:
    """Starts workers for one pool."""

    def warm(self) -> None:
        """Get ready to start workers, in the background (nothing to do by default)."""

    def start(self) -> _Channel:
        raise NotImplementedError

    def close(self, kill: bool = False) -> None:
        """Called once every worker has been stopped (or killed, with ``kill``)."""


def _launcher(threads: int, supervised: bool) -> _Launcher:
    """A fork server where fork is safe (POSIX but macOS, whose system libraries may not
    survive a fork without exec); elsewhere a fresh interpreter per worker. The server
    :func:`boot_early` started is adopted by the first pool that can use it."""
    global _EARLY
    early, _EARLY = _EARLY, None
    if _fork_server_here():
        if early is not None and early.task == WORKER_TASK:
            early.threads, early.supervised = threads, supervised
            return early
        if early is not None:
            early.close()
        return _ForkServer(threads, supervised, WORKER_TASK)
    return _Spawner(threads, supervised, WORKER_TASK)


def _fork_server_here() -> bool:
    return FORK_SERVER and hasattr(os, "fork") and hasattr(socket, "send_fds")


_EARLY: _ForkServer | None = None


def boot_early() -> None:
    """Start the fork server now, before the caller imports anything else: the ``batch``
    command calls this first thing, so the server forks off a light, single-threaded
    process and imports the converter while the command parses its options and plans the
    files. The next pool adopts it; unused, it exits with this process (its control
    socket closes)."""
    global _EARLY
    if _EARLY is None and _fork_server_here():
        _EARLY = _ForkServer(1, False, WORKER_TASK)
        _EARLY.warm()


def discard_early() -> None:
    """End a server :func:`boot_early` started that no pool adopted (the command failed
    before it converted anything): killed and reaped at once, not left as a zombie."""
    global _EARLY
    early, _EARLY = _EARLY, None
    if early is not None:
        early.close(kill=True)


class _Spawned(_Channel):
    """A worker in a fresh interpreter: ``python -c "...batch._worker_main(...)"``.

    Workers are plain subprocesses rather than :mod:`multiprocessing` children, so they
    never re-import the caller's ``__main__`` (an unguarded script, stdin or a notebook all
    work).
    """

    def __init__(self, threads: int, supervised: bool, task: str) -> None:
        code = f"from lstm_convert.batch import _worker_main; _worker_main({supervised}, {task!r})"
        self.process = subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=_worker_env(threads),
        )
        self.requests, self.replies = self.process.stdin, self.process.stdout

    def wait(self, timeout: float) -> int | None:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.process.kill()


@dataclass
class _Spawner(_Launcher):
    threads: int
    supervised: bool
    task: str

    def start(self) -> _Channel:
        return _Spawned(self.threads, self.supervised, self.task)


class _ForkServer(_Launcher):
    """One process that imports the converter once, then forks a worker on request.

    The server is itself a fork of this process when this process is light and
    single-threaded (the ``batch`` command), which skips an interpreter's start-up;
    otherwise (an application that imported NumPy, runs threads, ...) it is a fresh
    interpreter.

    The server imports NumPy (with one BLAS thread), onnx, h5py and the converter before it
    forks anything, and starts no thread, so every fork is a copy of a single-threaded
    process; a forked worker then sets its own thread budget and imports onnxruntime
    (which starts a thread when it loads). Each request passes one end of a fresh socket
    pair (``SCM_RIGHTS``); the forked worker speaks the spawned worker's protocol over it.
    The server reaps its children and reports ``PID EXIT_CODE`` lines on the control
    socket, so a crash is still reported with its signal. A server that died is started
    again at the next request.
    """

    def __init__(self, threads: int, supervised: bool, task: str) -> None:
        # The server imports ``task``; each worker it forks takes ``threads`` and
        # ``supervised``, which travel with each request (a pool may adopt a server
        # booted before its options were known: see :func:`boot_early`).
        self.threads, self.supervised, self.task = threads, supervised, task
        self.codes: dict[int, int] = {}
        self.changed = threading.Condition()
        self.process: subprocess.Popen | _ServerChild | None = None
        self.control: socket.socket | None = None
        self.gone = False

    def _boot(self) -> None:
        ours, theirs = socket.socketpair()
        with theirs:
            if _light_and_single_threaded():
                self.process = _fork_server(ours, theirs, self.task)
            else:
                self.process = self._spawn_server(theirs)
        self.control = ours
        self.gone = False
        threading.Thread(target=self._read, args=(ours,), daemon=True).start()

    def _spawn_server(self, theirs: socket.socket) -> subprocess.Popen:
        """The server in a fresh interpreter (when this process runs threads)."""
        code = (
            "from lstm_convert.batch import _fork_server_main; "
            f"_fork_server_main({theirs.fileno()}, {self.task!r})"
        )
        return subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=subprocess.DEVNULL,
            pass_fds=(theirs.fileno(),),
            env=_worker_env(1),
        )

    def _read(self, control: socket.socket) -> None:
        with contextlib.suppress(OSError, ValueError), control.makefile("rb") as lines:
            for line in lines:
                pid, code = (int(field) for field in line.split())
                with self.changed:
                    self.codes[pid] = code
                    self.changed.notify_all()
        with self.changed:  # the server is gone: no more codes will come from it
            if control is self.control:
                self.gone = True
            self.changed.notify_all()

    def warm(self) -> None:
        """Boot the server (it imports the converter while the caller goes on)."""
        if self.process is None or self.process.poll() is not None:
            self._boot()

    def start(self) -> _Channel:
        self.warm()
        assert self.control is not None
        ours, theirs = socket.socketpair()
        with theirs, contextlib.suppress(OSError):  # a dead server: the worker reads EOF
            socket.send_fds(
                self.control, [_fork_request(self.threads, self.supervised)], [theirs.fileno()]
            )
        return _Forked(self, ours)

    def exit_code(self, pid: int, timeout: float) -> int | None:
        """``pid``'s exit code, as the server reports it (None: not within ``timeout``)."""
        with self.changed:
            self.changed.wait_for(lambda: pid in self.codes or self.gone, timeout)
            return self.codes.pop(pid, None)

    def close(self, kill: bool = False) -> None:
        if self.process is None or self.control is None:
            return
        with contextlib.suppress(OSError):
            self.control.shutdown(socket.SHUT_RDWR)  # the server exits at EOF
        self.control.close()
        if kill:
            self.process.kill()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# Libraries with native state (thread pools, sessions) a fork should not copy.
NATIVE_STATE = ("numpy", "onnx", "onnxruntime", "h5py")


def _light_and_single_threaded() -> bool:
    """Whether this process may become the fork server by forking: it runs one OS thread
    only (native pools included) and has imported none of :data:`NATIVE_STATE`, as the
    ``batch`` command has at this point. Unknown (no /proc): no."""
    if any(name in sys.modules for name in NATIVE_STATE):
        return False
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False


def _fork_server(ours: socket.socket, theirs: socket.socket, task: str) -> _ServerChild:
    """Fork this (single-threaded) process into the fork server: the server then skips an
    interpreter's start-up, and imports the converter while this process goes on.

    The child never returns into the caller's code: it serves until its control socket
    closes, then leaves with ``os._exit``; a failure prints its traceback to stderr, as a
    spawned server's would, and exits 1.
    """
    for stream in (sys.stdout, sys.stderr):  # nothing buffered may be written twice
        with contextlib.suppress(Exception):
            stream.flush()
    pid = os.fork()
    if pid:
        return _ServerChild(pid)
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the caller handles Ctrl-C, from now on
        ours.close()  # else the server would keep its own control socket open
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the caller's handler
        limit_process(1)  # before the server imports NumPy: one BLAS thread
        _fork_server_main(theirs.fileno(), task)
        code = 0
    except BaseException:
        with contextlib.suppress(Exception):
            import traceback

            traceback.print_exc()
    finally:
        os._exit(code)


class _ServerChild:
    """A fork server forked from this process: what :class:`subprocess.Popen` offers."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere
                self.returncode = 0
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0.0)
            time.sleep(0.005)
        assert self.returncode is not None
        return self.returncode

    def kill(self) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)


class _Forked(_Channel):
    """A worker forked by the server: known by the pid its ``ready`` message carries."""

    def __init__(self, server: _ForkServer, sock: socket.socket) -> None:
        self.server = server
        self.socket = sock
        self.requests = sock.makefile("wb")
        self.replies = sock.makefile("rb")
        self.code: int | None = None

    def wait(self, timeout: float) -> int | None:
        if self.code is None and self.pid is not None:  # else never said ready: the
            self.code = self.server.exit_code(self.pid, timeout)  # closed socket ends it
        return self.code

    def kill(self) -> None:
        if self.pid is not None and self.code is None:
            # The server reaps its children only after they exit and reports every one,
            # so until then this pid is still the worker's (as multiprocessing's own).
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
        self.close()

    def close(self) -> None:
        # Shut the socket down first: that wakes this worker's reader thread (and the
        # worker, if it still runs) with EOF; closing a stream it is reading would block.
        with contextlib.suppress(OSError):
            self.socket.shutdown(socket.SHUT_RDWR)
        super().close()
        with contextlib.suppress(OSError):
            self.socket.close()


def _worker_env(threads: int) -> dict[str, str]:
    """The caller's environment, with this very lstm_convert first on the import path and
    the worker's thread budget in the variables BLAS reads when NumPy is imported."""
    env = dict(os.environ)
    env.update(thread_env(threads))
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


class _Pool:
    """At most ``jobs`` reusable workers; each runs one file at a time under a deadline."""

    def __init__(
        self,
        jobs: int,
        timeout: float | None,
        options: dict,
        fail_fast: bool,
        threads: int = 1,
    ) -> None:
        self.jobs = jobs
        self.threads = threads
        self.timeout = timeout
        self.options = options
        self.report: Callable[[int, Any], None] = lambda index, result: None
        self.fail_fast = fail_fast
        self.workers: list[_Worker] = []
        self.events: queue.Queue = queue.Queue()
        self.stopped = False
        self.start_failures = 0
        self.launcher = _launcher(threads, timeout is not None)

    def run(self, tasks: deque, report: Callable[[int, Any], None], stopped: bool) -> None:
        """Convert ``tasks``, calling ``report(index, result)`` as each file ends."""
        self.report = report
        self.stopped = stopped
        while True:
            if self.stopped:
                while tasks:
                    self._fail(tasks.popleft(), SKIPPED, 0.0, status="skipped")
            busy = sum(1 for w in self.workers if w.task)
            if not tasks and not busy:
                break
            while tasks and len(self.workers) < min(self.jobs, busy + len(tasks)):
                self.workers.append(_Worker(self.events, self.launcher))
            for worker in self.workers:
                if worker.ready and worker.task is None and tasks:
                    worker.start_task(tasks.popleft(), self.options, self.timeout)
            self._next_event(tasks)
            self._expire(tasks)

    def close(self, kill: bool = False) -> None:
        """Stop every worker (in parallel); with ``kill``, at once, busy or not."""
        for worker in self.workers:
            if kill:
                worker.kill()
                if worker.task is not None:
                    _remove_partial(worker.task[2])
            else:
                worker.stop()
        for worker in self.workers:
            worker.join()
        self.workers = []
        self.launcher.close(kill)

    def prestart(self, count: int) -> None:
        """Start workers now, so they boot while the caller does other work."""
        while len(self.workers) < min(self.jobs, count):
            self.workers.append(_Worker(self.events, self.launcher))

    def _next_event(self, tasks: deque) -> None:
        deadlines = [w.deadline for w in self.workers if w.deadline is not None]
        delay = max(0.0, min(deadlines) - time.monotonic()) if deadlines else WAKE_SECONDS
        try:
            worker, message = self.events.get(timeout=min(delay, WAKE_SECONDS))
        except queue.Empty:
            return
        if worker not in self.workers:
            return  # already killed (timed out); its reader saw the pipe close
        if message[0] == "ready":
            worker.ready = True
            worker.deadline = None
            self.start_failures = 0
        elif message[0] == "result" and worker.task is not None:
            index, result = message[1], message[2]
            worker.task = None
            worker.deadline = None
            self.report(index, result)
            if self.fail_fast and result.status != "ok":
                self.stopped = True
        elif message[0] == "exit":
            self.workers.remove(worker)
            code = worker.exit_code()
            worker.kill()
            if worker.task is not None:
                _remove_partial(worker.task[2])
                elapsed = time.monotonic() - worker.started
                self._fail(worker.task, f"worker crashed ({_describe_exit(code)})", elapsed)
            elif not worker.ready:
                self._start_failed(tasks, f"worker could not start ({_describe_exit(code)})")

    def _expire(self, tasks: deque) -> None:
        now = time.monotonic()
        for worker in list(self.workers):
            if worker.deadline is None or now < worker.deadline:
                continue
            self.workers.remove(worker)
            worker.kill()
            if worker.task is not None:
                _remove_partial(worker.task[2])
                elapsed = now - worker.started
                self._fail(worker.task, f"timed out after {self.timeout:g} s", elapsed)
            else:
                self._start_failed(tasks, f"worker did not start within {STARTUP_SECONDS:g} s")

    def _fail(
        self, task: tuple[int, str, str], error: str, seconds: float, status: str = "failed"
    ) -> None:
        index, input_path, _ = task
        result = ConvertResult(
            input=input_path, output=None, status=status, error=error, seconds=seconds
        )
        self.report(index, result)
        if self.fail_fast:
            self.stopped = True

    def _start_failed(self, tasks: deque, error: str) -> None:
        """Retry a worker that died while starting, but not forever."""
        self.start_failures += 1
        if self.start_failures >= STARTUP_ATTEMPTS:
            self.jobs = len(self.workers)  # stop trying to grow the pool
            if not self.workers:
                while tasks:
                    self._fail(tasks.popleft(), error, 0.0)


def _describe_exit(code: int | None) -> str:
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            return f"exit code {code}, {signal.Signals(-code).name}"
    return f"exit code {code}"


def _remove_partial(output: str) -> None:
    """Remove what a killed worker may have left beside ``output``: the temporary file (or,
    for external data, directory) ``.NAME.XXXX.part`` that would have become ``output``."""
    target = Path(output)
    with contextlib.suppress(OSError):
        for leftover in target.parent.glob(f".{glob.escape(target.name)}.*.part"):
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink()


def _worker_main(supervised: bool = False, task: str | None = None) -> None:
    """A spawned worker: import the converter once, then convert files until told to stop.

    Messages come as pickles on stdin and go back as pickles on the original stdout; the
    worker's own fd 1 is pointed at stderr so nothing a library prints can corrupt them.
    ``supervised``: the pool kills this worker when a file runs past its timeout, so the
    HDF5 read probe (a fork and a rehearsed read per file, see ``readers/guard.py``) would
    only repeat that protection; it is skipped. ``task`` names the function that converts
    one file (:data:`WORKER_TASK`).
    """
    with contextlib.suppress(ValueError, OSError):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    requests = sys.stdin.buffer
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    convert_one = _prepare(supervised, task or WORKER_TASK)
    _serve(requests, replies, convert_one)


def _prepare(
    supervised: bool, task: str, preload: tuple[str, ...] = PRELOAD + PRELOAD_AFTER_FORK
) -> Callable[[str, str, dict], Any]:
    """Import what a conversion needs; return the function that converts one file."""
    from .readers import guard

    if supervised:
        guard.supervised()
    _preload(preload)
    module, _, name = task.partition(":")
    return getattr(importlib.import_module(module), name)


def _serve(requests: Any, replies: Any, convert_one: Callable[[str, str, dict], Any]) -> None:
    """Say ready, then convert each requested file until the request stream ends."""

    def reply(message: Any) -> None:
        try:
            pickle.dump(message, replies)
            replies.flush()
        except OSError:  # the parent is gone
            _exit_now()

    reply(("ready", os.getpid()))
    while True:
        try:
            message = pickle.load(requests)
        except (EOFError, OSError):
            message = None
        if message is None:
            _exit_now()
        index, input_path, output, options = message
        reply(("result", index, convert_one(input_path, output, options)))


# A fork request: b"F", the worker's threads (4 digits) and whether the pool supervises it
# with a timeout (1 digit), beside one socket passed with SCM_RIGHTS.
FORK_REQUEST = 6


def _fork_request(threads: int, supervised: bool) -> bytes:
    return b"F%04d%d" % (min(threads, 9999), supervised)


def _fork_server_main(control_fd: int, task: str) -> None:
    """The fork server (:class:`_ForkServer`): import once, then fork a worker for every
    request received on ``control_fd`` and report each child's exit code, until EOF.

    The server runs with one BLAS thread, so it holds no thread but its own when it forks;
    each worker then takes the budget of threads its request names.
    """
    with contextlib.suppress(ValueError, OSError):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.dup2(2, 1)  # as in a spawned worker: nothing printed reaches the caller's stdout
    control = socket.socket(fileno=control_fd)
    convert_one = _prepare(False, task, PRELOAD)
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)  # SIGCHLD wakes the select below
    signal.signal(signal.SIGCHLD, lambda *_: None)
    while True:
        ready, _, _ = select.select([control, wake_read], [], [])
        if wake_read in ready:
            os.read(wake_read, 4096)
        _report_exits(control)
        if control not in ready:
            continue
        try:
            request, fds, _, _ = socket.recv_fds(control, FORK_REQUEST, 1)
        except OSError:
            request, fds = b"", []
        if not fds:  # the pool closed the control socket (or is gone)
            _exit_now()
        if os.fork() == 0:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            for fd in (control.detach(), wake_read, wake_write):
                os.close(fd)
            _become_worker(request)
            channel = socket.socket(fileno=fds[0])
            _serve(channel.makefile("rb"), channel.makefile("wb"), convert_one)
        os.close(fds[0])


def _become_worker(request: bytes) -> None:
    """In a worker just forked by the server: take the request's thread budget and
    supervision, then import onnxruntime (it starts a thread as it loads)."""
    from .readers import guard

    threads, supervised = int(request[1:5]), request[5:6] == b"1"
    if supervised:
        guard.supervised()
    limit_process(max(1, threads))
    _preload(PRELOAD_AFTER_FORK)


def _report_exits(control: socket.socket) -> None:
    """Reap every child that has exited and send ``PID EXIT_CODE`` for each."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        with contextlib.suppress(OSError):
            control.sendall(f"{pid} {os.waitstatus_to_exitcode(status)}\n".encode())


def _preload(names: tuple[str, ...] = PRELOAD + PRELOAD_AFTER_FORK) -> None:
    for name in names:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def _convert_one(input_path: str, output: str, options: dict) -> ConvertResult:
    """Convert one file in a worker; any error becomes a failed result."""
    from . import api
    from .errors import ConvertError

    started = time.perf_counter()
    try:
        parent = Path(output).parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputPathError(f"{parent}: cannot create directory ({exc.strerror})") from None
        return api.convert(input_path, output, **options)
    except ConvertError as exc:
        error = _one_line(str(exc))
    except Exception as exc:  # a converter bug must still fail only this file
        error = _one_line(f"internal error: {exc.__class__.__name__}: {exc}")
    return api.ConvertResult(
        input=input_path,
        output=None,
        status="failed",
        error=error,
        seconds=time.perf_counter() - started,
    )


def _exit_now() -> None:
    """Leave without the interpreter's teardown (~0.1 s with onnxruntime loaded): every
    output is already in place, and there is nothing else to clean up."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(0)


__all__ = ["DEFAULT_PATTERNS", "BatchResult", "convert_many", "default_jobs", "find_files"]
