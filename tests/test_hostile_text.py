"""Strings from a file never reach the terminal raw, and are never read as rich markup.

A layer name or file name holding an escape sequence, a newline or ``[/]`` must come out
with its control characters spelled as text (``\\x1b``, ``\\n``), in every command.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import h5py
import pytest
from conftest import SAMPLES
from typer.testing import CliRunner

from lstm_convert.cli import app

SEED_H5 = SAMPLES / "seed_lstm.h5"
OSC_TITLE = "\x1b]0;pwned\x07"
EVIL_LAYER = f"lstm{OSC_TITLE}[/]\nwrote /etc/passwd.onnx"
EVIL_FILE = "evil\x1b[31m[.h5"


def renamed_seed(path: Path, new_name: str) -> Path:
    """The seed model with its LSTM layer renamed (config, weight group and layer list)."""
    shutil.copy(SEED_H5, path)
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        for layer in config["config"]["layers"]:
            if layer["config"]["name"] == "lstm":
                layer["config"]["name"] = new_name
        f.attrs["model_config"] = json.dumps(config)
        weights = f["model_weights"]
        weights.move("lstm", new_name)
        weights.attrs["layer_names"] = [new_name.encode()]
    return path


@pytest.fixture
def evil(tmp_path) -> Path:
    return renamed_seed(tmp_path / EVIL_FILE, EVIL_LAYER)


def assert_clean(result, *, code: int = 0) -> None:
    assert result.exit_code == code, result.output
    for stream in (result.stdout, result.stderr):
        assert "\x1b" not in stream and "\x07" not in stream, stream
        assert "\nwrote /etc/passwd" not in stream
    assert "Traceback" not in result.output


def test_visible_spells_out_control_characters():
    from lstm_convert.safe_text import visible

    assert visible("a\x1b]0;t\x07\nb\tc\u202e\x9b") == "a\\x1b]0;t\\x07\\nb\\tc\\u202e\\x9b"
    assert visible("lstm[/] ok") == "lstm[/] ok"


def test_convert_plain_output(evil, tmp_path):
    out = tmp_path / "[" / "m[red].onnx"
    out.parent.mkdir()
    result = CliRunner().invoke(app, ["convert", str(evil), "-o", str(out)])
    assert_clean(result)
    assert "\\x1b]0;pwned\\x07[/]\\nwrote /etc/passwd.onnx" in result.stdout
    assert out.is_file()


def test_convert_terminal_rendering_is_not_markup(evil, tmp_path):
    """On a terminal convert renders with rich, after the file is written: it must not crash
    on ``[/]`` in a name or in the output folder."""
    from rich.console import Console

    from lstm_convert.api import convert
    from lstm_convert.render.results import print_convert_result

    out = tmp_path / "[" / "m.onnx"
    out.parent.mkdir()
    result = convert(evil, out)
    buffer = io.StringIO()
    print_convert_result(result, Console(file=buffer, force_terminal=True, width=300))
    text = buffer.getvalue()
    assert OSC_TITLE not in text and "\x07" not in text
    assert "[/]" in text and "\\x1b]0;pwned" in text


def test_inspect(evil):
    assert_clean(CliRunner().invoke(app, ["inspect", str(evil)]))


def test_inspect_json_keeps_the_name_escaped_by_json(evil):
    result = CliRunner().invoke(app, ["inspect", "--json", str(evil)])
    assert_clean(result)
    assert EVIL_LAYER in [layer["name"] for layer in json.loads(result.stdout)["layers"]]


@pytest.mark.parametrize("extra", [[], ["--numpy"]])
def test_explain(evil, extra):
    assert_clean(CliRunner().invoke(app, ["explain", str(evil), "--width", "200", *extra]))


def test_verify(evil, tmp_path):
    out = tmp_path / "m.onnx"
    assert CliRunner().invoke(app, ["convert", str(evil), "-o", str(out)]).exit_code == 0
    assert_clean(CliRunner().invoke(app, ["verify", str(evil), str(out)]))


def test_batch_table(evil, tmp_path):
    broken = tmp_path / "broken\x1b]0;x\x07[bold].h5"
    broken.write_bytes(b"not a model\n\x1b]0;title\x07")
    result = CliRunner().invoke(
        app, ["batch", str(evil), str(broken), "-o", str(tmp_path / "out"), "-j", "1"]
    )
    assert_clean(result, code=1)
    assert "[bold]" in result.stdout


def test_error_line_from_a_hostile_class_name(tmp_path):
    path = tmp_path / "m.h5"
    shutil.copy(SEED_H5, path)
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        config["config"]["layers"][1]["class_name"] = f"Evil{OSC_TITLE}\nwrote /etc/passwd.onnx"
        f.attrs["model_config"] = json.dumps(config)
    result = CliRunner().invoke(app, ["convert", str(path), "-o", str(tmp_path / "m.onnx")])
    assert_clean(result, code=2)
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "m.onnx").exists()
