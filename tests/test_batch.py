"""`lstm-convert batch` and `convert_many`: one bad file never stops the rest."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import onnx
import pytest
from conftest import FIXTURES, ROOT, SAMPLES
from typer.testing import CliRunner

from lstm_convert import batch
from lstm_convert.batch import SKIPPED, BatchResult, convert_many
from lstm_convert.cli import app
from lstm_convert.errors import OutputPathError

JSON_KEYS = {"input", "output", "status", "error", "max_abs_error", "seconds", "layers"}


def fixture(name: str) -> Path:
    """A committed fixture (a path under tests/fixtures): missing, it fails the test."""
    path = FIXTURES / name
    assert path.is_file(), f"{path} is committed and must exist"
    return path


def lstm_h5() -> Path:
    return fixture("keras3/lstm_basic.h5")


def gru_keras() -> Path:
    return fixture("keras3/gru_basic.keras")


def simplernn_h5() -> Path:
    return fixture("tfkeras/simplernn_tanh.h5")


GOOD = {
    # relative path in the models folder -> expected output relative to OUTDIR
    "top_lstm.h5": "top_lstm.onnx",
    "a/gru.keras": "a/gru.onnx",
    "a/b/rnn.hdf5": "a/b/rnn.onnx",
}
BROKEN = {
    "a/empty.h5": "is empty",
    "a/random.h5": "is neither HDF5 nor a .keras zip archive",
    "a/b/truncated.h5": "truncated.h5",
    "notes.keras": "is neither HDF5 nor a .keras zip archive",
}


@pytest.fixture
def models(tmp_path: Path) -> Path:
    """A folder mixing real Keras files (nested) with broken ones and an unrelated file."""
    root = tmp_path / "models"
    (root / "a" / "b").mkdir(parents=True)
    shutil.copy(lstm_h5(), root / "top_lstm.h5")
    shutil.copy(gru_keras(), root / "a" / "gru.keras")
    shutil.copy(simplernn_h5(), root / "a" / "b" / "rnn.hdf5")
    (root / "a" / "empty.h5").write_bytes(b"")
    (root / "a" / "random.h5").write_bytes(os.urandom(4096))
    data = lstm_h5().read_bytes()
    (root / "a" / "b" / "truncated.h5").write_bytes(data[: len(data) // 2])
    (root / "notes.keras").write_text("not a model, just some notes\n")
    (root / "README.txt").write_text("ignored: does not match the patterns\n")
    return root


def run_cli(*args: str, columns: int = 250):
    """The batch command in-process; a piped table is as wide as COLUMNS, fixed here so a
    long temporary path is never wrapped whatever the caller's terminal."""
    result = CliRunner().invoke(app, ["batch", *map(str, args)], env={"COLUMNS": str(columns)})
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def by_name(results: list[dict]) -> dict[str, dict]:
    return {Path(r["input"]).name: r for r in results}


def assert_good_outputs(results: list[dict], out: Path) -> None:
    for rel, expected in GOOD.items():
        row = by_name(results)[Path(rel).name]
        assert row["status"] == "ok", row
        assert row["error"] is None
        assert Path(row["output"]) == out / expected
        onnx.checker.check_model(onnx.load(row["output"]))
        assert row["max_abs_error"] is not None and row["max_abs_error"] < 1e-4
        assert row["layers"] and all(
            set(layer) == {"name", "class_name", "onnx_ops"} for layer in row["layers"]
        )


def test_cli_json_converts_every_good_file_and_reports_broken_ones(models, tmp_path):
    out = tmp_path / "out"
    result = run_cli(models, "-o", out, "--json", "--jobs", "2")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)  # stdout holds the JSON document and nothing else
    assert set(doc) == {"results", "ok", "failed", "skipped"}
    assert (doc["ok"], doc["failed"]) == (len(GOOD), len(BROKEN))
    assert all(set(row) == JSON_KEYS for row in doc["results"])
    assert_good_outputs(doc["results"], out)
    rows = by_name(doc["results"])
    for rel, message in BROKEN.items():
        row = rows[Path(rel).name]
        assert row["status"] == "failed"
        assert row["output"] is None and row["layers"] == []
        assert message in row["error"] and "\n" not in row["error"]
    assert "README.txt" not in rows
    # Only the good files left something in OUTDIR: no partial files, no empty outputs.
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == sorted(GOOD.values())
    assert "4 of 7 files failed" in result.stderr


