"""NumPy reference of Keras's layers around recurrent ones (issue 11): convolutions,
poolings, normalizations, activation layers, time-axis padding and TimeDistributed.

Written from Keras's documented semantics in channels_last layout, from the Keras-layout
arrays, sharing no code with the converters. Registered into ``reference_base.REFERENCES``.
"""

from __future__ import annotations

import itertools

import numpy as np

from .errors import UnsupportedModelError
from .model import Call, Layer
from .reference_base import REFERENCES, RefContext, Value, activation_fn, reference

Array = np.ndarray


def _ints(value: object, rank: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (list, tuple)) else (int(value),) * rank


def _pads(size: int, window: int, stride: int, dilation: int, padding: str) -> tuple[int, int]:
    """Cells added before and after one spatial axis, as TensorFlow pads it."""
    span = (window - 1) * dilation + 1
    if padding == "valid":
        return 0, 0
    if padding == "causal":
        return span - 1, 0
    out = -(-size // stride)
    total = max((out - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


def _windows(x: Array, windows, strides, dilations, padding, fill: float):
    """Yield (kernel tap index, the strided input view that tap multiplies) for every tap."""
    spatial = len(windows)
    pads = [
        _pads(x.shape[1 + a], windows[a], strides[a], dilations[a], padding) for a in range(spatial)
    ]
    padded = np.pad(x, [(0, 0), *pads, (0, 0)], constant_values=fill)
    outs = [
        (padded.shape[1 + a] - (windows[a] - 1) * dilations[a] - 1) // strides[a] + 1
        for a in range(spatial)
    ]
    for tap in itertools.product(*(range(k) for k in windows)):
        index = [slice(None)]
        for a in range(spatial):
            start = tap[a] * dilations[a]
            index.append(slice(start, start + (outs[a] - 1) * strides[a] + 1, strides[a]))
        yield tap, padded[tuple(index)]


def _convolve(x: Array, kernel: Array, strides, dilations, padding: str, groups: int = 1):
    """Keras's channels_last convolution without bias; kernel [*window, in / groups, out]."""
    spatial = x.ndim - 2
    windows = kernel.shape[:spatial]
    per_group_in = kernel.shape[-2]
    per_group_out = kernel.shape[-1] // groups
    y = None
    for tap, view in _windows(x, windows, strides, dilations, padding, 0.0):
        w = kernel[tap]
        parts = [
            view[..., g * per_group_in : (g + 1) * per_group_in]
            @ w[:, g * per_group_out : (g + 1) * per_group_out]
            for g in range(groups)
        ]
        term = np.concatenate(parts, axis=-1)
        y = term if y is None else y + term
    return y


@reference("Conv1D", "Conv2D")
def ref_conv(ctx: RefContext, layer: Layer, inputs: list[Value], call: Call) -> list[Value]:
    config = layer.config
    x = np.asarray(inputs[0].data, np.float64)
    spatial = x.ndim - 2
    y = _convolve(
        x,
        np.asarray(layer.weights[0], np.float64),
        _ints(config.get("strides", 1), spatial),
        _ints(config.get("dilation_rate", 1), spatial),
        str(config.get("padding", "valid")).lower(),
        int(config.get("groups", 1) or 1),
    )
    if config.get("use_bias", True):
        y = y + np.asarray(layer.weights[1], np.float64)
    return [Value(activation_fn(config.get("activation"), ctx.keras_major)(y))]


@reference("ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D")
def ref_conv_lstm(ctx: RefContext, layer: Layer, inputs: list[Value], call: Call) -> list[Value]:
    """Keras's ConvLSTM1D/2D/3D: gates i, f, c, o from an input convolution (the layer's own
    padding, strides and dilation) plus a recurrent one ("same", stride 1)."""
    config = layer.config
    x = np.asarray(inputs[0].data, np.float64)
    kernel, recurrent = (np.asarray(w, np.float64) for w in layer.weights[:2])
    filters = kernel.shape[-1] // 4
    bias = np.asarray(layer.weights[2], np.float64) if config.get("use_bias", True) else 0.0
    act = activation_fn(config.get("activation", "tanh"), ctx.keras_major)
    gate = activation_fn(config.get("recurrent_activation", "sigmoid"), ctx.keras_major)
    spatial = x.ndim - 3
    strides = _ints(config.get("strides", 1), spatial)
    dilations = _ints(config.get("dilation_rate", 1), spatial)
    padding = str(config.get("padding", "valid")).lower()
    steps = range(x.shape[1] - 1, -1, -1) if config.get("go_backwards") else range(x.shape[1])
    h = c = None
    sequence = []
    for t in steps:
        z = _convolve(x[:, t], kernel, strides, dilations, padding) + bias
        if h is None:
            h = c = np.zeros((*z.shape[:-1], filters))
        z = z + _convolve(h, recurrent, (1,) * spatial, (1,) * spatial, "same")
        zi, zf, zc, zo = np.split(z, 4, axis=-1)
        c = gate(zf) * c + gate(zi) * act(zc)
        h = gate(zo) * act(c)
        sequence.append(h)
    out = np.stack(sequence, axis=1) if config.get("return_sequences") else h
    result = [Value(out)]
    if config.get("return_state"):
        result += [Value(h), Value(c)]
    return result


@reference(
    "MaxPooling1D",
    "MaxPooling2D",
    "MaxPooling3D",
    "AveragePooling1D",
    "AveragePooling2D",
    "AveragePooling3D",
)
def ref_pooling(ctx: RefContext, layer: Layer, inputs: list[Value], call: Call) -> list[Value]:
    config = layer.config
    x = np.asarray(inputs[0].data, np.float64)
    spatial = x.ndim - 2
    windows = _ints(config.get("pool_size", 2), spatial)
    strides = _ints(config.get("strides") or windows, spatial)
    padding = str(config.get("padding", "valid")).lower()
    # Padded cells are NaN, so both max and mean skip them, as TensorFlow does.
    taps = np.stack([v for _, v in _windows(x, windows, strides, (1,) * spatial, padding, np.nan)])
    pooled = np.nanmax(taps, axis=0) if "Max" in layer.class_name else np.nanmean(taps, axis=0)
    return [Value(pooled)]


@reference("GlobalAveragePooling2D", "GlobalMaxPooling2D")
def ref_global_pool_2d(
    ctx: RefContext, layer: Layer, inputs: list[Value], call: Call
) -> list[Value]:
    x = np.asarray(inputs[0].data, np.float64)
    keep = bool(layer.config.get("keepdims", False))
    fn = np.mean if layer.class_name == "GlobalAveragePooling2D" else np.max
    return [Value(fn(x, axis=(1, 2), keepdims=keep))]


def keras_weight_order(class_name: str, config: dict) -> list[str]:
    """The order in which Keras stores these layers' weights, written here and not taken
    from ``weightspec``: a wrong order shared by converter and oracle would cancel out."""
    use = config.get
    if class_name in ("BatchNormalization", "LayerNormalization"):
        order = [("gamma", use("scale", True)), ("beta", use("center", True))]
        if class_name == "BatchNormalization":
            order += [("moving_mean", True), ("moving_variance", True)]
        return [name for name, present in order if present]
    if class_name == "Attention":
        return [
            name
            for name, present in [
                ("scale", use("use_scale", False)),
                ("concat_score_weight", use("score_mode", "dot") == "concat"),
            ]
            if present
        ]
    if class_name == "AdditiveAttention":
        return ["scale"] if use("use_scale", True) else []
    if class_name == "MultiHeadAttention":
        with_bias = use("use_bias", True)
        return [
            f"{projection}_{kind}"
            for projection in ("query", "key", "value", "output")
            for kind in (("kernel", "bias") if with_bias else ("kernel",))
        ]
    raise UnsupportedModelError(f"the reference has no weight order for {class_name}")


def _norm_params(layer: Layer, x: Array) -> tuple[list[int], dict[str, Array]]:
    """Normalized axes, and each named weight reshaped to broadcast against ``x``."""
    axis = layer.config.get("axis", -1)
    axes = sorted(a % x.ndim for a in (axis if isinstance(axis, (list, tuple)) else [axis]))
    shape = [x.shape[a] if a in axes else 1 for a in range(x.ndim)]
    names = keras_weight_order(layer.class_name, layer.config)
    params = {
        n: np.asarray(w, np.float64).reshape(shape)
        for n, w in zip(names, layer.weights, strict=True)
    }
    return axes, params


@reference("BatchNormalization")
def ref_batch_norm(ctx: RefContext, layer: Layer, inputs: list[Value], call: Call) -> list[Value]:
    x = np.asarray(inputs[0].data, np.float64)
    _, p = _norm_params(layer, x)
    eps = float(layer.config.get("epsilon", 1e-3))
    y = (x - p["moving_mean"]) / np.sqrt(p["moving_variance"] + eps)
    y = y * p.get("gamma", 1.0) + p.get("beta", 0.0)
    return [Value(y, inputs[0].mask)]


@reference("LayerNormalization")
def ref_layer_norm(ctx: RefContext, layer: Layer, inputs: list[Value], call: Call) -> list[Value]:
    x = np.asarray(inputs[0].data, np.float64)
    axes, p = _norm_params(layer, x)
    mean = x.mean(axis=tuple(axes), keepdims=True)
    var = ((x - mean) ** 2).mean(axis=tuple(axes), keepdims=True)
    y = (x - mean) / np.sqrt(var + float(layer.config.get("epsilon", 1e-3)))
    y = y * p.get("gamma", 1.0) + p.get("beta", 0.0)
    return [Value(y, inputs[0].mask)]


@reference("ReLU")
def ref_relu(ctx: RefContext, layer: Layer, inputs: list[Value], call: Call) -> list[Value]:
    config = layer.config
    x = np.asarray(inputs[0].data, np.float64)
    threshold = float(config.get("threshold") or 0.0)
    slope = float(config.get("negative_slope") or 0.0)
    y = np.where(x >= threshold, x, slope * (x - threshold))
    if config.get("max_value") is not None:
        y = np.minimum(y, float(config["max_value"]))
    return [Value(y, inputs[0].mask)]


@reference("LeakyReLU")
def ref_leaky_relu(ctx: RefContext, layer: Layer, inputs: list[Value], call: Call) -> list[Value]:
    x = np.asarray(inputs[0].data, np.float64)
    slope = float(layer.config.get("negative_slope", layer.config.get("alpha", 0.3)))
    return [Value(np.where(x > 0, x, slope * x), inputs[0].mask)]


@reference("PReLU")
def ref_prelu(ctx: RefContext, layer: Layer, inputs: list[Value], call: Call) -> list[Value]:
    x = np.asarray(inputs[0].data, np.float64)
    alpha = np.asarray(layer.weights[0], np.float64)
    return [Value(np.maximum(x, 0.0) + alpha * np.minimum(x, 0.0), inputs[0].mask)]


@reference("ELU")
def ref_elu(ctx: RefContext, layer: Layer, inputs: list[Value], call: Call) -> list[Value]:
    x = np.asarray(inputs[0].data, np.float64)
    alpha = float(layer.config.get("alpha", 1.0))
    return [Value(np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0))), inputs[0].mask)]


