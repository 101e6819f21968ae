"""convert's export spends the Keras weights layer by layer when there is no check (issue
17): same bytes, and a layer called twice keeps its weights until its last call. With the
check, the model keeps them for the reference, and the file must not change meanwhile."""

from __future__ import annotations

import pytest
from conftest import FIXTURES

from lstm_convert.api import load
from lstm_convert.export import ConvertOptions, export_model


@pytest.mark.parametrize(
    "name",
    ["tfkeras/lstm_basic.h5", "keras3/model_shared_lstm.keras", "tfkeras/model_bigru_stack.h5"],
)
def test_releasing_the_weights_changes_no_byte_and_empties_every_layer(name):
    kept = export_model(load(FIXTURES / name), ConvertOptions())
    model = load(FIXTURES / name)
    spent = export_model(model, ConvertOptions(), release_weights=True)
    assert [n for n, _ in spent.initializers] == [n for n, _ in kept.initializers]
    for (_, ours), (_, theirs) in zip(spent.initializers, kept.initializers, strict=True):
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        assert ours.tobytes() == theirs.tobytes()
    assert spent.skeleton.SerializeToString() == kept.skeleton.SerializeToString()
    assert not any(layer.weights for layer in model.layers)


def test_without_release_the_model_keeps_its_weights():
    model = load(FIXTURES / "tfkeras" / "lstm_basic.h5")
    export_model(model, ConvertOptions())
    assert all(layer.weights for layer in model.layers if layer.class_name == "LSTM")


def test_a_file_that_changes_while_it_is_converted_is_refused(tmp_path, monkeypatch):
    """The check's reference runs on the model as first read (its hash is taken
    meanwhile); if the file is not that one any more when the check ends, nothing is
    vouched for and nothing is written."""
    import os
    import shutil

    from lstm_convert import api
    from lstm_convert.errors import InputFileError

    source = tmp_path / "m.h5"
    shutil.copyfile(FIXTURES / "tfkeras" / "lstm_basic.h5", source)
    calls = []
    original = api.load

    def load_then_touch(*args, **kwargs):
        calls.append(args[0])
        model = original(*args, **kwargs)
        stat = os.stat(source)  # the file is replaced once it has been read
        os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
        return model

    monkeypatch.setattr(api, "load", load_then_touch)
    out = tmp_path / "m.onnx"
    with pytest.raises(InputFileError, match="changed while it was being converted"):
        api.convert(source, out)
    assert len(calls) == 1 and not out.exists()  # read once: the check reuses the model
    assert [p.name for p in tmp_path.iterdir()] == ["m.h5"]
    monkeypatch.setattr(api, "load", original)
    assert api.convert(source, out).status == "ok"  # unchanged since: converted and checked
