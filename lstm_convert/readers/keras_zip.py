"""``.keras`` zip archives (Keras 3, and tf.keras >= 2.12).

Members are read by exact name into memory (never extracted), after their declared
size is checked against a cap. Weights live in ``model.weights.h5`` at
``layers/<snake_case(ClassName)[_N]>/.../vars/<i>``; we walk the config and the
HDF5 tree in the same order, never guessing by substring.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

import h5py
import numpy as np

from ..errors import InputFileError, WeightsError
from ..model import KerasModel, Layer, SourceInfo
from ..weightspec import MODEL_CLASSES, inner_layer_configs, weight_names
from .common import (
    MAX_HDF5_OBJECTS,
    WeightBudget,
    assign_weights,
    load_json,
    refuse_foreign_storage,
)
from .config import parse_model_config

CONFIG_MEMBER = "config.json"
METADATA_MEMBER = "metadata.json"
WEIGHTS_MEMBER = "model.weights.h5"
MAX_CONFIG_BYTES = 32 * 1024 * 1024
# HDF5 weights barely compress; a member claiming far more than the archive holds is a bomb.
MAX_WEIGHTS_RATIO = 64
MAX_WEIGHTS_SLACK = 16 * 1024 * 1024


def read_member(archive: zipfile.ZipFile, name: str, cap: int) -> bytes:
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise InputFileError(f".keras archive has no {name}") from None
    if info.file_size > cap:
        raise InputFileError(
            f".keras member {name} declares {info.file_size} bytes, over the {cap}-byte cap"
        )
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, ValueError) as exc:
        raise InputFileError(f".keras member {name} cannot be read: {exc}") from None


def refuse_other_zips(archive: zipfile.ZipFile, path: str) -> None:
    """A zip without config.json is not a .keras model: say what it is, if we know."""
    names = archive.namelist()
    if CONFIG_MEMBER in names:
        return
    if names and all(name.endswith(".npy") for name in names):
        raise InputFileError(
            f"{path}: is a NumPy .npz archive of arrays, not a Keras model "
            "(inputs for the check go in inputs=FILE.npz)"
        )
    raise InputFileError(f"{path}: is a zip archive without config.json, not a .keras model")


def read_keras_zip(
    data: io.BufferedIOBase | str, path: str, archive_size: int, metadata_only: bool = False
) -> KerasModel:
    try:
        archive = zipfile.ZipFile(data)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputFileError(f"{path}: not a readable .keras zip: {exc}") from None
    with archive:
        refuse_other_zips(archive, path)
        config = load_json(read_member(archive, CONFIG_MEMBER, MAX_CONFIG_BYTES), CONFIG_MEMBER)
        version = "3"
        if METADATA_MEMBER in archive.namelist():
            metadata = load_json(
                read_member(archive, METADATA_MEMBER, MAX_CONFIG_BYTES), METADATA_MEMBER
            )
            if isinstance(metadata, dict) and isinstance(metadata.get("keras_version"), str):
                version = metadata["keras_version"]
        source = SourceInfo(path=path, format="keras-zip", keras_version=version)
        model = parse_model_config(config, source)
        cap = min(MAX_WEIGHTS_RATIO * archive_size, weights_bound(model)) + MAX_WEIGHTS_SLACK
        weights = read_member(archive, WEIGHTS_MEMBER, cap)
    try:
        h5file = h5py.File(io.BytesIO(weights), "r")
    except (OSError, ValueError) as exc:
        raise InputFileError(f"{WEIGHTS_MEMBER} inside the archive is not HDF5: {exc}") from None
    with h5file:
        refuse_foreign_storage(h5file, f"{path}: {WEIGHTS_MEMBER}")
        root = _layers_root(h5file)
        if root is not None:
            read_model_weights(root, model, WeightBudget(len(weights), metadata_only))
    return model


WIDTH_KEYS = ("units", "output_dim", "input_dim", "n")
SHAPE_KEYS = ("batch_shape", "batch_input_shape", "input_shape", "target_shape", "dims")
UNKNOWN_LAYER_ARRAYS = 32  # a class weight_names does not know (say, RNN(cell))
MAX_ITEMSIZE = 8
HDF5_BYTES_PER_LAYER = 64 * 1024  # groups, attributes and headers (a few KB in practice)


def _widths(config: Any) -> list[int]:
    """Every width a layer config names: sizes, and the products of declared shapes."""
    found: list[int] = []
    stack = [config]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        if not isinstance(item, dict):
            continue
        for key, value in item.items():
            if key in WIDTH_KEYS and isinstance(value, int):
                found.append(value)
            elif key in SHAPE_KEYS and isinstance(value, list):
                found.append(int(np.prod([d for d in value if isinstance(d, int)] or [1])))
            elif isinstance(value, dict | list):
                stack.append(value)
    return found


def weights_bound(model: KerasModel) -> int:
    """Bytes that model.weights.h5 can need for this config, generously: every array of
    every layer as a square of four times the widest size the config names. A member
    declaring more is refused before it is inflated (zeros compress a thousandfold),
    so the cap follows what the config needs, not only the archive's size."""
    layers = list(model.iter_layers())
    width = max((w for layer in layers for w in _widths(layer.config)), default=1)
    side = 4 * (abs(width) + 1)
    arrays = 0
    for layer in layers:
        names = weight_names(layer.class_name, layer.config)
        arrays += UNKNOWN_LAYER_ARRAYS if names is None else len(names)
    return arrays * side * side * MAX_ITEMSIZE + HDF5_BYTES_PER_LAYER * len(layers)


