"""Optional: every fixture through OpenVINO (CPU) and tract, against Keras.

Needs ``pip install '.[runtimes]'``; each test skips when its runtime is not installed
(CI does not install them). The cases a runtime is known to refuse or miscompute are
exactly those lstm_convert.portability finds in the graph (and ``convert`` warns
about): they are skipped with that finding as the reason.
"""

import numpy as np
import pytest
from conftest import converted, expected_arrays, fixture_files
from runtimes import available

from lstm_convert.portability import findings

KERAS_TOLERANCE = 1e-5
# float32 rounding of outputs in the hundreds (regression_bigru_large) is ~1e-4 absolute.
KERAS_RTOL = 1e-5
RUNTIMES = ("openvino", "tract")


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("entry, path", fixture_files(exclude=("stateful", "mixed_precision")))
def test_runtime_matches_keras(entry, path, runtime):
    run = available().get(runtime)
    if run is None:
        pytest.skip(f"{runtime} is not installed (pip install '.[runtimes]')")
    _, exported = converted(entry, path)
    known = [f.construct for f in findings(exported.model) if runtime in f.runtimes]
    if known:
        pytest.skip(f"known {runtime} limit: {'; '.join(known)}")
    inputs = list(exported.feeds(expected_arrays(entry, "input_")).values())
    got = run(exported.model.SerializeToString(), inputs)
    expected = expected_arrays(entry, "output_")
    assert len(got) == len(expected)
    for actual, keras in zip(got, expected):
        assert actual.shape == keras.shape
        np.testing.assert_allclose(actual, keras, rtol=KERAS_RTOL, atol=KERAS_TOLERANCE)


@pytest.mark.parametrize(
    "first, second, miscomputed",
    [(["Y0"], ["", "H1"], True), (["Y0"], ["Y1"], True), (["", "H0"], ["", "H1"], False)],
)
def test_openvino_miscomputes_recurrent_readers_of_one_tensor(first, second, miscomputed):
    """What the OpenVINO finding stands for, measured: when one tensor feeds two recurrent
    nodes and one node's Y is used, OpenVINO 2026.4 CPU gets one of them wrong. Strict: an
    OpenVINO that fixes it fails here, and the finding can go."""
    import onnxruntime as ort
    from test_portability import two_readers

    run = available().get("openvino")
    if run is None:
        pytest.skip("openvino is not installed (pip install '.[runtimes]')")
    model = two_readers(first, second).SerializeToString()
    x = np.random.default_rng(3).normal(0, 1, (3, 7, 4)).astype(np.float32)
    expected = ort.InferenceSession(model).run(None, {"X": x})
    errors = [np.abs(a - e).max() for a, e in zip(run(model, [x]), expected, strict=True)]
    assert (max(errors) > 0.01) == miscomputed, errors
