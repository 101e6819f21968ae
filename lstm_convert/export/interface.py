"""The ONNX interface a deployer codes against: names, axes, dtypes, descriptions and
metadata. README.md's "ONNX interface" section documents exactly this module, and
tests/test_onnx_interface.py holds the two together.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ..background import Background
from ..defaults import TOKEN_DTYPES
from ..errors import InputFileError
from ..model import KerasModel
from ..version import __version__
from .builder import BATCH, TIME, Dim

# DEFAULT_TOKEN_DTYPE (defaults.py) is int64, what tokenizers (Hugging Face, tf.text,
# NumPy's default integer) hand over: callers feed their ids without a cast.

# metadata_props keys, in the order they are written. Export writes the first group;
# ``convert`` adds the source file's (and the --config file's) name and hash, and the
# outcome of its parity check once the check has run.
EXPORT_METADATA = ("converter_version", "keras_version", "source_format", "options")
SOURCE_METADATA = ("source_file", "source_sha256")
CONFIG_METADATA = ("config_file", "config_sha256")  # only with --config
PARITY_METADATA = (
    "parity",
    "parity_max_abs_error",
    "parity_atol",
    "parity_rtol",
    "parity_inputs",
)
METADATA_KEYS = EXPORT_METADATA + SOURCE_METADATA + CONFIG_METADATA + PARITY_METADATA
NOT_VERIFIED = "not verified"


def state_input_name(layer: str, label: str) -> str:
    """``--state-io`` (or stateful) input: the state before this call."""
    return f"{layer}_{label}_in"


def state_output_name(layer: str, label: str) -> str:
    """``--state-io`` (or stateful) output: the state after this call, fed back next call."""
    return f"{layer}_{label}_out"


def output_name(layer: str, role: str | None) -> str:
    """A Keras output: the layer's name, plus the role of the tensor when the layer
    returns several (``lstm_h``, ``bidirectional_backward_c``, ``bidirectional_forward``
    for merge_mode=None, or the position for tensors without a role)."""
    return f"{layer}_{role}" if role else layer


def input_dtype(keras_dtype: str, token_dtype: str) -> str:
    """A Keras input's ONNX dtype: integers as ``token_dtype``, float64 and bool kept, any
    other float as float32."""
    if keras_dtype in TOKEN_DTYPES:
        return token_dtype
    return keras_dtype if keras_dtype in ("float64", "bool") else "float32"


def input_dims(name: str, batch_shape: list, batch: Dim, time: str) -> tuple[Dim, ...]:
    """Keras's ``batch_shape`` with named dynamic axes: ``batch`` (or the batch Keras
    fixed), ``time`` on axis 1, ``<input>_dim<k>`` beyond."""
    dims: list[Dim] = []
    for axis, dim in enumerate(batch_shape):
        if isinstance(dim, int) and not isinstance(dim, bool):
            dims.append(dim)
        elif axis == 0:
            dims.append(batch)
        elif axis == 1:
            dims.append(time)
        else:
            dims.append(f"{name}_dim{axis}")
    return tuple(dims)


def time_axis_name(input_name: str, shared: bool) -> str:
    """``time`` when one input has a dynamic axis 1, else ``<input>_time`` for each (an
    encoder's and a decoder's steps need not agree)."""
    return TIME if shared else f"{input_name}_time"


def model_batch(model: KerasModel) -> Dim:
    """The batch Keras fixed on an input (stateful models must), else ``batch``."""
    for ref in model.inputs:
        shape = model.layer(ref.layer).config.get("batch_shape") or [None]
        if isinstance(shape[0], int) and not isinstance(shape[0], bool):
            return shape[0]
    return BATCH


def describe_dims(dims: tuple[Dim, ...]) -> str:
    return "[" + ", ".join(str(d) for d in dims) + "]"


def input_doc(name: str, dtype: str, dims: tuple[Dim, ...], keras_dtype: str) -> str:
    text = f"Keras input {name!r}: {dtype} {describe_dims(dims)}"
    if dtype in TOKEN_DTYPES:
        text += " (integer ids, e.g. token ids for an Embedding)"
    if keras_dtype != dtype:
        text += f"; Keras declares {keras_dtype}"
    return text


def output_doc(layer: str, role: str | None, dtype: str, dims: tuple[Dim, ...]) -> str:
    if not role:
        what = "output"
    elif role in ("forward", "backward"):
        what = f"{role} output, merge_mode=None"
    elif role.isdigit():
        what = f"output {role}"
    else:
        what = f"final state {role}"
    return f"Keras output of layer {layer!r} ({what}): {dtype} {describe_dims(dims)}"


def state_input_doc(layer: str, label: str, dims: tuple[Dim, ...], output_name: str) -> str:
    return (
        f"state {label} of layer {layer!r} before this call: float32 {describe_dims(dims)}; "
        f"zeros to start a sequence, then the previous call's {output_name}"
    )


def state_output_doc(layer: str, label: str, dims: tuple[Dim, ...], input_name: str) -> str:
    return (
        f"state {label} of layer {layer!r} after this call: float32 {describe_dims(dims)}; "
        f"feed it to {input_name} on the next call"
    )


def export_metadata(model: KerasModel, options: dict[str, Any]) -> dict[str, str]:
    """What export knows: versions, the source's format and the conversion options."""
    values = {
        "converter_version": f"lstm-convert {__version__}",
        "keras_version": model.source.keras_version,
        "source_format": model.source.format,
        "options": json.dumps(options, sort_keys=True),
    }
    return {key: values[key] for key in EXPORT_METADATA}


