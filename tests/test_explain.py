"""`lstm-convert explain`: where Keras's gates, kernels and bias go in ONNX.

Snapshots live in tests/snapshots/ (plain text, width 120, no colour). After an
intended change to the rendering, regenerate them with

    UPDATE_SNAPSHOTS=1 python -m pytest tests/test_explain.py

and review the diff before committing.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from conftest import ROOT, SAMPLES, manifest
from onnx import numpy_helper
from typer.testing import CliRunner

from lstm_convert.api import convert, explain, load
from lstm_convert.cli import app
from lstm_convert.errors import UnsupportedModelError
from lstm_convert.explain import LayerNotFoundError, explain_model, numpy_snippet
from lstm_convert.reference import run_rnn

SNAPSHOTS = ROOT / "tests" / "snapshots"
SEED = SAMPLES / "seed_lstm.h5"
# Plain output whatever the environment says about colours.
PLAIN_ENV = {"NO_COLOR": "1", "FORCE_COLOR": None, "TTY_COMPATIBLE": None, "COLUMNS": None}


def fixture_path(name: str, generation: str = "tfkeras", suffix: str = ".h5") -> Path:
    for entry in manifest():
        if entry["name"] == name and entry["generation"] == generation:
            for file in entry["files"]:
                if file.endswith(suffix):
                    return ROOT / file
    raise LookupError(f"no {generation}/{name}{suffix} in tests/fixtures/manifest.json")


def gru_reset_after_path() -> Path:
    path = fixture_path("gru_basic")
    entry = next(e for e in manifest() if e["name"] == "gru_basic" and e["generation"] == "tfkeras")
    assert entry["options"].get("reset_after") is True
    return path


def run_cli(*args: str, cwd: Path = ROOT):
    runner = CliRunner()
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return runner.invoke(app, ["explain", *args], env=PLAIN_ENV)
    finally:
        os.chdir(old)


def check_snapshot(name: str, text: str) -> None:
    """Compare with tests/snapshots/<name> (trailing spaces ignored); UPDATE_SNAPSHOTS=1 writes."""
    text = "\n".join(line.rstrip() for line in text.splitlines()) + "\n"
    path = SNAPSHOTS / name
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} missing: run with UPDATE_SNAPSHOTS=1 to create it"
    assert text == path.read_text(encoding="utf-8"), (
        f"rendering differs from {path}; if intended, rerun with UPDATE_SNAPSHOTS=1"
    )


# -- the question the project grew from ----------------------------------------------------


def test_seed_forget_block_moves_from_keras_4_8_to_onnx_wb_8_12():
    result = explain(SEED)
    (exp,) = result.layers
    assert exp.cell == "LSTM" and exp.units == 4 and exp.bias_kind == "single"
    assert exp.keras_bias == [0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    forget = next(row for row in exp.rows if row.gate == "f")
    assert forget.keras_bias == (4, 8)
    assert forget.onnx_wb == (8, 12)
    assert forget.onnx_rb == (24, 28)
    assert forget.keras_bias_values == [1.0] * 4
    assert forget.wb_values == [1.0] * 4 and forget.rb_values == [0.0] * 4
    assert forget.moved
    # ONNX B = [Wb, Rb] with Wb in gate order i, o, f, c: the ones sit at 8:12.
    assert exp.wb == [0.0] * 8 + [1.0] * 4 + [0.0] * 4
    assert exp.rb == [0.0] * 16
    assert exp.bias_max_diff == 0.0 and exp.kernel_max_diff == 0.0
    assert exp.initializers == {"W": "lstm_W", "R": "lstm_R", "B": "lstm_B"}
    assert exp.onnx_node == "lstm_LSTM"


def test_seed_table_shows_the_forget_row():
    result = run_cli("samples/seed_lstm.h5", "--width", "120")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    row = next(i for i, line in enumerate(lines) if " f  forget " in line)
    assert "bias[4:8]" in lines[row] and "Wb[8:12]" in lines[row]
    assert lines[row + 1].count("1 1 1 1") == 2  # the Keras bias slice and Wb[8:12]
    words = " ".join(result.stdout.split())  # the conclusion wraps
    assert "addition commutes" in words
    assert "f bias[4:8] → Wb[8:12]" in words


def test_seed_snapshot():
    result = run_cli("samples/seed_lstm.h5", "--width", "120")
    assert result.exit_code == 0, result.output
    assert "\x1b[" not in result.stdout
    check_snapshot("explain_seed_lstm.txt", result.stdout)


# -- narrow terminals ----------------------------------------------------------------------

WIDTHS = (60, 80, 120)
# An index cut by a line end: "bias[0" at the end of a line, or ":4]" starting one.
SPLIT_INDEX = re.compile(r"\[[0-9:, ]*$|^\s*[0-9:, ]*\]")


def rendered(result, width: int) -> str:
    """The explain rendering on a fixed-width console without colour."""
    from rich.console import Console

    from lstm_convert.render.explain import print_explain

    buffer = io.StringIO()
    console = Console(width=width, file=buffer, color_system=None, force_terminal=False)
    print_explain(result, console)
    return buffer.getvalue()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize(
    "name, path, split",
    [("seed_lstm_half", SEED, "half"), ("gru_reset_after", None, "wb")],
)
def test_rendering_at_each_width(name, path, split, width):
    """Snapshots at 60, 80 and 120 columns: every index whole on its line, every value
    shown (wrapped, never cut with "…")."""
    result = explain(path or gru_reset_after_path().relative_to(ROOT), bias_split=split)
    result.path = result.path.replace(str(ROOT) + os.sep, "")
    text = rendered(result, width)
    assert "…" not in text
    lines = [line.rstrip() for line in text.splitlines()]
    assert not [line for line in lines if SPLIT_INDEX.search(line)]
    assert max(len(line) for line in lines) <= width
    for exp in result.layers:
        for row in exp.rows:  # each Wb value appears in full
            assert all(f"{v:.3g}" in text or v == 0 for v in row.wb_values)
    check_snapshot(f"explain_{name}_{width}.txt", text)


# -- GRU reset_after=True: two genuine biases ----------------------------------------------


def test_gru_reset_after_keeps_bias_rows_in_wb_and_rb():
    path = gru_reset_after_path()
    (exp,) = explain(path, bias_split="half").layers  # --bias-split does not apply
    bias = load(path).layer(exp.layer).weights[2]
    assert exp.bias_kind == "two" and exp.bias_split is None
    assert exp.keras_bias_layout == "rows"
    assert exp.onnx_attributes["linear_before_reset"] == 1
    np.testing.assert_array_equal(np.float32(exp.wb), bias[0])
    np.testing.assert_array_equal(np.float32(exp.rb), bias[1])
    assert [row.moved for row in exp.rows] == [False, False, False]
    assert "linear_before_reset=1" in exp.conclusion
    assert exp.bias_max_diff == 0.0


def test_gru_reset_after_snapshot():
    path = gru_reset_after_path().relative_to(ROOT)
    result = run_cli(str(path), "--width", "120")
    assert result.exit_code == 0, result.output
    check_snapshot("explain_gru_reset_after.txt", result.stdout)


# -- other families ------------------------------------------------------------------------


@pytest.mark.parametrize("split", ["wb", "rb", "half"])
def test_bias_split_is_what_convert_writes(tmp_path, split):
    """The JSON's Wb/Rb equal the B initializer `convert` writes, for every split."""
    result = run_cli(str(SEED), "--json", "--bias-split", split)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    (layer,) = data["layers"]
    out = tmp_path / "seed.onnx"
    convert(SEED, out, bias_split=split)
    model = onnx.load(str(out))
    (node,) = [n for n in model.graph.node if n.op_type == "LSTM"]
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    assert list(node.input[1:4]) == [layer["initializers"][k] for k in ("W", "R", "B")]
    written_b = inits[node.input[3]]
    np.testing.assert_array_equal(written_b[0], np.float32(layer["wb"] + layer["rb"]))
    assert list(written_b.shape) == layer["onnx_shapes"]["B"]
    # Per gate: the slices named in the JSON hold the values shown.
    for row in layer["rows"]:
        a, b = row["onnx_wb"]
        np.testing.assert_array_equal(written_b[0, a:b], np.float32(row["wb_values"]))
        a, b = row["onnx_rb"]
        np.testing.assert_array_equal(written_b[0, a:b], np.float32(row["rb_values"]))
        assert row["bias_max_diff"] == 0.0
    keras_bias = load(SEED).layer("lstm").weights[2]
    np.testing.assert_array_equal(np.float32(layer["keras_bias"]), keras_bias)
    wb, rb = np.float32(layer["wb"]), np.float32(layer["rb"])
    if split == "wb":
        assert not rb.any()
    elif split == "rb":
        assert not wb.any()
    else:
        np.testing.assert_array_equal(wb, rb)
    assert layer["bias_split"] == split


