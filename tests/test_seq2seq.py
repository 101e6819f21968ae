"""initial_state, keras.layers.RNN(cell), explicit mask inputs, nested state references:
how they reach the graph, and that every command works on such models. (Parity against
Keras for every fixture is in test_fixtures.py.)"""

import json

import onnx
import pytest
from conftest import ROOT, manifest
from typer.testing import CliRunner

from lstm_convert.api import load
from lstm_convert.cli import app
from lstm_convert.errors import UnsupportedModelError
from lstm_convert.export import export_model
from lstm_convert.export.context import ConvertOptions
from lstm_convert.model import SourceInfo, call_inputs
from lstm_convert.readers.config import parse_model_config

FUSED = ("LSTM", "GRU", "RNN")
INITIAL_H = 5  # ONNX LSTM/GRU/RNN inputs: X, W, R, B, sequence_lens, initial_h, initial_c


def fixture(name: str, generation: str, suffix: str):
    for entry in manifest():
        if entry["name"] == name and entry["generation"] == generation:
            return ROOT / next(f for f in entry["files"] if f.endswith(suffix))
    raise LookupError(name)


def producers(graph: onnx.GraphProto) -> dict[str, onnx.NodeProto]:
    return {out: node for node in graph.node for out in node.output}


def traces_to(graph: onnx.GraphProto, value: str, graph_input: str) -> bool:
    """Whether ``value`` is computed from ``graph_input`` (walking producers back)."""
    made_by = producers(graph)
    pending, seen = [value], set()
    while pending:
        name = pending.pop()
        if name == graph_input:
            return True
        if name in seen or name not in made_by:
            continue
        seen.add(name)
        pending.extend(made_by[name].input)
    return False


@pytest.mark.parametrize("generation", ["keras3", "tfkeras"])
@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_decoder_state_inputs_feed_the_fused_node(generation, suffix):
    model = load(fixture("seq2seq_char_decoder", generation, suffix))
    graph = export_model(model, ConvertOptions()).model.graph
    (node,) = [n for n in graph.node if n.op_type in FUSED]
    assert traces_to(graph, node.input[INITIAL_H], "state_h")
    assert traces_to(graph, node.input[INITIAL_H + 1], "state_c")
    assert not traces_to(graph, node.input[INITIAL_H], "state_c")


@pytest.mark.parametrize("generation", ["keras3", "tfkeras"])
def test_bidirectional_takes_forward_then_backward_states(generation):
    model = load(fixture("seq2seq_bidir_lstm", generation, ".keras"))
    graph = export_model(model, ConvertOptions()).model.graph
    (node,) = [n for n in graph.node if n.op_type == "LSTM"]
    assert dict((a.name, a.s) for a in node.attribute if a.name == "direction") == {
        "direction": b"bidirectional"
    }
    names = [i.name for i in graph.input]
    forward_h, _, backward_h, _ = names[1:5]
    concat = producers(graph)[node.input[INITIAL_H]]
    assert concat.op_type == "Concat"
    assert traces_to(graph, concat.input[0], forward_h)
    assert traces_to(graph, concat.input[1], backward_h)


def test_training_model_feeds_encoder_states_to_the_decoder():
    model = load(fixture("seq2seq_char_training", "tfkeras", ".h5"))
    graph = export_model(model, ConvertOptions()).model.graph
    encoder, decoder = [n for n in graph.node if n.op_type == "LSTM"]
    assert traces_to(graph, decoder.input[INITIAL_H], encoder.output[1])
    assert traces_to(graph, decoder.input[INITIAL_H + 1], encoder.output[2])


