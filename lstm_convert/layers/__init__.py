"""Layer converters. Importing this package registers every family."""

from __future__ import annotations

from . import (  # noqa: F401
    activation_layers,
    attention,
    bidirectional,
    conv,
    conv_lstm,
    core,
    cudnn,
    gru,
    keras_ops,
    lstm,
    masking,
    merge,
    multi_head_attention,
    nested,
    normalization,
    padding,
    pooling,
    reshaping,
    rnn_cell,
    simple_rnn,
)
from .registry import CONVERTERS, converter, get_converter, supported_classes

__all__ = ["CONVERTERS", "converter", "get_converter", "supported_classes"]
