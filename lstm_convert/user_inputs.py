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
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import InputFileError
from .model import KerasModel

# The arrays of one verify run: far beyond any real check, far below what hurts.
MAX_INPUT_BYTES = int(float(os.environ.get("LSTM_CONVERT_MAX_INPUT_GB", "1")) * 1024**3)


@dataclass
class UserData:
    """What a user's .npz holds: the inputs, and optionally the expected outputs."""

    inputs: list[np.ndarray]
    outputs: dict[str, np.ndarray] = field(default_factory=dict)


def load_inputs(
    path: str | Path,
    input_names: list[str],
    model: KerasModel | None = None,
    output_names: Sequence[str] = (),
) -> UserData:
    """User inputs from an .npz: keyed by graph input name, or ``input_0``, ``input_1``...

    Expected outputs may ride along as ``output_0``... or under the ONNX output names;
    no other member is ever read.
    """
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
        # Positional keys win when all are present: tf.keras names its inputs input_1,
        # input_2..., which would otherwise pick the wrong positional array.
        positional = all(f"input_{i}" in members for i in range(len(input_names)))
        chosen = [
            _member_for(members, name, position, path, positional)
            for position, name in enumerate(input_names)
        ]
        reader = _BudgetedReader(archive, path)
        arrays = [reader.read(member) for member in chosen]
        check_user_inputs(path, arrays, input_names, model)
        output_keys = [*output_names, *(f"output_{i}" for i in range(len(output_names)))]
        outputs = {
            key: reader.read(members[key])
            for key in dict.fromkeys(output_keys)
            if key in members and members[key] not in chosen
        }
    return UserData(arrays, outputs)


def check_user_inputs(
    path: str | Path, arrays: list[np.ndarray], names: list[str], model: KerasModel | None
) -> None:
    """Refuse empty batches, non-numeric arrays and shapes the model cannot take; cast
    (in place in ``arrays``) a dtype the model does not take when the cast is exact."""
    for position, (name, array) in enumerate(zip(names, arrays, strict=True)):
        if array.dtype.kind not in "fiub":
            raise InputFileError(f"{path}: input {name!r} is not numeric ({array.dtype})")
        if array.ndim == 0 or array.shape[0] == 0:
            raise InputFileError(f"{path}: input {name!r} holds an empty batch")
        if model is None or position >= len(model.inputs):
            continue
        config = model.layer(model.inputs[position].layer).config
        wanted = input_dtype(config)
        declared = config.get("batch_shape") or []
        fits = len(declared) == array.ndim and all(
            d is None or d == n for d, n in zip(declared[1:], array.shape[1:], strict=True)
        )
        if not fits:
            shape = ["batch" if d is None else d for d in declared]
            raise InputFileError(
                f"{path}: input {name!r} has shape {list(array.shape)} ({array.dtype}), "
                f"the model takes {shape} ({wanted})"
            )
        arrays[position] = exact_cast(path, name, array, wanted)
    if len({int(a.shape[0]) for a in arrays}) > 1:
        raise InputFileError(f"{path}: the inputs have different batch sizes")


INPUT_DTYPES = ("float32", "float64", "int32", "int64", "bool")


def input_dtype(config: dict) -> np.dtype:
    """The dtype of a Keras input in the ONNX graph and the check: its declared dtype, or
    float32 (as the random inputs of the check are made)."""
    dtype = config.get("dtype")
    return np.dtype(dtype if isinstance(dtype, str) and dtype in INPUT_DTYPES else "float32")


def exact_cast(path: str | Path, name: str, array: np.ndarray, wanted: np.dtype) -> np.ndarray:
    """``array`` as ``wanted`` if no value changes (float64 -> float32, int64 -> int32...);
    otherwise refused, with the cast to make."""
    if array.dtype == wanted:
        return array
    with np.errstate(all="ignore"):
        cast = array.astype(wanted)
        exact = np.array_equal(cast.astype(array.dtype), array) and (
            wanted.kind != "b" or np.isin(array, (0, 1)).all()
        )
    if not exact:
        raise InputFileError(
            f"{path}: input {name!r} is {array.dtype} and its values change as {wanted}, the "
            f"model's input type: cast it yourself (array.astype(np.{wanted})) if that is meant"
        )
    return cast


class _BudgetedReader:
    """Reads members one by one, all of them together within ``MAX_INPUT_BYTES``."""

    def __init__(self, archive: zipfile.ZipFile, path: Path) -> None:
        self.archive, self.path, self.budget = archive, path, MAX_INPUT_BYTES

    def read(self, member: str) -> np.ndarray:
        array = _read_member(self.archive, member, self.budget, self.path)
        self.budget -= array.nbytes
        return array


def _require_regular_file(path: Path) -> None:
    try:
        info = os.stat(path)
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read inputs ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise InputFileError(f"{path}: not a regular file")


def _member_for(
    members: dict[str, str], name: str, position: int, path: Path, positional: bool
) -> str:
    keys = (f"input_{position}",) if positional else (name, f"input_{position}", f"arr_{position}")
    for key in keys:
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
                raise InputFileError(f"{path}: {member} holds an empty batch (shape {list(shape)})")
            data = handle.read(nbytes + 1)
    except InputFileError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise InputFileError(f"{path}: cannot read {member} ({exc.__class__.__name__})") from None
    if len(data) != nbytes:
        raise InputFileError(f"{path}: {member} holds {len(data)} bytes, its header says {nbytes}")
    array = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
    return array.copy()
