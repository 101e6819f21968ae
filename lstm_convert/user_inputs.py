"""``verify --inputs``: the user's arrays from an .npz, read with the same suspicion as a model.

Only a regular file is opened (a FIFO would block forever), only the members the graph
needs are read, and each member's declared shape is checked against a budget before a
byte is inflated. Empty inputs are refused: onnxruntime aborts the whole process on a
batch-0 recurrent node.
"""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path

import numpy as np

from .errors import InputFileError

# The arrays of one verify run: far beyond any real check, far below what hurts.
MAX_INPUT_BYTES = int(float(os.environ.get("LSTM_CONVERT_MAX_INPUT_GB", "1")) * 1024**3)


def load_inputs(path: str | Path, input_names: list[str]) -> list[np.ndarray]:
    """User inputs from an .npz: keyed by graph input name, or ``input_0``, ``input_1``..."""
    path = Path(path)
    _require_regular_file(path)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputFileError(
            f"{path}: not an .npz archive ({exc.__class__.__name__}); save inputs with "
            "numpy.savez(path, input_0=...)"
        ) from None
    with archive:
        members = {name.removesuffix(".npy"): name for name in archive.namelist()}
        chosen = [
            _member_for(members, name, position, path) for position, name in enumerate(input_names)
        ]
        budget = MAX_INPUT_BYTES
        arrays = []
        for member in chosen:
            array = _read_member(archive, member, budget, path)
            budget -= array.nbytes
            arrays.append(array)
    return arrays


def _require_regular_file(path: Path) -> None:
    try:
        info = os.stat(path)
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read inputs ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise InputFileError(f"{path}: not a regular file")


def _member_for(members: dict[str, str], name: str, position: int, path: Path) -> str:
    for key in (name, f"input_{position}", f"arr_{position}"):
        if key in members:
            return members[key]
    raise InputFileError(f"{path}: no array for input {name!r} (or input_{position})")


def _read_member(archive: zipfile.ZipFile, member: str, budget: int, path: Path) -> np.ndarray:
    """One array, its declared shape and type checked before anything is inflated."""
    fmt = np.lib.format
    info = archive.getinfo(member)
    try:
        with archive.open(info) as handle:
            version = fmt.read_magic(handle)
            read_header = (
                fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            )
            shape, fortran, dtype = read_header(handle)
            if dtype.kind not in "biuf":
                raise InputFileError(f"{path}: {member} holds {dtype}, not numbers")
            nbytes = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
            if nbytes > budget or info.file_size > budget + 65536:
                raise InputFileError(
                    f"{path}: {member} declares {nbytes} bytes, over the "
                    f"{MAX_INPUT_BYTES}-byte budget for inputs"
                )
            if 0 in shape:
                raise InputFileError(f"{path}: {member} is empty (shape {list(shape)})")
            data = handle.read(nbytes + 1)
    except InputFileError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise InputFileError(f"{path}: cannot read {member} ({exc.__class__.__name__})") from None
    if len(data) != nbytes:
        raise InputFileError(f"{path}: {member} holds {len(data)} bytes, its header says {nbytes}")
    array = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
    return array.copy()
