"""Output paths: refuse surprises, write atomically."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from .errors import OutputPathError


def default_output(input_path: str | Path) -> Path:
    return Path(input_path).with_suffix(".onnx")


def check_output_path(input_path: str | Path, output_path: str | Path, force: bool) -> Path:
    output = Path(output_path)
    source = Path(input_path)
    if output.resolve() == source.resolve() or (
        output.exists() and source.exists() and os.path.samefile(output, source)
    ):
        raise OutputPathError(f"{output}: refusing to write over the input file")
    if output.is_dir():
        raise OutputPathError(f"{output}: is a directory; give a file name")
    if output.exists() and not force:
        raise OutputPathError(f"{output}: already exists (pass --force to overwrite)")
    if not output.parent.exists():
        raise OutputPathError(f"{output.parent}: directory does not exist")
    return output


@contextlib.contextmanager
def atomic_target(final_path: Path):
    """Yield a temporary path beside ``final_path``; on success move it into place.

    An error or interruption leaves the old file (or nothing), never a partial one.
    """
    handle, temp_name = tempfile.mkstemp(
        prefix=f".{final_path.name}.", suffix=".part", dir=final_path.parent
    )
    os.close(handle)
    temp_path = Path(temp_name)
    try:
        yield temp_path
        # mkstemp creates 0600 files; give the output the mode a plain open() would.
        os.chmod(temp_path, 0o666 & ~_current_umask())
        os.replace(temp_path, final_path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp_path.unlink()


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def external_data_path(output: Path) -> Path:
    return output.with_name(output.name + ".data")


@contextlib.contextmanager
def staged_external_model(final_path: Path, proto, force: bool):
    """Stage a model whose weights live in ``<name>.data`` beside it; yield its path.

    Both files are written to a private folder in the target directory and checked
    there; on success the data file is moved into place first, then the model, so the
    model file never names data that is not there yet.
    """
    import shutil

    import onnx

    data_path = external_data_path(final_path)
    if data_path.exists() and not force:
        raise OutputPathError(f"{data_path}: already exists (pass --force to overwrite)")
    stage = Path(
        tempfile.mkdtemp(prefix=f".{final_path.name}.", suffix=".part", dir=final_path.parent)
    )
    try:
        staged = stage / final_path.name
        onnx.save_model(
            proto,
            str(staged),
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location=data_path.name,
            size_threshold=1024,
        )
        yield staged
        os.replace(stage / data_path.name, data_path)
        os.replace(staged, final_path)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
