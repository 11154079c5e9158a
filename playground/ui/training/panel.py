"""The Training panel: a form over the session's data and run settings, and the run controls.

The form shows :attr:`Session.data` (a :class:`~playground.training.workbench.DataSettings`),
:attr:`Session.config` (a :class:`~playground.training.TrainConfig`) and the data inputs, and
writes every edit back through :meth:`Session.set_settings`. The buttons drive the session's
:class:`~.runner.TrainingRunner`; its progress and status come back as signals. The panel holds
no run state of its own.
"""

from __future__ import annotations

import dataclasses
import html
import math
import time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...training import TrainingError
from ...training.datasets import TWO_D
from ...training.settings import FIELD
from ...training.workbench import TYPED, DataSettings, SettingsError
from .data_widgets import CsvImportDialog, DatasetCombo
from .feature_inputs import DEFAULT_FEATURES, FeatureInputs, GraphError, fit_data_input
from .heldout import HeldOutLine

if TYPE_CHECKING:
    from ..session import Session

GENERATED = TWO_D | {"sine"}  # sets whose size and noise can be chosen
PROGRESS_HZ = 5  # at most, with each metrics batch (4 a second): none is skipped


class TrainingPanel(QWidget):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.runner = session.runner
        self._loading = False
        self._progress: tuple[float, str] = (0.0, "idle")
        self._progress_shown = -math.inf  # perf_counter() of the last progress shown in a run
        self._build()
        s, r = session, self.runner
        s.settings_changed.connect(self._load)
        s.settings_changed.connect(self._show_notes)
        s.weights_changed.connect(self._show_notes)
        s.root_changed.connect(lambda _doc: self.refresh_mapping())
        s.locked_changed.connect(lambda _locked: self._update_buttons())
        r.progress.connect(self._set_progress)
        r.status.connect(self._show_status)
        r.lr_in_use.connect(self.lr.setText)
        r.controller.paused_at.connect(lambda _step: self._update_buttons())
        r.controller.resumed.connect(self._update_buttons)
        r.finished.connect(lambda _reason: self._update_buttons())
        self._load()
        self._update_buttons()

    # -- layout ----------------------------------------------------------------------------
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        data = QGroupBox("Data")
        f = QFormLayout(data)
        self.dataset = DatasetCombo()
        self.import_csv = QPushButton("CSV…")
        self.import_csv.setToolTip("Import your own data from a CSV file")
        row = QHBoxLayout()
        row.addWidget(self.dataset, 1)
        row.addWidget(self.import_csv)
        f.addRow("Dataset", row)
        self.samples = QSpinBox()
        _range(self.samples, "samples")
        self.samples.setValue(400)
        self.noise = QDoubleSpinBox()
        _range(self.noise, "noise")
        self.noise.setSingleStep(0.05)
        self.noise.setValue(0.2)
        self.val_fraction = QDoubleSpinBox()
        _range(self.val_fraction, "val_fraction")
        self.val_fraction.setSingleStep(0.05)
        self.val_fraction.setValue(0.3)
        self.seed = QSpinBox()
        _range(self.seed, "seed")
        self.test_fraction = QDoubleSpinBox()
        _range(self.test_fraction, "test_fraction")
        self.test_fraction.setSingleStep(0.05)
        self.standardize = QCheckBox("standardise features")
        self.standardize.setChecked(True)
        grid = QGridLayout()
        grid.addWidget(QLabel("samples"), 0, 0)
        grid.addWidget(self.samples, 0, 1)
        grid.addWidget(QLabel("noise"), 0, 2)
        grid.addWidget(self.noise, 0, 3)
        grid.addWidget(QLabel("validation"), 1, 0)
        grid.addWidget(self.val_fraction, 1, 1)
        grid.addWidget(QLabel("seed"), 1, 2)
        grid.addWidget(self.seed, 1, 3)
        grid.addWidget(QLabel("test"), 2, 0)
        grid.addWidget(self.test_fraction, 2, 1)
        f.addRow(grid)
        f.addRow(self.standardize)
        # derived inputs of a 2-D set, as in TensorFlow Playground
        self.feature_row = FeatureInputs()
        f.addRow("Inputs", self.feature_row)
        self.feature_label = f.labelForField(self.feature_row)
        self.features = QComboBox()
        self.features.setToolTip("The input node the samples go into (automatic: the one whose "
                                 "width fits)")
        self.target = QComboBox()
        self.target.setToolTip("The input node the labels (targets) go into")
        f.addRow("Samples →", self.features)
        f.addRow("Labels →", self.target)
        self._data_form = f  # the two rows above show only when there is a choice to make
        outer.addWidget(data)

        opt = QGroupBox("Optimizer")
        g = QFormLayout(opt)
        self.optimizer = QComboBox()
        self.optimizer.addItems(["sgd", "momentum", "adam"])
        self.lr = QLineEdit("0.1")
        self.lr.setToolTip("Learning rate; may be changed while training (applies at the next "
                           "step)")
        self.batch = QSpinBox()
        _range(self.batch, "batch_size")
        self.batch.setValue(32)
        self.epochs = QSpinBox()
        _range(self.epochs, "epochs")
        self.epochs.setValue(20)
        self.full_batch = QCheckBox("full batch")
        self.full_batch.setToolTip("Every step on the whole training part, in order (the batch "
                                   "size is not used): plain gradient descent")
        batch_row = QHBoxLayout()
        batch_row.addWidget(self.batch, 1)
        batch_row.addWidget(self.full_batch)
        self.l2 = QLineEdit("0")
        g.addRow("Optimizer", self.optimizer)
        g.addRow("Learning rate", self.lr)
        g.addRow("Batch size", batch_row)
        g.addRow("Epochs", self.epochs)
        g.addRow("L2 decay", self.l2)
        self.reinit = QPushButton("Re-initialise weights")
        g.addRow(self.reinit)
        outer.addWidget(opt)

        run = QGroupBox("Run")  # its buttons are on the run bar above the canvas
        r = QVBoxLayout(run)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFormat("idle")
        self.progress.setValue(0)
        r.addWidget(self.progress)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        r.addWidget(self.status)
        self.held_out = HeldOutLine(self.session)  # the test part's score when a run ends
        r.addWidget(self.held_out)
        # what opening the file said (trained weights taken or not, settings refused): kept in
        # view until another graph opens, unlike status messages
        self.notes = QLabel("")
        self.notes.setWordWrap(True)
        self.notes.setTextFormat(Qt.TextFormat.RichText)
        self.notes.hide()
        r.addWidget(self.notes)
        self.run_box = run  # the window shows it below the scrolling settings, always in view
        outer.addWidget(run)
        outer.addStretch(1)

        self.import_csv.clicked.connect(self._import_csv)
        for combo in (self.dataset, self.features, self.target, self.optimizer):
            combo.currentIndexChanged.connect(self._on_edited)
        for spin in (self.samples, self.noise, self.val_fraction, self.test_fraction, self.seed,
                     self.batch, self.epochs):
            spin.valueChanged.connect(self._on_edited)
        self.standardize.toggled.connect(self._on_edited)
        self.full_batch.toggled.connect(self._on_edited)
        self.l2.editingFinished.connect(self._on_edited)
        self.lr.editingFinished.connect(self._on_lr_edited)
        self.reinit.clicked.connect(self.runner.reinitialise)
        self.feature_row.toggled.connect(self._apply_features)

    # -- session → form ----------------------------------------------------------------------
    def _load(self) -> None:
        """Show the session's settings (a new document, or settings changed elsewhere)."""
        s = self.session
        d, c = s.data, s.config
        self._loading = True
        try:
            if d.csv is not None:
                self.dataset.set_csv({"path": d.csv, "label": d.label, "task": d.task,
                                      "standardize": d.standardize})
            elif d.dataset is not None:
                i = self.dataset.findData(d.dataset)
                if i >= 0:
                    self.dataset.setCurrentIndex(i)
            if d.samples is not None:
                self.samples.setValue(int(d.samples))
            if d.noise is not None:
                self.noise.setValue(float(d.noise))
            self.val_fraction.setValue(float(d.val_fraction))
            self.test_fraction.setValue(float(d.test_fraction))
            self.seed.setValue(int(d.seed))
            self.standardize.setChecked(bool(d.standardize))
            self.feature_row.show_chosen(d.features)
            self.epochs.setValue(int(c.epochs))
            self.batch.setValue(int(c.batch_size))
            self.full_batch.setChecked(bool(c.full_batch))
            self.lr.setText(f"{c.lr:g}")
            self.l2.setText(f"{c.l2:g}")
            self.optimizer.setCurrentText(c.optimizer)
            self.refresh_mapping()
        finally:
            self._loading = False
        self._on_dataset_changed()

    def refresh_mapping(self) -> None:
        """Offer the graph's input nodes for features and labels (defaults chosen by shape)."""
        root = self.session.root
        if root is None:
            return
        inputs = [n.name for n in root.model.nodes.values() if n.op == "input"]
        wanted = self.session.inputs
        # with one input for the samples and one for the labels "(automatic)" is the only
        # sensible choice: the two rows would take room the settings need at 1366 x 768
        choice = len(inputs) > 2 or any(w is not None for w in wanted)
        for combo in (self.features, self.target):
            self._data_form.setRowVisible(combo, choice)
        for combo, want in zip((self.features, self.target), wanted, strict=True):
            combo.blockSignals(True)
            combo.clear()
            combo.addItem("(automatic)")
            combo.addItems(inputs)
            if want in inputs:
                combo.setCurrentText(want)
            combo.blockSignals(False)

    def _on_dataset_changed(self) -> None:
        generated = self.dataset.current_key() in GENERATED
        two_d = self.dataset.current_key() in TWO_D
        self.feature_row.setVisible(two_d)
        if self.feature_label is not None:
            self.feature_label.setVisible(two_d)
        running = self.runner.running
        self.samples.setEnabled(generated and not running)
        self.noise.setEnabled(generated and not running)
        self.batch.setEnabled(not self.full_batch.isChecked() and not running)

    # -- form → session ----------------------------------------------------------------------
    def _on_edited(self, *_: Any) -> None:
        if self._loading:
            return
        self._on_dataset_changed()
        try:
            self.commit()
        except (TrainingError, SettingsError) as exc:
            self._show_status(str(exc), True)

    def data_settings(self) -> DataSettings:
        """The data settings the form shows (fields it does not show are kept)."""
        key = self.dataset.current_key()
        base = self.session.data
        generated = key in GENERATED
        chosen = self.chosen_features()
        features = () if chosen == DEFAULT_FEATURES or key not in TWO_D else chosen
        common: dict[str, Any] = {"val_fraction": self.val_fraction.value(),
                                  "features": features,
                                  "test_fraction": self.test_fraction.value(),
                                  "seed": self.seed.value(),
                  "standardize": self.standardize.isChecked(),
                  "samples": self.samples.value() if generated else None,
                  "noise": self.noise.value() if generated else None}
        if key == DatasetCombo.CSV_KEY and self.dataset.csv_options:
            o = self.dataset.csv_options
            return dataclasses.replace(base, dataset=None, csv=str(o["path"]),
                                       label=o.get("label"), task=o.get("task"), **common)
        keep_task = base.task if base.dataset == key else None
        return dataclasses.replace(base, dataset=key, csv=None, label=None, task=keep_task,
                                   **common)

    def commit(self) -> None:
        """Write the form into the session; raises TrainingError naming a field that is not a
        number (the session keeps its value)."""
        values = []
        for field, what in ((self.lr, "learning rate"), (self.l2, "L2 decay")):
            text = field.text().strip() or ("0" if field is self.l2 else "")
            try:
                values.append(float(text))
            except ValueError:
                raise TrainingError(f"the {what} must be a number, not '{field.text()}'") from None
        lr, l2 = values
        config = dataclasses.replace(self.session.config, epochs=self.epochs.value(),
                                     batch_size=self.batch.value(), lr=lr, l2=l2,
                                     full_batch=self.full_batch.isChecked(),
                                     optimizer=self.optimizer.currentText())
        features = None if self.features.currentIndex() <= 0 else self.features.currentText()
        target = None if self.target.currentIndex() <= 0 else self.target.currentText()
        self.session.set_settings(self.data_settings(), config, (features, target))

    def _import_csv(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import CSV", "",
                                              "CSV files (*.csv *.txt);;All files (*)")
        if path:
            self.import_csv_file(path, interactive=True)

    def import_csv_file(self, path: str, interactive: bool = False, **options: Any) -> bool:
        dialog = CsvImportDialog(path, self, self.test_fraction.value())
        try:
            if interactive:
                if dialog.exec() != CsvImportDialog.DialogCode.Accepted:
                    return False
            else:
                if "label" in options:
                    dialog.label.setCurrentText(str(options["label"]))
                if "task" in options:
                    dialog.task.setCurrentText(str(options["task"] or "auto"))
                if "test_fraction" in options:
                    dialog.test_fraction.setValue(float(options["test_fraction"]))
                dialog._accept()
                if dialog.result() != CsvImportDialog.DialogCode.Accepted:
                    self._show_status(dialog.error.text(), True)
                    return False
            opts = dialog.options()
            summary = dialog.summary
        finally:
            dialog.deleteLater()
        self._loading = True
        try:
            self.standardize.setChecked(opts["standardize"])
            self.test_fraction.setValue(opts["test_fraction"])
            self.dataset.set_csv(opts)
        finally:
            self._loading = False
        self._on_edited()
        self._show_status(f"Imported {summary}")
        return True

    # -- run controls ------------------------------------------------------------------------
    def start(self, mode: str = "run", start_paused: bool = False,
              reinit: bool | None = None) -> bool:
        """Commit the form and start a run (see :meth:`TrainingRunner.start`)."""
        if self.runner.running or not self._committed():
            return False
        return self.runner.start(mode=mode, start_paused=start_paused, reinit=reinit)

    def commit_form(self) -> bool:
        """The form written into the session (the run bar calls this before a run starts);
        False, and why in the status line, when a field is not a number."""
        return self._committed()

    def _committed(self) -> bool:
        """The form written into the session before a run starts; False (and why, in the
        status line) when a field is not a number."""
        try:
            self.commit()
        except (TrainingError, SettingsError) as exc:
            self._show_status(str(exc), True)
            return False
        return True

    # -- feature inputs ----------------------------------------------------------------------
    def chosen_features(self) -> tuple[str, ...]:
        """The feature inputs checked, in the table's order (canonical names)."""
        return self.feature_row.chosen()

    def set_features(self, names: tuple[str, ...] | list[str]) -> bool:
        """Check exactly ``names`` (as if clicked); False when refused (none, or the graph's
        input cannot follow)."""
        self.feature_row.show_chosen(names, exact=True)
        return self._apply_features()

    def _apply_features(self) -> bool:
        """The checked feature inputs: into the run settings, and the graph's data input (and
        the weights that multiply it) resized to as many columns, as one undoable edit."""
        chosen = self.chosen_features()
        if not chosen:
            self._show_status("Choose at least one input for the network.", True)
            self._load()  # back to what the session has
            return False
        named = self.features.currentText() if self.features.currentIndex() > 0 else None
        try:
            said = fit_data_input(self.session, chosen, named)
        except GraphError as exc:
            self._show_status(str(exc), True)
            self._load()
            return False
        if said:
            self._show_status(said)
        self._on_edited()
        return True

    def apply_lr(self, text: str) -> None:
        """Set the learning rate from elsewhere (the run bar's box) as if typed here."""
        if text != self.lr.text():
            self.lr.setText(text)
        self._on_lr_edited()

    def _on_lr_edited(self) -> None:
        if self.runner.running:
            self.runner.set_lr(self.lr.text())
        else:
            self._on_edited()

    def _update_buttons(self, *_: Any) -> None:
        running = self.runner.controller.running
        for w in (self.dataset, self.import_csv, self.samples, self.noise, self.val_fraction,
                  self.test_fraction, self.seed, self.standardize, self.features, self.target,
                  self.optimizer, self.batch, self.full_batch, self.epochs, self.l2, self.reinit,
                  self.feature_row):
            w.setEnabled(not running)
        if not running:
            self._on_dataset_changed()

    def _show_notes(self) -> None:
        s = self.session
        lines = [*s.settings_problems, *s.weights_problems]
        note = s.weights_note
        if s.settings_problems:
            n = len(s.settings_problems)
            note = (f"{n} training setting{'s' if n != 1 else ''} in the file could not be used "
                    f"(the defaults are shown). {note}").strip()
        warn = bool(lines) or note.startswith(("No ", "Trained weights not"))
        colour = "#9a6700" if warn else "palette(text)"
        self.notes.setText(f"<span style='color:{colour}'>{html.escape(note, quote=False)}</span>")
        self.notes.setToolTip("\n".join(lines))
        self.notes.setVisible(bool(note))

    def _set_progress(self, fraction: float, text: str) -> None:
        """Shown at most PROGRESS_HZ times a second during a run, with the metrics batches (a
        timer's wake-ups would take the GIL from training); a pause or the end at once."""
        self._progress = (fraction, text)
        now = time.perf_counter()
        if not self.runner.running or self.runner.paused:
            self._show_progress()
        elif now - self._progress_shown >= 1 / PROGRESS_HZ:
            self._progress_shown = now
            self._show_progress()

    def _show_progress(self) -> None:
        fraction, text = self._progress
        bar = self.progress
        # setValue would repaint at once, ~1 ms holding the GIL training needs: with updates
        # off it stores the value, and the event loop repaints the bar without the lock
        bar.setUpdatesEnabled(False)
        try:
            bar.setValue(round(1000 * min(max(fraction, 0.0), 1.0)))
            bar.setFormat(text)
        finally:
            bar.setUpdatesEnabled(True)

    def _show_status(self, text: str, error: bool = False) -> None:
        colour = "#d1242f" if error else "palette(text)"
        self.status.setText(f"<span style='color:{colour}'>{html.escape(text, quote=False)}</span>")


def _range(box: QSpinBox | QDoubleSpinBox, field: str) -> None:
    """The allowed range of a setting, from the one validation table (training/settings.py)."""
    f = FIELD[field]
    low, high = f.minimum or 0, f.maximum if f.maximum is not None else 1e9
    if isinstance(box, QSpinBox):
        box.setRange(int(low), int(high))
    else:
        box.setRange(float(low), float(high))
    box.setToolTip(f"{f.title or field}: {f.allowed()}")


__all__ = ["TYPED", "TrainingPanel"]
