"""The ``--json`` documents: one schema for every command (documented in the README).

* ``input``: the Keras file; ``output`` / ``onnx``: the ONNX file, when there is one;
* ``status``: ``"ok"`` or ``"failed"`` (``"skipped"`` in a batch) where a file is converted;
* ``layers``: one record per Keras layer, always keyed by ``name`` and ``class_name``;
* ``parity``: the check's report, with ``max_abs_error`` and ``passed``, also on failure;
* strict JSON (RFC 8259): NaN and infinities become ``null``.

Importing this module imports nothing heavy.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any


def parity_dict(report: Any) -> dict[str, Any]:
    """A :class:`~lstm_convert.parity.ParityReport` with its verdict."""
    return {**asdict(report), "max_abs_error": report.max_abs_error, "passed": report.passed}


def convert_document(result: Any) -> dict[str, Any]:
    """``convert --json``, for a success and for a parity failure alike."""
    return result.to_dict()


def batch_document(result: Any) -> dict[str, Any]:
    return result.to_dict()


def verify_document(keras: Any, onnx: Any, report: Any) -> dict[str, Any]:
    return {
        "input": str(keras),
        "onnx": str(onnx),
        "status": "ok" if report.passed else "failed",
        **parity_dict(report),
    }


def inspect_document(result: Any) -> dict[str, Any]:
    data = result.to_dict()
    return {"input": data.pop("path"), **data}


def explain_document(result: Any) -> dict[str, Any]:
    """``explain --json``: each layer record's ``layer`` key becomes ``name``, as elsewhere;
    ``numpy`` only when the snippet was asked for."""
    data = result.to_dict()
    layers = [
        {"name": layer.pop("layer"), **layer} if "layer" in layer else layer
        for layer in data.pop("layers")
    ]
    if data.get("numpy") is None:
        data.pop("numpy", None)
    return {"input": data.pop("path"), **data, "layers": layers}
