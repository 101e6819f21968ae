"""Generate lstm-convert's test fixtures and samples from real Keras.

Every model file under ``tests/fixtures/keras3`` and ``tests/fixtures/tfkeras``
is written by Keras itself (``model.save``) and every expected output is
Keras's own prediction (``model(x, training=False)``).  The exceptions are:

* ``tests/fixtures/keras1``: no Keras 1 can be installed, so these files are
  written with h5py in Keras 1's layout; their expected outputs come from
  tf-keras loading the very same file with ``model.load_weights`` (which runs
  tf-keras's own Keras 1 weight conversion) into an equivalent model.
* ``cudnn_*`` fixtures: tf-keras builds and saves CuDNNLSTM/CuDNNGRU models on
  a CPU-only machine but cannot run them, so their expected outputs come from
  an equivalent LSTM/GRU model that loads the same file with
  ``model.load_weights`` (tf-keras's own CuDNN -> canonical conversion).

Keras 3 and tf-keras cannot share a process, so each generation runs in its
own subprocess.  Usage (from the repository root)::

    /tmp/keras-venv/bin/python tools/make_fixtures.py            # everything
    /tmp/keras-venv/bin/python tools/make_fixtures.py --generation keras3
    /tmp/keras-venv/bin/python tools/make_fixtures.py --only "lstm_*"

All weights and inputs are drawn from numpy generators seeded with the
fixture's name, so the keras3 and tfkeras versions of a fixture share weights
and inputs, and reruns reproduce the same numbers.
"""

from __future__ import annotations

import argparse
import fcntl
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
SAMPLES = ROOT / "samples"
MANIFEST = FIXTURES / "manifest.json"
GENERATIONS = ("tfkeras", "keras3", "keras1", "keras2old")
FORMATS = {
    "keras3": ("keras", "h5"),
    "tfkeras": ("h5", "keras"),
    "keras1": ("h5",),
    "keras2old": ("h5",),
}

B, T, F = 3, 6, 4  # default batch, time steps, features
WEIGHT_SCALE = 0.5


def rng_for(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode("utf8")))


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


# --------------------------------------------------------------------------
# input makers
# --------------------------------------------------------------------------


def floats(*shape: int, dtype: str = "float32") -> Callable:
    def make(rng: np.random.Generator) -> list[np.ndarray]:
        return [rng.normal(0.0, 1.0, size=shape).astype(dtype)]

    return make


def padded_tokens(rng: np.random.Generator, vocab: int = 20, steps: int = 7):
    """Four rows: post-padded, pre-padded, gaps in the middle, all padding."""
    toks = rng.integers(1, vocab, size=(4, steps))
    toks[0, steps - 3 :] = 0
    toks[1, :3] = 0
    toks[2, [1, 3, 4]] = 0
    toks[3, :] = 0
    return toks


def tokens(batch: int = 4, steps: int = 7, vocab: int = 20, dtype: str = "int32") -> Callable:
    def make(rng: np.random.Generator) -> list[np.ndarray]:
        if batch == 4:
            return [padded_tokens(rng, vocab, steps).astype(dtype)]
        return [rng.integers(0, vocab, size=(batch, steps)).astype(dtype)]

    return make


def masked_features(steps: int = 7, feats: int = F, value: float = 0.0) -> Callable:
    def make(rng: np.random.Generator) -> list[np.ndarray]:
        x = rng.normal(0.0, 1.0, size=(4, steps, feats))
        x[padded_tokens(rng, 20, steps) == 0] = value
        return [x.astype("float32")]

    return make


def concat_inputs(*makers: Callable) -> Callable:
    def make(rng: np.random.Generator) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        for m in makers:
            out.extend(m(rng))
        return out

    return make


# --------------------------------------------------------------------------
# fixture specification
# --------------------------------------------------------------------------


@dataclass
class Fixture:
    name: str
    family: str
    api: str
    build: Callable  # (ctx) -> keras model
    inputs: Callable  # (rng) -> list of arrays
    options: dict = field(default_factory=dict)
    notes: str = ""
    generations: tuple = ("keras3", "tfkeras")
    formats: tuple | None = None  # default: FORMATS[generation]
    kind: str = "plain"  # plain | stateful | cudnn | weights_only | windows_paths
    equivalent: Callable | None = None  # cudnn: (ctx) -> plain keras model
    weight_scale: float = WEIGHT_SCALE  # std of the random weights
    # (model, rng) -> None: reshapes the random weights after randomize (scaled heads,
    # designed structure); every array still starts random.
    shape_weights: Callable | None = None


class Ctx:
    """The Keras module of one generation plus small model-building helpers."""

    def __init__(self, generation: str, keras_module: Any):
        self.gen = generation
        self.K = keras_module
        self.L = keras_module.layers
        self.version = keras_module.__version__

    def Input(self, shape, dtype="float32", batch_size=None, name=None):
        return self.K.Input(shape=shape, dtype=dtype, batch_size=batch_size, name=name)

    def chain(self, api, shape, layers, dtype="float32", batch_size=None, name=None):
        """A linear stack of layers as a Sequential or a Functional model."""
        if api == "sequential":
            inp = self.Input(shape, dtype=dtype, batch_size=batch_size)
            return self.K.Sequential([inp, *layers], name=name)
        inp = self.Input(shape, dtype=dtype, batch_size=batch_size)
        x = inp
        for layer in layers:
            x = layer(x)
        return self.K.Model(inp, x, name=name)


REGISTRY: list[Fixture] = []


def add(fx: Fixture) -> None:
    if any(f.name == fx.name and set(f.generations) & set(fx.generations) for f in REGISTRY):
        raise ValueError(f"duplicate fixture {fx.name}")
    REGISTRY.append(fx)


def add_chain(
    name: str,
    family: str,
    layers: Callable,  # (L) -> list of layers
    options: dict,
    *,
    shape=(T, F),
    inputs: Callable | None = None,
    apis=("sequential", "functional"),
    dtype="float32",
    notes="",
    generations=("keras3", "tfkeras"),
    weight_scale=WEIGHT_SCALE,
) -> None:
    """Register a linear-chain model once per api (functional gets ``_fn``)."""
    for api in apis:
        add(
            Fixture(
                name=name if api == apis[0] else f"{name}_fn",
                family=family,
                api=api,
                build=lambda c, api=api: c.chain(api, shape, layers(c.L), dtype=dtype),
                inputs=inputs or floats(B, *[T if s is None else s for s in shape]),
                options=dict(options),
                notes=notes,
                generations=generations,
                weight_scale=weight_scale,
            )
        )


# --------------------------------------------------------------------------
# Phase 1: LSTM
# --------------------------------------------------------------------------


def register_lstm() -> None:
    add_chain("lstm_basic", "lstm", lambda L: [L.LSTM(5)], {})
    add_chain(
        "lstm_return_sequences",
        "lstm",
        lambda L: [L.LSTM(5, return_sequences=True)],
        {"return_sequences": True},
    )
    add_chain(
        "lstm_go_backwards",
        "lstm",
        lambda L: [L.LSTM(5, go_backwards=True)],
        {"go_backwards": True},
    )
    add_chain(
        "lstm_go_backwards_sequences",
        "lstm",
        lambda L: [L.LSTM(5, go_backwards=True, return_sequences=True)],
        {"go_backwards": True, "return_sequences": True},
        notes="Keras returns the sequence in processing order, i.e. reversed time.",
    )
    add_chain(
        "lstm_stacked",
        "lstm",
        lambda L: [
            L.LSTM(6, return_sequences=True),
            L.LSTM(5, return_sequences=True),
            L.LSTM(3),
        ],
        {"stacked": 3},
    )
    add_chain(
        "lstm_stacked_backwards",
        "lstm",
        lambda L: [
            L.LSTM(5, return_sequences=True),
            L.LSTM(4, return_sequences=True, go_backwards=True),
        ],
        {"stacked": 2, "go_backwards": [False, True], "return_sequences": True},
        apis=("sequential",),
    )
    add_chain(
        "lstm_no_bias",
        "lstm",
        lambda L: [L.LSTM(5, use_bias=False, return_sequences=True)],
        {"use_bias": False, "return_sequences": True},
    )
    add_chain(
        "lstm_dropout",
        "lstm",
        lambda L: [L.LSTM(5, dropout=0.3, recurrent_dropout=0.25, return_sequences=True)],
        {"dropout": 0.3, "recurrent_dropout": 0.25, "return_sequences": True},
        notes="Dropout is inactive at inference.",
    )
    add_chain(
        "lstm_unroll",
        "lstm",
        lambda L: [L.LSTM(5, unroll=True, return_sequences=True)],
        {"unroll": True, "return_sequences": True},
    )
    add_chain(
        "lstm_variable_time",
        "lstm",
        lambda L: [L.LSTM(5, return_sequences=True)],
        {"time_steps": None, "return_sequences": True, "recorded_time_steps": 7},
        shape=(None, F),
        inputs=floats(B, 7, F),
        notes="Input(shape=(None, F)); predictions recorded with T=7.",
    )
    combos = [
        ("tanh", "hard_sigmoid"),
        ("relu", "sigmoid"),
        ("linear", "hard_sigmoid"),
        ("softsign", "sigmoid"),
        ("elu", "tanh"),
        ("sigmoid", "softsign"),
        ("hard_sigmoid", "sigmoid"),
        ("tanh", "relu"),
        ("tanh", "linear"),
    ]
    for act, rec in combos:
        add_chain(
            f"lstm_act_{act}_{rec}",
            "lstm",
            lambda L, act=act, rec=rec: [
                L.LSTM(4, activation=act, recurrent_activation=rec, return_sequences=True)
            ],
            {"activation": act, "recurrent_activation": rec, "return_sequences": True},
            apis=("sequential", "functional") if rec == "hard_sigmoid" else ("sequential",),
            notes=(
                "hard_sigmoid: Keras 3 = clip(x/6+0.5), tf-keras = clip(0.2x+0.5)."
                if "hard_sigmoid" in (act, rec)
                else ""
            ),
            # unbounded gates (relu/linear) grow fast: keep their outputs small
            weight_scale=0.3 if rec in ("relu", "linear") or act == "linear" else WEIGHT_SCALE,
        )

    def return_state(c, return_sequences):
        inp = c.Input((T, F))
        out, h, cc = c.L.LSTM(5, return_state=True, return_sequences=return_sequences)(inp)
        return c.K.Model(inp, [out, h, cc])

    add(
        Fixture(
            "lstm_return_state",
            "lstm",
            "functional",
            lambda c: return_state(c, False),
            floats(B, T, F),
            {"return_state": True},
            notes="Outputs: output, h, c.",
        )
    )
    add(
        Fixture(
            "lstm_return_sequences_state",
            "lstm",
            "functional",
            lambda c: return_state(c, True),
            floats(B, T, F),
            {"return_state": True, "return_sequences": True},
            notes="Outputs: sequence, h, c.",
        )
    )

    def time_major(c, api, return_sequences):
        layer = c.L.LSTM(5, time_major=True, return_sequences=return_sequences)
        # The leading "batch" axis of the Keras Input is really time here.
        return c.chain(api, (None, F), [layer])

    for api, rs in (("sequential", False), ("functional", True)):
        add(
            Fixture(
                "lstm_time_major" + ("_sequences_fn" if rs else ""),
                "lstm",
                api,
                lambda c, api=api, rs=rs: time_major(c, api, rs),
                floats(T, B, F),
                {"time_major": True, "return_sequences": rs},
                notes="tf-keras time_major=True: input and sequence output are [T, B, F].",
                generations=("tfkeras",),
            )
        )
    add_chain(
        "lstm_float64",
        "lstm",
        lambda L: [L.LSTM(5, return_sequences=True, dtype="float64")],
        {"dtype": "float64", "return_sequences": True},
        dtype="float64",
        inputs=floats(B, T, F, dtype="float64"),
        notes=(
            "Layer dtype float64: weights are stored as float64 and input_0 is "
            "float64; outputs are stored as float32 like every other fixture. All "
            "other fixtures store float32 weights."
        ),
    )

    # stateful: fixed batch size, two consecutive chunks without reset.
    for api, rs in (("sequential", True), ("functional", False)):
        add(
            Fixture(
                "lstm_stateful" + ("_fn" if api == "functional" else ""),
                "stateful",
                api,
                lambda c, api=api, rs=rs: c.chain(
                    api,
                    (T, F),
                    [c.L.LSTM(5, stateful=True, return_sequences=rs)],
                    batch_size=B,
                ),
                floats(B, T, F),
                {"stateful": True, "return_sequences": rs, "batch_size": B},
                notes=(
                    "Saved with zero state. npz: chunk_0, chunk_1 (input_0 = chunk_0); "
                    "output_0 = prediction for chunk_0 from a fresh state; "
                    "output_chunk_0/output_chunk_1 = predictions for chunk_0 then "
                    "chunk_1 without a state reset in between."
                ),
                kind="stateful",
            )
        )

    def multi_input(c):
        a = c.Input((T, F), name="seq_a")
        b = c.Input((5, 3), name="seq_b")
        ha = c.L.LSTM(4)(a)
        hb = c.L.LSTM(3, go_backwards=True)(b)
        out = c.L.Dense(2)(c.L.Concatenate()([ha, hb]))
        return c.K.Model([a, b], out)

    add(
        Fixture(
            "lstm_multi_input",
            "model",
            "functional",
            multi_input,
            concat_inputs(floats(B, T, F), floats(B, 5, 3)),
            {"inputs": 2, "layers": ["LSTM", "Concatenate", "Dense"]},
        )
    )


# --------------------------------------------------------------------------
# Phase 2: GRU, SimpleRNN, Bidirectional
# --------------------------------------------------------------------------


