"""Layer converters. Importing this package registers every family."""

from __future__ import annotations

from . import bidirectional, core, gru, lstm, merge, nested, reshaping, simple_rnn  # noqa: F401
from .registry import CONVERTERS, converter, get_converter, supported_classes

__all__ = ["CONVERTERS", "converter", "get_converter", "supported_classes"]
