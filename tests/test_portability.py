"""Issue 14: graphs that give onnxruntime's numbers in other runtimes too, and the
one-line warning for what cannot be made portable."""

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from conftest import FIXTURES, converted, fixture_files
from onnx import TensorProto, helper, numpy_helper
from runtimes import reference
from typer.testing import CliRunner

from lstm_convert.activations import RecurrentActivation
from lstm_convert.cli import app
from lstm_convert.layers.recurrent import CellSpec, hold_on_padding
from lstm_convert.portability import findings

RECURRENT = ("LSTM", "GRU", "RNN")


def _cumsum_axes(model: onnx.ModelProto) -> list[np.ndarray]:
    weights = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    return [weights[n.input[1]] for n in model.graph.node if n.op_type == "CumSum"]


@pytest.mark.parametrize("entry, path", fixture_files(families=("masked",)))
def test_masked_graphs_use_only_portable_forms(entry, path):
    """No sequence_lens (only onnxruntime honours it), a 0-D CumSum axis (the spec's;
    tract and the reference evaluator refuse a rank-1 one), forward nodes only."""
    _, exported = converted(entry, path)
    model = exported.model
    for node in model.graph.node:
        if node.op_type in RECURRENT:
            assert len(node.input) < 5 or node.input[4] == "", node.name
            attributes = {a.name for a in node.attribute}
            assert not attributes & {"layout", "direction"}, node.name
    axes = _cumsum_axes(model)
    assert axes and all(axis.ndim == 0 for axis in axes)


@pytest.mark.parametrize("entry, path", fixture_files(exclude=("stateful", "mixed_precision")))
def test_no_reverse_direction_and_no_default_attributes(entry, path):
    """direction="reverse" is miscomputed by tract and OpenCV; a default ``activations``
    or ``layout`` makes OpenCV refuse the node."""
    _, exported = converted(entry, path)
    for node in exported.model.graph.node:
        if node.op_type in RECURRENT:
            attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            assert attributes.get("direction", b"forward") in (b"forward", b"bidirectional")
            assert "layout" not in attributes
            assert bool(findings(exported.model)) or "activations" not in attributes


