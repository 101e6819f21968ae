"""The command line, driven in-process: outputs, exit codes and one-line errors."""

import hashlib
import json
import shutil

import h5py
import numpy as np
import onnx
import pytest
from conftest import SAMPLES
from onnx import numpy_helper
from typer.testing import CliRunner

from lstm_convert import __version__
from lstm_convert.cli import app

SEED = SAMPLES / "seed_lstm.h5"


@pytest.fixture
def runner():
    return CliRunner()


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_version(runner):
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"lstm-convert {__version__}"


def test_convert_writes_a_verified_model_and_leaves_input_untouched(runner, tmp_path):
    before = digest(SEED)
    out = tmp_path / "seed.onnx"
    result = runner.invoke(app, ["convert", str(SEED), "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["status"] == "ok"
    assert report["max_abs_error"] < 1e-5
    assert [layer["class_name"] for layer in report["layers"]] == ["LSTM"]
    onnx.checker.check_model(str(out), full_check=True)
    model = onnx.load(str(out))
    assert [n.op_type for n in model.graph.node].count("LSTM") == 1
    assert digest(SEED) == before
    assert list(tmp_path.iterdir()) == [out]  # no temporary files left behind


def test_default_output_is_beside_the_input(runner, tmp_path):
    copy = tmp_path / "model.h5"
    shutil.copy(SEED, copy)
    result = runner.invoke(app, ["convert", str(copy)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "model.onnx").exists()


def test_existing_output_is_not_overwritten_without_force(runner, tmp_path):
    out = tmp_path / "seed.onnx"
    out.write_bytes(b"precious")
    result = runner.invoke(app, ["convert", str(SEED), "-o", str(out)])
    assert result.exit_code == 2
    assert "--force" in result.stderr
    assert out.read_bytes() == b"precious"
    result = runner.invoke(app, ["convert", str(SEED), "-o", str(out), "--force"])
    assert result.exit_code == 0
    assert out.read_bytes() != b"precious"


def test_output_path_that_is_the_input_is_refused(runner, tmp_path):
    copy = tmp_path / "model.h5"
    shutil.copy(SEED, copy)
    before = digest(copy)
    result = runner.invoke(app, ["convert", str(copy), "-o", str(copy), "--force"])
    assert result.exit_code == 2
    assert "input" in result.stderr
    assert digest(copy) == before


def test_missing_file_is_one_line_on_stderr_with_exit_2(runner, tmp_path):
    result = runner.invoke(app, ["convert", str(tmp_path / "nope.h5")])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert "no such file" in result.stderr
    assert "Traceback" not in result.output


def test_debug_shows_the_traceback(runner, tmp_path):
    result = runner.invoke(app, ["convert", str(tmp_path / "nope.h5"), "--debug"])
    assert result.exit_code != 0
    assert result.exception is not None


def test_parity_mismatch_exits_1_and_writes_nothing(runner, tmp_path, monkeypatch):
    out = tmp_path / "seed.onnx"
    # A wrong gate order: a real mismatch, which the check must catch.
    from family_mutations import misorder

    misorder(monkeypatch, "LSTM", ("i", "o", "f", "c"))
    result = runner.invoke(app, ["convert", str(SEED), "-o", str(out)])
    assert result.exit_code == 1
    assert "differs from Keras" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_no_verify_skips_the_check(runner, tmp_path):
    out = tmp_path / "seed.onnx"
    result = runner.invoke(app, ["convert", str(SEED), "-o", str(out), "--no-verify", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["parity"] is None
    assert out.exists()


@pytest.mark.parametrize(
    "split, wb_part, rb_part",
    [("wb", 1.0, 0.0), ("rb", 0.0, 1.0), ("half", 0.5, 0.5)],
)
def test_bias_split_places_the_keras_bias(runner, tmp_path, split, wb_part, rb_part):
    out = tmp_path / f"{split}.onnx"
    result = runner.invoke(app, ["convert", str(SEED), "-o", str(out), "--bias-split", split])
    assert result.exit_code == 0, result.output
    model = onnx.load(str(out))
    bias = next(
        numpy_helper.to_array(init) for init in model.graph.initializer if init.name.endswith("_B")
    )
    assert bias.shape == (1, 32)
    # The seed sample's Keras bias is the default: ones for the forget gate only.
    # Keras bias[4:8] (f) lands in ONNX gate slot 2 (i, o, f, c): Wb[8:12], Rb[24:28].
    np.testing.assert_allclose(bias[0, 8:12], wb_part)
    np.testing.assert_allclose(bias[0, 24:28], rb_part)
    assert bias.sum() == pytest.approx(4.0)


@pytest.mark.parametrize("opset", [14, 17, 18, 20])
def test_supported_opsets(runner, tmp_path, opset):
    out = tmp_path / "tagger.onnx"
    sample = SAMPLES / "sequence_tagger.keras"  # exercises the Masking reduction
    result = runner.invoke(app, ["convert", str(sample), "-o", str(out), "--opset", str(opset)])
    assert result.exit_code == 0, result.output
    assert onnx.load(str(out)).opset_import[0].version == opset


def test_old_opset_is_refused(runner, tmp_path):
    result = runner.invoke(
        app, ["convert", str(SEED), "-o", str(tmp_path / "x.onnx"), "--opset", "13"]
    )
    assert result.exit_code == 2
    assert "--opset must be between 14 and" in result.stderr


def test_verify_an_existing_pair_on_user_inputs(runner, tmp_path):
    out = tmp_path / "seed.onnx"
    assert runner.invoke(app, ["convert", str(SEED), "-o", str(out)]).exit_code == 0
    inputs = SAMPLES / "seed_lstm.npz"
    result = runner.invoke(app, ["verify", str(SEED), str(out), "--inputs", str(inputs), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["passed"] and report["source"] == str(inputs)


def test_verify_detects_a_model_that_does_not_match(runner, tmp_path):
    out = tmp_path / "other.onnx"
    other = SAMPLES / "bigru_stack.h5"
    assert runner.invoke(app, ["convert", str(SEED), "-o", str(out)]).exit_code == 0
    result = runner.invoke(app, ["verify", str(other), str(out)])
    assert result.exit_code != 0


def test_inspect_json_lists_layers_with_shapes(runner):
    result = runner.invoke(app, ["inspect", str(SEED), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["format"] == "keras2-h5"
    lstm = [layer for layer in report["layers"] if layer["class_name"] == "LSTM"][0]
    assert lstm["weights"] == [[5, 16], [4, 16], [16]]
    assert lstm["options"]["return_sequences"] is True


def test_inspect_table(runner):
    result = runner.invoke(app, ["inspect", str(SAMPLES / "bigru_stack.h5")])
    assert result.exit_code == 0
    assert "Bidirectional" in result.stdout


def _rewrite_config(src, dst, edit):
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        edit(config)
        f.attrs["model_config"] = json.dumps(config)


def test_unknown_layer_names_the_layer_and_lists_supported_classes(runner, tmp_path):
    bad = tmp_path / "conv.h5"

    def to_conv(config):
        config["config"]["layers"][-1]["class_name"] = "Conv3D"

    _rewrite_config(SAMPLES / "bigru_stack.h5", bad, to_conv)
    result = runner.invoke(app, ["convert", str(bad), "-o", str(tmp_path / "x.onnx")])
    assert result.exit_code == 2
    assert "(Conv3D)" in result.stderr and "supported classes" in result.stderr
    assert "LSTM" in result.stderr


def test_lambda_is_refused_without_running_its_code(runner, tmp_path):
    bad = tmp_path / "lambda.h5"
    marker = tmp_path / "pwned"

    def to_lambda(config):
        layer = config["config"]["layers"][-1]
        layer["class_name"] = "Lambda"
        # If anything ever unmarshalled or evaluated this, the marker file would appear.
        layer["config"]["function"] = [f"open({str(marker)!r}, 'w')", None, None]
        layer["config"]["module"] = "os"

    _rewrite_config(SAMPLES / "bigru_stack.h5", bad, to_lambda)
    result = runner.invoke(app, ["convert", str(bad), "-o", str(tmp_path / "x.onnx")])
    assert result.exit_code == 2
    assert "Lambda" in result.stderr and "never runs" in result.stderr
    assert not marker.exists()


def test_stateful_model_converts_without_state_io_and_says_so(runner, tmp_path):
    stateful = SAMPLES.parent / "tests" / "fixtures" / "tfkeras" / "lstm_stateful.h5"
    out = tmp_path / "s.onnx"
    result = runner.invoke(app, ["convert", str(stateful), "-o", str(out)])
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "stateful layer(s) 'lstm'" in notes[0], result.stderr
    names = [o.name for o in onnx.load(str(out)).graph.output]
    assert any(name.endswith("_h_out") for name in names)
    result = runner.invoke(app, ["convert", str(stateful), "-o", str(out), "--force", "--json"])
    assert result.exit_code == 0, result.output
    assert "stateful" in json.loads(result.stdout)["notes"][0]


@pytest.mark.parametrize(
    "generation, name",
    [("tfkeras", "weights_only_lstm.h5"), ("keras3", "weights_only_bigru_fn.weights.h5")],
)
def test_weights_only_file_pairs_with_config(runner, tmp_path, generation, name):
    weights = SAMPLES.parent / "tests" / "fixtures" / generation / name
    config = weights.parent / (name.split(".")[0] + ".config.json")
    out = tmp_path / "w.onnx"
    result = runner.invoke(app, ["convert", str(weights), "-o", str(out)])
    assert result.exit_code == 2 and "--config" in result.stderr
    result = runner.invoke(
        app, ["convert", str(weights), "-o", str(out), "--config", str(config), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["format"].endswith("+config")
    result = runner.invoke(app, ["inspect", str(weights), "--config", str(config)])
    assert result.exit_code == 0


def test_config_is_refused_for_a_full_model(runner, tmp_path):
    config = SAMPLES.parent / "tests" / "fixtures" / "tfkeras" / "weights_only_lstm.config.json"
    result = runner.invoke(
        app, ["convert", str(SEED), "-o", str(tmp_path / "x.onnx"), "--config", str(config)]
    )
    assert result.exit_code == 2 and "weights-only" in result.stderr


def test_output_gets_ordinary_file_permissions(runner, tmp_path):
    import os
    import stat

    out = tmp_path / "seed.onnx"
    assert runner.invoke(app, ["convert", str(SEED), "-o", str(out)]).exit_code == 0
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask


@pytest.mark.parametrize(
    "command", [[], ["convert"], ["verify"], ["inspect"], ["explain"], ["batch"]]
)
def test_every_command_accepts_dash_h(command):
    result = CliRunner().invoke(app, [*command, "-h"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output and "--help" in result.output
