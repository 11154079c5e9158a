"""Put the step-through, the math card, the lessons and the granularity tools into the window.

``install(win)`` adds four docks (Step-through at the bottom with the Lesson on its left,
Math under the Inspector, Granularity as Math's neighbour tab), entries in the shared Explain menu
(:func:`explain_menu`), Fuse/Expand in the Edit menu, and remembers which example was
opened so its lesson can start. Nothing else in the window changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from . import explain_menu
from .granularity_panel import GranularityPanel
from .lessons_panel import LessonPanel
from .mathcard import MathCard
from .stepper import CanvasArrowKeys, StepThroughPanel

if TYPE_CHECKING:
    from ..mainwindow import MainWindow

LOCKED = ("fuse", "expand", "compare_forms", "step_forward", "step_back", "step_play",
          "step_reset")


def install(win: MainWindow) -> None:
    A = Qt.DockWidgetArea
    # -- docks ------------------------------------------------------------------------------
    win.stepper = StepThroughPanel(win)
    win.lesson = LessonPanel(win, win.stepper)
    # bottom: the lesson (when one is open) left of the step-through; the training plots
    # share the step-through's place as a tab (a run raises them)
    win.lesson_dock = win._dock("Lesson", win.lesson, A.BottomDockWidgetArea)
    win.stepper_dock = win._dock("Step-through", win.stepper, A.BottomDockWidgetArea)
    win.splitDockWidget(win.lesson_dock, win.stepper_dock, Qt.Orientation.Horizontal)
    plots_dock = getattr(win, "plots_dock", None)
    if plots_dock is not None:
        win.tabifyDockWidget(win.stepper_dock, plots_dock)
        plots_dock.hide()
    win.stepper_dock.raise_()
    win.lesson_dock.hide()
    win.resizeDocks([win.stepper_dock], [250], Qt.Orientation.Vertical)

    # right: the math card under the Inspector/Training tabs, Granularity as its neighbour tab
    win.math_card = MathCard(win)
    win.math_dock = win._dock("Math", win.math_card, A.RightDockWidgetArea)
    win.granularity = GranularityPanel(win)
    win.granularity_dock = win._dock("Granularity", win.granularity, A.RightDockWidgetArea)
    win.granularity_dock.hide()  # hidden before tabifying: else Qt leaves a stale tab bar
    win.tabifyDockWidget(win.math_dock, win.granularity_dock)
    win.math_dock.raise_()
    win.resizeDocks([win.inspector_dock, win.math_dock], [420, 260], Qt.Orientation.Vertical)

    status = lambda text: win.statusBar().showMessage(text, 8000)
    for panel in (win.stepper, win.granularity, win.lesson):
        panel.message.connect(status)
    win.granularity.compared.connect(lambda _r: _show(win.granularity_dock))

    # -- actions ----------------------------------------------------------------------------
    a = win._act
    a("step_forward", "Step &Forward", win.stepper.step_forward, QKeySequence("Alt+Right"),
      tip="Step-through: compute the next gate, then send the gradient back wire by wire")
    a("step_back", "Step &Back", win.stepper.step_back, QKeySequence("Alt+Left"),
      tip="Step-through: undo the last step")
    a("step_play", "&Play Step-through", lambda on: win.stepper.set_playing(on), checkable=True,
      tip="Step on by itself at the speed set in the Step-through panel")
    win.stepper.play_button.toggled.connect(
        lambda on: win.actions_["step_play"].setChecked(on))
    win.stepper.timer.timeout.connect(
        lambda: win.actions_["step_play"].setChecked(win.stepper.playing))
    a("step_reset", "&Reset Step-through", win.stepper.reset,
      tip="Back to before the first step: no highlight, blank wires")
    a("fuse", "&Fuse Gates", win.granularity.fuse_selection, QKeySequence("Ctrl+Alt+F"),
      tip="Replace the selected primitive gates (−x, exp, +1, 1/x or matmul + add) by one "
          "fused gate")
    a("expand", "E&xpand Gate", win.granularity.expand_selection, QKeySequence("Ctrl+Alt+E"),
      tip="Replace the selected σ, dense or composite node by its primitive gates")
    a("compare_forms", "&Compare Fused and Primitive Forms", win.granularity.compare_selection,
      tip="Gradient difference, gate counts and time per step of the two forms")
    for key in ("step_forward", "step_back"):
        win.actions_[key].setShortcutContext(Qt.ShortcutContext.WindowShortcut)

    menu = explain_menu(win)
    if menu.actions():
        menu.addSeparator()
    for k in ("step_forward", "step_back", "step_play", "step_reset", None, "fuse", "expand",
              "compare_forms", None):
        menu.addSeparator() if k is None else menu.addAction(win.actions_[k])
    for dock in (win.stepper_dock, win.math_dock, win.lesson_dock, win.granularity_dock):
        menu.addAction(dock.toggleViewAction())
    edit = _menu_holding(win, win.actions_.get("ungroup"))
    if edit is not None:
        before = win.actions_.get("open_group")
        for k in ("fuse", "expand"):
            if before is not None:
                edit.insertAction(before, win.actions_[k])
            else:
                edit.addAction(win.actions_[k])
    view = getattr(win, "view_menu", None)
    if view is not None:
        for dock in (win.stepper_dock, win.math_dock, win.lesson_dock, win.granularity_dock):
            view.addAction(dock.toggleViewAction())

    # plain arrows on the canvas step once a step-through is under way and nothing is selected
    win.canvas_arrow_keys = CanvasArrowKeys(win, win.stepper)
    win.view.installEventFilter(win.canvas_arrow_keys)

    # -- lessons: remember which example opened ---------------------------------------------
    opener: Callable[[str], bool] = win.open_example

    def open_example(name: str) -> bool:
        ok = opener(name)
        if ok:
            win.opened_example = name
            if win.lesson.open_for(name):
                _show(win.lesson_dock)
                QTimer.singleShot(0, lambda: win.resizeDocks(
                    [win.lesson_dock, win.stepper_dock], [400, 900], Qt.Orientation.Horizontal))
        return ok

    win.opened_example = None
    win.open_example = open_example  # type: ignore[method-assign]

    # -- following the window ---------------------------------------------------------------
    def on_document(doc: Any) -> None:
        if getattr(doc, "parent_link", None) is None and win.lesson.document is not doc:
            win.opened_example = None
        win.stepper.set_document(doc)
        win.math_card.on_document(doc)
        win.lesson.on_document(doc)
        if win.lesson.lesson is None:
            win.lesson_dock.hide()
        win.granularity.clear()

    win.document_changed.connect(on_document)
    training = getattr(win, "training", None)
    if training is not None and hasattr(training, "locked_changed"):
        training.locked_changed.connect(lambda locked: _set_locked(win, locked))
    if win.document is not None:
        on_document(win.document)


def _set_locked(win: MainWindow, locked: bool) -> None:
    """While a training run is live the graph is locked: no fusing, no stepping."""
    if locked:
        win.stepper.set_playing(False)
        win.stepper.reset()
        plots = getattr(win, "plots_dock", None)
        if plots is not None:
            plots.raise_()
    for key in LOCKED:
        win.actions_[key].setEnabled(not locked)
    win.stepper.setEnabled(not locked)
    for b in (win.granularity.fuse_button, win.granularity.expand_button,
              win.granularity.compare_button):
        b.setEnabled(not locked)


def _show(dock: Any) -> None:
    dock.show()
    dock.raise_()


def _menu_holding(win: MainWindow, action: QAction | None) -> QMenu | None:
    if action is None:
        return None
    for obj in action.associatedObjects():
        if isinstance(obj, QMenu):
            return obj
    return None
