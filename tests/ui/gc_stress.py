"""The garbage-collector deadlock scenario (issue: GC destroying Qt objects on the training thread).

Run as a script in its own process (tests/ui/test_gc.py does, with a time limit), so that a
deadlock fails one test quickly instead of hanging the whole suite:

    python tests/ui/gc_stress.py [--seconds S] [--unguarded]

While a real training run is live on the worker thread, the GUI thread keeps making Qt objects
that end in Python reference cycles (windows with menus, actions and line edits pointing back at
each other, graph scenes, whole MainWindows) and dropping them. Only Python's cyclic collector
can free those. With ``--unguarded`` it does what the app did before the fix: automatic
collection stays on, with low thresholds so that collections happen often, on whichever thread
allocates — the training thread most of the time — and it finalises the widgets there. That
deadlocks (GIL against Qt's connection mutex) within seconds. Guarded (as the app runs), the
collector runs only on the GUI thread and every window is deleted explicitly on close.

Prints ``ok cycles=N steps=M collections=K`` and exits 0 when the run ends cleanly.
"""

from __future__ import annotations

import argparse
import faulthandler
import gc
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("LANG", "C.UTF-8")


def make_cyclic_garbage(app, n: int) -> None:
    """Qt objects whose Python wrappers form reference cycles, then dropped."""
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QLineEdit, QMainWindow, QMenu

    for _ in range(n):
        win = QMainWindow()
        menu = QMenu("File", win)
        action = QAction("Open", win)
        menu.addAction(action)
        edit = QLineEdit(win)
        # wrapper → wrapper cycles that only the cyclic collector can break
        win.keep = (menu, action, edit)
        menu.owner = win
        edit.owner = win
        action.triggered.connect(win.close)
        other = QMenu()  # a top-level menu in a cycle with itself
        other.me = other
        del win, menu, action, edit, other


def make_app_garbage(app, settings_dir: str) -> None:
    """A real MainWindow on an example, opened and closed as a user would."""
    from PySide6.QtCore import QSettings

    from playground.ui.mainwindow import MainWindow

    settings = QSettings(os.path.join(settings_dir, "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings)
    win.open_example("square_of_sum")
    win.document.forget_changes()
    win.close()
    del win


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--unguarded", action="store_true",
                   help="collect as before the fix: automatically, on any thread")
    args = p.parse_args(argv)
    faulthandler.enable()
    # a deadlock prints every thread's stack and ends the process instead of hanging
    faulthandler.dump_traceback_later(args.seconds + 60, exit=True)
    import tempfile

    from PySide6.QtCore import QEventLoop, QStandardPaths
    from PySide6.QtWidgets import QApplication

    QStandardPaths.setTestModeEnabled(True)
    sys.setswitchinterval(0.001)
    app = QApplication.instance() or QApplication(sys.argv[:1])

    from playground.graph import compile_graph, load
    from playground.resources import example_path
    from playground.training import TrainConfig
    from playground.training.datasets import load_dataset, split
    from playground.ui import collector
    from playground.ui.training.controller import TrainingController

    if args.unguarded:
        # what the app did before the fix: nothing turns automatic collection off
        collector.install = lambda *a, **k: None  # type: ignore[assignment]
        gc.enable()
        gc.set_threshold(200, 3, 3)
    else:
        collector.install()
    data = split(load_dataset("moons", n_samples=300), val_fraction=0.3, seed=0)
    program = compile_graph(load(example_path("moons_mlp")))
    ctl = TrainingController(app)
    finished: list[str] = []
    ctl.finished.connect(finished.append)
    steps = [0]
    ctl.metrics.connect(lambda batch: steps.__setitem__(0, batch[-1].step))
    ctl.start(program, data, TrainConfig(epochs=100_000, batch_size=16, lr=0.01,
                                         optimizer="adam", seed=1), snapshot_interval=0.05)
    cycles = 0
    scratch = tempfile.TemporaryDirectory()
    t_end = time.perf_counter() + args.seconds
    try:
        while time.perf_counter() < t_end:
            make_cyclic_garbage(app, 20)
            if cycles % 10 == 0:
                make_app_garbage(app, scratch.name)
            cycles += 1
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
    finally:
        ctl.stop(30_000)
    app.processEvents()
    if not finished:
        print("FAILED: the run did not finish")
        return 1
    print(f"ok cycles={cycles} steps={steps[0]} collections={collector.stats().collections}")
    scratch.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
