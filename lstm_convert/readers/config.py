"""Parse a Keras model config (Keras 1, 2 and 3; Sequential and Functional) into a
weightless :class:`KerasModel`. The config is treated as data: nothing named in it
is imported or instantiated, and Lambda code is never unmarshalled.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError, UnsupportedModelError
from ..model import Call, KerasModel, Layer, SourceInfo, TensorRef, check_dim
from ..weightspec import MODEL_CLASSES

MAX_CONFIG_DEPTH = 64


def check_depth(obj: Any, limit: int = MAX_CONFIG_DEPTH) -> None:
    """Refuse absurdly nested JSON before walking it recursively."""
    stack = [(obj, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise ConfigError(f"model config is nested deeper than {limit} levels")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


# What walking a JSON value of the wrong shape raises (a number where a list belongs, a
# list where a dict belongs). Raised while the file's config is read, they are the
# config's fault; everywhere else they are bugs.
WRONG_SHAPE = (TypeError, IndexError, AttributeError, KeyError, ValueError)


def parse_model_config(model_config: Any, source: SourceInfo) -> KerasModel:
    check_depth(model_config)
    if not isinstance(model_config, dict) or "class_name" not in model_config:
        raise ConfigError("model config is not a Keras model description")
    try:
        return _parse_model(model_config, source)
    except WRONG_SHAPE as exc:
        first = (str(exc).strip().splitlines() or [""])[0][:120]
        raise ConfigError(f"model config is malformed ({exc.__class__.__name__}: {first})") from exc


def _parse_model(entry: dict[str, Any], source: SourceInfo) -> KerasModel:
    class_name = entry.get("class_name")
    config = entry.get("config")
    if class_name == "Sequential":
        return _parse_sequential(config, source)
    if class_name in ("Functional", "Model"):
        return _parse_functional(config, source)
    raise UnsupportedModelError(
        f"top-level class {class_name!r} is not a Sequential or Functional model "
        "(subclassed models have no config to convert)"
    )


def _normalize_dtype(dtype: Any) -> str:
    if isinstance(dtype, dict):  # Keras 3 DTypePolicy
        dtype = dtype.get("config", {}).get("name", "float32")
    if not isinstance(dtype, str):
        return "float32"
    if dtype.startswith("mixed_"):
        return "float32"
    return dtype


def _input_layer(name: str, batch_shape: list[Any], dtype: Any) -> Layer:
    for axis, dim in enumerate(batch_shape):
        check_dim(dim, f"input {name!r} axis {axis}")
    return Layer(
        name=name,
        class_name="InputLayer",
        config={"name": name, "batch_shape": list(batch_shape), "dtype": _normalize_dtype(dtype)},
    )


def _batch_shape_of(config: dict[str, Any]) -> list[Any] | None:
    for key in ("batch_shape", "batch_input_shape"):
        if config.get(key) is not None:
            return list(config[key])
    if config.get("input_shape") is not None:  # Keras 1 / 2 shorthand
        return [None, *config["input_shape"]]
    if config.get("shape") is not None:
        return [None, *config["shape"]]
    if config.get("input_dim") is not None and config.get("input_length") is not None:
        return [None, config["input_length"]]
    return None


def _entry_name(entry: dict[str, Any]) -> str:
    name = entry.get("name") or entry.get("config", {}).get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError("a layer in the model config has no name")
    return name


def _make_layer(entry: dict[str, Any], source: SourceInfo) -> Layer:
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
        raise ConfigError("a layer entry in the model config is malformed")
    class_name = entry.get("class_name")
    if not isinstance(class_name, str):
        raise ConfigError("a layer entry in the model config has no class_name")
    name = _entry_name(entry)
    layer = Layer(name=name, class_name=class_name, config=entry["config"])
    layer.op_layer = source.keras_major >= 3 and _is_operation(entry)
    if class_name in MODEL_CLASSES:
        layer.submodel = _parse_model(entry, source)
    return layer


OPERATION_MODULES = ("keras.src.ops.", "keras.ops.")
# Every Keras layer's config carries "trainable"; a traced operation's never does.
LAYER_ONLY_KEY = "trainable"


def _is_operation(entry: dict[str, Any]) -> bool:
    """A Keras 3 operation in a Functional config: its module says so in ``.keras``
    configs; legacy ``.h5`` configs write no module, and an operation's config then lacks
    the keys every layer has."""
    module = entry.get("module")
    if isinstance(module, str):
        return module.startswith(OPERATION_MODULES)
    if entry.get("class_name") in ("InputLayer", *MODEL_CLASSES):
        return False
    return LAYER_ONLY_KEY not in entry["config"]


def _parse_sequential(config: Any, source: SourceInfo) -> KerasModel:
    if isinstance(config, list):  # Keras 2.0/2.1 and Keras 1: a bare list
        entries, name, build_shape = config, "sequential", None
    elif isinstance(config, dict):
        entries = config.get("layers")
        name = config.get("name", "sequential")
        build_shape = config.get("build_input_shape")
    else:
        raise ConfigError("Sequential config is malformed")
    if not isinstance(entries, list) or not entries:
        raise ConfigError("Sequential model has no layers")

    layers: list[Layer] = []
    input_layer: Layer | None = None
    for entry in entries:
        layer = _make_layer(entry, source)
        if layer.class_name == "InputLayer":
            if input_layer is not None or layers:
                raise UnsupportedModelError("Sequential model with an InputLayer after layers")
            shape = _batch_shape_of(layer.config)
            if shape is None:
                raise ConfigError(f"InputLayer {layer.name!r} has no shape")
            input_layer = _input_layer(layer.name, shape, layer.config.get("dtype"))
            continue
        layers.append(layer)
    if not layers:
        raise ConfigError("Sequential model has no layers")

    if input_layer is None:
        first = layers[0]
        shape = _batch_shape_of(first.config) or build_shape
        if shape is None and isinstance(first.config.get("build_config"), dict):
            shape = first.config["build_config"].get("input_shape")
        if shape is None:
            raise UnsupportedModelError(
                "Sequential model has no input shape (it was never built); "
                "rebuild it with an Input layer before saving"
            )
        dtype = first.config.get("input_dtype")  # Keras 1 names the input dtype
        if dtype is None:
            # Keras 2 declares an Embedding-first Sequential's token input as float.
            dtype = "float32" if first.class_name == "Embedding" else first.config.get("dtype")
        input_layer = _input_layer(f"{first.name}_input", shape, dtype)

    previous = TensorRef(input_layer.name)
    for layer in layers:
        layer.calls = [Call(inputs=[previous])]
        previous = TensorRef(layer.name)
    return KerasModel(
        name=name,
        class_name="Sequential",
        layers=[input_layer, *layers],
        inputs=[TensorRef(input_layer.name)],
        outputs=[previous],
        source=source,
    )


def _is_keras3_tensor(obj: Any) -> bool:
    return isinstance(obj, dict) and obj.get("class_name") == "__keras_tensor__"


def _keras3_refs(obj: Any) -> list[TensorRef]:
    """All Keras-3 tensor references inside ``obj``, in order."""
    if _is_keras3_tensor(obj):
        history = obj.get("config", {}).get("keras_history")
        return [_ref(history)]
    if isinstance(obj, (list, tuple)):
        return [ref for item in obj for ref in _keras3_refs(item)]
    if isinstance(obj, dict):
        return [ref for item in obj.values() for ref in _keras3_refs(item)]
    return []


def _keras3_kwarg(value: Any) -> Any:
    refs = _keras3_refs(value)
    if not refs:
        return value
    if _is_keras3_tensor(value):
        return refs[0]
    return refs


def _is_index(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _ref(item: Any) -> TensorRef:
    if (
        not isinstance(item, (list, tuple))
        or len(item) < 3
        or not isinstance(item[0], str)
        or not (_is_index(item[1]) and _is_index(item[2]))
    ):
        raise ConfigError(f"malformed tensor reference in model config: {item!r:.80}")
    return TensorRef(item[0], item[1], item[2])


def _parse_calls(entry: dict[str, Any]) -> list[Call]:
    calls = []
    for node in entry.get("inbound_nodes") or []:
        if isinstance(node, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
            args = node.get("args", [])
            inputs = _keras3_refs(args)
            kwargs = {k: _keras3_kwarg(v) for k, v in (node.get("kwargs") or {}).items()}
            constants = [a for a in args if not _keras3_refs(a)] if isinstance(args, list) else []
            if constants:  # e.g. the 0 of keras.ops.not_equal(tokens, 0)
                kwargs["args"] = constants
                # keras.ops calls: tensors and constants in their positional order
                kwargs["operands"] = [_keras3_kwarg(a) for a in args]
            calls.append(Call(inputs=inputs, kwargs=kwargs))
        elif isinstance(node, list):  # Keras 1/2: [[name, node, tensor, {kwargs}], ...]
            if node and isinstance(node[0], str):  # tf.keras op layers write one flat ref
                node = [node]
            node = _flat_refs(node)
            inputs = [_ref(item) for item in node]
            kwargs: dict[str, Any] = {}
            for item in node:
                if len(item) > 3 and isinstance(item[3], dict):
                    kwargs.update({k: _keras2_kwarg(v) for k, v in item[3].items()})
            calls.append(Call(inputs=inputs, kwargs=kwargs))
        else:
            raise ConfigError("malformed inbound_nodes in model config")
    return calls


def _flat_refs(items: list[Any]) -> list[Any]:
    """tf.keras writes nested call structures as nested lists of references, e.g. the
    states of a StackedRNNCells layer: ``[[x, 0, 0, {}], [[rnn, 0, 1, {}], [rnn, 0, 2, {}]]]``.
    Keras flattens them the same way when it calls the layer."""
    flat: list[Any] = []
    pending = list(reversed(items))
    while pending:
        item = pending.pop()
        if isinstance(item, list) and item and isinstance(item[0], list):
            pending.extend(reversed(item))
        else:
            flat.append(item)
    return flat


def _is_keras2_ref(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 3
        and isinstance(value[0], str)
        and all(isinstance(v, int) for v in value[1:])
    )


def _keras2_kwarg(value: Any) -> Any:
    """tf.keras writes tensors passed by keyword (e.g. ``mask``) as [layer, node, tensor]."""
    if _is_keras2_ref(value):
        return _ref(value)
    if isinstance(value, list) and value and all(_is_keras2_ref(v) for v in value):
        return [_ref(v) for v in value]
    return value


def _ref_list(value: Any) -> list[TensorRef]:
    if isinstance(value, dict):  # Keras 3 dict inputs/outputs
        value = list(value.values())
    if not isinstance(value, list) or not value:
        raise ConfigError("Functional model config lists no inputs or outputs")
    if isinstance(value[0], str):  # Keras 3 writes a single tensor flat
        return [_ref(value)]
    return [_ref(item) for item in value]


def _skip_nested_first_nodes(model: KerasModel) -> None:
    """Keras 1/2 count a nested model's own Input-to-output node, absent from the config.

    So its first call in this model is node 1 in the references; shift them to ours.
    """
    nested = {layer.name for layer in model.layers if layer.submodel is not None}
    if not nested:
        return

    def fix(ref: TensorRef) -> TensorRef:
        if ref.layer in nested and ref.node > 0:
            return TensorRef(ref.layer, ref.node - 1, ref.index)
        return ref

    for layer in model.layers:
        for call in layer.calls:
            call.inputs = [fix(ref) for ref in call.inputs]
            for key, value in call.kwargs.items():
                if isinstance(value, TensorRef):
                    call.kwargs[key] = fix(value)
                elif isinstance(value, list):
                    call.kwargs[key] = [fix(v) if isinstance(v, TensorRef) else v for v in value]
    model.outputs = [fix(ref) for ref in model.outputs]


def _parse_functional(config: Any, source: SourceInfo) -> KerasModel:
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise ConfigError("Functional config is malformed")
    layers = []
    for entry in config["layers"]:
        layer = _make_layer(entry, source)
        if layer.class_name == "InputLayer":
            shape = _batch_shape_of(layer.config)
            if shape is None:
                raise ConfigError(f"InputLayer {layer.name!r} has no shape")
            layer = _input_layer(layer.name, shape, layer.config.get("dtype"))
        else:
            layer.calls = _parse_calls(entry)
        layers.append(layer)
    names = [layer.name for layer in layers]
    if len(set(names)) != len(names):
        raise ConfigError("model config has duplicate layer names")
    model = KerasModel(
        name=config.get("name", "model"),
        class_name="Functional",
        layers=layers,
        inputs=_ref_list(config.get("input_layers")),
        outputs=_ref_list(config.get("output_layers")),
        source=source,
    )
    if source.keras_major < 3:
        _skip_nested_first_nodes(model)
    known = set(names)
    for ref in model.inputs + model.outputs:
        if ref.layer not in known:
            raise ConfigError(f"model config refers to unknown layer {ref.layer!r}")
    return model
