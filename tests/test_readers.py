"""Readers: format by content, weights through the file's own index."""

import json
import shutil
import zipfile

import numpy as np
import pytest
from conftest import ROOT, SAMPLES, loaded, manifest

from lstm_convert.errors import InputFileError
from lstm_convert.readers import read_model, sniff
from lstm_convert.readers.keras_zip import snake_case


def test_format_is_detected_by_content_not_extension(tmp_path):
    h5_named_keras = tmp_path / "really_hdf5.keras"
    shutil.copy(SAMPLES / "seed_lstm.h5", h5_named_keras)
    zip_named_h5 = tmp_path / "really_zip.h5"
    shutil.copy(SAMPLES / "seed_lstm.keras", zip_named_h5)
    assert sniff(h5_named_keras) == "hdf5"
    assert sniff(zip_named_h5) == "zip"
    assert read_model(h5_named_keras).source.format == "keras2-h5"
    assert read_model(zip_named_h5).source.format == "keras-zip"


@pytest.mark.parametrize("content", [b"", b"not a model at all", b"\x89HDF\r\n\x1a\n" + b"\0" * 40])
def test_garbage_is_an_input_error(tmp_path, content):
    path = tmp_path / "bad.h5"
    path.write_bytes(content)
    from lstm_convert.api import load

    with pytest.raises(InputFileError):
        load(path)


def test_keras_zip_without_config_is_refused(tmp_path):
    path = tmp_path / "noconfig.keras"
    with zipfile.ZipFile(SAMPLES / "seed_lstm.keras") as src, zipfile.ZipFile(path, "w") as dst:
        dst.writestr("model.weights.h5", src.read("model.weights.h5"))
    with pytest.raises(InputFileError, match="config.json"):
        read_model(path)


def test_snake_case_matches_keras_container_names():
    assert snake_case("LSTM") == "lstm"
    assert snake_case("SimpleRNN") == "simple_rnn"
    assert snake_case("CuDNNLSTM") == "cu_dnnlstm"
    assert snake_case("GlobalAveragePooling1D") == "global_average_pooling1d"
    assert snake_case("TimeDistributed") == "time_distributed"


def _same_model_pairs():
    """Fixtures saved by one Keras in two formats hold identical weights."""
    for entry in manifest():
        files = entry["files"]
        if len(files) == 2:
            yield pytest.param(
                entry,
                ROOT / files[0],
                ROOT / files[1],
                id=entry["generation"] + "/" + entry["name"],
            )


@pytest.mark.parametrize("entry, first, second", list(_same_model_pairs()))
def test_both_formats_give_the_same_neutral_model(entry, first, second):
    """The session's models (read through ``api.load``, as every parity test reads them)."""
    a, b = loaded(entry, first), loaded(entry, second)
    layers_a = [(layer.name, layer.class_name) for layer in a.iter_layers()]
    layers_b = [(layer.name, layer.class_name) for layer in b.iter_layers()]
    assert layers_a == layers_b
    for la, lb in zip(a.iter_layers(), b.iter_layers()):
        assert len(la.weights) == len(lb.weights), la.name
        for wa, wb in zip(la.weights, lb.weights):
            np.testing.assert_array_equal(wa, wb)


def test_lstm_weights_come_in_declared_order():
    model = read_model(SAMPLES / "seed_lstm.keras")
    lstm = next(layer for layer in model.layers if layer.class_name == "LSTM")
    kernel, recurrent, bias = lstm.weights
    assert kernel.shape == (5, 16) and recurrent.shape == (4, 16) and bias.shape == (16,)
    assert bias.tolist() == [0] * 4 + [1] * 4 + [0] * 8


def test_keras3_single_input_is_written_flat():
    model = read_model(SAMPLES / "text_classifier.keras")
    assert len(model.inputs) == 1 and model.inputs[0].layer == "tokens"


def test_weight_shapes_contradicting_the_config_are_refused(tmp_path):
    import h5py

    from lstm_convert.api import convert
    from lstm_convert.errors import WeightsError

    bad = tmp_path / "units.h5"
    shutil.copy(SAMPLES / "seed_lstm.h5", bad)
    with h5py.File(bad, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        for layer in config["config"]["layers"]:
            if layer["class_name"] == "LSTM":
                layer["config"]["units"] = 5
        f.attrs["model_config"] = json.dumps(config)
    with pytest.raises(WeightsError, match="contradicts"):
        convert(bad, tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()
