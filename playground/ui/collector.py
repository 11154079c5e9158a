"""Python's cyclic garbage collector runs on the GUI thread only (ARCHITECTURE.md §5).

Left on, the collector runs on whichever thread happens to allocate — the training thread most
of the time. If it finalises a Qt widget left in a reference cycle there, the widget's C++
destructor takes a Qt mutex on the training thread and then waits for the GIL, while the GUI
thread holds the GIL and waits for that mutex: the whole app freezes. So automatic collection is
turned off and a timer in the GUI thread collects instead, by generation, with the usual
thresholds — pyqtgraph's :class:`~pyqtgraph.util.garbage_collector.GarbageCollector`, made for
exactly this. The app's start-up ``gc.freeze()`` keeps a full collection well under a
millisecond, so a tick never stalls the GUI thread.

:func:`install` is idempotent and is called by the app at start-up, by every MainWindow and by
the training controller before it starts a thread, so that no training thread ever runs while
automatic collection is on.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass

from pyqtgraph.util.garbage_collector import GarbageCollector
from PySide6.QtCore import QCoreApplication, QThread

INTERVAL = 0.1  # seconds between two checks of the generation counts
# while a run trains: each check wakes the GUI thread, which must then take the interpreter lock
# from the training thread (~0.1 ms of its time a wake-up); the training thread's records are
# freed by reference counting, so the counts grow slowly and a check twice a second keeps up
RUN_INTERVAL = 0.5


@dataclass
class CollectorStats:
    checks: int = 0
    collections: int = 0  # checks that collected at least generation 0
    seconds: float = 0.0  # total time spent in checks
    max_seconds: float = 0.0  # the longest check


class GuiCollector(GarbageCollector):
    """pyqtgraph's collector, timing each check (for the benchmarks and the tests)."""

    def __init__(self, interval: float = INTERVAL) -> None:
        self.stats = CollectorStats()
        super().__init__(interval=interval)
        self.timer.setObjectName("gui_garbage_collector")

    def check(self) -> None:
        t0 = time.perf_counter()
        before = gc.get_count()[0]
        super().check()
        dt = time.perf_counter() - t0
        s = self.stats
        s.checks += 1
        s.seconds += dt
        s.max_seconds = max(s.max_seconds, dt)
        if gc.get_count()[0] < before:
            s.collections += 1


_collector: GuiCollector | None = None


def install(interval: float = INTERVAL) -> GuiCollector:
    """Turn automatic collection off and collect from a GUI-thread timer. Call it from the GUI
    thread, with the QApplication made. Safe to call again (it re-arms a collector that
    :func:`uninstall` turned off)."""
    global _collector
    app = QCoreApplication.instance()
    if app is None or QThread.currentThread() is not app.thread():
        raise RuntimeError("the garbage collector guard must be installed from the GUI thread")
    if _collector is None:
        _collector = GuiCollector(interval)
    else:
        gc.disable()
        if not _collector.timer.isActive():
            _collector.timer.start(int(interval * 1000))
    return _collector


def uninstall() -> None:
    """Collect once (here, in the GUI thread), then give collection back to Python. For tests
    that run with no event loop afterwards, and only while no worker thread is alive."""
    if _collector is not None:
        _collector.timer.stop()
    gc.collect()
    gc.enable()


def pace(training: bool) -> None:
    """Check every :data:`RUN_INTERVAL` while a run trains, every :data:`INTERVAL` otherwise
    (from the GUI thread; the training controller calls it as runs start and end)."""
    if _collector is not None and _collector.timer.isActive():
        _collector.timer.setInterval(int((RUN_INTERVAL if training else INTERVAL) * 1000))


def installed() -> bool:
    """Automatic collection is off and the GUI-thread timer collects instead."""
    return _collector is not None and _collector.timer.isActive() and not gc.isenabled()


def stats() -> CollectorStats:
    return _collector.stats if _collector is not None else CollectorStats()
