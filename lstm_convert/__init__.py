"""lstm-convert: Keras recurrent models to fused ONNX nodes, without TensorFlow.

The public API is imported lazily so ``lstm-convert --help`` stays instant.
"""

from __future__ import annotations

from .version import __version__

_API = (
    "convert",
    "explain",
    "inspect",
    "verify",
    "ConvertResult",
    "ExplainResult",
    "InspectResult",
)
_BATCH = ("convert_many", "BatchResult")

__all__ = ["__version__", *_API, *_BATCH]


def __getattr__(name: str):
    if name in _API:
        from . import api

        return getattr(api, name)
    if name in _BATCH:
        from . import batch

        return getattr(batch, name)
    raise AttributeError(name)
