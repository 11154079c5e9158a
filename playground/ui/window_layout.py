"""Where everything goes in the main window: the canvas in the centre, docks around it, menus,
toolbars and the status bar. Called once by MainWindow after it built its parts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMenu, QToolBar, QVBoxLayout, QWidget

from .canvas.minimap import MinimapButton
from .explain.tools import MENU as EXPLAIN_MENU
from .explain.tools import TOOLBAR as EXPLAIN_TOOLBAR
from .help import MENU as HELP_MENU
from .window_geometry import dock_sizes

if TYPE_CHECKING:
    from .mainwindow import MainWindow

A = Qt.DockWidgetArea


def _dock(win: MainWindow, key: str, title: str, widget: QWidget, area: Qt.DockWidgetArea
          ) -> QDockWidget:
    dock = QDockWidget(title, win)
    dock.setObjectName(f"{title.lower()}_dock")
    dock.setWidget(widget)
    win.addDockWidget(area, dock)
    win.docks[key] = dock
    return dock


def _action(win: MainWindow, key: str, text: str, slot: Callable[..., Any],
            shortcuts: Sequence[Any] = (), tip: str = "", checkable: bool = False) -> QAction:
    action = QAction(text, win)
    if shortcuts:
        action.setShortcuts([QKeySequence(k) for k in shortcuts])
    action.setStatusTip(tip or text.replace("&", "").rstrip("…"))
    action.setCheckable(checkable)
    action.triggered.connect(slot)
    win.actions_[key] = action
    return action


def _fill(menu: QMenu | QToolBar, win: MainWindow, keys: Sequence[str | None]) -> None:
    for key in keys:
        if key is None:
            menu.addSeparator()
        else:
            menu.addAction(win.actions_[key])


def size_docks(win: MainWindow) -> None:
    """Share the window among the docks by proportion (window_geometry.dock_sizes): the canvas
    keeps the most, and the bottom row stays short enough for the status bar at 1280 × 720."""
    d = dock_sizes(win.size())
    docks = win.docks
    win.resizeDocks([docks["palette"], docks["inspector"]], [d.left, d.right],
                    Qt.Orientation.Horizontal)
    win.resizeDocks([docks["stepper"]], [d.bottom], Qt.Orientation.Vertical)
    # Qt shares out any difference by the sizes' weights: give both heights in full
    rest = max(120, win.height() - 135 - d.right_top)
    win.resizeDocks([docks["inspector"], docks["math"]], [d.right_top, rest],
                    Qt.Orientation.Vertical)


def build_window(win: MainWindow) -> None:
    central = QWidget(win)
    box = QVBoxLayout(central)
    box.setContentsMargins(0, 0, 0, 0)
    box.setSpacing(0)
    box.addWidget(win.breadcrumb)
    box.addWidget(win.view)
    win.breadcrumb.hide()
    win.setCentralWidget(central)

    # -- docks ---------------------------------------------------------------------------------
    ex = win.explain
    palette = _dock(win, "palette", "Palette", win.palette_panel, A.LeftDockWidgetArea)
    _dock(win, "inspector", "Inspector", win.inspector, A.RightDockWidgetArea)
    history = _dock(win, "history", "History", win.history, A.RightDockWidgetArea)
    history.hide()
    # the Training panel shares the left column with the Palette, raised whenever the graph
    # can train (TrainingTools): its settings get the column's whole height
    training = _dock(win, "training", "Training", win.training_tools.dock_body,
                     A.LeftDockWidgetArea)
    win.tabifyDockWidget(palette, training)
    palette.raise_()
    win.setCorner(Qt.Corner.BottomLeftCorner, A.LeftDockWidgetArea)
    win.setCorner(Qt.Corner.BottomRightCorner, A.RightDockWidgetArea)
    # bottom: the lesson (when one is open) left of the step-through; the plots share the
    # step-through's place as a tab (a run raises them)
    lesson = _dock(win, "lesson", "Lesson", ex.lesson, A.BottomDockWidgetArea)
    stepper = _dock(win, "stepper", "Step-through", ex.stepper, A.BottomDockWidgetArea)
    win.splitDockWidget(lesson, stepper, Qt.Orientation.Horizontal)
    plots = _dock(win, "plots", "Plots", win.plots, A.BottomDockWidgetArea)
    win.tabifyDockWidget(stepper, plots)
    plots.hide()  # no empty plots: shown when a run starts
    stepper.raise_()
    lesson.hide()
    # right: the math card under the Inspector/Training tabs, Granularity as its neighbour tab
    math = _dock(win, "math", "Math", ex.math_card, A.RightDockWidgetArea)
    granularity = _dock(win, "granularity", "Granularity", ex.granularity, A.RightDockWidgetArea)
    granularity.hide()  # hidden before tabifying: else Qt leaves a stale tab bar
    win.tabifyDockWidget(math, granularity)
    math.raise_()
    values = _dock(win, "values", "Values", ex.detail, A.BottomDockWidgetArea)
    values.hide()
    win.palette_panel.setMinimumWidth(160)
    win.inspector.setMinimumWidth(240)

    # -- actions -------------------------------------------------------------------------------
    win.actions_.update(win.files.actions)
    win.actions_.update(win.edit.actions)
    win.actions_.update(ex.actions)
    win.actions_.update(win.help.actions)
    view = win.view
    K = QKeySequence.StandardKey
    _action(win, "quit", "&Quit", win.close, [K.Quit])
    _action(win, "fit", "&Fit View", view.fit, ["F"])
    _action(win, "zoom_in", "Zoom &In", lambda: view.zoom_by(1.25), [K.ZoomIn, "Ctrl+="])
    _action(win, "zoom_out", "Zoom &Out", lambda: view.zoom_by(0.8), [K.ZoomOut])
    _action(win, "zoom_100", "Zoom &100%", lambda: view.set_zoom(1.0), ["Ctrl+0"])
    _action(win, "snap", "&Snap to Grid", win._toggle_snap, checkable=True)
    _action(win, "history", "&History", history.show)
    _action(win, "quick_add", "Quick &Add Node…",
            lambda: win.open_quick_add(view.cursor_scene_pos()),
            tip="Search for an op and add it at the cursor (Tab on the canvas)")
    win.actions_["live_canvas"] = win.live.action
    win.actions_["presentation"] = win.presentation.action
    minimap = _action(win, "minimap", "&Minimap", win.minimap.set_wanted, checkable=True,
                      tip="An overview of the whole graph, shown in a free corner of the canvas "
                          "while part of the graph is out of view (it never covers nodes); "
                          "click or drag in it to move the canvas")
    minimap.setChecked(True)
    win.minimap.wanted_changed.connect(minimap.setChecked)
    for action in win.actions_.values():
        win.addAction(action)  # shortcuts work wherever the focus is in the window

    # -- menus and toolbars --------------------------------------------------------------------
    mb = win.menuBar()
    f = mb.addMenu("&File")
    _fill(f, win, ("new", "open"))
    f.addMenu(win.files.examples_menu)
    f.addMenu(win.files.recent_menu)
    _fill(f, win, (None, "save", "save_as", None, "import_onnx"))
    f.addMenu(win.files.interop.export_menu)
    _fill(f, win, ("export_png", "export_svg", None, "quit"))
    e = mb.addMenu("&Edit")
    _fill(e, win, ("undo", "redo", None, "cut", "copy", "paste", "duplicate", "delete", None,
                   "select_all", None, "group", "ungroup", "fuse", "expand", "open_group",
                   "add_backdrop", None, "set_output", "history"))
    v = mb.addMenu("&View")
    _fill(v, win, ("presentation", None, "fit", "zoom_in", "zoom_out", "zoom_100", None, "snap",
                   "minimap", "live_canvas", "auto_layout", None))
    for key in ("palette", "training", "inspector", "history", "stepper", "math", "lesson",
                "granularity", "values"):
        v.addAction(win.docks[key].toggleViewAction())
    x = mb.addMenu("&Explain")
    _fill(x, win, EXPLAIN_MENU)
    for key in ("stepper", "math", "lesson", "granularity"):
        x.addAction(win.docks[key].toggleViewAction())
    run_bar = win.training_tools.run_bar
    for key, action in run_bar.run_actions.items():
        win.actions_[f"run_{key}"] = action
        win.addAction(action)
    r = mb.addMenu("&Run")
    _fill(r, win, ("run_train", "run_step", "run_step_epoch", "run_stop", None, "run_reset",
                   None, "run_faster", "run_slower"))
    ins = mb.addMenu("&Insert")
    _fill(ins, win, ("quick_add", "layer_stack"))
    h = mb.addMenu("&Help")
    _fill(h, win, HELP_MENU)
    tb = win.addToolBar("Main")
    tb.setObjectName("main_toolbar")
    _fill(tb, win, ("new", "open", "save", None, "undo", "redo", None, "fit", "auto_layout",
                    "layer_stack"))
    xb = win.addToolBar("Explain")
    xb.setObjectName("explain_toolbar")
    # the run bar: a whole row of its own, always there (not movable, not closable)
    win.addToolBarBreak()
    win.addToolBar(win.training_tools.run_bar)
    for key in EXPLAIN_TOOLBAR:
        if key == "sample_box":
            xb.addWidget(ex.evaluator.sample_box)
        else:
            xb.addAction(win.actions_[key])
    win.statusBar().addPermanentWidget(win.autosave_label)
    win.statusBar().addPermanentWidget(win.problem_label)
    win.statusBar().addPermanentWidget(win.zoom_label)
    win.statusBar().addPermanentWidget(MinimapButton(win.minimap, minimap, win))

