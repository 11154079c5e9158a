"""Python's garbage collector and Qt objects: collected on the GUI thread only, windows freed on
close, and the old training-thread deadlock scenario run under a time limit."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import ClassVar

import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, QSettings
from PySide6.QtWidgets import QApplication

from playground.graph import compile_graph, load
from playground.resources import example_names, example_path
from playground.training import TrainConfig
from playground.training.datasets import load_dataset, split
from playground.ui import collector
from playground.ui.canvas.scene import GraphScene
from playground.ui.mainwindow import MainWindow
from playground.ui.training.controller import TrainingController

HERE = Path(__file__).resolve().parent


class Tracked:
    """Garbage in a reference cycle that notes the thread that finalises it."""

    finalised_on: ClassVar[list[int]] = []

    def __init__(self) -> None:
        self.me = self
        self.payload = [object() for _ in range(50)]

    def __del__(self) -> None:
        Tracked.finalised_on.append(threading.get_ident())


def test_the_app_turns_automatic_collection_off_and_collects_on_a_gui_timer(qtbot, tmp_path):
    win = MainWindow(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    assert collector.installed() and not gc.isenabled()
    checks = collector.stats().checks
    qtbot.waitUntil(lambda: collector.stats().checks > checks + 2, timeout=5_000)
    win.close()


def test_garbage_made_during_a_run_is_collected_on_the_gui_thread_only(qtbot):
    data = split(load_dataset("moons", n_samples=300), val_fraction=0.3, seed=0)
    ctl = TrainingController(QApplication.instance())
    steps: list[int] = []
    ctl.metrics.connect(lambda batch: steps.append(batch[-1].step))
    Tracked.finalised_on.clear()
    ctl.start(compile_graph(load(example_path("moons_mlp"))), data,
              TrainConfig(epochs=100_000, batch_size=16, lr=0.01, optimizer="adam", seed=1))
    try:
        qtbot.waitUntil(lambda: len(steps) > 0, timeout=10_000)
        made = 0
        for _ in range(40):  # the training thread allocates all along: left to itself, Python
            for _ in range(50):  # would collect these there as often as here
                Tracked()
                made += 1
            qtbot.wait(10)
        qtbot.waitUntil(lambda: len(Tracked.finalised_on) == made, timeout=10_000)
        assert steps[-1] > 100  # the run was live all along
    finally:
        with qtbot.waitSignal(ctl.finished, timeout=10_000):
            ctl.stop()
    gui = threading.main_thread().ident
    elsewhere = sum(t != gui for t in Tracked.finalised_on)
    assert elsewhere == 0, f"{elsewhere} of {made} objects were finalised off the GUI thread"


def test_a_run_slows_the_collector_down_and_its_end_restores_it(qtbot):
    """While a run trains the GUI timer checks twice a second (each check wakes the GUI thread,
    which then takes the interpreter lock from the training thread); after the run, ten times
    a second again."""
    collector.install()
    timer = collector._collector.timer
    assert timer.interval() == int(collector.INTERVAL * 1000)
    data = split(load_dataset("moons", n_samples=300), val_fraction=0.3, seed=0)
    ctl = TrainingController(QApplication.instance())
    with qtbot.waitSignal(ctl.metrics, timeout=10_000):
        ctl.start(compile_graph(load(example_path("moons_mlp"))), data,
                  TrainConfig(epochs=100_000, batch_size=16, lr=0.01, optimizer="adam", seed=1))
    try:
        assert timer.isActive() and timer.interval() == int(collector.RUN_INTERVAL * 1000)
    finally:
        with qtbot.waitSignal(ctl.finished, timeout=10_000):
            ctl.stop()
    assert timer.isActive() and timer.interval() == int(collector.INTERVAL * 1000)


def _live() -> tuple[int, int, int]:
    """(MainWindow wrappers, GraphScene wrappers, of which still alive in C++) after a
    collection in this, the GUI thread."""
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QApplication.processEvents()
    gc.collect()
    objs = [o for o in gc.get_objects() if isinstance(o, (MainWindow, GraphScene))]
    return (sum(isinstance(o, MainWindow) for o in objs), sum(isinstance(o, GraphScene) for o in objs),
            sum(shiboken6.isValid(o) for o in objs))


def test_closed_windows_and_their_scenes_are_freed(qtbot, tmp_path, recovery_home):
    before = _live()
    names = example_names()
    for i in range(20):
        win = MainWindow(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
        win.show()
        for name in (names[i % len(names)], names[(i + 3) % len(names)]):
            assert win.open_example(name)  # each open replaces the scene: the old one must go
        QApplication.processEvents()
        win.document.forget_changes()
        assert win.close()
        del win
    windows, scenes, alive = _live()
    assert (windows, scenes, alive) == before, \
        f"after 20 windows: {windows} MainWindow, {scenes} GraphScene objects, {alive} alive in C++"


def test_the_old_deadlock_scenario_finishes_within_its_time_limit():
    """Training live on the worker thread while the GUI thread makes and drops Qt objects in
    reference cycles (windows, menus, scenes, whole MainWindows). Before the fix this crashed or
    deadlocked within seconds in 8 of 10 runs (tests/benchmarks/gc_deadlock.py counts it); in a
    subprocess, so that a hang fails this test after its limit instead of hanging the suite."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONFAULTHANDLER": "1"}
    proc = subprocess.run([sys.executable, str(HERE / "gc_stress.py"), "--seconds", "10"],
                          check=False, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0 and "ok cycles=" in proc.stdout, (proc.stdout + proc.stderr)[-3000:]
    fields = dict(kv.split("=") for kv in proc.stdout.split()[1:])
    assert int(fields["cycles"]) > 20 and int(fields["steps"]) > 1000
    assert int(fields["collections"]) > 0  # the GUI-thread collector did the collecting


def test_the_worker_object_is_deleted_on_the_gui_thread(qtbot):
    """The worker QObject lives in the training thread while it runs; it is handed back and
    deleted in the GUI thread, never destroyed where it ran."""
    from PySide6.QtCore import Qt

    data = split(load_dataset("moons", n_samples=100), val_fraction=0.3, seed=0)
    ctl = TrainingController(QApplication.instance())
    deleted_on: list[int] = []
    with qtbot.waitSignal(ctl.finished, timeout=10_000):
        ctl.start(compile_graph(load(example_path("moons_mlp"))), data, TrainConfig(epochs=3))
        ctl._worker.destroyed.connect(lambda *_: deleted_on.append(threading.get_ident()),
                                      Qt.ConnectionType.DirectConnection)
    qtbot.waitUntil(lambda: len(deleted_on) == 1, timeout=10_000)
    assert deleted_on == [threading.main_thread().ident]
