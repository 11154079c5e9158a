"""The views drawn from a :class:`ViewSnapshot`: decision boundary, confusion matrix, sample
grid, weight histograms. Each keeps its graphics items and only feeds them new data in
``refresh(snapshot)``, which does nothing when handed the snapshot it already shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QHBoxLayout,
    QWidget,
)

from .history import ViewSnapshot
from .history_csv import write_rows
from .plots_base import (
    BACKGROUND,
    FOREGROUND,
    LABEL_STYLE,
    TITLE_SIZE,
    PlotPanel,
    TimedPlotWidget,
    _blocks,
    add_side_legend,
    color,
    style_plot,
    tint,
)


class _SnapshotPlot(PlotPanel):
    """A view redrawn from the latest snapshot; ``refresh`` skips the snapshot already shown.

    ``aspect_fit``: the content is drawn with a locked aspect (one unit as long across as up),
    so the plot is made just as wide as its content needs at the height it has (its axes and
    legend beside it), and centred: a locked aspect in a wide, short view would otherwise widen
    the range (moons' −2..2 became −9..9) instead of leaving white space beside the plot."""

    source = "snapshot"
    aspect_fit = False
    _centred = False

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._shown: ViewSnapshot | None = None

    def content_aspect(self) -> float:
        """Width / height of what is drawn, in data units (the view range to fit)."""
        return 1.0

    def _show_axes(self, shown: bool) -> None:
        plot = getattr(self, "plot", None)
        if isinstance(plot, pg.PlotItem):
            for name in ("left", "bottom"):
                plot.showAxis(name, shown)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self.fit_width()

    def fit_soon(self, *_: Any) -> None:
        """Fit once the layout has settled (a new title or legend entry changes what the plot
        needs beside its view, which the view box alone does not report)."""
        timer = getattr(self, "_fit_timer", None)
        if timer is None:
            timer = self._fit_timer = QTimer(self)
            timer.setSingleShot(True)
            timer.setInterval(0)
            timer.timeout.connect(self.fit_width)
        timer.start()

    def fit_width(self, *_: Any) -> None:
        """Size the plot to its content: in a wide area, its axes and legend plus the content's
        aspect × the view's height wide; in a tall one, as high as the width allows; centred
        either way. The sizes beside the view (axes, legend, title) do not depend on the
        view's, so one pass settles it."""
        plot = getattr(self, "plot", None)
        if not self.aspect_fit or plot is None:
            return
        if not self._centred:  # between stretches, in the middle of the area it is given
            self._centred = True
            self.body.removeWidget(self.graphics)
            row = QHBoxLayout()
            row.setContentsMargins(0, 0, 0, 0)
            row.addStretch(1)
            row.addWidget(self.graphics, 1000)
            row.addStretch(1)
            self.body.addStretch(1)
            self.body.addLayout(row, 1000)
            self.body.addStretch(1)
        area = self.body.geometry()
        vb = plot.getViewBox()
        if area.width() <= 0 or area.height() <= 0 or vb.height() <= 0 or vb.width() <= 0:
            return
        beside_w = plot.width() - vb.width()  # axes, legend, margins (scene units = pixels)
        beside_h = plot.height() - vb.height()  # title, axis, margins
        room_w, room_h = area.width() - beside_w, area.height() - beside_h
        aspect = self.content_aspect()
        if room_w <= 0 or room_h <= 0 or aspect <= 0:
            return
        if aspect * room_h <= room_w:  # wide: as high as the area, as wide as that needs
            width, height = beside_w + aspect * room_h, float(area.height())
        else:  # tall: as wide as the area, as high as that needs
            width, height = float(area.width()), beside_h + room_w / aspect
        width = max(240, round(plot.minimumWidth()), round(width))
        height = max(180, round(height))
        if abs(self.graphics.maximumWidth() - width) > 1:
            self.graphics.setMaximumWidth(width)
        if abs(self.graphics.maximumHeight() - height) > 1:
            self.graphics.setMaximumHeight(height)
        view = self.graphics
        if abs(plot.width() - view.width()) > 1 and plot.minimumWidth() <= view.width():
            # the plot was laid out while it needed more than the view (a longer title): it
            # kept that width, overflowing the view, and no resize of the view will come
            plot.setGeometry(QRectF(0, 0, view.width(), view.height()))

    def refresh(self, snapshot: ViewSnapshot | None) -> bool:
        if snapshot is None or snapshot is self._shown:
            return False
        self._shown = snapshot
        if self._draw(snapshot):
            self.set_empty(False)
            self.redraws += 1
            return True
        return False

    def _draw(self, snapshot: ViewSnapshot) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def clear(self) -> None:
        self._shown = None
        self.set_empty(True)


def _plot_widget() -> pg.PlotWidget:
    w = TimedPlotWidget(background=BACKGROUND)
    w.setMinimumSize(240, 180)
    return w


class BoundaryPlot(_SnapshotPlot):
    """The model's decision regions (class map or p(class 1)) under the training points; the
    axes fit the grid the regions are computed on (the data and a 10% margin: snapshots'
    ``GRID_MARGIN``), with equal units across and up."""

    export_name = "boundary"
    hint_text = "Train to see the decision boundary"
    aspect_fit = True

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.set_graphics(_plot_widget())
        self.plot: pg.PlotItem = self.graphics.getPlotItem()
        style_plot(self.plot, "Decision boundary", "x1 (standardised)", "x2 (standardised)",
                   grid=False)
        self.plot.setAspectLocked(True)
        self.legend = add_side_legend(self.plot)
        self.legend.min_beside = 0.0  # the plot sizes itself to the data and the legend
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(-10)
        self.plot.addItem(self.image)
        self.plot.getViewBox().sigResized.connect(self.fit_width)
        self.legend.geometryChanged.connect(self.fit_soon)
        self.extent: QRectF | None = None  # the range shown: the grid, or the data
        self.points: list[pg.ScatterPlotItem] = []
        self.classes: tuple[str, ...] = ("0", "1")
        self.grid: np.ndarray | None = None
        self.xs: np.ndarray | None = None
        self.ys: np.ndarray | None = None
        self.data_points: np.ndarray | None = None  # the data shown over the boundary
        self.data_labels: np.ndarray | None = None

    def set_context(self, classes: Sequence[str], feature_names: Sequence[str] = ("x1", "x2")) -> None:
        self.classes = tuple(classes) or ("0", "1")
        names = list(feature_names) + ["x1", "x2"][len(feature_names):]
        self.plot.setLabel("bottom", f"{names[0]} (standardised)", **LABEL_STYLE)
        self.plot.setLabel("left", f"{names[1]} (standardised)", **LABEL_STYLE)

    def set_data(self, X: np.ndarray, y: np.ndarray) -> None:
        """The (standardised) training points, drawn over the regions, one colour per class."""
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y).reshape(-1).astype(np.int64)
        n = max(len(self.classes), int(y.max()) + 1 if y.size else 0)
        same = (self.data_points is not None and self.data_labels is not None
                and len(self.points) == n and X.shape == self.data_points.shape
                and y.shape == self.data_labels.shape and np.array_equal(X, self.data_points)
                and np.array_equal(y, self.data_labels))
        self.data_points, self.data_labels = X, y
        if not same:  # (a run on the same data does not feed thousands of points again)
            self._feed_points(X, y, n)
        if X.shape[0] and self.grid is None:  # until a grid arrives: the data and a margin
            lo, hi = X[:, :2].min(axis=0), X[:, :2].max(axis=0)
            pad = np.where(hi > lo, 0.1 * (hi - lo), 0.5)
            self._fit_view(QRectF(lo[0] - pad[0], lo[1] - pad[1], *(hi - lo + 2 * pad)))
        self.set_empty(not X.shape[0])

    def _feed_points(self, X: np.ndarray, y: np.ndarray, n: int) -> None:
        while len(self.points) < n:
            k = len(self.points)
            name = self.classes[k] if k < len(self.classes) else str(k)
            item = pg.ScatterPlotItem(size=7, pen=pg.mkPen("#ffffff", width=1),
                                      brush=pg.mkBrush(color(k, n)), name=f"class {name}")
            item.setZValue(10)
            self.plot.addItem(item)
            self.points.append(item)
        for k, item in enumerate(self.points):
            sel = y == k
            item.setBrush(pg.mkBrush(color(k, n)))
            item.setData(x=X[sel, 0], y=X[sel, 1])

    def content_aspect(self) -> float:
        rect = self.extent
        if rect is None or rect.height() <= 0:
            return 1.0
        return rect.width() / rect.height()

    def _fit_view(self, rect: QRectF) -> None:
        """Show exactly ``rect`` (the locked aspect widens one side only if the plot cannot
        be sized to it), and size the plot to it."""
        if self.extent == rect:
            return
        self.extent = rect
        self.plot.setRange(rect, padding=0)
        self.fit_width()


    def _draw(self, snapshot: ViewSnapshot) -> bool:
        if snapshot.boundary is None:
            return False
        xs, ys, grid = (np.asarray(a) for a in snapshot.boundary)
        if xs[0] > xs[-1]:
            xs, grid = xs[::-1], grid[:, ::-1]
        if ys[0] > ys[-1]:
            ys, grid = ys[::-1], grid[::-1, :]
        self.xs, self.ys, self.grid = xs, ys, grid
        n = max(len(self.classes), 2)
        if snapshot.boundary_probability:
            cmap = pg.ColorMap([0.0, 0.5, 1.0], [tint(color(0, 2), 0.45), (255, 255, 255),
                                                 tint(color(1, 2), 0.45)])
            rgba = cmap.map(np.clip(grid, 0.0, 1.0).ravel(), mode="byte").reshape(*grid.shape, -1)
            what = f"p(class {self.classes[1] if len(self.classes) > 1 else '1'})"
        else:
            lut = np.array([tint(color(k, n)) for k in range(n)], dtype=np.uint8)
            rgba = lut[np.clip(grid.astype(np.int64), 0, n - 1)]
            what = "Decision regions"
        self.image.setImage(rgba, autoLevels=False, levels=(0, 255))
        dx = (xs[-1] - xs[0]) / max(len(xs) - 1, 1) or 1.0
        dy = (ys[-1] - ys[0]) / max(len(ys) - 1, 1) or 1.0
        rect = QRectF(xs[0] - dx / 2, ys[0] - dy / 2, dx * len(xs), dy * len(ys))
        self.image.setRect(rect)
        self._fit_view(rect)
        # short: the title's width is the least the plot can be (it must not widen the range)
        self.plot.setTitle(f"{what}, step {snapshot.step}", color=FOREGROUND, size=TITLE_SIZE)
        return True

    def export_csv(self, path: Path) -> None:
        if self.grid is None or self.xs is None or self.ys is None:
            write_rows(path, ["x1", "x2", "value"], [])
            return
        gx, gy = np.meshgrid(self.xs, self.ys)
        write_rows(path, ["x1", "x2", "value"],
                   ((f"{a:.10g}", f"{b:.10g}", f"{v:.10g}")
                    for a, b, v in zip(gx.ravel(), gy.ravel(), self.grid.ravel(), strict=True)))

    def clear(self) -> None:
        super().clear()
        self.grid = None
        self.extent = None
        self.image.clear()


