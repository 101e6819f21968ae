"""Verdicts users can trust: an allclose-style tolerance, the ill-conditioning
diagnosis, --inputs for convert, and verify using the expected outputs it is given."""

import json

import numpy as np
import pytest
from conftest import FIXTURES, SAMPLES
from typer.testing import CliRunner

from lstm_convert.api import convert, verify
from lstm_convert.cli import app
from lstm_convert.errors import InputFileError, ParityError
from lstm_convert.parity import compare

runner = CliRunner()
REGRESSION = FIXTURES / "tfkeras" / "regression_bigru_large.h5"
CHAOTIC = FIXTURES / "keras3" / "chaotic_char_lstm.keras"
SEED = SAMPLES / "seed_lstm.h5"


def test_compare_is_allclose():
    keras = np.array([1000.0, 0.0])
    onnx = np.array([1000.004, 5e-5], dtype=np.float32)
    assert compare("y", onnx, keras, atol=1e-4, rtol=1e-5).passed
    assert not compare("y", onnx, keras, atol=1e-4, rtol=0.0).passed
    assert not compare("y", np.array([1000.02, 0.0]), keras, atol=1e-4, rtol=1e-5).passed
    mismatch = compare("y", np.zeros(3), keras)
    assert not mismatch.passed and "shape" in mismatch.problem


@pytest.mark.parametrize("generation", ["keras3", "tfkeras"])
def test_large_outputs_convert_under_the_default_tolerance(tmp_path, generation):
    path = FIXTURES / generation / "regression_bigru_large.h5"
    result = convert(path, tmp_path / "r.onnx")
    # Outputs of several hundred: float32 rounding alone exceeds the absolute 1e-4.
    assert result.max_abs_error > 1e-4
    assert result.parity.passed and (tmp_path / "r.onnx").exists()
    with pytest.raises(ParityError):  # absolute-only, as before: refused
        convert(path, tmp_path / "abs.onnx", rtol=0.0)


def test_a_chaotic_model_is_called_ill_conditioned_not_wrong(tmp_path):
    out = tmp_path / "c.onnx"
    result = runner.invoke(app, ["convert", str(CHAOTIC), "-o", str(out)])
    assert result.exit_code == 1, result.output
    message = result.stderr.strip()
    assert "\n" not in message
    assert "ill-conditioned on random inputs: pass representative inputs as --inputs" in message
    assert "differs from" not in message
    assert not out.exists()


@pytest.mark.parametrize("generation", ["keras3", "tfkeras"])
def test_a_chaotic_model_converts_on_representative_inputs(tmp_path, generation):
    path = FIXTURES / generation / "chaotic_char_lstm.keras"
    data = FIXTURES / generation / "chaotic_char_lstm.npz"  # one-hot chars, Keras's outputs
    result = convert(path, tmp_path / "c.onnx", inputs=data)
    assert result.parity.source == str(data)
    assert result.parity.passed and result.parity.expected  # also against Keras's outputs
    assert result.max_abs_error < 1e-5


def _shifted_npz(tmp_path, shift: float):
    with np.load(FIXTURES / "tfkeras" / "regression_bigru_large.npz") as data:
        arrays = dict(data)
    arrays["output_0"] = arrays["output_0"] + shift
    path = tmp_path / "data.npz"
    np.savez(path, **arrays)
    return path


def test_verify_compares_the_stored_outputs_too(tmp_path):
    onnx_path = tmp_path / "r.onnx"
    convert(REGRESSION, onnx_path)
    report = verify(REGRESSION, onnx_path, inputs=_shifted_npz(tmp_path, 0.0))
    assert report.passed and [o.against for o in report.expected] == ["expected"]
    shifted = verify(REGRESSION, onnx_path, inputs=_shifted_npz(tmp_path, 100.0))
    assert all(o.passed for o in shifted.outputs)  # the reference agrees...
    assert not shifted.passed  # ...the stored predictions do not


def test_verify_mismatch_exits_1_with_only_the_report_on_stdout(tmp_path):
    onnx_path = tmp_path / "r.onnx"
    convert(REGRESSION, onnx_path)
    args = ["verify", str(REGRESSION), str(onnx_path), "--inputs"]
    result = runner.invoke(app, [*args, str(_shifted_npz(tmp_path, 100.0)), "--json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)  # stdout holds the report and nothing else
    assert report["passed"] is False
    assert report["expected"][0]["max_abs_error"] == pytest.approx(100.0, abs=1e-2)
    assert result.stderr.startswith("error: outputs differ by") and result.stderr.count("\n") == 1


def test_verify_reports_name_mismatches(tmp_path):
    import onnx

    onnx_path = tmp_path / "seed.onnx"
    convert(SEED, onnx_path)
    model = onnx.load(str(onnx_path))
    old = model.graph.output[0].name
    for node in model.graph.node:
        node.output[:] = ["renamed" if o == old else o for o in node.output]
    model.graph.output[0].name = "renamed"
    onnx.save(model, str(onnx_path))
    report = verify(SEED, onnx_path)
    assert report.passed
    assert any("'renamed'" in note and f"'{old}'" in note for note in report.notes)


def test_verify_refuses_an_empty_batch(tmp_path):
    onnx_path = tmp_path / "seed.onnx"
    convert(SEED, onnx_path)
    empty = tmp_path / "empty.npz"
    np.savez(empty, input_0=np.zeros((0, 10, 5), np.float32))
    with pytest.raises(InputFileError, match="empty batch"):
        verify(SEED, onnx_path, inputs=empty)
    result = runner.invoke(app, ["verify", str(SEED), str(onnx_path), "--inputs", str(empty)])
    assert result.exit_code == 2


def test_verify_refuses_inputs_of_the_wrong_shape(tmp_path):
    onnx_path = tmp_path / "seed.onnx"
    convert(SEED, onnx_path)
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, input_0=np.zeros((2, 10, 3), np.float32))
    with pytest.raises(InputFileError, match="the model takes"):
        verify(SEED, onnx_path, inputs=wrong)


def test_cli_convert_runs_the_check_on_the_given_inputs(tmp_path):
    data = FIXTURES / "keras3" / "chaotic_char_lstm.npz"
    out = tmp_path / "c.onnx"
    result = runner.invoke(app, ["convert", str(CHAOTIC), "-o", str(out), "--inputs", str(data)])
    assert result.exit_code == 0, result.output
    assert "vs expected" in result.stdout and out.exists()
