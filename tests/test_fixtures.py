"""Every real-Keras fixture, in every format: onnxruntime must match Keras's predictions."""

import json

import h5py
import numpy as np
import pytest
from conftest import ROOT, converted, expected_arrays, fixture_files, loaded, manifest

from lstm_convert.parity import run_onnx
from lstm_convert.reference import run_reference
from lstm_convert.weightspec import RECURRENT_CLASSES, inner_layer_configs, rnn_cells

KERAS_TOLERANCE = 1e-5
# Stateful fixtures stream chunks; mixed-precision ones are computed by Keras in float16.
NOT_EXACT = ("stateful", "mixed_precision")
MIXED_PRECISION_TOLERANCE = 2e-3
# A few float32 ulps: what separates two float32 engines on outputs of several hundred.
KERAS_RTOL = 1e-6


def expected_fused_nodes(model, masked: bool) -> int:
    """One node per recurrent layer. The exceptions, one fused node per direction: a
    Bidirectional whose explicit backward layer has other units cannot share ONNX's
    single hidden_size, and a masked Bidirectional packs each direction's valid steps
    to the front of its own node (no sequence_lens: see mask_pack.py). A layer called
    several times (model_shared_lstm) has that many nodes per call."""
    return sum(
        fused_nodes_of(layer.class_name, layer.config, masked) * max(1, len(layer.calls))
        for layer in model.iter_layers()
    )


def fused_nodes_of(class_name: str, config: dict, masked: bool = False) -> int:
    if class_name in RECURRENT_CLASSES:
        return 1
    if class_name == "RNN":  # keras.layers.RNN(cell): one node per cell
        return len(rnn_cells(config))
    if class_name == "Bidirectional":
        forward, backward = inner_layer_configs(config)
        same = forward["config"].get("units") == backward["config"].get("units")
        return 1 if same and not masked else 2
    if class_name == "TimeDistributed":  # time folded into batch: still one node
        inner = config["layer"]
        return fused_nodes_of(inner["class_name"], inner["config"])
    return 0


@pytest.mark.parametrize("entry, path", fixture_files(exclude=NOT_EXACT))
def test_onnxruntime_matches_keras(entry, path):
    model, exported = converted(entry, path)
    inputs = expected_arrays(entry, "input_")
    expected = expected_arrays(entry, "output_")
    got = run_onnx(exported.model.SerializeToString(), exported.feeds(inputs))
    assert len(got) == len(expected)
    for actual, keras in zip(got, expected):
        assert actual.shape == keras.shape
        np.testing.assert_allclose(actual, keras, rtol=KERAS_RTOL, atol=KERAS_TOLERANCE)


@pytest.mark.parametrize("entry, path", fixture_files(exclude=NOT_EXACT))
def test_every_recurrent_layer_is_one_fused_node(entry, path):
    model, exported = converted(entry, path)
    ops = [node.op_type for node in exported.model.graph.node]
    assert "Loop" not in ops and "Scan" not in ops
    fused = sum(op in ("LSTM", "GRU", "RNN") for op in ops)
    # A masked Bidirectional is the one whose conversion packs its input (GatherND).
    masked = any(
        r.class_name == "Bidirectional" and "GatherND" in r.onnx_ops for r in exported.layers
    )
    assert fused == expected_fused_nodes(model, masked)
    assert fused >= 1


@pytest.mark.parametrize("entry, path", fixture_files(exclude=NOT_EXACT))
def test_numpy_reference_matches_keras(entry, path):
    """The parity check is only as good as its reference: hold it to Keras too."""
    model = loaded(entry, path)
    inputs = expected_arrays(entry, "input_")
    expected = expected_arrays(entry, "output_")
    outputs, _ = run_reference(model, inputs)
    for ours, keras in zip(outputs, expected, strict=True):
        np.testing.assert_allclose(ours, keras, rtol=KERAS_RTOL, atol=KERAS_TOLERANCE)


@pytest.mark.parametrize("entry, path", fixture_files(families=("stateful",)))
def test_stateful_model_streams_chunks_with_state_io(entry, path):
    model, exported = converted(entry, path, state_io=True)
    with np.load(ROOT / entry["expected"]) as data:
        chunks = [data["chunk_0"], data["chunk_1"]]
        expected = [data["output_chunk_0"], data["output_chunk_1"]]
    states = exported.states
    assert states, "--state-io must expose the recurrent state"
    session_bytes = exported.model.SerializeToString()
    batch = chunks[0].shape[0]
    carried = {s.input_name: np.zeros((batch, s.units), np.float32) for s in states}
    model_inputs = [n for n in exported.input_names if n not in carried]
    for chunk, keras in zip(chunks, expected):
        got = run_onnx(session_bytes, {model_inputs[0]: chunk, **carried})
        np.testing.assert_allclose(got[0], keras, rtol=0, atol=KERAS_TOLERANCE)
        finals = dict(zip(exported.output_names, got))
        carried = {s.input_name: finals[s.output_name] for s in states}


