"""Converters, one per Keras layer family, registered by Keras class name."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import UnsupportedModelError
from ..export.builder import Tensor
from ..export.context import ExportContext
from ..model import Call, Layer

Converter = Callable[[ExportContext, Layer, list[Tensor], Call], list[Tensor]]
CONVERTERS: dict[str, Converter] = {}


def converter(*class_names: str) -> Callable[[Converter], Converter]:
    def register(fn: Converter) -> Converter:
        for class_name in class_names:
            if class_name in CONVERTERS:
                raise RuntimeError(f"two converters for {class_name}")
            CONVERTERS[class_name] = fn
        return fn

    return register


def supported_classes() -> list[str]:
    return sorted(CONVERTERS)


# Keras 3 operations traced into Functional graphs (keras.ops.*), by class name. Some
# share a class name with a layer (Concatenate, Add, Multiply, ...) but not its arguments.
OP_CONVERTERS: dict[str, Converter] = {}


def op_converter(*class_names: str) -> Callable[[Converter], Converter]:
    def register(fn: Converter) -> Converter:
        for class_name in class_names:
            if class_name in OP_CONVERTERS:
                raise RuntimeError(f"two operation converters for {class_name}")
            OP_CONVERTERS[class_name] = fn
        return fn

    return register


def get_converter(layer: Layer) -> Converter:
    if layer.op_layer:
        op = OP_CONVERTERS.get(layer.class_name)
        if op is not None:
            return op
    fn = CONVERTERS.get(layer.class_name)
    if fn is not None:
        return fn
    why = ""
    if layer.class_name == "Lambda":
        why = "Lambda layers hold Python code, which lstm-convert never runs; "
    raise UnsupportedModelError(
        f"layer {layer.name!r} ({layer.class_name}) blocks the conversion: {why}"
        f"supported classes are {', '.join(supported_classes())}"
    )
