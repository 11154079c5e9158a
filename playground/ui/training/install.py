"""Put the training panel and the live plots into the main window and wire them up: lock the
graph during a run, point at the node that failed, keep trained weights beside the file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

from ...training import CheckpointError, load_params, save_params, weights_path
from .panel import TrainingPanel
from .plots import TrainingPlots

if TYPE_CHECKING:
    from ..mainwindow import MainWindow

LOCKED_ACTIONS = ("cut", "paste", "duplicate", "delete", "group", "ungroup", "open_group",
                  "set_output", "auto_layout", "layer_stack", "add_backdrop", "undo", "redo",
                  "new", "open", "quick_add")


def install(win: MainWindow) -> None:
    panel = TrainingPanel(win)
    scroll = QScrollArea(win)
    scroll.setWidget(panel)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setMinimumWidth(panel.minimumSizeHint().width() + 16)
    # the run controls (Train, Step, Stop, progress, status) stay in view below the settings,
    # however short the dock: they were scrolled out of sight at the default window size
    panel.layout().removeWidget(panel.run_box)
    dock_body = QWidget(win)
    column = QVBoxLayout(dock_body)
    column.setContentsMargins(0, 0, 0, 0)
    column.setSpacing(0)
    column.addWidget(scroll, 1)
    footer = QVBoxLayout()
    footer.setContentsMargins(6, 4, 6, 6)
    footer.addWidget(panel.run_box)
    column.addLayout(footer)
    win.training = panel
    win.training_dock = win._dock("Training", dock_body, Qt.DockWidgetArea.RightDockWidgetArea)
    win.tabifyDockWidget(win.inspector_dock, win.training_dock)
    win.inspector_dock.raise_()
    plots = TrainingPlots(panel.history, win)
    win.plots = plots
    win.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
    win.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
    win.plots_dock = win._dock("Plots", plots, Qt.DockWidgetArea.BottomDockWidgetArea)
    win.resizeDocks([win.plots_dock], [280], Qt.Orientation.Vertical)
    win.plots_dock.hide()  # no empty plots: shown when a run starts
    win.lock_banner = QLabel("Training — the graph is locked while a run is live. "
                             "Pause, Step or Stop from the Training panel; edits apply to the next run.")
    win.lock_banner.setStyleSheet("background: #7a5b12; color: white; padding: 4px 8px;")
    win.lock_banner.hide()
    win.centralWidget().layout().insertWidget(0, win.lock_banner)
    panel.locked_changed.connect(lambda locked: set_locked(win, locked))
    panel.failure.connect(lambda message, node: show_failure(win, message, node))
    panel.message.connect(lambda text: win.statusBar().showMessage(text, 8000))
    panel.cleared.connect(lambda: on_cleared(win))
    panel.controller.snapshot.connect(plots.on_snapshot)
    # periodic snapshots compute only what is on screen (a decision-boundary grid or validation
    # predictions no one sees would take time from training)
    plots.views_changed.connect(lambda: panel.controller.set_views(plots.wanted_views()))
    panel.controller.set_views(plots.wanted_views())
    panel.controller.finished.connect(lambda _reason: plots.redraw())
    win.document_changed.connect(lambda doc: on_document(win, doc))


def on_document(win: MainWindow, doc: Any) -> None:
    if getattr(doc, "parent_link", None) is not None:
        return  # editing inside a composite: the run belongs to the top-level graph
    if win.training.document is doc:
        return
    win.training.set_document(doc)
    win.plots.clear()
    path = getattr(doc, "path", None)
    if path is not None:
        load_weights(win, doc, Path(path))


def set_locked(win: MainWindow, locked: bool) -> None:
    win.lock_banner.setVisible(locked)
    win.view.setInteractive(not locked)
    win.palette_panel.setEnabled(not locked)
    win.inspector.setEnabled(not locked)
    for key in LOCKED_ACTIONS:
        win.actions_[key].setEnabled(not locked)
    if locked:
        panel = win.training
        if panel.split_ is not None and panel.program is not None:
            names = list(panel.program.param_arrays())
            win.plots.set_context(panel.split_.dataset, names, split=panel.split_)
        if not win.plots_dock.isVisible() and not getattr(win, "_plots_sized", False):
            win.plots_dock.show()  # the first time: tall enough for the square views
            win.resizeDocks([win.plots_dock], [max(280, int(0.38 * win.height()))],
                            Qt.Orientation.Vertical)
            win._plots_sized = True
        win.plots_dock.show()
        win.plots.start()
        clear_failure(win)
    else:
        from .. import edit_actions

        win.plots.stop()
        win.refresh_undo_actions()
        edit_actions.update_enabled(win)


def show_failure(win: MainWindow, message: str, node: str) -> None:
    """Select the node that produced the bad value, centre on it, and say what to try."""
    win.statusBar().showMessage(message, 15000)
    win.training_dock.raise_()
    if not node or win.scene is None or win.document is None:
        return
    top = node.split("/")[0]
    try:
        nid = win.document.model.by_name(top).id
    except Exception:  # noqa: BLE001 - a name from an older compile
        return
    item = win.scene.nodes.get(nid)
    if item is None:
        return
    win.scene.clearSelection()
    item.setSelected(True)
    item.set_failed(message)
    win.view.centerOn(item)


def on_cleared(win: MainWindow) -> None:
    """Reset: no old curves, no failure mark, no old failure message."""
    win.plots.clear()
    clear_failure(win)
    win.statusBar().clearMessage()


def clear_failure(win: MainWindow) -> None:
    if win.scene is None:
        return
    for item in win.scene.nodes.values():
        item.set_failed(None)


def save_weights(win: MainWindow, graph_path: Path) -> None:
    """Write the trained weights beside the graph (from the latest copies during a run)."""
    panel = win.training
    if panel.program is None:
        return
    target = weights_path(graph_path)
    try:
        if panel.controller.running and not panel.controller.paused:
            snap = win.plots.snapshot
            if snap is None or not snap.params:
                return
            import io

            import numpy as np

            from ...graph.serialize import atomic_write

            buf = io.BytesIO()
            np.savez(buf, **{k: np.asarray(v) for k, v in snap.params.items()})
            atomic_write(target, buf.getvalue())
        else:
            save_params(panel.program, target)
    except OSError as exc:
        win.statusBar().showMessage(f"Weights not saved: {exc}", 8000)


def load_weights(win: MainWindow, doc: Any, graph_path: Path) -> None:
    target = weights_path(graph_path)
    if not target.exists():
        return
    try:
        doc.weights = load_params(target)
    except CheckpointError as exc:
        win.statusBar().showMessage(f"Trained weights ignored: {exc}", 8000)
        return
    win.statusBar().showMessage(f"Loaded trained weights from {target.name}", 5000)
