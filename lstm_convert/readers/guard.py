"""Read untrusted HDF5 behind a probe that runs in a forked child.

The HDF5 C library can loop forever, or crash, on a damaged file while it parses
metadata (seen by our fuzzing: an attribute read that never returns). Python cannot
interrupt C code holding the GIL, so the read is first rehearsed in a forked child with
``metadata_only``: the same code path, every check, no weight data. The parent waits
with a deadline and only then reads for real. HDF5 is deterministic, so the metadata the
child walked safely the parent walks safely too; weight data is read only from plain
contiguous datasets (see ``WeightBudget``).

A fork costs a few milliseconds. Where fork is unavailable (Windows) the probe is
skipped.
"""

from __future__ import annotations

import os
import pickle

from ..errors import ConvertError, read_error
from ..forked import run_forked

DEFAULT_TIMEOUT = float(os.environ.get("LSTM_CONVERT_READ_TIMEOUT", "30"))
_OK = b"ok"
# A batch worker with a per-file timeout already runs every file under a deadline and in
# its own process (a hang or crash fails that file alone), so it turns the probe off.
_supervised = False


def supervised() -> None:
    """Skip the probe in this process from now on: something else bounds every read."""
    global _supervised
    _supervised = True


def probe(path: str, config_path: str | None, timeout: float | None = None) -> None:
    """Raise the error reading ``path`` would raise, or InputFileError if it hangs/crashes."""
    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    if _supervised or not hasattr(os, "fork"):
        return
    # Import what the read needs before forking: the parent needs it anyway, and a child
    # that imported h5py itself would spend ~40 ms doing so.
    import h5py  # noqa: F401

    from . import keras_zip, legacy_h5  # noqa: F401

    def rehearse() -> bytes:
        try:
            from . import read_model

            read_model(path, config_path, metadata_only=True)
            return _OK
        except ConvertError as exc:
            return pickle.dumps(exc)
        except BaseException as exc:  # noqa: BLE001 - reported to the parent as data
            # The same verdict the parent's reading boundary gives: h5py/zip/json errors
            # are the file's, anything else is a bug in the reader.
            return pickle.dumps(read_error(path, "damaged or not a Keras model", exc))

    payload = run_forked(
        rehearse,
        timeout,
        late=f"{path}: reading it did not finish within {timeout:g} s "
        "(the file is damaged or hostile)",
        crashed=f"{path}: the HDF5 library crashed reading it (exit {{code}})",
    )
    if payload != _OK:
        raise pickle.loads(payload)