def _layers_root(h5file: Any) -> Any:
    if any("\\" in name for name in h5file):
        h5file = WindowsPaths(h5file)
    for name in ("layers", "_layer_checkpoint_dependencies"):
        if name in h5file:
            return h5file[name]
    return None


class WindowsPaths:
    """A read-only view of a model.weights.h5 written on Windows by Keras 2.13-2.15,
    which named each container by an OS path: root groups ``layers\\lstm\\cell``
    holding ``vars``. The view presents them as the nested groups every other file has.
    """

    def __init__(self, root: Any, objects: dict[str, Any] | None = None, path: str = ""):
        self._objects = objects if objects is not None else _normalized_objects(root)
        self._path = path
        self.name = f"/{path}"
        real = self._objects.get(path)
        self.attrs = real.attrs if real is not None else {}

    def _full(self, name: str) -> str:
        return f"{self._path}/{name}" if self._path else name

    def _children(self) -> list[str]:
        prefix = f"{self._path}/" if self._path else ""
        return [
            key[len(prefix) :]
            for key in self._objects
            if key.startswith(prefix) and key != self._path and "/" not in key[len(prefix) :]
        ]

    def __contains__(self, name: str) -> bool:
        return self._full(name) in self._objects

    def __getitem__(self, name: str) -> Any:
        full = self._full(name)
        found = self._objects[full]
        if found is not None and not _is_group(found):
            return found  # a dataset
        return WindowsPaths(None, self._objects, full)

    def get(self, name: str, default: Any = None) -> Any:
        if name not in self:
            return default
        return self[name]

    def __iter__(self):
        return iter(self._children())

    def __len__(self) -> int:
        return len(self._children())


def _is_group(item: Any) -> bool:
    return isinstance(item, h5py.Group)


def _normalized_objects(root: Any) -> dict[str, Any]:
    """Every object below ``root`` by its path with backslashes read as slashes; the
    folders such a path implies are present too (as None)."""
    objects: dict[str, Any] = {}
    pending = [(root, "")]
    while pending:
        group, path = pending.pop()
        for name in group:
            item = group[name]
            full = "/".join(p for p in (path, name.replace("\\", "/")) if p)
            if full in objects and objects[full] is not None:
                raise WeightsError(f"model.weights.h5 holds {full!r} twice (with / and \\)")
            parts = full.split("/")
            for depth in range(1, len(parts)):
                objects.setdefault("/".join(parts[:depth]), None)
            objects[full] = item
            if len(objects) > MAX_HDF5_OBJECTS:  # also ends a hard-link cycle
                raise WeightsError(f"model.weights.h5 holds more than {MAX_HDF5_OBJECTS} objects")
            if _is_group(item):
                pending.append((item, full))
    return objects


def snake_case(name: str) -> str:
    """Keras's ``naming.to_snake_case``: the container names inside model.weights.h5."""
    intermediate = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    insecure = re.sub("([a-z])([A-Z])", r"\1_\2", intermediate).lower()
    if insecure[0] != "_":
        return insecure
    return "private" + insecure