def register_gru() -> None:
    for ra in (True, False):
        p = "gru_" if ra else "gru_resetbefore_"
        base = {"reset_after": ra}

        def g(L, ra=ra, **kw):
            return L.GRU(kw.pop("units", 5), reset_after=ra, **kw)

        add_chain(p + "basic", "gru", lambda L, g=g: [g(L)], base)
        add_chain(
            p + "return_sequences",
            "gru",
            lambda L, g=g: [g(L, return_sequences=True)],
            {**base, "return_sequences": True},
        )
        add_chain(
            p + "go_backwards",
            "gru",
            lambda L, g=g: [g(L, go_backwards=True)],
            {**base, "go_backwards": True},
            apis=("sequential",),
        )
        add_chain(
            p + "go_backwards_sequences",
            "gru",
            lambda L, g=g: [g(L, go_backwards=True, return_sequences=True)],
            {**base, "go_backwards": True, "return_sequences": True},
        )
        add_chain(
            p + "hard_sigmoid",
            "gru",
            lambda L, g=g: [g(L, recurrent_activation="hard_sigmoid", return_sequences=True)],
            {**base, "recurrent_activation": "hard_sigmoid", "return_sequences": True},
            apis=("sequential",),
        )
        add_chain(
            p + "no_bias",
            "gru",
            lambda L, g=g: [g(L, use_bias=False, return_sequences=True)],
            {**base, "use_bias": False, "return_sequences": True},
            apis=("sequential",),
        )
        add_chain(
            p + "stacked",
            "gru",
            lambda L, g=g: [g(L, units=6, return_sequences=True), g(L, units=4)],
            {**base, "stacked": 2},
            apis=("sequential",),
        )

        def rstate(c, g=g):
            inp = c.Input((T, F))
            out, h = g(c.L, return_state=True, return_sequences=True)(inp)
            return c.K.Model(inp, [out, h])

        add(
            Fixture(
                p + "return_state",
                "gru",
                "functional",
                rstate,
                floats(B, T, F),
                {**base, "return_state": True, "return_sequences": True},
                notes="Outputs: sequence, h.",
            )
        )
    add_chain(
        "gru_act_relu_softsign",
        "gru",
        lambda L: [
            L.GRU(4, activation="relu", recurrent_activation="softsign", return_sequences=True)
        ],
        {"activation": "relu", "recurrent_activation": "softsign", "return_sequences": True},
        apis=("sequential",),
    )
    add_chain(
        "gru_unroll_variable_time",
        "gru",
        lambda L: [L.GRU(4, return_sequences=True)],
        {"time_steps": None, "return_sequences": True, "recorded_time_steps": 5},
        shape=(None, F),
        inputs=floats(B, 5, F),
        apis=("functional",),
    )


def register_simplernn() -> None:
    add_chain("simplernn_tanh", "simplernn", lambda L: [L.SimpleRNN(5)], {"activation": "tanh"})
    add_chain(
        "simplernn_relu",
        "simplernn",
        lambda L: [L.SimpleRNN(5, activation="relu", return_sequences=True)],
        {"activation": "relu", "return_sequences": True},
        apis=("sequential",),
    )
    add_chain(
        "simplernn_linear",
        "simplernn",
        lambda L: [L.SimpleRNN(4, activation="linear")],
        {"activation": "linear"},
        apis=("sequential",),
    )
    add_chain(
        "simplernn_return_sequences",
        "simplernn",
        lambda L: [L.SimpleRNN(5, return_sequences=True)],
        {"return_sequences": True},
    )
    add_chain(
        "simplernn_go_backwards",
        "simplernn",
        lambda L: [L.SimpleRNN(5, go_backwards=True)],
        {"go_backwards": True},
        apis=("sequential",),
    )
    add_chain(
        "simplernn_go_backwards_sequences",
        "simplernn",
        lambda L: [L.SimpleRNN(5, go_backwards=True, return_sequences=True)],
        {"go_backwards": True, "return_sequences": True},
    )
    add_chain(
        "simplernn_no_bias",
        "simplernn",
        lambda L: [L.SimpleRNN(5, use_bias=False, return_sequences=True)],
        {"use_bias": False, "return_sequences": True},
        apis=("sequential",),
    )
    add_chain(
        "simplernn_stacked",
        "simplernn",
        lambda L: [L.SimpleRNN(6, return_sequences=True), L.SimpleRNN(3)],
        {"stacked": 2},
        apis=("sequential",),
    )

    def rstate(c):
        inp = c.Input((T, F))
        out, h = c.L.SimpleRNN(5, return_state=True)(inp)
        return c.K.Model(inp, [out, h])

    add(
        Fixture(
            "simplernn_return_state",
            "simplernn",
            "functional",
            rstate,
            floats(B, T, F),
            {"return_state": True},
            notes="Outputs: output, h.",
        )
    )


CELLS = {
    "lstm": lambda L, **kw: L.LSTM(4, **kw),
    "gru": lambda L, **kw: L.GRU(4, **kw),
    "simplernn": lambda L, **kw: L.SimpleRNN(4, **kw),
}


def register_bidirectional() -> None:
    for cell, make in CELLS.items():
        for merge in ("concat", "sum", "mul", "ave"):
            for rs in (True, False):
                if not rs and merge in ("sum", "mul"):
                    continue
                name = f"bidir_{cell}_{merge}" + ("_sequences" if rs else "")
                add_chain(
                    name,
                    "bidirectional",
                    lambda L, make=make, merge=merge, rs=rs: [
                        L.Bidirectional(make(L, return_sequences=rs), merge_mode=merge)
                    ],
                    {"cell": cell, "merge_mode": merge, "return_sequences": rs},
                    apis=(
                        ("sequential", "functional")
                        if merge == "concat" and rs and cell == "lstm"
                        else ("sequential",)
                    ),
                )
        for rs in (True, False):

            def none_merge(c, make=make, rs=rs):
                inp = c.Input((T, F))
                outs = c.L.Bidirectional(make(c.L, return_sequences=rs), merge_mode=None)(inp)
                return c.K.Model(inp, list(outs))

            add(
                Fixture(
                    f"bidir_{cell}_none" + ("_sequences" if rs else ""),
                    "bidirectional",
                    "functional",
                    none_merge,
                    floats(B, T, F),
                    {"cell": cell, "merge_mode": None, "return_sequences": rs},
                    notes="merge_mode=None: outputs forward, backward.",
                )
            )

        def rstate(c, make=make, cell=cell):
            inp = c.Input((T, F))
            outs = c.L.Bidirectional(make(c.L, return_state=True))(inp)
            return c.K.Model(inp, list(outs))

        add(
            Fixture(
                f"bidir_{cell}_return_state",
                "bidirectional",
                "functional",
                rstate,
                floats(B, T, F),
                {"cell": cell, "merge_mode": "concat", "return_state": True},
                notes=(
                    "Outputs: merged output, then forward states, then backward states "
                    + ("(h, c each)." if cell == "lstm" else "(h each).")
                ),
            )
        )
    add_chain(
        "bidir_gru_resetbefore_concat_sequences",
        "bidirectional",
        lambda L: [L.Bidirectional(L.GRU(4, reset_after=False, return_sequences=True))],
        {"cell": "gru", "reset_after": False, "merge_mode": "concat", "return_sequences": True},
        apis=("sequential",),
    )
    add_chain(
        "bidir_lstm_stacked",
        "bidirectional",
        lambda L: [
            L.Bidirectional(L.LSTM(4, return_sequences=True)),
            L.Bidirectional(L.LSTM(3), merge_mode="sum"),
        ],
        {"cell": "lstm", "stacked": 2, "merge_mode": ["concat", "sum"]},
        apis=("sequential",),
    )
    add_chain(
        "bidir_lstm_backward_layer",
        "bidirectional",
        lambda L: [
            L.Bidirectional(
                L.LSTM(4, return_sequences=True),
                backward_layer=L.LSTM(
                    3, return_sequences=True, go_backwards=True, activation="relu"
                ),
            )
        ],
        {"cell": "lstm", "backward_layer": "LSTM(3, relu)", "return_sequences": True},
        apis=("functional",),
        notes="Explicit backward_layer with different units and activation.",
    )
    add_chain(
        "bidir_lstm_inner_go_backwards",
        "bidirectional",
        lambda L: [L.Bidirectional(L.LSTM(4, return_sequences=True, go_backwards=True))],
        {"cell": "lstm", "inner_go_backwards": True, "return_sequences": True},
        apis=("sequential",),
        notes=(
            "Wrapped layer has go_backwards=True, so the 'backward' copy runs forwards. "
            "tfkeras only: Keras 3 rejects this wrapper."
        ),
        generations=("tfkeras",),
    )


# --------------------------------------------------------------------------
# Phase 2: surrounding layers and model structures
# --------------------------------------------------------------------------


def register_models() -> None:
    add_chain(
        "model_embedding_lstm",
        "model",
        lambda L: [L.Embedding(30, 6), L.LSTM(5), L.Dense(3, activation="softmax")],
        {"layers": ["Embedding", "LSTM", "Dense"]},
        shape=(T,),
        dtype="int32",
        inputs=tokens(B, T, 30),
    )
    add_chain(
        "model_embedding_float_tokens",
        "model",
        lambda L: [L.Embedding(30, 6), L.LSTM(5, return_sequences=True)],
        {"layers": ["Embedding", "LSTM"], "token_dtype": "float32"},
        shape=(T,),
        dtype="float32",
        inputs=tokens(B, T, 30, dtype="float32"),
        generations=("tfkeras",),
        notes="Token Input declared float32; input_0 holds float32 token ids.",
    )
    add_chain(
        "model_dense_activations",
        "model",
        lambda L: [
            L.LSTM(6),
            L.Dense(8, activation="relu"),
            L.Dense(7, activation="tanh"),
            L.Dense(6, activation="sigmoid"),
            L.Dense(6, activation="elu"),
            L.Dense(5, activation="softsign"),
            L.Dense(5, activation="softplus"),
            L.Dense(4, activation="selu"),
            L.Dense(4, activation="hard_sigmoid"),
            L.Dense(3),
            L.Activation("softmax"),
        ],
        {"layers": ["LSTM", "Dense", "Activation"]},
    )
    add_chain(
        "model_noise_dropout",
        "model",
        lambda L: [
            L.GaussianNoise(0.3),
            L.SpatialDropout1D(0.2),
            L.Dropout(0.1),
            L.LSTM(5, return_sequences=True, dropout=0.2),
            L.Dropout(0.5),
            L.TimeDistributed(L.Dense(2)),
        ],
        {"layers": ["GaussianNoise", "SpatialDropout1D", "Dropout", "LSTM", "TimeDistributed"]},
        notes="All noise/dropout layers are identities at inference.",
    )
    add_chain(
        "model_time_distributed",
        "model",
        lambda L: [
            L.LSTM(5, return_sequences=True),
            L.TimeDistributed(L.Dense(3, activation="tanh")),
        ],
        {"layers": ["LSTM", "TimeDistributed(Dense)"]},
    )
    add_chain(
        "model_flatten",
        "model",
        lambda L: [L.LSTM(4, return_sequences=True), L.Flatten(), L.Dense(3)],
        {"layers": ["LSTM", "Flatten", "Dense"]},
    )
    add_chain(
        "model_reshape",
        "model",
        lambda L: [
            L.Reshape((T, F)),
            L.LSTM(4, return_sequences=True),
            L.Reshape((T * 4,)),
            L.Dense(3),
        ],
        {"layers": ["Reshape", "LSTM", "Reshape", "Dense"]},
        shape=(T * F,),
        inputs=floats(B, T * F),
    )
    add_chain(
        "model_encoder_decoder",
        "model",
        lambda L: [
            L.LSTM(6),
            L.RepeatVector(4),
            L.LSTM(5, return_sequences=True),
            L.TimeDistributed(L.Dense(3)),
        ],
        {"layers": ["LSTM", "RepeatVector", "LSTM", "TimeDistributed(Dense)"]},
    )
    merges = ("Concatenate", "Add", "Subtract", "Multiply", "Average", "Maximum")
    for merge in merges:

        def merged(c, merge=merge):
            inp = c.Input((T, F))
            a = c.L.LSTM(4)(inp)
            b = c.L.LSTM(4, go_backwards=True)(inp)
            return c.K.Model(inp, c.L.Dense(2)(getattr(c.L, merge)()([a, b])))

        add(
            Fixture(
                f"model_merge_{merge.lower()}",
                "model",
                "functional",
                merged,
                floats(B, T, F),
                {"merge": merge},
            )
        )

    def pooling(c):
        inp = c.Input((T, F))
        seq = c.L.LSTM(5, return_sequences=True)(inp)
        avg = c.L.GlobalAveragePooling1D()(seq)
        mx = c.L.GlobalMaxPooling1D()(seq)
        return c.K.Model(inp, c.L.Dense(2)(c.L.Concatenate()([avg, mx])))

    add(
        Fixture(
            "model_global_pooling",
            "model",
            "functional",
            pooling,
            floats(B, T, F),
            {"layers": ["GlobalAveragePooling1D", "GlobalMaxPooling1D"]},
        )
    )

    def multi_io(c):
        seq = c.Input((T, F), name="signal")
        tok = c.Input((5,), dtype="int32", name="tokens")
        s = c.L.LSTM(5, return_sequences=True)(seq)
        tagged = c.L.TimeDistributed(c.L.Dense(2), name="tags")(s)
        e = c.L.Embedding(15, 4)(tok)
        g = c.L.GRU(3)(e)
        h = c.L.Concatenate()([c.L.GlobalMaxPooling1D()(s), g])
        cls = c.L.Dense(3, activation="softmax", name="label")(h)
        return c.K.Model([seq, tok], [cls, tagged])

    add(
        Fixture(
            "model_multi_io",
            "model",
            "functional",
            multi_io,
            concat_inputs(floats(B, T, F), tokens(B, 5, 15)),
            {"inputs": 2, "outputs": 2},
            notes="Inputs: signal (float), tokens (int32). Outputs: label, tags.",
        )
    )

    def nested(c, inner_api):
        inner = c.chain(
            inner_api,
            (T, F),
            [c.L.LSTM(5, return_sequences=True), c.L.GRU(4)],
            name="encoder",
        )
        inp = c.Input((T, F))
        return c.K.Model(inp, c.L.Dense(2, activation="tanh")(inner(inp)))

    for inner_api in ("sequential", "functional"):
        add(
            Fixture(
                "model_nested" + ("" if inner_api == "sequential" else "_functional"),
                "model",
                "functional",
                lambda c, a=inner_api: nested(c, a),
                floats(B, T, F),
                {"nested": inner_api},
                notes=f"A {inner_api} model named 'encoder' used as a layer.",
            )
        )
    add_chain(
        "model_bigru_stack",
        "model",
        lambda L: [
            L.Bidirectional(L.GRU(5, return_sequences=True)),
            L.Bidirectional(L.GRU(4)),
            L.Dense(6, activation="relu"),
            L.Dense(3, activation="softmax"),
        ],
        {"layers": ["Bidirectional(GRU)", "Bidirectional(GRU)", "Dense", "Dense"]},
    )

    def shared_lstm(c):
        """A Siamese encoder: one LSTM layer called on two inputs, then a Dense."""
        left, right = c.Input((T, F), name="left"), c.Input((T, F), name="right")
        encoder = c.L.LSTM(5, name="shared_lstm")
        merged = c.L.Concatenate()([encoder(left), encoder(right)])
        return c.K.Model([left, right], c.L.Dense(3)(merged))

    add(
        Fixture(
            "model_shared_lstm",
            "model",
            "functional",
            shared_lstm,
            concat_inputs(floats(B, T, F), floats(B, T, F)),
            {"inputs": 2, "layers": ["LSTM (called twice)", "Concatenate", "Dense"]},
            notes="One LSTM layer called on two inputs: both calls use its weights.",
        )
    )