class ConfusionPlot(_SnapshotPlot):
    """Validation confusion matrix: rows are true classes, columns predictions; each cell shows
    its count, shaded by its share of the row (blue on the diagonal, red for mistakes)."""

    export_name = "confusion"
    hint_text = "Train to see which classes are mistaken for which"
    aspect_fit = True  # square cells

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.set_graphics(_plot_widget())
        self.plot: pg.PlotItem = self.graphics.getPlotItem()
        style_plot(self.plot, "Confusion matrix (validation)", "predicted class", "true class",
                   grid=False)
        self.plot.invertY(True)
        self.plot.setAspectLocked(True)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.getViewBox().sigResized.connect(self._fit_text)
        self.plot.getViewBox().sigResized.connect(self.fit_width)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self._right = pg.ColorMap([0.0, 1.0], [(255, 255, 255), (31, 119, 180)])
        self._wrong = pg.ColorMap([0.0, 1.0], [(255, 255, 255), (214, 39, 40)])
        self.texts: list[list[pg.TextItem]] = []
        self.classes: tuple[str, ...] = ()
        self.counts: np.ndarray | None = None

    def set_context(self, classes: Sequence[str]) -> None:
        self.classes = tuple(classes)

    def _cells(self, n: int) -> None:
        if len(self.texts) == n:
            return
        for row in self.texts:
            for t in row:
                self.plot.removeItem(t)
        self.texts = []
        for i in range(n):
            row = []
            for j in range(n):
                t = pg.TextItem("", color=FOREGROUND, anchor=(0.5, 0.5))
                t.setPos(j, i)
                self.plot.addItem(t)
                row.append(t)
            self.texts.append(row)
        self._fit_text()
        names = [self.classes[k] if k < len(self.classes) else str(k) for k in range(n)]
        ticks = [[(k, names[k]) for k in range(n)]]
        self.plot.getAxis("bottom").setTicks(ticks)
        self.plot.getAxis("left").setTicks(ticks)
        self.image.setRect(QRectF(-0.5, -0.5, n, n))
        self.plot.setRange(xRange=(-0.5, n - 0.5), yRange=(-0.5, n - 0.5), padding=0.02)

    def _fit_text(self, *_: Any) -> None:
        """Counts in a font that fits the cells as drawn now; none when the cells are too small
        to hold a readable number (the colours and the tooltip-free export still show them)."""
        n = len(self.texts)
        if not n:
            return
        vb = self.plot.getViewBox()
        # the matrix centred in the view (the locked aspect widens one range as the view resizes)
        self.plot.setRange(xRange=(-0.5, n - 0.5), yRange=(-0.5, n - 0.5), padding=0.02)
        cell = min(vb.width(), vb.height()) / n
        readable = cell >= 14 and n <= 20
        font = QFont()
        font.setPixelSize(max(8, min(18, int(cell * 0.42))))
        for row in self.texts:
            for t in row:
                t.setFont(font)
                t.setVisible(readable)

    def _draw(self, snapshot: ViewSnapshot) -> bool:
        if snapshot.val_true is None or snapshot.val_pred is None:
            return False
        true = np.asarray(snapshot.val_true).reshape(-1).astype(np.int64)
        pred = np.asarray(snapshot.val_pred).reshape(-1).astype(np.int64)
        n = max(len(self.classes), int(max(true.max(initial=-1), pred.max(initial=-1))) + 1, 1)
        counts = np.zeros((n, n), dtype=np.int64)
        np.add.at(counts, (true, pred), 1)
        self.counts = counts
        self._cells(n)
        share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        # right answers in blue by their row share; mistakes in red, on a square-root scale so
        # that a few confusions still stand out
        diagonal = np.eye(n, dtype=bool)
        strength = np.where(diagonal, share, np.sqrt(share))
        rgba = np.where(diagonal[..., None], self._right.map(share.ravel(), mode="byte").reshape(n, n, -1),
                        self._wrong.map(strength.ravel(), mode="byte").reshape(n, n, -1))
        # whole pixels per cell, so an SVG viewer scaling the embedded picture cannot blur cells
        self.image.setImage(_blocks(rgba, max(1, 240 // n)), autoLevels=False, levels=(0, 255))
        self.image.setRect(QRectF(-0.5, -0.5, n, n))
        for i in range(n):
            for j in range(n):
                text = self.texts[i][j]
                text.setText(str(counts[i, j]))
                dark = strength[i, j] > 0.55
                text.setColor("#ffffff" if dark else FOREGROUND if counts[i, j] else "#a0a0a0")
        acc = np.trace(counts) / max(counts.sum(), 1)
        self.plot.setTitle(f"Validation: {100 * acc:.1f}% right, step {snapshot.step}",
                           color=FOREGROUND, size=TITLE_SIZE)
        return True

    def export_csv(self, path: Path) -> None:
        counts = self.counts if self.counts is not None else np.zeros((0, 0), dtype=np.int64)
        n = counts.shape[0]
        names = [self.classes[k] if k < len(self.classes) else str(k) for k in range(n)]
        write_rows(path, ["true \\ predicted", *names],
                   ([names[i], *map(str, counts[i])] for i in range(n)))

    def clear(self) -> None:
        super().clear()
        self.counts = None
        self.image.clear()
        for row in self.texts:
            for t in row:
                t.setText("")


__all__ = ["BoundaryPlot", "ConfusionPlot"]
