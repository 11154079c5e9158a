"""How every plot of the app looks (pyqtgraph set-up, colours, axes, legends): the training
plots and the explain tools' heatmaps share it."""

from __future__ import annotations

import sys
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF

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

    def correct_coordinates(node: Any, defs: Any, item: Any, options: Any) -> Any:
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


# finished runs drawn behind the live one: muted colours apart from the live curves' first ones,
# in an order where neighbours differ most (brown then grey read alike at a pen's width)
OLD_RUN_COLOURS = ("#8c564b", "#17becf", "#e377c2", "#bcbd22", "#7f7f7f")
OLD_RUN_ALPHA = 200
HEALTHY_BRUSH = (44, 160, 44, 40)  # the "healthy" band of the gradient and update plots
WARNING_BRUSH = (214, 39, 40, 34)  # outside it: vanishing / exploding, too slow / unstable
BAND_EDGE = "#5b9a5b"  # the band's edges, dashed


def old_run_colour(number: int) -> QColor:
    """The faded colour of finished run ``number`` (the same on every plot)."""
    c = QColor(OLD_RUN_COLOURS[(number - 1) % len(OLD_RUN_COLOURS)])
    c.setAlpha(OLD_RUN_ALPHA)
    return c


class SideLegend(pg.LegendItem):
    """A legend beside the plot's view box (right of it), never over the data: the plot keeps a
    right margin as wide as the legend, which sits in it, level with the top of the view box.
    Entries wrap into more columns when the view is too short for one. On a plot narrower than
    ``MIN_BESIDE`` pixels (a Plots dock sharing a small screen) the legend goes under the plot
    instead, its entries side by side, so neither the data nor the legend is cut off.

    A label wider than its share of the plot (``LABEL_SHARE`` of the plot's width beside it,
    at least ``MIN_LABEL`` px) is shortened with "…" and shows the whole text as its tooltip:
    a finished run's label, naming everything it did differently, must not take the curves'
    room. ``label.text`` stays the whole text."""

    GAP = 6
    MIN_BESIDE = 520.0  # px: a narrower plot has its legend underneath
    LABEL_SHARE = 0.3  # of the plot's width, at most, for a label's text beside the plot
    BELOW_SHARE = 0.45  # ... and under it (two entries side by side still fit)
    MIN_LABEL = 150.0  # px: never shortened below this

    def __init__(self, plot: pg.PlotItem, **kwargs: Any) -> None:
        kwargs.setdefault("brush", pg.mkBrush(255, 255, 255, 0))
        kwargs.setdefault("pen", pg.mkPen(None))
        kwargs.setdefault("labelTextColor", FOREGROUND)
        kwargs.setdefault("labelTextSize", "9pt")
        kwargs.setdefault("verSpacing", -6)
        super().__init__(offset=None, **kwargs)
        self.plot = plot
        self.shown = True  # False: hidden, and no room kept for it (an empty plot)
        self.min_beside = self.MIN_BESIDE  # 0: always beside (a plot sized to its content)
        self._placing = False
        self._label_metrics: dict[str, QFontMetricsF] = {}  # per text size
        self._base_margins = plot.layout.getContentsMargins()
        self.setParentItem(plot)
        plot.legend = self  # PlotItem.plot(name=...) and addItem(name=...) add entries here
        plot.getViewBox().sigResized.connect(self.place)
        plot.geometryChanged.connect(self.place)  # the plot can grow with its view unchanged

    def set_shown(self, shown: bool) -> None:
        if shown != self.shown:
            self.shown = shown
            self.place()

    def mouseDragEvent(self, ev: Any) -> None:
        ev.ignore()  # it stays beside the view: dragging it over the data is not offered

    def updateSize(self) -> None:
        self._fit_to_layout()
        self.place()

    def _fit_to_layout(self) -> None:
        # the layout's preferred size, not pyqtgraph's sum of the items' current heights: those
        # stay stretched to the old geometry after the entries are re-wrapped into columns
        self.layout.invalidate()
        hint = self.layout.preferredSize()
        self.setGeometry(0, 0, hint.width(), hint.height())

    def label_limit(self) -> float:
        """The widest a label's text may be now (px)."""
        width = self.plot.size().width()
        share = self.BELOW_SHARE if 0 < width < self.min_beside else self.LABEL_SHARE
        return max(self.MIN_LABEL, share * width)

    def _metrics(self, label: pg.LabelItem) -> QFontMetricsF:
        """The metrics of ``label``'s font at the legend's text size (made once a size)."""
        size = label.opts.get("size", "")
        cache = self._label_metrics
        if size not in cache:
            font = QFont(label.item.font())
            if isinstance(size, str) and size.endswith("pt"):
                font.setPointSizeF(float(size[:-2]))
            cache[size] = QFontMetricsF(font)
        return cache[size]

    def shown_text(self, label: pg.LabelItem) -> str:
        """What ``label`` shows (its text, or the text shortened to the room it has)."""
        return str(label.item.toPlainText())

    def _fit_labels(self) -> bool:
        """Shorten each label wider than :meth:`label_limit` with "…" (the whole text its
        tooltip), give a shortened one its whole text back when there is room; True when a
        label changed."""
        limit = self.label_limit()
        changed = False
        for sample, label in self.items:
            whole = label.text
            shown = whole
            if "<" not in whole and "&" not in whole:  # plain text (a rich one stays whole)
                metrics = self._metrics(label)
                if metrics.horizontalAdvance(whole) > limit:
                    shown = metrics.elidedText(whole, Qt.TextElideMode.ElideRight, limit)
            tip = whole if shown != whole else ""
            if self.shown_text(label) == shown and label.toolTip() == tip:
                continue
            pg.LabelItem.setText(label, shown)
            label.text = whole
            label.setToolTip(tip)
            sample.setToolTip(tip)
            changed = True
        return changed

    def place(self, *_: Any) -> None:
        """Wrap the entries to the plot's height, reserve the margin, sit in it: level with
        the top of the view box, or higher when the entries need the room (the margin is
        free from the top of the plot to its bottom: title and x axis span the view only)."""
        if self._placing:
            return
        self._placing = True
        try:
            vb = self.plot.getViewBox()
            left, top, right, bottom = self._base_margins
            room = self.plot.size().height() - top - bottom
            n = len(self.items) if self.shown else 0
            if n and self._fit_labels():
                self._fit_to_layout()
            if n and self.plot.size().width() < self.min_beside:
                self._place_below(n)
                return
            if n and vb.height() > 0 and room > 0:
                # a row's height from the text alone: the laid-out heights change with the
                # column count, and the count chosen from them flipped back and forth forever
                text = max(label.item.boundingRect().height() for _, label in self.items)
                spacing = self.layout.verticalSpacing()
                row = max(20.0, text + 2) + spacing  # a label is its text and 2 px
                fits = max(1, int((room + spacing) // max(row, 10.0)))
                columns = max(1, -(-n // fits))
                if columns != self.columnCount:
                    self.setColumnCount(columns)  # calls updateSize (placing is held off)
            width = self.width() + self.GAP if n else 0.0
            if self.plot.layout.getContentsMargins()[2] != right + width:
                self.plot.layout.setContentsMargins(left, top, right + width, bottom)
            self.setVisible(bool(n))
            lowest = self.plot.size().height() - bottom - self.height()
            y = max(top, min(vb.geometry().top(), lowest))
            self.setPos(self.plot.size().width() - right - width + self.GAP, y)
        finally:
            self._placing = False

    def _place_below(self, n: int) -> None:
        """Under the plot: as many entries side by side as its width holds."""
        left, top, right, bottom = self._base_margins
        room = self.plot.size().width() - left - right
        widest = max(label.item.boundingRect().width() for _, label in self.items) + 30.0
        columns = max(1, min(n, int(room // max(widest, 10.0))))
        if columns != self.columnCount:
            self.setColumnCount(columns)  # calls updateSize (placing is held off)
        height = self.height() + self.GAP
        if self.plot.layout.getContentsMargins() != (left, top, right, bottom + height):
            self.plot.layout.setContentsMargins(left, top, right, bottom + height)
        self.setVisible(True)
        self.setPos(left + max(0.0, (room - self.width()) / 2),
                    self.plot.size().height() - bottom - self.height())


def add_side_legend(plot: pg.PlotItem) -> SideLegend:
    """A legend outside the plot area (see :class:`SideLegend`)."""
    return SideLegend(plot)
