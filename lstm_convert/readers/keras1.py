"""Keras 1 files: rename config keys and regroup weights into Keras 2's layout.

Keras 1 wrote ``output_dim``/``inner_activation`` and stored recurrent gates as
separate arrays; tf-keras converts them the same way when it loads such a file.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..keras_layouts import keras1_gru, keras1_lstm
from ..model import KerasModel, Layer

RENAMED_KEYS = {"inner_activation": "recurrent_activation"}
UNITS_CLASSES = ("LSTM", "GRU", "SimpleRNN", "Dense")


def normalize_config(class_name: str, config: dict[str, Any]) -> dict[str, Any]:
    config = {RENAMED_KEYS.get(k, k): v for k, v in config.items()}
    if class_name in UNITS_CLASSES and "units" not in config and "output_dim" in config:
        config["units"] = config.pop("output_dim")
    if class_name == "GRU":
        config.setdefault("reset_after", False)  # Keras 1's GRU predates reset_after
    if isinstance(config.get("layer"), dict):  # wrappers
        inner = config["layer"]
        config["layer"] = {
            **inner,
            "config": normalize_config(inner["class_name"], inner["config"]),
        }
    return config


def normalize_model(model: KerasModel) -> None:
    for layer in model.layers:
        layer.config = normalize_config(layer.class_name, layer.config)
        if layer.submodel is not None:
            normalize_model(layer.submodel)


def regroup_weights(layer: Layer, arrays: list[np.ndarray]) -> list[np.ndarray]:
    """Keras 1's per-gate arrays -> Keras 2's kernel, recurrent_kernel, bias."""
    if layer.class_name == "LSTM" and len(arrays) == 12:
        return keras1_lstm(arrays)
    if layer.class_name == "GRU" and len(arrays) == 9:
        return keras1_gru(arrays)
    return arrays
