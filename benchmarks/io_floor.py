"""The I/O floor of a conversion: read every dataset with h5py and write the same bytes.

    python benchmarks/io_floor.py MODEL.h5 OUT.bin

Writes like ``lstm-convert convert`` does (one file, flushed and fsync'ed), so the only
difference left is the conversion itself. ``copy_weights`` is importable for in-process
timing.
"""

from __future__ import annotations

import os
import sys


def copy_weights(source: str, target: str) -> int:
    import h5py
    import numpy as np

    arrays: list[np.ndarray] = []

    def visit(_name: str, obj: object) -> None:
        if isinstance(obj, h5py.Dataset):
            arrays.append(obj[()])

    with h5py.File(source, "r") as handle:
        handle.visititems(visit)
    written = 0
    with open(target, "wb") as out:
        for array in arrays:
            written += out.write(np.ascontiguousarray(array).data)
        out.flush()
        os.fsync(out.fileno())
    return written


if __name__ == "__main__":
    copy_weights(sys.argv[1], sys.argv[2])
