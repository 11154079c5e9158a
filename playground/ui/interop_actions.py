"""File ▸ Export (PyTorch project, ONNX, NumPy script, notebook) and File ▸ Import ONNX.

The work is the Qt-free :mod:`playground.interop` API; this module only asks where, runs it in a
worker thread and shows what happened. The graph, the trained weights and the settings are
copied in the GUI thread before the worker starts (the worker never touches the session), and
the worker hands back plain Python objects: an :class:`~playground.interop.ExportReport`, or the
imported :class:`~playground.graph.GraphModel`, which becomes a new untitled document here.

The worker (:class:`~playground.ui.jobs.BackgroundJob`) calls the one function and reports
progress as plain data; Cancel makes the export stop at its next phase. One job at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, QSettings, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QMenu,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from ..interop import (
    FORMAT_LABELS,
    FORMATS,
    SUFFIXES,
    ExportReport,
    InteropError,
    available_formats,
    export,
    import_onnx,
)
from .document import Document
from .jobs import BackgroundJob, Progress

if TYPE_CHECKING:
    from ..graph import GraphModel
    from .services import WindowServices
    from .session import Session

MENU_TEXT = {"pytorch": "&PyTorch Project…", "onnx": "&ONNX Model…", "numpy": "&NumPy Script…",
             "notebook": "Jupyter &Notebook…"}
FILTERS = {"onnx": "ONNX models (*.onnx)", "numpy": "Python scripts (*.py)",
           "notebook": "Jupyter notebooks (*.ipynb)", "pytorch": "Folders (*)"}
TIPS = {"pytorch": "A runnable PyTorch project (model.py, train.py with a DDP path, weights, "
                   "data), checked against the app when torch is installed",
        "onnx": "The inference graph with the weights as initializers, checked against the app "
                "with onnx.reference (and onnxruntime when installed)",
        "numpy": "One standalone NumPy script: forward and backward gate by gate, the update "
                 "and the training loop, checked against the app",
        "notebook": "The NumPy script as a notebook, a markdown cell per gate"}


class InteropDialog(QDialog):
    """Progress of an export or import, then (for an export) what it wrote and its parity."""

    cancel_requested = Signal()

    def __init__(self, title: str, heading: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setMinimumWidth(460)
        layout = QVBoxLayout(self)
        self.heading = QLabel(heading)
        self.heading.setWordWrap(True)
        self.heading.setStyleSheet("font-weight: bold;")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.phase = QLabel("starting…")
        self.phase.setWordWrap(True)
        self.phase.setStyleSheet("color: #57606a;")
        self.outcome = QLabel("")
        self.outcome.setWordWrap(True)
        self.outcome.setTextFormat(Qt.TextFormat.PlainText)
        self.outcome.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.outcome.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.rejected.connect(self.reject)
        for w in (self.heading, self.bar, self.phase, self.outcome):
            layout.addWidget(w)
        layout.addWidget(self.buttons)
        self.running = True

    def set_progress(self, fraction: float, text: str) -> None:
        self.bar.setValue(round(1000 * min(max(fraction, 0.0), 1.0)))
        self.phase.setText(text)

    def set_busy(self) -> None:
        self.bar.setRange(0, 0)  # no fractions to report: a busy bar

    def show_result(self, text: str, ok: bool) -> None:
        self.running = False
        self.bar.setRange(0, 1000)
        self.bar.setValue(1000)
        self.phase.setText("done" if ok else "done — the check found a difference")
        self.outcome.setText(text)
        self.outcome.setStyleSheet("" if ok else "color: #d1242f;")
        self.outcome.show()
        self.buttons.setStandardButtons(QDialogButtonBox.StandardButton.Close)
        self.adjustSize()

    def reject(self) -> None:
        if self.running:  # Cancel (or Esc) while working: ask the worker to stop
            self.phase.setText("cancelling… (at the end of this phase)")
            self.buttons.setEnabled(False)
            self.cancel_requested.emit()
            return
        super().reject()


class InteropActions(QObject):
    """The Export submenu and the Import ONNX action, and the one background job at a time."""

    done = Signal()  # an export or import ended (any way); its thread is finished
    exported = Signal(object)  # ExportReport
    imported = Signal(object)  # Document: the new root

    def __init__(self, session: Session, services: WindowServices, settings: QSettings,
                 parent: QWidget) -> None:
        super().__init__(parent)
        self.session, self.services, self.settings = session, services, settings
        self.window = parent
        self.job = BackgroundJob(self, expected=(InteropError,))
        self.job.progressed.connect(self._on_progress)
        self.job.succeeded.connect(self._on_succeeded)
        self.job.failed.connect(self._on_failed)
        self.job.done.connect(self.done)
        self.dialog: InteropDialog | None = None
        self.last_report: ExportReport | None = None
        self.last_error = ""
        self._what = ""  # the job under way: 'export:<fmt>' or 'import'
        self._path = ""
        self.actions: dict[str, QAction] = {}
        self.export_menu = QMenu("E&xport", parent)
        self.export_menu.setToolTipsVisible(True)
        why_not = available_formats()
        for fmt in FORMATS:
            action = QAction(MENU_TEXT[fmt], self)
            action.setStatusTip(TIPS[fmt])
            action.setToolTip(why_not[fmt] or TIPS[fmt])
            action.setEnabled(not why_not[fmt])
            action.triggered.connect(lambda _c=False, f=fmt: self.export(f))
            self.export_menu.addAction(action)
            self.actions[f"export_{fmt}"] = action
        action = QAction("&Import ONNX…", self)
        action.setStatusTip("Open an ONNX model (an MLP: MatMul, Gemm, Relu, Sigmoid, Softmax "
                            "...) as a new graph")
        action.triggered.connect(lambda _c=False: self.import_onnx())
        self.actions["import_onnx"] = action
        session.locked_changed.connect(lambda locked: action.setEnabled(not locked))

    @property
    def busy(self) -> bool:
        return self.job.busy

    # -- asking where ------------------------------------------------------------------------
    def _last_dir(self) -> Path:
        return Path(str(self.settings.value("last_dir", str(Path.home()))))

    def _ask_export_path(self, fmt: str) -> str:
        root = self.session.root
        stem = Path(root.display_name()).stem if root is not None else "graph"
        stem = stem.replace(" ", "_") or "graph"
        name = f"{stem}_pytorch" if fmt == "pytorch" else stem + SUFFIXES[fmt]
        caption = ("Export a PyTorch project (a new folder)" if fmt == "pytorch"
                   else f"Export as {FORMAT_LABELS[fmt]}")
        path, _ = QFileDialog.getSaveFileName(self.window, caption, str(self._last_dir() / name),
                                              FILTERS[fmt])
        if path and fmt != "pytorch" and not path.endswith(SUFFIXES[fmt]):
            path += SUFFIXES[fmt]
        return path

    # -- export ------------------------------------------------------------------------------
    def export(self, fmt: str, path: str | Path | None = None) -> bool:
        """Export the graph as ``fmt`` (asking where when ``path`` is None) in the background;
        False when it did not start (the reason is shown)."""
        s = self.session
        if self.busy:
            self.services.show_status("An export or import is already under way", 6000)
            return False
        if s.root is None or fmt not in FORMATS:
            return False
        why = available_formats()[fmt]
        if why:
            self._what = f"export:{fmt}"
            self._fail(f"The {FORMAT_LABELS[fmt]} export {why}.")
            return False
        if path is None:
            path = self._ask_export_path(fmt)
            if not path:
                return False
        model, _prefix = s.evaluation_model()
        if model is s.root.model:
            model = model.copy()  # the worker reads its own copy while the graph stays editable
        arrays = s.trained_arrays()
        weights = None if not arrays else {k: np.array(v, copy=True) for k, v in arrays.items()
                                          if v is not None}
        data, config = s.data, s.run_config(reinit=True)
        target = str(path)

        def job(progress: Progress) -> ExportReport:
            return export(model, fmt, target, weights, progress, settings=data, config=config)

        trained = "the trained weights" if weights else f"the initial weights (seed {data.seed})"
        heading = f"Exporting {s.root.display_name()} as a {FORMAT_LABELS[fmt]} with {trained}"
        self._start(job, f"export:{fmt}", target, f"Export {FORMAT_LABELS[fmt]}", heading)
        return True

    def _on_exported(self, report: ExportReport) -> None:
        self.last_report = report
        fmt = report.format
        target = Path(self._path)
        folder = target if fmt == "pytorch" else target.parent
        lines = [f"Wrote {', '.join(_names(report.files, target, fmt))}", f"in {folder}", ""]
        if report.max_difference is not None:
            verdict = ("✓ within" if report.ok else "✗ OVER") + f" the tolerance {report.tolerance:g}"
            lines.append(f"Checked against the app with {report.checked_with}: largest "
                         f"difference {report.max_difference:.3g} ({verdict}).")
            short = (f"largest difference to the app {report.max_difference:.3g}"
                     + ("" if report.ok else f" — over the tolerance {report.tolerance:g}"))
        else:
            lines.append("No parity check ran here.")
            short = "not checked here"
        lines += [f"Note: {n}" for n in report.notes or []]
        self.services.show_status(f"Exported {FORMAT_LABELS[fmt]} to {target.name} — {short}",
                                  15000)
        if self.dialog is not None:
            self.dialog.show_result("\n".join(lines), report.ok)
        self.exported.emit(report)

    # -- import ------------------------------------------------------------------------------
    def import_onnx(self, path: str | Path | None = None) -> bool:
        """Import an ONNX model (asking which when ``path`` is None) in the background; it opens
        as a new untitled graph. False when it did not start."""
        if self.busy or self.session.locked:
            return False
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self.window, "Import ONNX model",
                                                  str(self._last_dir()),
                                                  "ONNX models (*.onnx);;All files (*)")
            if not path:
                return False
        files = getattr(self.window, "files", None)
        if files is not None and not files.maybe_save():
            return False
        target = str(path)
        self._start(lambda _progress: import_onnx(target), "import", target, "Import ONNX",
                    f"Importing {Path(target).name}")
        if self.dialog is not None:
            self.dialog.set_busy()
        return True

    def _on_imported(self, model: GraphModel) -> None:
        if self.dialog is not None:
            self.dialog.running = False
            self.dialog.close()
        if not model.meta.get("title"):
            model.set_meta("title", Path(self._path).stem)
        document = Document(model)
        document.undo.resetClean()  # a new, unsaved graph: closing it asks
        self.session.set_root(document)
        params = sum(1 for n in model.nodes.values() if n.op == "parameter")
        self.services.show_status(f"Imported {Path(self._path).name}: {len(model.nodes)} nodes "
                                  f"({params} parameters) as a new graph", 8000)
        self.imported.emit(document)

    # -- the worker --------------------------------------------------------------------------
    def _start(self, job: Callable[[Progress], Any], what: str, path: str, title: str,
               heading: str) -> None:
        self._what, self._path = what, path
        self.last_report, self.last_error = None, ""
        if self.dialog is not None:
            self.dialog.deleteLater()
        dialog = self.dialog = InteropDialog(title, heading, self.window)
        dialog.cancel_requested.connect(self.job.cancel)
        dialog.show()
        self.job.start(job)

    def _on_progress(self, fraction: float, text: str) -> None:
        if self.dialog is not None:
            self.dialog.set_progress(fraction, text)

    def _on_succeeded(self, result: Any) -> None:
        if self._what == "import":
            self._on_imported(result)
        else:
            self._on_exported(result)

    def _on_failed(self, message: str) -> None:
        if self.dialog is not None:
            self.dialog.running = False
            self.dialog.close()
        if not message:
            self.services.show_status("Cancelled; files already written were left as they are"
                                      if self._what != "import" else "Import cancelled", 6000)
            return
        self._fail(message)

    def _fail(self, message: str) -> None:
        verb = "Import" if self._what == "import" else "Export"
        self.last_error = message
        text = f"{verb} failed: {message}"
        if not text.endswith((".", "!", "?")):
            text += "."
        if self._what == "import":
            text += " The current graph was left as it was."
        self.services.show_status(text, 12000)
        self.services.show_error(f"{verb} failed", text)

    def shutdown(self) -> None:
        """The window closes: cancel a job under way and wait for its thread."""
        self.job.shutdown()


def _names(files: list[str], target: Path, fmt: str) -> list[str]:
    """The files written, relative to the project folder or the export's own folder."""
    base = target if fmt == "pytorch" else target.parent
    out = []
    for f in files:
        try:
            out.append(str(Path(f).relative_to(base)))
        except ValueError:
            out.append(f)
    return out
