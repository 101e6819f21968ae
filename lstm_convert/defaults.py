"""Every default of the API, written once. The CLI reads its defaults from here too.

This module imports nothing, so ``lstm-convert --help`` can show the defaults instantly.
"""

from __future__ import annotations

DEFAULT_OPSET = 17
MIN_OPSET = 14
# The newest opset of the oldest onnx this package accepts (onnx 1.15: opset 20). An opset
# up to this one is valid without asking the installed onnx, so options are checked
# without importing it.
OPSET_OF_OLDEST_ONNX = 20
DEFAULT_BIAS_SPLIT = "wb"
BIAS_SPLITS: tuple[str, ...] = ("wb", "rb", "half")  # where Keras's bias goes in B = [Wb, Rb]
TOKEN_DTYPES = ("int32", "int64")  # the dtypes token-id inputs may be declared as
DEFAULT_TOKEN_DTYPE = "int64"  # the dtype of token-id inputs: what tokenizers return
# The parity check accepts |onnx - keras| <= atol + rtol * |keras|, as np.allclose does.
DEFAULT_ATOL = 1e-4
DEFAULT_RTOL = 1e-5
# Seconds one file of a batch may take before its worker is killed.
DEFAULT_BATCH_TIMEOUT = 300.0
