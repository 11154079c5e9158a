"""Real key presses on X11: Undo with Ctrl+Z, Redo with Ctrl+Shift+Z and with Ctrl+Y.

The window runs in a child process on Qt's xcb platform, on the Xvfb display pytest-xvfb
starts for the test session, and the keys are pressed through the X server itself (the XTEST
extension, as xdotool does): they reach Qt as a keyboard would send them, through xcb's key
mapping and Qt's shortcut map, where a key bound twice was refused as an "Ambiguous shortcut
overload". CI installs Xvfb (packaging/debian-deps.sh), so this test runs there; without an X
display it fails rather than skips.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

CHILD = textwrap.dedent(r"""
    import ctypes, json, sys, tempfile, time
    from PySide6.QtCore import QPointF, QSettings, QStandardPaths
    from PySide6.QtWidgets import QApplication

    QStandardPaths.setTestModeEnabled(True)
    app = QApplication([])
    assert app.platformName() == "xcb", app.platformName()
    from playground.ui.mainwindow import MainWindow

    w = MainWindow(QSettings(tempfile.mktemp(suffix=".ini"), QSettings.Format.IniFormat))
    w.ask_unsaved = lambda name: "discard"
    w.show()
    w.raise_()
    w.activateWindow()

    def wait(condition, seconds=5.0):
        deadline = time.monotonic() + seconds
        while not condition() and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)
        return condition()

    active = wait(lambda: app.focusWindow() is w.windowHandle())
    w.view.setFocus()
    stack = w.document.undo
    w.add_op("tanh", QPointF(0, 0))
    w.add_op("relu", QPointF(300, 0))
    assert stack.index() == 2

    x11 = ctypes.CDLL("libX11.so.6")
    xtst = ctypes.CDLL("libXtst.so.6")
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XStringToKeysym.restype = ctypes.c_ulong
    x11.XStringToKeysym.argtypes = [ctypes.c_char_p]
    x11.XKeysymToKeycode.restype = ctypes.c_ubyte
    x11.XKeysymToKeycode.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
    x11.XFlush.argtypes = [ctypes.c_void_p]
    xtst.XTestFakeKeyEvent.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_int,
                                       ctypes.c_ulong]
    dpy = x11.XOpenDisplay(None)
    assert dpy, "cannot open the X display"

    def press(*names):
        codes = [x11.XKeysymToKeycode(dpy, x11.XStringToKeysym(n.encode())) for n in names]
        for c in codes:
            xtst.XTestFakeKeyEvent(dpy, c, 1, 0)
        for c in reversed(codes):
            xtst.XTestFakeKeyEvent(dpy, c, 0, 0)
        x11.XFlush(dpy)

    out = {"active": active, "start": stack.index()}
    for label, keys, want in (("ctrl+z", ("Control_L", "z"), 1),
                              ("ctrl+shift+z", ("Control_L", "Shift_L", "z"), 2),
                              ("ctrl+z again", ("Control_L", "z"), 1),
                              ("ctrl+y", ("Control_L", "y"), 2)):
        press(*keys)
        wait(lambda: stack.index() == want, 3.0)
        out[label] = stack.index()
    print(json.dumps(out))
    w.document.forget_changes()
    w.close()
    app.processEvents()
""")


def test_undo_and_redo_with_the_real_keys_on_x11(tmp_path):
    display = os.environ.get("DISPLAY")
    assert display, ("no X display: pytest-xvfb starts Xvfb for the tests when it is installed "
                     "(packaging/debian-deps.sh installs it)")
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "LANG": "C.UTF-8", "DISPLAY": display}
    r = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env,
                       cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert result["active"], "the window never got the keyboard focus"
    assert result == {"active": True, "start": 2, "ctrl+z": 1, "ctrl+shift+z": 2,
                      "ctrl+z again": 1, "ctrl+y": 2}, r.stderr[-2000:]
    assert "Ambiguous shortcut" not in r.stderr