# --------------------------------------------------------------------------
# Phase 2: masking
# --------------------------------------------------------------------------


def register_masked() -> None:
    S = 7  # time steps of masked inputs
    emb = dict(shape=(S,), dtype="int32", inputs=tokens(4, S, 20))

    def e(L):
        return L.Embedding(20, 5, mask_zero=True)

    def m(L, value=0.0):
        return L.Masking(mask_value=value)

    mf = dict(shape=(S, F), inputs=masked_features(S, F))
    cases = [
        ("emb_lstm", lambda L: [e(L), L.LSTM(4)], emb, ("sequential", "functional")),
        ("emb_lstm_sequences", lambda L: [e(L), L.LSTM(4, return_sequences=True)], emb, None),
        ("emb_gru", lambda L: [e(L), L.GRU(4)], emb, None),
        (
            "emb_gru_sequences",
            lambda L: [e(L), L.GRU(4, return_sequences=True)],
            emb,
            ("sequential", "functional"),
        ),
        (
            "emb_gru_resetbefore_sequences",
            lambda L: [e(L), L.GRU(4, reset_after=False, return_sequences=True)],
            emb,
            None,
        ),
        ("emb_simplernn", lambda L: [e(L), L.SimpleRNN(4)], emb, None),
        (
            "emb_simplernn_sequences",
            lambda L: [e(L), L.SimpleRNN(4, return_sequences=True)],
            emb,
            None,
        ),
        ("emb_bidir_lstm", lambda L: [e(L), L.Bidirectional(L.LSTM(4))], emb, None),
        (
            "emb_bidir_gru_sequences",
            lambda L: [
                e(L),
                L.Bidirectional(L.GRU(4, return_sequences=True), merge_mode="sum"),
            ],
            emb,
            None,
        ),
        (
            "emb_stacked",
            lambda L: [
                e(L),
                L.LSTM(5, return_sequences=True),
                L.GRU(4, return_sequences=True),
                L.LSTM(3),
            ],
            emb,
            None,
        ),
        ("emb_go_backwards", lambda L: [e(L), L.LSTM(4, go_backwards=True)], emb, None),
        (
            "emb_go_backwards_sequences",
            lambda L: [e(L), L.LSTM(4, go_backwards=True, return_sequences=True)],
            emb,
            None,
        ),
        (
            "emb_time_distributed",
            lambda L: [e(L), L.LSTM(4, return_sequences=True), L.TimeDistributed(L.Dense(2))],
            emb,
            None,
        ),
        ("masking_lstm", lambda L: [m(L), L.LSTM(4)], mf, ("sequential", "functional")),
        (
            "masking_lstm_sequences",
            lambda L: [m(L), L.LSTM(4, return_sequences=True)],
            mf,
            None,
        ),
        (
            "masking_gru_sequences",
            lambda L: [m(L), L.GRU(4, return_sequences=True)],
            mf,
            None,
        ),
        ("masking_simplernn", lambda L: [m(L), L.SimpleRNN(4)], mf, None),
        (
            "masking_bidir_lstm_sequences",
            lambda L: [m(L), L.Bidirectional(L.LSTM(4, return_sequences=True))],
            mf,
            None,
        ),
        (
            "masking_go_backwards_sequences",
            lambda L: [m(L), L.GRU(4, go_backwards=True, return_sequences=True)],
            mf,
            None,
        ),
        (
            "masking_stacked",
            lambda L: [m(L), L.SimpleRNN(5, return_sequences=True), L.LSTM(3)],
            mf,
            None,
        ),
        (
            "masking_value_minus_one",
            lambda L: [m(L, -1.0), L.LSTM(4, return_sequences=True)],
            dict(shape=(S, F), inputs=masked_features(S, F, value=-1.0)),
            None,
        ),
    ]
    for name, layers, spec, apis in cases:
        source = "Embedding(mask_zero=True)" if name.startswith("emb") else "Masking"
        add_chain(
            f"masked_{name}",
            "masked",
            layers,
            {"mask": source, "padding": ["post", "pre", "gaps", "all"]},
            shape=spec["shape"],
            dtype=spec.get("dtype", "float32"),
            inputs=spec["inputs"],
            apis=apis or ("sequential",),
            notes=(
                "Rows: post-padded, pre-padded, gaps in the middle, entirely masked."
                + (" Masking mask_value=-1.0." if "minus_one" in name else "")
            ),
        )

    def rstate(c):
        tok = c.Input((S,), dtype="int32")
        out, h, cc = c.L.LSTM(4, return_state=True)(e(c.L)(tok))
        return c.K.Model(tok, [out, h, cc])

    add(
        Fixture(
            "masked_emb_return_state",
            "masked",
            "functional",
            rstate,
            tokens(4, S, 20),
            {"mask": "Embedding(mask_zero=True)", "return_state": True},
            notes="Outputs: output, h, c.",
        )
    )

    def explicit(c):
        tok = c.Input((S,), dtype="int32")
        x = c.L.Embedding(20, 5)(tok)
        if c.gen == "keras3":
            mask = c.K.ops.not_equal(tok, 0)
        else:
            import tensorflow as tf

            mask = tf.math.not_equal(tok, 0)
        out = c.L.LSTM(4, return_sequences=True)(x, mask=mask)
        return c.K.Model(tok, c.L.Dense(2)(out))

    add(
        Fixture(
            "masked_explicit_mask",
            "masked",
            "functional",
            explicit,
            tokens(4, S, 20),
            {"mask": "explicit not_equal(tokens, 0) passed as mask kwarg"},
            notes=(
                "keras3: keras.ops.not_equal becomes a NotEqual op layer; tfkeras: "
                "tf.math.not_equal becomes a TFOpLambda layer (function "
                "'math.not_equal'). Both feed the LSTM's inbound-node kwarg 'mask'."
            ),
        )
    )


# --------------------------------------------------------------------------
# seq2seq: initial_state (modelled on the Keras seq2seq tutorial)
# --------------------------------------------------------------------------

S2S_STEPS, S2S_IN, S2S_OUT, S2S_UNITS = 6, 6, 5, 8


def register_seq2seq() -> None:
    """Character-level (one-hot floats) and word-level (Embedding, mask_zero) seq2seq: the
    training model, and the inference encoder_model / decoder_model, as in the tutorial."""
    u = S2S_UNITS

    def char_training(c, rnn="LSTM"):
        L = c.L
        enc_in = c.Input((None, S2S_IN), name="encoder_inputs")
        _, *states = getattr(L, rnn)(u, return_state=True, name="encoder")(enc_in)
        dec_in = c.Input((None, S2S_OUT), name="decoder_inputs")
        decoder = getattr(L, rnn)(u, return_sequences=True, return_state=True, name="decoder")
        seq, *_ = decoder(dec_in, initial_state=states)
        out = L.Dense(S2S_OUT, activation="softmax", name="decoder_dense")(seq)
        return c.K.Model([enc_in, dec_in], out)

    def char_encoder(c):
        enc_in = c.Input((None, S2S_IN), name="encoder_inputs")
        _, h, cc = c.L.LSTM(u, return_state=True, name="encoder")(enc_in)
        return c.K.Model(enc_in, [h, cc])

    def char_decoder(c):
        L = c.L
        dec_in = c.Input((None, S2S_OUT), name="decoder_inputs")
        states = [c.Input((u,), name="state_h"), c.Input((u,), name="state_c")]
        lstm = L.LSTM(u, return_sequences=True, return_state=True, name="decoder")
        seq, h, cc = lstm(dec_in, initial_state=states)
        out = L.Dense(S2S_OUT, activation="softmax", name="decoder_dense")(seq)
        return c.K.Model([dec_in, *states], [out, h, cc])

    steps = S2S_STEPS
    char_in = concat_inputs(floats(B, steps, S2S_IN), floats(B, steps - 1, S2S_OUT))
    for rnn in ("LSTM", "GRU", "SimpleRNN"):
        suffix = "" if rnn == "LSTM" else f"_{rnn.lower()}"
        add(
            Fixture(
                f"seq2seq_char_training{suffix}",
                "seq2seq",
                "functional",
                lambda c, rnn=rnn: char_training(c, rnn),
                char_in,
                {"initial_state": rnn, "pattern": "encoder states -> decoder initial_state"},
                notes="Inputs: encoder_inputs, decoder_inputs (one-hot-like floats).",
            )
        )
    add(
        Fixture(
            "seq2seq_char_encoder",
            "seq2seq",
            "functional",
            char_encoder,
            floats(B, steps, S2S_IN),
            {"pattern": "inference encoder_model: outputs [h, c]"},
        )
    )
    add(
        Fixture(
            "seq2seq_char_decoder",
            "seq2seq",
            "functional",
            char_decoder,
            concat_inputs(floats(B, 1, S2S_OUT), floats(B, u), floats(B, u)),
            {"pattern": "inference decoder_model: state inputs -> initial_state; outputs states"},
            notes="Inputs: decoder_inputs (one step), state_h, state_c. Outputs: probs, h, c.",
        )
    )
    register_seq2seq_words()
    register_seq2seq_variants()


def register_seq2seq_words() -> None:
    u, steps, vocab = S2S_UNITS, 7, 20

    def word_training(c):
        L = c.L
        enc_in = c.Input((None,), dtype="int32", name="encoder_tokens")
        enc = L.Embedding(vocab, 5, mask_zero=True)(enc_in)
        _, h, cc = L.LSTM(u, return_state=True)(enc)
        dec_in = c.Input((None,), dtype="int32", name="decoder_tokens")
        dec = L.Embedding(vocab, 5, mask_zero=True)(dec_in)
        seq = L.LSTM(u, return_sequences=True)(dec, initial_state=[h, cc])
        return c.K.Model([enc_in, dec_in], L.Dense(vocab, activation="softmax")(seq))

    def word_decoder(c):
        L = c.L
        dec_in = c.Input((None,), dtype="int32", name="decoder_tokens")
        states = [c.Input((u,), name="state_h"), c.Input((u,), name="state_c")]
        dec = L.Embedding(vocab, 5, mask_zero=True)(dec_in)
        lstm = L.LSTM(u, return_sequences=True, return_state=True)
        seq, h, cc = lstm(dec, initial_state=states)
        out = L.Dense(vocab, activation="softmax")(seq)
        return c.K.Model([dec_in, *states], [out, h, cc])

    add(
        Fixture(
            "seq2seq_word_training",
            "seq2seq",
            "functional",
            word_training,
            concat_inputs(tokens(4, steps, vocab), tokens(4, steps - 1, vocab)),
            {"initial_state": "LSTM", "mask": "Embedding(mask_zero=True) on both sides"},
            notes="Rows: post-padded, pre-padded, gaps in the middle, entirely masked.",
        )
    )
    add(
        Fixture(
            "seq2seq_word_decoder",
            "seq2seq",
            "functional",
            word_decoder,
            concat_inputs(tokens(4, steps, vocab), floats(4, u), floats(4, u)),
            {"pattern": "masked decoder_model started from given states"},
            notes=(
                "The entirely masked row must return the given states unchanged "
                "(onnxruntime alone would return zeros)."
            ),
        )
    )


def register_seq2seq_variants() -> None:
    u, steps = S2S_UNITS, 7

    def backwards(c, masked):
        L = c.L
        if masked:
            x_in = c.Input((steps,), dtype="int32")
            x = L.Embedding(20, 5, mask_zero=True)(x_in)
        else:
            x_in = c.Input((steps, F))
            x = x_in
        h_in = c.Input((u,))
        c_in = c.Input((u,))
        lstm = L.LSTM(u, go_backwards=True, return_sequences=True, return_state=True)
        seq, h, cc = lstm(x, initial_state=[h_in, c_in])
        return c.K.Model([x_in, h_in, c_in], [seq, h, cc])

    for masked in (False, True):
        first = tokens(4, steps, 20) if masked else floats(4, steps, F)
        add(
            Fixture(
                "seq2seq_go_backwards" + ("_masked" if masked else ""),
                "seq2seq",
                "functional",
                lambda c, m=masked: backwards(c, m),
                concat_inputs(first, floats(4, u), floats(4, u)),
                {"initial_state": "LSTM", "go_backwards": True, "masked": masked},
                notes="Outputs: sequence (processing order), h, c.",
            )
        )

    def bidirectional(c, rnn, masked):
        L = c.L
        if masked:
            x_in = c.Input((steps,), dtype="int32")
            x = L.Embedding(20, 5, mask_zero=True)(x_in)
        else:
            x_in = c.Input((steps, F))
            x = x_in
        n = 2 if rnn == "LSTM" else 1
        states = [c.Input((u,)) for _ in range(2 * n)]
        layer = L.Bidirectional(getattr(L, rnn)(u, return_sequences=True, return_state=True))
        seq, *finals = layer(x, initial_state=states)
        return c.K.Model([x_in, *states], [L.Dense(3)(seq), *finals])

    for rnn, masked in (("LSTM", False), ("LSTM", True), ("GRU", True)):
        n = 4 if rnn == "LSTM" else 2
        first = tokens(4, steps, 20) if masked else floats(4, steps, F)
        add(
            Fixture(
                f"seq2seq_bidir_{rnn.lower()}" + ("_masked" if masked else ""),
                "seq2seq",
                "functional",
                lambda c, r=rnn, m=masked: bidirectional(c, r, m),
                concat_inputs(first, *[floats(4, u)] * n),
                {"initial_state": f"Bidirectional({rnn})", "states": n, "masked": masked},
                notes="States: forward ones first, then backward ones, as Keras takes them.",
            )
        )

    def bidir_encoder(c):
        L = c.L
        enc_in = c.Input((steps, F))
        _, *states = L.Bidirectional(L.LSTM(4, return_state=True))(enc_in)
        dec_in = c.Input((steps - 2, 3))
        seq = L.Bidirectional(L.LSTM(4, return_sequences=True))(dec_in, initial_state=states)
        return c.K.Model([enc_in, dec_in], L.Dense(2)(seq))

    add(
        Fixture(
            "seq2seq_bidir_encoder_decoder",
            "seq2seq",
            "functional",
            bidir_encoder,
            concat_inputs(floats(B, steps, F), floats(B, steps - 2, 3)),
            {"initial_state": "Bidirectional(LSTM) from a Bidirectional encoder's 4 states"},
        )
    )


