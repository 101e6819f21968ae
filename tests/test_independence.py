"""The oracle is independent: break a converter-side Keras fact, and parity must fail.

Each case monkeypatches one helper the converter uses (a layout conversion, a gate
permutation, the Bidirectional split, an activation rule, the merge-mask rule, the
compared value of a mask op) and converts a real-Keras fixture that exercises it. If
the NumPy reference shared that helper, the mistake would cancel out and ``convert``
would write a wrong model; it must stop with a parity mismatch instead.
"""

import numpy as np
import pytest
from conftest import FIXTURES
from family_mutations import misorder

from lstm_convert.api import convert
from lstm_convert.errors import ParityError
from lstm_convert.weightspec import weight_names as _true_weight_names


def _unconverted_cudnn(kernel, recurrent, gates):
    return np.asarray(kernel), np.asarray(recurrent)


def _keras1_lstm_wrong_order(arrays):
    # The file's gate blocks are i, c, f, o; keeping that order is the classic mistake.
    return [np.concatenate([arrays[3 * g + part] for g in range(4)], axis=-1) for part in range(3)]


def _keras1_gru_reversed(arrays):
    return [np.concatenate([arrays[3 * g + part] for g in (2, 1, 0)], axis=-1) for part in range(3)]


def _split_swapped(config, weights):
    half = len(weights) // 2
    return list(weights[half:]), list(weights[:half])


def _slopes_swapped(keras_major):
    return 0.2 if keras_major >= 3 else 1.0 / 6.0


def _tanh_read_as_softsign(value):
    return "softsign" if value == "tanh" else value


def _masks_or_everywhere(ctx, layer, inputs):
    masks = [t.mask for t in inputs if t.mask is not None]
    if not masks:
        return None
    mask = masks[0]
    for other in masks[1:]:
        mask = ctx.builder.op("Or", [mask, other], f"{layer.name}_mask")
    return mask


def _batchnorm_statistics_swapped(class_name, config):
    names = _true_weight_names(class_name, config)
    if class_name == "BatchNormalization":
        swap = {"moving_mean": "moving_variance", "moving_variance": "moving_mean"}
        names = [swap.get(name, name) for name in names]
    return names


# Random token inputs pad every input alike, so merged masks only differ on the
# fixture's own inputs (padded differently per input): those are passed with --inputs.
GIVEN_INPUTS = {"tfkeras/masked_two_inputs_concat.h5": "tfkeras/masked_two_inputs_concat.npz"}

MUTATIONS = [
    ("lstm_convert.keras_layouts.cudnn_kernels", _unconverted_cudnn, "tfkeras/cudnn_lstm.h5"),
    ("lstm_convert.keras_layouts.cudnn_kernels", _unconverted_cudnn, "tfkeras/cudnn_gru.h5"),
    ("lstm_convert.readers.keras1.keras1_lstm", _keras1_lstm_wrong_order, "keras1/lstm_basic.h5"),
    ("lstm_convert.readers.keras1.keras1_gru", _keras1_gru_reversed, "keras1/gru_basic.h5"),
    (
        "lstm_convert.weightspec.bidirectional_weights",
        _split_swapped,
        "tfkeras/bidir_lstm_concat_sequences_fn.h5",
    ),
    # The family descriptors' gate orders (families.py), read by every converter.
    ("families.LSTM.keras_gates", ("i", "o", "f", "c"), "tfkeras/lstm_basic.h5"),
    ("families.GRU.keras_gates", ("r", "z", "h"), "keras3/gru_basic.h5"),
    (
        "lstm_convert.activations.hard_sigmoid_slope",
        _slopes_swapped,
        "keras3/lstm_act_tanh_hard_sigmoid.h5",
    ),
    (
        "lstm_convert.activations.keras_activation_name",
        _tanh_read_as_softsign,
        "tfkeras/lstm_basic.h5",
    ),
    (
        "lstm_convert.layers.masking.constant_operand",
        lambda layer, call: 3,
        "keras3/masked_explicit_mask.keras",
    ),
    (
        "lstm_convert.layers.merge.merged_mask",
        _masks_or_everywhere,
        "tfkeras/masked_two_inputs_concat.h5",
    ),
    (
        "lstm_convert.weightspec.weight_names",
        _batchnorm_statistics_swapped,
        "keras3/around_batchnorm.h5",
    ),
]


@pytest.mark.parametrize(
    "target, replacement, fixture", MUTATIONS, ids=[f"{m[0]}-{m[2]}" for m in MUTATIONS]
)
def test_a_broken_converter_helper_fails_parity(
    tmp_path, monkeypatch, target, replacement, fixture
):
    path = FIXTURES / fixture
    inputs = FIXTURES / GIVEN_INPUTS[fixture] if fixture in GIVEN_INPUTS else None
    out = tmp_path / "model.onnx"
    convert(path, out, inputs=inputs)  # intact, it converts
    out.unlink()
    if target.startswith("families."):
        misorder(monkeypatch, target.split(".")[1], replacement)
    else:
        monkeypatch.setattr(target, replacement)
    with pytest.raises(ParityError):
        convert(path, out, inputs=inputs)
    assert not out.exists()


def test_a_converter_writing_into_the_keras_arrays_stops_instead_of_fooling_the_check(
    tmp_path, monkeypatch
):
    """The reference reads the arrays the converter reads (the file is read once). A
    converter that scaled a bias in place would move both sides alike and pass; the
    arrays are read-only, so it stops with an internal error (exit 3) and writes nothing."""
    from lstm_convert import remap
    from lstm_convert.errors import InternalError

    original = remap.remap_bias

    def doubling_in_place(bias, perm, units):
        bias *= 2
        return original(bias, perm, units)

    monkeypatch.setattr(remap, "remap_bias", doubling_in_place)
    out = tmp_path / "model.onnx"
    with pytest.raises(InternalError, match="read-only"):
        convert(FIXTURES / "tfkeras" / "lstm_basic.h5", out)
    assert not out.exists()
