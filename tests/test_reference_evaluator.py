"""A second oracle: every fixture through onnx.reference.ReferenceEvaluator against Keras.

onnxruntime is lenient where the ONNX spec is strict (a rank-1 CumSum axis) and honours
``sequence_lens``, which the reference evaluator ignores. Holding our graphs to the
reference keeps them portable (issue 14).
"""

import numpy as np
import pytest
from conftest import ROOT, converted, expected_arrays, fixture_files
from runtimes import RuntimeStageError, reference

from lstm_convert.portability import custom_activations

KERAS_TOLERANCE = 1e-5
KERAS_RTOL = 1e-6  # as tests/test_fixtures.py: float32 ulps on outputs of several hundred

# The evaluator ignores LSTM's and GRU's ``activations`` attribute (sigmoid/tanh always)
# and knows only Tanh and Affine for RNN: these fixtures use other activations, so it
# cannot compute them. Keras 1's default inner activation is hard_sigmoid.
NON_DEFAULT_ACTIVATIONS = {
    *(
        f"keras1/{name}"
        for name in (
            "embedding_lstm_masked",
            "gru_basic",
            "gru_sequences",
            "lstm_basic",
            "lstm_consume_gpu",
            "lstm_functional",
            "lstm_go_backwards",
            "lstm_sequences_dense",
            "lstm_theano_names",
        )
    ),
    *(
        f"{generation}/{name}"
        for generation in ("keras3", "tfkeras")
        for name in (
            "bidir_lstm_backward_layer",
            "gru_act_relu_softsign",
            "gru_hard_sigmoid",
            "gru_resetbefore_hard_sigmoid",
            "lstm_act_elu_tanh",
            "lstm_act_hard_sigmoid_sigmoid",
            "lstm_act_linear_hard_sigmoid",
            "lstm_act_linear_hard_sigmoid_fn",
            "lstm_act_relu_sigmoid",
            "lstm_act_sigmoid_softsign",
            "lstm_act_softsign_sigmoid",
            "lstm_act_tanh_hard_sigmoid",
            "lstm_act_tanh_hard_sigmoid_fn",
            "lstm_act_tanh_linear",
            "lstm_act_tanh_relu",
            "simplernn_relu",
        )
    ),
    # Keras 2.0-2.3 files: LSTM's default recurrent activation was hard_sigmoid.
    *(f"keras2old/cnn_lstm_k{version}" for version in ("208", "224", "231")),
    # hard_sigmoid shows which Keras wrote a .weights.h5 (tf-keras here).
    "tfkeras/weights_only_v3file_lstm",
}
# Graphs the evaluator fails on for reasons outside our recurrent nodes: its pooling
# raises IndexError on these Conv1D/pooling options (onnx 1.23); onnxruntime matches.
EVALUATOR_FAILS = {
    f"{generation}/{name}"
    for generation in ("keras3", "tfkeras")
    for name in ("around_conv1d_options", "around_conv1d_options_fn")
}


@pytest.mark.parametrize("entry, path", fixture_files(exclude=("stateful", "mixed_precision")))
def test_reference_evaluator_matches_keras(entry, path):
    _, exported = converted(entry, path)
    if f"{entry['generation']}/{entry['name']}" in NON_DEFAULT_ACTIVATIONS:
        assert custom_activations(exported.model), "not a custom-activation graph: unlist it"
        pytest.skip("the reference evaluator ignores non-default recurrent activations")
    if f"{entry['generation']}/{entry['name']}" in EVALUATOR_FAILS:
        with pytest.raises(RuntimeStageError, match="IndexError"):
            reference(exported.model.SerializeToString(), expected_arrays(entry, "input_"))
        pytest.skip("the reference evaluator's pooling fails on this graph (see EVALUATOR_FAILS)")
    inputs = list(exported.feeds(expected_arrays(entry, "input_")).values())
    expected = expected_arrays(entry, "output_")
    got = reference(exported.model.SerializeToString(), inputs)
    assert len(got) == len(expected)
    for actual, keras in zip(got, expected):
        assert actual.shape == keras.shape
        np.testing.assert_allclose(actual, keras, rtol=KERAS_RTOL, atol=KERAS_TOLERANCE)


@pytest.mark.parametrize("entry, path", fixture_files(families=("stateful",)))
def test_reference_evaluator_streams_stateful_chunks(entry, path):
    """--state-io graphs too: two chunks, the final states of one fed to the next."""
    _, exported = converted(entry, path, state_io=True)
    with np.load(ROOT / entry["expected"]) as data:
        chunks = [data["chunk_0"], data["chunk_1"]]
        expected = [data["output_chunk_0"], data["output_chunk_1"]]
    states = exported.states
    batch = chunks[0].shape[0]
    carried = {s.input_name: np.zeros((batch, s.units), np.float32) for s in states}
    model = exported.model.SerializeToString()
    for chunk, keras in zip(chunks, expected):
        feed = {exported.input_names[0]: chunk, **carried}
        got = reference(model, [feed[name] for name in exported.input_names])
        np.testing.assert_allclose(got[0], keras, rtol=0, atol=KERAS_TOLERANCE)
        finals = dict(zip(exported.output_names, got))
        carried = {s.input_name: finals[s.output_name] for s in states}
