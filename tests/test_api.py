"""The Python API mirrors the CLI: same results, same typed errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_batch import models  # noqa: F401 - the pytest fixture
from typer.testing import CliRunner

import lstm_convert
from lstm_convert.batch import convert_many
from lstm_convert.cli import app
from lstm_convert.errors import ConvertError, OutputPathError


def comparable(doc: dict, out: Path) -> dict:
    """A batch document without timings, with outputs relative to OUTDIR."""
    rows = []
    for row in doc["results"]:
        row = {key: value for key, value in row.items() if key != "seconds"}
        if row["output"] is not None:
            row["output"] = Path(row["output"]).relative_to(out).as_posix()
        rows.append(row)
    return {**doc, "results": rows}


def test_convert_many_is_part_of_the_public_api():
    assert lstm_convert.convert_many is convert_many
    assert "convert_many" in lstm_convert.__all__


def test_api_and_cli_give_the_same_results(models, tmp_path):  # noqa: F811
    cli_out, api_out = tmp_path / "cli", tmp_path / "api"
    result = CliRunner().invoke(app, ["batch", str(models), "-o", str(cli_out), "--json"])
    assert result.exit_code == 1
    from_cli = json.loads(result.stdout)
    from_api = convert_many([models], api_out).to_dict()
    assert comparable(from_cli, cli_out) == comparable(from_api, api_out)
    assert from_api["ok"] == 3 and from_api["failed"] == 4


def test_api_and_cli_agree_on_options(models, tmp_path):  # noqa: F811
    args = ["--no-verify", "--bias-split", "rb", "--opset", "15", "--pattern", "*.h5"]
    cli_out, api_out = tmp_path / "cli", tmp_path / "api"
    result = CliRunner().invoke(app, ["batch", str(models), "-o", str(cli_out), "--json", *args])
    from_api = convert_many(
        [models], api_out, verify=False, bias_split="rb", opset=15, pattern="*.h5"
    ).to_dict()
    assert comparable(json.loads(result.stdout), cli_out) == comparable(from_api, api_out)


def test_batch_errors_are_convert_errors(tmp_path):
    target = tmp_path / "file"
    target.write_text("")
    with pytest.raises(ConvertError) as caught:
        convert_many([tmp_path], target)
    assert isinstance(caught.value, OutputPathError)
    assert caught.value.exit_code == 2
