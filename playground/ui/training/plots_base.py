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
from PySide6.QtCore import QEvent, QObject, QRectF, Qt
from PySide6.QtGui import QTextDocumentFragment
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..plotstyle import (  # noqa: F401
    AXIS_PEN,
    BACKGROUND,
    BAND_EDGE,
    FOREGROUND,
    GRID_ALPHA,
    HEALTHY_BRUSH,
    LABEL_STYLE,
    OLD_RUN_COLOURS,
    PALETTE,
    TICK_POINT_SIZE,
    TITLE_SIZE,
    TWO_CLASSES,
    WARNING_BRUSH,
    WRONG,
    SideLegend,
    _patch_svg_close_paths,
    add_legend,
    add_side_legend,
    color,
    configure_pyqtgraph,
    ensure_configured,
    old_run_colour,
    style_plot,
    tint,
)
from .stepgate import STEP_GATE

EXPORT_FILTERS = "PNG image (*.png);;SVG vector image (*.svg);;CSV data (*.csv)"
HINT_STYLE = "color: #6e6e6e; font-size: 12pt; background: transparent;"
NOTE_STYLE = "color: #3c3c3c; font-size: 9pt;"



def per_step_curve(curve: pg.PlotDataItem) -> pg.PlotDataItem:
    """Set up a curve with a point per logged step (thousands of them, redrawn live): drawn
    through its visible part only, as the lowest and highest value in each pixel column
    (pyqtgraph's "peak" downsampling at one pixel per step group, not its default five:
    the same envelope on screen with a fifth of the points to stroke)."""
    curve.setDownsampling(auto=True, method="peak")
    curve.setClipToView(True)
    curve.opts["autoDownsampleFactor"] = 1.0
    return curve


class _TimedPaint:
    """Adds ``paint_seconds``: the GUI thread's CPU time spent painting this view, which the
    live plots' redraw pacing reads (every paint holds the GIL the training thread needs). The
    training thread waits at a step boundary while the view paints (:mod:`.stepgate`)."""

    paint_seconds = 0.0

    def paintEvent(self, event: Any) -> None:
        t0 = time.thread_time()
        with STEP_GATE.held():
            super().paintEvent(event)  # type: ignore[misc]
        self.paint_seconds += time.thread_time() - t0


class TimedPlotWidget(_TimedPaint, pg.PlotWidget):
    pass


class TimedLayoutWidget(_TimedPaint, pg.GraphicsLayoutWidget):
    pass


W = TypeVar("W", bound=QWidget)


class NoteLabel(QLabel):
    """One line of explanation, never wrapped: the long text where it fits, else the short
    one (elided at the end if even that does not fit). Both are simple HTML."""

    def __init__(self, html: str, short: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.texts = (html, short)
        self.setStyleSheet(NOTE_STYLE)
        self.setContentsMargins(8, 0, 8, 0)
        self.setWordWrap(False)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self._fit()

    def set_texts(self, html: str, short: str) -> None:
        self.texts = (html, short or html)
        self._fit()

    @staticmethod
    def plain(html: str) -> str:
        return QTextDocumentFragment.fromHtml(html).toPlainText()

    def _fit(self) -> None:
        room = self.contentsRect().width()
        metrics = self.fontMetrics()
        for html in self.texts:
            if metrics.horizontalAdvance(self.plain(html)) <= room:
                if self.text() != html:
                    self.setText(html)
                return
        elided = metrics.elidedText(self.plain(self.texts[1]), Qt.TextElideMode.ElideRight,
                                    max(room, 0))
        if self.text() != elided:
            self.setText(elided)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._fit()


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

    def add_note(self, html: str, short: str = "", tip: str = "") -> NoteLabel:
        """A one-line explanation in a row of its own under the toolbar (``short`` where the
        row is too narrow for ``html``; the tooltip says more)."""
        note = NoteLabel(html, short or html, self)
        note.setToolTip(tip)
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.insertWidget(1, note)
        return note

    def set_graphics(self, widget: pg.GraphicsView) -> None:
        self.graphics = widget
        self.redraw_seconds = 0.0  # GUI-thread CPU time in refresh() (paints: paint_seconds)
        widget.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.body.addWidget(widget, 1)
        self.hint = QLabel(self.hint_text, widget)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet(HINT_STYLE)
        self.hint.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        widget.installEventFilter(self)
        self.empty = False
        self.set_empty(True)

    # -- the hint an empty plot shows ----------------------------------------------------------
    hint_text = "Train to see this plot"

    def set_empty(self, empty: bool) -> None:
        """An empty plot shows a short centred hint instead of axes with nothing on them
        (empty log axes draw overlapping tick labels); ``_show_axes`` hides and shows them."""
        if empty == self.empty:
            return
        self.empty = empty
        self.hint.setVisible(empty)
        if empty:
            self._place_hint()
            self.hint.raise_()
        self._show_axes(not empty)

    def set_hint(self, text: str) -> None:
        self.hint_text = text
        self.hint.setText(text)

    def _show_axes(self, shown: bool) -> None:
        """Subclasses with axes hide them while the plot is empty (called before their
        ``__init__`` has finished, too: check what exists)."""

    def _place_hint(self) -> None:
        self.hint.setGeometry(self.graphics.rect().adjusted(12, 30, -12, -12))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is getattr(self, "graphics", None) and event.type() == QEvent.Type.Resize:
            self._place_hint()
        return super().eventFilter(watched, event)

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