def bool_mask(steps: int = 7) -> Callable:
    """A [4, steps] bool mask input: post-padded, pre-padded, gaps, entirely masked."""

    def make(rng: np.random.Generator) -> list[np.ndarray]:
        return [padded_tokens(rng, 20, steps) != 0]

    return make


def register_explicit_mask_inputs() -> None:
    """``layer(x, mask=mask_input)`` with a bool Input, alone and with initial states."""
    u, steps = 4, 7

    def mask_input(c):
        x_in = c.Input((steps, F), name="features")
        mask_in = c.Input((steps,), dtype="bool", name="mask")
        seq = c.L.LSTM(u, return_sequences=True)(x_in, mask=mask_in)
        return c.K.Model([x_in, mask_in], c.L.Dense(2)(seq))

    def mask_and_states(c):
        x_in = c.Input((steps, F), name="features")
        mask_in = c.Input((steps,), dtype="bool", name="mask")
        states = [c.Input((u,), name="state_h"), c.Input((u,), name="state_c")]
        lstm = c.L.LSTM(u, return_sequences=True, return_state=True)
        seq, h, cc = lstm(x_in, mask=mask_in, initial_state=states)
        return c.K.Model([x_in, mask_in, *states], [seq, h, cc])

    add(
        Fixture(
            "masked_bool_mask_input",
            "masked",
            "functional",
            mask_input,
            concat_inputs(floats(4, steps, F), bool_mask(steps)),
            {"mask": "bool Input passed as mask="},
            notes="Inputs: features, mask (bool). Rows: post, pre, gaps, entirely masked.",
        )
    )
    add(
        Fixture(
            "masked_bool_mask_initial_state",
            "masked",
            "functional",
            mask_and_states,
            concat_inputs(floats(4, steps, F), bool_mask(steps), floats(4, u), floats(4, u)),
            {"mask": "bool Input passed as mask=", "initial_state": "LSTM"},
            notes=(
                "A masked decoder started from given states in both generations (Keras 3 "
                "masks it only because the mask is passed explicitly)."
            ),
        )
    )


def register_rnn_cells() -> None:
    """``keras.layers.RNN(cell)`` and ``RNN(StackedRNNCells)`` (a list of cells)."""
    steps = 7

    def cell(L, kind, units, **kw):
        return getattr(L, f"{kind}Cell")(units, **kw)

    for kind in ("LSTM", "GRU", "SimpleRNN"):
        add_chain(
            f"rnn_cell_{kind.lower()}",
            "rnn_cell",
            lambda L, k=kind: [L.RNN(cell(L, k, 5), return_sequences=True), L.Dense(2)],
            {"layer": f"RNN({kind}Cell)"},
        )
    add_chain(
        "rnn_cell_gru_reset_before_backwards",
        "rnn_cell",
        lambda L: [L.RNN(L.GRUCell(4, reset_after=False), go_backwards=True)],
        {"layer": "RNN(GRUCell(reset_after=False)), go_backwards"},
        apis=("functional",),
    )
    add_chain(
        "rnn_stacked_cells",
        "rnn_cell",
        lambda L: [
            L.RNN([L.LSTMCell(5), L.GRUCell(4), L.SimpleRNNCell(3)], return_sequences=True),
            L.Dense(2),
        ],
        {"layer": "RNN(StackedRNNCells[LSTMCell, GRUCell, SimpleRNNCell])"},
    )
    add_chain(
        "rnn_stacked_cells_masked",
        "rnn_cell",
        lambda L: [
            L.Embedding(20, 5, mask_zero=True),
            L.RNN(L.StackedRNNCells([L.GRUCell(4), L.LSTMCell(3)])),
        ],
        {"layer": "RNN(StackedRNNCells)", "mask": "Embedding(mask_zero=True)"},
        shape=(steps,),
        dtype="int32",
        inputs=tokens(4, steps, 20),
        apis=("functional",),
    )
    add_chain(
        "rnn_stacked_cells_masked_backwards",
        "rnn_cell",
        lambda L: [
            L.Embedding(20, 5, mask_zero=True),
            L.RNN([L.GRUCell(4), L.LSTMCell(3)], go_backwards=True, return_sequences=True),
            L.Dense(2),
        ],
        {"layer": "RNN(StackedRNNCells), go_backwards", "mask": "Embedding(mask_zero=True)"},
        shape=(steps,),
        dtype="int32",
        inputs=tokens(4, steps, 20),
        apis=("functional",),
    )
    add_chain(
        "rnn_stacked_cells_backwards",
        "rnn_cell",
        lambda L: [L.RNN([L.LSTMCell(4), L.LSTMCell(3)], go_backwards=True, return_sequences=True)],
        {"layer": "RNN(StackedRNNCells), go_backwards"},
        apis=("functional",),
    )

    def stacked_states(c):
        L = c.L
        x_in = c.Input((steps, F))
        _, *states = L.RNN([L.LSTMCell(5), L.GRUCell(4)], return_state=True)(x_in)
        y = L.RNN([L.LSTMCell(5), L.GRUCell(4)], return_sequences=True)(x_in, initial_state=states)
        _, h, cc = L.RNN(L.LSTMCell(5), return_state=True, name="rnn_states")(x_in)
        z = L.Bidirectional(L.LSTM(5))(x_in, initial_state=[h, cc, h, cc])
        return c.K.Model(x_in, [L.Dense(2)(y), z])

    add(
        Fixture(
            "rnn_stacked_cells_initial_state",
            "rnn_cell",
            "functional",
            stacked_states,
            floats(B, steps, F),
            {"initial_state": "nested (StackedRNNCells) and reused by a Bidirectional"},
            notes=(
                "tf-keras writes the stacked states as nested references "
                "[[['rnn', 0, 1], ['rnn', 0, 2]], ['rnn', 0, 3]]."
            ),
        )
    )


def register_windows_and_precision() -> None:
    """Windows-saved .keras weight paths (tf-keras 2.13-2.15) and mixed precision."""

    def bilstm(c):
        L = c.L
        x_in = c.Input((T, F))
        seq = L.Bidirectional(L.LSTM(4, return_sequences=True))(x_in)
        return c.K.Model(x_in, L.Dense(2)(L.GRU(3)(seq)))

    add(
        Fixture(
            "windows_backslash_paths",
            "windows_paths",
            "functional",
            bilstm,
            floats(B, T, F),
            {"weights": "model.weights.h5 groups named layers\\lstm\\cell/vars"},
            notes=(
                "Written by tf-keras, then its model.weights.h5 rewritten with h5py the way "
                "tf-keras 2.13-2.15 wrote it on Windows (os.path.join: one root group per "
                "container named with backslashes, each holding vars)."
            ),
            generations=("tfkeras",),
            formats=("keras",),
            kind="windows_paths",
        )
    )

    def mixed(c):
        policy = c.K.mixed_precision
        policy.set_global_policy("mixed_float16")
        try:
            L = c.L
            x_in = c.Input((T, F))
            seq = L.LSTM(5, return_sequences=True)(x_in)
            y = L.Dense(3)(L.GRU(4)(seq))
            out = L.Activation("softmax", dtype="float32")(y)
            return c.K.Model(x_in, out)
        finally:
            policy.set_global_policy("float32")

    add(
        Fixture(
            "mixed_float16",
            "mixed_precision",
            "functional",
            mixed,
            floats(B, T, F),
            {"policy": "mixed_float16"},
            notes="Keras computes in float16: expected outputs differ from float32 by ~1e-3.",
        )
    )


def rewrite_windows_paths(path: Path) -> None:
    """Rename every container of a .keras weights file as Windows tf-keras 2.13-2.15 did."""
    import io
    import zipfile

    import h5py

    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    source = h5py.File(io.BytesIO(members["model.weights.h5"]), "r")
    buffer = io.BytesIO()
    with source, h5py.File(buffer, "w") as target:
        containers = []
        source.visit(lambda name: containers.append(name) if name.endswith("vars") else None)
        for name in containers:
            folder = name[: -len("vars")].rstrip("/")
            group = target.require_group(folder.replace("/", "\\")) if folder else target
            source.copy(source[name], group, name="vars")
    members["model.weights.h5"] = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def register_operations() -> None:
    """Keras 3 operations in Functional graphs and tf.keras TFOpLambda functions."""
    steps = 7

    def two_masked_inputs(c):
        L = c.L
        a_in = c.Input((steps,), dtype="int32", name="tokens_a")
        b_in = c.Input((steps,), dtype="int32", name="tokens_b")
        a = L.Embedding(20, 3, mask_zero=True)(a_in)
        b = L.Embedding(20, 4, mask_zero=True)(b_in)
        seq = L.LSTM(5, return_sequences=True)(L.Concatenate()([a, b]))
        return c.K.Model([a_in, b_in], L.Dense(2)(seq))

    def other_padding(rng: np.random.Generator) -> list[np.ndarray]:
        toks = padded_tokens(rng, 20, steps)
        return [np.roll(toks, 2, axis=1).astype("int32")]

    add(
        Fixture(
            "ops_two_masked_inputs",
            "operations",
            "functional",
            two_masked_inputs,
            concat_inputs(tokens(4, steps, 20), other_padding),
            {"pattern": "two mask_zero Embeddings concatenated before an LSTM"},
            notes=(
                "keras3 traces the merged mask into NotEqual, ExpandDims, ZerosLike, "
                "LogicalOr, Concatenate and Any operations (Keras 3 merges with OR); "
                "tfkeras merges the masks inside Concatenate (AND)."
            ),
        )
    )

    def keras_ops(c):
        ops, L = c.K.ops, c.L
        x_in = c.Input((steps, F))
        seq = L.LSTM(5, return_sequences=True)(ops.multiply(x_in, 0.5))
        mean = ops.mean(seq, axis=1)
        peak = ops.squeeze(ops.max(seq, axis=1, keepdims=True), axis=1)
        last = ops.sum(ops.transpose(seq, (0, 2, 1)), axis=2)
        joined = ops.concatenate([mean, peak, ops.subtract(1.0, last)], axis=-1)
        scaled = ops.expand_dims(ops.tanh(joined), 1)
        out = L.GRU(3)(ops.add(scaled, ops.zeros_like(scaled)))
        window = ops.reshape(seq[:, 1:4], (-1, 15))  # GetItem and Reshape operations
        return c.K.Model(x_in, [out, L.Dense(2)(ops.concatenate([window, seq[:, -1]], axis=1))])

    add(
        Fixture(
            "ops_keras_ops",
            "operations",
            "functional",
            keras_ops,
            floats(B, steps, F),
            {"ops": ["multiply", "mean", "max", "squeeze", "transpose", "sum", "concatenate"]},
            generations=("keras3",),
        )
    )

    def tf_functions(c):
        import tensorflow as tf

        L = c.L
        x_in = c.Input((steps, F))
        time_major = tf.compat.v1.transpose(x_in, [1, 0, 2])
        seq_tm = L.LSTM(5, return_sequences=True, time_major=True)(time_major)
        seq = tf.transpose(seq_tm, perm=[1, 0, 2])
        mean = tf.math.reduce_mean(seq, axis=1)
        peak = tf.squeeze(tf.math.reduce_max(seq, axis=1, keepdims=True), axis=1)
        both = tf.math.add(mean, peak)  # two tensors: y arrives as a keyword reference
        joined = tf.concat([both, tf.math.multiply(peak, 0.5), tf.math.add(mean, 1.0)], axis=-1)
        out = L.GRU(3)(tf.expand_dims(tf.math.tanh(joined), 1))
        window = tf.reshape(seq[:, 1:4], (-1, 15))  # SlicingOpLambda, reshape
        return c.K.Model(x_in, [out, L.Dense(2)(tf.concat([window, seq[:, -1]], axis=1))])

    add(
        Fixture(
            "ops_tf_functions",
            "operations",
            "functional",
            tf_functions,
            floats(B, steps, F),
            {"tf ops": ["compat.v1.transpose", "transpose", "reduce_mean", "concat", "..."]},
            generations=("tfkeras",),
        )
    )


# --------------------------------------------------------------------------
# Phase 2: CuDNN (tf-keras only)
# --------------------------------------------------------------------------


def register_cudnn() -> None:
    def cudnn_classes():
        from tf_keras.src.layers.rnn.cudnn_gru import CuDNNGRU
        from tf_keras.src.layers.rnn.cudnn_lstm import CuDNNLSTM

        return {"lstm": CuDNNLSTM, "gru": CuDNNGRU}

    def plain(c, kind, **kw):
        if kind == "lstm":
            return c.L.LSTM(kw.pop("units"), **kw)
        return c.L.GRU(kw.pop("units"), reset_after=True, recurrent_activation="sigmoid", **kw)

    def cud(c, kind, **kw):
        return cudnn_classes()[kind](kw.pop("units"), **kw)

    cases = [
        ("cudnn_lstm", "lstm", {"units": 5}),
        ("cudnn_lstm_sequences", "lstm", {"units": 5, "return_sequences": True}),
        (
            "cudnn_lstm_go_backwards_sequences",
            "lstm",
            {"units": 4, "return_sequences": True, "go_backwards": True},
        ),
        ("cudnn_gru", "gru", {"units": 5}),
        ("cudnn_gru_sequences", "gru", {"units": 5, "return_sequences": True}),
    ]
    note = (
        "Built and saved by tf-keras CuDNN layers (cannot run on CPU). Expected "
        "outputs: an equivalent {} loaded this .h5 with load_weights (tf-keras's "
        "CuDNN->canonical conversion) and predicted."
    )
    for name, kind, kw in cases:
        eq = "LSTM" if kind == "lstm" else "GRU(reset_after=True, recurrent_activation=sigmoid)"
        add(
            Fixture(
                name,
                "cudnn",
                "sequential",
                lambda c, k=kind, kw=kw: c.chain("sequential", (T, F), [cud(c, k, **kw)]),
                floats(B, T, F),
                {"cell": kind, **{k: v for k, v in kw.items() if k != "units"}},
                notes=note.format(eq),
                generations=("tfkeras",),
                formats=("h5",),
                kind="cudnn",
                equivalent=lambda c, k=kind, kw=kw: c.chain(
                    "sequential", (T, F), [plain(c, k, **kw)]
                ),
            )
        )

    def bidir(c, maker):
        inp = c.Input((T, F))
        x = c.L.Bidirectional(maker(c, "lstm", units=4, return_sequences=True))(inp)
        x = maker(c, "gru", units=3)(x)
        return c.K.Model(inp, c.L.Dense(2)(x))

    add(
        Fixture(
            "cudnn_bidir_lstm_gru_fn",
            "cudnn",
            "functional",
            lambda c: bidir(c, cud),
            floats(B, T, F),
            {"cells": ["Bidirectional(CuDNNLSTM)", "CuDNNGRU", "Dense"]},
            notes=note.format("Bidirectional(LSTM) -> GRU(reset_after=True) model"),
            generations=("tfkeras",),
            formats=("h5",),
            kind="cudnn",
            equivalent=lambda c: bidir(c, plain),
        )
    )