def add_metadata(proto: Any, entries: dict[str, str]) -> None:
    """Append ``metadata_props`` entries to a ModelProto."""
    for key, value in entries.items():
        proto.metadata_props.add(key=key, value=value)


# file_sha256 reads this many bytes at a time into one reused buffer (no fresh memory).
HASH_BLOCK = 1 << 20


class HashCancelled(Exception):
    """The conversion ended before its source's hash was wanted (never escapes)."""


def file_sha256(path: str | os.PathLike[str], cancel: threading.Event | None = None) -> str:
    """The file's SHA-256; stops with HashCancelled once ``cancel`` is set."""
    digest = hashlib.sha256()
    buffer = bytearray(HASH_BLOCK)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        while count := handle.readinto(buffer):
            if cancel is not None and cancel.is_set():
                raise HashCancelled(path)
            digest.update(view[:count])  # hashlib releases the GIL on blocks this size
    return digest.hexdigest()


def source_metadata(
    source: str | os.PathLike[str],
    config: str | os.PathLike[str] | None,
    cancel: threading.Event | None = None,
) -> dict[str, str]:
    """The Keras file's name (never its folders) and SHA-256; the same for --config."""
    values = {"source_file": Path(source).name, "source_sha256": file_sha256(source, cancel)}
    if config is not None:
        values.update(config_file=Path(config).name, config_sha256=file_sha256(config, cancel))
    return values


# What the hashes stand for in the metadata until they are known: same length as a hex
# SHA-256, so the real values are written over them in the file (serialize.write_model).
PENDING_SHA256 = "0" * 64


def pending_source_metadata(
    source: str | os.PathLike[str], config: str | os.PathLike[str] | None
) -> dict[str, str]:
    """``source_metadata`` with :data:`PENDING_SHA256` for each hash (same keys, order
    and lengths), for a file written while the hashes are still being taken."""
    values = {"source_file": Path(source).name, "source_sha256": PENDING_SHA256}
    if config is not None:
        values.update(config_file=Path(config).name, config_sha256=PENDING_SHA256)
    return values


def fill_metadata(proto: Any, entries: dict[str, str]) -> None:
    """Set the values of a ModelProto's ``metadata_props`` entries already there."""
    for prop in proto.metadata_props:
        if prop.key in entries:
            prop.value = entries[prop.key]


def background_source_metadata(
    source: str | os.PathLike[str], config: str | os.PathLike[str] | None
) -> Background[dict[str, str]]:
    """``source_metadata`` computed in a thread while the model is read and converted:
    a context manager whose ``start()`` starts it (``result()`` does if nothing did);
    leaving it early stops the reading."""

    def values() -> dict[str, str]:
        return source_metadata(source, config, pending.cancel)

    pending = Background("lstm-convert-sha256", values, start_on_enter=False)
    return pending


def parity_metadata(
    max_abs_error: float | None, atol: float, rtol: float, inputs: str
) -> dict[str, str]:
    """The check's outcome (a file is only written when it passed), or ``not verified``
    when ``max_abs_error`` is None (``--no-verify``)."""
    if max_abs_error is None:
        return {"parity": NOT_VERIFIED}
    return {
        "parity": "passed",
        "parity_max_abs_error": repr(max_abs_error),
        "parity_atol": repr(atol),
        "parity_rtol": repr(rtol),
        "parity_inputs": inputs,
    }


def declared_dtypes(graph: Any) -> dict[str, np.dtype]:
    """Each graph input's NumPy dtype (a GraphProto's inputs)."""
    from onnx import helper

    return {
        value.name: np.dtype(helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type))
        for value in graph.input
    }


def feeds_as_declared(
    feeds: dict[str, np.ndarray], declared: dict[str, np.dtype]
) -> dict[str, np.ndarray]:
    """Integer feeds (token ids) cast to the integer dtype their input declares, when
    every value fits; anything else is left for onnxruntime to judge."""
    result = dict(feeds)
    for name, array in feeds.items():
        want = declared.get(name)
        if want is None or array.dtype == want or array.dtype.kind not in "iu" or want.kind != "i":
            continue
        info = np.iinfo(want)
        if array.size and (array.min() < info.min or array.max() > info.max):
            raise InputFileError(
                f"input {name!r} holds ids outside {want} (convert with --token-dtype int64)"
            )
        result[name] = array.astype(want)
    return result
