"""The ONNX interface README.md documents ("ONNX interface"), held to real conversions:
names, dtypes, axes, states, doc strings and metadata, and the README's serving stub run
on real Keras fixtures."""

from __future__ import annotations

import hashlib
import json
import os
import re

import numpy as np
import onnx
import pytest
from conftest import ROOT, SAMPLES, converted, expected_arrays, manifest
from typer.testing import CliRunner

from lstm_convert.api import convert, verify
from lstm_convert.cli import app
from lstm_convert.errors import OptionError
from lstm_convert.export import interface
from lstm_convert.parity import run_onnx


def fixture(name: str, generation: str = "keras3"):
    """(manifest entry, path) of one fixture file."""
    for entry in manifest():
        if entry["name"] == name and entry["generation"] == generation:
            return entry, ROOT / entry["files"][0]
    raise LookupError(name)


def readme_section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("\n## ONNX interface\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def readme_code() -> list[str]:
    return re.findall(r"```python\n(.*?)```", readme_section(), re.S)


def readme_metadata_keys() -> list[str]:
    """The first column of the metadata table."""
    table = readme_section().split("| key | value |", 1)[1]
    return re.findall(r"^\| `([a-z0-9_]+)` \|", table, re.M)


def metadata(path) -> dict[str, str]:
    return {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}


def dims(value: onnx.ValueInfoProto) -> list:
    return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]


def elem_type(value: onnx.ValueInfoProto) -> str:
    return onnx.helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type).name


# -- metadata ------------------------------------------------------------------------------


def test_readme_lists_exactly_the_metadata_keys_in_their_order():
    assert readme_metadata_keys() == list(interface.METADATA_KEYS)


def test_a_verified_conversion_records_source_options_and_parity(tmp_path):
    source = SAMPLES / "text_classifier.keras"
    out = tmp_path / "m.onnx"
    result = convert(source, out, token_dtype="int32")
    meta = metadata(out)
    onnx.checker.check_model(str(out), full_check=True)  # the appended entries are valid
    without_config = [k for k in interface.METADATA_KEYS if k not in interface.CONFIG_METADATA]
    assert list(meta) == without_config
    assert meta["source_file"] == "text_classifier.keras"
    assert meta["source_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert meta["keras_version"] == result.keras_version
    assert meta["source_format"] == result.format
    assert meta["converter_version"].startswith("lstm-convert ")
    options = json.loads(meta["options"])
    assert options == {"bias_split": "wb", "opset": 17, "state_io": False, "token_dtype": "int32"}
    assert meta["parity"] == "passed"
    assert float(meta["parity_max_abs_error"]) == result.max_abs_error
    assert float(meta["parity_atol"]) == 1e-4 and float(meta["parity_rtol"]) == 1e-5
    assert meta["parity_inputs"] == "random (seed 0)"


def test_an_unverified_weights_only_conversion_names_its_config(tmp_path):
    entry, path = fixture("weights_only_lstm", "tfkeras")
    config = ROOT / entry["config"]
    out = tmp_path / "m.onnx"
    convert(path, out, config_path=config, verify=False, external_data=True)
    meta = metadata(out)
    assert meta["config_file"] == config.name
    assert meta["config_sha256"] == hashlib.sha256(config.read_bytes()).hexdigest()
    assert meta["parity"] == interface.NOT_VERIFIED
    assert not any(key.startswith("parity_") for key in meta)
    assert set(meta) <= set(readme_metadata_keys())


# -- names ---------------------------------------------------------------------------------


@pytest.mark.parametrize("generation", ["keras3", "tfkeras"])
def test_return_state_outputs_and_state_io_share_the_state_suffixes(generation):
    cases = {
        "lstm_return_state": ["lstm", "lstm_h", "lstm_c"],
        "gru_return_state": ["gru", "gru_h"],
        "simplernn_return_state": ["simple_rnn", "simple_rnn_h"],
    }
    for name, wanted in cases.items():
        _, exported = converted(*fixture(name, generation))
        assert exported.output_names == wanted, name
    entry, path = fixture("bidir_lstm_return_state", generation)
    _, plain = converted(entry, path)
    layer = plain.output_names[0]
    labels = ["forward_h", "forward_c", "backward_h", "backward_c"]
    assert plain.output_names == [layer] + [f"{layer}_{label}" for label in labels]
    _, streamed = converted(entry, path, state_io=True)
    states = plain.output_names[1:]
    assert streamed.input_names[1:] == [f"{s}_in" for s in states]
    assert streamed.output_names == plain.output_names + [f"{s}_out" for s in states]


def test_merge_mode_none_names_both_directions():
    _, exported = converted(*fixture("bidir_lstm_none"))
    assert exported.output_names == ["bidirectional_forward", "bidirectional_backward"]


def test_input_names_are_keras_input_names():
    entry, path = fixture("seq2seq_char_decoder")
    model, exported = converted(entry, path)
    assert exported.input_names == [ref.layer for ref in model.inputs]
    assert exported.output_names == ["decoder_dense", "decoder_h", "decoder_c"]


# -- axes and dtypes -----------------------------------------------------------------------


def test_dynamic_axes_are_batch_and_time():
    _, exported = converted(*fixture("seq2seq_char_encoder"))
    graph = exported.skeleton.graph
    assert dims(graph.input[0]) == ["batch", "time", 6]
    assert all(dims(output)[0] == "batch" for output in graph.output)


def test_several_variable_length_inputs_get_their_own_time_axis():
    _, exported = converted(*fixture("seq2seq_char_training"))
    graph = exported.skeleton.graph
    assert [dims(value)[:2] for value in graph.input] == [
        ["batch", "encoder_inputs_time"],
        ["batch", "decoder_inputs_time"],
    ]
    assert dims(graph.output[0])[:2] == ["batch", "decoder_inputs_time"]


@pytest.mark.parametrize("generation", ["keras3", "tfkeras"])
def test_a_fixed_keras_batch_is_fixed_on_every_input_state_and_output(generation):
    entry, path = fixture("lstm_stateful", generation)
    model, exported = converted(entry, path)
    keras_batch = model.layer(model.inputs[0].layer).config["batch_shape"][0]
    graph = exported.skeleton.graph
    assert len(graph.input) == 3 and len(graph.output) == 3  # input, h, c
    assert {dims(value)[0] for value in [*graph.input, *graph.output]} == {keras_batch}


def test_token_inputs_are_int64_by_default_and_int32_on_request():
    entry, path = fixture("model_embedding_lstm")
    _, default = converted(entry, path)
    _, narrow = converted(entry, path, token_dtype="int32")
    assert elem_type(default.skeleton.graph.input[0]) == "int64"
    assert elem_type(narrow.skeleton.graph.input[0]) == "int32"
    inputs, expected = expected_arrays(entry, "input_"), expected_arrays(entry, "output_")
    ids = inputs[0].astype(np.int64)  # what a tokenizer hands over, fed without a cast
    got = run_onnx(default.model.SerializeToString(), {default.input_names[0]: ids})
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-6, atol=1e-5)


