"""Every fixture through other ONNX runtimes: how many load, run and match Keras.

    python tools/runtime_table.py [--runtimes reference,openvino,tract,opencv]

Needs the runtimes installed (``pip install '.[runtimes]'``; OpenCV:
``opencv-python-headless``). Each runtime runs in a child process that reports one
JSON line per fixture file; a runtime that kills the process (tract aborts on some
graphs) costs that one file, counted as not loaded, and the child restarts after it.
Run with PYTHONPATH pointing at another checkout to measure the graphs it writes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

TOLERANCE = 1e-5


def fixtures() -> list:
    import conftest

    return [p.values for p in conftest.fixture_files(exclude=("stateful", "mixed_precision"))]


def worker(runtime: str, start: int) -> None:
    import conftest
    import runtimes

    run = runtimes.available()[runtime]
    for index, (entry, path) in enumerate(fixtures()):
        if index < start:
            continue
        print(json.dumps({"index": index, "started": True}), flush=True)
        _, exported = conftest.converted(entry, path)
        record = {"index": index, "file": str(path.relative_to(ROOT)), "stage": "match"}
        try:
            inputs = list(exported.feeds(conftest.expected_arrays(entry, "input_")).values())
            got = run(exported.model.SerializeToString(), inputs)
            expected = conftest.expected_arrays(entry, "output_")
            error = max(
                float(np.max(np.abs(np.asarray(g, np.float64).reshape(e.shape) - e)))
                for g, e in zip(got, expected, strict=True)
            )
            if not error <= TOLERANCE:
                record.update(stage="run", detail=f"max abs error {error:.3g}")
        except runtimes.RuntimeStageError as exc:
            record.update(stage="none" if exc.stage == "load" else "load", detail=str(exc)[:200])
        except ValueError as exc:  # output count or shape differs from Keras's
            record.update(stage="run", detail=str(exc)[:200])
        print(json.dumps(record), flush=True)


def measure(runtime: str, total: int) -> list[dict]:
    """Records per file; ``stage`` is the furthest reached: none, load, run or match."""
    records: list[dict] = []
    start = 0
    while start < total:
        child = subprocess.Popen(
            [sys.executable, __file__, "--worker", runtime, "--start", str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        current = start
        for line in child.stdout:
            message = json.loads(line)
            current = message["index"]
            if not message.get("started"):
                records.append(message)
                current += 1
        child.wait()
        if current < total and (not records or records[-1]["index"] != current):
            records.append({"index": current, "stage": "none", "detail": "process died"})
            current += 1
        start = current
    return records


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtimes", default="reference,openvino,tract,opencv")
    parser.add_argument("--worker")
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--failures", type=Path, help="write every failure here (JSON)")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.start)
        return 0
    import runtimes

    total = len(fixtures())
    failures = {}
    print("| runtime | files | load | run | match |\n|---|---|---|---|---|")
    for runtime in args.runtimes.split(","):
        if runtime not in runtimes.available():
            print(f"| {runtime} | not installed | | | |")
            continue
        records = measure(runtime, total)
        reached = [r["stage"] for r in records]
        loaded = sum(s in ("load", "run", "match") for s in reached)
        ran = sum(s in ("run", "match") for s in reached)
        print(f"| {runtime} | {total} | {loaded} | {ran} | {reached.count('match')} |")
        failures[runtime] = [r for r in records if r["stage"] != "match"]
    if args.failures:
        args.failures.write_text(json.dumps(failures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
