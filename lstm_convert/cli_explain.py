"""The `explain` command (registered on the main typer app)."""

from __future__ import annotations