def test_token_dtype_is_checked_and_reaches_the_cli(tmp_path):
    with pytest.raises(OptionError):
        convert(SAMPLES / "text_classifier.keras", tmp_path / "x.onnx", token_dtype="int16")
    out = tmp_path / "cli.onnx"
    args = ["convert", str(SAMPLES / "text_classifier.keras"), "-o", str(out)]
    result = CliRunner().invoke(app, [*args, "--token-dtype", "int32", "--no-verify"])
    assert result.exit_code == 0, result.output
    assert elem_type(onnx.load(str(out)).graph.input[0]) == "int32"


# -- descriptions --------------------------------------------------------------------------


def test_every_input_and_output_says_what_it_is():
    entry, path = fixture("bidir_lstm_return_state")
    _, exported = converted(entry, path, state_io=True)
    graph = exported.skeleton.graph
    for value in [*graph.input, *graph.output]:
        assert value.doc_string, value.name
    assert "Keras input 'input_layer': float32 [batch, 6, 4]" in graph.input[0].doc_string
    for state in exported.states:
        docs = {v.name: v.doc_string for v in [*graph.input, *graph.output]}
        assert state.output_name in docs[state.input_name]
        assert state.input_name in docs[state.output_name]
    _, tokens = converted(*fixture("model_embedding_lstm"))
    assert "int64" in tokens.skeleton.graph.input[0].doc_string
    assert "Keras declares int32" in tokens.skeleton.graph.input[0].doc_string


# -- the README's stub, on real Keras -----------------------------------------------------


@pytest.mark.parametrize("name", ["lstm_stateful", "lstm_stateful_fn"])
def test_the_readme_stub_streams_a_stateful_model_as_keras_did(name, tmp_path, monkeypatch):
    entry, path = fixture(name)
    monkeypatch.chdir(tmp_path)
    convert(path, tmp_path / "model.onnx")
    stub, check_metadata = readme_code()
    namespace: dict = {}
    exec(stub, namespace)
    exec(check_metadata, namespace)
    input_name = onnx.load("model.onnx").graph.input[0].name
    with np.load(ROOT / entry["expected"]) as data:
        chunks = [{input_name: data["chunk_0"]}, {input_name: data["chunk_1"]}]
        keras = [data["output_chunk_0"], data["output_chunk_1"]]
    streamed = list(namespace["stream"](os.fspath(tmp_path / "model.onnx"), chunks))
    for outputs, expected in zip(streamed, keras, strict=True):
        assert len(outputs) == 1
        np.testing.assert_allclose(outputs[0], expected, rtol=0, atol=1e-5)


def test_verify_pairs_the_renamed_outputs(tmp_path):
    entry, path = fixture("bidir_lstm_return_state")
    for state_io in (False, True):
        out = tmp_path / f"m{state_io}.onnx"
        convert(path, out, state_io=state_io)
        report = verify(path, out)
        assert report.passed and report.notes == []
        assert [o.name for o in report.outputs][:2] == ["bidirectional", "bidirectional_forward_h"]