def test_bidirectional_explains_both_directions():
    path = fixture_path("bidir_lstm_concat")
    forward, backward = explain(path).layers
    assert (forward.direction, backward.direction) == ("forward", "backward")
    assert (forward.direction_index, backward.direction_index) == (0, 1)
    assert forward.onnx_shapes["B"] == [2, 2 * 4 * forward.units]
    weights = load(path).layer(forward.layer).weights
    np.testing.assert_array_equal(
        np.float32(backward.keras_input_bias), weights[5]
    )  # forward kernel, recurrent, bias; then the backward three
    assert forward.bias_max_diff == backward.bias_max_diff == 0.0
    assert forward.kernel_max_diff == backward.kernel_max_diff == 0.0
    text = run_cli(str(path), "--width", "120").stdout
    assert "[forward → ONNX direction 0, forward]" in text
    assert "[backward → ONNX direction 1, reverse]" in text
    assert "B[1, 0:" in text


def test_gru_reset_before_and_simple_rnn_take_the_split():
    (gru,) = explain(fixture_path("gru_resetbefore_basic"), bias_split="rb").layers
    assert gru.bias_kind == "single" and gru.bias_split == "rb"
    assert gru.onnx_attributes["linear_before_reset"] == 0
    assert not np.any(gru.wb) and gru.bias_max_diff == 0.0
    (rnn,) = explain(fixture_path("simplernn_tanh"), bias_split="half").layers
    assert rnn.onnx_op == "RNN" and [row.gate for row in rnn.rows] == ["h"]
    assert rnn.bias_max_diff == 0.0 and rnn.kernel_max_diff == 0.0


