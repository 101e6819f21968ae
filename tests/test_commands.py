"""The commands agree (issue 16, item 3): one option set, one JSON schema, API errors
that speak API and CLI errors that name options the command has."""

from __future__ import annotations

import ast
import inspect
import json
import re
from pathlib import Path

import onnx
import pytest
from conftest import FIXTURES, SAMPLES
from typer.testing import CliRunner

from lstm_convert import api
from lstm_convert.batch import convert_many
from lstm_convert.cli import app
from lstm_convert.cli.app import FILE_OPTIONS
from lstm_convert.errors import CLI_FLAGS, OutputPathError, cli_wording

runner = CliRunner()
SEED = SAMPLES / "seed_lstm.h5"
STATEFUL = FIXTURES / "tfkeras" / "lstm_stateful.h5"
CHAOTIC = FIXTURES / "keras3" / "chaotic_char_lstm.keras"
WEIGHTS_ONLY = FIXTURES / "tfkeras" / "weights_only_lstm.h5"
WEIGHTS_CONFIG = FIXTURES / "tfkeras" / "weights_only_lstm.config.json"
PACKAGE = Path(__file__).resolve().parent.parent / "lstm_convert"


def strict(text: str) -> dict:
    """json.loads that refuses NaN and Infinity, which RFC 8259 has no room for."""

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in JSON output")

    return json.loads(text, parse_constant=refuse)


def help_of(command: str) -> str:
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"}, terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_convert_and_batch_share_every_per_file_option():
    # The declared list is convert()'s keyword-only options, less those about no one file.
    not_per_file = {"external_data_threshold", "seed", "progress"}
    keywords = [
        p.name
        for p in inspect.signature(api.convert).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name not in not_per_file
    ]
    assert api.per_file_options() == tuple(keywords)
    assert set(FILE_OPTIONS) == set(api.per_file_options())
    convert_help, batch_help = help_of("convert"), help_of("batch")
    for flag in (
        "--tolerance",
        "--atol",
        "--rtol",
        "--state-io",
        "--config",
        "--external-data",
        "--allow-nonfinite",
        "--inputs",
        "--bias-split",
        "--opset",
        "--force",
    ):
        assert flag in convert_help and flag in batch_help, flag


def test_batch_state_io_and_config_reach_each_file(tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["batch", str(STATEFUL), "-o", str(out), "--state-io", "--json"])
    assert result.exit_code == 0, result.output
    names = [i.name for i in onnx.load(str(out / "lstm_stateful.onnx")).graph.input]
    assert any(name.endswith("_h_in") for name in names), names
    args = ["batch", str(WEIGHTS_ONLY), "-o", str(out), "--config", str(WEIGHTS_CONFIG)]
    result = runner.invoke(app, [*args, "--tolerance", "1e-3", "--json"])
    assert result.exit_code == 0, result.output
    row = strict(result.stdout)["results"][0]
    assert row["status"] == "ok", row


def test_convert_many_takes_convert_options_and_refuses_unknown_ones(tmp_path):
    result = convert_many([STATEFUL], tmp_path, state_io=True, atol=1e-3, rtol=0.0)
    assert result.ok == 1
    with pytest.raises(TypeError, match="state_oi"):
        convert_many([STATEFUL], tmp_path, state_oi=True)
    with pytest.raises(ValueError, match="atol"):
        convert_many([STATEFUL], tmp_path, atol=-1.0)


def test_api_errors_speak_api_and_the_cli_speaks_options(tmp_path):
    target = tmp_path / "x.onnx"
    target.write_bytes(b"keep")
    with pytest.raises(OutputPathError) as caught:
        api.convert(SEED, target)
    assert "force=True" in str(caught.value) and "--force" not in str(caught.value)
    result = runner.invoke(app, ["convert", str(SEED), "-o", str(target)])
    assert result.exit_code == 2 and "(pass --force to overwrite)" in result.stderr
    assert target.read_bytes() == b"keep"


def _suggested_keywords(files) -> set[str]:
    """Every API keyword that a message in ``files`` suggests (``name=...``)."""
    pattern = re.compile(r"(?<![\w-])(" + "|".join(CLI_FLAGS) + r")=")
    found = set()
    for file in files:
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.update(pattern.findall(node.value))
    return found


# Messages only one command shows: about many files (batch), about explaining (explain).
ONLY = {PACKAGE / "batch.py": "batch", PACKAGE / "explain": "explain"}


