"""Layers around recurrent ones (issue 11): the built-in parity check must catch a broken
converter, because the NumPy reference computes these layers on its own.

Each test breaks one converter the way a plausible bug would and expects ``convert`` to
refuse with a parity mismatch (exit 1); the unbroken conversions are held to Keras by
test_fixtures.py.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from conftest import FIXTURES

from lstm_convert import convert
from lstm_convert.api import load
from lstm_convert.errors import ParityError
from lstm_convert.layers import CONVERTERS, attention, conv, pooling, time_distributed
from lstm_convert.reference_layers import _pads


def fixture(generation: str, name: str):
    return FIXTURES / generation / name


def assert_parity_fails(path, tmp_path):
    out = tmp_path / "out.onnx"
    with pytest.raises(ParityError):
        convert(path, out)
    assert not out.exists()


def test_unbroken_conversions_pass(tmp_path):
    for name in ("around_batchnorm.keras", "around_crnn.h5", "around_bilstm_attention.h5"):
        result = convert(fixture("keras3", name), tmp_path / f"{name}.onnx")
        assert result.max_abs_error < 1e-5


def test_batchnorm_statistics_are_random_in_the_fixture():
    model = load(fixture("tfkeras", "around_batchnorm.h5"))
    norms = [layer for layer in model.iter_layers() if layer.class_name == "BatchNormalization"]
    assert norms
    for layer in norms:
        mean, variance = layer.weights[-2], layer.weights[-1]
        assert np.all(mean != 0.0) and np.all(variance != 1.0) and np.all(variance > 0.0)


def test_batchnorm_without_moving_statistics_is_caught(monkeypatch, tmp_path):
    fold = CONVERTERS["BatchNormalization"]

    def forgets_statistics(ctx, layer, inputs, call):
        *affine, mean, variance = layer.weights
        stats = [np.zeros_like(mean), np.ones_like(variance)]
        return fold(ctx, replace(layer, weights=[*affine, *stats]), inputs, call)

    monkeypatch.setitem(CONVERTERS, "BatchNormalization", forgets_statistics)
    assert_parity_fails(fixture("keras3", "around_batchnorm.keras"), tmp_path)


def test_conv2d_kernel_flipped_in_space_is_caught(monkeypatch, tmp_path):
    right = conv.conv_weights

    def flipped(layer, x, spec):
        kernel, *bias = right(layer, x, spec)
        return [np.ascontiguousarray(kernel[:, :, ::-1, ::-1]), *bias]

    monkeypatch.setattr(conv, "conv_weights", flipped)
    assert_parity_fails(fixture("tfkeras", "around_crnn.keras"), tmp_path)


def test_same_padding_on_the_wrong_side_is_caught(monkeypatch, tmp_path):
    right = conv.padding_attrs

    def lower(padding, windows, dilations):
        attrs = right(padding, windows, dilations)
        return {"auto_pad": "SAME_LOWER"} if attrs.get("auto_pad") else attrs

    monkeypatch.setattr(pooling, "padding_attrs", lower)
    assert_parity_fails(fixture("keras3", "around_conv1d_options.h5"), tmp_path)


def test_conv1d_passing_the_mask_on_is_caught(monkeypatch, tmp_path):
    right = CONVERTERS["Conv1D"]

    def keeps_mask(ctx, layer, inputs, call):
        return [replace(t, mask=inputs[0].mask) for t in right(ctx, layer, inputs, call)]

    monkeypatch.setitem(CONVERTERS, "Conv1D", keeps_mask)
    assert_parity_fails(fixture("keras3", "around_masked_conv.keras"), tmp_path)


def test_ignoring_the_attention_mask_is_caught(monkeypatch, tmp_path):
    monkeypatch.setattr(attention, "MASKED_SCORE", 0.0)
    assert_parity_fails(fixture("tfkeras", "around_bilstm_attention.h5"), tmp_path)


def test_time_distributed_folding_time_major_is_caught(monkeypatch, tmp_path):
    right = time_distributed.fold_time

    def time_major(ctx, x, name):
        perm = [1, 0, *range(2, x.rank)]
        swapped = ctx.builder.op("Transpose", [x.name], name, perm=perm)
        return right(ctx, replace(x, name=swapped), name)

    monkeypatch.setattr(time_distributed, "fold_time", time_major)
    # Three folded TimeDistributed layers: an odd number of transposed grids cannot cancel.
    assert_parity_fails(fixture("keras3", "around_crnn_global.keras"), tmp_path)


@pytest.mark.parametrize("size", [5, 6, 7, 8])
@pytest.mark.parametrize("window, stride, dilation", [(3, 1, 1), (2, 2, 1), (3, 2, 1), (3, 1, 2)])
def test_same_padding_matches_tensorflow_arithmetic(size, window, stride, dilation):
    before, after = _pads(size, window, stride, dilation, "same")
    out = (size + before + after - (window - 1) * dilation - 1) // stride + 1
    assert out == -(-size // stride)
    assert after - before in (0, 1)  # the odd cell goes at the end, as in TensorFlow
    assert conv.window_output(size, window, stride, dilation, "same") == out


def test_keras_container_names_follow_keras_snake_case():
    from lstm_convert.readers.keras_zip import snake_case

    assert snake_case("ConvLSTM2D") == "conv_lstm2d"
    assert snake_case("MaxPooling1D") == "max_pooling1d"
    assert snake_case("PReLU") == "p_re_lu"


def test_conv_lstm_without_a_fixed_time_length_is_refused_in_one_line(tmp_path):
    import json
    import shutil

    import h5py
    from typer.testing import CliRunner

    from lstm_convert.cli import app

    bad = tmp_path / "convlstm_dynamic.h5"
    shutil.copy(fixture("tfkeras", "around_conv_lstm2d.h5"), bad)
    with h5py.File(bad, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        first = config["config"]["layers"][0]["config"]
        first["batch_input_shape"][1] = None
        f.attrs["model_config"] = json.dumps(config)
    result = CliRunner().invoke(app, ["convert", str(bad), "-o", str(tmp_path / "x.onnx")])
    assert result.exit_code == 2
    assert "ConvLSTM2D has no fused ONNX op" in result.stderr and "Scan" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_convert_says_conv_lstm_was_unrolled(tmp_path):
    result = convert(fixture("tfkeras", "around_conv_lstm2d.h5"), tmp_path / "c.onnx")
    notes = [n for n in result.notes if "unrolled" in n]
    assert len(notes) == 2 and "4 time steps" in notes[0] and "Scan" in notes[0]


def test_conv_lstm_gate_order_is_checked(monkeypatch, tmp_path):
    from lstm_convert.layers import conv_lstm

    monkeypatch.setattr(conv_lstm, "KERAS_GATES", ("i", "c", "f", "o"))
    assert_parity_fails(fixture("keras3", "around_conv_lstm2d.keras"), tmp_path)


def _one_file_per_around_entry():
    from conftest import ROOT, manifest

    return [
        pytest.param(ROOT / e["files"][-1], id=f"{e['generation']}/{e['name']}")
        for e in manifest()
        if e["family"] == "around"
    ]


@pytest.mark.parametrize("path", _one_file_per_around_entry())
def test_convert_verify_inspect_explain_work_on_every_around_model(path, tmp_path):
    from typer.testing import CliRunner

    from lstm_convert.cli import app

    runner = CliRunner()
    out = tmp_path / "m.onnx"
    for args in (
        ["convert", str(path), "-o", str(out)],
        ["verify", str(path), str(out)],
        ["inspect", "--json", str(path)],
        ["explain", str(path)],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args[0], result.stderr)


def test_multi_head_attention_mask_is_checked(monkeypatch, tmp_path):
    from lstm_convert.layers import multi_head_attention

    monkeypatch.setattr(multi_head_attention, "MASKED_SCORE", 0.0)
    assert_parity_fails(fixture("tfkeras", "around_bilstm_mha.keras"), tmp_path)


def test_multi_head_attention_heads_are_checked(monkeypatch, tmp_path):
    from lstm_convert.layers import multi_head_attention

    right = multi_head_attention._project

    def heads_mixed_up(ctx, layer, x, w, part, perm):
        if part == "value":  # heads and size swapped when splitting the projection
            kernel = w["value_kernel"]
            w = {
                **w,
                "value_kernel": np.ascontiguousarray(kernel.transpose(0, 2, 1)).reshape(
                    kernel.shape
                ),
            }
        return right(ctx, layer, x, w, part, perm)

    monkeypatch.setattr(multi_head_attention, "_project", heads_mixed_up)
    assert_parity_fails(fixture("keras3", "around_mha_cross.keras"), tmp_path)
