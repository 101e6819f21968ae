"""Output paths: refuse surprises, write atomically, never replace what appeared meanwhile.

Every check looks at the path itself (``lstat``): a dangling symbolic link exists, and
only a regular file (or a link to one) may be replaced, and only with ``--force``.
Without ``--force`` the final step links the finished file into place, which fails if
the name was taken while we worked (two runs writing the same new path).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
from pathlib import Path

from .errors import OutputPathError

# The system cannot store the output: a clean refusal (exit 2), never a traceback.
STORAGE_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}


def default_output(input_path: str | Path) -> Path:
    return Path(input_path).with_suffix(".onnx")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_target(target: Path, input_path: str | Path | None, force: bool) -> None:
    """Refuse ``target`` unless writing it can neither destroy the input nor anything
    but a regular file the user asked us to replace."""
    if input_path is not None:
        source = Path(input_path)
        if target.resolve() == source.resolve() or _same_file(target, source):
            raise OutputPathError(f"{target}: refusing to write over the input file")
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise OutputPathError(f"{target}: cannot be checked ({exc.strerror})") from None
    if stat.S_ISDIR(info.st_mode):
        raise OutputPathError(f"{target}: is a directory; give a file name")
    if not force:
        raise OutputPathError(f"{target}: already exists (pass force=True to overwrite)")
    if stat.S_ISLNK(info.st_mode):
        try:
            info = os.stat(target)
        except OSError:
            raise OutputPathError(f"{target}: is a dangling symbolic link; not replaced") from None
    if not stat.S_ISREG(info.st_mode):
        raise OutputPathError(f"{target}: is not a regular file; only those are replaced")


def check_output_path(input_path: str | Path, output_path: str | Path, force: bool) -> Path:
    output = Path(output_path)
    check_target(output, input_path, force)
    if not output.parent.is_dir():
        raise OutputPathError(f"{output.parent}: directory does not exist")
    return output


def storage_error(path: Path, exc: OSError) -> OutputPathError:
    return OutputPathError(f"{path}: cannot write the output ({exc.strerror or exc})")


def place(temp_path: Path, final_path: Path, force: bool) -> None:
    """Move the finished ``temp_path`` to ``final_path``.

    Without ``force`` the move fails if ``final_path`` appeared since we checked: a hard
    link cannot replace anything; where links are unsupported, Linux's no-replace rename.
    """
    if force:
        check_target(final_path, None, force=True)
        os.replace(temp_path, final_path)
        return
    try:
        os.link(temp_path, final_path, follow_symlinks=False)
    except FileExistsError:
        raise _appeared(final_path) from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        _rename_noreplace(temp_path, final_path)
        return
    temp_path.unlink()


def _appeared(path: Path) -> OutputPathError:
    return OutputPathError(
        f"{path}: appeared while converting (another run?); not replaced without force=True"
    )


def _rename_noreplace(source: Path, target: Path) -> None:
    import ctypes

    rename_noreplace = 1
    at_fdcwd = -100
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        renameat2 = None
    if renameat2 is not None:
        flags = ctypes.c_uint(rename_noreplace)
        args = (at_fdcwd, os.fsencode(source), at_fdcwd, os.fsencode(target), flags)
        if renameat2(*args) == 0:
            return
        code = ctypes.get_errno()
        if code == errno.EEXIST:
            raise _appeared(target)
        if code not in (errno.EINVAL, errno.ENOSYS):
            raise OSError(code, os.strerror(code), str(target))
    if os.path.lexists(target):  # last resort: check, then rename (a narrow race remains)
        raise _appeared(target)
    os.replace(source, target)


def _file_mode() -> int:
    """The mode a plain open() would give a new file under the current umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def storage_errors(final_path: Path):
    """A full disk or read-only folder is the user's to fix: one clean OutputPathError."""
    try:
        yield
    except OSError as exc:
        if exc.errno in STORAGE_ERRNOS:
            raise storage_error(final_path, exc) from None
        raise


@contextlib.contextmanager
def atomic_target(final_path: Path, force: bool = True):
    """Yield a temporary path beside ``final_path``; on success move it into place.

    An error or interruption leaves the old file (or nothing), never a partial one.
    """
    with storage_errors(final_path):
        handle, temp_name = tempfile.mkstemp(
            prefix=f".{final_path.name}.", suffix=".part", dir=final_path.parent
        )
    os.close(handle)
    temp_path = Path(temp_name)
    try:
        with storage_errors(final_path):
            yield temp_path
            # mkstemp creates 0600 files; give the output the mode a plain open() would.
            os.chmod(temp_path, _file_mode())
            place(temp_path, final_path, force)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp_path.unlink()


def external_data_path(output: Path) -> Path:
    return output.with_name(output.name + ".data")


@contextlib.contextmanager
def staged_external_model(
    final_path: Path, proto, force: bool, input_path: str | Path | None = None
):
    """Stage a model whose weights live in ``<name>.data`` beside it; yield its path.

    Both files are written to a private folder in the target directory (absolute paths,
    so nothing depends on the current folder) and checked there; on success the data
    file is moved into place first, then the model, so the model file never names data
    that is not there yet. If no tensor is big enough to move, only the model is written.
    """
    data_path = external_data_path(final_path)
    check_target(data_path, input_path, force)
    with storage_errors(final_path):
        stage = Path(
            tempfile.mkdtemp(
                prefix=f".{final_path.name}.", suffix=".part", dir=final_path.parent.absolute()
            )
        )
    try:
        staged = stage / final_path.name
        with storage_errors(final_path):
            _save_with_external_data(proto, staged, data_path.name)
        yield staged
        with storage_errors(final_path):
            _place_pair(stage / data_path.name, data_path, staged, final_path, force)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


# Smaller initializers (shape constants, small biases) stay inside the model, where
# onnxruntime's shape inference needs them.
EXTERNAL_MIN_BYTES = 1024


def _save_with_external_data(proto, model_path: Path, location: str) -> None:
    """Write ``proto`` to ``model_path`` with its big initializers in ``location`` beside it.

    Done by hand rather than with ``onnx.save_model(save_as_external_data=True)``, which
    refuses when a file named ``location`` exists in the current folder.
    """
    import onnx
    from onnx.external_data_helper import set_external_data, write_external_data_tensors

    for tensor in proto.graph.initializer:
        if tensor.HasField("raw_data") and len(tensor.raw_data) >= EXTERNAL_MIN_BYTES:
            set_external_data(tensor, location)
    proto = write_external_data_tensors(proto, str(model_path.parent))
    onnx.save_model(proto, str(model_path))


def _place_pair(data_temp: Path, data_path: Path, model_temp: Path, model_path: Path, force: bool):
    mode = _file_mode()
    placed_data = data_temp.exists()
    if placed_data:
        os.chmod(data_temp, mode)
        place(data_temp, data_path, force)
    os.chmod(model_temp, mode)
    try:
        place(model_temp, model_path, force)
    except BaseException:
        if placed_data:  # the data we just placed is ours and useless without its model
            with contextlib.suppress(OSError):
                data_path.unlink()
        raise