@reference("Softmax")
def ref_softmax_layer(
    ctx: RefContext, layer: Layer, inputs: list[Value], call: Call
) -> list[Value]:
    x = np.asarray(inputs[0].data, np.float64)
    axis = layer.config.get("axis", -1)
    axis = axis[0] if isinstance(axis, (list, tuple)) else axis
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return [Value(e / e.sum(axis=axis, keepdims=True))]


def _pair(value: object) -> tuple[int, int]:
    return tuple(value) if isinstance(value, (list, tuple)) else (int(value), int(value))


@reference("ZeroPadding1D")
def ref_zero_pad(ctx: RefContext, layer: Layer, inputs: list[Value], call: Call) -> list[Value]:
    before, after = _pair(layer.config.get("padding", 1))
    return [Value(np.pad(inputs[0].data, [(0, 0), (before, after), (0, 0)]))]


@reference("Cropping1D")
def ref_crop(ctx: RefContext, layer: Layer, inputs: list[Value], call: Call) -> list[Value]:
    start, end = _pair(layer.config.get("cropping", 1))
    x = inputs[0].data
    return [Value(x[:, start : x.shape[1] - end])]


@reference("UpSampling1D")
def ref_upsample(ctx: RefContext, layer: Layer, inputs: list[Value], call: Call) -> list[Value]:
    return [Value(np.repeat(inputs[0].data, int(layer.config.get("size", 2)), axis=1))]


