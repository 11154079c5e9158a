"""The main window: assembles the session's panels around the canvas and implements the window
services they may ask for (status messages, selecting nodes, showing docks, questions).

It owns no shared state of its own: the :class:`~playground.ui.session.Session` holds the
documents, the program, the run and the data; the panels are built with the session and a
:class:`~playground.ui.services.WindowServices` (this window) and never import this module.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QByteArray, QPointF, QRect, QSettings, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QUndoView,
)

from ..engine import EngineError, get_op
from ..graph import COMPOSITE, GraphModel
from ..graph.library import COMPOSITES
from . import collector
from .canvas.flowlegend import FlowLegend
from .canvas.minimap import MinimapWidget
from .canvas.scene import GraphScene
from .canvas.view import GraphView
from .commands import AddNodeCommand
from .document import Document
from .edit_actions import EditActions
from .explain.tools import ExplainTools
from .files import FileActions
from .glossary import explain_widgets
from .help import HelpActions
from .inspector import InspectorPanel
from .palette import PalettePanel
from .presentation import Presentation
from .quickadd import QuickAddPopup
from .session import Session
from .training.live_canvas import LiveCanvas
from .training.tools import TrainingTools
from .widgets import Breadcrumb
from .window_geometry import clamp_geometry, dock_sizes, initial_geometry
from .window_layout import build_window, size_docks

APP_NAME = "Backprop Playground"
# what a live training run disables (the graph is locked; copying and viewing stay)
LOCKED_ACTIONS = ("cut", "paste", "duplicate", "delete", "group", "ungroup", "open_group",
                  "set_output", "auto_layout", "layer_stack", "add_backdrop", "undo", "redo",
                  "new", "open", "quick_add")


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None) -> None:
        super().__init__()
        collector.install()  # before any training thread can start (ARCHITECTURE.md §5)
        # closing frees the window, its docks, scenes and dialogs here, in the GUI thread,
        # rather than leaving them to the garbage collector
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.settings = settings or QSettings("BackpropPlayground", "Backprop Playground")
        self.setWindowTitle(APP_NAME)
        self.setGeometry(initial_geometry(self._available()))
        self.session = Session(self)
        self.view = GraphView(None, self)
        self.breadcrumb = Breadcrumb(self)
        self.docks: dict[str, QDockWidget] = {}
        self._docks_sized = False
        self.actions_: dict[str, QAction] = {}
        self.files = FileActions(self.session, self, self.settings, self)
        self.edit = EditActions(self.session, self, self.view, self)
        self.training_tools = TrainingTools(self.session, self, self)
        self.explain = ExplainTools(self.session, self, self)
        self.help = HelpActions(self, self.open_example, self)
        self.training = self.training_tools.panel
        self.run_bar = self.training_tools.run_bar
        explain_widgets(self.training)  # the settings' tooltips in plain words
        self.plots = self.training_tools.plots
        self.stepper, self.lesson = self.explain.stepper, self.explain.lesson
        self.math_card, self.granularity = self.explain.math_card, self.explain.granularity
        self.evaluator, self.checks = self.explain.evaluator, self.explain.checks
        # the canvas during a run: values, flow, badges and unit maps, live
        self.live = LiveCanvas(self.session, self, self.view, self)
        self.live.show_picture = self.explain.detail.show_picture
        self.live.picture_shown = lambda: (self.explain.detail.picture_key
                                           if self.explain.detail.isVisible() else None)
        self.flow_legend = FlowLegend(self.view)
        self.palette_panel = PalettePanel(self)
        self.inspector = InspectorPanel(self)
        self.history = QUndoView(self)
        self.history.setEmptyLabel("<opened>")
        self.quick_add = QuickAddPopup(self)
        self._quick_pos = QPointF()
        self._quick_wire: tuple[str, str, bool] | None = None
        self.minimap = MinimapWidget(self.view)
        self.presentation = Presentation(self, self.docks, self.view.fit)
        self.zoom_label = QLabel("100%")
        self.problem_label = QLabel("")
        self.autosave_label = QLabel("")
        self.autosave_label.setStyleSheet("color: #d1242f;")
        build_window(self)
        size_docks(self)
        s = self.session
        s.document_changed.connect(self._on_document)
        s.root_changed.connect(self._on_root)
        s.locked_changed.connect(self._on_locked)
        s.message.connect(lambda text: self.show_status(text, 8000))
        self.breadcrumb.level_clicked.connect(
            lambda level: s.leave_composites(len(s.levels) - level))
        self.palette_panel.op_activated.connect(lambda op: self.add_op(op, self._view_center()))
        self.view.op_dropped.connect(self.add_op)
        self.view.quick_add_requested.connect(self.open_quick_add)
        self.view.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{round(z * 100)}%"))
        self.quick_add.chosen.connect(self._on_quick_chosen)
        self.inspector.message.connect(lambda t: self.show_status(t, 6000))
        self.view.installEventFilter(self.explain.arrow_keys)
        s.set_root(Document(GraphModel()))
        self._restore_settings()

    # -- façade for scripts and tests ------------------------------------------------------
    @property
    def document(self) -> Document | None:
        return self.session.document

    @property
    def scene(self) -> GraphScene | None:
        return self.session.scene

    def open_example(self, name: str) -> bool:
        return self.files.open_example(name)

    def open_file(self, path: Any = None) -> bool:
        return self.files.open_file(path)

    # -- documents -------------------------------------------------------------------------
    def _on_root(self, document: Document) -> None:
        lesson = self.session.example
        if lesson and self.lesson.open_for(lesson):
            self.show_dock("lesson")
            QTimer.singleShot(0, lambda: self.resizeDocks(
                [self.docks["lesson"], self.docks["stepper"]], [45, 55],
                Qt.Orientation.Horizontal))
        elif self.lesson.lesson is None:
            self.docks["lesson"].hide()

    def _on_document(self, document: Document) -> None:
        """Show ``document`` (a new root, or a composite opened or left): a new scene."""
        old = self.session.scene
        scene = GraphScene(document, self)
        scene.snap = self.actions_["snap"].isChecked()
        scene.read_only = self.session.locked
        self.view.setScene(scene)
        scene.selectionChanged.connect(self._on_selection_changed)
        scene.problems_changed.connect(self._on_problems_changed)
        scene.wire_dropped_on_empty.connect(self._on_wire_dropped)
        scene.node_open_requested.connect(self.edit.open_group)
        scene.connection_refused.connect(lambda t: self.show_status(t, 6000))
        scene.backdrop_rename_requested.connect(self.edit.rename_backdrop)
        scene.overlays.flow_changed.connect(self.flow_legend.set_range)
        self.flow_legend.set_range(scene.overlays.flow_range)
        document.title_changed.connect(self._update_title)
        document.autosave_failed.connect(self._on_autosave_failed)
        document.structure_changed.connect(self.inspector.refresh_info)
        self.history.setStack(document.undo)
        self.inspector.set_document(document, scene)
        self.session.set_scene(scene)
        self._on_problems_changed(scene.problems)
        self.breadcrumb.set_path(self.session.path_names)
        self.breadcrumb.setVisible(bool(self.session.levels))
        self._update_title()
        if old is not None:
            old.detach()
            old.deleteLater()
        QTimer.singleShot(0, self.view.fit)
        self.view.fit()

    def _update_title(self, *_: Any) -> None:
        root, doc = self.session.root, self.session.document
        if root is None or doc is None:
            return
        title = " ▸ ".join([root.display_name(), *[lv.name for lv in self.session.levels]])
        self.setWindowTitle(f"{title}[*] — {APP_NAME}")
        self.setWindowModified(root.modified or doc.modified)

    def _on_selection_changed(self) -> None:
        ids = self.session.selected_node_ids()
        self.inspector.show_node(ids[0] if len(ids) == 1 else None)
        self.edit.update_enabled()

    def _on_autosave_failed(self, why: str) -> None:
        """A failed autosave stays in view (the unsaved graph has no crash copy) until one works."""
        self.autosave_label.setText(f"⚠ not autosaved: {why}" if why else "")
        self.autosave_label.setToolTip(
            "The crash-recovery copy of this unsaved graph could not be written; save the graph "
            "(File ▸ Save As) to keep it." if why else "")

    def _on_problems_changed(self, problems: dict[str, str]) -> None:
        n = len(problems)
        self.problem_label.setText("" if n == 0 else
                                   f"⚠ {n} node{'s' if n != 1 else ''} cannot compute")
        self.inspector.refresh_info()

    def _on_locked(self, locked: bool) -> None:
        scene = self.session.scene
        if scene is not None:
            scene.read_only = locked  # hover, tooltips and clicks on values still work
        self.palette_panel.setEnabled(not locked)
        self.inspector.setEnabled(not locked)
        for key in LOCKED_ACTIONS:
            self.actions_[key].setEnabled(not locked)
        if locked:
            self.stepper.set_playing(False)
        else:
            self.edit.refresh_undo_actions()
            self.edit.update_enabled()

    # -- adding nodes ----------------------------------------------------------------------
    def _view_center(self) -> QPointF:
        return self.view.mapToScene(self.view.viewport().rect().center())

    def add_op(self, key: str, pos: QPointF) -> str | None:
        """Add an op (or a ready composite ``composite:NAME``) centred at ``pos``."""
        doc = self.session.document
        assert doc is not None
        model = doc.model
        x, y = pos.x() - 75, pos.y() - 30
        try:
            if key.startswith("composite:"):
                name = key.split(":", 1)[1]
                _label, _doc, build = COMPOSITES[name]
                cmd = AddNodeCommand(model, COMPOSITE, (x, y), model.unique_name(name),
                                     body=build())
            else:
                get_op(key)
                cmd = AddNodeCommand(model, key, (x, y))
        except (EngineError, KeyError) as exc:
            self.show_status(f"Cannot add '{key}': {exc}", 6000)
            return None
        doc.undo.push(cmd)
        self.select_nodes([cmd.node_id])
        return cmd.node_id

    def open_quick_add(self, pos: QPointF, allowed: list[str] | None = None) -> None:
        self._quick_pos = pos
        if allowed is None:
            self._quick_wire = None
        global_pos = self.view.viewport().mapToGlobal(self.view.mapFromScene(pos))
        self.quick_add.open_at(global_pos, allowed)

    def _on_wire_dropped(self, node_id: str, port: str, from_output: bool, pos: QPointF) -> None:
        self._quick_wire = (node_id, port, from_output)
        self.open_quick_add(pos, self.edit.ops_fitting(node_id, from_output))

    def _on_quick_chosen(self, key: str) -> None:
        doc = self.session.document
        assert doc is not None
        wire, self._quick_wire = self._quick_wire, None
        doc.undo.beginMacro(f"Add {key.split(':')[-1]}")
        try:
            nid = self.add_op(key, self._quick_pos)
            if nid is not None and wire is not None:
                self.edit.connect_new_node(nid, *wire)
        finally:
            doc.undo.endMacro()

    # -- window services -------------------------------------------------------------------
    def show_status(self, text: str, ms: int = 8000) -> None:
        self.statusBar().showMessage(text, ms)

    def select_nodes(self, node_ids: list[str], centre: bool = False) -> bool:
        scene = self.session.scene
        if scene is None:
            return False
        items = [scene.nodes[n] for n in node_ids if n in scene.nodes]
        scene.clearSelection()
        for item in items:
            item.setSelected(True)
        if items and centre:
            self.view.centerOn(items[0])
        return bool(items)

    def show_on_canvas(self, node_ids: list[str], edge_ids: list[str] | None = None) -> None:
        self.view.reveal(node_ids, edge_ids or [])

    def show_dock(self, key: str, raise_: bool = True) -> None:
        dock = self.docks[key]
        if key == "plots" and not dock.isVisible() and not getattr(self, "_plots_sized", False):
            dock.show()  # the first time: tall enough for the square views
            self.resizeDocks([dock], [max(280, int(0.38 * self.height()))],
                             Qt.Orientation.Vertical)
            self._plots_sized = True
        if key == "values" and not dock.isVisible() and not dock.isFloating():
            dock.show()
            self.resizeDocks([dock], [300], Qt.Orientation.Vertical)
        dock.show()
        if raise_:
            dock.raise_()

    def show_plot_tab(self, name: str) -> str:
        self.show_dock("plots")
        return self.plots.show_tab(name)

    def ask_text(self, title: str, label: str, text: str) -> str | None:
        value, ok = QInputDialog.getText(self, title, label, text=text)
        return value.strip() if ok else None

    def ask_int(self, title: str, label: str, value: int, low: int, high: int) -> int | None:
        number, ok = QInputDialog.getInt(self, title, label, value, low, high)
        return int(number) if ok else None

    def show_error(self, title: str, text: str) -> None:
        self.show_status(text, 10000)
        QMessageBox.warning(self, title, text)

    def ask_unsaved(self, name: str) -> str:
        B = QMessageBox.StandardButton
        answer = QMessageBox.question(self, APP_NAME, f"“{name}” has unsaved changes. Save "
                                      "them first?", B.Save | B.Discard | B.Cancel, B.Save)
        return {B.Save: "save", B.Discard: "discard"}.get(answer, "cancel")

    def ask_restore(self, record: dict[str, Any]) -> bool:
        where = record.get("path") or "an untitled graph"
        answer = QMessageBox.question(
            self, APP_NAME, f"Backprop Playground did not close cleanly last time.\n"
            f"Restore the unsaved changes to {where}?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes)
        return answer == QMessageBox.StandardButton.Yes

    # -- settings and closing --------------------------------------------------------------
    def _restore_settings(self) -> None:
        geometry = self.settings.value("geometry")
        state = self.settings.value("window_state")
        if isinstance(geometry, QByteArray) and self.restoreGeometry(geometry):
            self.clamp_to_screen()
        if isinstance(state, QByteArray) and self.restoreState(state):
            self._docks_sized = True  # the user's own dock sizes
        self.actions_["snap"].setChecked(bool(self.settings.value("snap", False, type=bool)))
        minimap = bool(self.settings.value("minimap", True, type=bool))
        self.actions_["minimap"].setChecked(minimap)
        self.minimap.set_wanted(minimap)
        self._toggle_snap()

    def _available(self) -> QRect:
        """The available area (without the desktop's panels) of the screen the window is on."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        return screen.availableGeometry() if screen is not None else QRect(0, 0, 1366, 768)

    def clamp_to_screen(self) -> None:
        """Fit the window (frame included) into the available area of its screen: a geometry
        saved on a bigger screen is shrunk and moved inside this one."""
        if self.isMaximized() or self.isFullScreen():
            return
        geo = self.geometry()
        screen = QGuiApplication.screenAt(geo.center()) or self.screen()
        available = screen.availableGeometry() if screen is not None else self._available()
        frame = self.frameGeometry().size() - geo.size() if self.isVisible() else QSize(0, 0)
        fitted = clamp_geometry(geo, available, frame)
        if fitted != geo:
            self.setGeometry(fitted)

    def save_settings(self) -> None:
        self.presentation.set_on(False)  # keep the layout from before presenting
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("window_state", self.saveState())
        self.settings.setValue("snap", self.actions_["snap"].isChecked())
        self.settings.setValue("minimap", self.actions_["minimap"].isChecked())
        self.settings.sync()

    def _toggle_snap(self) -> None:
        scene = self.session.scene
        if scene is not None:
            scene.snap = self.actions_["snap"].isChecked()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._docks_sized:  # the first show: the dock sizes for the size it has now
            self._docks_sized = True
            QTimer.singleShot(0, self, lambda: size_docks(self))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._docks_sized and event.size().height() < event.oldSize().height():
            QTimer.singleShot(0, self, self._keep_bottom_row_in_share)

    def _keep_bottom_row_in_share(self) -> None:
        """A window made shorter: the lesson / step-through row gives back what is over its
        share (window_geometry.dock_sizes), so the canvas is not squeezed to a strip; it is
        never grown."""
        stepper = self.docks["stepper"]
        share = dock_sizes(self.size()).bottom
        if stepper.isVisible() and not stepper.isFloating() and stepper.height() > share + 8:
            self.resizeDocks([stepper], [share], Qt.Orientation.Vertical)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.files.maybe_save():
            event.ignore()
            return
        self.session.runner.stop()
        self.files.interop.shutdown()
        self.session.comparison.stop()
        self.save_settings()
        for doc in self.session.document_chain():
            doc.close()
        event.accept()