def test_no_bias_layer():
    (exp,) = explain(fixture_path("lstm_no_bias")).layers
    assert exp.bias_kind == "none" and not np.any(exp.wb) and not np.any(exp.rb)
    assert "use_bias=False" in exp.conclusion


def test_keras_zip_files_too():
    (exp,) = explain(fixture_path("gru_basic", suffix=".keras")).layers
    assert exp.bias_kind == "two" and exp.bias_max_diff == 0.0


@pytest.mark.parametrize("name,cell", [("cudnn_lstm", "CuDNNLSTM"), ("cudnn_gru", "CuDNNGRU")])
def test_cudnn_biases_are_genuine(name, cell):
    path = fixture_path(name)
    (exp,) = explain(path).layers
    assert exp.cell == cell
    size = len(exp.keras_gates) * exp.units
    stored = np.asarray(load(path).layer(exp.layer).weights[2]).reshape(-1)
    assert exp.bias_kind == "two" and exp.bias_split is None
    assert exp.keras_bias_layout == "halves"
    np.testing.assert_array_equal(np.float32(exp.keras_input_bias), stored[:size])
    np.testing.assert_array_equal(np.float32(exp.keras_recurrent_bias), stored[size:])
    assert exp.bias_max_diff == 0.0
    assert exp.kernel_max_diff is not None and exp.kernel_max_diff == 0.0
    assert "genuine" in exp.conclusion


# -- exports, errors -----------------------------------------------------------------------


