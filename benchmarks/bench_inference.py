"""Issues 8 and 4, inference: our graphs against tf2onnx's and Keras, measured in one run.

    python benchmarks/bench_inference.py [--reps 25] [--steps 50] [--markdown]
                                         [--baseline DIR]

* Issue 8: the stacked LSTM(768) model at batch 1 and batch 32. Our graph and
  tf2onnx's graph run in onnxruntime with the same session options; Keras runs
  ``model(x)`` (not ``predict``) in a Keras-venv subprocess kept alive for the run.
* Issue 4: Embedding(5000, 128, mask_zero=True) -> LSTM(128) -> Dense(1) at batch 32,
  100 steps, on front-padded token batches (pad_sequences style, lengths 10..100),
  against the same model without the mask on the same batches.

With ``--baseline DIR`` (another lstm-convert checkout, e.g. a ``git worktree`` of an
older commit) the graphs that checkout writes run in the same reps, and each figure
gets an "ours / baseline" latency ratio: before/after comparisons from one run.

Every rep runs all runners once, in a fresh random order, after a short idle pause; a
ratio is the median over reps of the two latencies measured in the same rep, so every
ratio comes from one run on one machine state. tf2onnx's graphs are made through
the Keras venv when tf2onnx is importable there (cached under benchmarks/.cache).
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _models  # noqa: E402

OPSET = 17
RECURRENT = {"LSTM", "GRU", "RNN"}
LAYOUT_OPS = {"Transpose", "Squeeze", "Unsqueeze", "Reshape", "Slice", "Identity"}


def ours(name: str) -> bytes:
    from lstm_convert import api

    model = api.load(_models.model_file(name))
    exported = api.build_onnx(model, api.ConvertOptions(opset=OPSET))
    return exported.model.SerializeToString()


def baseline(name: str, root: Path) -> bytes:
    """The same model converted by the lstm-convert checkout at ``root``."""
    import subprocess

    code = (
        "import sys; from lstm_convert import api; "
        "m = api.build_onnx(api.load(sys.argv[1]), api.ConvertOptions(opset=int(sys.argv[2]))); "
        "sys.stdout.buffer.write(m.model.SerializeToString())"
    )
    env = {"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", code, str(_models.model_file(name)), str(OPSET)],
        capture_output=True,
        check=True,
        env=env,
        cwd=root,
    )
    return done.stdout


def session(source: bytes | str):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


# Token ids in the integer type each graph declares (int64 by default since --token-dtype;
# a --baseline checkout may declare int32).
INT_TYPES = {"tensor(int32)": np.int32, "tensor(int64)": np.int64}


def runner(sess, x: np.ndarray) -> Callable[[], np.ndarray]:
    graph_input = sess.get_inputs()[0]
    if x.dtype.kind == "i" and graph_input.type in INT_TYPES:
        x = x.astype(INT_TYPES[graph_input.type])
    feed = {graph_input.name: x}
    return lambda: sess.run(None, feed)[0]


def graph_facts(source: bytes | str) -> dict:
    import onnx

    model = onnx.load_from_string(source) if isinstance(source, bytes) else onnx.load(source)
    ops = Counter(node.op_type for node in model.graph.node)
    producer = {out: node for node in model.graph.node for out in node.output}
    between = []
    recurrent = [n for n in model.graph.node if n.op_type in RECURRENT]
    for node in recurrent[1:]:
        # Walk back from the recurrent node's X input to the previous recurrent node.
        value, path = node.input[0], []
        while value in producer and producer[value].op_type not in RECURRENT:
            path.append(producer[value].op_type)
            value = producer[value].input[0]
        if value in producer:
            between.append(list(reversed(path)))
    constants = sum(1 for n in model.graph.node if n.op_type == "Constant")
    return {
        "ops": ops,
        "nodes": len(model.graph.node),
        "recurrent": len(recurrent),
        "loops": ops.get("Loop", 0) + ops.get("Scan", 0),
        "between": between,
        "constant_nodes": constants,
        "initializers": len(model.graph.initializer),
    }


def interleave(
    runners: dict[str, Callable[[], object]], reps: int, gap: float
) -> dict[str, list[float]]:
    """Each rep runs every runner once, in a fresh random order (seeded).

    A fixed or rotating order gives every runner the same predecessor, and on 2 cores
    the predecessor matters: onnxruntime's and TensorFlow's thread pools keep spinning
    for a while after a call returns. The pause of ``gap`` seconds after each call lets
    them go idle, so every call starts on a quiet machine.
    """
    for run in runners.values():  # warm up: allocations, thread pools, Keras tracing
        run()
        run()
    times: dict[str, list[float]] = {name: [] for name in runners}
    order = random.Random(4)
    names = list(runners)
    for _ in range(reps):
        order.shuffle(names)
        for name in names:
            time.sleep(gap)
            start = time.perf_counter()
            runners[name]()
            times[name].append(time.perf_counter() - start)
    return times


def front_padded_tokens(rng, batch: int, steps: int, vocab: int) -> np.ndarray:
    """pad_sequences-style batches: random lengths 10..steps, zeros in front."""
    lengths = rng.integers(10, steps + 1, size=batch)
    lengths[0] = steps  # one full row, as real batches have
    tokens = np.zeros((batch, steps), dtype=np.int32)
    for row, length in enumerate(lengths):
        tokens[row, steps - length :] = rng.integers(1, vocab, size=length)
    return tokens


def max_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


class Keras:
    """``model(x)`` in the Keras venv; None when the venv is missing."""

    def __init__(self, name: str, work: Path):
        self.work = work
        self.worker = (
            _models.KerasWorker(_models.model_file(name)) if _models.keras_python() else None
        )

    def runner(self, key: str, x: np.ndarray) -> tuple[Callable[[], float], np.ndarray] | None:
        if self.worker is None:
            return None
        path = self.work / f"{key}.npy"
        np.save(path, x)
        self.worker.load(key, path)
        out = self.work / f"{key}.out.npy"
        self.worker.predict(key, out)
        worker = self.worker
        return (lambda: worker.time(key)), np.load(out)

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()


def timed(
    runners: dict[str, Callable[[], object]],
    keras: Callable[[], float] | None,
    reps: int,
    gap: float,
) -> dict[str, list[float]]:
    """Seconds per rep (index i = rep i); Keras reports its own time of ``model(x)``."""
    all_runners = dict(runners)
    keras_times: list[float] = []
    if keras is not None:
        all_runners["keras"] = lambda: keras_times.append(keras())
    times = interleave(all_runners, reps, gap)
    if keras is not None:
        times["keras"] = keras_times[-reps:]
    return times


def paired(times: dict[str, list[float]], a: str, b: str) -> float:
    """Median over reps of a/b, each pair measured in the same rep (robust to drift)."""
    return statistics.median(paired_ratios(times, a, b))


def paired_ratios(times: dict[str, list[float]], a: str, b: str) -> list[float]:
    return [x / y for x, y in zip(times[a], times[b], strict=True)]


def spread(ratios: list[float]) -> tuple[float, float]:
    """Interquartile range of the per-rep ratios: how far noise moves one comparison."""
    quartiles = statistics.quantiles(ratios, n=4)
    return quartiles[0], quartiles[2]


def medians(times: dict[str, list[float]]) -> str:
    return ", ".join(f"{k} {statistics.median(v) * 1000:.2f} ms" for k, v in times.items())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=25)
    parser.add_argument("--steps", type=int, default=50, help="time steps, stacked model")
    parser.add_argument("--skip-keras", action="store_true")
    parser.add_argument(
        "--gap-ms", type=float, default=30.0, help="idle pause before each timed call"
    )
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument(
        "--baseline", type=Path, help="another lstm-convert checkout to compare against"
    )
    args = parser.parse_args()

    import onnxruntime as ort

    try:
        for name in ("lstm2x768", "text_masked", "text_unmasked"):
            _models.model_file(name)
    except RuntimeError as exc:
        print(f"cannot make the benchmark models: {exc}", file=sys.stderr)
        return 2
    have_tf2onnx = _models.tf2onnx_available()
    tf2onnx_problem = None if have_tf2onnx else "tf2onnx is not importable in the Keras venv"
    if have_tf2onnx:
        try:  # make (or find cached) tf2onnx graphs up front; report, don't fake, a failure
            for name in ("lstm2x768", "text_masked"):
                _models.tf2onnx_file(name, OPSET)
        except RuntimeError as exc:
            have_tf2onnx = False
            tf2onnx_problem = f"tf2onnx failed: {str(exc).strip().splitlines()[-1][:300]}"
    rng = np.random.default_rng(8)
    rows: list[tuple[str, str, str, str]] = []  # figure, measured, limit, result
    context: list[str] = []
    graphs: list[str] = []

    def ratio_row(
        figure: str, value: float, limit: float | None, iqr: tuple[float, float] | None = None
    ) -> None:
        if limit is None:
            result = "-"
        elif value <= limit:
            result = "pass"
        elif iqr is not None and iqr[0] <= limit:
            result = "tie (limit inside the IQR)"
        else:
            result = "FAIL"
        measured = (
            f"{value:.3f}x" if iqr is None else f"{value:.3f}x (IQR {iqr[0]:.2f}–{iqr[1]:.2f})"
        )
        rows.append((figure, measured, "-" if limit is None else f"≤ {limit:g}x", result))

    with tempfile.TemporaryDirectory(dir=_models.CACHE) as tmp:
        work = Path(tmp)

        # -- issue 8: stacked LSTM(768) --------------------------------------------------
        name = "lstm2x768"
        our_graph = ours(name)
        sessions = {"ours": session(our_graph)}
        facts = {"ours": graph_facts(our_graph)}
        if args.baseline:
            base_graph = baseline(name, args.baseline)
            sessions["baseline"] = session(base_graph)
            facts["baseline"] = graph_facts(base_graph)
        if have_tf2onnx:
            t2o = _models.tf2onnx_file(name, OPSET)
            sessions["tf2onnx"] = session(str(t2o))
            facts["tf2onnx"] = graph_facts(str(t2o))
        keras = Keras(name, work) if not args.skip_keras else None
        try:
            for batch in (1, 32):
                x = rng.normal(0, 1, size=(batch, args.steps, 512)).astype(np.float32)
                runners = {k: runner(s, x) for k, s in sessions.items()}
                outputs = {k: r() for k, r in runners.items()}
                k_run = keras.runner(f"stacked_b{batch}", x) if keras else None
                if k_run is not None:
                    outputs["keras"] = k_run[1]
                med = timed(runners, k_run[0] if k_run else None, args.reps, args.gap_ms / 1000)
                label = f"batch {batch}, {args.steps} steps"
                if "baseline" in med:
                    ratio_row(
                        f"ours / baseline latency, {label}",
                        paired(med, "ours", "baseline"),
                        None,
                        spread(paired_ratios(med, "ours", "baseline")),
                    )
                if "tf2onnx" in med:
                    ratio_row(
                        f"ours / tf2onnx latency, {label}",
                        paired(med, "ours", "tf2onnx"),
                        1.0,
                        spread(paired_ratios(med, "ours", "tf2onnx")),
                    )
                if "keras" in med:
                    ratio_row(
                        f"ours / Keras model(x) latency, {label}",
                        paired(med, "ours", "keras"),
                        None,
                    )
                for other in outputs:
                    if other != "ours":
                        diff = max_diff(outputs["ours"], outputs[other])
                        context.append(f"{label}: max |ours - {other}| = {diff:.2e}")
                context.append(f"{label}: medians {medians(med)}")
        finally:
            if keras is not None:
                keras.close()
        for who, f in facts.items():
            graphs.append(
                f"{name} [{who}]: {f['nodes']} nodes, {f['recurrent']} recurrent, "
                f"{f['loops']} Loop/Scan, {f['constant_nodes']} Constant nodes, "
                f"{f['initializers']} initializers; between stacked layers: "
                f"{f['between']}; ops {dict(sorted(f['ops'].items()))}"
            )
        if tf2onnx_problem:
            context.append(f"{tf2onnx_problem}: no tf2onnx figures")

        # -- issue 4: masked text classifier ---------------------------------------------
        batch, steps = 32, 100
        tokens = front_padded_tokens(rng, batch, steps, 5000)
        masked, unmasked = ours("text_masked"), ours("text_unmasked")
        runners = {
            "masked": runner(session(masked), tokens),
            "unmasked": runner(session(unmasked), tokens),
        }
        facts = {"masked": graph_facts(masked), "unmasked": graph_facts(unmasked)}
        if args.baseline:
            for kind in ("masked", "unmasked"):
                graph = baseline(f"text_{kind}", args.baseline)
                runners[f"baseline_{kind}"] = runner(session(graph), tokens)
                facts[f"baseline_{kind}"] = graph_facts(graph)
        outputs = {k: r() for k, r in runners.items()}
        if have_tf2onnx:
            t2o = _models.tf2onnx_file("text_masked", OPSET)
            runners["tf2onnx_masked"] = runner(session(str(t2o)), tokens)
            outputs["tf2onnx_masked"] = runners["tf2onnx_masked"]()
            facts["tf2onnx_masked"] = graph_facts(str(t2o))
        keras = Keras("text_masked", work) if not args.skip_keras else None
        try:
            k_run = keras.runner("text_masked", tokens) if keras else None
            if k_run is not None:
                outputs["keras_masked"] = k_run[1]
            med = timed(runners, k_run[0] if k_run else None, args.reps * 2, args.gap_ms / 1000)
        finally:
            if keras is not None:
                keras.close()
        label = f"batch {batch}, {steps} steps, front-padded"
        ratio_row(
            f"masked / unmasked latency (ours), {label}",
            paired(med, "masked", "unmasked"),
            1.3,
            spread(paired_ratios(med, "masked", "unmasked")),
        )
        for kind in ("masked", "unmasked"):
            if f"baseline_{kind}" in med:
                ratio_row(
                    f"ours / baseline latency, {kind}, {label}",
                    paired(med, kind, f"baseline_{kind}"),
                    None,
                    spread(paired_ratios(med, kind, f"baseline_{kind}")),
                )
        if "tf2onnx_masked" in med:
            ratio_row(
                f"tf2onnx masked / ours masked latency, {label}",
                paired(med, "tf2onnx_masked", "masked"),
                None,
            )
        if "keras" in med:
            ratio_row(
                f"ours masked / Keras model(x) masked latency, {label}",
                paired(med, "masked", "keras"),
                None,
            )
        for other in ("tf2onnx_masked", "keras_masked", "baseline_masked"):
            if other in outputs:
                context.append(
                    f"text classifier: max |ours masked - {other}| = "
                    f"{max_diff(outputs['masked'], outputs[other]):.2e}"
                )
        context.append(f"text classifier: medians {medians(med)}")
        for who, f in facts.items():
            graphs.append(
                f"text [{who}]: {f['nodes']} nodes, {f['recurrent']} recurrent, "
                f"{f['loops']} Loop/Scan; ops {dict(sorted(f['ops'].items()))}"
            )

    print(
        f"{args.reps} reps per runner (masked model: {args.reps * 2}), shuffled order, "
        f"{args.gap_ms:g} ms idle before each call; ratios: median of per-rep ratios"
    )
    if args.markdown:
        print("\n| figure | measured | limit | result |\n|---|---|---|---|")
        for row in rows:
            print("| " + " | ".join(row) + " |")
    else:
        width = max(len(r[0]) for r in rows)
        print(f"\n{'figure':<{width}}  {'value':>8}  {'limit':>7}  result")
        for figure, value, limit, result in rows:
            print(f"{figure:<{width}}  {value:>8}  {limit:>7}  {result}")
    print("\ncontext:")
    for line in context:
        print(f"  {line}")
    print("\ngraphs:")
    for line in graphs:
        print(f"  {line}")
    print(f"\npython {platform.python_version()}, onnxruntime {ort.__version__}, opset {OPSET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
