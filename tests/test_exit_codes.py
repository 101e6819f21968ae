"""Exit codes tell the truth: 2 for the input file or an option, 3 for our own bugs.

Faults are injected into a converter and into the reference (an AttributeError, as a
typo would raise): those are bugs, never the user's file. Bad options are refused up
front, in the API as in the CLI.
"""

import math

import pytest
from conftest import FIXTURES, SAMPLES
from typer.testing import CliRunner

from lstm_convert.api import convert, verify
from lstm_convert.cli import app
from lstm_convert.errors import InternalError, OptionError

SEED = SAMPLES / "seed_lstm.h5"
GRU = FIXTURES / "tfkeras" / "gru_basic.h5"  # reset_after=True
runner = CliRunner()


def _typo(*args, **kwargs):
    raise AttributeError("'dict' object has no attribute 'unts'")


def _assert_bug(result, out):
    assert result.exit_code == 3, result.output
    message = result.stderr.strip()
    assert "\n" not in message and "Traceback" not in result.output
    assert "this is a bug" in message and "--debug" in message
    assert "AttributeError" in message
    assert not out.exists()


def test_a_converter_bug_is_exit_3(tmp_path, monkeypatch):
    monkeypatch.setattr("lstm_convert.layers.gru.recurrent_activation", _typo)
    out = tmp_path / "gru.onnx"
    _assert_bug(runner.invoke(app, ["convert", str(GRU), "-o", str(out)]), out)
    with pytest.raises(InternalError) as caught:
        convert(GRU, out)
    assert caught.value.exit_code == 3
    assert isinstance(caught.value.__cause__, AttributeError)


def test_a_reference_bug_is_exit_3(tmp_path, monkeypatch):
    monkeypatch.setitem(__import__("lstm_convert.reference").reference.CELLS, "GRU", _typo)
    out = tmp_path / "gru.onnx"
    _assert_bug(runner.invoke(app, ["convert", str(GRU), "-o", str(out)]), out)


def test_a_reader_bug_is_exit_3(tmp_path, monkeypatch):
    monkeypatch.setattr("lstm_convert.readers.legacy_h5.assign_weights", _typo)
    out = tmp_path / "seed.onnx"
    _assert_bug(runner.invoke(app, ["convert", str(SEED), "-o", str(out)]), out)


def test_debug_shows_the_original_traceback(tmp_path, monkeypatch):
    monkeypatch.setattr("lstm_convert.layers.gru.recurrent_activation", _typo)
    result = runner.invoke(app, ["convert", str(GRU), "-o", str(tmp_path / "x.onnx"), "--debug"])
    assert isinstance(result.exception, InternalError)
    assert isinstance(result.exception.__cause__, AttributeError)


BAD_OPTIONS = [
    ({"bias_split": "middle"}, "bias_split must be one of"),
    ({"opset": 13}, "opset must be between 14 and"),
    ({"opset": 99}, "the newest the installed onnx"),
    ({"tolerance": -1.0}, "atol"),
    ({"atol": math.nan}, "atol"),
    ({"atol": 0.0}, "atol"),
    ({"rtol": -1e-3}, "rtol"),
    ({"rtol": math.inf}, "rtol"),
]


@pytest.mark.parametrize("options, expect", BAD_OPTIONS)
def test_bad_options_are_refused_up_front(tmp_path, options, expect):
    # A reset_after GRU once accepted any bias split silently: it must not.
    with pytest.raises(OptionError) as caught:
        convert(GRU, tmp_path / "x.onnx", **options)
    assert expect in str(caught.value)
    assert "--" not in str(caught.value)  # the API speaks API: opset=, not --opset
    assert caught.value.exit_code == 2
    assert not (tmp_path / "x.onnx").exists()


@pytest.mark.parametrize(
    "args, expect",
    [
        (["--opset", "29"], "--opset must be between 14 and"),
        (["--tolerance", "-1"], "--atol"),
        (["--atol", "nan"], "--atol"),
        (["--rtol", "-1"], "--rtol"),
    ],
)
def test_bad_cli_options_exit_2(tmp_path, args, expect):
    out = tmp_path / "x.onnx"
    result = runner.invoke(app, ["convert", str(GRU), "-o", str(out), *args])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and expect in result.stderr
    assert not out.exists()


def test_verify_validates_its_options(tmp_path):
    with pytest.raises(OptionError):
        verify(SEED, tmp_path / "absent.onnx", atol=-1.0)
