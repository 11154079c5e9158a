"""How much GUI-thread CPU time the canvas's Python paint methods take (a live run paces its
canvas updates by it).

The canvas view itself has no Python ``paintEvent``: while Qt renders the scene from C++ (wires,
ports, cached node pictures) it does not hold the interpreter lock the training thread needs. A
Python override would hold it for the whole render — measured on a 2-core machine, a thread
busy in Python ran at 60% of its idle speed beside a C++-only view repainting continuously and
at 37% beside the same view with an empty Python ``paintEvent`` override. So the time is taken
where Python runs anyway: in the items' own ``paint`` methods (decorated with :func:`timed`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class PaintClock:
    seconds = 0.0  # GUI-thread CPU seconds spent in the canvas items' paint methods so far


def timed(paint: F) -> F:
    """Add the time a ``paint`` method takes to :attr:`PaintClock.seconds`."""

    @functools.wraps(paint)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.thread_time()
        try:
            return paint(*args, **kwargs)
        finally:
            PaintClock.seconds += time.thread_time() - t0

    return wrapper  # type: ignore[return-value]
