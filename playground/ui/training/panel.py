"""The training panel: data, mapping and optimizer settings, run controls, progress."""

from __future__ import annotations

import math
import time
from typing import Any

from PySide6.QtCore import Qt, Signal
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

from ...engine import EngineError, Program
from ...graph import compile_graph
from ...training import TrainConfig, TrainingError, bind
from ...training.datasets import DatasetError, Split, load_csv, load_dataset, split
from .data_widgets import CsvImportDialog, DatasetCombo
from .history import MetricsHistory
from .worker import TrainingController


class TrainingPanel(QWidget):
    """Owns the run: compiles the document, builds the data, drives the controller, feeds the
    history the plots read. ``locked_changed(bool)`` tells the window to lock graph editing."""

    locked_changed = Signal(bool)
    failure = Signal(str, str)  # message, node name
    message = Signal(str)
    cleared = Signal()  # Reset: the plots and any failure mark should go

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document: Any = None
        self.program: Program | None = None
        self.program_version = -1
        self.split_: Split | None = None
        self.history = MetricsHistory()
        self.controller = TrainingController(self)
        self.epochs_total = 1
        self._t_started = 0.0
        # the run a new one may go on from (its curves continued): see _run_key
        self._continuable: tuple[Any, ...] | None = None
        self._run: tuple[Any, ...] | None = None  # the key of the live or last run
        self._broken = False  # the last run left non-finite weights: the next one starts afresh
        self._lr_in_use = ""
        self._build()
        c = self.controller
        c.metrics.connect(self._on_metrics)
        c.paused_at.connect(self._on_paused)
        c.resumed.connect(self._on_resumed)
        c.failed.connect(self._on_failed)
        c.finished.connect(self._on_finished)

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
        self.samples.setRange(20, 100_000)
        self.samples.setValue(400)
        self.noise = QDoubleSpinBox()
        self.noise.setRange(0.0, 5.0)
        self.noise.setSingleStep(0.05)
        self.noise.setValue(0.2)
        self.val_fraction = QDoubleSpinBox()
        self.val_fraction.setRange(0.0, 0.9)
        self.val_fraction.setSingleStep(0.05)
        self.val_fraction.setValue(0.3)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
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
        f.addRow(grid)
        f.addRow(self.standardize)
        self.features = QComboBox()
        self.target = QComboBox()
        f.addRow("Features →", self.features)
        f.addRow("Labels →", self.target)
        outer.addWidget(data)

        opt = QGroupBox("Optimizer")
        g = QFormLayout(opt)
        self.optimizer = QComboBox()
        self.optimizer.addItems(["sgd", "momentum", "adam"])
        self.lr = QLineEdit("0.1")
        self.lr.setToolTip("Learning rate; may be changed while training (applies at the next step)")
        self.batch = QSpinBox()
        self.batch.setRange(1, 100_000)
        self.batch.setValue(32)
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 100_000)
        self.epochs.setValue(20)
        self.l2 = QLineEdit("0")
        g.addRow("Optimizer", self.optimizer)
        g.addRow("Learning rate", self.lr)
        g.addRow("Batch size", self.batch)
        g.addRow("Epochs", self.epochs)
        g.addRow("L2 decay", self.l2)
        self.reinit = QPushButton("Re-initialise weights")
        g.addRow(self.reinit)
        outer.addWidget(opt)

        run = QGroupBox("Run")
        r = QVBoxLayout(run)
        buttons = QGridLayout()
        self.train_button = QPushButton("▶ Train")
        self.step_button = QPushButton("Step")
        self.step_button.setToolTip("Exactly one minibatch")
        self.epoch_button = QPushButton("Step epoch")
        self.stop_button = QPushButton("■ Stop")
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("Clear the plots and re-initialise the weights")
        buttons.addWidget(self.train_button, 0, 0, 1, 2)
        buttons.addWidget(self.stop_button, 0, 2)
        buttons.addWidget(self.step_button, 1, 0)
        buttons.addWidget(self.epoch_button, 1, 1)
        buttons.addWidget(self.reset_button, 1, 2)
        r.addLayout(buttons)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFormat("idle")
        self.progress.setValue(0)
        r.addWidget(self.progress)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        r.addWidget(self.status)
        self.run_box = run  # the window shows it below the scrolling settings, always in view
        outer.addWidget(run)
        outer.addStretch(1)

        self.import_csv.clicked.connect(self._import_csv)
        self.dataset.currentIndexChanged.connect(self._on_dataset_changed)
        self.train_button.clicked.connect(self._on_train_clicked)
        self.step_button.clicked.connect(self.step_once)
        self.epoch_button.clicked.connect(self.step_epoch)
        self.stop_button.clicked.connect(self.stop)
        self.reset_button.clicked.connect(self.reset)
        self.reinit.clicked.connect(self.reinitialise)
        self.lr.editingFinished.connect(self._on_lr_edited)
        self._update_buttons()

    # -- document --------------------------------------------------------------------------
    def set_document(self, document: Any) -> None:
        self.stop()
        self.document = document
        self.program = None
        self.program_version = -1
        self.history.clear()
        self._continuable = None
        self._broken = False
        self._set_progress(0, "idle")
        self._apply_defaults(document.model.meta.get("training") or {})
        self.refresh_mapping()
        self._update_buttons()

    def _apply_defaults(self, t: dict[str, Any]) -> None:
        name = t.get("dataset")
        if name:
            i = self.dataset.findData(name)
            if i >= 0:
                self.dataset.setCurrentIndex(i)
        for key, widget in (("epochs", self.epochs), ("batch_size", self.batch), ("seed", self.seed)):
            if key in t:
                widget.setValue(int(t[key]))
        if "lr" in t:
            self.lr.setText(f"{float(t['lr']):g}")
        if "l2" in t:
            self.l2.setText(f"{float(t['l2']):g}")
        if "optimizer" in t:
            self.optimizer.setCurrentText(str(t["optimizer"]))
        if "val_fraction" in t:
            self.val_fraction.setValue(float(t["val_fraction"]))
        if "samples" in t:
            self.samples.setValue(int(t["samples"]))
        if "noise" in t:
            self.noise.setValue(float(t["noise"]))
        if "standardize" in t:
            self.standardize.setChecked(bool(t["standardize"]))

    def refresh_mapping(self) -> None:
        """Offer the graph's input nodes for features and labels (defaults chosen by shape)."""
        if self.document is None:
            return
        model = self.document.model
        inputs = [n.name for n in model.nodes.values() if n.op == "input"]
        for combo in (self.features, self.target):
            current = combo.currentText()
            combo.blockSignals(True)
            combo.clear()
            combo.addItem("(automatic)")
            combo.addItems(inputs)
            if current in inputs:
                combo.setCurrentText(current)
            combo.blockSignals(False)

    def _on_dataset_changed(self) -> None:
        from ...training.datasets import TWO_D

        key = self.dataset.current_key()
        generated = key in TWO_D or key == "sine"
        self.samples.setEnabled(generated)
        self.noise.setEnabled(generated)

    def _import_csv(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import CSV", "", "CSV files (*.csv *.txt);;All files (*)")
        if path:
            self.import_csv_file(path, interactive=True)

    def import_csv_file(self, path: str, interactive: bool = False, **options: Any) -> bool:
        dialog = CsvImportDialog(path, self)
        if interactive:
            if dialog.exec() != CsvImportDialog.DialogCode.Accepted:
                return False
        else:
            if "label" in options:
                dialog.label.setCurrentText(str(options["label"]))
            dialog._accept()
            if dialog.result() != CsvImportDialog.DialogCode.Accepted:
                self._show_status(dialog.error.text(), error=True)
                return False
        opts = dialog.options()
        self.standardize.setChecked(opts["standardize"])
        self.dataset.set_csv(opts)
        self._show_status(f"Imported {dialog.summary}")
        return True

    # -- building a run --------------------------------------------------------------------
    def build_split(self) -> Split:
        key = self.dataset.current_key()
        if key == DatasetCombo.CSV_KEY and self.dataset.csv_options:
            o = self.dataset.csv_options
            ds = load_csv(o["path"], label=o["label"], task=o["task"])
        else:
            kwargs = {}
            if self.samples.isEnabled():
                kwargs = {"n_samples": self.samples.value(), "noise": self.noise.value()}
            ds = load_dataset(key, seed=self.seed.value(), **kwargs)
        return split(ds, val_fraction=self.val_fraction.value(), seed=self.seed.value(),
                     standardize=self.standardize.isChecked())

    def config(self, reinit: bool) -> TrainConfig:
        values = []
        for field, what in ((self.lr, "learning rate"), (self.l2, "L2 decay")):
            text = field.text().strip() or ("0" if field is self.l2 else "")
            try:
                values.append(float(text))
            except ValueError:
                raise TrainingError(f"the {what} must be a number, not '{field.text()}'") from None
        lr, l2 = values
        return TrainConfig(epochs=self.epochs.value(), batch_size=self.batch.value(), lr=lr,
                           optimizer=self.optimizer.currentText(), l2=l2, seed=self.seed.value(),
                           reinit=reinit)

    def ensure_program(self) -> tuple[Program, bool]:
        """Compile when the graph changed since the last run, keeping weights whose names and
        shapes still fit. Returns (program, freshly initialised)."""
        assert self.document is not None
        version = self.document.undo.index() if self.program is not None else -2
        if self.program is not None and version == self.program_version:
            return self.program, False
        old = self.program
        program = compile_graph(self.document.model)
        fresh = True
        if old is not None:
            kept = {k: v for k, v in old.param_arrays(trainable_only=False).items()
                    if k in program.param_arrays(trainable_only=False)
                    and program.param_arrays(trainable_only=False)[k].shape == v.shape}
            program.set_params(kept, strict=False)
            fresh = not kept
        elif getattr(self.document, "weights", None):
            program.set_params(self.document.weights, strict=False)
            fresh = False
        self.program, self.program_version = program, self.document.undo.index()
        return program, fresh

    def start(self, start_paused: bool = False, reinit: bool | None = None,
              mode: str = "run") -> bool:
        """Start a run; ``mode`` 'step' or 'epoch' runs one step or one epoch, then pauses."""
        if self.controller.running or self.document is None:
            return False
        try:
            program, fresh = self.ensure_program()
            data = self.build_split()
            features = None if self.features.currentIndex() <= 0 else self.features.currentText()
            target = None if self.target.currentIndex() <= 0 else self.target.currentText()
            binding = bind(program, data, features, target)
            config = self.config(reinit=fresh if reinit is None else reinit)
        except (EngineError, TrainingError, DatasetError, ValueError) as exc:
            self._show_status(str(exc), error=True)
            self.message.emit(str(exc))
            return False
        if self._broken and not config.reinit:
            config = self.config(reinit=True)  # NaN/inf weights cannot train: start afresh
        self._broken = False
        run_key = self._run_key(program)
        if config.reinit or run_key != self._continuable:
            self.history.clear()  # a new run: new curves
        else:
            self.history.continue_run()  # the same weights and data: the curves go on
        self._continuable = None
        self._run = run_key
        self.split_ = data
        self._lr_in_use = f"{config.lr:g}"
        self.epochs_total = config.epochs
        self._t_started = time.perf_counter()
        try:
            self.controller.start(program, data, config, binding, start_paused=start_paused,
                                  mode=mode)
        except TrainingError as exc:
            self._show_status(str(exc), error=True)
            self.message.emit(str(exc))
            return False
        self.locked_changed.emit(True)
        self._show_status("Training… the graph is locked until you stop.")
        self._update_buttons()
        return True

    # -- controls --------------------------------------------------------------------------
    def _on_train_clicked(self) -> None:
        c = self.controller
        if not c.running:
            self.start()
        elif c.paused:
            c.resume()
        else:
            c.pause()
        self._update_buttons()

    def step_once(self) -> None:
        if self.controller.running:
            self.controller.step_once()
        else:
            self.start(mode="step")

    def step_epoch(self) -> None:
        if self.controller.running:
            self.controller.step_epoch()
        else:
            self.start(mode="epoch")

    def stop(self) -> None:
        if self.controller.running:
            self.controller.stop()
        self._update_buttons()

    def reset(self) -> None:
        self.stop()
        self.history.clear()
        self._continuable = None
        self._broken = False
        self._set_progress(0, "idle")
        self.reinitialise()
        self.cleared.emit()

    def reinitialise(self) -> None:
        if self.controller.running:
            self._show_status("Stop the run before re-initialising the weights.", error=True)
            return
        if self.document is None:
            return
        try:
            program, _ = self.ensure_program()
        except EngineError as exc:
            self._show_status(str(exc), error=True)
            return
        program.init_params(self.seed.value())
        self._continuable = None  # new weights: the next run draws new curves
        self._broken = False
        self._show_status(f"Weights re-initialised from seed {self.seed.value()}.")

    def _on_lr_edited(self) -> None:
        if not self.controller.running:
            return
        try:
            lr = float(self.lr.text())
            if not (math.isfinite(lr) and lr > 0):
                raise ValueError
        except ValueError:
            self._show_status(f"The learning rate must be a positive number, not "
                              f"'{self.lr.text()}'; training goes on at {self._lr_in_use}.", error=True)
            self.lr.setText(self._lr_in_use)  # the field shows the rate in use
            return
        self.controller.set_lr(lr)
        self._lr_in_use = f"{lr:g}"
        self._show_status(f"Learning rate → {lr:g} from the next step.")

    # -- reactions -------------------------------------------------------------------------
    def _run_key(self, program: Program) -> tuple[Any, ...]:
        """What a run trains on: a new run with the same key goes on from the last one."""
        csv = self.dataset.csv_options or {}
        return (id(program), self.program_version, self.dataset.current_key(),
                csv.get("path"), csv.get("label"), csv.get("task"),
                self.samples.value() if self.samples.isEnabled() else None,
                self.noise.value() if self.noise.isEnabled() else None,
                self.val_fraction.value(), self.seed.value(), self.standardize.isChecked(),
                self.features.currentText(), self.target.currentText())

    def _remember_settings(self) -> None:
        """The settings of the last run go into the graph's file (read by _apply_defaults)."""
        t = dict(self.document.model.meta.get("training") or {})
        t.update(dataset=self.dataset.current_key(), epochs=self.epochs.value(),
                 batch_size=self.batch.value(), seed=self.seed.value(),
                 optimizer=self.optimizer.currentText(), val_fraction=self.val_fraction.value(),
                 standardize=self.standardize.isChecked())
        for key, field in (("lr", self.lr), ("l2", self.l2)):
            try:
                t[key] = float(field.text() or 0)
            except ValueError:
                pass
        if self.samples.isEnabled():
            t.update(samples=self.samples.value(), noise=self.noise.value())
        self.document.model.meta["training"] = t

    def _set_progress(self, fraction: float, text: str) -> None:
        self.progress.setValue(int(round(1000 * min(max(fraction, 0.0), 1.0))))
        self.progress.setFormat(text)

    def _done_fraction(self) -> float:
        last = self.history.last
        if last is None:
            return 0.0
        per = max(last.steps_per_epoch, 1)
        done = (last.epoch - 1) + (((last.step - 1) % per) + 1) / per
        return done / max(self.epochs_total, 1)

    def _on_metrics(self, records: Any) -> None:
        self.history.append(records)
        last = self.history.last
        if last is None:
            return
        rate = self.history.steps_per_second()
        per = max(last.steps_per_epoch, 1)
        remaining = (self.epochs_total * per - last.step) / rate if rate > 0 else math.nan
        left = f" · {_duration(remaining)} left" if math.isfinite(remaining) else ""
        self._set_progress(self._done_fraction(),
                           f"epoch {last.epoch}/{self.epochs_total} · {rate:,.0f} steps/s{left}")

    def _on_paused(self, step: int) -> None:
        last = self.history.last
        where = f"at epoch {last.epoch}/{self.epochs_total} · step {last.step}" if last else \
            "before the first step"
        self._set_progress(self._done_fraction(), f"paused {where}")
        self._show_status(f"Paused after step {step}. Resume, Step or Stop.")
        self._update_buttons()

    def _on_resumed(self) -> None:
        self._show_status("Training… the graph is locked until you stop.")
        self._update_buttons()

    def _on_failed(self, message: str, node: str) -> None:
        # the weights that broke (NaN, infinite or blown up) would only break again
        self._broken = True
        message += " The next run starts from fresh weights."
        last = self.history.last
        self._set_progress(self._done_fraction(), f"failed at step {last.step + 1 if last else 1}")
        self._show_status(message, error=True)
        self.failure.emit(message, node)

    def _on_finished(self, reason: str) -> None:
        self.locked_changed.emit(False)
        last = self.history.last
        if reason in ("completed", "stopped") and not self._broken:
            self._continuable = self._run  # Train again: the curves go on
        if last is not None and self.document is not None:
            self._remember_settings()
            self.document.mark_trained()  # the weights (and settings) are worth saving
        if reason == "completed":
            extra = ""
            if last is not None and last.val_accuracy is not None:
                extra = f" — validation accuracy {100 * last.val_accuracy:.1f}%"
            n = self.epochs_total
            self._set_progress(1.0, f"finished {n} epoch{'s' if n != 1 else ''}")
            self._show_status(f"Finished {n} epoch{'s' if n != 1 else ''}{extra}. "
                              "Train goes on from these weights; Reset starts over.")
        elif reason == "stopped":
            where = f"epoch {last.epoch}/{self.epochs_total} · step {last.step}" if last else "the start"
            self._set_progress(self._done_fraction(), f"stopped at {where}")
            self._show_status("Stopped. Train continues from these weights; Reset starts over.")
        self._update_buttons()

    def _update_buttons(self, *_: Any) -> None:
        c = self.controller
        running, paused = c.running, c.running and c.paused
        self.train_button.setText("▶ Resume" if paused else ("❚❚ Pause" if running else "▶ Train"))
        self.stop_button.setEnabled(running)
        self.step_button.setEnabled(not running or paused)
        self.epoch_button.setEnabled(not running or paused)
        for w in (self.dataset, self.import_csv, self.samples, self.noise, self.val_fraction, self.seed,
                  self.standardize, self.features, self.target, self.optimizer, self.batch,
                  self.epochs, self.l2, self.reinit):
            w.setEnabled(not running)
        if not running:
            self._on_dataset_changed()

    def _show_status(self, text: str, error: bool = False) -> None:
        colour = "#d1242f" if error else "palette(text)"
        self.status.setText(f"<span style='color:{colour}'>{_escape(text)}</span>")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60)} s"
