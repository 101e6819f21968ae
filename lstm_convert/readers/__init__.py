"""Readers: detect a Keras file's format by content and return a neutral KerasModel."""

from __future__ import annotations

import io
import os
from pathlib import Path

from ..errors import InputFileError
from ..model import KerasModel

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ZIP_MAGIC = b"PK\x03\x04"


def sniff(path: str | os.PathLike[str]) -> str:
    """Return "hdf5" or "zip" from the file's first bytes; never from its extension."""
    file = Path(path)
    if not file.exists():
        raise InputFileError(f"{file}: no such file")
    if file.is_dir():
        raise InputFileError(f"{file}: is a directory, not a model file")
    if not file.is_file():  # a FIFO, socket or device could block or never end
        raise InputFileError(f"{file}: is not a regular file")
    try:
        with open(file, "rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise InputFileError(f"{file}: cannot be read ({exc.strerror})") from None
    if not head:
        raise InputFileError(f"{file}: is empty")
    if head == HDF5_MAGIC:
        return "hdf5"
    if head[:4] == ZIP_MAGIC:
        return "zip"
    if looks_like_onnx(head) or file.suffix.lower() == ".onnx":
        raise InputFileError(
            f"{file}: is an ONNX model, not a Keras file; the Keras file comes first "
            "(convert MODEL.keras, verify MODEL.keras MODEL.onnx)"
        )
    raise InputFileError(f"{file}: is neither HDF5 nor a .keras zip archive")


# An ONNX ModelProto opens with ir_version (field 1, a small varint), then another field
# of ModelProto: producer_name, producer_version, domain, model_version, doc_string,
# graph or opset_import.
ONNX_SECOND_FIELDS = frozenset(b"\x12\x1a\x22\x28\x32\x3a\x42")


def looks_like_onnx(head: bytes) -> bool:
    return len(head) >= 3 and head[0] == 0x08 and head[1] < 0x80 and head[2] in ONNX_SECOND_FIELDS


MAX_CONFIG_FILE_BYTES = 32 * 1024 * 1024


def read_config_file(path: str | os.PathLike[str]) -> object:
    """An architecture given separately: ``model.to_json()`` output or a .keras config.json."""
    from .common import load_json

    file = Path(path)
    if not file.is_file():
        raise InputFileError(f"{file}: no such config file")
    if file.stat().st_size > MAX_CONFIG_FILE_BYTES:
        raise InputFileError(f"{file}: config file is larger than {MAX_CONFIG_FILE_BYTES} bytes")
    return load_json(file.read_bytes(), str(file))


def read_model(
    path: str | os.PathLike[str],
    config_path: str | os.PathLike[str] | None = None,
    metadata_only: bool = False,
) -> KerasModel:
    """Read a Keras model file (Keras 1/2/3 ``.h5`` or ``.keras``) into a neutral model.

    ``config_path`` pairs a weights-only file (``save_weights`` .h5 or Keras 3
    ``.weights.h5``) with its architecture. ``metadata_only`` walks and checks everything
    but reads no weight data (see ``guard.py``).
    """
    kind = sniff(path)
    text_path = str(path)
    if kind == "zip":
        from .keras_zip import read_keras_zip

        data = Path(path).read_bytes()
        return read_keras_zip(io.BytesIO(data), text_path, len(data), metadata_only)

    import h5py

    from .common import WeightBudget, refuse_foreign_storage
    from .legacy_h5 import read_legacy_h5, read_weights_only, require_full_model, weights_only_kind

    try:
        h5file = h5py.File(text_path, "r")
    except (OSError, ValueError) as exc:
        raise InputFileError(f"{text_path}: HDF5 file cannot be opened ({exc})") from None
    budget = WeightBudget(Path(path).stat().st_size, metadata_only)
    with h5file:
        refuse_foreign_storage(h5file, text_path)
        if config_path is not None:
            if weights_only_kind(h5file) is None:
                raise InputFileError(
                    f"{text_path}: a separate config (config_path=FILE) is only for "
                    "weights-only files; this file already holds its architecture"
                )
            return read_weights_only(h5file, text_path, read_config_file(config_path), budget)
        require_full_model(h5file, text_path)
        return read_legacy_h5(h5file, text_path, budget)
