"""Which weights each Keras layer class stores, in the order Keras stores them.

Readers use this to hand a nested model's flat weight list to its sublayers and
to check shapes; converters use it to name what they receive. It is data about
Keras, not about ONNX.
"""

from __future__ import annotations

from typing import Any

# Noise and dropout layers only act while training: identities at inference.
IDENTITY_AT_INFERENCE = (
    "Dropout",
    "SpatialDropout1D",
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
    "ActivityRegularization",
)
RECURRENT_CLASSES = ("LSTM", "GRU", "SimpleRNN", "CuDNNLSTM", "CuDNNGRU")
MODEL_CLASSES = ("Sequential", "Functional", "Model")


# keras.layers.RNN(cell): the layer class each cell class computes like.
CELL_LAYER_CLASSES = {"LSTMCell": "LSTM", "GRUCell": "GRU", "SimpleRNNCell": "SimpleRNN"}


def rnn_cells(config: dict[str, Any]) -> list[tuple[str | None, dict[str, Any]]]:
    """A ``keras.layers.RNN``'s cells in order, as (layer class or None, cell config).

    ``RNN([c1, c2])`` and ``RNN(StackedRNNCells([c1, c2]))`` both save a StackedRNNCells."""
    cell = config.get("cell")
    if not isinstance(cell, dict):
        return [(None, {})]
    entries = [cell]
    if cell.get("class_name") == "StackedRNNCells":
        entries = (cell.get("config") or {}).get("cells") or [{}]
    result = []
    for entry in entries:
        entry = entry if isinstance(entry, dict) else {}
        cell_config = entry.get("config") if isinstance(entry.get("config"), dict) else {}
        result.append((CELL_LAYER_CLASSES.get(entry.get("class_name")), cell_config))
    return result


def inner_layer_configs(config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Forward and backward layer entries (``{"class_name", "config"}``) of a Bidirectional."""
    forward = config["layer"]
    backward = config.get("backward_layer") or forward
    return forward, backward


def weight_names(class_name: str, config: dict[str, Any]) -> list[str] | None:
    """Names of the weights a layer stores, or None when the class is unknown to us."""
    if class_name in ("LSTM", "GRU", "SimpleRNN"):
        names = ["kernel", "recurrent_kernel"]
        return names + ["bias"] if config.get("use_bias", True) else names
    if class_name in ("CuDNNLSTM", "CuDNNGRU"):
        return ["kernel", "recurrent_kernel", "bias"]
    if class_name == "Dense":
        return ["kernel", "bias"] if config.get("use_bias", True) else ["kernel"]
    if class_name == "Embedding":
        return ["embeddings"]
    if class_name == "Bidirectional":
        forward, backward = inner_layer_configs(config)
        fwd = weight_names(forward["class_name"], forward["config"])
        bwd = weight_names(backward["class_name"], backward["config"])
        if fwd is None or bwd is None:
            return None
        return [f"forward_{n}" for n in fwd] + [f"backward_{n}" for n in bwd]
    if class_name == "RNN":
        names = []
        for index, (cell_class, cell_config) in enumerate(rnn_cells(config)):
            cell_names = weight_names(cell_class, cell_config) if cell_class else None
            if cell_names is None:
                return None
            names += [f"cell{index}_{n}" for n in cell_names]
        return names
    if class_name == "TimeDistributed":
        inner = config["layer"]
        return weight_names(inner["class_name"], inner["config"])
    if class_name in WEIGHTLESS_CLASSES:
        return []
    return None


WEIGHTLESS_CLASSES = frozenset(
    {
        *IDENTITY_AT_INFERENCE,
        "InputLayer",
        "Activation",
        "Flatten",
        "Reshape",
        "RepeatVector",
        "Permute",
        "Masking",
        "Concatenate",
        "Add",
        "Subtract",
        "Multiply",
        "Average",
        "Maximum",
        "Minimum",
        "GlobalAveragePooling1D",
        "GlobalMaxPooling1D",
        "NotEqual",
        "Any",
        "TFOpLambda",
        "SlicingOpLambda",
    }
)