def test_svg_and_html_exports(tmp_path):
    svg, html = tmp_path / "seed.svg", tmp_path / "seed.html"
    result = run_cli(str(SEED), "--export-svg", str(svg), "--export-html", str(html))
    assert result.exit_code == 0, result.output
    assert svg.read_text(encoding="utf-8").lstrip().startswith("<svg")
    assert "forget" in svg.read_text(encoding="utf-8")
    page = html.read_text(encoding="utf-8")
    assert "<html" in page.lower() and "forget" in page
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seed.html", "seed.svg"]
    umask = os.umask(0)
    os.umask(umask)
    assert svg.stat().st_mode & 0o777 == 0o666 & ~umask  # not the temporary file's 0600
    # An existing file is kept unless --force.
    before = svg.read_bytes()
    refused = run_cli(str(SEED), "--export-svg", str(svg))
    assert refused.exit_code == 2
    assert "--force" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert svg.read_bytes() == before
    assert run_cli(str(SEED), "--export-svg", str(svg), "--force").exit_code == 0


def test_svg_is_self_contained(tmp_path):
    """No web font, no network: the SVG names the system's monospace fonts and every url()
    points inside the file (the xmlns is a namespace name, never fetched)."""
    from lstm_convert.api import explain as api_explain

    svg = tmp_path / "seed.svg"
    api_explain(SEED, export_svg=svg, width=80)
    text = svg.read_text(encoding="utf-8")
    assert "@font-face" not in text and "cdn" not in text.lower()
    assert re.findall(r"https?://[^\s\"')]+", text) == ["http://www.w3.org/2000/svg"]
    assert all(ref.startswith("#") for ref in re.findall(r"url\(([^)]*)\)", text))
    assert "monospace" in text and "forget" in text


def test_unknown_layer_lists_the_recurrent_layers():
    result = run_cli(str(SEED), "--layer", "nope")
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert "nope" in line and "lstm (LSTM)" in line
    first = load(SEED).layers[0]  # the InputLayer
    with pytest.raises(LayerNotFoundError, match=f"is {first.class_name}, not a recurrent"):
        explain(SEED, layer=first.name)


def test_layer_option_selects_one_layer():
    path = fixture_path("bidir_lstm_concat")
    name = explain(path).layers[0].layer
    result = run_cli(str(path), "--layer", name, "--json")
    assert result.exit_code == 0, result.output
    assert {layer["name"] for layer in json.loads(result.stdout)["layers"]} == {name}


def test_file_without_recurrent_layers_is_refused():
    model = load(SEED)
    model.layers = [layer for layer in model.layers if layer.class_name != "LSTM"]
    with pytest.raises(UnsupportedModelError, match="no recurrent layer"):
        explain_model(model)


def test_missing_file_exits_2():
    result = run_cli("does/not/exist.h5")
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1


# -- --numpy -------------------------------------------------------------------------------


def reference_step(path: Path, namespace: dict) -> list[np.ndarray]:
    model = load(path)
    layer = next(layer for layer in model.iter_layers() if layer.class_name == "LSTM")
    x = np.asarray(namespace["x"], np.float64)[:, None, :]  # (batch, 1 step, input)
    initial = [namespace["h0"], namespace["c0"]]
    _, _, states = run_rnn(
        "LSTM", layer.config, layer.weights, x, None, model.source.keras_major, initial
    )
    return states


def test_numpy_snippet_matches_the_reference():
    result = run_cli(str(SEED), "--numpy")
    assert result.exit_code == 0, result.output
    snippet = result.stdout
    assert "np.split(z, 4, axis=-1)" in snippet and "i, f, c, o" in snippet
    assert "lstm_convert" not in snippet  # small layer: arrays inline, NumPy only
    namespace: dict = {}
    exec(compile(snippet, "<snippet>", "exec"), namespace)
    h, c = reference_step(SEED, namespace)
    np.testing.assert_allclose(namespace["h"], h, atol=1e-6)
    np.testing.assert_allclose(namespace["c"], c, atol=1e-6)


def test_numpy_snippet_runs_standalone(tmp_path):
    script = tmp_path / "step.py"
    script.write_text(numpy_snippet(load(SEED)), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, check=True
    )
    assert done.stdout.startswith("h = [[") and "c = [[" in done.stdout