@pytest.mark.parametrize("entry, path", fixture_files(families=("stateful",)))
def test_stateful_model_converts_without_flag_and_zeros_give_the_first_call(entry, path):
    """Without --state-io a stateful layer's states are still graph inputs and outputs
    (noted once); zero states reproduce Keras's first call on a fresh model."""
    model, exported = converted(entry, path)
    assert exported.states and len(exported.notes) == 1 and "stateful" in exported.notes[0]
    with np.load(ROOT / entry["expected"]) as data:
        chunk, keras = data["chunk_0"], data["output_chunk_0"]
    zeros = {s.input_name: np.zeros((chunk.shape[0], s.units), np.float32) for s in exported.states}
    model_input = next(n for n in exported.input_names if n not in zeros)
    got = run_onnx(exported.model.SerializeToString(), {model_input: chunk, **zeros})
    np.testing.assert_allclose(got[0], keras, rtol=0, atol=KERAS_TOLERANCE)


# Keras 1's per-gate weight layout, in its gate order (consume_less="gpu" fuses them).
KERAS1_GATES = {"LSTM": "icfo", "GRU": "zrh", "SimpleRNN": ""}


def _keras1_weight_suffixes(class_name: str, config: dict) -> list[str]:
    gates = KERAS1_GATES[class_name]
    if not gates or config.get("consume_less") == "gpu":
        return ["W", "U", "b"]
    return [f"{part}_{gate}" for gate in gates for part in ("W", "U", "b")]


def test_keras1_fixtures_are_laid_out_as_keras1_wrote_them():
    """No Keras 1 can be installed, so tools/make_fixtures.py writes the Keras 1 files with
    h5py exactly as Keras 1 laid them out (12 LSTM arrays in gate order i, c, f, o; 9 GRU
    arrays; ``output_dim``/``inner_activation`` configs). Their expected outputs are tf-keras's
    predictions after loading the same file through its own Keras 1 weight conversion, and
    the parametrized tests above compare against exactly those. Checked here: the files
    themselves (version, config keys, weight names in Keras 1's order), and that every one
    of them is among the parity cases."""
    keras1 = [entry for entry in manifest() if entry["generation"] == "keras1"]
    assert {entry["family"] for entry in keras1} >= {"lstm", "gru", "simplernn", "masked"}
    parity_cases = {str(p.values[1]) for p in fixture_files(exclude=NOT_EXACT)}
    for entry in keras1:
        (file,) = entry["files"]
        assert str(ROOT / file) in parity_cases, file
        with h5py.File(ROOT / file, "r") as f:
            version = f.attrs.get("keras_version", b"1")  # the oldest files carry none
            assert (version.decode() if isinstance(version, bytes) else version)[0] == "1"
            config = json.loads(f.attrs["model_config"])["config"]
            layers = config if isinstance(config, list) else config["layers"]
            recurrent = [layer for layer in layers if layer["class_name"] in KERAS1_GATES]
            assert recurrent, file
            for layer in recurrent:
                name, options = layer["config"]["name"], layer["config"]
                assert "output_dim" in options and "units" not in options, (file, name)
                stored = [w.decode() for w in f["model_weights"][name].attrs["weight_names"]]
                expected = [
                    f"{name}_{s}" for s in _keras1_weight_suffixes(layer["class_name"], options)
                ]
                assert [w.removesuffix(":0") for w in stored] == expected, (file, name)


@pytest.mark.parametrize("entry, path", fixture_files(families=("mixed_precision",)))
def test_mixed_precision_model_converts_with_a_note(entry, path):
    """Keras runs mixed_float16 layers in float16, the ONNX model in float32: close to
    Keras, exact to the float32 reference, and the user is told why."""
    model, exported = converted(entry, path)
    assert any("mixed_float16" in note and "float16" in note for note in exported.notes)
    inputs = expected_arrays(entry, "input_")
    got = run_onnx(exported.model.SerializeToString(), exported.feeds(inputs))
    reference, _ = run_reference(model, inputs)
    for actual, keras, ours in zip(got, expected_arrays(entry, "output_"), reference, strict=True):
        np.testing.assert_allclose(actual, keras, rtol=0, atol=MIXED_PRECISION_TOLERANCE)
        np.testing.assert_allclose(actual, ours, rtol=0, atol=KERAS_TOLERANCE)