def _shown_by(file: Path, command: str) -> bool:
    owners = [who for where, who in ONLY.items() if file == where or where in file.parents]
    return not owners or command in owners


@pytest.mark.parametrize("command", ["convert", "batch"])
def test_every_suggested_option_exists_on_the_command(command):
    files = [f for f in PACKAGE.rglob("*.py") if _shown_by(f, command)]
    suggested = _suggested_keywords(files)
    assert {"force", "config_path", "state_io", "verify"} <= suggested  # the scan works
    assert ("keep_suffix" in suggested) == (command == "batch")
    text = help_of(command)
    for keyword in suggested:
        flag = CLI_FLAGS[keyword]
        assert flag in text, f"a message suggests {flag}, which `{command}` does not have"


def test_cli_wording():
    assert cli_wording("pass allow_nonfinite=True and verify=False") == (
        "pass --allow-nonfinite and --no-verify"
    )
    assert cli_wording("as config_path=config.json") == "as --config config.json"
    assert cli_wording("opset must be between 14 and 21") == "--opset must be between 14 and 21"
    assert cli_wording("myforce=True") == "myforce=True"
    assert cli_wording("(force= in Python)") == "(force= in Python)"  # no value: as written


def test_explain_takes_config_as_its_weights_only_error_says():
    result = runner.invoke(app, ["explain", str(WEIGHTS_ONLY)])
    assert result.exit_code == 2 and "--config" in result.stderr
    assert str(WEIGHTS_ONLY) in result.stderr  # the message names the file
    result = runner.invoke(
        app, ["explain", str(WEIGHTS_ONLY), "--config", str(WEIGHTS_CONFIG), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert strict(result.stdout)["layers"][0]["name"] == "lstm"


# -- one JSON schema ----------------------------------------------------------------------


def _layer_records_are_named(document: dict) -> None:
    assert document["layers"], document
    for layer in document["layers"]:
        assert isinstance(layer["name"], str) and isinstance(layer["class_name"], str)
        assert "layer" not in layer


def test_every_command_uses_one_schema(tmp_path):
    onnx_path = tmp_path / "seed.onnx"
    converted = runner.invoke(app, ["convert", str(SEED), "-o", str(onnx_path), "--json"])
    verified = runner.invoke(app, ["verify", str(SEED), str(onnx_path), "--json"])
    inspected = runner.invoke(app, ["inspect", str(SEED), "--json"])
    explained = runner.invoke(app, ["explain", str(SEED), "--json"])
    batched = runner.invoke(app, ["batch", str(SEED), "-o", str(tmp_path / "b"), "--json"])
    for result in (converted, verified, inspected, explained, batched):
        assert result.exit_code == 0, result.output
    documents = {
        "convert": strict(converted.stdout),
        "verify": strict(verified.stdout),
        "inspect": strict(inspected.stdout),
        "explain": strict(explained.stdout),
        "batch": strict(batched.stdout)["results"][0],
    }
    for name, document in documents.items():
        assert Path(document["input"]) == SEED, name
    for name in ("convert", "inspect", "explain", "batch"):
        _layer_records_are_named(documents[name])
    assert documents["verify"]["passed"] is True and documents["verify"]["status"] == "ok"
    assert documents["convert"]["parity"]["passed"] is True
    assert documents["inspect"]["outputs"] == [{"name": "lstm", "class_name": "LSTM"}]


def test_convert_json_reports_a_parity_failure_too(tmp_path):
    out = tmp_path / "c.onnx"
    result = runner.invoke(app, ["convert", str(CHAOTIC), "-o", str(out), "--json"])
    assert result.exit_code == 1, result.output
    document = strict(result.stdout)
    assert document["status"] == "failed" and document["output"] is None
    assert document["parity"]["passed"] is False and document["parity"]["max_abs_error"] > 0
    assert "nothing was written" in document["error"]
    assert result.stderr.startswith("error: ") and not out.exists()


def test_cli_defaults_and_choices_are_the_apis():
    import inspect as pyinspect

    from lstm_convert.cli.app import BiasSplitChoice
    from lstm_convert.remap import BIAS_SPLITS

    assert [choice.value for choice in BiasSplitChoice] == list(BIAS_SPLITS)
    api_defaults = {
        name: p.default for name, p in pyinspect.signature(api.convert).parameters.items()
    }
    for name, (_, default) in FILE_OPTIONS.items():
        value = default.value if hasattr(default, "value") else default
        assert value == api_defaults[name], name
