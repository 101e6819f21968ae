import json
from pathlib import Path

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
    with np.load(ROOT / entry["expected"]) as data:
        arrays = []
        while f"{prefix}{len(arrays)}" in data:
            arrays.append(data[f"{prefix}{len(arrays)}"])
        return arrays


def load_entry(entry: dict, path: Path):
    """Weights-only fixtures travel with their architecture (lstm-convert --config)."""
    from lstm_convert.api import load

    config = ROOT / entry["config"] if entry.get("config") else None
    return load(path, config_path=config)


_CONVERTED: dict[tuple, tuple] = {}


def converted(entry: dict, path: Path, **options):
    """(model, ExportResult) of a fixture, checked by onnx's full checker; converted once
    per session and option set, shared by every test that runs the graph (read-only)."""
    import onnx

    from lstm_convert.export import export_model
    from lstm_convert.export.context import ConvertOptions

    key = (str(path), tuple(sorted(options.items())))
    if key not in _CONVERTED:
        model = load_entry(entry, path)
        exported = export_model(model, ConvertOptions(**options))
        onnx.checker.check_model(exported.model, full_check=True)
        _CONVERTED[key] = (model, exported)
    return _CONVERTED[key]
