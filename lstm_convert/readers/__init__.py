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
    raise InputFileError(f"{file}: is neither HDF5 nor a .keras zip archive")


def read_model(path: str | os.PathLike[str]) -> KerasModel:
    """Read a Keras model file (Keras 1/2/3 ``.h5`` or ``.keras``) into a neutral model."""
    kind = sniff(path)
    text_path = str(path)
    if kind == "zip":
        from .keras_zip import read_keras_zip

        data = Path(path).read_bytes()
        return read_keras_zip(io.BytesIO(data), text_path, len(data))

    import h5py

    from .legacy_h5 import read_legacy_h5, require_full_model

    try:
        h5file = h5py.File(text_path, "r")
    except (OSError, ValueError) as exc:
        raise InputFileError(f"{text_path}: HDF5 file cannot be opened ({exc})") from None
    with h5file:
        require_full_model(h5file)
        return read_legacy_h5(h5file, text_path)