# --------------------------------------------------------------------------
# Keras 1 (written with h5py; see module docstring)
# --------------------------------------------------------------------------


KERAS1 = [
    # name, api, layers, input shape/dtype, options, keras_version, weight-name style
    dict(
        name="lstm_basic",
        api="sequential",
        layers=[dict(type="LSTM", units=5)],
        family="lstm",
    ),
    dict(
        name="lstm_sequences_dense",
        api="sequential",
        layers=[
            dict(type="LSTM", units=5, return_sequences=True),
            dict(type="LSTM", units=4, inner_activation="sigmoid"),
            dict(type="Dense", units=3, activation="softmax"),
        ],
        family="lstm",
    ),
    dict(
        name="lstm_go_backwards",
        api="sequential",
        layers=[dict(type="LSTM", units=4, go_backwards=True, return_sequences=True)],
        family="lstm",
    ),
    dict(
        name="lstm_consume_gpu",
        api="sequential",
        layers=[dict(type="LSTM", units=4, consume_less="gpu", return_sequences=True)],
        family="lstm",
        notes="consume_less='gpu': 3 arrays W, U, b with gates i, f, c, o.",
    ),
    dict(
        name="lstm_functional",
        api="functional",
        layers=[
            dict(type="LSTM", units=5, return_sequences=True),
            dict(type="Dropout", rate=0.5),
            dict(type="LSTM", units=3),
            dict(type="Dense", units=2, activation="tanh"),
        ],
        family="lstm",
    ),
    dict(
        name="lstm_theano_names",
        api="sequential",
        layers=[dict(type="LSTM", units=4, return_sequences=True)],
        family="lstm",
        keras_version=None,
        tf_names=False,
        notes="No keras_version attribute anywhere; weight names without ':0' (Theano).",
    ),
    dict(
        name="gru_basic",
        api="sequential",
        layers=[dict(type="GRU", units=5)],
        family="gru",
    ),
    dict(
        name="gru_sequences",
        api="sequential",
        layers=[dict(type="GRU", units=4, return_sequences=True, go_backwards=True)],
        family="gru",
    ),
    dict(
        name="simplernn_basic",
        api="sequential",
        layers=[dict(type="SimpleRNN", units=5, return_sequences=True)],
        family="simplernn",
    ),
    dict(
        name="embedding_lstm_masked",
        api="sequential",
        layers=[
            dict(type="Embedding", input_dim=20, units=5, mask_zero=True),
            dict(type="LSTM", units=4),
            dict(type="Activation", activation="tanh"),
        ],
        family="masked",
        input_shape=(7,),
        input_dtype="int32",
    ),
]


def k1_layer_config(spec: dict, name: str, first: bool, shape, dtype) -> dict:
    t = spec["type"]
    base: dict[str, Any] = {"name": name, "trainable": True}
    if first:
        base["batch_input_shape"] = [None, *shape]
        base["input_dtype"] = dtype
    if t in ("LSTM", "GRU", "SimpleRNN"):
        cfg = {
            "return_sequences": spec.get("return_sequences", False),
            "go_backwards": spec.get("go_backwards", False),
            "stateful": False,
            "unroll": False,
            "consume_less": spec.get("consume_less", "cpu"),
            "input_dim": shape[-1] if first else None,
            "input_length": None,
            "output_dim": spec["units"],
            "init": "glorot_uniform",
            "inner_init": "orthogonal",
            "activation": spec.get("activation", "tanh"),
            "W_regularizer": None,
            "U_regularizer": None,
            "b_regularizer": None,
            "dropout_W": 0.0,
            "dropout_U": 0.0,
        }
        if t != "SimpleRNN":
            cfg["inner_activation"] = spec.get("inner_activation", "hard_sigmoid")
        if t == "LSTM":
            cfg["forget_bias_init"] = "one"
    elif t == "Dense":
        cfg = {
            "output_dim": spec["units"],
            "init": "glorot_uniform",
            "activation": spec.get("activation", "linear"),
            "W_regularizer": None,
            "b_regularizer": None,
            "activity_regularizer": None,
            "W_constraint": None,
            "b_constraint": None,
            "bias": True,
            "input_dim": None,
        }
    elif t == "Embedding":
        cfg = {
            "input_dim": spec["input_dim"],
            "output_dim": spec["units"],
            "init": "uniform",
            "input_length": shape[0],
            "W_regularizer": None,
            "activity_regularizer": None,
            "W_constraint": None,
            "mask_zero": spec.get("mask_zero", False),
            "dropout": 0.0,
        }
    elif t == "Dropout":
        cfg = {"p": spec["rate"]}
    elif t == "Activation":
        cfg = {"activation": spec["activation"]}
    else:
        raise ValueError(t)
    return {**base, **cfg}


def k1_equivalent_layer(L, spec: dict):
    """The tf-keras layer tf-keras's Keras 1 conversion targets."""
    t = spec["type"]
    rec = dict(
        return_sequences=spec.get("return_sequences", False),
        go_backwards=spec.get("go_backwards", False),
        activation=spec.get("activation", "tanh"),
    )
    if t == "LSTM":
        return L.LSTM(
            spec["units"], recurrent_activation=spec.get("inner_activation", "hard_sigmoid"), **rec
        )
    if t == "GRU":
        return L.GRU(
            spec["units"],
            recurrent_activation=spec.get("inner_activation", "hard_sigmoid"),
            reset_after=False,
            **rec,
        )
    if t == "SimpleRNN":
        return L.SimpleRNN(spec["units"], **rec)
    if t == "Dense":
        return L.Dense(spec["units"], activation=spec.get("activation", "linear"))
    if t == "Embedding":
        return L.Embedding(spec["input_dim"], spec["units"], mask_zero=spec.get("mask_zero", False))
    if t == "Dropout":
        return L.Dropout(spec["rate"])
    if t == "Activation":
        return L.Activation(spec["activation"])
    raise ValueError(t)


def k1_weights(spec: dict, name: str, weights: list, tf_names: bool) -> list:
    """Split tf-keras weights into Keras 1's arrays: [(weight_name, array), ...]."""
    t = spec["type"]
    sfx = ":0" if tf_names else ""
    if not weights:
        return []
    if t == "LSTM" and spec.get("consume_less", "cpu") != "gpu":
        parts = [np.hsplit(w, 4) for w in weights]  # i, f, c, o
        out = []
        for gate, idx in (("i", 0), ("c", 2), ("f", 1), ("o", 3)):
            for kind, arrs in zip("WUb", parts, strict=True):
                out.append((f"{name}_{kind}_{gate}{sfx}", arrs[idx]))
        return out
    if t == "GRU":
        parts = [np.hsplit(w, 3) for w in weights]  # z, r, h
        return [
            (f"{name}_{kind}_{gate}{sfx}", arrs[idx])
            for gate, idx in (("z", 0), ("r", 1), ("h", 2))
            for kind, arrs in zip("WUb", parts, strict=True)
        ]
    kinds = {"LSTM": "WUb", "SimpleRNN": "WUb", "Dense": "Wb", "Embedding": "W"}[t]
    return [(f"{name}_{k}{sfx}", w) for k, w in zip(kinds, weights, strict=True)]


def fixed_bytes(value):
    """Keras 1 ran on h5py 2, which stored ``str.encode()`` values as fixed-length
    byte strings (numpy ``S`` dtype); h5py 3 would make them variable-length."""
    if isinstance(value, str):
        return np.bytes_(value.encode("utf8"))
    # h5py cannot store a zero-length ``S0`` array: Keras 1 wrote an empty list,
    # which h5py 2 stored as an empty float array; keep that.
    if not value:
        return np.zeros((0,), dtype="float64")
    return np.array([v.encode("utf8") for v in value], dtype="S")


def make_keras1(ctx: Ctx, spec: dict) -> dict:
    import h5py

    K, L = ctx.K, ctx.L
    name = spec["name"]
    rng = rng_for("keras1/" + name)
    shape = spec.get("input_shape", (T, F))
    dtype = spec.get("input_dtype", "float32")
    version = spec.get("keras_version", "1.2.2")
    tf_names = spec.get("tf_names", True)

    # Keras 1 names: lowercase class name + per-class counter from 1.
    counters: dict[str, int] = {}
    names = []
    for ls in spec["layers"]:
        key = ls["type"].lower()
        counters[key] = counters.get(key, 0) + 1
        names.append(f"{key}_{counters[key]}")

    def build():
        K.backend.clear_session()
        return ctx.chain(
            "sequential",
            shape,
            [k1_equivalent_layer(L, ls) for ls in spec["layers"]],
            dtype=dtype,
        )

    model = build()
    layers = [lyr for lyr in model.layers if lyr.__class__.__name__ != "InputLayer"]
    randomize(model, rng)

    configs = []
    for i, (ls, lname) in enumerate(zip(spec["layers"], names, strict=True)):
        cfg = k1_layer_config(ls, lname, i == 0 and spec["api"] == "sequential", shape, dtype)
        configs.append({"class_name": ls["type"], "config": cfg})
    if spec["api"] == "sequential":
        model_config = {"class_name": "Sequential", "config": configs}
        group_names = names
    else:
        in_cfg = {
            "batch_input_shape": [None, *shape],
            "input_dtype": dtype,
            "sparse": False,
            "name": "input_1",
        }
        flayers = [
            {
                "name": "input_1",
                "class_name": "InputLayer",
                "config": in_cfg,
                "inbound_nodes": [],
            }
        ]
        prev = "input_1"
        for c, lname in zip(configs, names, strict=True):
            flayers.append({**c, "name": lname, "inbound_nodes": [[[prev, 0, 0]]]})
            prev = lname
        model_config = {
            "class_name": "Model",
            "config": {
                "name": "model_1",
                "layers": flayers,
                "input_layers": [["input_1", 0, 0]],
                "output_layers": [[prev, 0, 0]],
            },
        }
        group_names = ["input_1", *names]

    path = FIXTURES / "keras1" / f"{name}.h5"
    path.parent.mkdir(parents=True, exist_ok=True)
    by_name = dict(zip(names, zip(spec["layers"], layers, strict=True), strict=False))
    with h5py.File(path, "w") as f:
        if version is not None:
            f.attrs["keras_version"] = fixed_bytes(version)
        f.attrs["model_config"] = fixed_bytes(json.dumps(model_config))
        mw = f.create_group("model_weights")
        mw.attrs["layer_names"] = fixed_bytes(group_names)
        for gname in group_names:
            g = mw.create_group(gname)
            arrays = []
            if gname in by_name:
                ls, layer = by_name[gname]
                arrays = k1_weights(ls, gname, layer.get_weights(), tf_names)
            g.attrs["weight_names"] = fixed_bytes([n for n, _ in arrays])
            for n, a in arrays:
                g.create_dataset(n, data=a.astype("float32"))

    # Expected outputs: a fresh equivalent tf-keras model loads the file itself,
    # which runs tf-keras's Keras 1 conversion (model_weights has no
    # keras_version attribute, so tf-keras treats it as Keras "1").
    expected = build()
    expected.load_weights(str(path))
    for w_ref, w_got in zip(model.get_weights(), expected.get_weights(), strict=True):
        np.testing.assert_array_equal(w_ref, w_got)  # our layout == tf-keras's reading
    x = spec_inputs(shape, dtype, rng)
    outs = predict(expected, x)
    npz = path.with_suffix(".npz")
    write_npz(npz, x, outs)
    options = {"layers": [ls["type"] for ls in spec["layers"]]}
    for ls in spec["layers"]:
        options.update({k: v for k, v in ls.items() if k not in ("type", "units")})
    return {
        "name": name,
        "generation": "keras1",
        "files": [rel(path)],
        "expected": rel(npz),
        "keras_version": version or "absent (treated as 1)",
        "family": spec["family"],
        "api": spec["api"],
        "options": options,
        "notes": (
            "Written with h5py in Keras 1.x's layout (no Keras 1 is installable). "
            "Expected outputs: tf-keras "
            + ctx.version
            + " model.load_weights() of this file (its Keras 1 conversion) into an "
            "equivalent model (recurrent_activation=inner_activation, GRU "
            "reset_after=False). " + spec.get("notes", "")
        ).strip(),
    }


# --------------------------------------------------------------------------
# Keras 2.0-2.3 (standalone Keras) files, written with h5py: no such Keras installs
# --------------------------------------------------------------------------

