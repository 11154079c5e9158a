"""Plot building blocks shared by every live plot: colours and styling (readable on light and
dark desktops alike), pyqtgraph's one-time configuration, and ``PlotPanel``: a small toolbar row
(the plot's own controls and an "Export…" button) above a pyqtgraph widget, with
``export(path)`` choosing PNG, SVG or CSV by the file's suffix.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
import pyqtgraph.exporters as pgx
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QMessageBox,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

# Explicit colours: a white plot area with dark text reads the same on light and dark desktops.
BACKGROUND = "#ffffff"
FOREGROUND = "#262626"
AXIS_PEN = "#5a5a5a"
GRID_ALPHA = 0.18
WRONG = "#d62728"
TITLE_SIZE = "11pt"
LABEL_STYLE = {"color": FOREGROUND, "font-size": "10pt"}
TICK_POINT_SIZE = 9
# Tableau 10, for curves and classes; two-class data uses TensorFlow Playground's orange/blue.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")
TWO_CLASSES = ("#f59322", "#0877bd")
EXPORT_FILTERS = "PNG image (*.png);;SVG vector image (*.svg);;CSV data (*.csv)"

_configured = False


def configure_pyqtgraph() -> None:
    """Global pyqtgraph options: antialiasing, white background, dark foreground. (Images set
    their row-major axis order per item, so other pyqtgraph users keep the default.)"""
    global _configured
    pg.setConfigOptions(antialias=True, background=BACKGROUND, foreground=FOREGROUND)
    _patch_svg_close_paths()
    _configured = True


def _patch_svg_close_paths() -> None:
    """Make pyqtgraph 0.14's SVG export work with Qt >= 6.10, whose SVG paths end in "Z".

    pyqtgraph's ``correctCoordinates`` reads every path token as "x,y" and raises on the
    close-path command (pyqtgraph issue #3495, fixed upstream in PR #3458 after 0.14.0), so every
    plot (a ViewBox background is a closed rectangle) failed to export, from our Export button
    and from pyqtgraph's own context menu alike. The wrapper takes the "Z" out, lets pyqtgraph
    transform the coordinates, and puts it back."""
    module = sys.modules.get("pyqtgraph.exporters.SVGExporter")
    original = getattr(module, "correctCoordinates", None)
    if original is None or getattr(original, "_keeps_close_paths", False):
        return

    def correct_coordinates(node, defs, item, options):  # type: ignore[no-untyped-def]
        closed = []
        for path in node.getElementsByTagName("path"):
            tokens = path.getAttribute("d").split()
            kept = [t.rstrip("Zz") for t in tokens if t not in ("Z", "z")]
            if kept != tokens:
                path.setAttribute("d", " ".join(kept))
                closed.append(path)
        result = original(node, defs, item, options)
        for path in closed:
            d = path.getAttribute("d").strip()
            if d:
                path.setAttribute("d", d + " Z")
        return result

    correct_coordinates._keeps_close_paths = True  # type: ignore[attr-defined]
    module.correctCoordinates = correct_coordinates  # type: ignore[union-attr]


def ensure_configured() -> None:
    if not _configured:
        configure_pyqtgraph()


def color(i: int, n: int | None = None) -> str:
    """A distinct colour for curve/class ``i`` (of ``n``)."""
    if n == 2 and i < 2:
        return TWO_CLASSES[i]
    if i < len(PALETTE):
        return PALETTE[i]
    return pg.intColor(i, hues=max(n or 0, 12)).name()


def tint(c: str, amount: float = 0.6) -> tuple[int, int, int]:
    """``c`` mixed with ``amount`` of white (light background tints for class regions)."""
    q = QColor(c)
    return tuple(round(v + (255 - v) * amount) for v in (q.red(), q.green(), q.blue()))  # type: ignore[return-value]


def style_plot(plot: pg.PlotItem, title: str, xlabel: str | None, ylabel: str | None,
               grid: bool = True) -> None:
    """Readable fonts, dark axes, a light grid and labels that carry the units."""
    plot.setTitle(title, color=FOREGROUND, size=TITLE_SIZE)
    font = QFont()
    font.setPointSize(TICK_POINT_SIZE)
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(AXIS_PEN))
        axis.setTextPen(pg.mkPen(FOREGROUND))
        axis.setTickFont(font)
        axis.enableAutoSIPrefix(False)
    if xlabel is not None:
        plot.setLabel("bottom", xlabel, **LABEL_STYLE)
    if ylabel is not None:
        plot.setLabel("left", ylabel, **LABEL_STYLE)
    if grid:
        plot.showGrid(x=True, y=True, alpha=GRID_ALPHA)


def add_legend(plot: pg.PlotItem, columns: int = 1) -> pg.LegendItem:
    legend = plot.addLegend(offset=(-8, 8), brush=pg.mkBrush(255, 255, 255, 215),
                            pen=pg.mkPen("#b4b4b4"), labelTextColor=FOREGROUND,
                            labelTextSize="9pt", verSpacing=-4)
    legend.setColumnCount(columns)
    return legend


class _TimedPaint:
    """Adds ``paint_seconds``: the GUI thread's CPU time spent painting this view, which the
    live plots' redraw pacing reads (every paint holds the GIL the training thread needs)."""

    paint_seconds = 0.0

    def paintEvent(self, event: Any) -> None:
        t0 = time.thread_time()
        super().paintEvent(event)  # type: ignore[misc]
        self.paint_seconds += time.thread_time() - t0


class TimedPlotWidget(_TimedPaint, pg.PlotWidget):
    pass


class TimedLayoutWidget(_TimedPaint, pg.GraphicsLayoutWidget):
    pass


class PlotPanel(QWidget):
    """A toolbar row above a pyqtgraph widget; ``export(path)`` writes PNG, SVG or CSV.

    ``redraws`` counts real redraws (a refresh with nothing new does not count)."""

    export_name = "plot"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        ensure_configured()
        self.redraws = 0
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.toolbar = QHBoxLayout()
        self.toolbar.setContentsMargins(6, 2, 6, 0)
        self.toolbar.setSpacing(10)
        layout.addLayout(self.toolbar)
        self._tools_end = 0
        self.toolbar.addStretch(1)
        self.export_button = QToolButton(self)
        self.export_button.setText("Export…")
        self.export_button.setToolTip("Save this plot as a PNG or SVG picture, or its data as CSV "
                                      "(right-click the plot for pyqtgraph's export dialog)")
        self.export_button.setAutoRaise(True)
        self.export_button.clicked.connect(self._on_export_clicked)
        self.toolbar.addWidget(self.export_button)
        self.body = QVBoxLayout()
        self.body.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self.body, 1)

    def add_tool(self, widget: QWidget) -> QWidget:
        """Add a control on the left of the toolbar row."""
        self.toolbar.insertWidget(self._tools_end, widget)
        self._tools_end += 1
        return widget

    def set_graphics(self, widget: pg.GraphicsView) -> None:
        self.graphics = widget
        self.redraw_seconds = 0.0  # GUI-thread CPU time in refresh() (paints: paint_seconds)
        widget.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.body.addWidget(widget, 1)

    def export_item(self):
        """The graphics item PNG/SVG export draws (a PlotItem, or a whole layout)."""
        return self.graphics.getPlotItem() if hasattr(self.graphics, "getPlotItem") else self.graphics.ci

    def export(self, path: str | Path) -> Path:
        """Write the plot to ``path``: .png and .svg pictures, .csv data."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".png", ".svg", ".csv"):
            raise ValueError(f"cannot export to '{path.name}': use a .png, .svg or .csv file name")
        if suffix == ".csv":
            self.export_csv(path)
            return path
        item = self.export_item()
        if item.sceneBoundingRect().width() < 50:  # never laid out (a hidden tab): give it a size
            self.graphics.resize(800, 500)
            self.graphics.centralWidget.setGeometry(QRectF(0, 0, 800, 500))
        if suffix == ".png":
            exporter = pgx.ImageExporter(item)
            exporter.parameters()["antialias"] = True
            exporter.export(str(path))
        else:
            pgx.SVGExporter(item).export(str(path))
        return path

    def export_csv(self, path: Path) -> None:
        """Default: pyqtgraph's CSV exporter over the plot's curves."""
        pgx.CSVExporter(self.export_item()).export(str(path))

    def _ask_export_path(self) -> str:
        path, chosen = QFileDialog.getSaveFileName(self, "Export plot", f"{self.export_name}.png",
                                                   EXPORT_FILTERS)
        if path and not Path(path).suffix:
            path += ".svg" if "svg" in chosen else ".csv" if "csv" in chosen else ".png"
        return path

    def _on_export_clicked(self) -> None:
        path = self._ask_export_path()
        if not path:
            return
        try:
            self.export(path)
        except (OSError, ValueError, TypeError) as exc:
            QMessageBox.warning(self, "Export failed", f"Could not export to {path}:\n{exc}")


def _blocks(image: np.ndarray, k: int) -> np.ndarray:
    """Each pixel of ``image`` as a k×k block (nearest-neighbour enlargement)."""
    return image.repeat(k, axis=0).repeat(k, axis=1) if k > 1 else image
