"""The remapper on tiny arrays checked by hand."""

import numpy as np
import pytest

from lstm_convert.families import GRU, LSTM, SIMPLE_RNN
from lstm_convert.remap import (
    TRANSPOSE_TILE,
    gate_index,
    remap_kernel,
    remap_layer,
    split_bias,
)


def remap_lstm(kernel, recurrent, bias, split="wb"):
    """One LSTM direction as the converter remaps it, with the direction axis."""
    units = recurrent.shape[0]
    weights = [kernel, recurrent] + ([] if bias is None else [bias])
    config = {"use_bias": bias is not None}
    biases = LSTM.biases("LSTM", config, weights)
    w, r, b = remap_layer(kernel, recurrent, biases, LSTM.perm, units, split)
    return w[None], r[None], b[None]


def test_lstm_permutation_reads_onnx_iofc_from_keras_ifco():
    keras = ("i", "f", "c", "o")
    assert LSTM.perm == (0, 3, 1, 2)
    assert tuple(keras[k] for k in LSTM.perm) == ("i", "o", "f", "c")


def test_gru_and_simple_rnn_keep_their_order():
    assert GRU.perm == (0, 1, 2) and SIMPLE_RNN.perm == (0,)


def test_gate_index_moves_whole_blocks():
    assert gate_index((0, 3, 1, 2), 2).tolist() == [0, 1, 6, 7, 2, 3, 4, 5]


def test_kernel_is_transposed_and_gates_reordered():
    # One input feature, units=1: kernel columns are the gates i=1, f=2, c=3, o=4.
    kernel = np.array([[1.0, 2.0, 3.0, 4.0]])
    recurrent = np.array([[5.0, 6.0, 7.0, 8.0]])
    w, r, b = remap_lstm(kernel, recurrent, None)
    assert w.shape == (1, 4, 1)
    assert w[0, :, 0].tolist() == [1.0, 4.0, 2.0, 3.0]  # i, o, f, c
    assert r[0, :, 0].tolist() == [5.0, 8.0, 6.0, 7.0]
    assert b.tolist() == [[0.0] * 8]  # use_bias=False: zeros


def test_two_units_two_features_layout():
    # kernel[f, g*u + k]: feature f, gate g, unit k -> value 100*f + 10*g + k
    units, features = 2, 2
    kernel = np.array(
        [[100 * f + 10 * g + k for g in range(4) for k in range(units)] for f in range(features)],
        dtype=np.float32,
    )
    recurrent = np.zeros((units, 4 * units), np.float32)
    w = remap_lstm(kernel, recurrent, None)[0][0]
    # Row order: gate i (0), o (3), f (1), c (2); each row holds one unit over features.
    expected_rows = [(g, k) for g in (0, 3, 1, 2) for k in range(units)]
    for row, (g, k) in enumerate(expected_rows):
        assert w[row].tolist() == [10 * g + k, 100 + 10 * g + k]


@pytest.mark.parametrize(
    "inputs, units, perm",
    [
        (1, 3, (0, 3, 1, 2)),
        (TRANSPOSE_TILE, TRANSPOSE_TILE, (0,)),
        (TRANSPOSE_TILE + 1, 2 * TRANSPOSE_TILE - 1, (0, 1, 2)),
        (513, 300, (0, 3, 1, 2)),
    ],
)
def test_tiled_kernel_remap_is_the_gate_index_of_the_transpose(inputs, units, perm):
    # Sizes on, below and past the tile edges: every element lands where the one-line
    # definition puts it (row k of ONNX gate j is Keras column perm[j]*units + k).
    kernel = np.arange(inputs * len(perm) * units, dtype=np.float64).reshape(inputs, -1)
    original = kernel.copy()
    w = remap_kernel(kernel, perm, units)
    assert w.dtype == np.float32 and w.flags.c_contiguous
    np.testing.assert_array_equal(w, kernel.T[gate_index(perm, units)].astype(np.float32))
    np.testing.assert_array_equal(kernel, original)  # a pure function


@pytest.mark.parametrize(
    "split, expected",
    [
        ("wb", [10, 40, 20, 30, 0, 0, 0, 0]),
        ("rb", [0, 0, 0, 0, 10, 40, 20, 30]),
        ("half", [5, 20, 10, 15, 5, 20, 10, 15]),
    ],
)
def test_single_bias_split(split, expected):
    kernel = np.zeros((1, 4), np.float32)
    bias = np.array([10.0, 20.0, 30.0, 40.0])  # i, f, c, o
    b = remap_lstm(kernel, kernel, bias, split)[2]
    assert b.shape == (1, 8)
    assert b[0].tolist() == expected


def test_classic_forget_gate_ones_move_to_wb_8_12():
    bias = np.array([0] * 4 + [1] * 4 + [0] * 8, dtype=np.float32)  # Keras LSTM(4) default
    kernel = np.zeros((5, 16), np.float32)
    recurrent = np.zeros((4, 16), np.float32)
    b = remap_lstm(kernel, recurrent, bias)[2][0]
    assert b[8:12].tolist() == [1, 1, 1, 1]
    assert b.sum() == 4


def test_split_bias_rejects_unknown_mode():
    with pytest.raises(ValueError):
        split_bias(np.zeros(4, np.float32), "middle")  # type: ignore[arg-type]


def test_gru_reset_after_is_read_from_the_config_or_the_bias_shape():
    kernel, recurrent = np.zeros((2, 3)), np.zeros((1, 3))
    two_rows = np.arange(6.0).reshape(2, 3)
    old_config = {}  # older configs omit reset_after
    read = GRU.biases("GRU", old_config, [kernel, recurrent, two_rows])
    assert read.kind == "two" and read.reset_after
    assert read.input.tolist() == [0, 1, 2] and read.recurrent.tolist() == [3, 4, 5]
    flat = GRU.biases("GRU", old_config, [kernel, recurrent, np.arange(3.0)])
    assert flat.kind == "single" and not flat.reset_after
    assert GRU.reset_after("GRU", {"reset_after": True, "use_bias": False}, [kernel, recurrent])
    assert GRU.reset_after("CuDNNGRU", {}, []) and not LSTM.reset_after("CuDNNLSTM", {}, [])


def test_cudnn_biases_are_input_then_recurrent():
    read = LSTM.biases("CuDNNLSTM", {}, [None, None, np.arange(8.0)])
    assert read.kind == "two"
    assert read.input.tolist() == [0, 1, 2, 3] and read.recurrent.tolist() == [4, 5, 6, 7]


def test_a_family_whose_orders_disagree_is_refused():
    from dataclasses import replace

    with pytest.raises(ValueError):
        replace(LSTM, onnx_gates=("i", "o", "f", "x"))
