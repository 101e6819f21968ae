"""Layer converters. Importing this package registers every family."""

from __future__ import annotations

from . import (  # noqa: F401
    bidirectional,
    core,
    cudnn,
    gru,
    keras_ops,
    lstm,
    masking,
    merge,
    nested,
    reshaping,
    rnn_cell,
    simple_rnn,
)
from .registry import CONVERTERS, converter, get_converter, supported_classes

__all__ = ["CONVERTERS", "converter", "get_converter", "supported_classes"]
