"""A live status on stderr for slow single-file work (convert, verify, explain).

Shown only on a terminal, without --json, and only once the work has taken more than
SHOW_AFTER seconds: quick runs print nothing extra, pipes and logs never see it.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

SHOW_AFTER = 0.5  # seconds
PHASES = {
    "reading": "reading the Keras file",
    "building": "building the ONNX graph",
    "writing": "writing the ONNX file",
    "checking": "checking parity with onnxruntime",
    "explaining": "explaining the recurrent layers",
}


def wanted(as_json: bool) -> bool:
    """A status only for a person watching a terminal."""
    return not as_json and sys.stderr.isatty()


class PhaseStatus:
    """``with PhaseStatus(steps, enabled) as phase:`` gives ``phase(name)`` (or None when
    disabled), which shows "[n/m] what is happening" once SHOW_AFTER seconds have passed."""

    def __init__(
        self,
        steps: tuple[str, ...],
        enabled: bool,
        console: Console | None = None,
        delay: float = SHOW_AFTER,
    ) -> None:
        self.steps, self.enabled, self.console, self.delay = steps, enabled, console, delay
        self.text = "working"
        self.status = None
        self.lock = threading.Lock()
        self.timer: threading.Timer | None = None

    def __enter__(self) -> Callable[[str], None] | None:
        if not self.enabled:
            return None
        self.timer = threading.Timer(self.delay, self._show)
        self.timer.daemon = True
        self.timer.start()
        return self.phase

    def phase(self, name: str) -> None:
        number = self.steps.index(name) + 1 if name in self.steps else 0
        what = PHASES.get(name, name)
        self.text = f"[{number}/{len(self.steps)}] {what}" if number else what
        with self.lock:
            if self.status is not None:
                self.status.update(self.text)

    def _show(self) -> None:
        from rich.console import Console

        with self.lock:
            if self.timer is None:  # already finished
                return
            console = self.console or Console(stderr=True)
            self.status = console.status(self.text)
            self.status.start()

    def __exit__(self, *exc_info: object) -> None:
        with self.lock:
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None
            if self.status is not None:
                self.status.stop()
                self.status = None
