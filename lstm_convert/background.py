"""One function run in a thread while the caller goes on (`convert` overlaps its steps).

Used as a context manager: :meth:`Background.result` waits for the value and raises
what the function raised, as if it had been called there; leaving the block sets
:attr:`Background.cancel` (for functions that look at it) and waits for the thread, so
none outlives the conversion.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Background(Generic[T]):
    """``function()`` in a thread of its own, started on entering the block (or, with
    ``start_on_enter=False``, by :meth:`start` or else by :meth:`result`)."""

    def __init__(self, name: str, function: Callable[[], T], start_on_enter: bool = True) -> None:
        self.cancel = threading.Event()
        self._function = function
        self._start_on_enter = start_on_enter
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._started = False

    def start(self) -> None:
        """Start the thread (once; later calls do nothing)."""
        if not self._started:
            self._started = True
            self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._function()
        except BaseException as error:  # raised again by result(), in the caller's thread
            self._error = error

    def __enter__(self) -> Background[T]:
        if self._start_on_enter:
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cancel.set()
        if self._started:
            self._thread.join()

    def result(self) -> T:
        self.start()
        self._thread.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        return self._value  # type: ignore[return-value]
