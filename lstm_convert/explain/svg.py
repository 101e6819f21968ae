"""SVG and HTML copies of the explain rendering, written atomically and self-contained.

Rich's default SVG template loads Fira Code from a CDN: offline, the text then falls back
to another font and the borders drift. This template uses the system's monospace fonts
and refers to nothing outside the file (each text run carries its own ``textLength``, so
any monospace font lines up).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

from ..outputs import atomic_target

if TYPE_CHECKING:
    from .model import ExplainResult

EXPORT_WIDTH = 120  # columns of --export-svg / --export-html when --width is not given
EXPORT_KINDS = ("svg", "html")
MONOSPACE = (
    'ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", '
    '"Liberation Mono", monospace'
)
SVG_FORMAT = (
    """<svg class="rich-terminal" viewBox="0 0 {width} {height}" \
xmlns="http://www.w3.org/2000/svg">
    <style>
    .{unique_id}-matrix {{
        font-family: """
    + MONOSPACE.replace("{", "{{").replace("}", "}}")
    + """;
        font-size: {char_height}px;
        line-height: {line_height}px;
        font-variant-east-asian: full-width;
    }}
    .{unique_id}-title {{
        font-size: 18px;
        font-weight: bold;
        font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
    }}
    {styles}
    </style>
    <defs>
    <clipPath id="{unique_id}-clip-terminal">
      <rect x="0" y="0" width="{terminal_width}" height="{terminal_height}" />
    </clipPath>
    {lines}
    </defs>
    {chrome}
    <g transform="translate({terminal_x}, {terminal_y})" \
clip-path="url(#{unique_id}-clip-terminal)">
    {backgrounds}
    <g class="{unique_id}-matrix">
    {matrix}
    </g>
    </g>
</svg>
"""
)


def save_exports(
    result: ExplainResult, exports: list[tuple[Path, str]], width: int, title: str, force: bool
) -> None:
    """Render ``result`` once into a recording console and save each
    (path, "svg" | "html") atomically."""
    from rich.console import Console

    from ..render.explain import print_explain

    console = Console(record=True, width=width, file=io.StringIO(), force_terminal=True)
    print_explain(result, console)
    for path, kind in exports:
        with atomic_target(path, force) as temp_path:
            if kind == "svg":
                console.save_svg(str(temp_path), title=title, clear=False, code_format=SVG_FORMAT)
            else:
                console.save_html(str(temp_path), clear=False)
