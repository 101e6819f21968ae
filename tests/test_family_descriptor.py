"""Adding a recurrent family touches one descriptor, one converter and one reference function.

The fictional family here, ``HrzGRU``, is a GRU(reset_after=True) whose file keeps its gate
blocks in the order h, r, z (Keras's GRU keeps z, r, h). Its file is a real Keras GRU
fixture with the class renamed and the gate blocks of every array reordered, so the real
Keras output recorded beside the fixture is still its output. Registering the three pieces
is all it takes for ``convert`` (parity included), ``inspect`` and ``explain`` to handle it;
a descriptor with the wrong gate order fails the parity check.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import h5py
import numpy as np
import pytest
from conftest import FIXTURES

from lstm_convert import reference
from lstm_convert.activations import recurrent_activation
from lstm_convert.api import convert, explain, inspect
from lstm_convert.errors import ParityError
from lstm_convert.families import FAMILIES, RecurrentFamily, register
from lstm_convert.layers.family_cell import family_arrays
from lstm_convert.layers.recurrent import SPEC_BUILDERS, CellSpec, cell_family
from lstm_convert.layers.registry import CONVERTERS
from lstm_convert.parity import run_onnx

NAME = "HrzGRU"
SOURCE = FIXTURES / "tfkeras/gru_basic.h5"  # GRU(5, reset_after=True), real Keras
ORDER = (2, 1, 0)  # file block k holds Keras GRU block ORDER[k]: h, r, z

# 1. The descriptor.
HRZ_GRU = RecurrentFamily(
    name=NAME,
    onnx_op="GRU",
    keras_gates=("h", "r", "z"),
    onnx_gates=("z", "r", "h"),
    gate_names=("candidate", "reset", "update"),
    state_labels=("h",),
    has_reset_after=True,
)


# 2. The converter.
def hrz_gru_spec(name, config, weights, ctx) -> CellSpec:
    a = family_arrays(NAME, name, config, weights, ctx)
    gate = recurrent_activation(config["recurrent_activation"], ctx.keras_major, name)
    act = recurrent_activation(config["activation"], ctx.keras_major, name)
    attrs = {"linear_before_reset": int(a.biases.reset_after)}
    return CellSpec("GRU", a.units, a.W, a.R, a.B, (gate, act), attrs=attrs)


# 3. The reference: its own equations on the file's own layout.
def hrz_gru_cell(config, weights, major):
    kernel, recurrent, bias = (np.asarray(w, np.float64) for w in weights)
    units = recurrent.shape[0]

    def sigmoid(v):
        return 1.0 / (1.0 + np.exp(-v))

    def project(x):
        return x @ kernel + bias[0]

    def step(xw, states):
        h = states[0]
        x_h, x_r, x_z = np.split(xw, 3, axis=-1)
        u_h, u_r, u_z = np.split(h @ recurrent + bias[1], 3, axis=-1)
        z, r = sigmoid(x_z + u_z), sigmoid(x_r + u_r)
        h = z * h + (1.0 - z) * np.tanh(x_h + r * u_h)
        return h, [h]

    return units, 1, project, step


def result_inputs(path) -> list[str]:
    import onnx

    return [i.name for i in onnx.load(str(path)).graph.input]


def reorder_blocks(array: np.ndarray) -> np.ndarray:
    blocks = np.split(np.asarray(array), 3, axis=-1)
    return np.concatenate([blocks[k] for k in ORDER], axis=-1)


@pytest.fixture
def hrz_file(tmp_path):
    path = tmp_path / "hrz_gru.h5"
    shutil.copyfile(SOURCE, path)
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        (layer,) = [lyr for lyr in config["config"]["layers"] if lyr["class_name"] == "GRU"]
        layer["class_name"] = NAME
        f.attrs["model_config"] = json.dumps(config)
        cell = f["model_weights/gru/gru/gru_cell"]
        for key in ("kernel:0", "recurrent_kernel:0", "bias:0"):
            cell[key][...] = reorder_blocks(cell[key][...])
    return path


@pytest.fixture
def registered():
    """The three additions, undone after the test."""
    register(HRZ_GRU)
    cell_family(NAME)(hrz_gru_spec)
    reference.register_cell(NAME, hrz_gru_cell, ("h",))
    yield HRZ_GRU
    registries = (FAMILIES, SPEC_BUILDERS, CONVERTERS)
    references = (reference.CELLS, reference.STATE_LABELS, reference.REFERENCES)
    for registry in (*registries, *references):
        registry.pop(NAME, None)


def test_a_fourth_family_converts_and_matches_real_keras(hrz_file, registered, tmp_path):
    out = tmp_path / "hrz.onnx"
    result = convert(hrz_file, out)  # the parity check runs against the reference
    assert result.max_abs_error < 1e-5
    recorded = np.load(SOURCE.with_suffix(".npz"))
    (input_name,) = result_inputs(out)
    (onnx_out,) = run_onnx(str(out), {input_name: recorded["input_0"]})
    np.testing.assert_allclose(onnx_out, recorded["output_0"], atol=1e-5)


def test_inspect_and_explain_pick_it_up(hrz_file, registered):
    info = inspect(hrz_file)
    (layer,) = [lyr for lyr in info.layers if lyr.class_name == NAME]
    assert layer.options["weights"] == ["kernel", "recurrent_kernel", "bias"]
    (exp,) = explain(hrz_file).layers
    assert (exp.cell, exp.onnx_op) == (NAME, "GRU")
    assert exp.keras_gates == ["h", "r", "z"] and exp.onnx_gates == ["z", "r", "h"]
    assert exp.permutation == [2, 1, 0]
    assert [row.moved for row in exp.rows] == [True, False, True]
    assert exp.bias_kind == "two" and exp.onnx_attributes["linear_before_reset"] == 1
    assert exp.bias_max_diff == exp.kernel_max_diff == 0.0
    assert exp.step_max_diff < 1e-6
    assert "h bias[0:5] → Wb and Rb[10:15]" in exp.conclusion


def test_the_wrong_gate_order_in_its_descriptor_fails_parity(hrz_file, registered, tmp_path):
    """Declared as Keras's own GRU order, the descriptor no longer describes the file."""
    FAMILIES[NAME] = replace(HRZ_GRU, keras_gates=("z", "r", "h"))
    with pytest.raises(ParityError):
        convert(hrz_file, tmp_path / "wrong.onnx")
    (exp,) = explain(hrz_file).layers
    assert exp.step_max_diff > 1e-3  # explain's one-step check sees it too


def test_the_reference_reads_no_converter_side_family_knowledge():
    """The oracle keeps its own equations and layouts: it imports neither the family
    descriptors nor the remapper nor the weight specs (else their mistakes would cancel)."""
    import ast
    from pathlib import Path

    import lstm_convert

    package = Path(lstm_convert.__file__).parent
    shared = {"families", "remap", "weightspec", "keras_layouts", "layers", "explain"}
    for name in ("reference.py", "reference_layers.py", "reference_layouts.py"):
        tree = ast.parse((package / name).read_text(encoding="utf-8"))
        imported: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                parts = (node.module or "").split(".")
                if node.level == 0 and parts[0] == "lstm_convert":
                    parts = parts[1:]
                if parts[0]:
                    imported.add(parts[0])
                else:  # from . import name
                    imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    parts = alias.name.split(".")
                    if parts[0] == "lstm_convert" and len(parts) > 1:
                        imported.add(parts[1])
        assert not imported & shared, (name, imported & shared)