def test_cli_table_lists_every_file_with_its_error(models, tmp_path):
    result = run_cli(models, "-o", tmp_path / "out")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    for rel in GOOD:
        [line] = [ln for ln in lines if str(models / rel) in ln]
        assert " ok " in line
    for rel, message in BROKEN.items():
        [line] = [ln for ln in lines if f"│ {models / rel} " in ln]
        assert " failed " in line and message in line
    assert "3 converted, 4 failed" in result.stdout
    assert "converting" not in result.stdout  # no progress bar when stdout is not a TTY


def test_all_good_exits_zero_and_mirrors_paths(models, tmp_path):
    for rel in BROKEN:
        (models / rel).unlink()
    out = tmp_path / "out"
    result = run_cli(models, "-o", out, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["ok"], doc["failed"]) == (3, 0)
    assert_good_outputs(doc["results"], out)
    assert [r["input"] for r in doc["results"]] == sorted(r["input"] for r in doc["results"])


def test_existing_outputs_are_kept_without_force(models, tmp_path):
    out = tmp_path / "out"
    (out / "a").mkdir(parents=True)
    (out / "a" / "gru.onnx").write_bytes(b"keep me")
    result = convert_many([models / "a" / "gru.keras", models / "top_lstm.h5"], out / "a")
    gru, lstm = result.results
    assert gru.status == "failed" and "already exists" in gru.error and "force=True" in gru.error
    assert (out / "a" / "gru.onnx").read_bytes() == b"keep me"
    assert lstm.status == "ok"
    again = convert_many([models / "a" / "gru.keras"], out / "a", force=True)
    assert again.failed == 0
    onnx.checker.check_model(onnx.load(out / "a" / "gru.onnx"))


def test_fail_fast_skips_the_rest(models, tmp_path):
    out = tmp_path / "out"
    result = convert_many([models], out, jobs=1, fail_fast=True)
    names = [Path(r.input).name for r in result.results]
    # Sorted input order: a/b/rnn.hdf5, a/b/truncated.h5, ... the first failure is truncated.h5.
    assert names[:2] == ["rnn.hdf5", "truncated.h5"]
    assert result.results[0].status == "ok"
    assert "truncated.h5" in result.results[1].error
    assert all(r.status == "skipped" and r.error == SKIPPED for r in result.results[2:])
    assert result.ok == 1 and result.failed == 1
    assert result.skipped == len(result.results) - 2
    assert not (out / "top_lstm.onnx").exists()


def test_fail_fast_cli_reports_skipped_files(models, tmp_path):
    result = run_cli(models, "-o", tmp_path / "out", "--json", "--fail-fast", "-j", "1")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    errors = [r["error"] for r in document["results"]]
    assert errors.count(SKIPPED) == len(errors) - 2
    statuses = [r["status"] for r in document["results"]]
    assert statuses.count("skipped") == len(errors) - 2 and statuses.count("failed") == 1
    assert (document["ok"], document["failed"], document["skipped"]) == (1, 1, len(errors) - 2)
    assert "1 of " in result.stderr and "skipped" in result.stderr


CRASHING_TASK = """
import os, signal
from pathlib import Path
from lstm_convert.batch import _convert_one


def convert_one(input_path, output, options):
    if Path(input_path).name == "gru.keras":
        os.kill(os.getpid(), signal.SIGSEGV)
    return _convert_one(input_path, output, options)
"""


def worker_task(tmp_path: Path, monkeypatch, name: str, source: str) -> None:
    """Have every worker convert files with ``convert_one`` from ``source`` (a module
    written to ``tmp_path`` and put on the workers' import path)."""
    hooks = tmp_path / "hooks"
    hooks.mkdir(exist_ok=True)
    (hooks / f"{name}.py").write_text(source)
    path = os.pathsep.join(p for p in (str(hooks), os.environ.get("PYTHONPATH")) if p)
    monkeypatch.setenv("PYTHONPATH", path)
    monkeypatch.setattr(batch, "WORKER_TASK", f"{name}:convert_one")


