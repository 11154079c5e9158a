"""Presentation: the window as a class sees it on a projector (View ▸ Presentation, F11).

Full screen, the editing docks (palette, training settings, inspector, math card, history,
granularity, values) and the editing toolbars folded away so the canvas and the plots get the
room, and the graph fitted to it: on a 1366×768 projector the canvas roughly doubles in width
and the numbers on the wires with it. The run bar stays, so Train/Pause/Step/Reset and the speed work as before, and
so do the Step-through, Lesson and Plots docks. Leaving puts every dock, the window state and
the full-screen flag back as they were (a window closed while presenting leaves it first, so
the settings keep the layout from before)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from PySide6.QtCore import QByteArray, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QToolBar

# the docks folded away while presenting: what a class does not need to see
FOLDED = ("palette", "training", "inspector", "math", "history", "granularity", "values")
# and the editing toolbars (object names); the run bar stays
FOLDED_TOOLBARS = ("main_toolbar", "explain_toolbar")


class Presentation(QObject):
    """A checkable action that switches the window into presentation and back."""

    def __init__(self, window: QMainWindow, docks: Mapping[str, QDockWidget],
                 fit: Callable[[], None]) -> None:
        super().__init__(window)
        self.window, self.docks, self.fit = window, docks, fit
        self._before: tuple[QByteArray, Qt.WindowState] | None = None
        self.action = QAction("&Presentation", window)
        self.action.setCheckable(True)
        self.action.setShortcut(QKeySequence("F11"))
        self.action.setStatusTip("Full screen for a class: the editing panels fold away so the "
                                 "canvas and the plots get the room (F11 again to leave)")
        self.action.toggled.connect(self.set_on)

    @property
    def on(self) -> bool:
        return self._before is not None

    def set_on(self, on: bool) -> None:
        if on == self.on:
            return
        win = self.window
        if on:
            self._before = (win.saveState(), win.windowState())
            for key in FOLDED:
                dock = self.docks.get(key)
                if dock is not None:
                    dock.hide()
            for bar in win.findChildren(QToolBar):
                if bar.objectName() in FOLDED_TOOLBARS:
                    bar.hide()
            win.setWindowState(win.windowState() | Qt.WindowState.WindowFullScreen)
        else:
            state, window_state = self._before or (QByteArray(), Qt.WindowState.WindowNoState)
            self._before = None
            win.setWindowState(window_state)
            win.restoreState(state)
        if self.action.isChecked() != on:
            self.action.setChecked(on)
        # fit once the new layout has settled (the canvas's size changes with the docks)
        QTimer.singleShot(0, self.fit)


__all__ = ["FOLDED", "FOLDED_TOOLBARS", "Presentation"]