def test_numpy_snippet_reads_large_layers_from_the_file():
    snippet = numpy_snippet(load(SEED), inline_limit=0)
    assert "from lstm_convert.api import load" in snippet
    namespace: dict = {}
    exec(compile(snippet, "<snippet>", "exec"), namespace)
    h, c = reference_step(SEED, namespace)
    np.testing.assert_allclose(namespace["h"], h, atol=1e-6)
    np.testing.assert_allclose(namespace["c"], c, atol=1e-6)


def test_numpy_snippet_with_hard_sigmoid():
    path = fixture_path("lstm_act_linear_hard_sigmoid", generation="keras3")
    namespace: dict = {}
    exec(compile(numpy_snippet(load(path)), "<snippet>", "exec"), namespace)
    h, c = reference_step(path, namespace)
    np.testing.assert_allclose(namespace["h"], h, atol=1e-6)
    np.testing.assert_allclose(namespace["c"], c, atol=1e-6)


# Every family --numpy writes, each against the outputs real Keras recorded for the fixture.
SNIPPET_FIXTURES = [
    ("tfkeras", "gru_basic"),  # reset_after=True
    ("tfkeras", "gru_resetbefore_basic"),
    ("tfkeras", "gru_no_bias"),  # reset_after=True without a bias
    ("keras3", "gru_basic"),
    ("tfkeras", "simplernn_tanh"),
    ("tfkeras", "cudnn_lstm"),
    ("tfkeras", "cudnn_gru"),
    ("tfkeras", "lstm_no_bias"),
]


def run_snippet(snippet: str, x: np.ndarray) -> np.ndarray:
    """The snippet's ``step`` over every step of ``x`` from zero states: the sequence."""
    namespace: dict = {}
    exec(compile(snippet, "<snippet>", "exec"), namespace)
    step, units = namespace["step"], namespace["h0"].shape[1]
    h = c = np.zeros((x.shape[0], units), np.float32)
    outputs = []
    for t in range(x.shape[1]):
        if "c0" in namespace:
            h, c = step(x[:, t], h, c)
        else:
            h = step(x[:, t], h)
        outputs.append(h)
    return np.stack(outputs, axis=1)


@pytest.mark.parametrize("generation, name", SNIPPET_FIXTURES)
@pytest.mark.parametrize("inline", [True, False], ids=["inline", "from-file"])
def test_numpy_snippet_reproduces_keras(generation, name, inline):
    path = fixture_path(name, generation)
    if inline:  # exactly as printed
        result = run_cli(str(path), "--numpy")
        assert result.exit_code == 0, result.output
        snippet = result.stdout
        assert "lstm_convert" not in snippet
    else:
        snippet = numpy_snippet(load(path), inline_limit=0)
        assert "from lstm_convert.api import load" in snippet
    recorded = np.load(path.with_suffix(".npz"))
    sequence = run_snippet(snippet, recorded["input_0"])
    keras = recorded["output_0"]
    got = sequence if keras.ndim == 3 else sequence[:, -1]
    np.testing.assert_allclose(got, keras, atol=2e-5)


def test_numpy_needs_layer_when_there_are_several():
    path = fixture_path("lstm_stacked")
    result = run_cli(str(path), "--numpy")
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    names = [layer.name for layer in load(path).layers if layer.class_name == "LSTM"]
    assert len(names) > 1 and all(f"{name} (LSTM)" in line for name in names)
    assert "--layer" in line
    chosen = run_cli(str(path), "--numpy", "--layer", names[1])
    assert chosen.exit_code == 0, chosen.output
    assert f"layer {names[1]!r}" in chosen.stdout


def test_json_can_carry_the_snippet():
    result = run_cli(str(SEED), "--json", "--numpy")
    assert result.exit_code == 0, result.output
    assert "np.split" in json.loads(result.stdout)["numpy"]


