"""Hostile files that cost time or memory: each refused (or handled) within a bound.

Bounds are checked where the old behaviour was unbounded (minutes, gigabytes); peak
memory is measured in a child process (``ru_maxrss`` of everything it waited for).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import h5py
import numpy as np
import onnx
import pytest
from conftest import ROOT, SAMPLES
from onnx import TensorProto, helper
from test_hostile import _seed_members
from typer.testing import CliRunner

from lstm_convert.cli import app
from lstm_convert.model import Call, KerasModel, Layer, SourceInfo, TensorRef, call_order

SEED_H5 = SAMPLES / "seed_lstm.h5"
SEED_KERAS = SAMPLES / "seed_lstm.keras"
MB = 1024 * 1024


def measured(*args: str, timeout: float = 120) -> tuple[subprocess.CompletedProcess, float, int]:
    """Run the CLI in a child; return (result, seconds, peak RSS in MB of it and its children)."""
    code = (
        "import resource, subprocess, sys\n"
        "proc = subprocess.run([sys.executable, '-m', 'lstm_convert', *sys.argv[1:]])\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024\n"
        "print(f'PEAK {peak}', file=sys.stderr)\n"
        "sys.exit(proc.returncode)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # so a timeout kills the converter too, not only the wrapper
    )
    try:
        stdout, stderr = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
        raise
    proc = subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)
    seconds = time.perf_counter() - started
    *lines, last = proc.stderr.strip().splitlines()
    proc.stderr = "\n".join(lines)
    return proc, seconds, int(last.split()[1])


def assert_one_line(proc: subprocess.CompletedProcess, expect: str = "") -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert expect.lower() in lines[0].lower(), lines[0]


# --- graph size ------------------------------------------------------------------------


def old_call_order(model: KerasModel) -> list[tuple[Layer, int]]:
    """The previous, quadratic algorithm: repeated passes. The new one must match it."""
    done = {(layer.name, 0) for layer in model.layers if layer.class_name == "InputLayer"}
    pending = [(layer, i) for layer in model.layers for i in range(len(layer.calls))]
    order = []
    while pending:
        waiting = []
        for layer, index in pending:
            if all((r.layer, r.node) in done for r in layer.calls[index].inputs):
                order.append((layer, index))
                done.add((layer.name, index))
            else:
                waiting.append((layer, index))
        if len(waiting) == len(pending):
            raise ValueError("cycle")
        pending = waiting
    return order


def random_dag(rng: random.Random, size: int) -> KerasModel:
    layers = [Layer("in", "InputLayer", {})]
    for i in range(size):
        sources = rng.sample(range(i + 1), k=min(i + 1, rng.randint(1, 3)))
        names = ["in" if s == 0 else f"l{s - 1}" for s in sources]
        layers.append(Layer(f"l{i}", "Dense", {}, calls=[Call([TensorRef(n) for n in names])]))
    head, rest = layers[:1], layers[1:]
    rng.shuffle(rest)
    source = SourceInfo("x", "keras3-h5", "3")
    return KerasModel("m", "Functional", head + rest, [TensorRef("in")], [], source)


def test_call_order_matches_the_pass_order():
    rng = random.Random(0)
    for size in [1, 2, 5, 20, 60] * 8:
        model = random_dag(rng, size)
        new = [(layer.name, i) for layer, i in call_order(model)]
        assert new == [(layer.name, i) for layer, i in old_call_order(model)]


def test_call_order_still_refuses_cycles():
    from lstm_convert.errors import InputFileError

    model = random_dag(random.Random(1), 5)
    model.layers[1].calls[0].inputs.append(TensorRef(model.layers[1].name))
    with pytest.raises(InputFileError, match="cannot be ordered"):
        call_order(model)


def big_graph(path: Path, count: int) -> Path:
    """The seed LSTM followed by ``count`` Dropouts, listed in reverse (the worst order)."""
    import shutil

    shutil.copy(SEED_H5, path)
    with h5py.File(path, "r+") as f:
        first, lstm = json.loads(f.attrs["model_config"])["config"]["layers"]
        first = {**first, "name": "input_1", "inbound_nodes": []}
        lstm = {**lstm, "name": "lstm", "inbound_nodes": [[["input_1", 0, 0, {}]]]}
        previous, chain = "lstm", []
        for i in range(count):
            config = {"name": f"drop_{i}", "rate": 0.5, "trainable": True, "dtype": "float32"}
            chain.append(
                {
                    "class_name": "Dropout",
                    "name": config["name"],
                    "config": config,
                    "inbound_nodes": [[[previous, 0, 0, {}]]],
                }
            )
            previous = config["name"]
        layers = [first, lstm, *chain[::-1]]
        config = {
            "name": "big",
            "layers": layers,
            "input_layers": [["input_1", 0, 0]],
            "output_layers": [[previous, 0, 0]],
        }
        f.attrs["model_config"] = json.dumps({"class_name": "Functional", "config": config})
    return path


def test_ten_thousand_layers_convert_in_seconds(tmp_path):
    path = big_graph(tmp_path / "big.h5", 10_000)
    proc, seconds, peak = measured("convert", str(path), "-o", str(tmp_path / "big.onnx"))
    assert proc.returncode == 0, proc.stderr
    assert seconds < 30 and peak < 1500, (seconds, peak)  # was past 70 s


# --- configs that cost memory ----------------------------------------------------------


def test_config_of_millions_of_empty_objects_is_refused_cheaply(tmp_path):
    members = _seed_members()
    members["config.json"] = b"[" + b"{}," * 10_000_000 + b"{}]"
    path = tmp_path / "bomb.keras"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    proc, seconds, peak = measured("convert", str(path), "-o", str(tmp_path / "m.onnx"))
    assert_one_line(proc, expect="JSON objects")
    assert "HDF5" not in proc.stderr
    assert seconds < 30 and peak < 500, (seconds, peak)
    assert not (tmp_path / "m.onnx").exists()


def test_keras_weights_inflating_past_what_the_config_needs(tmp_path):
    """A model.weights.h5 inflating to 400 MB of zeros, the archive padded to stay under the
    64x ratio: refused from the declared size, before inflating."""
    members = _seed_members()
    path = tmp_path / "bomb.keras"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in ("config.json", "metadata.json"):
            archive.writestr(name, members[name])
        archive.writestr("padding.bin", os.urandom(8 * MB), zipfile.ZIP_STORED)
        with archive.open("model.weights.h5", "w", force_zip64=True) as member:
            member.write(members["model.weights.h5"])
            zeros = bytes(16 * MB)
            for _ in range(25):
                member.write(zeros)
    assert path.stat().st_size * 64 > 400 * MB  # the old ratio cap let it through
    proc, seconds, peak = measured("convert", str(path), "-o", str(tmp_path / "m.onnx"))
    assert_one_line(proc, expect="cap")
    assert seconds < 30 and peak < 400, (seconds, peak)


# --- verify on a hostile ONNX ----------------------------------------------------------


def _hostile_onnx(path: Path, nodes, initializers=(), outputs=("y",)) -> Path:
    graph = helper.make_graph(
        nodes,
        "hostile",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 10, 5])],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in outputs],
        initializer=list(initializers),
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path))
    return path


def endless_loop(path: Path) -> Path:
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"])],
        "body",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
        ],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, [])],
    )
    true = helper.make_tensor("t", TensorProto.BOOL, [], [True])
    loop = helper.make_node("Loop", ["", "t"], [], body=body)
    return _hostile_onnx(path, [loop, helper.make_node("Identity", ["x"], ["y"])], [true])


def expand_bomb(path: Path) -> Path:
    shape = helper.make_tensor("shape", TensorProto.INT64, [3], [50_000, 10, 5_000])
    node = helper.make_node("Expand", ["x", "shape"], ["y"])
    return _hostile_onnx(path, [node], [shape])


def constant_bomb(path: Path) -> Path:
    """10 GB from ConstantOfShape, which converted models do use: the memory cap stops it."""
    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [50_000, 50_000])
    nodes = [
        helper.make_node("ConstantOfShape", ["shape"], ["big"]),
        helper.make_node("ReduceSum", ["big"], ["y"]),
    ]
    return _hostile_onnx(path, nodes, [shape])


def endless_matmuls(path: Path) -> Path:
    """Minutes of arithmetic in a few hundred bytes: the deadline stops it."""
    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [3000, 3000])
    nodes = [helper.make_node("ConstantOfShape", ["shape"], ["m0"])]
    for i in range(200):
        nodes.append(helper.make_node("MatMul", [f"m{i}", f"m{i}"], [f"m{i + 1}"]))
    nodes.append(helper.make_node("ReduceSum", ["m200"], ["y"]))
    return _hostile_onnx(path, nodes, [shape])


@pytest.mark.parametrize("build, expect", [(endless_loop, "Loop"), (expand_bomb, "Expand")])
def test_verify_refuses_unbounded_operators(tmp_path, build, expect):
    onnx_path = build(tmp_path / "hostile.onnx")
    proc, seconds, peak = measured("verify", str(SEED_H5), str(onnx_path), timeout=60)
    assert_one_line(proc, expect=expect)
    assert seconds < 30 and peak < 1500


def test_verify_caps_onnxruntime_memory(tmp_path):
    onnx_path = constant_bomb(tmp_path / "hostile.onnx")
    proc, seconds, peak = measured("verify", str(SEED_H5), str(onnx_path), timeout=60)
    assert_one_line(proc, expect="onnxruntime")
    assert seconds < 30 and peak < 1500, (seconds, peak)


def test_verify_has_a_deadline(tmp_path, monkeypatch):
    from lstm_convert import sandbox

    monkeypatch.setattr(sandbox, "VERIFY_TIMEOUT", 2.0)
    onnx_path = endless_matmuls(tmp_path / "slow.onnx")
    started = time.perf_counter()
    result = CliRunner().invoke(app, ["verify", str(SEED_H5), str(onnx_path)])
    assert result.exit_code == 2, result.output
    assert "did not finish within 2 s" in result.stderr
    assert time.perf_counter() - started < 20


# --- verify --inputs -------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_onnx(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("seed") / "seed.onnx"
    assert CliRunner().invoke(app, ["convert", str(SEED_H5), "-o", str(out)]).exit_code == 0
    return out


def verify_inputs(seed_onnx: Path, inputs: Path, expect: str) -> None:
    result = CliRunner().invoke(
        app, ["verify", str(SEED_H5), str(seed_onnx), "--inputs", str(inputs)]
    )
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert message.startswith("error: ") and "\n" not in message, message
    assert expect.lower() in message.lower(), message


def test_inputs_fifo_does_not_block(tmp_path, seed_onnx):
    fifo = tmp_path / "inputs.npz"
    os.mkfifo(fifo)
    done = []
    thread = threading.Thread(target=lambda: done.append(verify_inputs(seed_onnx, fifo, "regular")))
    thread.start()
    thread.join(30)
    if thread.is_alive():  # unblock the reader so the test run can end
        with open(fifo, "wb"):
            pass
        thread.join(10)
        pytest.fail("verify --inputs blocked on a FIFO")
    assert done == [None]


def test_inputs_plain_npy(tmp_path, seed_onnx):
    path = tmp_path / "inputs.npy"
    np.save(path, np.zeros((2, 10, 5), np.float32))
    verify_inputs(seed_onnx, path, "not an .npz")


def _npz_with_header(path: Path, name: str, shape: tuple[int, ...], payload: bytes = b"") -> Path:
    import io

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": shape}
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, header.getvalue() + payload)
    return path


def test_inputs_declaring_terabytes(tmp_path, seed_onnx):
    path = _npz_with_header(tmp_path / "in.npz", "input_0.npy", (2**20, 2**20, 1000))
    verify_inputs(seed_onnx, path, "budget")


def test_inputs_with_an_empty_batch(tmp_path, seed_onnx):
    path = tmp_path / "in.npz"
    np.savez(path, input_0=np.zeros((0, 10, 5), np.float32))
    verify_inputs(seed_onnx, path, "empty")


def test_inputs_unused_member_is_never_inflated(tmp_path, seed_onnx):
    """An .npz with the real input and an unused 1 GB member of zeros (5 MB deflated at
    level 1, which takes the test a third of the default level's time)."""
    path = tmp_path / "in.npz"
    np.savez(path, input_0=np.random.default_rng(0).normal(size=(2, 10, 5)).astype(np.float32))
    with (
        zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
        archive.open("unused.npy", "w", force_zip64=True) as member,
    ):
        np.lib.format.write_array_header_1_0(
            member, {"descr": "|u1", "fortran_order": False, "shape": (1024 * MB,)}
        )
        zeros = bytes(16 * MB)
        for _ in range(64):
            member.write(zeros)
    proc, seconds, peak = measured("verify", str(SEED_H5), str(seed_onnx), "--inputs", str(path))
    assert proc.returncode == 0, proc.stderr
    assert peak < 700, peak


# --- strict JSON and quiet NumPy -------------------------------------------------------


def test_inspect_json_is_strict(tmp_path):
    import shutil

    path = tmp_path / "nan.h5"
    shutil.copy(SEED_H5, path)
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        config["config"]["layers"][1]["config"]["dropout"] = float("nan")
        f.attrs["model_config"] = json.dumps(config)
    result = CliRunner().invoke(app, ["inspect", "--json", str(path)])
    assert result.exit_code == 0, result.output

    def refuse(token):
        raise ValueError(token)

    data = json.loads(result.stdout, parse_constant=refuse)
    assert data["layers"][1]["options"]["dropout"] is None


def test_large_weights_print_no_numpy_warnings(tmp_path):
    import shutil

    path = tmp_path / "large.h5"
    shutil.copy(SEED_H5, path)
    with h5py.File(path, "r+") as f:
        kernel = f["model_weights/lstm/lstm/lstm_cell/kernel:0"]
        kernel[...] = np.full(kernel.shape, 1e30, np.float32)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "lstm_convert",
            "convert",
            str(path),
            "-o",
            str(tmp_path / "m.onnx"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert "Warning" not in proc.stderr, proc.stderr
