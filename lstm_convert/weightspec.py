"""Which weights each Keras layer class stores, in the order Keras stores them.

Readers use this to hand a nested model's flat weight list to its sublayers and
to check shapes; converters use it to name what they receive. It is data about
Keras, not about ONNX.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .families import cell_layer_class, family_of, recurrent_layer_classes

if TYPE_CHECKING:
    import numpy as np

    from .model import Layer

# Noise and dropout layers only act while training: identities at inference.
IDENTITY_AT_INFERENCE = (
    "Dropout",
    "SpatialDropout1D",
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
    "ActivityRegularization",
)
CONV_CLASSES = ("Conv1D", "Conv2D")
RECURRENT_CLASSES = recurrent_layer_classes()  # see families.py
MODEL_CLASSES = ("Sequential", "Functional", "Model")


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
        result.append((cell_layer_class(entry.get("class_name")), cell_config))
    return result


def inner_layer_configs(config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Forward and backward layer entries (``{"class_name", "config"}``) of a Bidirectional."""
    forward = config["layer"]
    backward = config.get("backward_layer") or forward
    return forward, backward


def bidirectional_weights(config: dict[str, Any], weights: list) -> tuple[list, list]:
    """A Bidirectional's flat weight list split into (forward, backward): Keras saves
    the forward layer's weights first."""
    forward, _ = inner_layer_configs(config)
    count = len(weight_names(forward["class_name"], forward["config"]) or [])
    return list(weights[:count]), list(weights[count:])


@dataclass(frozen=True)
class KerasDirection:
    """One Keras direction of a recurrent layer: the layer itself, or one half of a
    Bidirectional."""

    label: str  # "forward", or "backward" in a Bidirectional
    class_name: str
    config: dict[str, Any]
    weights: list
    runs_backwards: bool  # processes the steps last to first


def keras_directions(
    class_name: str, config: dict[str, Any], weights: list
) -> list[KerasDirection]:
    """Each Keras direction: one, or (forward, backward) for a Bidirectional.

    Keras builds a Bidirectional's backward copy with ``go_backwards`` flipped; an
    explicit ``backward_layer`` says so itself (flipped when it does not say)."""
    if class_name != "Bidirectional":
        back = bool(config.get("go_backwards"))
        return [KerasDirection("forward", class_name, config, list(weights), back)]
    forward, backward = inner_layer_configs(config)
    fwd_weights, bwd_weights = bidirectional_weights(config, weights)
    fwd_back = bool(forward["config"].get("go_backwards"))
    bwd_back = not fwd_back
    if "backward_layer" in config:
        bwd_back = bool(backward["config"].get("go_backwards", bwd_back))
    return [
        KerasDirection("forward", forward["class_name"], forward["config"], fwd_weights, fwd_back),
        KerasDirection(
            "backward", backward["class_name"], backward["config"], bwd_weights, bwd_back
        ),
    ]


def weight_names(class_name: str, config: dict[str, Any]) -> list[str] | None:
    """Names of the weights a layer stores, or None when the class is unknown to us."""
    family = family_of(class_name)
    if family is not None and class_name in family.layer_classes:
        return family.weight_names(class_name, config)
    if class_name == "Dense":
        return ["kernel", "bias"] if config.get("use_bias", True) else ["kernel"]
    if class_name == "Embedding":
        return ["embeddings"]
    if class_name in ("ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"):
        names = ["kernel", "recurrent_kernel"]
        return names + ["bias"] if config.get("use_bias", True) else names
    if class_name in CONV_CLASSES:
        return ["kernel", "bias"] if config.get("use_bias", True) else ["kernel"]
    if class_name == "BatchNormalization":
        names = ["gamma"] if config.get("scale", True) else []
        names += ["beta"] if config.get("center", True) else []
        return names + ["moving_mean", "moving_variance"]
    if class_name == "LayerNormalization":
        names = ["gamma"] if config.get("scale", True) else []
        return names + (["beta"] if config.get("center", True) else [])
    if class_name == "PReLU":
        return ["alpha"]
    if class_name == "Attention":
        names = ["scale"] if config.get("use_scale") else []
        return names + (["concat_score_weight"] if config.get("score_mode") == "concat" else [])
    if class_name == "MultiHeadAttention":
        parts = ("query", "key", "value", "output")
        kinds = ("kernel", "bias") if config.get("use_bias", True) else ("kernel",)
        return [f"{part}_{kind}" for part in parts for kind in kinds]
    if class_name == "AdditiveAttention":
        return ["scale"] if config.get("use_scale", True) else []
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
        # Layers around recurrent ones (layers/conv.py, pooling.py, shaping.py, ...).
        "MaxPooling1D",
        "AveragePooling1D",
        "MaxPooling2D",
        "AveragePooling2D",
        "MaxPooling3D",
        "AveragePooling3D",
        "GlobalAveragePooling2D",
        "GlobalMaxPooling2D",
        "ZeroPadding1D",
        "Cropping1D",
        "UpSampling1D",
        "ReLU",
        "LeakyReLU",
        "ELU",
        "Softmax",
        "Dot",
        "ConvertToTensor",
    }
)


def named_weights(layer: Layer, dtype: Any) -> dict[str, np.ndarray]:
    """A converter's view of ``layer``'s arrays, keyed by their Keras names, as ``dtype``;
    an array count that contradicts the config is refused."""
    import numpy as np

    from .errors import WeightsError

    names = weight_names(layer.class_name, layer.config) or []
    if len(names) != len(layer.weights):
        raise WeightsError(
            f"layer {layer.name!r} ({layer.class_name}) has {len(layer.weights)} weight arrays, "
            f"its config implies {len(names)}"
        )
    return {n: np.asarray(w, dtype) for n, w in zip(names, layer.weights, strict=True)}