def crashing_workers(tmp_path: Path, monkeypatch) -> None:
    """Workers whose task kills them with SIGSEGV on the file named gru.keras."""
    worker_task(tmp_path, monkeypatch, "crashing_task", CRASHING_TASK)


RECORDING_TASK = """
import json, os, sys
from lstm_convert.batch import _convert_one

HEAVY = ("numpy", "onnx", "h5py", "onnxruntime", "lstm_convert.api")


def server_threads():
    tasks = f"/proc/{os.getppid()}/task"
    return len(os.listdir(tasks)) if os.path.isdir(tasks) else 1


def convert_one(input_path, output, options):
    from lstm_convert.threads import _openblas_threads

    record = {"pid": os.getpid(), "parent": os.getppid(), "blas": _openblas_threads(),
              "imported": [m for m in HEAVY if m in sys.modules],
              "server_threads": server_threads()}
    with open(os.environ["RECORD_TO"], "a") as log:
        log.write(json.dumps(record) + "\\n")
    return _convert_one(input_path, output, options)
"""


@pytest.mark.skipif(not batch.FORK_SERVER, reason="no fork server on this platform")
def test_workers_are_forked_from_one_server_that_imported_everything(models, tmp_path, monkeypatch):
    """Issue 17: the heavy imports happen once, in the server, before any worker exists;
    every worker (two at once, and the one replacing a crashed worker) is its child."""
    for rel in BROKEN:
        (models / rel).unlink()
    worker_task(tmp_path, monkeypatch, "recording_task", RECORDING_TASK)
    record = tmp_path / "record.jsonl"
    monkeypatch.setenv("RECORD_TO", str(record))
    result = convert_many([models], tmp_path / "out", jobs=2)
    assert result.ok == 3
    rows = [json.loads(line) for line in record.read_text().splitlines()]
    assert len(rows) == 3
    assert len({row["parent"] for row in rows}) == 1  # one server
    assert os.getpid() not in {row["parent"] for row in rows}
    assert len({row["pid"] for row in rows}) == 2  # two workers, reused
    assert all(len(row["imported"]) == 5 for row in rows)
    assert all(row["server_threads"] == 1 for row in rows)  # it forks with no other thread
    assert all(row["blas"] in (None, batch.worker_budget(2)) for row in rows)


@pytest.mark.skipif(not batch.FORK_SERVER, reason="no fork server on this platform")
def test_a_forked_worker_takes_its_thread_budget(tmp_path, monkeypatch):
    worker_task(tmp_path, monkeypatch, "recording_task", RECORDING_TASK)
    record = tmp_path / "record.jsonl"
    monkeypatch.setenv("RECORD_TO", str(record))
    result = convert_many([lstm_h5()], tmp_path / "out", jobs=1, threads=3)
    assert result.ok == 1
    (row,) = [json.loads(line) for line in record.read_text().splitlines()]
    assert row["server_threads"] == 1
    assert row["blas"] in (None, 3)  # None: not an OpenBLAS build


SERVER_RECORDING_TASK = (
    RECORDING_TASK.replace(
        '"server_threads": server_threads()}',
        '"server_threads": server_threads(), "server_cmdline": server_cmdline()}',
    )
    + """

def server_cmdline():
    with open(f"/proc/{os.getppid()}/cmdline", "rb") as handle:
        return handle.read().decode(errors="replace")
"""
)

# convert_many in a fresh interpreter, as the batch command runs it: light (no NumPy yet)
# and single-threaded when the pool boots its server.
CLEAN_CALLER = """
import json, os, sys
from lstm_convert.batch import convert_many
assert "numpy" not in sys.modules
result = convert_many([sys.argv[1]], sys.argv[2], jobs=2)
status = {os.path.basename(r.input): [r.status, r.error] for r in result.results}
cmdline = open("/proc/self/cmdline", "rb").read().decode()
print(json.dumps({"cmdline": cmdline, "status": status, "numpy": "numpy" in sys.modules}))
"""