# The config keys standalone Keras 2.0-2.3 wrote per class (besides name and trainable).
K2_KEYS = {
    "Conv1D": "filters kernel_size strides padding data_format dilation_rate activation "
    "use_bias kernel_initializer bias_initializer kernel_regularizer bias_regularizer "
    "activity_regularizer kernel_constraint bias_constraint",
    "MaxPooling1D": "pool_size padding strides data_format",
    "BatchNormalization": "axis momentum epsilon center scale beta_initializer gamma_initializer "
    "moving_mean_initializer moving_variance_initializer beta_regularizer gamma_regularizer "
    "beta_constraint gamma_constraint",
    "LSTM": "return_sequences return_state go_backwards stateful unroll units activation "
    "recurrent_activation use_bias kernel_initializer recurrent_initializer bias_initializer "
    "unit_forget_bias kernel_regularizer recurrent_regularizer bias_regularizer "
    "activity_regularizer kernel_constraint recurrent_constraint bias_constraint dropout "
    "recurrent_dropout implementation",
    "Dense": "units activation use_bias kernel_initializer bias_initializer kernel_regularizer "
    "bias_regularizer activity_regularizer kernel_constraint bias_constraint",
}
K2_INITIALIZERS = {
    "GlorotUniform": {
        "class_name": "VarianceScaling",
        "config": {"scale": 1.0, "mode": "fan_avg", "distribution": "uniform", "seed": None},
    },
    "Orthogonal": {"class_name": "Orthogonal", "config": {"gain": 1.0, "seed": None}},
    "Zeros": {"class_name": "Zeros", "config": {}},
    "Ones": {"class_name": "Ones", "config": {}},
}

KERAS2_OLD = [
    dict(name="cnn_lstm_k208", keras_version="2.0.8", api="sequential_list"),
    dict(name="cnn_lstm_k224", keras_version="2.2.4", api="sequential"),
    dict(name="cnn_lstm_k231", keras_version="2.3.1", api="functional"),
]


def k2_cnn_lstm(L):
    """The CNN-LSTM forecaster with Keras 2's names and defaults (hard_sigmoid gates)."""
    return [
        L.Conv1D(8, 3, padding="causal", activation="relu", name="conv1d_1"),
        L.MaxPooling1D(2, name="max_pooling1d_1"),
        L.BatchNormalization(name="batch_normalization_1"),
        L.LSTM(6, recurrent_activation="hard_sigmoid", name="lstm_1"),
        L.Dense(1, name="dense_1"),
    ]


def k2_layer_entry(layer, first_shape=None) -> dict:
    """A layer's config as standalone Keras 2.x wrote it."""
    cls = layer.__class__.__name__
    full = layer.get_config()
    cfg: dict[str, Any] = {"name": layer.name, "trainable": True}
    if first_shape is not None:
        cfg["batch_input_shape"] = [None, *first_shape]
        cfg["dtype"] = "float32"
    for key in K2_KEYS[cls].split():
        value = full.get(key)
        if key.endswith("_initializer") and isinstance(value, dict):
            value = K2_INITIALIZERS[value["class_name"]]
        if isinstance(value, tuple):
            value = list(value)
        cfg[key] = value
    return {"class_name": cls, "config": cfg}


def k2_model_config(entries: list[dict], api: str, shape) -> tuple[dict, list[str]]:
    """The model_config of a Keras 2.x file, and its ``layer_names`` (weight groups)."""
    names = [entry["config"]["name"] for entry in entries]
    if api == "sequential_list":  # Keras 2.0/2.1
        return {"class_name": "Sequential", "config": entries}, names
    if api == "sequential":  # Keras 2.2/2.3
        config = {"name": "sequential_1", "layers": entries}
        return {"class_name": "Sequential", "config": config}, names
    in_cfg = {"batch_input_shape": [None, *shape], "dtype": "float32", "sparse": False}
    flayers = [
        {
            "name": "input_1",
            "class_name": "InputLayer",
            "config": {**in_cfg, "name": "input_1"},
            "inbound_nodes": [],
        }
    ]
    prev = "input_1"
    for entry, lname in zip(entries, names, strict=True):
        flayers.append({**entry, "name": lname, "inbound_nodes": [[[prev, 0, 0, {}]]]})
        prev = lname
    config = {
        "name": "model_1",
        "layers": flayers,
        "input_layers": [["input_1", 0, 0]],
        "output_layers": [[prev, 0, 0]],
    }
    return {"class_name": "Model", "config": config}, ["input_1", *names]


def k2_write_h5(path: Path, version: str, model_config: dict, names: list[str], layers) -> None:
    """A full-model .h5 as standalone Keras 2.x wrote it (h5py 2: fixed-length bytes)."""
    import h5py

    by_name = {lyr.name: lyr for lyr in layers}
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = fixed_bytes(version)
        f.attrs["backend"] = fixed_bytes("tensorflow")
        f.attrs["model_config"] = fixed_bytes(json.dumps(model_config))
        mw = f.create_group("model_weights")
        mw.attrs["layer_names"] = fixed_bytes(names)
        mw.attrs["backend"] = fixed_bytes("tensorflow")
        mw.attrs["keras_version"] = fixed_bytes(version)
        for gname in names:
            g = mw.create_group(gname)
            layer = by_name.get(gname)
            arrays = []
            if layer is not None:
                # Keras 2.x: "<layer>/<weight>:0", no cell level.
                arrays = [
                    (f"{gname}/{w.name.split('/')[-1]}", v)
                    for w, v in zip(layer.weights, layer.get_weights(), strict=True)
                ]
            g.attrs["weight_names"] = fixed_bytes([n for n, _ in arrays])
            for n, a in arrays:
                g.create_dataset(n, data=a.astype("float32"))


def make_keras2_old(ctx: Ctx, spec: dict) -> dict:
    K, L = ctx.K, ctx.L
    name, version, api = spec["name"], spec["keras_version"], spec["api"]
    rng = rng_for("keras2old/" + name)
    shape = (12, 3)

    def build():
        K.backend.clear_session()
        return ctx.chain("sequential", shape, k2_cnn_lstm(L))

    model = build()
    randomize(model, rng)
    layers = [lyr for lyr in model.layers if lyr.__class__.__name__ != "InputLayer"]
    entries = [
        k2_layer_entry(lyr, shape if i == 0 and api != "functional" else None)
        for i, lyr in enumerate(layers)
    ]
    model_config, names = k2_model_config(entries, api, shape)
    path = FIXTURES / "keras2old" / f"{name}.h5"
    path.parent.mkdir(parents=True, exist_ok=True)
    k2_write_h5(path, version, model_config, names, layers)

    expected = build()
    expected.load_weights(str(path))  # tf-keras's own reading of a Keras 2.x file
    for w_ref, w_got in zip(model.get_weights(), expected.get_weights(), strict=True):
        np.testing.assert_array_equal(w_ref, w_got)
    x = [rng.normal(0.0, 1.0, size=(B, *shape)).astype("float32")]
    npz = path.with_suffix(".npz")
    write_npz(npz, x, predict(expected, x))
    return {
        "name": name,
        "generation": "keras2old",
        "files": [rel(path)],
        "expected": rel(npz),
        "keras_version": version,
        "family": "around",
        "api": "functional" if api == "functional" else "sequential",
        "options": {"layers": ["Conv1D", "MaxPooling1D", "BatchNormalization", "LSTM", "Dense"]},
        "notes": (
            f"Written with h5py in standalone Keras {version}'s layout (no such Keras installs): "
            "layer configs trimmed to the keys Keras 2.x wrote, weights named "
            "'<layer>/<weight>:0'. Expected outputs: tf-keras "
            + ctx.version
            + " model.load_weights() of this file into an equivalent model."
        ),
    }


def spec_inputs(shape, dtype, rng) -> list[np.ndarray]:
    if dtype == "int32":
        return [padded_tokens(rng, 20, shape[0]).astype("int32")]
    return [rng.normal(0.0, 1.0, size=(B, *shape)).astype(dtype)]


# --------------------------------------------------------------------------
# running one generation
# --------------------------------------------------------------------------


def randomize(model, rng: np.random.Generator, scale: float = WEIGHT_SCALE) -> None:
    arrays = [rng.normal(0.0, scale, size=w.shape).astype(w.dtype) for w in model.get_weights()]
    # BatchNormalization variances must stay positive: drawn from [0.3, 2.3), never 1.
    for i, var in enumerate(model.weights):
        if "moving_variance" in getattr(var, "path", var.name):
            arrays[i] = (0.3 + 2.0 * rng.random(size=arrays[i].shape)).astype(arrays[i].dtype)
    model.set_weights(arrays)


def predict(model, inputs: list[np.ndarray]) -> list[np.ndarray]:
    out = model(inputs[0] if len(inputs) == 1 else list(inputs), training=False)
    if not isinstance(out, (list, tuple)):
        out = [out]
    return [np.asarray(o, dtype=np.float32) for o in out]


def write_npz(path: Path, inputs, outputs, **extra) -> None:
    arrays = {f"input_{i}": a for i, a in enumerate(inputs)}
    arrays.update({f"output_{i}": a for i, a in enumerate(outputs)})
    arrays.update(extra)
    np.savez_compressed(path, **arrays)


def custom_objects(ctx: Ctx) -> dict:
    if ctx.gen != "tfkeras":
        return {}
    from tf_keras.src.layers.rnn.cudnn_gru import CuDNNGRU
    from tf_keras.src.layers.rnn.cudnn_lstm import CuDNNLSTM

    return {"CuDNNLSTM": CuDNNLSTM, "CuDNNGRU": CuDNNGRU}


def make_fixture(ctx: Ctx, fx: Fixture) -> dict:
    K = ctx.K
    rng = rng_for(fx.name)
    K.backend.clear_session()  # fresh default layer names: lstm, lstm_1, ...
    model = fx.build(ctx)
    randomize(model, rng, fx.weight_scale)
    if fx.shape_weights is not None:
        fx.shape_weights(model, rng)
    inputs = fx.inputs(rng)
    notes = [fx.notes] if fx.notes else []

    out_dir = FIXTURES / ctx.gen
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    config_file = None
    if fx.kind == "weights_only":
        # save_weights writes no architecture: it travels separately as model.to_json().
        suffix = fx.options.get("weights_suffix") or ("weights.h5" if ctx.gen == "keras3" else "h5")
        path = out_dir / f"{fx.name}.{suffix}"
        model.save_weights(str(path))
        files.append(path)
        config_file = out_dir / f"{fx.name}.config.json"
        config_file.write_text(model.to_json())
    for ext in () if fx.kind == "weights_only" else fx.formats or FORMATS[ctx.gen]:
        path = out_dir / f"{fx.name}.{ext}"
        model.save(str(path))
        if fx.kind == "windows_paths":
            rewrite_windows_paths(path)
        files.append(path)

    extra = {}
    if fx.kind == "cudnn":
        eq = fx.equivalent(ctx)
        eq.load_weights(str(files[0]))
        outputs = predict(eq, inputs)
    elif fx.kind == "stateful":
        chunk1 = rng.normal(0.0, 1.0, size=inputs[0].shape).astype(inputs[0].dtype)
        out_c0 = predict(model, inputs)
        out_c1 = predict(model, [chunk1])
        outputs = out_c0
        assert len(out_c0) == 1, "stateful fixtures have a single output"
        extra = {
            "chunk_0": inputs[0],
            "chunk_1": chunk1,
            "output_chunk_0": out_c0[0],
            "output_chunk_1": out_c1[0],
        }
    else:
        outputs = predict(model, inputs)

    # Reload each saved file with Keras and check it reproduces the outputs.
    for path in files:
        if fx.kind in ("cudnn", "weights_only"):
            continue
        try:
            K.backend.clear_session()
            again = K.models.load_model(
                str(path), compile=False, custom_objects=custom_objects(ctx)
            )
        except Exception as exc:  # noqa: BLE001 - recorded, not fatal
            notes.append(
                f"{ctx.gen} Keras {ctx.version} cannot reload {path.name}: "
                f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
            )
            continue
        for a, b in zip(outputs, predict(again, inputs), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=str(path))

    npz = out_dir / f"{fx.name}.npz"
    write_npz(npz, inputs, outputs, **extra)
    entry_extra = {"config": rel(config_file)} if config_file is not None else {}
    return {
        "name": fx.name,
        "generation": ctx.gen,
        "files": [rel(p) for p in files],
        **entry_extra,
        "expected": rel(npz),
        "keras_version": ctx.version,
        "family": fx.family,
        "api": fx.api,
        "options": fx.options,
        "notes": " ".join(notes),
    }


# --------------------------------------------------------------------------
# samples
# --------------------------------------------------------------------------

SEED_BIAS = np.array([0] * 4 + [1] * 4 + [0] * 8, dtype=np.float32)


def make_samples(ctx: Ctx) -> None:
    import h5py

    K, L = ctx.K, ctx.L
    SAMPLES.mkdir(exist_ok=True)
    seed_x = rng_for("samples/seed_lstm").normal(0.0, 1.0, size=(2, 10, 5)).astype("float32")
    if ctx.gen == "tfkeras":
        # The classic example, deliberately left at Keras's default init.
        K.backend.clear_session()
        K.utils.set_random_seed(1234)
        model = K.Sequential([K.Input(shape=(10, 5)), L.LSTM(4, return_sequences=True)])
        bias = model.layers[0].get_weights()[2]
        np.testing.assert_array_equal(bias, SEED_BIAS)
        model.save(str(SAMPLES / "seed_lstm.h5"))
        write_npz(SAMPLES / "seed_lstm.npz", [seed_x], predict(model, [seed_x]))

        K.backend.clear_session()
        rng = rng_for("samples/bigru_stack")
        model = K.Sequential(
            [
                K.Input(shape=(8, 6)),
                L.Bidirectional(L.GRU(6, return_sequences=True)),
                L.Bidirectional(L.GRU(4)),
                L.Dense(8, activation="relu"),
                L.Dense(3, activation="softmax"),
            ]
        )
        randomize(model, rng)
        x = rng.normal(0.0, 1.0, size=(4, 8, 6)).astype("float32")
        model.save(str(SAMPLES / "bigru_stack.h5"))
        write_npz(SAMPLES / "bigru_stack.npz", [x], predict(model, [x]))
        return

    # keras3: the same seed LSTM (kernels copied from the tf-keras file).
    K.backend.clear_session()
    model = K.Sequential([K.Input(shape=(10, 5)), L.LSTM(4, return_sequences=True)])
    with h5py.File(SAMPLES / "seed_lstm.h5", "r") as f:
        g = f["model_weights"]["lstm"]
        weights = [np.asarray(g[n]) for n in g.attrs["weight_names"]]
    model.set_weights(weights)
    np.testing.assert_array_equal(model.layers[0].get_weights()[2], SEED_BIAS)
    ref = np.load(SAMPLES / "seed_lstm.npz")
    np.testing.assert_allclose(predict(model, [seed_x])[0], ref["output_0"], atol=1e-6)
    model.save(str(SAMPLES / "seed_lstm.keras"))

    K.backend.clear_session()
    rng = rng_for("samples/text_classifier")
    tok = K.Input(shape=(8,), dtype="int32", name="tokens")
    x = L.Embedding(50, 8, mask_zero=True)(tok)
    x = L.LSTM(8)(x)
    out = L.Dense(3, activation="softmax")(x)
    model = K.Model(tok, out, name="text_classifier")
    randomize(model, rng)
    toks = padded_tokens(rng, 50, 8).astype("int32")
    model.save(str(SAMPLES / "text_classifier.keras"))
    write_npz(SAMPLES / "text_classifier.npz", [toks], predict(model, [toks]))

    K.backend.clear_session()
    rng = rng_for("samples/sequence_tagger")
    model = K.Sequential(
        [
            K.Input(shape=(7, 4)),
            L.Masking(mask_value=0.0),
            L.Bidirectional(L.LSTM(5, return_sequences=True)),
            L.TimeDistributed(L.Dense(3, activation="softmax")),
        ],
        name="sequence_tagger",
    )
    randomize(model, rng)
    x = masked_features(7, 4)(rng)[0]
    model.save(str(SAMPLES / "sequence_tagger.keras"))
    write_npz(SAMPLES / "sequence_tagger.npz", [x], predict(model, [x]))


