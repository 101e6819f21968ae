"""Fuzzing real fixture files: only lstm-convert's own errors may escape, nothing hangs.

CI runs 300 examples of each test with a fixed seed. A longer campaign, outside CI:
    LSTM_CONVERT_FUZZ_EXAMPLES=10000 LSTM_CONVERT_FUZZ_RANDOM=1 python -m pytest tests/test_fuzz.py
"""

import copy
import io
import json
import os
import signal
import tempfile
import time
import zipfile
from pathlib import Path

import h5py
import numpy as np
from conftest import FIXTURES, SAMPLES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lstm_convert.api import convert
from lstm_convert.errors import ConvertError, InternalError

EXAMPLES = int(os.environ.get("LSTM_CONVERT_FUZZ_EXAMPLES", "300"))
# Campaigns can keep every slow case for a regression test: LSTM_CONVERT_FUZZ_SLOW_DIR=dir
SLOW_DIR = os.environ.get("LSTM_CONVERT_FUZZ_SLOW_DIR")
SLOW_SECONDS = 5.0
RANDOM = os.environ.get("LSTM_CONVERT_FUZZ_RANDOM") == "1"
SECONDS_PER_EXAMPLE = 30

H5_SOURCES = [
    SAMPLES / "seed_lstm.h5",
    FIXTURES / "keras3" / "gru_basic_fn.h5",
    FIXTURES / "tfkeras" / "bidir_lstm_concat_sequences_fn.h5",
    FIXTURES / "keras1" / "lstm_basic.h5",
]
ZIP_SOURCES = [SAMPLES / "seed_lstm.keras", SAMPLES / "text_classifier.keras"]
ODD_VALUES = [None, 0, -1, 1.5, 2**31, -(2**63), "", "x", "LSTM", [], {}, True, [[[[]]]], {"a": {}}]
MEMBER_NAMES = ["config.json", "model.weights.h5", "metadata.json", "../../evil", "/abs", "a/b/c"]


def _paths(obj, prefix=()):
    """Every (container, key) inside a JSON value."""
    found = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            found.append((obj, key))
            found.extend(_paths(value))
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            found.append((obj, index))
            found.extend(_paths(value))
    return found


@st.composite
def json_edit(draw, text: str) -> bytes:
    data = json.loads(text)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        if not paths:
            break
        container, key = paths[draw(st.integers(0, len(paths) - 1))]
        if draw(st.booleans()) and isinstance(container, dict):
            del container[key]
        else:
            # A fresh copy: a shared list inserted twice could end up containing itself.
            container[key] = copy.deepcopy(draw(st.sampled_from(ODD_VALUES)))
    return json.dumps(data).encode()


@st.composite
def bit_flips(draw, data: bytes) -> bytes:
    buffer = bytearray(data)
    for _ in range(draw(st.integers(1, 16))):
        position = draw(st.integers(0, len(buffer) - 1))
        buffer[position] ^= 1 << draw(st.integers(0, 7))
    return bytes(buffer)


@st.composite
def truncation(draw, data: bytes) -> bytes:
    return data[: draw(st.integers(0, len(data) - 1))]


@st.composite
def h5_attribute_edit(draw, source: Path) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "x.h5"
        copy.write_bytes(source.read_bytes())
        with h5py.File(copy, "r+") as f:
            choice = draw(st.sampled_from(["model_config", "keras_version", "names"]))
            if choice == "model_config":
                raw = f.attrs["model_config"]
                raw = raw.decode() if isinstance(raw, bytes) else raw
                f.attrs["model_config"] = draw(json_edit(raw)).decode()
            elif choice == "keras_version":
                f.attrs["keras_version"] = draw(st.sampled_from(["", "1", "3.0", "9", "x.y"]))
            else:
                group = f["model_weights"]
                layers = [
                    n.decode() if isinstance(n, bytes) else n for n in group.attrs["layer_names"]
                ]
                target = group[layers[draw(st.integers(0, len(layers) - 1))]]
                names = list(target.attrs.get("weight_names", []))
                edit = draw(st.sampled_from(["drop", "swap", "garbage"]))
                if edit == "drop" and names:
                    names = names[:-1]
                elif edit == "swap" and len(names) > 1:
                    names = names[::-1]
                else:
                    names = names + ["does/not/exist:0"]
                target.attrs["weight_names"] = [
                    str(n if isinstance(n, str) else n.decode()) for n in names
                ]
        return copy.read_bytes()


@st.composite
def zip_edit(draw, source: Path) -> bytes:
    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    action = draw(st.sampled_from(["add", "remove", "rename", "config", "weights"]))
    if action == "add":
        members[draw(st.sampled_from(MEMBER_NAMES))] = draw(st.binary(max_size=64))
    elif action == "remove":
        members.pop(draw(st.sampled_from(sorted(members))))
    elif action == "rename":
        old = draw(st.sampled_from(sorted(members)))
        members[draw(st.sampled_from(MEMBER_NAMES))] = members.pop(old)
    elif action == "config":
        members["config.json"] = draw(json_edit(members["config.json"].decode()))
    else:
        members["model.weights.h5"] = draw(bit_flips(members["model.weights.h5"]))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@st.composite
