"""Batch throughput: 50 small real-Keras files with --jobs 2, then --jobs 1, in one run.

Also measures the fixed cost of converting one file: process start, imports, the
onnxruntime session and the parity check. Prints Markdown tables (see docs/benchmarks.md).

Usage (from the repository root)::

    python benchmarks/bench_batch.py [--files 50] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
# Files written by Keras itself (keras1/ is written with h5py in Keras 1's layout).
GENERATIONS = ("keras3", "tfkeras")


# Run in a fresh process: what the first file costs a new worker, beyond its imports.
COLD = """
import json, sys, tempfile, time
from pathlib import Path
import h5py, onnxruntime as ort, lstm_convert.readers.keras_zip
from lstm_convert import api
from lstm_convert.export import export_model
from lstm_convert.export.context import ConvertOptions

sample, out = sys.argv[1], Path(tempfile.mkdtemp())
data = export_model(api.load(sample), ConvertOptions()).model.SerializeToString()
times = []
for _ in range(2):
    started = time.perf_counter()
    ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    times.append(time.perf_counter() - started)
for name in ("a.onnx", "b.onnx"):
    started = time.perf_counter()
    api.convert(sample, out / name)
    times.append(time.perf_counter() - started)
print(json.dumps(times))
"""


def candidate_files() -> list[Path]:
    manifest = json.loads((FIXTURES / "manifest.json").read_text())
    files = []
    for entry in manifest:
        if entry["generation"] in GENERATIONS and entry["family"] != "stateful":
            files += [ROOT / f for f in entry["files"] if (ROOT / f).is_file()]
    return files


def pick_files(count: int) -> list[Path]:
    """``count`` fixtures spread evenly over the manifest, keeping only those that convert."""
    from lstm_convert.api import convert

    usable = []
    with tempfile.TemporaryDirectory() as scratch:
        for index, file in enumerate(candidate_files()):
            try:
                convert(file, Path(scratch) / f"{index}.onnx")
            except Exception:  # skip whatever does not convert, whatever the reason
                continue
            usable.append(file)
    if len(usable) < count:
        sys.exit(f"only {len(usable)} fixtures convert; need {count}")
    step = len(usable) / count
    return [usable[int(i * step)] for i in range(count)]


def median_seconds(command: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def fixed_costs(sample: Path, repeats: int) -> list[tuple[str, float]]:
    from lstm_convert import batch
    from lstm_convert.api import convert, load
    from lstm_convert.export import export_model
    from lstm_convert.export.context import ConvertOptions
    from lstm_convert.parity import check_parity

    python = sys.executable
    bare = median_seconds([python, "-c", "pass"], repeats)
    api = median_seconds([python, "-c", "import lstm_convert.api"], repeats)
    full = median_seconds(
        [
            python,
            "-c",
            "import lstm_convert.api, h5py, onnxruntime, lstm_convert.readers.keras_zip",
        ],
        repeats,
    )

    ready = []
    for _ in range(repeats):
        events: queue.Queue = queue.Queue()
        started = time.perf_counter()
        worker = batch._Worker(events)
        events.get()
        ready.append(time.perf_counter() - started)
        worker.stop()
        worker.join()

    cold = [
        json.loads(
            subprocess.run(
                [python, "-c", COLD, str(sample)], check=True, capture_output=True, text=True
            ).stdout
        )
        for _ in range(repeats)
    ]
    first_session, second_session, first_convert, second_convert = (
        statistics.median(run[i] for run in cold) for i in range(4)
    )

    model = load(sample)
    exported = export_model(model, ConvertOptions())
    data = exported.model.SerializeToString()

    def timed(action, runs: int = 20) -> float:
        values = []
        for _ in range(runs):
            started = time.perf_counter()
            action()
            values.append(time.perf_counter() - started)
        return statistics.median(values)

    import onnxruntime as ort

    session = timed(lambda: ort.InferenceSession(data, providers=["CPUExecutionProvider"]))
    parity = timed(
        lambda: check_parity(
            model,
            data,
            exported.input_names,
            exported.output_names,
            exported.states,
        )
    )
    with tempfile.TemporaryDirectory() as scratch:
        counter = iter(range(10_000))
        whole = timed(lambda: convert(sample, Path(scratch) / f"{next(counter)}.onnx"))
        no_verify = timed(
            lambda: convert(sample, Path(scratch) / f"{next(counter)}.onnx", verify=False)
        )
    return [
        ("python process start (`python -c pass`)", bare),
        ("+ `import lstm_convert.api`", api - bare),
        ("+ h5py, onnxruntime, .keras reader (what a worker preloads)", full - api),
        ("worker start to ready (measured from the parent)", statistics.median(ready)),
        ("first onnxruntime session in a fresh process", first_session),
        ("second onnxruntime session in that process", second_session),
        ("onnxruntime session creation (warm process, median of 20)", session),
        ("one parity check: session + run + NumPy reference (warm)", parity),
        ("first `convert` with parity in a fresh, preloaded worker", first_convert),
        ("second `convert` with parity in that worker", second_convert),
        ("one whole `convert` with parity (warm process, median of 20)", whole),
        ("one whole `convert --no-verify` (warm process)", no_verify),
    ]


def run_batches(models: Path, out_root: Path, repeats: int) -> dict[str, dict[int, list[float]]]:
    """Alternate jobs=2 and jobs=1 so both see the same machine load.

    Records, per run: the whole ``convert_many`` call, the time from its first finished file
    to its last (the conversion phase, once the workers are up), and a cold CLI process.
    """
    from lstm_convert.batch import convert_many

    figures: dict[str, dict[int, list[float]]] = {
        "wall": {2: [], 1: []},
        "phase": {2: [], 1: []},
        "cli": {2: [], 1: []},
    }
    for repeat in range(repeats):
        for jobs in (2, 1):
            finished: list[float] = []
            started = time.perf_counter()
            result = convert_many(
                [models],
                out_root / f"api-{jobs}-{repeat}",
                jobs=jobs,
                progress=lambda done, total, r, finished=finished: finished.append(
                    time.perf_counter()
                ),
            )
            figures["wall"][jobs].append(time.perf_counter() - started)
            figures["phase"][jobs].append(finished[-1] - finished[1])
            if result.failed:
                bad = [r for r in result.results if r.status != "ok"][0]
                sys.exit(f"{result.failed} files failed, e.g. {bad.input}: {bad.error}")
            command = [sys.executable, "-m", "lstm_convert", "batch", str(models), "--json"]
            command += ["-o", str(out_root / f"cli-{jobs}-{repeat}"), "--jobs", str(jobs)]
            started = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            figures["cli"][jobs].append(time.perf_counter() - started)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    load = ", ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    files = pick_files(args.files)
    with tempfile.TemporaryDirectory() as scratch:
        models = Path(scratch) / "models"
        for file in files:
            # keras3/x.h5 -> keras3-h5/x.h5: x.h5 and x.keras would both map to x.onnx
            target = models / f"{file.parent.name}-{file.suffix[1:]}" / file.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(file, target)
        size = sum(f.stat().st_size for f in files)

        from lstm_convert.batch import convert_many

        convert_many([models], Path(scratch) / "warmup", jobs=2)  # disk cache, parent imports
        figures = run_batches(models, Path(scratch) / "out", args.repeats)
        costs = fixed_costs(files[0], 5)

    n = len(files)
    print(
        f"## {n} files ({size / 1024:.0f} KiB), {os.cpu_count()} CPUs, "
        f"median of {args.repeats} runs each, load average before: {load}\n"
    )
    print("| measure | jobs 2 (s) | jobs 1 (s) | throughput ratio |")
    print("|---|---:|---:|---:|")
    labels = {
        "wall": f"`convert_many`, {n} files, end to end",
        "phase": f"conversion phase only (first to last of {n} files)",
        "cli": f"`lstm-convert batch --json`, cold process, {n} files",
    }
    for key, label in labels.items():
        two, one = (statistics.median(figures[key][j]) for j in (2, 1))
        print(f"| {label} | {two:.2f} | {one:.2f} | {one / two:.2f}x |")
    runs = "; ".join(
        f"{key} jobs {j}: " + ", ".join(f"{v:.2f}" for v in figures[key][j])
        for key in labels
        for j in (2, 1)
    )
    print(f"\nAll runs (s): {runs}\n")
    print("| fixed cost of one file | ms |")
    print("|---|---:|")
    for label, seconds in costs:
        print(f"| {label} | {seconds * 1000:.1f} |")


if __name__ == "__main__":
    main()