# --------------------------------------------------------------------------
# driver
# --------------------------------------------------------------------------


def register_weights_only() -> None:
    """save_weights files paired with model.to_json(): lstm-convert's --config."""

    def lstm_stack(c, api):
        return c.chain(api, (T, F), [c.L.LSTM(5, return_sequences=True), c.L.LSTM(4), c.L.Dense(3)])

    def bigru(c):
        inp = c.Input((T, F))
        x = c.L.Bidirectional(c.L.GRU(4, return_sequences=True))(inp)
        x = c.L.GlobalAveragePooling1D()(x)
        return c.K.Model(inp, c.L.Dense(2)(x))

    for name, api, build in (
        ("weights_only_lstm", "sequential", lambda c: lstm_stack(c, "sequential")),
        ("weights_only_lstm_fn", "functional", lambda c: lstm_stack(c, "functional")),
        ("weights_only_bigru_fn", "functional", bigru),
    ):
        add(
            Fixture(
                name=name,
                family="weights_only",
                api=api,
                build=build,
                inputs=floats(B, T, F),
                options={"save_weights": True},
                kind="weights_only",
            )
        )

    # tf-keras writes a .weights.h5 in Keras 3's layout (no version in the file): its
    # model.to_json() says tf-keras, and hard_sigmoid (0.2x + 0.5 in Keras 2, x/6 + 0.5 in
    # Keras 3) shows in the outputs which Keras the reader took it for (issue 16).
    add(
        Fixture(
            name="weights_only_v3file_lstm",
            family="weights_only",
            api="sequential",
            build=lambda c: c.chain(
                "sequential",
                (T, F),
                [c.L.LSTM(5, recurrent_activation="hard_sigmoid", return_sequences=True)],
            ),
            inputs=floats(B, T, F),
            options={"save_weights": True, "weights_suffix": "weights.h5"},
            generations=("tfkeras",),
            kind="weights_only",
        )
    )


# --------------------------------------------------------------------------
# Issue 11: layers around recurrent ones (conv front-ends, normalization, TimeDistributed)
# --------------------------------------------------------------------------


def register_around_conv() -> None:
    """Conv1D front-ends (the CNN-LSTM forecaster), their masks, and run-time lengths."""
    add_chain(
        "around_cnn_lstm",
        "around",
        lambda L: [
            L.Conv1D(8, 3, padding="causal", activation="relu"),
            L.MaxPooling1D(2),
            L.LSTM(6),
            L.Dense(1),
        ],
        {"layers": ["Conv1D(causal)", "MaxPooling1D", "LSTM", "Dense"]},
        shape=(12, 3),
        inputs=floats(B, 12, 3),
        notes="The CNN-LSTM forecaster pattern.",
    )
    add_chain(
        "around_conv1d_options",
        "around",
        lambda L: [
            L.Conv1D(6, 3, padding="same", strides=2, activation="tanh"),
            L.Conv1D(6, 2, padding="valid", dilation_rate=2, groups=2, use_bias=False),
            L.AveragePooling1D(2, padding="same"),
            L.Conv1D(4, 3, padding="same", dilation_rate=2),
            L.MaxPooling1D(3, strides=1, padding="same"),
            L.AveragePooling1D(2, strides=1),
            L.GRU(4, return_sequences=True),
            L.Conv1D(3, 2, padding="valid"),
        ],
        {"layers": ["Conv1D(same/valid, strides, dilation, groups)", "Pooling1D", "GRU"]},
        shape=(17, 4),
        inputs=floats(B, 17, 4),
    )
    add_chain(
        "around_masked_conv",
        "around",
        lambda L: [
            L.Embedding(20, 5, mask_zero=True),
            L.Conv1D(6, 3, padding="same", activation="relu"),
            L.LSTM(4),
        ],
        {"layers": ["Embedding(mask_zero)", "Conv1D", "LSTM"]},
        shape=(7,),
        dtype="int32",
        inputs=tokens(4, 7, 20),
        notes="Keras's Conv1D drops the Embedding's mask: the LSTM runs unmasked.",
    )

    add_chain(
        "around_dynamic_time",
        "around",
        lambda L: [
            L.Conv1D(5, 3, padding="same", strides=2, activation="relu"),
            L.MaxPooling1D(2, padding="same"),
            L.UpSampling1D(3),
            L.BatchNormalization(),
            L.Conv1D(4, 2, padding="causal", dilation_rate=2),
            L.LSTM(4),
        ],
        {"layers": ["Conv1D", "MaxPooling1D", "UpSampling1D", "LSTM"], "time": None},
        shape=(None, F),
        inputs=floats(B, 9, F),
        notes="Time length unknown until run time (input_0 has 9 steps).",
    )
    add_chain(
        "around_dynamic_crnn",
        "around",
        lambda L: [
            L.TimeDistributed(L.Conv2D(3, 3, padding="same", activation="relu")),
            L.TimeDistributed(L.MaxPooling2D(2)),
            L.TimeDistributed(L.Flatten()),
            L.GRU(3),
        ],
        {"layers": ["TimeDistributed(Conv2D/MaxPooling2D/Flatten)", "GRU"], "time": None},
        shape=(None, 6, 6, 1),
        inputs=floats(B, 5, 6, 6, 1),
        notes="Time length unknown until run time (input_0 has 5 frames).",
    )


def register_around_norm() -> None:
    """BatchNormalization, LayerNormalization and the activation layers."""
    add_chain(
        "around_batchnorm",
        "around",
        lambda L: [
            L.LSTM(6, return_sequences=True),
            L.BatchNormalization(),
            L.TimeDistributed(L.BatchNormalization(scale=False, epsilon=0.01)),
            L.LSTM(5),
            L.Dense(4),
            L.BatchNormalization(center=False, epsilon=0.1),
            L.Dense(2),
        ],
        {"layers": ["LSTM", "BatchNormalization", "TimeDistributed(BatchNormalization)"]},
        notes="Moving means random, moving variances in [0.3, 2.3).",
    )
    add_chain(
        "around_batchnorm_axis",
        "around",
        lambda L: [
            L.BatchNormalization(axis=1),
            L.LSTM(5, return_sequences=True),
            L.LayerNormalization(axis=[1, 2], epsilon=0.01),
            L.LayerNormalization(center=False),
            L.GRU(3),
        ],
        {"layers": ["BatchNormalization(axis=1)", "LayerNormalization(axis=[1, 2])"]},
    )
    add_chain(
        "around_masked_norm",
        "around",
        lambda L: [
            L.Embedding(20, 5, mask_zero=True),
            L.BatchNormalization(),
            L.LayerNormalization(),
            L.ReLU(),
            L.LSTM(4, return_sequences=True),
            L.TimeDistributed(L.BatchNormalization()),
            L.LSTM(3),
        ],
        {"layers": ["Embedding(mask_zero)", "BatchNormalization", "LayerNormalization", "LSTM"]},
        shape=(7,),
        dtype="int32",
        inputs=tokens(4, 7, 20),
        notes="The mask passes through the normalizations and TimeDistributed.",
    )
    add_chain(
        "around_activation_layers",
        "around",
        lambda L: [
            L.LSTM(6, return_sequences=True),
            L.ReLU(max_value=0.5, negative_slope=0.1, threshold=0.05),
            L.LeakyReLU(0.2),
            L.PReLU(shared_axes=[1]),
            L.ELU(0.7),
            L.TimeDistributed(L.Dense(3)),
            L.Softmax(axis=1),
            L.LSTM(4),
            L.Dense(3),
            L.Softmax(),
        ],
        {"layers": ["ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax"]},
    )


def register_around_shaping() -> None:
    """ZeroPadding1D, Cropping1D, UpSampling1D."""
    add_chain(
        "around_time_padding",
        "around",
        lambda L: [
            L.ZeroPadding1D((1, 2)),
            L.Conv1D(5, 3),
            L.Cropping1D((2, 1)),
            L.UpSampling1D(2),
            L.LSTM(4, return_sequences=True),
            L.ZeroPadding1D(1),
            L.GRU(3),
        ],
        {"layers": ["ZeroPadding1D", "Cropping1D", "UpSampling1D"]},
    )


def register_around_td() -> None:
    """TimeDistributed around Conv2D, pooling, normalization, Flatten and RNNs (LRCN/CRNN)."""
    add_chain(
        "around_crnn",
        "around",
        lambda L: [
            L.TimeDistributed(L.Conv2D(4, 3, padding="same", activation="relu")),
            L.TimeDistributed(L.BatchNormalization()),
            L.TimeDistributed(L.MaxPooling2D(2)),
            L.TimeDistributed(L.Conv2D(5, (3, 2), strides=(2, 1), dilation_rate=1)),
            L.TimeDistributed(L.AveragePooling2D(2, padding="same")),
            L.TimeDistributed(L.Flatten()),
            L.LSTM(5),
            L.Dense(3, activation="softmax"),
        ],
        {"layers": ["TimeDistributed(Conv2D/BatchNormalization/Pooling2D/Flatten)", "LSTM"]},
        shape=(4, 10, 9, 2),
        inputs=floats(B, 4, 10, 9, 2),
        notes="The LRCN / CRNN video pattern.",
    )
    add_chain(
        "around_crnn_global",
        "around",
        lambda L: [
            L.TimeDistributed(L.Conv2D(6, 3, dilation_rate=2, padding="same", use_bias=False)),
            L.TimeDistributed(L.MaxPooling2D((2, 3), strides=1, padding="same")),
            L.TimeDistributed(L.GlobalAveragePooling2D()),
            L.Bidirectional(L.GRU(4, return_sequences=True)),
            L.TimeDistributed(L.Dense(2)),
        ],
        {"layers": ["TimeDistributed(Conv2D/GlobalAveragePooling2D)", "Bidirectional(GRU)"]},
        shape=(5, 8, 8, 1),
        inputs=floats(B, 5, 8, 8, 1),
    )

    add_chain(
        "around_td_recurrent",
        "around",
        lambda L: [
            L.TimeDistributed(L.LSTM(4)),
            L.TimeDistributed(L.Dense(3)),
            L.LSTM(3, return_sequences=True),
            L.TimeDistributed(L.Reshape((3, 1))),
            L.TimeDistributed(L.GRU(2, return_sequences=True, go_backwards=True)),
            L.TimeDistributed(L.Flatten()),
            L.GRU(2),
        ],
        {"layers": ["TimeDistributed(LSTM)", "TimeDistributed(GRU)"]},
        shape=(4, 5, F),
        inputs=floats(B, 4, 5, F),
        notes="Hierarchical: an LSTM over each group of 5 steps, then one over the groups.",
    )

    def spectrogram(c):
        inp = c.Input((16, 12, 1))
        x = c.L.Conv2D(4, 3, padding="same", activation="relu")(inp)
        x = c.L.BatchNormalization()(x)
        x = c.L.MaxPooling2D((2, 2))(x)
        g = c.L.GlobalMaxPooling2D()(x)
        x = c.L.Reshape((8, 6 * 4))(x)
        x = c.L.LSTM(5)(x)
        return c.K.Model(inp, c.L.Dense(3)(c.L.Concatenate()([x, g])))

    add(
        Fixture(
            "around_spectrogram_crnn",
            "around",
            "functional",
            spectrogram,
            floats(B, 16, 12, 1),
            {"layers": ["Conv2D", "BatchNormalization", "MaxPooling2D", "GlobalMaxPooling2D"]},
            notes="A CRNN on a spectrogram: Conv2D features reshaped into an LSTM sequence.",
        )
    )


def register_around_convlstm() -> None:
    """ConvLSTM1D/2D/3D, unrolled."""
    add_chain(
        "around_conv_lstm2d",
        "around",
        lambda L: [
            L.ConvLSTM2D(3, (3, 3), padding="same", return_sequences=True),
            L.BatchNormalization(),
            L.MaxPooling3D((1, 2, 2)),
            L.ConvLSTM2D(2, (2, 2), strides=(2, 1), go_backwards=True, return_sequences=True),
            L.TimeDistributed(L.Flatten()),
            L.LSTM(3),
        ],
        {"layers": ["ConvLSTM2D", "BatchNormalization", "MaxPooling3D", "LSTM"]},
        shape=(4, 8, 6, 2),
        inputs=floats(B, 4, 8, 6, 2),
        notes="ConvLSTM2D has no fused ONNX op: it is unrolled over its 4 steps.",
    )

    def conv_lstm_1d_3d(c):
        line = c.Input((4, 10, 2))
        x = c.L.ConvLSTM1D(3, 3, padding="same", return_sequences=True)(line)
        x = c.L.MaxPooling2D((1, 2))(x)
        x = c.L.LSTM(3)(c.L.TimeDistributed(c.L.Flatten())(x))
        volume = c.Input((3, 4, 4, 3, 1))
        v, _, state_c = c.L.ConvLSTM3D(2, 2, dilation_rate=(1, 2, 1), return_state=True)(volume)
        v = c.L.Concatenate()([c.L.Flatten()(v), c.L.Flatten()(state_c)])
        return c.K.Model([line, volume], c.L.Dense(2)(c.L.Concatenate()([x, v])))

    add(
        Fixture(
            "around_conv_lstm_1d_3d",
            "around",
            "functional",
            conv_lstm_1d_3d,
            concat_inputs(floats(B, 4, 10, 2), floats(B, 3, 4, 4, 3, 1)),
            {"layers": ["ConvLSTM1D", "ConvLSTM3D(return_state)", "MaxPooling2D", "LSTM"]},
            notes="ConvLSTM1D and ConvLSTM3D, unrolled; inputs: a line sequence, a volume one.",
        )
    )


