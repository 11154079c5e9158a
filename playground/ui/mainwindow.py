"""The main window: canvas in the centre, palette and inspector docks, menus, document safety."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QPointF, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QUndoView,
    QVBoxLayout,
    QWidget,
)

from ..engine import EngineError, get_op
from ..graph import COMPOSITE, FileFormatError, GraphModel
from ..graph.library import COMPOSITES
from ..resources import example_names, example_path
from . import collector, edit_actions
from .canvas.scene import GraphScene
from .canvas.view import GraphView
from .commands import AddNodeCommand
from .document import Document, find_recoveries, recovered_model
from .inspector import InspectorPanel
from .palette import PalettePanel
from .widgets import Breadcrumb
from .quickadd import QuickAddPopup

APP_NAME = "Backprop Playground"
FILE_FILTER = "Backprop Playground graphs (*.json);;All files (*)"
MAX_RECENT = 8


class MainWindow(QMainWindow):
    document_changed = Signal(object)

    def __init__(self, settings: QSettings | None = None) -> None:
        super().__init__()
        collector.install()  # before any training thread can start (ARCHITECTURE.md §5)
        # closing frees the window, its docks, scenes and dialogs here, in the GUI thread,
        # rather than leaving them to the garbage collector
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.settings = settings or QSettings("BackpropPlayground", "Backprop Playground")
        self.setWindowTitle(APP_NAME)
        self.resize(1360, 860)
        self.document: Document | None = None
        self.scene: GraphScene | None = None
        self.view = GraphView(None, self)
        self.breadcrumb = Breadcrumb(self)
        self.breadcrumb.level_clicked.connect(self._on_breadcrumb)
        self._group_stack: list[tuple[Document, str]] = []
        central = QWidget(self)
        box = QVBoxLayout(central)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(0)
        box.addWidget(self.breadcrumb)
        box.addWidget(self.view)
        self.breadcrumb.hide()
        self.setCentralWidget(central)
        self.palette_panel = PalettePanel(self)
        self.inspector = InspectorPanel(self)
        self.palette_dock = self._dock("Palette", self.palette_panel, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.inspector_dock = self._dock("Inspector", self.inspector, Qt.DockWidgetArea.RightDockWidgetArea)
        self.history = QUndoView(self)
        self.history.setEmptyLabel("<opened>")
        self.history_dock = self._dock("History", self.history, Qt.DockWidgetArea.RightDockWidgetArea)
        self.history_dock.hide()
        self.quick_add = QuickAddPopup(self)
        self._quick_pos = QPointF()
        self._quick_wire: tuple[str, str, bool] | None = None
        self.zoom_label = QLabel("100%")
        self.problem_label = QLabel("")
        self.statusBar().addPermanentWidget(self.problem_label)
        self.statusBar().addPermanentWidget(self.zoom_label)
        self.actions_: dict[str, QAction] = {}
        self._build_actions()
        self.palette_panel.op_activated.connect(lambda op: self.add_op(op, self._view_center()))
        self.view.op_dropped.connect(self.add_op)
        self.view.quick_add_requested.connect(self.open_quick_add)
        self.view.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{round(z * 100)}%"))
        self.quick_add.chosen.connect(self._on_quick_chosen)
        self.inspector.message.connect(lambda t: self.statusBar().showMessage(t, 6000))
        self.palette_panel.setMinimumWidth(200)
        self.inspector.setMinimumWidth(260)
        self.resizeDocks([self.palette_dock, self.inspector_dock], [220, 290], Qt.Orientation.Horizontal)
        from .canvas.minimap import MinimapWidget
        from .training.install import install as install_training

        self.minimap = MinimapWidget(self.view)
        self._act("minimap", "&Minimap", lambda on: self.minimap.setVisible(on), checkable=True,
                  tip="An overview of the whole graph; click or drag in it to move the canvas")
        self.actions_["minimap"].setChecked(True)
        self.view_menu.insertAction(self.actions_["auto_layout"], self.actions_["minimap"])

        install_training(self)
        from .explain.install_explain import install as install_explain
        from .explain.values import install as install_values

        install_values(self)
        install_explain(self)
        self.set_document(Document(GraphModel()))
        self._restore_settings()

    # -- building --------------------------------------------------------------------------
    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"{title.lower()}_dock")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _act(self, key: str, text: str, slot: Any, shortcut: Any = None, tip: str = "",
             checkable: bool = False) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            if isinstance(shortcut, list):
                action.setShortcuts(shortcut)
            else:
                action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip or text.replace("&", "").rstrip("…"))
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        self.actions_[key] = action
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        K = QKeySequence.StandardKey
        a = self._act
        a("new", "&New", self.new_file, K.New)
        a("open", "&Open…", lambda: self.open_file(), K.Open)
        a("save", "&Save", self.save, K.Save)
        a("save_as", "Save &As…", self.save_as, QKeySequence("Ctrl+Shift+S"))
        a("export_png", "Export Canvas as &PNG…", lambda: self.export_image("png"))
        a("export_svg", "Export Canvas as S&VG…", lambda: self.export_image("svg"))
        a("quit", "&Quit", self.close, K.Quit)
        edit_actions.install(self)
        a("fit", "&Fit View", self.view.fit, QKeySequence("F"))
        a("zoom_in", "Zoom &In", lambda: self.view.zoom_by(1.25), [QKeySequence(K.ZoomIn), QKeySequence("Ctrl+=")])
        a("zoom_out", "Zoom &Out", lambda: self.view.zoom_by(0.8), K.ZoomOut)
        a("zoom_100", "Zoom &100%", lambda: self.view.set_zoom(1.0), QKeySequence("Ctrl+0"))
        a("snap", "&Snap to Grid", self._toggle_snap, checkable=True)
        a("history", "&History", self.history_dock.show)
        a("quick_add", "Quick &Add Node…", lambda: self.open_quick_add(self.view.cursor_scene_pos()),
          tip="Search for an op and add it at the cursor (Tab on the canvas)")
        mb = self.menuBar()
        f = mb.addMenu("&File")
        for k in ("new", "open"):
            f.addAction(self.actions_[k])
        self.examples_menu = f.addMenu("Open &Example")
        for name in example_names():
            act = self.examples_menu.addAction(name.replace("_", " "))
            act.triggered.connect(lambda _=False, n=name: self.open_example(n))
        self.recent_menu = f.addMenu("Open &Recent")
        f.addSeparator()
        for k in ("save", "save_as"):
            f.addAction(self.actions_[k])
        f.addSeparator()
        for k in ("export_png", "export_svg"):
            f.addAction(self.actions_[k])
        f.addSeparator()
        f.addAction(self.actions_["quit"])
        e = mb.addMenu("&Edit")
        for k in ("undo", "redo", None, "cut", "copy", "paste", "duplicate", "delete", None,
                  "select_all", None, "group", "ungroup", "open_group", "add_backdrop", None,
                  "set_output", "history"):
            e.addSeparator() if k is None else e.addAction(self.actions_[k])
        v = self.view_menu = mb.addMenu("&View")
        for k in ("fit", "zoom_in", "zoom_out", "zoom_100", None, "snap", "auto_layout"):
            v.addSeparator() if k is None else v.addAction(self.actions_[k])
        v.addSeparator()
        for dock in (self.palette_dock, self.inspector_dock, self.history_dock):
            v.addAction(dock.toggleViewAction())
        ins = mb.addMenu("&Insert")
        ins.addAction(self.actions_["quick_add"])
        ins.addAction(self.actions_["layer_stack"])
        tb = self.addToolBar("Main")
        tb.setObjectName("main_toolbar")
        for k in ("new", "open", "save", None, "undo", "redo", None, "fit", "auto_layout",
                  "layer_stack"):
            tb.addSeparator() if k is None else tb.addAction(self.actions_[k])
        self._update_recent_menu()

    # -- documents -------------------------------------------------------------------------
    def enter_group(self, inner: Document, name: str) -> None:
        """Edit a composite's body; the breadcrumb leads back."""
        assert self.document is not None
        self._group_stack.append((self.document, name))
        self.set_document(inner, close_old=False)
        self._update_breadcrumb()

    def leave_group(self, outer: Document) -> None:
        while self._group_stack:
            doc, _ = self._group_stack.pop()
            if doc is outer:
                break
        self.set_document(outer)
        self._update_breadcrumb()

    def _update_breadcrumb(self) -> None:
        names = ["Graph", *[n for _, n in self._group_stack]]
        self.breadcrumb.set_path(names)
        self.breadcrumb.setVisible(bool(self._group_stack))

    def set_document(self, document: Document, close_old: bool = True) -> None:
        old_doc, old_scene = self.document, self.scene
        if close_old and old_doc is not None and old_doc in [d for d, _ in self._group_stack]:
            close_old = False
        self.document = document
        self.scene = GraphScene(document, self)
        self.view.setScene(self.scene)
        self.scene.selectionChanged.connect(self._on_selection_changed)
        self.scene.problems_changed.connect(self._on_problems_changed)
        self.scene.wire_dropped_on_empty.connect(self._on_wire_dropped)
        self.scene.node_open_requested.connect(self._on_node_open_requested)
        self.scene.connection_refused.connect(lambda t: self.statusBar().showMessage(t, 6000))
        self.scene.backdrop_rename_requested.connect(lambda bid: edit_actions.rename_backdrop(self, bid))
        document.title_changed.connect(self._update_title)
        document.structure_changed.connect(self.inspector.refresh_info)
        self.history.setStack(document.undo)
        self.actions_["undo"].setEnabled(document.undo.canUndo())
        self.inspector.set_document(document, self.scene)
        self._on_problems_changed(self.scene.problems)
        self._update_title()
        if old_scene is not None:
            old_scene.detach()
            old_scene.deleteLater()
        if old_doc is not None:
            old_doc.undo.indexChanged.disconnect(self.refresh_undo_actions)
            old_doc.undo.cleanChanged.disconnect(self.refresh_undo_actions)
        if old_doc is not None and close_old:
            old_doc.close()
            old_doc.deleteLater()
        QTimer.singleShot(0, self.view.fit)
        self.view.fit()
        self.document_changed.emit(document)

    def _update_title(self, *_: Any) -> None:
        if self.document is None:
            return
        title = self.document.display_name()
        if self._group_stack:
            title = " ▸ ".join([self._group_stack[0][0].display_name(), *[n for _, n in self._group_stack]])
        title += "[*]"
        self.setWindowTitle(f"{title} — {APP_NAME}")
        self.setWindowModified(self.document.modified)

    def maybe_save(self) -> bool:
        """Ask before losing unsaved changes. True when it is fine to go on."""
        if self.document is None or not self.document.modified:
            return True
        answer = self.ask_unsaved(self.document.display_name())
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def ask_unsaved(self, name: str) -> QMessageBox.StandardButton:
        return QMessageBox.question(
            self, APP_NAME, f"“{name}” has unsaved changes. Save them first?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)

    def ask_text(self, title: str, label: str, text: str) -> str | None:
        from PySide6.QtWidgets import QInputDialog

        value, ok = QInputDialog.getText(self, title, label, text=text)
        return value.strip() if ok else None

    def show_error(self, title: str, text: str) -> None:
        self.statusBar().showMessage(text, 10000)
        QMessageBox.warning(self, title, text)

    def new_file(self) -> None:
        if self.maybe_save():
            self.set_document(Document(GraphModel()))

    def open_file(self, path: str | Path | None = None, as_example: bool = False) -> bool:
        if not self.maybe_save():
            return False
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Open graph", self._last_dir(), FILE_FILTER)
            if not path:
                return False
        try:
            document = Document.open(path)
        except FileFormatError as exc:
            self.show_error("Cannot open this file", f"{exc}\n\nThe current graph was left as it was.")
            return False
        except (OSError, ValueError) as exc:
            self.show_error("Cannot open this file", f"{path}: {exc}")
            return False
        if as_example:
            document.path = None  # an example opens as a new, untitled graph
        self.set_document(document)
        if not as_example:
            self._add_recent(str(path))
        self.statusBar().showMessage(f"Opened {Path(path).name}", 4000)
        return True

    def open_example(self, name: str) -> bool:
        return self.open_file(example_path(name), as_example=True)

    def save(self) -> bool:
        if self.document is None:
            return False
        if self.document.path is None:
            return self.save_as()
        return self._save_to(self.document.path)

    def save_as(self) -> bool:
        if self.document is None:
            return False
        suggestion = str(self.document.path or Path(self._last_dir()) / "graph.json")
        path, _ = QFileDialog.getSaveFileName(self, "Save graph", suggestion, FILE_FILTER)
        if not path:
            return False
        if not path.endswith(".json"):
            path += ".json"
        return self._save_to(Path(path))

    def _save_to(self, path: Path) -> bool:
        assert self.document is not None
        try:
            self.document.save(path)
        except OSError as exc:
            self.show_error("Cannot save", f"{path}: {exc.strerror or exc}")
            return False
        from .training.install import save_weights

        save_weights(self, path)
        self._add_recent(str(path))
        self.statusBar().showMessage(f"Saved {path.name}", 4000)
        return True

    def export_image(self, fmt: str, path: str | None = None) -> bool:
        from .export import export_scene

        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, f"Export canvas as {fmt.upper()}",
                                                  str(Path(self._last_dir()) / f"graph.{fmt}"),
                                                  f"{fmt.upper()} (*.{fmt})")
            if not path:
                return False
        assert self.scene is not None
        export_scene(self.scene, path, fmt)
        self.statusBar().showMessage(f"Exported {Path(path).name}", 4000)
        return True

    # -- recent files and settings ---------------------------------------------------------
    def recent_files(self) -> list[str]:
        value = self.settings.value("recent_files", [])
        if isinstance(value, str):
            value = [value]
        return [v for v in (value or []) if isinstance(v, str)]

    def _add_recent(self, path: str) -> None:
        path = str(Path(path).resolve())
        files = [p for p in self.recent_files() if p != path]
        self.settings.setValue("recent_files", [path, *files][:MAX_RECENT])
        self.settings.setValue("last_dir", str(Path(path).parent))
        self._update_recent_menu()

    def _update_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        for p in files:
            act = self.recent_menu.addAction(Path(p).name)
            act.setToolTip(p)
            act.triggered.connect(lambda _=False, path=p: self.open_file(path))
        self.recent_menu.setEnabled(bool(files))

    def _last_dir(self) -> str:
        return str(self.settings.value("last_dir", str(Path.home())))

    def _restore_settings(self) -> None:
        geometry = self.settings.value("geometry")
        state = self.settings.value("window_state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray):
            self.restoreState(state)
        self.actions_["snap"].setChecked(self.settings.value("snap", False, type=bool))
        minimap = self.settings.value("minimap", True, type=bool)
        self.actions_["minimap"].setChecked(minimap)
        self.minimap.setVisible(minimap)
        self._toggle_snap()

    def save_settings(self) -> None:
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("window_state", self.saveState())
        self.settings.setValue("snap", self.actions_["snap"].isChecked())
        self.settings.setValue("minimap", self.actions_["minimap"].isChecked())
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.maybe_save():
            event.ignore()
            return
        self.training.stop()
        self.save_settings()
        if self.document is not None:
            self.document.close()
        event.accept()

    def offer_recovery(self) -> bool:
        """After a crash: offer to restore the newest unsaved graph. True when restored."""
        found = find_recoveries()
        if not found:
            return False
        path, record = found[0]
        if not self.ask_restore(record):
            for p, _ in found:
                p.unlink(missing_ok=True)
            return False
        try:
            model = recovered_model(record)
        except FileFormatError as exc:
            self.show_error("Cannot restore", str(exc))
            path.unlink(missing_ok=True)
            return False
        document = Document(model, record.get("path"))
        self.set_document(document)
        document.undo.resetClean()  # unsaved: the restored graph differs from any file
        document.autosave()
        self._update_title()
        for p, _ in found:
            p.unlink(missing_ok=True)
        self.statusBar().showMessage("Restored the unsaved graph from the last session", 8000)
        return True

    def ask_restore(self, record: dict[str, Any]) -> bool:
        where = record.get("path") or "an untitled graph"
        answer = QMessageBox.question(
            self, APP_NAME, f"Backprop Playground did not close cleanly last time.\n"
            f"Restore the unsaved changes to {where}?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes)
        return answer == QMessageBox.StandardButton.Yes

    # -- adding nodes ----------------------------------------------------------------------
    def _view_center(self) -> QPointF:
        return self.view.mapToScene(self.view.viewport().rect().center())

    def add_op(self, key: str, pos: QPointF) -> str | None:
        """Add an op (or a ready composite ``composite:NAME``) centred at ``pos``."""
        assert self.document is not None
        model = self.document.model
        x, y = pos.x() - 75, pos.y() - 30
        try:
            if key.startswith("composite:"):
                label, _doc, build = COMPOSITES[key.split(":", 1)[1]]
                cmd = AddNodeCommand(model, COMPOSITE, (x, y), model.unique_name(key.split(":", 1)[1]),
                                     body=build())
            else:
                get_op(key)
                cmd = AddNodeCommand(model, key, (x, y))
        except (EngineError, KeyError) as exc:
            self.statusBar().showMessage(f"Cannot add '{key}': {exc}", 6000)
            return None
        self.document.undo.push(cmd)
        assert self.scene is not None
        self.scene.clearSelection()
        item = self.scene.nodes.get(cmd.node_id)
        if item is not None:
            item.setSelected(True)
        return cmd.node_id

    def open_quick_add(self, pos: QPointF, allowed: list[str] | None = None) -> None:
        self._quick_pos = pos
        if allowed is None:
            self._quick_wire = None
        global_pos = self.view.viewport().mapToGlobal(self.view.mapFromScene(pos))
        self.quick_add.open_at(global_pos, allowed)

    def _on_wire_dropped(self, node_id: str, port: str, from_output: bool, pos: QPointF) -> None:
        self._quick_wire = (node_id, port, from_output)
        allowed = edit_actions.ops_fitting(self, node_id, from_output)
        self.open_quick_add(pos, allowed)

    def _on_quick_chosen(self, key: str) -> None:
        assert self.document is not None
        wire, self._quick_wire = self._quick_wire, None
        undo = self.document.undo
        undo.beginMacro(f"Add {key.split(':')[-1]}")
        try:
            nid = self.add_op(key, self._quick_pos)
            if nid is not None and wire is not None:
                edit_actions.connect_new_node(self, nid, *wire)
        finally:
            undo.endMacro()

    # -- reactions -------------------------------------------------------------------------
    def _on_selection_changed(self) -> None:
        if self.scene is None:
            return
        ids = self.scene.selected_node_ids()
        self.inspector.show_node(ids[0] if len(ids) == 1 else None)
        edit_actions.update_enabled(self)

    def _on_problems_changed(self, problems: dict[str, str]) -> None:
        n = len(problems)
        self.problem_label.setText("" if n == 0 else f"⚠ {n} node{'s' if n != 1 else ''} cannot compute")
        self.inspector.refresh_info()

    def _on_node_open_requested(self, node_id: str) -> None:
        assert self.document is not None
        node = self.document.model.nodes.get(node_id)
        if node is not None and node.op == COMPOSITE:
            edit_actions.open_group(self, node_id)

    def refresh_undo_actions(self, *_: Any) -> None:
        edit_actions.refresh_undo_actions(self)

    def _on_breadcrumb(self, level: int) -> None:
        while len(self._group_stack) > level:
            if not edit_actions.close_group(self):
                return

    def _toggle_snap(self) -> None:
        if self.scene is not None:
            self.scene.snap = self.actions_["snap"].isChecked()


def app_instance() -> QApplication:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    return app
