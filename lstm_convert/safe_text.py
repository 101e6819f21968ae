"""Text from files, for the terminal: control characters made visible, never markup.

Every string read from a file (layer names, file names, config values, messages that
quote them) is hostile: an escape sequence can retitle or repaint the terminal, a
newline can forge a line of output, and rich would take ``[/]`` for markup. ``visible``
spells each control character out (``\\x1b``, ``\\n``), and ``plain`` wraps the result in
a rich ``Text``, which is rendered as is, never parsed for markup. JSON output needs
neither: ``json.dumps`` escapes control characters itself.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.text import Text

# C0 and C1 controls, DEL, and the Unicode marks that reorder or break displayed text.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _spell(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(value: object) -> str:
    """``str(value)`` on one line, with every control character written out as text."""
    return _CONTROL.sub(_spell, str(value))


def plain(value: object, style: str = "") -> Text:
    """A rich Text of ``visible(value)``: printed verbatim, never read as markup."""
    from rich.text import Text

    return Text(visible(value), style=style)