def ref_time_distributed(
    ctx: RefContext, layer: Layer, inputs: list[Value], call: Call
) -> list[Value]:
    """Keras's TimeDistributed: the wrapped layer on every time step, the mask kept."""
    inner = layer.config["layer"]
    inner_layer = Layer(layer.name, inner["class_name"], inner["config"], layer.weights)
    x = np.asarray(inputs[0].data)
    batch, steps = x.shape[:2]
    folded = Value(x.reshape(batch * steps, *x.shape[2:]))
    (out,) = REFERENCES[inner["class_name"]](ctx, inner_layer, [folded], call)[:1]
    data = np.asarray(out.data).reshape(batch, steps, *out.data.shape[1:])
    return [Value(data, inputs[0].mask)]


REFERENCES["TimeDistributed"] = ref_time_distributed


@reference("ConvertToTensor")
def ref_convert_to_tensor(
    ctx: RefContext, layer: Layer, inputs: list[Value], call: Call
) -> list[Value]:
    return [inputs[0]]


def _unit(x: Array, axis: int) -> Array:
    return x / np.sqrt(np.maximum((x * x).sum(axis=axis, keepdims=True), 1e-12))


@reference("Dot")
def ref_dot(ctx: RefContext, layer: Layer, inputs: list[Value], call: Call) -> list[Value]:
    x, y = (np.asarray(v.data, np.float64) for v in inputs)
    axes = layer.config.get("axes", -1)
    ax, ay = (axes, axes) if isinstance(axes, int) else axes
    ax, ay = ax % x.ndim, ay % y.ndim
    if layer.config.get("normalize"):
        x, y = _unit(x, ax), _unit(y, ay)
    if x.ndim == 2:
        return [Value((x * y).sum(axis=1, keepdims=True))]
    # Keras's batch_dot: contract x's axis ax with y's axis ay, sample by sample.
    letters_x = ["b", "i", "k"] if ax == 2 else ["b", "k", "i"]
    letters_y = ["b", "k", "j"] if ay == 1 else ["b", "j", "k"]
    spec = f"{''.join(letters_x)},{''.join(letters_y)}->bij"
    return [Value(np.einsum(spec, x, y))]


