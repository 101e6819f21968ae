"""Messages that say what is wrong (issue 16, item 5): the file's real kind, with its path;
bad --inputs arrays named with expected and given shape and dtype; exact casts made,
inexact ones refused with the cast to write; the writer of weights-only files."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from conftest import FIXTURES, SAMPLES
from typer.testing import CliRunner

from lstm_convert.api import inspect
from lstm_convert.cli import app

runner = CliRunner()
SEED = SAMPLES / "seed_lstm.h5"
TOKENS = SAMPLES / "text_classifier.keras"


def one_error_line(result, code: int = 2) -> str:
    assert result.exit_code == code, result.output
    message = result.stderr.strip()
    assert message.startswith("error: ") and "\n" not in message, message
    return message


@pytest.fixture(scope="module")
def seed_onnx(tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "seed.onnx"
    assert runner.invoke(app, ["convert", str(SEED), "-o", str(path)]).exit_code == 0
    return path


def test_an_onnx_file_given_as_the_model_is_named_as_such(seed_onnx, tmp_path):
    before = seed_onnx.read_bytes()
    message = one_error_line(runner.invoke(app, ["convert", str(seed_onnx)]))
    assert f"{seed_onnx}: is an ONNX model" in message and "Keras file comes first" in message
    assert seed_onnx.read_bytes() == before
    swapped = runner.invoke(app, ["verify", str(seed_onnx), str(SEED)])
    assert "is an ONNX model" in one_error_line(swapped)
    renamed = tmp_path / "model.bin"  # known by its content, not its name
    shutil.copy(seed_onnx, renamed)
    assert "is an ONNX model" in one_error_line(runner.invoke(app, ["inspect", str(renamed)]))


def test_an_npz_given_as_the_model_is_named_with_its_path():
    npz = SAMPLES / "seed_lstm.npz"
    message = one_error_line(runner.invoke(app, ["inspect", str(npz)]))
    assert f"{npz}: is a NumPy .npz archive" in message and "--inputs" in message


def test_a_wrong_input_shape_names_the_input_with_both_shapes_and_dtypes(seed_onnx, tmp_path):
    npz = tmp_path / "bad.npz"
    np.savez(npz, input_0=np.zeros((2, 10, 6), np.float32))
    message = one_error_line(
        runner.invoke(app, ["verify", str(SEED), str(seed_onnx), "--inputs", str(npz)])
    )
    assert "input 'input_1' has shape [2, 10, 6] (float32)" in message
    assert "the model takes ['batch', 10, 5] (float32)" in message


def test_exact_casts_are_made_and_inexact_ones_refused_with_a_hint(seed_onnx, tmp_path):
    values = np.random.default_rng(0).normal(size=(2, 10, 5))
    exact, inexact = tmp_path / "exact.npz", tmp_path / "inexact.npz"
    np.savez(exact, input_0=values.astype(np.float32).astype(np.float64))
    np.savez(inexact, input_0=values)
    args = ["verify", str(SEED), str(seed_onnx), "--inputs"]
    assert runner.invoke(app, [*args, str(exact)]).exit_code == 0
    message = one_error_line(runner.invoke(app, [*args, str(inexact)]))
    assert "input 'input_1' is float64" in message and "array.astype(np.float32)" in message


def test_int64_tokens_are_cast_when_they_fit(tmp_path):
    stored = np.load(SAMPLES / "text_classifier.npz")
    fits, overflows = tmp_path / "fits.npz", tmp_path / "overflows.npz"
    np.savez(fits, input_0=stored["input_0"].astype(np.int64), output_0=stored["output_0"])
    np.savez(overflows, input_0=np.full((4, 8), 2**40, np.int64))
    args = ["convert", str(TOKENS), "--inputs"]
    result = runner.invoke(app, [*args, str(fits), "-o", str(tmp_path / "t.onnx")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, [*args, str(overflows), "-o", str(tmp_path / "u.onnx")])
    assert "array.astype(np.int32)" in one_error_line(result)


def test_onnxruntime_keeps_its_useful_line(tmp_path):
    other = tmp_path / "other.onnx"
    basic = FIXTURES / "keras3" / "lstm_basic.h5"
    assert runner.invoke(app, ["convert", str(basic), "-o", str(other)]).exit_code == 0
    message = one_error_line(runner.invoke(app, ["verify", str(SEED), str(other)]))
    assert "index: 1 Got: 10 Expected: 6" in message and "Please fix" not in message


def test_a_tf_keras_weights_h5_is_labelled_tf_keras():
    """tf-keras's .weights.h5 has Keras 3's layout; hard_sigmoid in the fixture makes the
    label matter (test_fixtures checks the outputs)."""
    path = FIXTURES / "tfkeras" / "weights_only_v3file_lstm.weights.h5"
    config = path.with_name("weights_only_v3file_lstm.config.json")
    result = inspect(path, config_path=config)
    assert result.keras_version == "2.21.0"


def test_verify_on_nan_weights_suggests_no_option_verify_lacks(tmp_path, seed_onnx):
    import h5py

    path = tmp_path / "nan.h5"
    shutil.copy(SEED, path)
    with h5py.File(path, "r+") as f:
        group = f["model_weights"]
        datasets = []
        group.visititems(lambda n, o: datasets.append(o) if isinstance(o, h5py.Dataset) else None)
        data = datasets[0][()]
        data.flat[0] = np.nan
        datasets[0][...] = data
    message = one_error_line(runner.invoke(app, ["verify", str(path), str(seed_onnx)]))
    assert f"{path}: layer" in message and "NaN outputs cannot be compared" in message
    assert "--allow-nonfinite" not in message and "--no-verify" not in message
