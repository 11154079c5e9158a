"""Snapshot views of what the network holds: sample images with their predictions (wrong ones in
red) and histograms of the weights."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QGraphicsRectItem,
    QLabel,
    QWidget,
)

from .history import ViewSnapshot
from .history_csv import write_rows
from .plots_base import (
    BACKGROUND,
    FOREGROUND,
    PALETTE,
    TITLE_SIZE,
    WRONG,
    TimedLayoutWidget,
    _blocks,
    style_plot,
)
from .plots_views import _plot_widget, _SnapshotPlot


class SampleGridPlot(_SnapshotPlot):
    """A grid of sample images titled "pred (true)"; wrong predictions in red with a red frame.
    Each image keeps square pixels (its view's aspect is locked) and its frame is drawn around
    the image itself, not around the cell (a tall cell framed a square image like a tall one)."""

    export_name = "samples"
    hint_text = "Train to see sample images with the network's predictions"
    PIXEL = 6  # screen/export pixels per image pixel, so exported pictures stay sharp

    def __init__(self, rows: int = 4, cols: int = 6, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows, self.cols = rows, cols
        self.set_graphics(TimedLayoutWidget(border=None))
        self.graphics.setBackground(BACKGROUND)
        self.graphics.setMinimumSize(240, 180)
        self.layout_item: pg.GraphicsLayout = self.graphics.ci
        self.title = self.layout_item.addLabel("Validation samples: prediction (true class)",
                                               row=0, col=0, colspan=cols, color=FOREGROUND,
                                               size=TITLE_SIZE)
        self.classes: tuple[str, ...] = ()
        self.image_shape: tuple[int, int] | None = None
        self.labels: list[pg.LabelItem] = []
        self.boxes: list[pg.ViewBox] = []
        self.images: list[pg.ImageItem] = []
        self.frames: list[QGraphicsRectItem] = []
        self.wrong: np.ndarray = np.zeros(0, dtype=bool)
        self._rows_data: list[tuple[int, str, str, bool]] = []
        grey = np.linspace(255, 0, 256).astype(np.uint8)  # ink (1.0) dark on white paper
        self._lut = np.column_stack([grey, grey, grey])
        for k in range(rows * cols):
            r, c = divmod(k, cols)
            label = self.layout_item.addLabel("", row=1 + 2 * r, col=c, color=FOREGROUND, size="9pt")
            box = self.layout_item.addViewBox(row=2 + 2 * r, col=c, lockAspect=True, invertY=True,
                                              enableMouse=False, enableMenu=False)
            image = pg.ImageItem(axisOrder="row-major")
            image.setLookupTable(self._lut)
            box.addItem(image)
            frame = QGraphicsRectItem()
            frame.setBrush(QBrush(Qt.BrushStyle.NoBrush))
            frame.setVisible(False)
            box.addItem(frame)
            self.labels.append(label)
            self.boxes.append(box)
            self.images.append(image)
            self.frames.append(frame)

    def set_context(self, classes: Sequence[str], image_shape: tuple[int, int] | None) -> None:
        self.classes = tuple(classes)
        self.image_shape = image_shape

    MIN_CELL = 56  # px: narrower than this, a sample and its "pred (true)" label are clipped

    def shown_columns(self) -> int:
        """How many columns fit the widget's width (the rest are folded away, not squeezed)."""
        width = self.graphics.width() if getattr(self, "graphics", None) is not None else 0
        return max(1, min(self.cols, width // self.MIN_CELL)) if width > 0 else self.cols

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._fold_columns()

    def _fold_columns(self) -> None:
        shown = self.shown_columns()
        grid = self.layout_item.layout
        for c in range(self.cols):
            visible = c < shown
            grid.setColumnMaximumWidth(c, 1e6 if visible else 0)
            grid.setColumnStretchFactor(c, 1 if visible else 0)
            for r in range(self.rows):
                k = r * self.cols + c
                self.labels[k].setVisible(visible)
                self.boxes[k].setVisible(visible)
        self._update_title()

    def _name(self, k: int) -> str:
        return self.classes[k] if 0 <= k < len(self.classes) else str(k)

    def _draw(self, snapshot: ViewSnapshot) -> bool:
        if snapshot.samples is None or snapshot.sample_pred is None or snapshot.sample_true is None:
            return False
        imgs = np.asarray(snapshot.samples, dtype=np.float64)
        if imgs.ndim == 2 and self.image_shape is not None:
            imgs = imgs.reshape(imgs.shape[0], *self.image_shape)
        true = np.asarray(snapshot.sample_true).reshape(-1).astype(np.int64)
        pred = np.asarray(snapshot.sample_pred).reshape(-1).astype(np.int64)
        k = min(len(imgs), len(true), len(pred), len(self.images))
        lo, hi = float(np.nanmin(imgs[:k], initial=0.0)), float(np.nanmax(imgs[:k], initial=1.0))
        self.wrong = pred[:k] != true[:k]
        self._rows_data = []
        for i, (label, box, image, frame) in enumerate(
                zip(self.labels, self.boxes, self.images, self.frames, strict=True)):
            if i >= k:
                image.clear()
                label.setText("")
                frame.setVisible(False)
                continue
            block = _blocks(imgs[i], self.PIXEL)
            image.setImage(block, autoLevels=False, levels=(lo, hi if hi > lo else lo + 1))
            wrong = bool(self.wrong[i])
            text = f"{self._name(pred[i])} ({self._name(true[i])})"
            label.setText(text, color=WRONG if wrong else FOREGROUND, size="9pt",
                          bold=wrong)
            pen = QPen(QColor(WRONG if wrong else "#b4b4b4"), 3 if wrong else 1)
            pen.setCosmetic(True)  # pixels on screen, however the view is scaled
            frame.setPen(pen)
            frame.setRect(QRectF(0, 0, block.shape[1], block.shape[0]))
            frame.setVisible(True)
            box.autoRange(padding=0.04)
            self._rows_data.append((i, self._name(true[i]), self._name(pred[i]), not wrong))
        self._step = snapshot.step
        self._update_title()
        return True

    def _update_title(self) -> None:
        """Counts of what is on screen: columns that do not fit are folded away."""
        if getattr(self, "_step", None) is None:
            return
        shown = [k for k in range(len(self.wrong)) if k % self.cols < self.shown_columns()]
        n_wrong = int(self.wrong[shown].sum()) if shown else 0
        # short enough for a narrow dock: "prediction (true class)" is what each label shows
        self.title.setText(f"Prediction (true class), step {self._step}: {n_wrong} of "
                           f"{len(shown)} wrong, in red", color=FOREGROUND, size=TITLE_SIZE)

    def export_csv(self, path: Path) -> None:
        write_rows(path, ["sample", "true", "predicted", "correct"],
                   ([i, t, p, int(ok)] for i, t, p, ok in self._rows_data))

    def clear(self) -> None:
        super().clear()
        self._rows_data = []
        self.wrong = np.zeros(0, dtype=bool)
        for label, image, frame in zip(self.labels, self.images, self.frames, strict=True):
            image.clear()
            label.setText("")
            frame.setVisible(False)


class WeightHistogramPlot(_SnapshotPlot):
    """Histogram of one parameter's values (pick it in the combo box)."""

    export_name = "weights"
    hint_text = "Train to see how the weights are spread"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.add_tool(QLabel("Parameter:"))
        self.combo = QComboBox()
        self.combo.setMinimumContentsLength(8)
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.combo.currentTextChanged.connect(self._on_param_changed)
        self.add_tool(self.combo)
        self.set_graphics(_plot_widget())
        self.plot: pg.PlotItem = self.graphics.getPlotItem()
        style_plot(self.plot, "Parameter values", "value", "count")
        self.curve = self.plot.plot([0.0, 1.0], [0.0], stepMode="center", fillLevel=0,
                                    pen=pg.mkPen(PALETTE[0], width=1.5),
                                    brush=pg.mkBrush(31, 119, 180, 90), name="count")
        self.curve.setData([], [])
        self.counts: np.ndarray | None = None
        self.edges: np.ndarray | None = None
        self._last: ViewSnapshot | None = None

    def set_params(self, names: Sequence[str]) -> None:
        current = self.combo.currentText()
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItems(list(names))
        if current in names:
            self.combo.setCurrentText(current)
        self.combo.blockSignals(False)

    def _on_param_changed(self, _name: str) -> None:
        if self._last is not None and self._draw(self._last):
            self.redraws += 1

    def _draw(self, snapshot: ViewSnapshot) -> bool:
        self._last = snapshot
        if not snapshot.params:
            return False
        if self.combo.count() == 0:
            self.set_params(list(snapshot.params))
        name = self.combo.currentText()
        if name not in snapshot.params:
            return False
        values = np.asarray(snapshot.params[name], dtype=np.float64)
        flat = values[np.isfinite(values)].ravel()
        bins = int(min(60, max(10, math.sqrt(max(flat.size, 1)))))
        counts, edges = np.histogram(flat, bins=bins)
        self.counts, self.edges = counts, edges
        self.curve.setData(edges, counts)
        shape = "×".join(str(d) for d in values.shape) or "scalar"
        stats = f"mean {flat.mean():.3g}, std {flat.std():.3g}" if flat.size else "no values"
        self.plot.setTitle(f"{name} ({shape}) at step {snapshot.step}: {stats}",
                           color=FOREGROUND, size=TITLE_SIZE)
        return True

    def export_csv(self, path: Path) -> None:
        if self.counts is None or self.edges is None:
            write_rows(path, ["bin_start", "bin_end", "count"], [])
            return
        e = self.edges
        write_rows(path, ["bin_start", "bin_end", "count"],
                   ((f"{e[i]:.10g}", f"{e[i + 1]:.10g}", int(c)) for i, c in enumerate(self.counts)))

    def clear(self) -> None:
        super().clear()
        self._last = None
        self.counts = self.edges = None
        self.curve.setData([], [])
