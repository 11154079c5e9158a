"""The File menu of a window: new, open (files, examples, recent), save, export the canvas,
trained weights beside the file, crash recovery. Every question goes through the window's
services (so tests and checks never block on a dialog)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, QSettings
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget

from ..graph import FileFormatError, GraphModel
from ..graph.serialize import atomic_write
from ..resources import example_names, example_path
from ..training import save_params, weights_path
from .document import Document, find_recoveries, recovered_model
from .interop_actions import InteropActions

if TYPE_CHECKING:
    from .services import WindowServices
    from .session import Session

FILE_FILTER = "Backprop Playground graphs (*.json);;All files (*)"
MAX_RECENT = 8


class FileActions(QObject):
    def __init__(self, session: Session, services: WindowServices, settings: QSettings,
                 parent: QWidget) -> None:
        super().__init__(parent)
        self.session, self.services, self.settings = session, services, settings
        self.window = parent  # the parent of file dialogs
        self.actions: dict[str, QAction] = {}
        K = QKeySequence.StandardKey
        for key, text, slot, shortcut in (
                ("new", "&New", self.new_file, K.New),
                ("open", "&Open…", lambda: self.open_file(), K.Open),
                ("save", "&Save", self.save, K.Save),
                ("save_as", "Save &As…", self.save_as, "Ctrl+Shift+S"),
                ("export_png", "Export Canvas as &PNG…", lambda: self.export_image("png"), None),
                ("export_svg", "Export Canvas as S&VG…", lambda: self.export_image("svg"), None)):
            action = QAction(text, self)
            if shortcut is not None:
                action.setShortcut(QKeySequence(shortcut))
            action.setStatusTip(text.replace("&", "").rstrip("…"))
            action.triggered.connect(lambda _c=False, f=slot: f())
            self.actions[key] = action
        self.examples_menu = QMenu("Open &Example", parent)
        for name in example_names():
            act = self.examples_menu.addAction(name.replace("_", " "))
            act.triggered.connect(lambda _=False, n=name: self.open_example(n))
        self.recent_menu = QMenu("Open &Recent", parent)
        self._update_recent_menu()
        # File ▸ Export ▸ PyTorch / ONNX / NumPy / notebook, and File ▸ Import ONNX
        self.interop = InteropActions(session, services, settings, parent)
        self.actions.update(self.interop.actions)

    # -- documents -------------------------------------------------------------------------
    def maybe_save(self) -> bool:
        """Ask before losing unsaved changes. True when it is fine to go on."""
        root = self.session.root
        if root is None or not root.modified:
            return True
        answer = self.services.ask_unsaved(root.display_name())
        if answer == "save":
            return self.save()
        return answer == "discard"

    def new_file(self) -> None:
        if self.maybe_save():
            self.session.set_root(Document(GraphModel()))

    def open_file(self, path: str | Path | None = None, as_example: str | None = None) -> bool:
        if not self.maybe_save():
            return False
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self.window, "Open graph", self.last_dir(),
                                                  FILE_FILTER)
            if not path:
                return False
        try:
            document = Document.open(path)
        except FileFormatError as exc:
            self.services.show_error("Cannot open this file",
                                     f"{exc}\n\nThe current graph was left as it was.")
            return False
        except (OSError, ValueError) as exc:
            self.services.show_error("Cannot open this file", f"{path}: {exc}")
            return False
        if as_example is not None:
            document.path = None  # an example opens as a new, untitled graph
            document.example = as_example
        self.session.set_root(document, example=as_example)
        note = ""
        if as_example is None:
            self.add_recent(str(path))
            note = self.load_weights(Path(path))
        self.services.show_status(f"Opened {Path(path).name}{note}", 6000 if note else 4000)
        return True

    def open_example(self, name: str) -> bool:
        return self.open_file(example_path(name), as_example=name)

    def save(self) -> bool:
        root = self.session.root
        if root is None:
            return False
        if root.path is None:
            return self.save_as()
        return self.save_to(root.path)

    def save_as(self) -> bool:
        root = self.session.root
        if root is None:
            return False
        suggestion = str(root.path or Path(self.last_dir()) / "graph.json")
        path, _ = QFileDialog.getSaveFileName(self.window, "Save graph", suggestion, FILE_FILTER)
        if not path:
            return False
        if not path.endswith(".json"):
            path += ".json"
        return self.save_to(Path(path))

    def save_to(self, path: Path) -> bool:
        root = self.session.root
        assert root is not None
        try:
            root.save(path)
        except OSError as exc:
            self.services.show_error("Cannot save", f"{path}: {exc.strerror or exc}")
            return False
        note = self.save_weights(path)
        self.add_recent(str(path))
        self.services.show_status(f"Saved {path.name}{note}", 6000 if note else 4000)
        return True

    def export_image(self, fmt: str, path: str | None = None) -> bool:
        from .export import export_scene

        if path is None:
            path, _ = QFileDialog.getSaveFileName(
                self.window, f"Export canvas as {fmt.upper()}",
                str(Path(self.last_dir()) / f"graph.{fmt}"), f"{fmt.upper()} (*.{fmt})")
            if not path:
                return False
        scene = self.session.scene
        assert scene is not None
        export_scene(scene, path, fmt)
        self.services.show_status(f"Exported {Path(path).name}", 4000)
        return True

    # -- weights beside the file -----------------------------------------------------------
    def save_weights(self, graph_path: Path) -> str:
        """Write the trained weights beside the graph (during a run: the latest copies); the
        note for the status bar ('' when all went well or there is nothing to save)."""
        s = self.session
        program = s.compiled
        if program is None or not s.params_trained:
            return ""
        target = weights_path(graph_path)
        try:
            runner = s.runner
            if runner.running and not runner.paused:
                snap = runner.snapshot
                if snap is None or not snap.params:
                    return ""
                buf = io.BytesIO()
                arrays: dict[str, Any] = {k: np.asarray(v) for k, v in snap.params.items()}
                np.savez(buf, **arrays)
                atomic_write(target, buf.getvalue())
            else:
                save_params(program, target)
        except OSError as exc:
            return f" — weights not saved: {exc}"
        return ""

    def load_weights(self, graph_path: Path) -> str:
        """Trained weights saved beside the graph, checked against it before use; the note for
        the status bar (the Training panel keeps the whole report in view)."""
        target = weights_path(graph_path)
        if not target.exists():
            return ""
        note = self.session.load_weights(target)
        return f" — {note[0].lower()}{note[1:]}" if note else ""

    # -- recent files and folders -----------------------------------------------------------
    def recent_files(self) -> list[str]:
        value: Any = self.settings.value("recent_files", [])
        if isinstance(value, str):
            value = [value]
        return [v for v in (value or []) if isinstance(v, str)]

    def add_recent(self, path: str) -> None:
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

    def last_dir(self) -> str:
        return str(self.settings.value("last_dir", str(Path.home())))

    # -- crash recovery --------------------------------------------------------------------
    def offer_recovery(self) -> bool:
        """After a crash: offer to restore the newest unsaved graph. True when restored."""
        found = find_recoveries()
        if not found:
            return False
        path, record = found[0]
        if not self.services.ask_restore(record):
            for p, _ in found:
                p.unlink(missing_ok=True)
            return False
        try:
            model = recovered_model(record)
        except FileFormatError as exc:
            self.services.show_error("Cannot restore", str(exc))
            path.unlink(missing_ok=True)
            return False
        document = Document(model, record.get("path"))
        self.session.set_root(document)
        document.undo.resetClean()  # unsaved: the restored graph differs from any file
        document.autosave()
        document.title_changed.emit(document.title())
        for p, _ in found:
            p.unlink(missing_ok=True)
        self.services.show_status("Restored the unsaved graph from the last session", 8000)
        return True
