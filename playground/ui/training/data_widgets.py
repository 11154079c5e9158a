"""Dataset choice: built-ins with thumbnails for the 2-D sets, and a CSV import dialog."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...training.datasets import (
    BUILTIN,
    TWO_D,
    DatasetError,
    load_csv,
    load_dataset,
    preview_csv,
)
from ...training.workbench import TYPED

CLASS_COLOURS = ("#e4572e", "#2e86ab", "#76b041", "#f3a712", "#8e44ad", "#17becf")


@cache
def thumbnail(name: str, size: int = 40) -> QIcon:
    """A tiny scatter of a 2-D dataset (cached; the data is generated once)."""
    pix = QPixmap(size, size)
    pix.fill(QColor("white"))
    if name in TWO_D:
        ds = load_dataset(name, n_samples=160, seed=0)
        X = ds.X
        lo, hi = X.min(axis=0), X.max(axis=0)
        span = np.where(hi - lo > 0, hi - lo, 1.0)
        P = (X - lo) / span * (size - 6) + 3
        p = QPainter(pix)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        y = ds.y if ds.task == "classification" else np.zeros(len(X), dtype=int)
        for (px, py), c in zip(P, y, strict=True):
            p.setBrush(QBrush(QColor(CLASS_COLOURS[int(c) % len(CLASS_COLOURS)])))
            p.drawEllipse(QPointF(px, size - py), 1.6, 1.6)
        p.setPen(QPen(QColor("#999")))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(0, 0, size - 1, size - 1)
        p.end()
    return QIcon(pix)


class DatasetCombo(QComboBox):
    """Built-in datasets (2-D ones with a thumbnail) and, once imported, the user's CSV."""

    CSV_KEY = "__csv__"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setIconSize(self.iconSize() * 1.6)
        for name, desc in BUILTIN.items():
            self.addItem(name, name)
            self.setItemData(self.count() - 1, desc, Qt.ItemDataRole.ToolTipRole)
        self.addItem("typed values", TYPED)
        self.setItemData(self.count() - 1, "The values typed into the graph's input nodes: one "
                         "example, or a small table (one row per example)",
                         Qt.ItemDataRole.ToolTipRole)
        self.csv_options: dict[str, Any] | None = None
        self._thumbs_done = False
        # thumbnails need scikit-learn (~1 s to import): make them after the first paint
        QTimer.singleShot(1500, self.add_thumbnails)

    def add_thumbnails(self) -> None:
        if self._thumbs_done:
            return
        self._thumbs_done = True
        for k in range(self.count()):
            name = self.itemData(k)
            if name in TWO_D:
                self.setItemIcon(k, thumbnail(name))

    def showPopup(self) -> None:
        self.add_thumbnails()
        super().showPopup()

    def set_csv(self, options: dict[str, Any]) -> None:
        self.csv_options = options
        index = self.findData(self.CSV_KEY)
        label = f"CSV: {Path(options['path']).name}"
        if index < 0:
            self.addItem(label, self.CSV_KEY)
            index = self.count() - 1
        else:
            self.setItemText(index, label)
        self.setItemData(index, str(options["path"]), Qt.ItemDataRole.ToolTipRole)
        self.setCurrentIndex(index)

    def current_key(self) -> str:
        return str(self.currentData())


class CsvImportDialog(QDialog):
    """Preview a CSV, choose the label column, task and standardisation; check it loads."""

    def __init__(self, path: str, parent: QWidget | None = None,
                 test_fraction: float = 0.0) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Import {Path(path).name}")
        self.path = path
        self.resize(640, 420)
        layout = QVBoxLayout(self)
        self.table = QTableWidget(self)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d1242f;")
        form = QFormLayout()
        self.label = QComboBox()
        self.task = QComboBox()
        self.task.addItems(["auto", "classification", "regression"])
        self.task.setToolTip("auto: classification when the label column holds text or a few "
                             "whole numbers, else regression")
        self.test_fraction = QDoubleSpinBox()
        self.test_fraction.setRange(0.0, 0.9)
        self.test_fraction.setSingleStep(0.05)
        self.test_fraction.setValue(test_fraction)
        self.test_fraction.setToolTip("The share of the rows held out as a test part: never "
                                      "trained on, scored when a run ends (0: no test part)")
        self.standardize = QCheckBox("standardise features (mean 0, std 1 on the training part)")
        self.standardize.setChecked(True)
        form.addRow("Label column", self.label)
        form.addRow("Task", self.task)
        form.addRow("Test fraction", self.test_fraction)
        form.addRow("", self.standardize)
        layout.addWidget(QLabel("First rows:"))
        layout.addWidget(self.table)
        layout.addLayout(form)
        layout.addWidget(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.summary = ""
        try:  # only a regular file, within the size limit: a pipe or a device is refused
            header, rows = preview_csv(path)
        except (OSError, UnicodeDecodeError, DatasetError) as exc:
            header, rows = [], []
            self.error.setText(f"Cannot read {Path(path).name}: {exc}")
        self.table.setColumnCount(len(header))
        self.table.setHorizontalHeaderLabels(header)
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, cell in enumerate(row[: len(header)]):
                self.table.setItem(r, c, QTableWidgetItem(cell))
        self.label.addItems(header)
        if header:
            self.label.setCurrentIndex(len(header) - 1)

    def options(self) -> dict[str, Any]:
        task = self.task.currentText()
        return {"path": self.path, "label": self.label.currentText(),
                "task": None if task == "auto" else task, "standardize": self.standardize.isChecked(),
                "test_fraction": self.test_fraction.value()}

    def _accept(self) -> None:
        opts = self.options()
        try:
            ds = load_csv(opts["path"], label=opts["label"], task=opts["task"])
        except DatasetError as exc:
            self.error.setText(str(exc))
            return
        kind = f"{ds.n_classes} classes" if ds.task == "classification" else "regression"
        self.summary = f"{ds.n_samples} rows, {ds.n_features} features, {kind}"
        self.accept()
