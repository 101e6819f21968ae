"""``explain``: where each Keras gate, kernel column and bias value goes in ONNX, and why.

* ``model.py``: the result, built from what the exporter recorded it wrote;
* ``text.py``: both sides' equations and the conclusion;
* ``step.py``: the one-step check (ONNX's equations against the NumPy reference);
* ``snippet.py``: ``--numpy``, one Keras step in plain NumPy;
* ``svg.py``: the self-contained SVG and HTML copies.

The rich rendering lives in :mod:`lstm_convert.render.explain`; the entry point is
:func:`lstm_convert.api.explain`.
"""

from .model import ExplainResult, GateRow, LayerExplanation, LayerNotFoundError, explain_model
from .snippet import numpy_snippet

__all__ = [
    "ExplainResult",
    "GateRow",
    "LayerExplanation",
    "LayerNotFoundError",
    "explain_model",
    "numpy_snippet",
]
