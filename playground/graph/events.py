"""A tiny observer: ``event.connect(callback)``, ``event.emit(*args)``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Event:
    """``before`` (optional) runs ahead of the callbacks on every emit: the model counts its
    revision there, so a callback already sees the new revision."""

    __slots__ = ("_before", "_callbacks", "name")

    def __init__(self, name: str = "", before: Callable[[], None] | None = None) -> None:
        self.name = name
        self._before = before
        self._callbacks: list[Callable[..., Any]] = []

    def connect(self, callback: Callable[..., Any]) -> None:
        if callback not in self._callbacks:
            self._callbacks.append(callback)

    def disconnect(self, callback: Callable[..., Any]) -> None:
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, *args: Any) -> None:
        if self._before is not None:
            self._before()
        for callback in list(self._callbacks):
            callback(*args)

    def __len__(self) -> int:
        return len(self._callbacks)
