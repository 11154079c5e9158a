"""An open document: the graph model, its undo stack, its file, and crash recovery."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QStandardPaths, QTimer, Signal
from PySide6.QtGui import QUndoStack

from ..graph import GraphModel, dumps, load, loads
from ..graph.serialize import atomic_write

AUTOSAVE_MS = 30_000


def recovery_dir() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    path = Path(base or Path.home() / ".local/share/backprop-playground") / "recovery"
    path.mkdir(parents=True, exist_ok=True)
    return path


class Document(QObject):
    """The model plus its undo stack. ``modified`` follows the stack's clean state, and is also
    set by training (:meth:`mark_trained`: new weights and settings to save) until a save."""

    title_changed = Signal(str)
    structure_changed = Signal()
    autosave_failed = Signal(str)  # why the recovery copy could not be written ('' again: ok)

    def __init__(self, model: GraphModel | None = None, path: str | os.PathLike[str] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model = model or GraphModel()
        self.path: Path | None = Path(path) if path else None
        self.example: str | None = None  # the bundled example it was opened from (untitled)
        self.undo = QUndoStack(self)
        self.trained = False  # trained since the last save: weights and settings to keep
        self.autosave_error = ""  # why the last autosave failed ('' when it worked)
        self.undo.cleanChanged.connect(self._on_clean_changed)
        self.undo.indexChanged.connect(self._on_index_changed)
        self.recovery_path = recovery_dir() / f"session-{os.getpid()}-{id(self):x}.json"
        self._autosave = QTimer(self)
        self._autosave.setInterval(AUTOSAVE_MS)
        self._autosave.timeout.connect(self.autosave)
        self._autosave.start()
        self._batch = QTimer(self)  # autosave after each batch of structural changes
        self._batch.setSingleShot(True)
        self._batch.setInterval(500)
        self._batch.timeout.connect(self.autosave)
        self._saved_index = 0

    # -- state -----------------------------------------------------------------------------
    @property
    def modified(self) -> bool:
        return self.trained or not self.undo.isClean()

    def forget_changes(self) -> None:
        """Treat the document as saved (the app closes without asking: checks, scripts)."""
        self.trained = False
        self.undo.setClean()
        self.title_changed.emit(self.title())

    def mark_trained(self) -> None:
        """A run changed the weights (saved beside the file) and the training settings."""
        if not self.trained:
            self.trained = True
            self.title_changed.emit(self.title())

    def display_name(self) -> str:
        if self.path is not None:
            return self.path.name
        if self.example:
            return f"{self.example.replace('_', ' ')} (example)"
        return "Untitled"

    def title(self) -> str:
        return f"{self.display_name()}{' •' if self.modified else ''}"

    def _on_clean_changed(self, clean: bool) -> None:
        self.title_changed.emit(self.title())

    def _on_index_changed(self, index: int) -> None:
        self.structure_changed.emit()
        self.title_changed.emit(self.title())
        self._batch.start()

    # -- files -----------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike[str], parent: QObject | None = None) -> Document:
        """Load a file (raises FileFormatError with a readable message)."""
        return cls(load(path), path, parent)

    def save(self, path: str | os.PathLike[str] | None = None) -> None:
        target = Path(path) if path is not None else self.path
        if target is None:
            raise ValueError("no file name to save to")
        atomic_write(target, (dumps(self.model) + "\n").encode("utf-8"))
        self.path = target
        self.trained = False
        self.undo.setClean()
        self.title_changed.emit(self.title())
        self.discard_recovery()

    # -- recovery --------------------------------------------------------------------------
    def autosave(self) -> None:
        """Write the unsaved graph to the recovery folder (nothing when it is saved)."""
        if self.undo.isClean():  # training alone changes no graph
            self.discard_recovery()
            return
        try:  # dumps raises SaveError (an OSError) for a graph that cannot be written
            record = {"saved_at": time.time(), "path": str(self.path) if self.path else None,
                      "pid": os.getpid(), "graph": json.loads(dumps(self.model))}
            atomic_write(self.recovery_path, json.dumps(record).encode("utf-8"))
        except OSError as exc:
            self.autosave_error = f"{exc.strerror or exc}"
            self.autosave_failed.emit(self.autosave_error)
            return
        if self.autosave_error:
            self.autosave_error = ""
            self.autosave_failed.emit("")

    def discard_recovery(self) -> None:
        try:
            self.recovery_path.unlink()
        except FileNotFoundError:
            pass
        except OSError:
            pass

    def close(self) -> None:
        self.undo.blockSignals(True)
        self._autosave.stop()
        self._batch.stop()
        self.discard_recovery()


def find_recoveries() -> list[tuple[Path, dict[str, Any]]]:
    """Recovery files left by sessions that did not end cleanly, newest first."""
    found = []
    for path in recovery_dir().glob("session-*.json"):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        pid = record.get("pid")
        if isinstance(pid, int) and pid != os.getpid() and _alive(pid):
            continue  # another running window owns it
        if pid == os.getpid():
            continue
        found.append((path, record))
    found.sort(key=lambda pr: pr[1].get("saved_at", 0), reverse=True)
    return found


def recovered_model(record: dict[str, Any]) -> GraphModel:
    return loads(json.dumps(record["graph"]), "recovered graph")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
