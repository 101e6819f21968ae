"""Full-model HDF5 files written by ``model.save('m.h5')``: Keras 1, Keras 2 /
tf.keras, and Keras 3's legacy writer. Weights are found through the file's own
index: ``model_weights.attrs['layer_names']`` and each group's ``weight_names``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputFileError, WeightsError
from ..model import KerasModel, SourceInfo
from . import keras1 as keras1_format
from .common import assign_weights, decode_attr, load_json, read_chunked_attr
from .config import parse_model_config


def keras_version_of(h5file: Any) -> str:
    version = decode_attr(h5file.attrs.get("keras_version", ""))
    if not version and "model_weights" in h5file:
        version = decode_attr(h5file["model_weights"].attrs.get("keras_version", ""))
    return str(version or "")


def read_legacy_h5(h5file: Any, path: str) -> KerasModel:
    raw_config = decode_attr(h5file.attrs["model_config"])
    model_config = load_json(raw_config, "the file's model_config")
    version = keras_version_of(h5file)
    if not version:
        version = "1" if _looks_like_keras1(raw_config) else "2"
    major = version.split(".", 1)[0]
    fmt = {"1": "keras1-h5", "3": "keras3-h5"}.get(major, "keras2-h5")
    backend = str(decode_attr(h5file.attrs.get("backend", "")))
    source = SourceInfo(path=path, format=fmt, keras_version=version, backend=backend)
    model = parse_model_config(model_config, source)
    keras1 = fmt == "keras1-h5"
    if keras1:
        keras1_format.normalize_model(model)

    weights_root = h5file.get("model_weights", h5file)
    stored = set(read_chunked_attr(weights_root.attrs, "layer_names"))
    for layer in model.layers:
        if layer.name not in stored:
            continue
        group = weights_root[layer.name]
        names = read_chunked_attr(group.attrs, "weight_names")
        arrays = []
        for weight_name in names:
            if weight_name not in group:
                raise WeightsError(f"layer {layer.name!r} lists weight {weight_name!r} not found")
            arrays.append(np.asarray(group[weight_name]))
        if keras1:
            arrays = keras1_format.regroup_weights(layer, arrays)
            names = names if len(names) == len(arrays) else ["kernel", "recurrent_kernel", "bias"]
        assign_weights(layer, arrays, names)
    return model


def _looks_like_keras1(raw_config: str) -> bool:
    return '"output_dim"' in raw_config or '"inner_activation"' in raw_config


def describe_weights_only(h5file: Any) -> str | None:
    """A hint when the HDF5 file holds weights but no architecture."""
    if "layer_names" in h5file.attrs or "layer_names0" in h5file.attrs:
        return "it holds weights only (save_weights); pass the architecture with --config"
    if "layers" in h5file and "model_config" not in h5file.attrs:
        return "it is a Keras 3 .weights.h5 (weights only); pass the architecture with --config"
    return None


def require_full_model(h5file: Any) -> None:
    if "model_config" in h5file.attrs:
        return
    hint = describe_weights_only(h5file)
    if hint:
        raise InputFileError(f"HDF5 file has no model architecture: {hint}")
    raise InputFileError("HDF5 file is not a Keras model (no model_config attribute)")