def run_clean_caller(tmp_path: Path, models: Path, task: str, source: str) -> dict:
    hooks = tmp_path / "hooks"
    hooks.mkdir(exist_ok=True)
    (hooks / f"{task}.py").write_text(source)
    code = f"from lstm_convert import batch; batch.WORKER_TASK = '{task}:convert_one'\n"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(hooks), str(ROOT)]),
        "RECORD_TO": str(tmp_path / "record.jsonl"),
    }
    done = subprocess.run(
        [sys.executable, "-c", code + CLEAN_CALLER, str(models), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.skipif(
    not (batch.FORK_SERVER and os.path.isdir("/proc/self/task")), reason="needs the fork server"
)
def test_a_light_caller_forks_its_server_and_stays_light(models, tmp_path):
    """Issue 17: the batch command's process imports no NumPy; it forks itself into the
    fork server (no second interpreter start-up), whose children are the workers."""
    for rel in BROKEN:
        (models / rel).unlink()
    caller = run_clean_caller(tmp_path, models, "server_task", SERVER_RECORDING_TASK)
    assert caller["status"] == {
        name: ["ok", None] for name in ("top_lstm.h5", "gru.keras", "rnn.hdf5")
    }
    assert not caller["numpy"]  # results came back without importing the converter
    rows = [json.loads(line) for line in (tmp_path / "record.jsonl").read_text().splitlines()]
    assert len(rows) == 3
    assert len({row["parent"] for row in rows}) == 1  # one server ...
    assert {row["server_cmdline"] for row in rows} == {caller["cmdline"]}  # ... forked, not run
    assert all(row["server_threads"] == 1 for row in rows)
    assert all(len(row["imported"]) == 5 for row in rows)


@pytest.mark.skipif(
    not (batch.FORK_SERVER and os.path.isdir("/proc/self/task") and hasattr(signal, "SIGSEGV")),
    reason="needs the fork server and SIGSEGV",
)
def test_a_worker_of_a_forked_server_crashes_alone(models, tmp_path):
    for rel in BROKEN:
        (models / rel).unlink()
    caller = run_clean_caller(tmp_path, models, "crash_task", CRASHING_TASK)
    assert caller["status"]["gru.keras"] == ["failed", "worker crashed (exit code -11, SIGSEGV)"]
    assert caller["status"]["top_lstm.h5"] == ["ok", None]
    assert caller["status"]["rnn.hdf5"] == ["ok", None]
    assert not list((tmp_path / "out").rglob("*.part"))


@pytest.mark.skipif(
    not (batch.FORK_SERVER and os.path.isdir("/proc/self/task")), reason="needs the fork server"
)
def test_the_batch_command_boots_its_server_before_importing_its_cli(models, tmp_path):
    """Issue 17: ``lstm-convert batch`` (the console entry, lstm_convert.launch) forks its
    server first thing, so the server's imports overlap the CLI's start-up: the workers,
    forked from it, have never imported typer."""
    for rel in BROKEN:
        (models / rel).unlink()
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    source = SERVER_RECORDING_TASK.replace('"numpy", "onnx"', '"typer", "numpy", "onnx"')
    (hooks / "early_task.py").write_text(source)
    code = (
        "import sys; from lstm_convert import batch; batch.WORKER_TASK = 'early_task:convert_one'; "
        "sys.argv[0] = 'lstm-convert'; from lstm_convert.launch import main; main()"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(hooks), str(ROOT)]),
        "RECORD_TO": str(tmp_path / "record.jsonl"),
    }
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-c", code, "batch", str(models), "-o", str(out), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout)["ok"] == 3
    rows = [json.loads(line) for line in (tmp_path / "record.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and len({row["parent"] for row in rows}) == 1
    assert all("typer" not in row["imported"] for row in rows)  # forked before the CLI loaded
    assert all(len(row["imported"]) == 5 for row in rows)  # and then imported the converter
    assert all("_fork_server_main" not in row["server_cmdline"] for row in rows)


@pytest.mark.skipif(
    not (batch.FORK_SERVER and os.path.isdir("/proc/self/task")), reason="needs the fork server"
)
def test_an_early_server_no_pool_adopted_is_killed_and_reaped():
    """``batch`` with a bad option exits 2 before any pool: its early server must not be
    left behind, not even as a zombie."""
    code = (
        "import os; from lstm_convert import batch; batch.boot_early(); "
        "pid = batch._EARLY.process.pid; alive = os.path.exists(f'/proc/{pid}'); "
        "batch.discard_early(); print(alive, os.path.exists(f'/proc/{pid}'), batch._EARLY)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["True", "False", "None"], done.stderr[-2000:]


def test_a_caller_with_numpy_spawns_its_server(models, tmp_path, monkeypatch):
    """A process that imported NumPy (or runs threads) is not forked: its server is a fresh
    interpreter (its command line names the server's entry point)."""
    for rel in BROKEN:
        (models / rel).unlink()
    worker_task(tmp_path, monkeypatch, "server_task", SERVER_RECORDING_TASK)
    monkeypatch.setenv("RECORD_TO", str(tmp_path / "record.jsonl"))
    result = convert_many([models], tmp_path / "out", jobs=1)
    assert result.ok == 3
    rows = [json.loads(line) for line in (tmp_path / "record.jsonl").read_text().splitlines()]
    if batch.FORK_SERVER:
        assert all("_fork_server_main" in row["server_cmdline"] for row in rows)


@pytest.mark.skipif(not hasattr(signal, "SIGSEGV"), reason="needs SIGSEGV")
@pytest.mark.parametrize("fork_server", [True, False])
def test_a_crashing_worker_fails_only_its_own_file(models, tmp_path, monkeypatch, fork_server):
    for rel in BROKEN:
        (models / rel).unlink()
    crashing_workers(tmp_path, monkeypatch)
    monkeypatch.setattr(batch, "FORK_SERVER", fork_server and batch.FORK_SERVER)
    result = convert_many([models], tmp_path / "out", jobs=2)
    rows = {Path(r.input).name: r for r in result.results}
    assert rows["gru.keras"].status == "failed"
    assert rows["gru.keras"].error == "worker crashed (exit code -11, SIGSEGV)"
    assert rows["top_lstm.h5"].status == "ok" and rows["rnn.hdf5"].status == "ok"
    assert not list((tmp_path / "out").rglob("*.part"))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a named pipe")
def test_a_file_that_hangs_times_out_alone(models, tmp_path):
    """A real hang, no test hook: HDF5 never returns from reading this fuzz-found file.
    The worker's own read deadline is 30 s; the batch's 3 s timeout must come first,
    and the worker's forked probe must not outlive it."""
    stuck = tmp_path / "stuck.h5"
    shutil.copy(ROOT / "tests" / "fixtures" / "hostile" / "hdf5_metadata_loop.h5", stuck)
    started = time.monotonic()
    result = convert_many(
        [stuck, models / "top_lstm.h5", models / "a" / "gru.keras"],
        tmp_path / "out",
        jobs=2,
        timeout=3,
    )
    assert time.monotonic() - started < 60
    hung, lstm, gru = result.results
    assert hung.status == "failed" and hung.error == "timed out after 3 s"
    assert hung.seconds >= 3
    assert lstm.status == "ok" and gru.status == "ok"
    assert within(0.5, lambda: not _processes_reading(stuck))


def within(seconds: float, condition) -> bool:
    """Whether ``condition()`` holds within ``seconds``: polled, so the test goes on as soon
    as it holds instead of sleeping for the worst case."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _dead(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        return "zombie" in status.read_text()
    except FileNotFoundError:
        return True


def _processes_reading(path) -> list[int]:
    """PIDs whose command line or open files mention ``path`` (Linux /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            links = [
                os.readlink(f"/proc/{entry}/fd/{fd}") for fd in os.listdir(f"/proc/{entry}/fd")
            ]
        except OSError:
            continue
        if str(path) in links:
            found.append(int(entry))
    return found


def test_a_fifo_is_refused_at_once(models, tmp_path):
    fifo = tmp_path / "pipe.h5"
    os.mkfifo(fifo)
    result = convert_many([fifo, models / "top_lstm.h5"], tmp_path / "out", timeout=30)
    assert [r.status for r in result.results] == ["failed", "ok"]
    assert "not a regular file" in result.results[0].error


def test_a_tiny_timeout_fails_the_file_not_the_batch(models, tmp_path):
    result = convert_many(
        [models / "top_lstm.h5", models / "a" / "gru.keras"], tmp_path / "out", timeout=0.001
    )
    assert [r.error for r in result.results] == ["timed out after 0.001 s"] * 2
    assert not list((tmp_path / "out").rglob("*.onnx"))
    assert not list((tmp_path / "out").rglob("*.part"))


def test_missing_paths_empty_directories_and_collisions_are_failed_results(models, tmp_path):
    (tmp_path / "empty_dir").mkdir()
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(lstm_h5(), other / "top_lstm.h5")  # same name as models/top_lstm.h5
    shutil.copy(lstm_h5(), other / "model.bin")  # a file argument: taken whatever its suffix
    result = convert_many(
        [
            tmp_path / "missing",
            tmp_path / "empty_dir",
            models / "top_lstm.h5",
            other / "top_lstm.h5",
            other / "model.bin",
            other / "model.bin",  # deduplicated
        ],
        tmp_path / "out",
    )
    missing, empty, first, second, renamed = result.results
    assert missing.error == f"{tmp_path / 'missing'}: no such file or directory"
    assert "no files matching *.h5, *.hdf5, *.keras" in empty.error
    assert "would also be written from" in first.error and str(other) in first.error
    assert "would also be written from" in second.error
    assert renamed.status == "ok" and Path(renamed.output) == tmp_path / "out" / "model.onnx"
    assert not (tmp_path / "out" / "top_lstm.onnx").exists()


def test_pattern_selects_files_case_insensitively(models, tmp_path):
    shutil.copy(gru_keras(), models / "UPPER.KERAS")
    result = convert_many([models], tmp_path / "out", pattern="*.keras")
    names = sorted(Path(r.input).name for r in result.results)
    assert names == ["UPPER.KERAS", "gru.keras", "notes.keras"]
    assert result.ok == 2


def test_outputs_inside_a_searched_directory_are_not_inputs(models):
    out = models / "onnx"
    first = convert_many([models], out, pattern=["*.h5", "*.onnx"])
    second = convert_many([models], out, pattern=["*.h5", "*.onnx"], force=True)
    assert [r.input for r in first.results] == [r.input for r in second.results]
    assert not any("onnx" in Path(r.input).parts for r in second.results)


def test_outdir_that_is_a_file_is_a_usage_error(models, tmp_path):
    target = tmp_path / "taken"
    target.write_text("x")
    with pytest.raises(OutputPathError, match="not a directory"):
        convert_many([models], target)
    result = run_cli(models, "-o", target)
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("error: ")


def test_progress_callback_counts_every_file(models, tmp_path):
    calls = []
    result = convert_many(
        [models], tmp_path / "out", progress=lambda *args: calls.append(args), jobs=2
    )
    total = len(result.results)
    assert calls[0] == (0, total, None)
    assert [done for done, _, _ in calls] == list(range(total + 1))
    assert {id(r) for _, _, r in calls[1:]} == {id(r) for r in result.results}


def test_to_dict_is_plain_json(models, tmp_path):
    result = convert_many([models], tmp_path / "out", verify=False, bias_split="half", opset=14)
    assert isinstance(result, BatchResult)
    text = json.dumps(result.to_dict(), allow_nan=False)
    doc = json.loads(text)
    assert doc["ok"] == 3 and doc["failed"] == 4
    # --no-verify: nothing to report as a parity error
    assert all(r["max_abs_error"] is None for r in doc["results"])


def test_invalid_arguments_raise_value_error(models, tmp_path):
    for kwargs in ({"jobs": 0}, {"timeout": -1.0}, {"bias_split": "middle"}, {"pattern": []}):
        with pytest.raises(ValueError):
            convert_many([models], tmp_path / "out", **kwargs)


def test_importing_the_cli_stays_light():
    code = (
        "import sys, lstm_convert.cli, lstm_convert.cli.batch, lstm_convert.batch; "
        "print([m for m in ('numpy', 'onnx', 'onnxruntime', 'h5py') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.skipif(
    not (hasattr(os, "mkfifo") and Path("/proc/self/task").is_dir()), reason="Linux only"
)
def test_sigterm_stops_the_workers_too(tmp_path):
    stuck = tmp_path / "stuck.h5"  # HDF5 never finishes reading it (see test above)
    shutil.copy(ROOT / "tests" / "fixtures" / "hostile" / "hdf5_metadata_loop.h5", stuck)
    command = [sys.executable, "-m", "lstm_convert", "batch", str(stuck), "-o", str(tmp_path)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children_file = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    workers: list[int] = []
    deadline = time.monotonic() + 30
    while not workers and time.monotonic() < deadline:
        time.sleep(0.1)
        workers = [int(pid) for pid in children_file.read_text().split()]
    assert workers, "no worker started"
    # The worker is stuck in HDF5 once something holds the file open.
    assert within(30, lambda: _processes_reading(stuck)), "no worker reads the file"
    process.terminate()
    assert process.wait(30) == 128 + 15

    # The workers end, and so does the probe a worker forked (it dies with its parent).
    def gone() -> bool:
        return all(_dead(pid) for pid in workers) and not _processes_reading(stuck)

    assert within(0.2, gone), (
        [pid for pid in workers if not _dead(pid)],
        _processes_reading(stuck),
    )


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the probe needs fork")
def test_workers_with_a_timeout_skip_the_read_probe(tmp_path, monkeypatch):
    """The per-file timeout already bounds a hanging read, so supervised workers skip the
    forked probe (issue 17: it cost more than the conversion of a small file). Without a
    timeout the probe stays, and its own deadline (1 s here) ends the hang."""
    stuck = tmp_path / "stuck.h5"
    shutil.copy(ROOT / "tests" / "fixtures" / "hostile" / "hdf5_metadata_loop.h5", stuck)
    monkeypatch.setenv("LSTM_CONVERT_READ_TIMEOUT", "1")
    unsupervised = convert_many([stuck], tmp_path / "a", jobs=1, timeout=None)
    assert "did not finish within 1 s" in unsupervised.results[0].error
    supervised = convert_many([stuck], tmp_path / "b", jobs=1, timeout=4)
    assert supervised.results[0].error == "timed out after 4 s"


def test_a_suffix_collision_suggests_keep_suffix_which_resolves_it(tmp_path):
    """samples/ itself holds seed_lstm.h5 beside seed_lstm.keras (issue 16, item 4)."""
    pair = tmp_path / "pair"
    pair.mkdir()
    shutil.copy(SAMPLES / "seed_lstm.h5", pair / "m.h5")
    shutil.copy(SAMPLES / "seed_lstm.keras", pair / "m.keras")
    result = CliRunner().invoke(app, ["batch", str(pair), "-o", str(tmp_path / "out"), "--json"])
    assert result.exit_code == 1
    errors = [row["error"] for row in json.loads(result.stdout)["results"]]
    assert all("pass --keep-suffix to name them m.h5.onnx" in e for e in errors), errors
    result = CliRunner().invoke(
        app, ["batch", str(pair), "-o", str(tmp_path / "out"), "--keep-suffix", "--no-verify"]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["m.h5.onnx", "m.keras.onnx"]


def test_several_roots_get_one_subfolder_each(tmp_path):
    roots = [tmp_path / "a" / "models", tmp_path / "b" / "models", tmp_path / "c"]
    for root in roots:
        root.mkdir(parents=True)
        shutil.copy(SAMPLES / "seed_lstm.h5", root / "m.h5")
    result = convert_many(roots, tmp_path / "out", verify=False)
    assert result.ok == 3, [r.error for r in result.results]
    outputs = sorted(
        Path(r.output).relative_to(tmp_path / "out").as_posix() for r in result.results
    )
    assert outputs == ["c/m.onnx", "models-2/m.onnx", "models/m.onnx"]
    single = convert_many([roots[0]], tmp_path / "one", verify=False)
    assert Path(single.results[0].output) == tmp_path / "one" / "m.onnx"  # as before
