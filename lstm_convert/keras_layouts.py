"""Keras's own conversions between its weight layouts (Keras semantics, not ONNX).

* CuDNNLSTM / CuDNNGRU store each gate's input kernel in cuDNN's (Fortran) layout and
  the recurrent kernel transposed; tf-keras converts them per gate when it loads them
  into LSTM / GRU (``_convert_rnn_weights`` in its ``hdf5_format.py``). We do the same.
* Keras 1 stored LSTM as 12 arrays (gates i, c, f, o) and GRU as 9 (z, r, h).
"""

from __future__ import annotations

import numpy as np

Array = np.ndarray


def _per_gate(kernel: Array, gates: int, fn) -> Array:
    return np.hstack([fn(block) for block in np.hsplit(np.asarray(kernel), gates)])


def cudnn_kernels(kernel: Array, recurrent: Array, gates: int) -> tuple[Array, Array]:
    """cuDNN-layout kernels -> Keras kernels, gate by gate, as tf-keras converts them."""
    keras_kernel = _per_gate(kernel, gates, lambda k: k.T.reshape(k.shape, order="F"))
    keras_recurrent = _per_gate(recurrent, gates, lambda k: k.T)
    return keras_kernel, keras_recurrent


def keras1_lstm(arrays: list[Array]) -> list[Array]:
    """Keras 1's 12 arrays W_i,U_i,b_i, W_c,U_c,b_c, W_f,U_f,b_f, W_o,U_o,b_o -> i,f,c,o."""
    order = (0, 2, 1, 3)  # file gate blocks are i, c, f, o
    return [np.concatenate([arrays[3 * g + part] for g in order], axis=-1) for part in range(3)]


def keras1_gru(arrays: list[Array]) -> list[Array]:
    """Keras 1's 9 arrays W_z,U_z,b_z, W_r,U_r,b_r, W_h,U_h,b_h -> kernel, recurrent, bias."""
    return [np.concatenate([arrays[3 * g + part] for g in range(3)], axis=-1) for part in range(3)]
