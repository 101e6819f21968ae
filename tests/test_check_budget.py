"""The built-in check's inputs are sized from a memory and time budget (issues 12 and 17).

Hostile configs are built by editing the config of samples/seed_lstm.h5 (a Sequential of
LSTM(4) over [None, 10, 5]); the weights stay Keras's own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLES
from test_hostile import _edit_h5_config, _lstm_config, assert_refused

from lstm_convert import api, check_budget, parity

SEED_H5 = SAMPLES / "seed_lstm.h5"
PEAK_LIMIT = 1.5 * 1024**3
SECONDS_LIMIT = 30.0


def _layers(config) -> list:
    return config["config"]["layers"]


def repeat_vector(config) -> None:
    """LSTM(4) -> RepeatVector(2**20): [4, 2**20, 4] from a 4 KB config."""
    _lstm_config(config).update(return_sequences=False)
    _layers(config).append({"class_name": "RepeatVector", "config": {"name": "rep", "n": 2**20}})


def concatenate_2000(config) -> None:
    """The LSTM's output concatenated with itself 2,000 times, twice: [4, 10, 16e6]."""
    inbound = [["lstm", 0, 0, {}]] * 2000
    layers = _layers(config)
    first = layers[0]["config"]
    layers.insert(0, {"class_name": "InputLayer", "name": "input_1", "config": first})
    layers.pop(1)
    layers[0]["inbound_nodes"] = []
    layers[1]["name"] = "lstm"
    layers[1]["inbound_nodes"] = [[["input_1", 0, 0, {}]]]
    layers.append(
        {
            "class_name": "Concatenate",
            "name": "cat1",
            "config": {"name": "cat1", "axis": -1},
            "inbound_nodes": [inbound],
        }
    )
    layers.append(
        {
            "class_name": "Concatenate",
            "name": "cat2",
            "config": {"name": "cat2", "axis": -1},
            "inbound_nodes": [[["cat1", 0, 0, {}]] * 2000],
        }
    )
    config["class_name"] = "Functional"
    config["config"].update(input_layers=[["input_1", 0, 0]], output_layers=[["cat2", 0, 0]])


def long_fixed_input(config) -> None:
    """A fixed [1, 2**20, 5] input: the reference would loop 2**20 steps."""
    _layers(config)[0]["config"]["batch_input_shape"] = [1, 2**20, 5]


HOSTILE = {"repeat_vector": repeat_vector, "concatenate": concatenate_2000}
HOSTILE["long_input"] = long_fixed_input


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_amplifying_config_is_refused_with_one_line(tmp_path, name):
    path = tmp_path / f"{name}.h5"
    _edit_h5_config(SEED_H5, path, HOSTILE[name])
    message = assert_refused(path, tmp_path, expect="parity check")
    assert "--no-verify" in message


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_amplifying_config_stays_within_memory_and_time(tmp_path, name):
    """A fresh CLI process: peak RSS under 1.5 GB and under 30 s, exit 2; converts without
    the check (the model itself is fine, only the check's inputs were amplified)."""
    path = tmp_path / f"{name}.h5"
    _edit_h5_config(SEED_H5, path, HOSTILE[name])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "lstm_convert", "convert", str(path)]
    started = time.perf_counter()
    process = subprocess.Popen(
        [*command, "-o", str(tmp_path / "a.onnx")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    assert os.waitstatus_to_exitcode(status) == 2, process.stderr.read()
    assert usage.ru_maxrss * 1024 < PEAK_LIMIT
    assert elapsed < SECONDS_LIMIT
    process.stderr.close()
    unchecked = subprocess.run(
        [*command, "-o", str(tmp_path / "b.onnx"), "--no-verify"], env=env, capture_output=True
    )
    assert unchecked.returncode == 0, unchecked.stderr


def _sizes(path: Path) -> check_budget.CheckSize:
    model = api.load(path)
    shapes = [model.layer(ref.layer).config["batch_shape"] for ref in model.inputs]
    return check_budget.size_check(model, shapes)


def test_ordinary_models_keep_the_default_inputs():
    sized = _sizes(SEED_H5)
    assert (sized.batch, sized.steps) == (check_budget.DEFAULT_BATCH, check_budget.DEFAULT_STEPS)
    assert sized.cost.bytes < check_budget.MEMORY_FLOOR / 1000


def test_expensive_steps_shrink_to_the_minimum(tmp_path, monkeypatch):
    path = tmp_path / "free_steps.h5"
    _edit_h5_config(
        SEED_H5, path, lambda c: _layers(c)[0]["config"].update(batch_input_shape=[None, None, 5])
    )
    assert _sizes(path).steps == check_budget.DEFAULT_STEPS
    monkeypatch.setattr(check_budget, "STEP_SECONDS", 1.0)  # as if each step were costly
    assert _sizes(path).steps == check_budget.MIN_STEPS
    model = api.load(path)
    assert parity.random_inputs(model)[0].shape == (4, check_budget.MIN_STEPS, 5)


def test_estimate_follows_the_amplification(tmp_path):
    """The estimate grows with RepeatVector's n: the refusal is not a fixed threshold."""
    costs = []
    for n in (8, 2**10):

        def edit(config, n=n):
            repeat_vector(config)
            _layers(config)[-1]["config"]["n"] = n

        path = tmp_path / f"rep{n}.h5"
        _edit_h5_config(SEED_H5, path, edit)
        costs.append(_sizes(path).cost.bytes)
    assert costs[1] > 30 * costs[0]


# Wrong Keras gate orders, read as the permutations (0, 3, 2, 1) and (0, 1, 3, 2).
@pytest.mark.parametrize("gates", [("i", "c", "f", "o"), ("i", "o", "c", "f")])
def test_float32_products_still_catch_a_gate_remap_error(tmp_path, monkeypatch, gates):
    """The reference multiplies float32 weights in float32: a wrong gate order must still
    fail the check by far more than the tolerance (float32 noise is ~1e-7 here)."""
    from family_mutations import misorder

    from lstm_convert.errors import ParityError

    good = api.convert(SEED_H5, tmp_path / "good.onnx")
    assert good.max_abs_error < 1e-6
    misorder(monkeypatch, "LSTM", gates)
    with pytest.raises(ParityError) as caught:
        api.convert(SEED_H5, tmp_path / "bad.onnx")
    assert caught.value.exit_code == 1
    assert not (tmp_path / "bad.onnx").exists()
