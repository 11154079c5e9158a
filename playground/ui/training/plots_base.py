"""Plot building blocks shared by every live plot: colours and styling (readable on light and
dark desktops alike), pyqtgraph's one-time configuration, and ``PlotPanel``: a small toolbar row
(the plot's own controls and an "Export…" button) above a pyqtgraph widget, with
``export(path)`` choosing PNG, SVG or CSV by the file's suffix.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pyqtgraph as pg
import pyqtgraph.exporters as pgx
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QMessageBox,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..plotstyle import (  # noqa: F401
    AXIS_PEN,
    BACKGROUND,
    FOREGROUND,
    GRID_ALPHA,
    LABEL_STYLE,
    PALETTE,
    TICK_POINT_SIZE,
    TITLE_SIZE,
    TWO_CLASSES,
    WRONG,
    _patch_svg_close_paths,
    add_legend,
    color,
    configure_pyqtgraph,
    ensure_configured,
    style_plot,
    tint,
)

EXPORT_FILTERS = "PNG image (*.png);;SVG vector image (*.svg);;CSV data (*.csv)"



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


W = TypeVar("W", bound=QWidget)


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

    def add_tool(self, widget: W) -> W:
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
