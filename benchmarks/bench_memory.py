"""Issue 7, memory: peak RSS of a conversion against 3x the weight bytes plus the
interpreter's baseline, on the 35 MB two-LSTM(768) model.

    python benchmarks/bench_memory.py [--reps 3]

The baseline is a fresh interpreter that imports exactly what the conversion imports
(the CLI, the converter, h5py, onnx, and onnxruntime when the parity check runs) and
reads nothing. Peak RSS comes from ``os.wait4`` on fresh child processes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _models  # noqa: E402

LIMIT = 3.0
BASE_IMPORTS = (
    "import lstm_convert.cli, lstm_convert.api, lstm_convert.layers, "
    "lstm_convert.readers.legacy_h5, h5py, onnx"
)


def peak_rss(cmd: list[str]) -> int:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{cmd} failed: {proc.stderr.read().decode()[-2000:]}")
    return usage.ru_maxrss * 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    model = _models.model_file("lstm2x768")
    _models.compile_package()
    import h5py

    with h5py.File(model) as handle:
        weight_bytes = 0

        def visit(_name, obj):
            nonlocal weight_bytes
            if isinstance(obj, h5py.Dataset):
                weight_bytes += obj.nbytes

        handle.visititems(visit)

    py = sys.executable
    with tempfile.TemporaryDirectory() as work:
        out = str(Path(work) / "out.onnx")
        runs = {
            "--no-verify": (
                [
                    py,
                    "-m",
                    "lstm_convert",
                    "convert",
                    str(model),
                    "-o",
                    out,
                    "--force",
                    "--no-verify",
                ],
                [py, "-c", BASE_IMPORTS],
            ),
            "with parity": (
                [py, "-m", "lstm_convert", "convert", str(model), "-o", out, "--force"],
                [py, "-c", BASE_IMPORTS + ", onnxruntime"],
            ),
        }
        print(f"weights: {weight_bytes / 2**20:.1f} MiB")
        print("| run | peak RSS | baseline | (peak - baseline) / weights | limit | result |")
        print("|---|---|---|---|---|---|")
        for name, (cmd, base_cmd) in runs.items():
            peak = statistics.median(peak_rss(cmd) for _ in range(args.reps))
            base = statistics.median(peak_rss(base_cmd) for _ in range(args.reps))
            ratio = (peak - base) / weight_bytes
            verdict = "pass" if ratio <= LIMIT else "FAIL"
            print(
                f"| {name} | {peak / 2**20:.0f} MiB | {base / 2**20:.0f} MiB | {ratio:.2f}x "
                f"| ≤ {LIMIT:g}x | {verdict} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
