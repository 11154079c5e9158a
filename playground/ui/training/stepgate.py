"""The step gate: the GUI thread holds the training thread at its next step boundary for a short
burst of work that keeps the interpreter lock anyway (a live plot's update and its paint).

Why: pyqtgraph updates and paints a plot in Python, holding the interpreter lock (GIL) all
through, except that PySide lets it go for an instant at every Qt value it makes (a QRectF, a
QPointF, a QPen: a few hundred per plot repaint). A training thread waiting for the lock takes it
at each of those instants, and the GUI thread must then take it back: hundreds of hand-overs per
repaint, each costing both threads a wake-up, and stretching the repaint. Held at a step
boundary instead, the training thread waits once and goes on once the burst is over.

Measured in one process, alternating runs (moons, Loss tab, canvas alive, three A/Bs of 12 to
14 rounds): the training thread's context switches 456 → 316, 459 → 335 and 449 → 303 a second,
throughput ratio 0.915 → 0.925, 0.911 → 0.920 and 0.916 → 0.918 (a small gain, inside the
rounds' spread). Holding it through the canvas's updates too (Python slots
between which Qt renders without the lock) gained nothing (0.912): the gate is for plot bursts.

Rules: only the GUI thread holds the gate (:meth:`StepGate.held`, re-entrant: a paint inside a
redraw is one burst); it never waits more than ``GUI_TIMEOUT`` for it (the training thread only
passes through it). The training thread calls :meth:`StepGate.pass_through` between two steps;
it never waits more than ``WORKER_TIMEOUT`` either, so a GUI thread that blocks inside a burst
(it should not) cannot stop training for long.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

GUI_TIMEOUT = 0.05  # seconds the GUI thread may wait for the gate (it is free but for instants)
WORKER_TIMEOUT = 0.5  # seconds the training thread waits at most at a held gate


class StepGate:
    """One lock: held by the GUI thread for a burst, passed through by the training thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0  # nesting of held() in the GUI thread (touched by that thread only)
        self.parked = threading.Event()  # set while the training thread waits at the gate
        self.holds = 0  # bursts held so far (outermost held() blocks), for tests and benchmarks

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Hold the training thread at its next step boundary until the block ends (GUI thread
        only). Nested blocks are one burst."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        got = self._lock.acquire(timeout=GUI_TIMEOUT)
        self._depth = 1
        self.holds += 1
        try:
            yield
        finally:
            self._depth = 0
            if got:
                self._lock.release()

    @property
    def is_held(self) -> bool:
        return self._lock.locked()

    def pass_through(self) -> None:
        """Between two steps (training thread): wait while the GUI thread holds the gate."""
        lock = self._lock
        if not lock.locked():
            return
        self.parked.set()
        try:
            if lock.acquire(timeout=WORKER_TIMEOUT):
                lock.release()
        finally:
            self.parked.clear()


STEP_GATE = StepGate()

__all__ = ["GUI_TIMEOUT", "STEP_GATE", "WORKER_TIMEOUT", "StepGate"]
