import json
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
SAMPLES = ROOT / "samples"


def manifest() -> list[dict]:
    return json.loads((FIXTURES / "manifest.json").read_text())


def fixture_files(families: tuple[str, ...] | None = None, exclude: tuple[str, ...] = ()):
    """pytest params: one per (manifest entry, file), ids like keras3/lstm_basic.h5."""
    params = []
    for entry in manifest():
        if families is not None and entry["family"] not in families:
            continue
        if entry["family"] in exclude:
            continue
        for file in entry["files"]:
            rel = Path(file).relative_to("tests/fixtures")
            params.append(pytest.param(entry, ROOT / file, id=str(rel)))
    return params


def expected_arrays(entry: dict, prefix: str) -> list[np.ndarray]:
    """Keras's stored arrays ``prefix0``, ``prefix1``, ... of a fixture, read once per
    session and shared read-only."""
    key = (entry["expected"], prefix)
    if key not in _EXPECTED:
        with np.load(ROOT / entry["expected"]) as data:
            arrays = []
            while f"{prefix}{len(arrays)}" in data:
                arrays.append(_read_only(data[f"{prefix}{len(arrays)}"]))
        _EXPECTED[key] = arrays
    return list(_EXPECTED[key])


def load_entry(entry: dict, path: Path):
    """Weights-only fixtures travel with their architecture (lstm-convert --config)."""
    from lstm_convert.api import load

    config = ROOT / entry["config"] if entry.get("config") else None
    return load(path, config_path=config)


# Session caches: every fixture is read (and probed) once and converted once per option
# set, whatever number of tests look at it. What they hand out is shared: read-only.
_EXPECTED: dict[tuple[str, str], list[np.ndarray]] = {}
_LOADED: dict[str, object] = {}
_CONVERTED: dict[tuple, tuple] = {}


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def _rehearse_in_process(path: str, config_path: str | None, timeout: float | None = None):
    """The HDF5 probe's rehearsal (the metadata-only read, every check) without its fork.
    Committed fixtures are Keras's own files; the fork, its deadline and its crash
    isolation are tested on hostile files (test_hostile*, test_fuzz, test_batch) and by
    every CLI and ``api.convert`` test, which keep the real probe."""
    from lstm_convert.readers import read_model

    read_model(path, config_path, metadata_only=True)


def loaded(entry: dict, path: Path):
    """The neutral model of a fixture, read once per session through ``api.load`` (the
    probe's rehearsal, the read and the finite-weights check); its weights are read-only."""
    from lstm_convert import api

    key = str(path)
    if key not in _LOADED:
        with patch.object(api, "probe", _rehearse_in_process):
            model = load_entry(entry, path)
        for layer in model.iter_layers():
            for array in layer.weights:
                _read_only(array)
        _LOADED[key] = model
    return _LOADED[key]


def converted(entry: dict, path: Path, **options):
    """(model, ExportResult) of a fixture, checked by onnx's full checker; converted once
    per session and option set, shared by every test that runs the graph (read-only).
    A test that breaks a converter on purpose (monkeypatch) converts for itself: what it
    got from here would be the unbroken, cached conversion."""
    import onnx

    from lstm_convert.export import export_model
    from lstm_convert.export.context import ConvertOptions

    key = (str(path), tuple(sorted(options.items())))
    if key not in _CONVERTED:
        model = loaded(entry, path)
        exported = export_model(model, ConvertOptions(**options))
        onnx.checker.check_model(exported.model, full_check=True)
        _CONVERTED[key] = (model, exported)
    return _CONVERTED[key]
