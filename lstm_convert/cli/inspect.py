"""``lstm-convert inspect``: describe a Keras file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .app import ConfigOption, DebugOption, JsonOption, reported_errors


def inspect(
    model: Annotated[Path, typer.Argument(metavar="MODEL", help="Keras file to describe.")],
    config: ConfigOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Show a Keras file's format, Keras version, and every layer with shapes and options."""
    with reported_errors(debug):
        from ..api import inspect as api_inspect

        result = api_inspect(model, config_path=config)
        if as_json:
            from ..render.documents import inspect_document
            from ..render.plain import print_json

            print_json(inspect_document(result))
            return
        from ..render.results import print_inspect

        print_inspect(result)