def _lstm_model(units: int, features: int, spec: CellSpec, sequence_lens: bool) -> bytes:
    inputs = ["X", "W", "R", "B"] + (["L"] if sequence_lens else [])
    node = helper.make_node("LSTM", inputs, ["Y", "Y_h", "Y_c"], hidden_size=units)
    graph_inputs = [helper.make_tensor_value_info("X", TensorProto.FLOAT, None)]
    if sequence_lens:
        graph_inputs.append(helper.make_tensor_value_info("L", TensorProto.INT32, None))
    weights = [
        numpy_helper.from_array(spec.W[None], "W"),
        numpy_helper.from_array(spec.R[None], "R"),
        numpy_helper.from_array(spec.B[None], "B"),
    ]
    outputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in node.output]
    graph = helper.make_graph([node], "hold", graph_inputs, outputs, weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return model.SerializeToString()


def test_padding_flag_holds_the_cell_state_bit_for_bit():
    """The padding flag saturates f to 1 and i to 0: Y_c over all T steps equals, bit for
    bit, onnxruntime's Y_c stopped at each row's length by sequence_lens, whatever the
    padded steps hold; the reference evaluator agrees with itself the same way."""
    rng = np.random.default_rng(14)
    steps, batch, features, units = 9, 5, 3, 4
    gates = (RecurrentActivation("Sigmoid"), RecurrentActivation("Tanh"))
    spec = CellSpec(
        "LSTM",
        units,
        rng.normal(0, 1, (4 * units, features)).astype(np.float32),
        rng.normal(0, 1, (4 * units, units)).astype(np.float32),
        rng.normal(0, 1, (8 * units,)).astype(np.float32),
        (gates[0], gates[1], gates[1]),
    )
    held = hold_on_padding(spec)
    lengths = np.array([9, 3, 6, 0, 1], np.int32)
    padding = (np.arange(steps)[:, None] >= lengths[None, :]).astype(np.float32)[..., None]
    x = rng.normal(0, 2, (steps, batch, features)).astype(np.float32)
    noisy = np.where(padding > 0, rng.normal(0, 50, x.shape), x).astype(np.float32)
    stopped = ort.InferenceSession(_lstm_model(units, features, held, True))
    running = ort.InferenceSession(_lstm_model(units, features, held, False))
    flagged = np.concatenate([x, padding], axis=2)
    expected = stopped.run(["Y_c"], {"X": flagged, "L": lengths})[0]
    for data in (x, noisy):
        feed = np.concatenate([data, padding], axis=2)
        assert np.array_equal(running.run(["Y_c"], {"X": feed})[0], expected)
    model = _lstm_model(units, features, held, False)
    ref = [reference(model, [np.concatenate([d, padding], axis=2)])[2] for d in (x, noisy)]
    assert np.array_equal(ref[0], ref[1])
    np.testing.assert_allclose(ref[0], expected, rtol=0, atol=1e-6)


def test_convert_warns_in_one_line_on_stderr_naming_the_runtimes(tmp_path):
    source = FIXTURES / "keras3" / "lstm_act_tanh_hard_sigmoid.h5"
    result = CliRunner().invoke(
        app, ["convert", str(source), "-o", str(tmp_path / "m.onnx"), "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)  # the warning never lands in the JSON on stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: not portable:")
    for runtime in ("OpenVINO", "tract", "OpenCV", "reference evaluator", "HardSigmoid"):
        assert runtime in lines[0]
    assert report["warnings"] == [lines[0].removeprefix("warning: ")]


@pytest.mark.parametrize(
    "name", ["lstm_basic", "masked_masking_bidir_lstm_sequences", "gru_go_backwards"]
)
def test_portable_models_convert_without_warning(tmp_path, name):
    source = FIXTURES / "keras3" / f"{name}.h5"
    result = CliRunner().invoke(app, ["convert", str(source), "-o", str(tmp_path / "m.onnx")])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


def two_readers(first: list[str], second: list[str], transposes: int = 1) -> onnx.ModelProto:
    """Two LSTMs on one batch-major input ([batch, 7, 4] -> Transpose -> seq-major), with
    the outputs named in ``first``/``second`` (``""`` for unused): ``transposes`` = 2 gives
    each its own Transpose."""
    rng = np.random.default_rng(14)
    units, features = 5, 4
    nodes = [
        helper.make_node("Transpose", ["X"], [f"X{i}"], perm=[1, 0, 2]) for i in range(transposes)
    ]
    weights, outputs = [], []
    for index, names in enumerate((first, second)):
        for part, rows in (("W", features), ("R", units)):
            array = rng.normal(0, 1, (1, 4 * units, rows)).astype(np.float32)
            weights.append(numpy_helper.from_array(array, f"{part}{index}"))
        bias = rng.normal(0, 1, (1, 8 * units)).astype(np.float32)
        weights.append(numpy_helper.from_array(bias, f"B{index}"))
        source = f"X{min(index, transposes - 1)}"
        inputs = [source, f"W{index}", f"R{index}", f"B{index}"]
        nodes.append(helper.make_node("LSTM", inputs, names, hidden_size=units))
        outputs += [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in names if n]
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, ["batch", 7, features])
    graph = helper.make_graph(nodes, "readers", [x], outputs, weights)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


SHARED = "one tensor read by several recurrent layers, one of them returning sequences"


@pytest.mark.parametrize(
    "first, second, transposes, found",
    [
        (["Y0"], ["", "H1"], 1, True),
        (["Y0"], ["Y1"], 1, True),
        (["Y0", "H0"], ["", "H1", "C1"], 2, True),  # OpenVINO merges equal Transposes
        (["", "H0"], ["", "H1", "C1"], 1, False),  # Y_h/Y_c only: exact in OpenVINO
    ],
)
def test_recurrent_readers_of_one_tensor_with_a_sequence_are_found(
    first, second, transposes, found
):
    model = two_readers(first, second, transposes)
    shared = [f for f in findings(model) if f.construct == SHARED]
    assert bool(shared) == found
    assert all(f.runtimes == ("openvino",) for f in shared)


def test_recurrent_readers_of_different_tensors_are_not_found():
    model = two_readers(["Y0"], ["", "H1"])
    model.graph.node[2].input[0] = "X"  # the second LSTM reads the untransposed input
    assert not [f for f in findings(model) if f.construct == SHARED]


def test_stacked_cells_with_initial_state_warn_about_openvino(tmp_path):
    source = FIXTURES / "keras3" / "rnn_stacked_cells_initial_state.keras"
    result = CliRunner().invoke(app, ["convert", str(source), "-o", str(tmp_path / "m.onnx")])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: not portable:")
    assert f"{SHARED}, refused or miscomputed by OpenVINO (" in lines[0]


@pytest.mark.parametrize("name", ["around_time_padding", "around_time_padding_fn"])
def test_upsampling_feeding_a_recurrent_layer_warns_about_tract(tmp_path, name):
    """UpSampling1D is a Tile and a Reshape in front of the node; tract's declutter pass
    fails on it as it does on RepeatVector's Tile (measured with tract 0.23.9)."""
    source = FIXTURES / "keras3" / f"{name}.h5"
    result = CliRunner().invoke(app, ["convert", str(source), "-o", str(tmp_path / "m.onnx")])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "UpSampling1D feeding a recurrent layer" in lines[0]
    assert "tract" in lines[0]
