"""The thread budget: N batch workers on C cores get max(1, C // N) threads each."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from typer.testing import CliRunner

from lstm_convert import api, batch, parity, threads
from lstm_convert.cli import app

SAMPLE = ROOT / "samples" / "seed_lstm.h5"
# A fresh interpreter that reports how many threads it runs once NumPy's BLAS is loaded.
COUNT_THREADS = (
    "import numpy; numpy.ones((64, 64)) @ numpy.ones((64, 64)); "
    "print(open('/proc/self/status').read().split('Threads:')[1].split()[0])"
)


@pytest.fixture
def no_budget(monkeypatch):
    monkeypatch.delenv(threads.THREADS_ENV, raising=False)


@pytest.mark.parametrize(
    ("cores", "jobs", "given", "expected"),
    [(2, 1, None, 2), (2, 2, None, 1), (8, 3, None, 2), (2, 4, None, 1), (2, 2, 3, 3)],
)
def test_worker_budget_divides_the_cores(monkeypatch, no_budget, cores, jobs, given, expected):
    monkeypatch.setattr(threads, "cpu_count", lambda: cores)
    assert threads.worker_budget(jobs, given) == expected


def test_environment_budget_applies_to_every_worker(monkeypatch):
    monkeypatch.setattr(threads, "cpu_count", lambda: 8)
    monkeypatch.setenv(threads.THREADS_ENV, "3")
    assert threads.worker_budget(2) == 3
    assert threads.worker_budget(2, 5) == 5  # the option beats the variable


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_threads_must_be_a_positive_integer(bad):
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        threads.check_threads(bad)


def test_worker_env_sets_thread_counts_and_keeps_the_rest(monkeypatch):
    monkeypatch.setenv("OPENBLAS_CORETYPE", "SkylakeX")
    env = batch._worker_env(1)
    for name in (*threads.BLAS_ENV, threads.THREADS_ENV):
        assert env[name] == "1"
    assert env["OPENBLAS_CORETYPE"] == "SkylakeX"  # never touched


@pytest.mark.skipif(
    not Path("/proc/self/status").exists() or threads.cpu_count() < 2, reason="Linux, 2+ CPUs"
)
def test_a_worker_environment_really_limits_blas():
    env = {k: v for k, v in os.environ.items() if k not in (*threads.BLAS_ENV, threads.THREADS_ENV)}

    def count(environment: dict[str, str]) -> int:
        run = subprocess.run(
            [sys.executable, "-c", COUNT_THREADS], env=environment, capture_output=True, text=True
        )
        return int(run.stdout)

    assert count(env) > 1  # OpenBLAS starts a pool on every core by default
    assert count({**env, **batch._worker_env(1)}) == 1


class SessionSpy:
    """Records the thread settings of every onnxruntime session the check creates."""

    def __init__(self, monkeypatch):
        import onnxruntime as ort

        self.seen: list[tuple[int, int]] = []
        real = ort.InferenceSession

        def spy(source, options, **kwargs):
            self.seen.append((options.intra_op_num_threads, options.inter_op_num_threads))
            return real(source, options, **kwargs)

        monkeypatch.setattr(ort, "InferenceSession", spy)


def test_api_threads_reach_onnxruntime_and_are_restored(tmp_path, monkeypatch, no_budget):
    spy = SessionSpy(monkeypatch)
    api.convert(SAMPLE, tmp_path / "a.onnx", threads=1)
    api.convert(SAMPLE, tmp_path / "b.onnx")
    assert spy.seen == [(1, 1), (0, 0)]  # 0: onnxruntime's default, every core
    assert threads.THREADS_ENV not in os.environ


def test_environment_variable_reaches_onnxruntime(monkeypatch):
    spy = SessionSpy(monkeypatch)
    monkeypatch.setenv(threads.THREADS_ENV, "2")
    model = api.load(SAMPLE)
    exported = api.build_onnx(model, api.ConvertOptions())
    parity.check_parity(
        model, exported.model.SerializeToString(), exported.input_names, exported.output_names
    )
    assert spy.seen == [(2, 1)]


def test_cli_threads_option(tmp_path, monkeypatch, no_budget):
    spy = SessionSpy(monkeypatch)
    result = CliRunner().invoke(
        app, ["convert", str(SAMPLE), "-o", str(tmp_path / "a.onnx"), "--threads", "1"]
    )
    assert result.exit_code == 0, result.output
    assert spy.seen == [(1, 1)]
    assert threads.THREADS_ENV not in os.environ
    bad = CliRunner().invoke(app, ["convert", str(SAMPLE), "--threads", "0"])
    assert bad.exit_code == 2


def test_batch_workers_get_the_budget(tmp_path, monkeypatch, no_budget):
    seen = []
    real = batch._launcher

    def spy(budget: int, supervised: bool):
        seen.append(budget)
        return real(budget, supervised)

    monkeypatch.setattr(batch, "_launcher", spy)
    monkeypatch.setattr(batch, "worker_budget", lambda jobs, given: given or 7)
    result = batch.convert_many([SAMPLE], tmp_path / "out", jobs=1, threads=2)
    assert result.ok == 1 and seen == [2]
    batch.convert_many([SAMPLE], tmp_path / "again", jobs=1, force=True)
    assert seen == [2, 7]
    with pytest.raises(ValueError, match="threads"):
        batch.convert_many([SAMPLE], tmp_path / "x", threads=0)


@pytest.mark.skipif(threads._openblas() is None, reason="needs OpenBLAS")
def test_the_reference_runs_on_one_blas_thread_and_gives_the_pool_back(monkeypatch):
    """Issue 17: the check's reference products have a handful of rows; on a busy machine
    a second BLAS thread made them 6-9x slower. onnxruntime and the caller keep theirs."""
    seen = []
    real = parity.run_reference

    def spy(*args):
        seen.append(threads._openblas_threads())
        return real(*args)

    monkeypatch.setattr(parity, "run_reference", spy)
    before = threads._openblas_threads()
    threads._set_openblas_threads(2)
    try:
        model = api.load(SAMPLE)
        exported = api.build_onnx(model, api.ConvertOptions())
        parity.reference_case(model, exported.input_names, exported.states)
        assert seen == [1]
        assert threads._openblas_threads() == 2
    finally:
        threads._set_openblas_threads(before)