def test_cli_module_imports_no_heavy_libraries():
    code = (
        "import sys, lstm_convert.cli.explain; "
        "heavy = [m for m in ('numpy', 'onnx', 'h5py', 'onnxruntime') if m in sys.modules]; "
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_bidirectional_whose_wrapped_layer_runs_backwards():
    """Keras's forward layer has go_backwards: it is ONNX's reverse direction (index 1)."""
    path = fixture_path("bidir_lstm_inner_go_backwards")
    forward, backward = explain(path).layers
    assert forward.go_backwards and not backward.go_backwards
    assert (forward.direction_index, forward.onnx_direction) == (1, "reverse")
    assert (backward.direction_index, backward.onnx_direction) == (0, "forward")
    assert forward.bias_max_diff == backward.bias_max_diff == 0.0
    assert forward.kernel_max_diff == backward.kernel_max_diff == 0.0


def test_bidirectional_with_directions_of_different_sizes():
    """Two ONNX nodes, <layer>_forward and <layer>_backward, one direction each."""
    path = fixture_path("bidir_lstm_backward_layer")
    forward, backward = explain(path).layers
    assert forward.units != backward.units
    assert forward.initializers["B"].endswith("_forward_B")
    assert backward.initializers["B"].endswith("_backward_B")
    assert forward.onnx_shapes["B"][0] == backward.onnx_shapes["B"][0] == 1
    assert forward.bias_max_diff == backward.bias_max_diff == 0.0
    assert forward.kernel_max_diff == backward.kernel_max_diff == 0.0


def test_stateful_layers_are_exported_with_their_states_exposed():
    result = explain(fixture_path("lstm_stateful"))
    assert result.note is not None and "stateful layer(s) 'lstm'" in result.note
    assert result.layers[0].bias_max_diff == 0.0


def test_explain_reads_the_exporters_record_of_each_node(tmp_path):
    """W, R, B and the node come from what export_model recorded it wrote: the very
    initializers of the node `convert` writes, direction by direction."""
    path = fixture_path("bidir_lstm_inner_go_backwards")
    out = tmp_path / "m.onnx"
    convert(path, out)
    graph = onnx.load(str(out)).graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for exp in explain(path).layers:
        (node,) = [n for n in graph.node if n.name == exp.onnx_node]
        assert list(node.input[1:4]) == [exp.initializers[k] for k in "WRB"]
        b = inits[exp.initializers["B"]][exp.direction_index]
        np.testing.assert_array_equal(b, np.float32(exp.wb + exp.rb))


def test_a_model_that_does_not_convert_is_an_error_not_a_guess(monkeypatch):
    """No fallback: when the exporter refuses the model, explain says why (exit 2)."""
    import lstm_convert.export

    def refuse(model, options):
        raise UnsupportedModelError("layer 'x' (Mystery) blocks the conversion")

    monkeypatch.setattr(lstm_convert.export, "export_model", refuse)
    with pytest.raises(UnsupportedModelError, match="Mystery"):
        explain(fixture_path("bidir_lstm_concat"))
    result = run_cli(str(fixture_path("bidir_lstm_concat")))
    assert result.exit_code == 2 and "Mystery" in result.stderr


@pytest.mark.parametrize(
    "cell, wrong, fixture",
    [
        ("LSTM", ("i", "o", "f", "c"), SAMPLES / "seed_lstm.h5"),
        ("GRU", ("r", "z", "h"), ROOT / "tests/fixtures/tfkeras/gru_basic.h5"),
    ],
)
def test_a_wrong_permutation_turns_the_check_column_red(monkeypatch, cell, wrong, fixture):
    """The check is semantic: it must not locate slots with the descriptor's orders.
    Both the converter and explain's own tables read the wrong gate order, as when the
    family descriptor itself is wrong."""
    from family_mutations import misorder

    misorder(monkeypatch, cell, wrong)
    result = explain(fixture)
    exp = result.layers[0]
    assert exp.bias_max_diff == 0.0  # the slot-by-slot check cannot see it...
    assert exp.step_max_diff > 1e-3  # ...one step of ONNX's equations does
    rendered = CliRunner().invoke(
        app, ["explain", str(fixture)], env={**PLAIN_ENV, "COLUMNS": "200"}
    )
    assert "✗ step" in rendered.stdout
    assert "✗ one ONNX step" in rendered.stdout