@reference("Attention", "AdditiveAttention")
def ref_attention(ctx: RefContext, layer: Layer, inputs: list[Value], call: Call) -> list[Value]:
    config = layer.config
    q, v = (np.asarray(t.data, np.float64) for t in inputs[:2])
    k = np.asarray(inputs[2].data, np.float64) if len(inputs) > 2 else v
    names = keras_weight_order(layer.class_name, config)
    w = {n: np.asarray(a, np.float64) for n, a in zip(names, layer.weights, strict=True)}
    scale = w.get("scale")
    pairs = q[:, :, None, :] + k[:, None, :, :]  # [batch, Tq, Tv, dim]
    if layer.class_name == "AdditiveAttention":
        scores = (np.tanh(pairs) * (1.0 if scale is None else scale)).sum(axis=-1)
    elif config.get("score_mode", "dot") == "concat":
        inner = pairs if scale is None else scale * pairs
        scores = w["concat_score_weight"] * np.tanh(inner).sum(axis=-1)
    else:
        scores = np.einsum("bqd,bvd->bqv", q, k) * (1.0 if scale is None else scale)
    allowed = np.ones(scores.shape, bool)
    if inputs[1].mask is not None:
        allowed &= inputs[1].mask[:, None, :]
    if call.kwargs.get("use_causal_mask") or config.get("causal"):
        allowed &= np.tril(np.ones(scores.shape[1:], bool))
    scores = scores - 1.0e9 * (~allowed)
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights = e / e.sum(axis=-1, keepdims=True)
    result = weights @ v
    q_mask = inputs[0].mask
    if q_mask is not None:
        result = result * q_mask[..., None]
    out = [Value(result, q_mask)]
    if call.kwargs.get("return_attention_scores"):
        out.append(Value(weights))
    return out


@reference("MultiHeadAttention")
def ref_multi_head_attention(
    ctx: RefContext, layer: Layer, inputs: list[Value], call: Call
) -> list[Value]:
    """Keras's MultiHeadAttention over the time axis, einsum by einsum."""
    names = keras_weight_order(layer.class_name, layer.config)
    w = {n: np.asarray(a, np.float64) for n, a in zip(names, layer.weights, strict=True)}
    q_in, v_in = inputs[0], inputs[1]
    k_in = inputs[2] if len(inputs) > 2 else v_in

    def project(x: Value, part: str) -> Array:
        y = np.einsum("btd,dhs->bths", np.asarray(x.data, np.float64), w[f"{part}_kernel"])
        return y + w.get(f"{part}_bias", 0.0)

    q = project(q_in, "query") / np.sqrt(w["query_kernel"].shape[2])
    k, v = project(k_in, "key"), project(v_in, "value")
    scores = np.einsum("bths,bvhs->bhtv", q, k)
    allowed = np.ones((scores.shape[0], scores.shape[2], scores.shape[3]), bool)
    masked = False
    if q_in.mask is not None:
        allowed &= q_in.mask[:, :, None]
        masked = True
    for source in (v_in, k_in) if k_in is not v_in else (v_in,):
        if source.mask is not None:
            allowed &= source.mask[:, None, :]
            masked = True
    if call.kwargs.get("use_causal_mask"):
        allowed &= np.tril(np.ones(allowed.shape[1:], bool))
        masked = True
    allowed = allowed[:, None]  # one mask for every head
    if masked:
        scores = np.where(allowed, scores, -1.0e9)
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights = e / e.sum(axis=-1, keepdims=True)
    if masked and ctx.keras_major >= 3 and call.kwargs.get("return_attention_scores"):
        # Keras 3's Softmax(mask) path; its default dot_product_attention path keeps them.
        weights = np.where(allowed, weights, 0.0)
    attended = np.einsum("bhtv,bvhs->bths", weights, v)
    out = np.einsum("bths,hse->bte", attended, w["output_kernel"]) + w.get("output_bias", 0.0)
    result = [Value(out, q_in.mask)]
    if call.kwargs.get("return_attention_scores"):
        result.append(Value(weights))
    return result
