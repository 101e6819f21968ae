"""Helpers shared by the readers: attribute decoding and weight distribution."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from ..errors import InputFileError, WeightsError
from ..model import KerasModel, Layer
from ..weightspec import weight_names


def decode_attr(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray):
        return [decode_attr(v) for v in value.tolist()]
    return value


def read_chunked_attr(attrs: Any, name: str) -> list[str]:
    """Keras splits long attribute lists into ``name0``, ``name1``, ... past 64 KB."""
    if name in attrs:
        values = decode_attr(attrs[name])
    else:
        values, chunk = [], 0
        while f"{name}{chunk}" in attrs:
            values.extend(decode_attr(attrs[f"{name}{chunk}"]))
            chunk += 1
    if isinstance(values, str):
        values = [values]
    return [decode_attr(v) for v in values]


# JSON objects and arrays in one config: a 10,000-layer model has about 300,000. Each
# costs Python ~100 bytes, so 10 million empty ``{}`` (a 30 MB file) would cost 1.6 GB.
MAX_JSON_CONTAINERS = 1_000_000


def load_json(text: str | bytes, what: str) -> Any:
    """Parse untrusted JSON, refusing (before parsing) more containers than any model has."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    # Counts brackets inside strings too: an upper bound, and a real config is far below it.
    containers = data.count(b"{") + data.count(b"[")
    if containers > MAX_JSON_CONTAINERS:
        raise InputFileError(
            f"{what} holds {containers} JSON objects and arrays, more than any model "
            f"(limit {MAX_JSON_CONTAINERS})"
        )
    try:
        return json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{what} is not valid JSON ({exc.__class__.__name__})") from None
    except RecursionError:
        raise InputFileError(f"{what} is nested absurdly deep") from None


class WeightBudget:
    """The one place weight data is read from HDF5, with the checks that make it safe.

    * Keras writes every weight as a plain contiguous dataset. Chunked, compressed or
      virtual layouts make HDF5 walk index structures a damaged file can corrupt, so
      they are refused.
    * A dataset declaring far more bytes than its container holds is damaged or hostile;
      the declared shape is checked first, so nothing huge is ever allocated.
    * ``metadata_only`` (the forked probe in ``guard.py``) checks all of this and returns
      unread placeholders, so the probe touches every piece of metadata and no data.
    """

    def __init__(self, container_bytes: int, metadata_only: bool = False) -> None:
        self.remaining = 2 * container_bytes + 1024 * 1024
        self.metadata_only = metadata_only

    def read(self, dataset: Any) -> np.ndarray:
        dtype = dataset.dtype
        if dtype.kind not in "fiub":
            raise WeightsError(f"weight {dataset.name} holds {dtype}, not numbers")
        layout = dataset.id.get_create_plist().get_layout()
        if layout not in SAFE_LAYOUTS:
            raise WeightsError(
                f"weight {dataset.name} is stored chunked, compressed or virtual, "
                "which Keras never writes"
            )
        declared = int(np.prod(dataset.shape, dtype=np.float64) * dtype.itemsize)
        if declared > self.remaining:
            raise WeightsError(
                f"weight {dataset.name} declares {declared} bytes, more than the file holds"
            )
        self.remaining -= declared
        if self.metadata_only:
            return np.empty(dataset.shape, dtype)  # never touched: no memory is committed
        return np.asarray(dataset)


MAX_HDF5_OBJECTS = 200_000


def refuse_foreign_storage(h5file: Any, what: str) -> None:
    """Refuse any HDF5 feature that reaches outside the named file, before any data is read.

    HDF5 lets a dataset keep its bytes in another file (*external storage*, which resolves
    relative names against the current folder and happily reads ``/etc/passwd`` or a
    FIFO), lets a link point into a second HDF5 file (*external links*), and lets a
    virtual dataset map other files. Keras writes none of these, nor soft links, so the
    whole file is walked once, without following any link, and each is refused.
    """
    import h5py

    seen: set[Any] = set()
    pending = [(h5file, "/")]
    while pending:
        group, group_path = pending.pop()
        for name in group:
            path = f"{group_path.rstrip('/')}/{name}"
            link = group.get(name, getlink=True)
            if not isinstance(link, h5py.HardLink):
                kind = type(link).__name__
                raise InputFileError(
                    f"{what}: HDF5 object {path!r} is a {kind}, which points outside the "
                    "file's own objects; Keras never writes one"
                )
            item = group[name]
            if item.id in seen:
                continue
            seen.add(item.id)
            if len(seen) > MAX_HDF5_OBJECTS:
                raise InputFileError(f"{what}: holds more than {MAX_HDF5_OBJECTS} HDF5 objects")
            if isinstance(item, h5py.Group):
                pending.append((item, path))
            elif isinstance(item, h5py.Dataset):
                _refuse_foreign_dataset(item, what, path)


def _refuse_foreign_dataset(dataset: Any, what: str, path: str) -> None:
    import h5py

    plist = dataset.id.get_create_plist()
    if plist.get_external_count() > 0:
        raise InputFileError(
            f"{what}: dataset {path!r} keeps its bytes in an external file, "
            "which Keras never writes"
        )
    if plist.get_layout() == h5py.h5d.VIRTUAL:
        raise InputFileError(
            f"{what}: dataset {path!r} is a virtual dataset mapping other files, "
            "which Keras never writes"
        )


def _safe_layouts() -> tuple[int, ...]:
    import h5py

    return (h5py.h5d.CONTIGUOUS, h5py.h5d.COMPACT)


SAFE_LAYOUTS = _safe_layouts()


def assign_weights(layer: Layer, arrays: list[np.ndarray], names: list[str]) -> None:
    """Give ``layer`` its arrays; a nested model hands them on to its sublayers in order."""
    if layer.submodel is None:
        expected = weight_names(layer.class_name, layer.config)
        if expected is not None and len(expected) != len(arrays):
            raise WeightsError(
                f"layer {layer.name!r} ({layer.class_name}) has {len(arrays)} weight arrays "
                f"in the file but its config implies {len(expected)}"
            )
        layer.weights = arrays
        layer.weight_names = names
        return
    distribute_weights(layer.submodel, arrays, names, layer.name)


def distribute_weights(
    model: KerasModel, arrays: list[np.ndarray], names: list[str], owner: str
) -> None:
    position = 0
    for sublayer in model.layers:
        count = count_weights(sublayer)
        take = arrays[position : position + count]
        assign_weights(sublayer, take, names[position : position + count])
        position += count
    if position != len(arrays):
        raise WeightsError(
            f"nested model {owner!r} stores {len(arrays)} weight arrays, its layers need {position}"
        )


def count_weights(layer: Layer) -> int:
    if layer.submodel is not None:
        return sum(count_weights(sub) for sub in layer.submodel.layers)
    names = weight_names(layer.class_name, layer.config)
    if names is None:
        # Unknown classes are refused later with a clear message; here they own nothing.
        return 0
    return len(names)