def read_model_weights(layers_group: Any, model: KerasModel, budget: WeightBudget) -> None:
    used: dict[str, int] = {}
    for layer in model.layers:
        if layer.class_name == "InputLayer" and model.class_name == "Sequential":
            continue  # Sequential.layers omits its InputLayer, so it gets no container
        if layer.op_layer:
            continue  # Functional.layers lists layers only: operations get no container
        key = container_key(used, layer.class_name)
        group = layers_group.get(key) if key in layers_group else None
        if group is None:
            continue
        _check_name(group, layer)
        if layer.submodel is not None:
            if "layers" in group:
                read_model_weights(group["layers"], layer.submodel, budget)
            continue
        arrays = collect_vars(group, layer.class_name, layer.config, budget)
        assign_weights(layer, arrays, [f"{key}/{i}" for i in range(len(arrays))])


def container_key(used: dict[str, int], class_name: str) -> str:
    """Keras names a list's containers by snake-cased class, counting repeats:
    ``lstm``, ``lstm_1``, ... (``used`` carries the counts along the list)."""
    base = snake_case(class_name)
    if base in used:
        used[base] += 1
        return f"{base}_{used[base]}"
    used[base] = 0
    return base


def _stacked_cell_vars(
    cells_group: Any, config: dict[str, Any], budget: WeightBudget
) -> list[np.ndarray]:
    """StackedRNNCells keeps each cell at ``cell/cells/<snake_case(class)[_N]>``."""
    cell = config.get("cell") or {}
    entries = (cell.get("config") or {}).get("cells") or []
    arrays: list[np.ndarray] = []
    used: dict[str, int] = {}
    for entry in entries:
        class_name = entry.get("class_name") if isinstance(entry, dict) else None
        if not isinstance(class_name, str) or not class_name:
            raise WeightsError("a StackedRNNCells cell has no class_name")
        key = container_key(used, class_name)
        if key not in cells_group:
            raise WeightsError(f"StackedRNNCells weights lack cell {key!r}")
        arrays.extend(collect_vars(cells_group[key], "", {}, budget))
    return arrays


def _check_name(group: Any, layer: Layer) -> None:
    # Keras >= 3.6 records the layer's real name on its vars group: a free cross-check.
    vars_group = group.get("vars") if "vars" in group else None
    if vars_group is None or "name" not in vars_group.attrs:
        return
    stored = vars_group.attrs["name"]
    stored = stored.decode() if isinstance(stored, bytes) else str(stored)
    if stored != layer.name:
        raise WeightsError(
            f"model.weights.h5 does not match config.json: container for {layer.name!r} "
            f"holds layer {stored!r}"
        )


def collect_vars(
    group: Any, class_name: str, config: dict[str, Any], budget: WeightBudget
) -> list[np.ndarray]:
    """A layer's arrays in Keras's ``layer.weights`` order."""
    arrays = []
    if "vars" in group:
        vars_group = group["vars"]
        index = 0
        while str(index) in vars_group:
            arrays.append(budget.read(vars_group[str(index)]))
            index += 1
        if index != len(vars_group):
            raise WeightsError(f"unexpected entries in {vars_group.name}")
    if "cell" in group:
        cell_group = group["cell"]
        arrays.extend(collect_vars(cell_group, "", {}, budget))
        if class_name == "RNN" and "cells" in cell_group:
            arrays.extend(_stacked_cell_vars(cell_group["cells"], config, budget))
    if class_name == "Bidirectional":
        forward, backward = inner_layer_configs(config)
        for child, entry in (("forward_layer", forward), ("backward_layer", backward)):
            if child not in group:
                raise WeightsError(f"Bidirectional weights lack {child}")
            arrays.extend(collect_vars(group[child], entry["class_name"], entry["config"], budget))
    elif class_name == "TimeDistributed" and "layer" in group:
        inner = config["layer"]
        arrays.extend(collect_vars(group["layer"], inner["class_name"], inner["config"], budget))
    elif class_name == "MultiHeadAttention":
        # Keras 3 names the sublayers query_dense, ...; tf-keras _query_dense, ...
        for part in ("query_dense", "key_dense", "value_dense", "output_dense"):
            child = part if part in group else f"_{part}"
            if child not in group:
                raise WeightsError(f"MultiHeadAttention weights lack {part}")
            arrays.extend(collect_vars(group[child], "", {}, budget))
    elif class_name in MODEL_CLASSES:
        raise WeightsError("nested model weights must be read through read_model_weights")
    return arrays