def mutated_file(draw) -> tuple[str, bytes]:
    if draw(st.booleans()):
        source = draw(st.sampled_from(H5_SOURCES))
        kind = draw(st.sampled_from(["bits", "truncate", "attrs"]))
        if kind == "attrs":
            return "h5", draw(h5_attribute_edit(source))
    else:
        source = draw(st.sampled_from(ZIP_SOURCES))
        kind = draw(st.sampled_from(["bits", "truncate", "zip"]))
        if kind == "zip":
            return "keras", draw(zip_edit(source))
    data = source.read_bytes()
    mutated = draw(bit_flips(data)) if kind == "bits" else draw(truncation(data))
    return source.suffix.lstrip("."), mutated


def _alarm(signum, frame):
    raise TimeoutError(f"conversion took longer than {SECONDS_PER_EXAMPLE} s")


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not RANDOM,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(case=mutated_file())
def test_mutated_files_raise_only_our_errors(case):
    suffix, data = case
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"model.{suffix}"
        path.write_bytes(data)
        out = Path(folder) / "out.onnx"
        previous = signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(SECONDS_PER_EXAMPLE)
        started = time.monotonic()
        try:
            convert(path, out)
        except ConvertError as exc:
            assert str(exc) and "\n" not in str(exc).strip()
            # A damaged file is the file's problem (exit 2), never reported as our bug.
            assert not isinstance(exc, InternalError), str(exc)
            assert not out.exists()
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
            if SLOW_DIR and time.monotonic() - started > SLOW_SECONDS:
                kept = Path(SLOW_DIR) / f"slow_{abs(hash(data))}.{suffix}"
                kept.write_bytes(data)
        assert path.read_bytes() == data  # the input is never modified


def test_fuzz_sources_exist():
    for source in H5_SOURCES + ZIP_SOURCES:
        assert source.exists(), source
    assert EXAMPLES >= 1


# --- structures a file can hold on purpose: foreign storage, hostile names, big graphs ---

SECRET = b"FUZZ-SECRET-" * 100
CONTROL_TEXT = st.text(
    alphabet=st.sampled_from(["\x1b", "\x07", "\n", "\r", "\x9b", "\u202e", "[", "]", "a"]),
    min_size=1,
    max_size=12,
)


def _h5_foreign(draw, folder: Path, secret: Path) -> Path:
    """The seed with one weight (or group) pointing outside the file."""
    from test_hostile_storage import KERNEL

    path = folder / "model.h5"
    path.write_bytes(SAMPLES.joinpath("seed_lstm.h5").read_bytes())
    kind = draw(st.sampled_from(["external", "external_link", "soft_link", "virtual"]))
    target = draw(st.sampled_from([str(secret), secret.name, "/dev/zero", "/dev/urandom"]))
    with h5py.File(path, "r+") as f:
        shape, dtype = f[KERNEL].shape, f[KERNEL].dtype
        del f[KERNEL]
        if kind == "external":
            size = int(np.prod(shape)) * dtype.itemsize
            f.create_dataset(KERNEL, shape=shape, dtype=dtype, external=[(target, 0, size)])
        elif kind == "external_link":
            f[KERNEL] = h5py.ExternalLink(target, "/data")
        elif kind == "soft_link":
            f[KERNEL] = h5py.SoftLink("/model_weights/lstm/lstm/lstm_cell/bias:0")
        else:
            layout = h5py.VirtualLayout(shape=shape, dtype=dtype)
            layout[...] = h5py.VirtualSource(target, "data", shape=shape)
            f.create_virtual_dataset(KERNEL, layout)
    return path


def _no_secret_anywhere(folder: Path) -> None:
    for item in folder.rglob("*"):
        if item.is_file() and item.name != "secret.txt":
            assert SECRET[:24] not in item.read_bytes(), item


@st.composite
def hostile_structure(draw) -> tuple[str, object]:
    kind = draw(st.sampled_from(["foreign", "names", "graph"]))
    if kind == "names":
        return kind, draw(CONTROL_TEXT)
    if kind == "graph":
        return kind, draw(st.integers(0, 3000))
    return kind, None


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not RANDOM,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(case=hostile_structure(), data=st.data())
def test_hostile_structures(case, data):
    """Foreign storage is refused with no foreign byte in any output; hostile names never
    reach the plain output raw; big graphs convert within the per-example deadline."""
    from test_hostile_resources import big_graph
    from test_hostile_text import renamed_seed

    from lstm_convert.render.plain import plain_convert_summary
    from lstm_convert.safe_text import visible

    kind, value = case
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        secret = folder / "secret.txt"
        secret.write_bytes(SECRET)
        out = folder / "out.onnx"
        previous_cwd = os.getcwd()
        previous = signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(SECONDS_PER_EXAMPLE)
        try:
            os.chdir(folder)  # relative external names resolve here
            if kind == "foreign":
                path = _h5_foreign(data.draw, folder, secret)
                try:
                    convert(path, out)
                    raise AssertionError("foreign storage was not refused")
                except ConvertError as exc:
                    assert "\n" not in str(exc).strip()
                assert not out.exists()
                _no_secret_anywhere(folder)
            elif kind == "names":
                path = renamed_seed(folder / "named.h5", value)
                try:
                    summary = plain_convert_summary(convert(path, out))
                except ConvertError as exc:
                    summary = f"error: {visible(exc)}"  # the CLI's error line
                lines = summary.rstrip("\n").split("\n")
                assert all(ch >= " " and ch not in "\x7f\x9b\u202e" for ln in lines for ch in ln)
            else:
                path = big_graph(folder / "big.h5", value)
                convert(path, out, verify=False)
                assert out.exists()
        finally:
            os.chdir(previous_cwd)
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