def register_around() -> None:
    register_around_conv()
    register_around_norm()
    register_around_shaping()
    register_around_td()
    register_around_convlstm()


def register_attention() -> None:
    def bilstm_attention(c):
        tok = c.Input((7,), dtype="int32")
        e = c.L.Embedding(20, 6, mask_zero=True)(tok)
        h = c.L.Bidirectional(c.L.LSTM(4, return_sequences=True))(e)
        a = c.L.Attention(use_scale=True)([h, h])
        x = c.L.LSTM(3)(a)
        return c.K.Model(tok, c.L.Dense(2, activation="softmax")(x))

    add(
        Fixture(
            "around_bilstm_attention",
            "around",
            "functional",
            bilstm_attention,
            tokens(4, 7, 20),
            {"layers": ["Embedding(mask_zero)", "Bidirectional(LSTM)", "Attention(use_scale)"]},
            notes="A BiLSTM + self-attention text classifier; query and value masks from the "
            "Embedding.",
        )
    )

    def variants(c):
        sig = c.Input((T, F))
        tok = c.Input((7,), dtype="int32")
        q = c.L.LSTM(5, return_sequences=True)(sig)
        v = c.L.GRU(5, return_sequences=True)(c.L.Embedding(20, 4, mask_zero=True)(tok))
        k = c.L.Dense(5)(v)
        concat = c.L.Attention(use_scale=True, score_mode="concat")([v, v], use_causal_mask=True)
        additive = c.L.AdditiveAttention()([q, v, k])
        plain = c.L.Attention()([q, v])
        dot = c.L.Dot(axes=(2, 2), normalize=True)([q, concat])
        dot_t = c.L.Dot(axes=1)([q, additive])
        pooled = c.L.Dot(axes=1)([c.L.LSTM(3)(concat), c.L.GRU(3)(plain)])
        flat = c.L.Concatenate()(
            [c.L.Flatten()(dot), c.L.Flatten()(dot_t), pooled, c.L.LSTM(2)(additive)]
        )
        return c.K.Model([sig, tok], c.L.Dense(3)(flat))

    add(
        Fixture(
            "around_attention_variants",
            "around",
            "functional",
            variants,
            concat_inputs(floats(4, T, F), tokens(4, 7, 20)),
            {"layers": ["Attention(concat, causal)", "AdditiveAttention", "Dot"]},
            notes="Inputs: signal (float, 6 steps), tokens (int32, 7 steps, masked).",
        )
    )


def register_multi_head_attention() -> None:
    def mha_classifier(c):
        tok = c.Input((7,), dtype="int32")
        e = c.L.Embedding(20, 6, mask_zero=True)(tok)
        h = c.L.Bidirectional(c.L.LSTM(4, return_sequences=True))(e)
        a = c.L.MultiHeadAttention(num_heads=2, key_dim=3)(h, h)
        n = c.L.LayerNormalization()(a)
        return c.K.Model(tok, c.L.Dense(2, activation="softmax")(c.L.LSTM(3)(n)))

    add(
        Fixture(
            "around_bilstm_mha",
            "around",
            "functional",
            mha_classifier,
            tokens(4, 7, 20),
            {"layers": ["Bidirectional(LSTM)", "MultiHeadAttention", "LayerNormalization"]},
            notes="Self-attention with the Embedding's mask as query and value mask.",
        )
    )

    def mha_cross(c):
        sig = c.Input((T, F))
        tok = c.Input((7,), dtype="int32")
        q = c.L.LSTM(5, return_sequences=True)(sig)
        v = c.L.GRU(4, return_sequences=True)(c.L.Embedding(20, 4, mask_zero=True)(tok))
        k = c.L.Dense(3)(v)
        cross = c.L.MultiHeadAttention(3, 2, value_dim=4, output_shape=6)(q, v, k)
        causal = c.L.MultiHeadAttention(2, 3, use_bias=False)(q, q, use_causal_mask=True)
        x = c.L.Concatenate()([cross, causal])
        return c.K.Model([sig, tok], c.L.GRU(3)(x))

    add(
        Fixture(
            "around_mha_cross",
            "around",
            "functional",
            mha_cross,
            concat_inputs(floats(4, T, F), tokens(4, 7, 20)),
            {"layers": ["MultiHeadAttention(value_dim, output_shape, key, causal)"]},
            notes="Inputs: signal (float, 6 steps), tokens (int32, 7 steps, masked values).",
        )
    )


# --------------------------------------------------------------------------
# issue 13 (verdicts) and issue 11 (merged masks)
# --------------------------------------------------------------------------

CHAOS_VOCAB, CHAOS_STEPS, CHAOS_UNITS = 20, 40, 32


def two_padded_token_inputs(rng: np.random.Generator) -> list[np.ndarray]:
    """Two token inputs padded differently row by row, so AND and OR of masks differ."""
    first = padded_tokens(rng, 20, 7)
    second = padded_tokens(rng, 20, 7)[[1, 2, 0, 3]]
    second[3, 2:5] = rng.integers(1, 20, size=3)  # row 3: first all padding, second not
    return [first.astype("int32"), second.astype("int32")]


def build_two_masked_concat(c):
    a = c.Input((7,), dtype="int32")
    b = c.Input((7,), dtype="int32")
    ea = c.L.Embedding(20, 5, mask_zero=True)(a)
    eb = c.L.Embedding(20, 5, mask_zero=True)(b)
    return c.K.Model([a, b], c.L.LSTM(4)(c.L.Concatenate()([ea, eb])))


def build_bigru_regression(c):
    inp = c.Input((20, 8))
    h = c.L.Bidirectional(c.L.GRU(16))(inp)
    return c.K.Model(inp, c.L.Dense(1)(h))


def scale_head(model, rng) -> None:
    """A regression head whose outputs are several hundred (like house prices)."""
    head = model.layers[-1]
    kernel, bias = head.get_weights()
    head.set_weights([kernel * 400.0, bias * 400.0 + 600.0])


def build_chaotic_char_lstm(c):
    """Char-LSTM on one-hot characters. A bump detector (two Dense layers) sees whether a
    step looks like a one-hot vector (its values sum to 1); where it does, it shuts the
    forget gate and opens the input and output gates, so the cell follows the current
    character and the state stays stable. Standard-normal inputs almost never sum to 1:
    there the large recurrent weights drive the LSTM, which is chaotic."""
    inp = c.Input((CHAOS_STEPS, CHAOS_VOCAB))
    near_one = c.L.Dense(3, activation="relu")(inp)
    bump = c.L.Dense(1)(near_one)
    x = c.L.Concatenate()([inp, bump])
    h = c.L.LSTM(CHAOS_UNITS)(x)
    return c.K.Model(inp, c.L.Dense(CHAOS_VOCAB, activation="softmax")(h))


def chaotic_weights(model, rng) -> None:
    near_one, bump, lstm, _head = [layer for layer in model.layers if layer.get_weights()]
    near_one.set_weights(
        [np.ones((CHAOS_VOCAB, 3), "float32"), np.array([-0.9, -1.0, -1.1], "float32")]
    )
    bump.set_weights([np.array([[1.0], [-2.0], [1.0]], "float32"), np.zeros(1, "float32")])
    u = CHAOS_UNITS
    kernel = np.zeros((CHAOS_VOCAB + 1, 4 * u), "float32")
    kernel[:CHAOS_VOCAB, 2 * u : 3 * u] = rng.choice([-30.0, 30.0], size=(CHAOS_VOCAB, u))
    kernel[CHAOS_VOCAB, :u] = 300.0  # input gate opens on a one-hot step
    kernel[CHAOS_VOCAB, u : 2 * u] = -300.0  # forget gate shuts
    kernel[CHAOS_VOCAB, 3 * u :] = 300.0  # output gate opens
    recurrent = rng.normal(0.0, 3.0, size=(u, 4 * u)).astype("float32")
    bias = rng.normal(0.0, 0.1, size=4 * u).astype("float32")
    lstm.set_weights([kernel, recurrent, bias])  # the head keeps its random weights


def one_hot_chars(batch: int = 8) -> Callable:
    def make(rng: np.random.Generator) -> list[np.ndarray]:
        ids = rng.integers(0, CHAOS_VOCAB, size=(batch, CHAOS_STEPS))
        return [np.eye(CHAOS_VOCAB, dtype="float32")[ids]]

    return make


def register_verdicts() -> None:
    add(
        Fixture(
            "masked_two_inputs_concat",
            "masked",
            "functional",
            build_two_masked_concat,
            two_padded_token_inputs,
            {"mask": "two mask_zero Embeddings, Concatenate, LSTM"},
            notes=(
                "Merged masks: Keras 3 ORs them (its config traces NotEqual, ExpandDims, "
                "ZerosLike, LogicalOr, a bool Concatenate and Any into op layers feeding "
                "the LSTM's mask); tf.keras ANDs them."
            ),
        )
    )
    add(
        Fixture(
            "regression_bigru_large",
            "verdicts",
            "functional",
            build_bigru_regression,
            floats(4, 20, 8),
            {"outputs": "about 100 to 1000"},
            notes="Regression head scaled up: outputs of several hundred (issue 13).",
            shape_weights=scale_head,
        )
    )
    add(
        Fixture(
            "chaotic_char_lstm",
            "verdicts",
            "functional",
            build_chaotic_char_lstm,
            one_hot_chars(),
            {"inputs": "one-hot characters (representative); chaotic on standard-normal"},
            notes=(
                "Designed weights (random signs, random recurrent N(0, 3), random head): "
                "stable on one-hot inputs, chaotic on standard-normal ones (issue 13)."
            ),
            shape_weights=chaotic_weights,
        )
    )


def register_all() -> None:
    if REGISTRY:
        return
    register_verdicts()
    register_lstm()
    register_gru()
    register_simplernn()
    register_bidirectional()
    register_models()
    register_masked()
    register_cudnn()
    register_weights_only()
    register_seq2seq()
    register_explicit_mask_inputs()
    register_rnn_cells()
    register_windows_and_precision()
    register_operations()
    register_around()
    register_attention()
    register_multi_head_attention()


def selected(name: str, only: list[str] | None) -> bool:
    return not only or any(fnmatch.fnmatchcase(name, pattern) for pattern in only)


def update_manifest(generation: str, entries: list[dict], replaced: set[str] | None) -> None:
    """Replace this generation's entries (or only ``replaced`` names) in the manifest.

    Generations may run in parallel, so the read-modify-write holds a lock.
    """
    MANIFEST.parent.mkdir(parents=True, exist_ok=True)
    with open(MANIFEST, "a+", encoding="utf8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.seek(0)
        text = fh.read()
        old = json.loads(text) if text.strip() else []
        keep = [
            e
            for e in old
            if e["generation"] != generation or (replaced is not None and e["name"] not in replaced)
        ]
        merged = keep + entries
        order = {g: i for i, g in enumerate(("keras3", "tfkeras", "keras1", "keras2old"))}
        merged.sort(key=lambda e: (order.get(e["generation"], 9), e["family"], e["name"]))
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps(merged, indent=1) + "\n")


def run_generation(generation: str, only: list[str] | None, fixtures: bool, samples: bool) -> None:
    os.environ["KERAS_BACKEND"] = "tensorflow"
    if generation == "keras3":
        os.environ.pop("TF_USE_LEGACY_KERAS", None)
        import keras as keras_module
    else:
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
        import tf_keras as keras_module
    ctx = Ctx(generation, keras_module)
    register_all()

    if fixtures:
        out_dir = FIXTURES / generation
        if not only and out_dir.exists():
            shutil.rmtree(out_dir)  # no stale files from renamed fixtures
        out_dir.mkdir(parents=True, exist_ok=True)
        entries = []
        if generation == "keras2old":
            for spec in KERAS2_OLD:
                if selected(spec["name"], only):
                    entries.append(make_keras2_old(ctx, spec))
                    print("keras2old", spec["name"], flush=True)
        elif generation == "keras1":
            for spec in KERAS1:
                if selected(spec["name"], only):
                    entries.append(make_keras1(ctx, spec))
                    print("keras1", spec["name"], flush=True)
        else:
            for fx in REGISTRY:
                if generation in fx.generations and selected(fx.name, only):
                    entries.append(make_fixture(ctx, fx))
                    print(generation, fx.name, flush=True)
        update_manifest(generation, entries, {e["name"] for e in entries} if only else None)
    if samples and generation not in ("keras1", "keras2old"):
        make_samples(ctx)
        print(generation, "samples", flush=True)


def subprocess_env(generation: str) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONHASHSEED="0")
    env["KERAS_BACKEND"] = "tensorflow"
    if generation == "keras3":
        env.pop("TF_USE_LEGACY_KERAS", None)
    else:
        env["TF_USE_LEGACY_KERAS"] = "1"
    return env


def spawn(generation: str, *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--generation", generation, *extra]
    print("==>", " ".join(cmd[1:]), flush=True)
    return subprocess.Popen(cmd, env=subprocess_env(generation))


def wait_all(procs: list[subprocess.Popen]) -> None:
    codes = [p.wait() for p in procs]
    if any(codes):
        raise SystemExit(f"a generation failed: exit codes {codes}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--generation", choices=GENERATIONS)
    ap.add_argument("--only", nargs="*", help="glob patterns of fixture names to (re)build")
    ap.add_argument("--no-samples", action="store_true", help="skip samples/")
    ap.add_argument("--samples-only", action="store_true", help="only write samples/")
    args = ap.parse_args(argv)
    samples = not args.no_samples and not args.only
    if args.generation:
        run_generation(args.generation, args.only, not args.samples_only, samples)
        return 0
    only = ["--only", *args.only] if args.only else []
    if not args.samples_only:
        # The generations are independent: run them side by side (2 CPUs).
        wait_all([spawn(g, "--no-samples", *only) for g in GENERATIONS])
    if samples:
        # keras3's seed_lstm.keras reuses the kernels of tfkeras's seed_lstm.h5.
        wait_all([spawn("tfkeras", "--samples-only")])
        wait_all([spawn("keras3", "--samples-only")])
    return 0


if __name__ == "__main__":
    sys.exit(main())
