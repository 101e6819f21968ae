"""The remapper on tiny arrays checked by hand."""

import numpy as np
import pytest

from lstm_convert.remap import (
    KERAS_TO_ONNX_LSTM,
    gate_index,
    remap_lstm,
    split_bias,
)


def test_lstm_permutation_reads_onnx_iofc_from_keras_ifco():
    keras = ("i", "f", "c", "o")
    assert tuple(keras[k] for k in KERAS_TO_ONNX_LSTM) == ("i", "o", "f", "c")


def test_gate_index_moves_whole_blocks():
    assert gate_index((0, 3, 1, 2), 2).tolist() == [0, 1, 6, 7, 2, 3, 4, 5]


def test_kernel_is_transposed_and_gates_reordered():
    # One input feature, units=1: kernel columns are the gates i=1, f=2, c=3, o=4.
    kernel = np.array([[1.0, 2.0, 3.0, 4.0]])
    recurrent = np.array([[5.0, 6.0, 7.0, 8.0]])
    onnx = remap_lstm(kernel, recurrent, None)
    assert onnx.W.shape == (1, 4, 1)
    assert onnx.W[0, :, 0].tolist() == [1.0, 4.0, 2.0, 3.0]  # i, o, f, c
    assert onnx.R[0, :, 0].tolist() == [5.0, 8.0, 6.0, 7.0]
    assert onnx.B.tolist() == [[0.0] * 8]  # use_bias=False: zeros


def test_two_units_two_features_layout():
    # kernel[f, g*u + k]: feature f, gate g, unit k -> value 100*f + 10*g + k
    units, features = 2, 2
    kernel = np.array(
        [[100 * f + 10 * g + k for g in range(4) for k in range(units)] for f in range(features)],
        dtype=np.float32,
    )
    recurrent = np.zeros((units, 4 * units), np.float32)
    w = remap_lstm(kernel, recurrent, None).W[0]
    # Row order: gate i (0), o (3), f (1), c (2); each row holds one unit over features.
    expected_rows = [(g, k) for g in (0, 3, 1, 2) for k in range(units)]
    for row, (g, k) in enumerate(expected_rows):
        assert w[row].tolist() == [10 * g + k, 100 + 10 * g + k]


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
    onnx = remap_lstm(kernel, kernel, bias, split)
    assert onnx.B.shape == (1, 8)
    assert onnx.B[0].tolist() == expected


def test_classic_forget_gate_ones_move_to_wb_8_12():
    bias = np.array([0] * 4 + [1] * 4 + [0] * 8, dtype=np.float32)  # Keras LSTM(4) default
    kernel = np.zeros((5, 16), np.float32)
    recurrent = np.zeros((4, 16), np.float32)
    b = remap_lstm(kernel, recurrent, bias).B[0]
    assert b[8:12].tolist() == [1, 1, 1, 1]
    assert b.sum() == 4


def test_split_bias_rejects_unknown_mode():
    with pytest.raises(ValueError):
        split_bias(np.zeros(4, np.float32), "middle")  # type: ignore[arg-type]
