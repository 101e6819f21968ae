"""Output without rich: strict JSON, and the plain summary of ``convert`` on a pipe.

Importing this module imports nothing heavy, so a piped ``convert`` never loads rich.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

from ..safe_text import visible


def print_json(data: object) -> None:
    """Strict JSON (RFC 8259): NaN and infinities, which it cannot hold, become null."""
    sys.stdout.write(strict_json(data) + "\n")


def strict_json(data: object) -> str:
    return json.dumps(finite(data), indent=2, default=_json_default, allow_nan=False)


def finite(value: object) -> object:
    """``value`` with every non-finite float replaced by None, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


def _json_default(value: object) -> object:
    if hasattr(value, "tolist"):
        return finite(value.tolist())
    if isinstance(value, Path):
        return str(value)
    if is_dataclass(value) and not isinstance(value, type):
        return finite(asdict(value))
    return str(value)


SHOWN_OPS = 4  # distinct op types named before the list is summarised


def summarize_ops(ops: list[str], shown: int = SHOWN_OPS) -> str:
    """``Transpose, LSTM ×2, … (23 ops)``: each op type once, with its count, in order of
    first appearance; past ``shown`` types, the total. ``-`` for none."""
    if not ops:
        return "-"
    counts: dict[str, int] = {}
    for op in ops:
        counts[op] = counts.get(op, 0) + 1
    named = [f"{op} ×{n}" if n > 1 else op for op, n in counts.items()]
    if len(named) <= shown:
        return ", ".join(named)
    return ", ".join(named[:shown]) + f", … ({len(ops)} ops)"


def plain_convert_summary(result: Any) -> str:
    """One line per fact; every string from the file with its control characters visible."""
    lines = [visible(f"{result.input} ({result.format}, Keras {result.keras_version})")]
    for layer in result.layers:
        ops = summarize_ops(layer.onnx_ops)
        lines.append(visible(f"  {layer.name} ({layer.class_name}) -> {ops}"))
    if result.parity is not None:
        for out in result.parity.outputs + result.parity.expected:
            lines.append(
                visible(
                    f"  parity {out.name} vs {out.against}: max abs error {out.max_abs_error:.2e}"
                )
            )
        verdict = f"max abs error {result.parity.max_abs_error:.2e}"
    else:
        verdict = "not verified (--no-verify)"
    lines.append(visible(f"wrote {result.output} - {verdict} - {result.seconds:.2f} s"))
    return "\n".join(lines) + "\n"
