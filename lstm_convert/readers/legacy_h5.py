"""Full-model HDF5 files written by ``model.save('m.h5')``: Keras 1, Keras 2 /
tf.keras, and Keras 3's legacy writer. Weights are found through the file's own
index: ``model_weights.attrs['layer_names']`` and each group's ``weight_names``.
"""

from __future__ import annotations

from typing import Any

from ..errors import InputFileError, WeightsError
from ..model import KerasModel, SourceInfo
from . import keras1 as keras1_format
from .common import WeightBudget, assign_weights, decode_attr, load_json, read_chunked_attr
from .config import parse_model_config


def keras_version_of(h5file: Any) -> str:
    version = decode_attr(h5file.attrs.get("keras_version", ""))
    if not version and "model_weights" in h5file:
        version = decode_attr(h5file["model_weights"].attrs.get("keras_version", ""))
    return str(version or "")


def read_legacy_h5(h5file: Any, path: str, budget: WeightBudget) -> KerasModel:
    raw_config = decode_attr(h5file.attrs["model_config"])
    model_config = load_json(raw_config, "the file's model_config")
    version = keras_version_of(h5file)
    if not version:
        version = "1" if _looks_like_keras1(model_config) else "2"
    major = version.split(".", 1)[0]
    fmt = {"1": "keras1-h5", "3": "keras3-h5"}.get(major, "keras2-h5")
    backend = str(decode_attr(h5file.attrs.get("backend", "")))
    source = SourceInfo(path=path, format=fmt, keras_version=version, backend=backend)
    model = parse_model_config(model_config, source)
    if fmt == "keras1-h5":
        keras1_format.normalize_model(model)

    read_indexed_weights(h5file.get("model_weights", h5file), model, budget)
    return model


def read_indexed_weights(weights_root: Any, model: KerasModel, budget: WeightBudget) -> None:
    """Weights through the file's own index: ``layer_names``, then each ``weight_names``."""
    keras1 = model.source.format == "keras1-h5"
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
            arrays.append(budget.read(group[weight_name]))
        file_arrays = arrays
        if keras1:
            arrays = keras1_format.regroup_weights(layer, arrays)
            names = names if len(names) == len(arrays) else ["kernel", "recurrent_kernel", "bias"]
        assign_weights(layer, arrays, names)
        if arrays is not file_arrays:
            layer.file_weights = file_arrays


def _looks_like_keras1(model_config: Any) -> bool:
    """Keras 1 configs name recurrent gates ``inner_activation`` and sizes ``output_dim``."""
    config = model_config.get("config") if isinstance(model_config, dict) else None
    layers = config.get("layers") if isinstance(config, dict) else config
    if not isinstance(layers, list):
        return False
    for entry in layers:
        layer_config = entry.get("config") if isinstance(entry, dict) else None
        if isinstance(layer_config, dict) and (
            "inner_activation" in layer_config
            or (entry.get("class_name") != "Embedding" and "output_dim" in layer_config)
        ):
            return True
    return False


def weights_only_kind(h5file: Any) -> str | None:
    """ "keras2" for save_weights files, "keras3" for .weights.h5, None otherwise."""
    if "model_config" in h5file.attrs:
        return None
    if "layer_names" in h5file.attrs or "layer_names0" in h5file.attrs:
        return "keras2"
    if "layers" in h5file or "_layer_checkpoint_dependencies" in h5file:
        return "keras3"
    return None


def read_weights_only(
    h5file: Any, path: str, model_config: Any, budget: WeightBudget
) -> KerasModel:
    """A weights-only HDF5 paired with an architecture given separately (--config)."""
    kind = weights_only_kind(h5file)
    if kind == "keras2":
        version = keras_version_of(h5file) or "2"
        fmt = "keras3-h5" if version.startswith("3") else "keras2-h5"
        source = SourceInfo(path=path, format=f"{fmt}+config", keras_version=version)
        model = parse_model_config(model_config, source)
        read_indexed_weights(h5file, model, budget)
        return model
    from .keras_zip import read_model_weights

    # tf-keras writes .weights.h5 in this layout too, with no version in the file; its
    # model.to_json() names the writer (Keras 3's names none).
    version = "3"
    if isinstance(model_config, dict) and isinstance(model_config.get("keras_version"), str):
        version = model_config["keras_version"]
    source = SourceInfo(path=path, format="keras3-weights+config", keras_version=version)
    model = parse_model_config(model_config, source)
    root = h5file["layers"] if "layers" in h5file else h5file["_layer_checkpoint_dependencies"]
    read_model_weights(root, model, budget)
    return model


def require_full_model(h5file: Any, path: str) -> None:
    if "model_config" in h5file.attrs:
        return
    kind = weights_only_kind(h5file)
    if kind == "keras2":
        raise InputFileError(
            f"{path}: HDF5 file holds weights only (save_weights), no architecture: "
            "pass the model's JSON config as config_path=config.json"
        )
    if kind == "keras3":
        raise InputFileError(
            f"{path}: a .weights.h5 file (weights only), no architecture: "
            "pass the model's config.json as config_path=config.json"
        )
    raise InputFileError(f"{path}: HDF5 file is not a Keras model (no model_config attribute)")
