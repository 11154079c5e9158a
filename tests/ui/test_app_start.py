"""Process-wide start-up settings of the app, checked in a child process (they would leak into
the test session otherwise)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

CHILD = textwrap.dedent("""
    import gc, sys, tempfile, time
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from playground.ui.app import freeze_startup_objects
    from playground.ui.mainwindow import MainWindow
    w = MainWindow(QSettings(tempfile.mktemp(suffix=".ini"), QSettings.Format.IniFormat))
    w.show()
    assert w.open_example("digits_mlp")
    app.processEvents()
    before = len(gc.get_objects())
    frozen = freeze_startup_objects()
    after = len(gc.get_objects())
    print(before, frozen, after)
    w.close()
    app.processEvents()
""")


def test_startup_objects_are_frozen_out_of_the_collectors_reach(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "LANG": "C.UTF-8"}
    r = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env,
                       cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    before, frozen, after = (int(v) for v in r.stdout.split()[-3:])
    # the window, its widgets and every imported module: a full collection no longer walks them
    assert frozen > 50_000 and frozen >= 0.9 * before
    assert after < 0.1 * before
