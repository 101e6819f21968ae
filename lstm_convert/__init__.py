"""lstm-convert: Keras recurrent models to fused ONNX nodes, without TensorFlow.

The public API is imported lazily so ``lstm-convert --help`` stays instant.
"""

from __future__ import annotations

__version__ = "0.1.0"

_API = (
    "convert",
    "convert_many",
    "explain",
    "inspect",
    "verify",
    "ConvertResult",
    "BatchResult",
    "ExplainResult",
    "InspectResult",
)

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(name)