NESTED_CONFIG = {
    "class_name": "Functional",
    "config": {
        "name": "m",
        "layers": [
            {
                "class_name": "InputLayer",
                "name": "x",
                "config": {"batch_input_shape": [None, 3, 2]},
            },
            {
                "class_name": "RNN",
                "name": "rnn",
                "config": {},
                "inbound_nodes": [[["x", 0, 0, {}]]],
            },
            {
                "class_name": "RNN",
                "name": "rnn_1",
                "config": {},
                "inbound_nodes": [
                    [["x", 0, 0, {}], [["rnn", 0, 1, {}], ["rnn", 0, 2, {}]], ["rnn", 0, 3, {}]]
                ],
            },
        ],
        "input_layers": [["x", 0, 0]],
        "output_layers": [["rnn_1", 0, 0]],
    },
}


def test_nested_state_references_parse_in_keras_order():
    model = parse_model_config(NESTED_CONFIG, SourceInfo("m.h5", "keras2-h5", "2.21.0"))
    (call,) = model.layer("rnn_1").calls
    assert [(r.layer, r.index) for r in call_inputs(call)] == [
        ("x", 0),
        ("rnn", 1),
        ("rnn", 2),
        ("rnn", 3),
    ]


def test_keras3_initial_state_keyword_becomes_inputs():
    model = load(fixture("seq2seq_char_training", "keras3", ".keras"))
    (call,) = model.layer("decoder").calls
    refs = call_inputs(call)
    assert [(r.layer, r.index) for r in refs] == [
        ("decoder_inputs", 0),
        ("encoder", 1),
        ("encoder", 2),
    ]


def test_wrong_number_of_initial_states_is_refused():
    model = load(fixture("seq2seq_char_decoder", "tfkeras", ".h5"))
    (call,) = model.layer("decoder").calls
    call.inputs = call.inputs[:2]  # h only, no c
    with pytest.raises(UnsupportedModelError, match="takes 2 initial state"):
        export_model(model, ConvertOptions())


def test_stacked_cells_become_one_fused_node_per_cell():
    model = load(fixture("rnn_stacked_cells", "keras3", ".keras"))
    ops = [n.op_type for n in export_model(model, ConvertOptions()).model.graph.node]
    assert [op for op in ops if op in FUSED] == ["LSTM", "GRU", "RNN"]


COMMAND_CASES = [
    ("seq2seq_char_decoder", "keras3", ".keras"),
    ("seq2seq_word_training", "tfkeras", ".h5"),
    ("seq2seq_bidir_gru_masked", "keras3", ".h5"),
    ("masked_bool_mask_initial_state", "tfkeras", ".keras"),
    ("rnn_stacked_cells_initial_state", "tfkeras", ".h5"),
    ("rnn_cell_gru", "keras3", ".keras"),
    ("windows_backslash_paths", "tfkeras", ".keras"),
    ("mixed_float16", "keras3", ".keras"),
    ("ops_two_masked_inputs", "keras3", ".keras"),
    ("ops_keras_ops", "keras3", ".h5"),
    ("ops_tf_functions", "tfkeras", ".keras"),
]


@pytest.mark.parametrize("name, generation, suffix", COMMAND_CASES)
def test_every_command_works(tmp_path, name, generation, suffix):
    runner = CliRunner()
    path = str(fixture(name, generation, suffix))
    out = str(tmp_path / "m.onnx")
    result = runner.invoke(app, ["convert", path, "-o", out, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "ok"
    for command in (["inspect", path], ["explain", path], ["verify", path, out]):
        result = runner.invoke(app, command)
        assert result.exit_code == 0, (command, result.output)


def test_operations_own_no_weight_container():
    """Keras 3 saves containers for Functional.layers only: the traced Concatenate
    operation must not take the real Concatenate layer's container."""
    model = load(fixture("ops_two_masked_inputs", "keras3", ".keras"))
    operations = {layer.name for layer in model.layers if layer.op_layer}
    assert operations == {
        "not_equal",
        "not_equal_1",
        "expand_dims",
        "expand_dims_1",
        "zeros_like",
        "zeros_like_1",
        "logical_or",
        "logical_or_1",
        "concatenate_1",
        "any",
    }
    assert not model.layer("concatenate").op_layer
